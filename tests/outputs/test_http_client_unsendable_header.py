"""A header value that HTTP can never carry (a line break put there by interpolation) fails that
message at once, as a message the output can never write: the pipeline hands it back as failed
and keeps delivering the others, instead of retrying it forever."""

from __future__ import annotations

import json
from pathlib import Path

from tests.e2e.sink import RecordingSink
from tests.pipeline.conftest import run_cli


def test_a_header_value_with_a_line_break_fails_only_its_message(tmp_path: Path) -> None:
    config = tmp_path / "headers.yaml"
    with RecordingSink() as sink:
        config.write_text(
            json.dumps(
                {
                    "http": {"enabled": False},
                    "input": {
                        "generate": {
                            "count": 3,
                            "interval": "",
                            "auto_replay_nacks": False,
                            "mapping": (
                                'root = "event " + counter().string()\n'
                                'meta trace = if counter() == 2 { "secret-a\\r\\nX-Injected: 1" } else { "t" }'
                            ),
                        }
                    },
                    "output": {
                        "http_client": {
                            "url": sink.url,
                            "headers": {"X-Trace": '${! meta("trace") }'},
                            "max_in_flight": 1,
                        }
                    },
                }
            )
        )
        result = run_cli("run", str(config), timeout=60)
        bodies = sorted(r.body for r in sink.requests)
        injected = [r for r in sink.requests if r.header("x-injected") is not None]
    assert result.returncode == 0, result.stderr
    assert bodies == [b"event 1", b"event 3"]
    assert not injected
    logs = result.stdout + result.stderr
    assert "net/http: invalid header field value for 'X-Trace'" in logs
    assert "secret-a" not in logs
