"""Every published Bloblang example, run like upstream runs it (see the conformance README)."""

from __future__ import annotations

import json
import os
import time
from typing import Any

import pytest

os.environ["TZ"] = "UTC"
if hasattr(time, "tzset"):
    time.tzset()

import mapping_lang  # noqa: E402
from mapping_lang import MappingError  # noqa: E402
from pipeline.message import Message  # noqa: E402
from tests.shared import CONFORMANCE  # noqa: E402

DATA = CONFORMANCE
ENTRIES: list[dict[str, Any]] = json.loads(DATA.read_text())

# Entries that cannot pass here, each with its reason.
KNOWN_SKIPS: dict[str, str] = {
    "compress#265": "the lz4 size differs: Go's pierrec/lz4 encoder writes 85 bytes for this input where "
    "the lz4 library writes a valid 79-byte frame (each decompresses the other's); the gzip part matches",
}

_stateful: dict[int, Any] = {}


def _id(i: int, e: dict[str, Any]) -> str:
    return f"{i:03d}-{e['name']}"


def _compile_stateful(e: dict[str, Any]) -> Any:
    key = e["example_id"]
    if key not in _stateful:
        _stateful[key] = mapping_lang.compile(e["mapping"])
    return _stateful[key]


# stateful entries must run in seq order: sort them within their group, keep file order otherwise
_ORDERED = sorted(
    enumerate(ENTRIES),
    key=lambda p: (p[1].get("example_id", -1), p[1].get("seq", 0)) if p[1].get("stateful") else (-2, p[0]),
)


@pytest.mark.parametrize("entry", [e for _, e in _ORDERED], ids=[_id(i, e) for i, e in _ORDERED])
def test_example(entry: dict[str, Any]) -> None:
    reason = entry.get("skip_reason")
    if reason:
        if reason.startswith("parse_only"):
            mapping_lang.compile(entry["mapping"])
            return
        pytest.skip(reason)
    if entry.get("input") is None:
        pytest.skip("no input")
    key = f"{entry['name']}#{entry.get('example_id')}"
    if key in KNOWN_SKIPS:
        pytest.skip(KNOWN_SKIPS[key])
    m = _compile_stateful(entry) if entry.get("stateful") else mapping_lang.compile(entry["mapping"])
    msg = Message(entry["input"].encode())
    if entry.get("error"):
        with pytest.raises(MappingError) as info:
            m.map_message(msg)
        assert entry["error"] in str(info.value) or str(info.value) in entry["error"]
        return
    out = m.map_message(msg)
    if entry.get("deleted"):
        assert out is None
        return
    assert out is not None, "message was deleted"
    got = out.content.decode("utf-8", "replace")
    want = entry["output"]
    if entry.get("match") == "json" and entry["name"] != "guide:about#non-structured-data":
        try:
            assert json.loads(got) == json.loads(want)
            return
        except ValueError:
            pass
    assert got == want
