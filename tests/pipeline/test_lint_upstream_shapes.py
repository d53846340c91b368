"""Config shapes upstream ships that `benthic lint` must accept, and the mistakes it still catches."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path


def _lint(tmp_path: Path, text: str) -> tuple[int, str]:
    path = tmp_path / "config.yaml"
    path.write_text(text)
    proc = subprocess.run(
        [sys.executable, "-m", "benthic.cli", "lint", str(path)], capture_output=True, text=True, timeout=60
    )
    return proc.returncode, proc.stdout + proc.stderr


def test_resource_output_may_carry_its_own_processors(tmp_path: Path):
    code, out = _lint(
        tmp_path,
        "output:\n  resource: sink\n  processors:\n    - mapping: 'root = this'\n"
        "output_resources:\n  - label: sink\n    drop: {}\n",
    )
    assert (code, out) == (0, "")


def test_resource_reference_processors_are_linted_and_other_keys_refused(tmp_path: Path):
    code, out = _lint(
        tmp_path,
        "input:\n  resource: src\n  processors:\n    - mapping: 'root = this'\n"
        "output:\n  resource: sink\n  drop: {}\n  processors:\n    - mapping: 'root = this.'\n"
        "input_resources:\n  - label: src\n    stdin: {}\n"
        "output_resources:\n  - label: sink\n    drop: {}\n",
    )
    assert code == 1
    assert "config.yaml(9,7) failed to parse mapping" in out
    assert "field drop is invalid when the component type is resource (output)" in out
    # an input reference may carry processors too, as any input
    assert "(input)" not in out


def test_try_after_an_empty_catch_inside_a_catch_is_not_warned(tmp_path: Path):
    code, out = _lint(
        tmp_path,
        "pipeline:\n  processors:\n    - catch:\n        - log:\n            message: failed\n"
        "        - catch: []\n        - try:\n            - mapping: 'root = this'\n",
    )
    assert (code, out) == (0, "")


def test_try_first_inside_a_catch_is_still_warned(tmp_path: Path):
    _, out = _lint(
        tmp_path,
        "pipeline:\n  processors:\n    - catch:\n        - try:\n            - mapping: 'root = this'\n"
        "        - catch: []\n",
    )
    assert "a `try` processor directly inside a `catch` never runs its children" in out


def test_json_schema_keywords_are_not_taken_for_environment_variables(tmp_path: Path):
    code, out = _lint(
        tmp_path,
        "pipeline:\n  processors:\n    - json_schema:\n        schema: |\n"
        '          {"$schema": "http://json-schema.org/draft-07/schema#", "$id": "x",\n'
        '           "properties": {"a": {"$ref": "#/definitions/a"}}, "definitions": {"a": {}}}\n',
    )
    assert (code, out) == (0, "")


def test_capitalised_bare_dollar_name_is_still_warned(tmp_path: Path):
    _, out = _lint(tmp_path, "output:\n  file:\n    path: /tmp/$OUT_DIR/out\n")
    assert "'$OUT_DIR' is not an environment variable reference" in out


def test_an_empty_label_is_no_label_as_upstream_documents_it(tmp_path: Path):
    code, out = _lint(tmp_path, 'input:\n  label: ""\n  stdin: {}\noutput:\n  label: ""\n  drop: {}\n')
    assert (code, out) == (0, "")
    _, out = _lint(tmp_path, "input:\n  label: _hidden\n  stdin: {}\n")
    assert "invalid label '_hidden'" in out


def test_http_server_fields_at_their_defaults_need_no_address(tmp_path: Path):
    # upstream's full field listing of the input: cert_file, cors and tcp at their defaults
    code, out = _lint(
        tmp_path,
        "input:\n  http_server:\n    address: ''\n    path: /post\n    cert_file: ''\n    key_file: ''\n"
        "    cors:\n      enabled: false\n      allowed_origins: []\n"
        "    tcp:\n      reuse_addr: false\n      reuse_port: false\n",
    )
    assert (code, out) == (0, "")
    code, out = _lint(
        tmp_path, "input:\n  http_server:\n    cors:\n      enabled: true\n      allowed_origins: ['*']\n"
    )
    assert "apply only to a custom address" in out


def test_redis_list_max_in_flight_zero_means_no_limit_as_upstream(tmp_path: Path):
    code, out = _lint(
        tmp_path,
        "input:\n  redis_list:\n    url: redis://127.0.0.1:6379\n    key: jobs\n    max_in_flight: 0\n",
    )
    assert (code, out) == (0, "")
