"""``-m/--mapping-file``, ``-i/--input-file`` and ``-w/--write`` of ``benthic blobl server``."""

from __future__ import annotations

import json
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.playground.conftest import REPO, Playground, _env
from tests.playground.test_execute_endpoint import execute

WAIT_SECONDS = 20


def initial_state(server: Playground) -> dict[str, str]:
    with urllib.request.urlopen(server.url, timeout=10) as response:
        page = response.read().decode()
    start = page.index('<script id="initial-state" type="application/json">') + len(
        '<script id="initial-state" type="application/json">'
    )
    return json.loads(page[start : page.index("</script>", start)])


def wait_for_text(path: Path, text: str) -> None:
    deadline = time.monotonic() + WAIT_SECONDS
    while time.monotonic() < deadline:
        if path.exists() and path.read_text() == text:
            return
        time.sleep(0.1)
    raise AssertionError(f"{path} holds {path.read_text() if path.exists() else None!r}, not {text!r}")


def test_the_page_starts_with_the_mapping_and_input_files(
    playground: Callable[..., Playground], tmp_path: Path
) -> None:
    mapping = tmp_path / "m.blobl"
    mapping.write_text("root.id = this.id\n# a </script> in a comment stays text\n")
    document = tmp_path / "in.json"
    document.write_text('{"id": 7}')
    server = playground("-m", str(mapping), "-i", str(document))
    assert initial_state(server) == {"mapping": mapping.read_text(), "input": '{"id": 7}'}


def test_without_files_the_page_starts_with_upstreams_example(playground: Callable[..., Playground]) -> None:
    server = playground()
    assert initial_state(server) == {"mapping": "root = this", "input": '{"message":"hello world"}'}


def test_edits_are_written_back_only_with_write(
    playground: Callable[..., Playground], tmp_path: Path
) -> None:
    kept = tmp_path / "kept.blobl"
    kept.write_text("root = this\n")
    reader = playground("--mapping-file", str(kept))
    execute(reader, "root = 1")
    written = tmp_path / "new" / "written.blobl"
    written.parent.mkdir()
    document = tmp_path / "new" / "doc.json"
    writer = playground("--write", "--mapping-file", str(written), "--input-file", str(document))
    execute(writer, "root.a = this.a", '{"a": 1}')
    # a file that did not exist is created on the first edit, and follows later edits
    wait_for_text(written, "root.a = this.a")
    wait_for_text(document, '{"a": 1}')
    execute(writer, "root.b = this.a", '{"a": 2}')
    wait_for_text(written, "root.b = this.a")
    assert kept.read_text() == "root = this\n"


def test_a_missing_mapping_file_without_write_is_a_clear_error(tmp_path: Path) -> None:
    missing = tmp_path / "nope.blobl"
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "benthic.cli",
            "blobl",
            "server",
            "--no-open",
            "--port",
            "0",
            "-m",
            str(missing),
        ],
        capture_output=True,
        text=True,
        cwd=REPO,
        env=_env(),
        timeout=60,
    )
    assert proc.returncode == 1
    assert f"failed to read {missing}: No such file or directory" in proc.stderr


def test_a_bad_timeout_is_refused(tmp_path: Path) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "benthic.cli", "blobl", "server", "--no-open", "--timeout", "soon"],
        capture_output=True,
        text=True,
        cwd=REPO,
        env=_env(),
        timeout=60,
    )
    assert proc.returncode == 1 and "invalid --timeout" in proc.stderr


def test_folders_named_like_our_packages_in_the_working_directory_do_not_break_it(
    playground: Callable[..., Playground], tmp_path: Path
) -> None:
    # a user's project may have its own pipeline package where they start the playground
    script = Path(sys.executable).with_name("benthic")
    if not script.exists():
        pytest.skip("the benthic console script is not installed beside this interpreter")
    for name in ("pipeline", "mapping_lang", "benthic"):
        (tmp_path / name).mkdir()
        (tmp_path / name / "__init__.py").write_text("# the user's own package of this name\n")
    server = playground(cwd=tmp_path, program=[str(script)])
    assert execute(server, "root = this.a + 1", '{"a": 1}')["result"] == "2"
