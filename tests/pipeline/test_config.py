"""Reading configs as Redpanda Connect does: env interpolation, YAML positions, --set, lint."""

from __future__ import annotations

import base64
from pathlib import Path

import pytest

from pipeline.config import apply_set, interpolate_env, load_env_file, read_config


def test_env_var_with_default_uses_default_when_unset_or_empty():
    text, missing = interpolate_env("a: ${A:fallback}\nb: ${B:fallback}", {"B": ""})
    assert text == "a: fallback\nb: fallback"
    assert missing == []


def test_env_var_default_keeps_colons_and_nested_braces_literally():
    text, _ = interpolate_env("url: '${URL:https://us.api.konghq.com}/v3'\nx: ${A:${B}}", {})
    assert text == "url: 'https://us.api.konghq.com/v3'\nx: ${B}"


def test_unset_env_var_without_default_is_reported_and_replaced_by_empty():
    text, missing = interpolate_env("token: ${TOKEN}", {})
    assert text == "token: "
    assert missing == ["TOKEN"]


def test_set_but_empty_env_var_without_default_is_not_missing():
    text, missing = interpolate_env("token: '${TOKEN}'", {"TOKEN": ""})
    assert text == "token: ''"
    assert missing == []


def test_base64decode_and_newline_escaping():
    encoded = base64.b64encode(b"line1\nline2").decode()
    text, _ = interpolate_env("v: '${SECRET|base64decode}'", {"SECRET": encoded})
    assert text == "v: 'line1\\nline2'"


def test_double_brace_escape_and_bare_dollar_stay_literal():
    text, missing = interpolate_env('a: ${{KEEP}}\nb: Bearer $TOKEN\nc: ${! meta("x") }', {"KEEP": "no"})
    assert text == 'a: ${KEEP}\nb: Bearer $TOKEN\nc: ${! meta("x") }'
    assert missing == []


def test_set_override_parses_yaml_values(tmp_path: Path):
    data = apply_set({"output": {"http_client": {"retries": 3}}}, "output.http_client.retries=5")
    assert data["output"]["http_client"]["retries"] == 5
    data = apply_set(
        {"pipeline": {"processors": [{"noop": {}}]}}, "pipeline.processors.0={mapping: 'root = 1'}"
    )
    assert data["pipeline"]["processors"][0] == {"mapping": "root = 1"}


def test_env_file_parsing(tmp_path: Path):
    env = tmp_path / ".env"
    env.write_text('A=1\r\nexport B="two words"\n# comment\nC=3 # trailing\n')
    assert load_env_file(str(env)) == {"A": "1", "B": "two words", "C": "3"}


def _lint(tmp_path: Path, text: str, env: dict[str, str] | None = None) -> list[str]:
    path = tmp_path / "config.yaml"
    path.write_text(text)
    loaded = read_config(str(path), env=env or {})
    return [
        lint.render("config.yaml") + ("" if lint.level == "error" else " [warning]") for lint in loaded.lints
    ]


def test_lint_names_file_line_and_column_of_unknown_field_wrong_type_and_unset_env(tmp_path: Path):
    problems = _lint(
        tmp_path,
        "input:\n"
        "  generate:\n"
        "    mapping: 'root = {}'\n"
        "    intervall: 1s\n"
        "output:\n"
        "  file:\n"
        "    path: ${OUT_PATH}\n"
        "    codec: [lines]\n",
    )
    assert "config.yaml(1,1) required environment variables were not set: [OUT_PATH]" in problems
    assert "config.yaml(4,5) field intervall not recognised" in problems
    assert "config.yaml(8,5) expected string value, got !!seq" in problems


def test_lint_reports_missing_required_field_and_bad_enum(tmp_path: Path):
    problems = _lint(tmp_path, "input:\n  generate:\n    interval: 1s\nlogger:\n  format: xml\n")
    assert "config.yaml(2,3) field mapping is required" in problems
    assert any(p.startswith("config.yaml(5,3) value xml is not a valid option") for p in problems)


