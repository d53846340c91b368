"""The ``stdin`` and ``file`` inputs' buffer limits, scanners and ``delete_on_finish``, as a user
runs them through the CLI."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from pathlib import Path

import pytest

from pipeline.builder import Manager
from pipeline.errors import EndOfInputError
from tests.pipeline.conftest import cli_env, run_cli


def _stdin_config(tmp_path: Path, input_block: str) -> Path:
    path = tmp_path / "stdin.yaml"
    path.write_text(f"http: {{enabled: false}}\ninput:\n  stdin:\n{input_block}output:\n  stdout: {{}}\n")
    return path


def test_stdin_max_buffer_limits_the_length_of_a_codec_line(tmp_path: Path):
    config = _stdin_config(tmp_path, "    codec: lines\n    max_buffer: 16\n")
    result = run_cli("run", str(config), input=b"short\n" + b"x" * 100 + b"\nnever\n")
    assert result.returncode == 0, result.stderr
    assert result.stdout == "short\n"
    assert "bufio.Scanner: token too long" in result.stderr


def test_stdin_default_max_buffer_takes_long_lines(tmp_path: Path):
    config = _stdin_config(tmp_path, "    codec: lines\n")
    line = b"y" * 200_000  # beyond the lines scanner's 64KiB, within max_buffer's 1000000
    result = run_cli("run", str(config), input=line + b"\n")
    assert result.returncode == 0, result.stderr
    assert result.stdout == line.decode() + "\n"


def test_lines_scanner_max_buffer_size_defaults_to_64k(tmp_path: Path):
    config = _stdin_config(tmp_path, "    scanner:\n      lines: {}\n")
    result = run_cli("run", str(config), input=b"ok\n" + b"z" * 70_000 + b"\n")
    assert result.returncode == 0, result.stderr
    assert result.stdout == "ok\n"
    assert "bufio.Scanner: token too long" in result.stderr

    config = _stdin_config(tmp_path, "    scanner:\n      lines:\n        max_buffer_size: 100_000\n")
    result = run_cli("run", str(config), input=b"ok\n" + b"z" * 70_000 + b"\n")
    assert result.returncode == 0, result.stderr
    assert result.stdout == "ok\n" + "z" * 70_000 + "\n"


def test_lines_scanner_keeps_empty_lines_unless_omit_empty(tmp_path: Path):
    config = _stdin_config(tmp_path, "    scanner:\n      lines: {}\n")
    result = run_cli("run", str(config), input=b"a\n\nb\n")
    assert result.returncode == 0, result.stderr
    assert result.stdout == "a\n\nb\n"

    config = _stdin_config(tmp_path, "    scanner:\n      lines:\n        omit_empty: true\n")
    result = run_cli("run", str(config), input=b"a\n\nb\n")
    assert result.returncode == 0, result.stderr
    assert result.stdout == "a\nb\n"


def test_unknown_scanner_fields_are_lint_errors(tmp_path: Path):
    config = _stdin_config(tmp_path, "    scanner:\n      lines:\n        max_buffer: 10\n")
    result = run_cli("lint", str(config))
    assert result.returncode == 1
    assert f"{config}(6,9) field max_buffer not recognised" in result.stderr

    config = _stdin_config(tmp_path, "    scanner:\n      avro:\n        raw: true\n")
    result = run_cli("lint", str(config))
    assert result.returncode == 1
    assert f"{config}(6,9) field raw not recognised" in result.stderr


def _file_config(tmp_path: Path, paths: str, out: Path, extra: str = "", output: str = "") -> Path:
    config = tmp_path / "files.yaml"
    config.write_text(
        f"http: {{enabled: false}}\ninput:\n  file:\n    paths: [{paths}]\n{extra}"
        f"output:\n{output or f'  file:{chr(10)}    path: {out}{chr(10)}'}"
    )
    return config


def test_file_delete_on_finish_removes_files_once_delivered(tmp_path: Path):
    data = tmp_path / "data"
    data.mkdir()
    (data / "a.txt").write_text("1\n2\n")
    (data / "b.txt").write_text("3\n")
    out = tmp_path / "out.txt"
    config = _file_config(tmp_path, f"'{data}/*.txt'", out, "    delete_on_finish: true\n")
    result = run_cli("run", str(config))
    assert result.returncode == 0, result.stderr
    assert out.read_text() == "1\n2\n3\n"
    assert sorted(p.name for p in data.iterdir()) == []


def test_file_delete_on_finish_waits_for_acks_and_keeps_a_rejected_file(tmp_path: Path):
    (tmp_path / "kept.txt").write_text("1\n")
    (tmp_path / "gone.txt").write_text("2\n")

    async def scenario() -> None:
        stage = Manager().build_input(
            {
                "file": {
                    "paths": [str(tmp_path / "kept.txt"), str(tmp_path / "gone.txt")],
                    "delete_on_finish": True,
                }
            },
            "root.input",
        )
        inp = stage.input
        await inp.connect()
        batch, ack_kept = await inp.read_batch()
        assert [m.content for m in batch] == [b"1"]
        batch, ack_gone = await inp.read_batch()  # kept.txt was read to its end meanwhile
        assert [m.content for m in batch] == [b"2"]
        assert (tmp_path / "kept.txt").exists()  # read, but not yet acknowledged
        await ack_kept(RuntimeError("rejected"))
        await ack_gone(None)
        with pytest.raises(EndOfInputError):
            await inp.read_batch()
        assert (tmp_path / "kept.txt").exists()
        assert not (tmp_path / "gone.txt").exists()

    asyncio.run(scenario())


def test_file_max_buffer_skips_the_rest_of_a_file_with_a_too_long_line(tmp_path: Path):
    data = tmp_path / "data"
    data.mkdir()
    (data / "a.txt").write_text("ok\n" + "x" * 64 + "\nlost\n")
    (data / "b.txt").write_text("next\n")
    out = tmp_path / "out.txt"
    config = _file_config(
        tmp_path, f"'{data}/*.txt'", out, "    codec: lines\n    max_buffer: 32\n    delete_on_finish: true\n"
    )
    result = run_cli("run", str(config))
    assert result.returncode == 0, result.stderr
    assert out.read_text() == "ok\nnext\n"
    assert "bufio.Scanner: token too long" in result.stdout  # logs: stdout
    assert sorted(p.name for p in data.iterdir()) == ["a.txt"]  # not fully consumed: kept


def _run_with_stdin(config: Path, stdin: object) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "benthic.cli", "run", str(config)],
        stdin=stdin,  # type: ignore[arg-type]
        capture_output=True,
        text=True,
        timeout=60,
        env=cli_env(),
    )


def test_stdin_redirected_from_a_file_reads_every_line_and_ends(tmp_path: Path):
    config = _stdin_config(tmp_path, "    codec: lines\n")
    events = tmp_path / "events.txt"
    lines = [f'{{"n":{n}}}' for n in range(20_000)]  # several read chunks
    events.write_text("\n".join(lines) + "\n")
    with events.open("rb") as redirected:
        result = _run_with_stdin(config, redirected)
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == lines
    assert "Input has reached its end" in result.stderr


def test_stdin_from_dev_null_ends_at_once(tmp_path: Path):
    config = _stdin_config(tmp_path, "    codec: lines\n")
    result = _run_with_stdin(config, subprocess.DEVNULL)
    assert result.returncode == 0, result.stderr
    assert result.stdout == ""
    assert "Traceback" not in result.stderr


def test_stdin_from_a_pipe_ends_when_the_writer_closes_it(tmp_path: Path):
    config = _stdin_config(tmp_path, "    codec: lines\n")
    producer = subprocess.Popen(["printf", "a\\nb\\nc\\n"], stdout=subprocess.PIPE)
    try:
        result = _run_with_stdin(config, producer.stdout)
    finally:
        producer.wait(timeout=10)
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == ["a", "b", "c"]


def test_stdin_takes_every_scanner_the_file_input_takes(tmp_path: Path):
    config = _stdin_config(tmp_path, "    scanner:\n      csv: {}\n")
    events = tmp_path / "usage.csv"
    events.write_text("subject,gpu\nwl-1,2\nwl-2,0.5\n")
    with events.open("rb") as redirected:
        result = _run_with_stdin(config, redirected)
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == ['{"gpu":"2","subject":"wl-1"}', '{"gpu":"0.5","subject":"wl-2"}']
