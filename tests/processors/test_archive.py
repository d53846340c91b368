"""The archive processor, as a batch processor would run it."""

from __future__ import annotations

import asyncio
import io
import struct
import sys
import tarfile
import zipfile
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from mapping_lang.value import format_json  # noqa: E402
from pipeline.engine import run_processors  # noqa: E402
from pipeline.message import Message  # noqa: E402
from tests.outputs.test_http_client import Harness, needs_meta  # noqa: E402


def archive(batch: list[Message], h: Harness | None = None, **conf: Any) -> list[list[Message]]:
    h = h or Harness()
    stages = h.manager.build_processors([{"archive": conf}], "root.pipeline.processors")
    return asyncio.run(run_processors(stages, batch))


def test_json_array_collapses_a_batch_into_one_go_encoded_array() -> None:
    batch = [Message(b'{"b":1,"a":2.50}', {"k": "first"}), Message(b'{"z":[1,2]}', {"k": "second"})]
    [[out]] = archive(batch, format="json_array")
    assert out.content == b'[{"a":2.50,"b":1},{"z":[1,2]}]'
    assert out.metadata == {"k": "first"}
    assert out.collapsed == 2
    assert out.error is None


# values whose JSON text the engine writes specially: integral floats, exponents, big ints,
# U+2028/U+2029, HTML characters, nesting, unicode keys, empty containers
TRICKY_VALUES: list[Any] = [
    {"b": 1.0, "a": 2.5, "c": 1e-7, "d": 1e21, "e": -0.0, "f": 2**63 - 1},
    {"s": "line\u2028sep\u2029<&>", "nested": {"z": [1.5, {"y": None, "x": True}], "\u00e9": "\u00e9"}},
    [],
    [1, 2.0, "three", [], {}],
    {},
    {"big": 12345678901234567890, "neg": -9007199254740993.0},
]


def test_json_array_of_mapped_documents_is_exactly_their_array_serialised() -> None:
    # documents a processor made (serialised once by the engine) are joined as they were written
    batch = [Message.from_structured(value, {"i": str(i)}) for i, value in enumerate(TRICKY_VALUES)]
    for msg in batch:
        msg.content  # noqa: B018 - serialised as a processor stage does
    [[out]] = archive(batch, format="json_array")
    assert out.content == format_json(TRICKY_VALUES)
    assert out.structured() == TRICKY_VALUES
    assert out.metadata == {"i": "0"}


def test_json_array_mixing_raw_and_mapped_payloads_is_serialised_as_values() -> None:
    # a raw payload keeps its own spacing and key order, so the array is written from the values
    mapped = Message.from_structured({"b": 1.0, "a": "x"})
    mapped.content  # noqa: B018
    top_level_text = Message.from_structured("text\u2028")
    top_level_text.content  # noqa: B018
    batch = [Message(b'{ "z" : 1, "y" : 2.50 }'), mapped, top_level_text]
    [[out]] = archive(batch, format="json_array")
    assert out.content == b'[{"y":2.50,"z":1},{"a":"x","b":1},"text\\u2028"]'


def test_json_array_failure_flags_every_message_and_passes_the_originals_on() -> None:
    h = Harness()
    batch = [Message(b'{"ok":true}'), Message(b"not json")]
    [out] = archive(batch, h, format="json_array")
    assert [m.content for m in out] == [b'{"ok":true}', b"not json"]
    assert all(m.error and m.error.startswith("failed to parse message as JSON") for m in out)
    assert 'level=error msg="Failed to create archive: failed to parse message as JSON' in h.logs.getvalue()


def test_lines_and_concatenate_join_the_raw_payloads() -> None:
    [[lines]] = archive([Message(b"a"), Message(b"b")], format="lines")
    [[joined]] = archive([Message(b"a"), Message(b"b")], format="concatenate")
    assert lines.content == b"a\nb"
    assert joined.content == b"ab"


def test_binary_is_the_benthos_serialised_batch() -> None:
    [[out]] = archive([Message(b"hi"), Message(b"")], format="binary")
    assert out.content == struct.pack(">I", 2) + struct.pack(">I", 2) + b"hi" + struct.pack(">I", 0)


@needs_meta
def test_tar_and_zip_name_each_file_from_the_path() -> None:
    [[tar_msg]] = archive(
        [Message(b"one", {"n": "a"}), Message(b"two", {"n": "b"})], format="tar", path='${! meta("n") }.txt'
    )
    with tarfile.open(fileobj=io.BytesIO(tar_msg.content)) as tar:
        assert tar.getnames() == ["a.txt", "b.txt"]
        member = tar.extractfile("b.txt")
        assert member is not None and member.read() == b"two"
    [[zip_msg]] = archive([Message(b"one")], format="zip", path="only.txt")
    with zipfile.ZipFile(io.BytesIO(zip_msg.content)) as zf:
        assert zf.read("only.txt") == b"one"
