"""The ``command`` and ``subprocess`` processors running real programs in pipelines."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from tests.component_runs import REPORT, file_input, run_lines, run_reported

PY = json.dumps(sys.executable)


def test_command_pipes_the_payload_through_and_sets_exit_code_and_stderr(tmp_path: Path):
    script = "import sys; d = sys.stdin.read(); sys.stderr.write('warned'); print(d.upper(), end='')"
    out = run_reported(
        tmp_path,
        ["hello", "world"],
        f'    - command:\n        name: {PY}\n        args_mapping: |\n          ["-c", {json.dumps(script)}]\n',
    )
    assert [m["content"] for m in out] == ["HELLO", "WORLD"]
    assert out[0]["meta"]["exit_code"] == 0 and out[0]["meta"]["command_stderr"] == "warned"
    assert out[0]["error"] is None


def test_command_failure_keeps_the_payload_and_flags_it_with_stderr(tmp_path: Path):
    script = "import sys; sys.stderr.write('bad input'); sys.exit(3)"
    out = run_reported(
        tmp_path,
        ["keep me"],
        f'    - command:\n        name: {PY}\n        args_mapping: |\n          ["-c", {json.dumps(script)}]\n',
    )
    assert out[0]["content"] == "keep me"
    assert out[0]["meta"]["exit_code"] == 3
    assert out[0]["error"] == "execution error: exit status 3: bad input"


def test_command_name_is_interpolated_and_a_missing_program_is_an_error(tmp_path: Path):
    out = run_reported(
        tmp_path,
        ['{"cmd":"benthic-no-such-program"}'],
        "    - command:\n        name: ${! this.cmd }\n",
    )
    assert out[0]["error"].startswith("execution error:")
    assert out[0]["error"] == (
        'execution error: exec: "benthic-no-such-program": executable file not found in $PATH: '
    )


def test_subprocess_answers_each_line_and_keeps_one_process(tmp_path: Path):
    program = tmp_path / "upper.py"
    program.write_text(
        "import os, sys\n"
        "for line in sys.stdin:\n"
        "    print(f'{os.getpid()}:{line.strip().upper()}', flush=True)\n"
    )
    out = run_reported(
        tmp_path,
        ["a", "b", "c"],
        f"    - subprocess:\n        name: {PY}\n        args: [{json.dumps(str(program))}]\n",
    )
    pids = {m["content"].split(":")[0] for m in out}
    assert [m["content"].split(":")[1] for m in out] == ["A", "B", "C"]
    assert len(pids) == 1


def test_subprocess_stderr_reply_becomes_the_message_error(tmp_path: Path):
    program = tmp_path / "picky.py"
    program.write_text(
        "import sys\n"
        "for line in sys.stdin:\n"
        "    if line.startswith('bad'):\n"
        "        print('refused ' + line.strip(), file=sys.stderr, flush=True)\n"
        "    else:\n"
        "        print('ok ' + line.strip(), flush=True)\n"
    )
    out = run_reported(
        tmp_path,
        ["good", "bad one", "fine"],
        f"    - subprocess:\n        name: {PY}\n        args: [{json.dumps(str(program))}]\n",
    )
    assert out[0]["content"] == "ok good" and out[0]["error"] is None
    assert out[1]["content"] == "bad one" and out[1]["error"].strip() == "refused bad one"
    assert out[2]["content"] == "ok fine"


def test_subprocess_netstring_framing_carries_newlines(tmp_path: Path):
    program = tmp_path / "netstring.py"
    program.write_text(
        "import sys\n"
        "inp, out = sys.stdin.buffer, sys.stdout.buffer\n"
        "while True:\n"
        "    size = b''\n"
        "    while (c := inp.read(1)) != b':':\n"
        "        if not c: sys.exit(0)\n"
        "        size += c\n"
        "    body = inp.read(int(size)); inp.read(1)\n"
        "    reply = body[::-1]\n"
        "    out.write(str(len(reply)).encode() + b':' + reply + b','); out.flush()\n"
    )
    config = (
        file_input(tmp_path, ["line one"])
        + "pipeline:\n  threads: 1\n  processors:\n"
        + "    - mapping: 'root = content().string() + \"\\nline two\"'\n"
        + f"    - subprocess:\n        name: {PY}\n        args: [{json.dumps(str(program))}]\n"
        + "        codec_send: netstring\n        codec_recv: netstring\n"
        + REPORT
        + "output:\n  stdout: {}\n"
    )
    out = run_lines(tmp_path, config)
    assert out[0]["content"] == "owt enil\neno enil"
