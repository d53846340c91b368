"""The ``nanomsg`` input and output, benthic to benthic through the real CLI, over real sockets
(tcp on 127.0.0.1 and ipc in the test's directory): PUSH/PULL and PUB/SUB, each side binding or
dialling, a peer that comes up late, and lint."""

from __future__ import annotations

import subprocess
from pathlib import Path

from tests.pipeline.conftest import cli_env, run_cli, start_cli
from tests.ports import free_port


def start(tmp_path: Path, name: str, config: str) -> subprocess.Popen[str]:
    path = tmp_path / f"{name}.yaml"
    path.write_text(config + "http:\n  enabled: false\n")
    return start_cli("run", str(path))


def sender(tmp_path: Path, lines: list[str], output: str) -> subprocess.Popen[str]:
    """A benthic run sending ``lines`` in order, one message each, then ending."""
    (tmp_path / "lines.txt").write_text("".join(f"{line}\n" for line in lines))
    return start(
        tmp_path,
        "sender",
        f"input:\n  file:\n    paths: [{tmp_path / 'lines.txt'}]\noutput:\n  nanomsg:\n{output}        max_in_flight: 1\n",
    )


def receiver(tmp_path: Path, inner: str, expect: int) -> subprocess.Popen[str]:
    """A benthic run printing what it receives until it has ``expect`` messages. A retried send
    may overtake the next one, so the tests compare what arrived, not its order."""
    return start(
        tmp_path,
        "receiver",
        f'input:\n  read_until:\n    check: count("received") == {expect}\n    input:\n      nanomsg:\n'
        f"{inner}output:\n  stdout: {{}}\n",
    )


def finish(proc: subprocess.Popen[str]) -> str:
    stdout, stderr = proc.communicate(timeout=30)
    assert proc.returncode == 0, stderr
    return stdout


def test_push_binds_and_waits_for_a_late_puller_losing_nothing(tmp_path: Path):
    url = f"ipc://{tmp_path / 'pipe.ipc'}"
    lines = ["one", "two", "three", "end"]
    push = sender(
        tmp_path, lines, f"        urls: ['{url}']\n        bind: true\n        poll_timeout: 100ms\n"
    )
    # The sender is up and its sends are timing out (nacked, retried) before the puller dials.
    pull = receiver(tmp_path, f"        urls: ['{url}']\n        bind: false\n", len(lines))
    assert sorted(finish(pull).splitlines()) == sorted(lines)
    finish(push)


def test_pull_binds_and_the_pusher_redials_until_it_is_there(tmp_path: Path):
    url = f"tcp://127.0.0.1:{free_port()}"
    lines = ["alpha", "beta", "end"]
    push = sender(tmp_path, lines, f"        urls: ['{url}']\n")
    pull = receiver(tmp_path, f"        urls: ['{url}']\n", len(lines))
    assert sorted(finish(pull).splitlines()) == sorted(lines)
    finish(push)


def test_sub_receives_only_what_its_filters_match(tmp_path: Path):
    url = f"tcp://127.0.0.1:{free_port()}"
    sub = receiver(
        tmp_path, f"        urls: ['{url}']\n        socket_type: SUB\n        sub_filters: ['a:']\n", 3
    )
    # The publisher's dial fails until the subscriber listens; after that nothing is published
    # before the subscriber is there to take it.
    pub = sender(
        tmp_path,
        ["a:1", "b:2", "a:2", "b:end", "a:end"],
        f"        urls: ['{url}']\n        socket_type: PUB\n",
    )
    assert sorted(finish(sub).splitlines()) == ["a:1", "a:2", "a:end"]
    finish(pub)


def test_lint_names_the_extra_refuses_a_sub_socket_without_filters_and_unknown_socket_types(tmp_path: Path):
    blocker = tmp_path / "blocker"
    blocker.mkdir()
    (blocker / "sitecustomize.py").write_text("import sys\nsys.modules['pynng'] = None\n")
    config = tmp_path / "lint.yaml"
    config.write_text(
        "input:\n  nanomsg:\n    urls: ['tcp://*:5555']\n    socket_type: SUB\n"
        "output:\n  nanomsg:\n    urls: ['tcp://127.0.0.1:5555']\n    socket_type: PULL\n"
    )
    result = run_cli("lint", str(config), env=cli_env(pythonpath=[str(blocker)]))
    assert result.returncode == 1
    assert (
        result.stderr.count(
            "nanomsg needs the Python package 'pynng', which is not installed: pip install 'benthic[nanomsg]'"
        )
        == 2
    )
    assert (
        "lint.yaml(2,3) must provide at least one sub filter when connecting with a SUB socket, "
        "in order to subscribe to all messages add an empty string"
    ) in result.stderr
    assert "lint.yaml(8,5) value PULL is not a valid option, expected one of: [PUSH, PUB]" in result.stderr