def test_lint_reports_each_missing_required_field_once(tmp_path: Path):
    # jsonschema reports every missing property as an error of its own: each must be one line
    problems = _lint(
        tmp_path,
        "input:\n  generate: {mapping: 'root = 1'}\n"
        "pipeline:\n  processors:\n    - cache: {}\n    - cache: {}\noutput:\n  drop: {}\n",
    )
    for line in (5, 6):
        for name in ("resource", "operator", "key"):
            assert problems.count(f"config.yaml({line},7) field {name} is required") == 1, problems
    assert len(problems) == 6, problems


def test_lint_rejects_unknown_component_and_extra_keys(tmp_path: Path):
    problems = _lint(tmp_path, "input:\n  nope: {}\noutput:\n  stdout: {}\n  extra: 1\n")
    assert "config.yaml(2,3) unable to infer input type from candidates: [nope]" in problems
    assert "config.yaml(5,3) field extra is invalid when the component type is stdout (output)" in problems


def test_lint_label_rules(tmp_path: Path):
    problems = _lint(
        tmp_path,
        "pipeline:\n  processors:\n    - label: Bad\n      noop: {}\n    - label: same\n      noop: {}\n    - label: same\n      noop: {}\n",
    )
    assert any("invalid label 'Bad'" in p for p in problems)
    assert "config.yaml(7,7) label 'same' collides with a previously defined label at line 5" in problems


def test_lint_warns_about_bare_dollar_placeholders_but_not_in_mappings(tmp_path: Path):
    problems = _lint(
        tmp_path,
        "pipeline:\n  processors:\n    - mapping: |\n        let x = 1\n        root = $x\n"
        "output:\n  file:\n    path: /tmp/$NAME/out\n",
    )
    warnings = [p for p in problems if p.endswith("[warning]")]
    assert len(warnings) == 1
    assert warnings[0].startswith("config.yaml(8,5) '$NAME' is not an environment variable reference")
    assert "write '${NAME}'" in warnings[0]


def test_lint_reports_mapping_errors_with_position(tmp_path: Path):
    problems = _lint(tmp_path, "pipeline:\n  processors:\n    - mapping: 'root = this.'\n")
    assert any(p.startswith("config.yaml(3,7) failed to parse mapping: line 1 char") for p in problems)


def test_lint_disable_comment_skips_lint(tmp_path: Path):
    assert _lint(tmp_path, "# BENTHOS LINT DISABLE\ninput:\n  nope: {}\n") == []


@pytest.mark.parametrize("count", [0, 1])
def test_batching_without_trigger_is_rejected(tmp_path: Path, count: int):
    problems = _lint(
        tmp_path,
        "output:\n  drop: {}\n  processors: []\n"
        if count
        else "buffer:\n  memory:\n    batch_policy:\n      enabled: true\n      processors:\n        - noop: {}\n",
    )
    if not count:
        assert any("batch policy must have at least one active trigger" in p for p in problems)


def test_set_override_value_that_is_not_yaml_is_taken_as_text():
    data = apply_set({"input": {"run_ai": {}}}, "input.run_ai.schedule=@every 1s")
    assert data["input"]["run_ai"]["schedule"] == "@every 1s"


def test_drop_on_child_written_beside_it_is_read_as_its_child_with_a_warning(tmp_path: Path):
    path = tmp_path / "config.yaml"
    path.write_text(
        "output:\n"
        "  label: openmeter\n"
        "  drop_on:\n"
        "    error_patterns: [Bad Request]\n"
        "  output:\n"
        "    drop: {}\n"
    )
    loaded = read_config(str(path), env={})
    assert loaded.errors == []
    assert [w.render("config.yaml") for w in loaded.warnings] == [
        "config.yaml(5,3) field output belongs inside drop_on: it is read as drop_on.output "
        "(Redpanda Connect would reject it written beside drop_on)"
    ]
    assert loaded.data["output"] == {
        "label": "openmeter",
        "drop_on": {"error_patterns": ["Bad Request"], "output": {"drop": {}}},
    }
