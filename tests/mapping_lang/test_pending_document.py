"""The lazily proven input document (``value.parse_json_pending``): a mapping reading a message that
is not parsed yet gets orjson's document and proves its numbers only when it reads something that
may differ from Go's decoder. Every result must be what the eagerly proven document gives."""

from __future__ import annotations

import random

import pytest

import mapping_lang
from mapping_lang import MappingError, value
from pipeline.message import Message

DOCS = [
    b'{"a":1.0,"b":1e3,"c":-0,"d":1.50,"e":12345678901234567890,"f":"x:1.0,","g":3.75,"h":0,"i":2}',
    b'{"a":2,"b":"s","c":[1.0,-0,3.75],"d":{"x":1e3,"y":"q\\"1.0,"},"e":true,"f":null,"g":-5}',
    b'{"a":"esc\\\\\\"aped 1.0,","b":87.5,"c":9223372036854775807,"d":-9223372036854775808,"e":0.1}',
    b'{"a":18446744073709551615,"b":18446744073709551616,"c":-9223372036854775809,"d":1E2,"e":-0.0}',
    b'[1.0,"a",{"a":2.50},-0,7]',
    b'{"a":3.75,"b":2,"c":"1e3","d":[{"a":1.0}],"e":{"a":{"a":1e-7}}}',
    b'{"a": 1.5 , "b" : [ 1.0 , 2 ] , "c" : "x" }',
    b'{"a":1,"a":1.0,"b":2}',
]

MAPPINGS = [
    "root = this",
    "root.a = this.a",
    "root.b = this.b\nroot.a = this.a",
    "root.i = this.i\nroot.g = this.g\nroot.all = this",
    "root.x = this.d.x\nroot.c = this.c",
    "root = this.c",
    "root = this.d",
    "root.s = this.a.string()\nroot.t = this.b.string()",
    'root = "%v|%v|%v".format(this.a, this.b, this.c)',
    'root = "${! this.a } ${! this.c }"',
    'root = json("a")',
    'root = json("")',
    "root = this.a + 0",
    "root.sum = this.a + this.b",
    'root = {"a": this.a, "b": this.b, "c": this.c, "e": this.e}',
    'root = {"f": this.f, "g": this.g}',
    "root = this.(d -> d.a)",
    "root = this.a.or(this.b)",
    "root = match { this.a == 1 => this.b, _ => this.c }",
    'root = match this { {"a": 1} => "one", _ => this.a }',
    "root = this.keys().sort()",
    "root = this.c.map_each(x -> x)",
    "root = this.d.0.a",
    "root = this.0",
    "root = this.2.a",
    "root.t = this.a.type()\nroot.n = this.e.number()",
    "let v = this.h\nroot.v = $v\nroot.w = this.a",
    'root.e = this.e\nroot.x = this.nope.or("d")',
]


def _eager(mapping: mapping_lang.Mapping, raw: bytes) -> tuple[str, bytes | None]:
    msg = Message(raw, {})
    msg.cache_structured(value.parse_json(raw))  # proven up front: the reference
    return _outcome(mapping, msg)


def _outcome(mapping: mapping_lang.Mapping, msg: Message) -> tuple[str, bytes | None]:
    try:
        out = mapping.map_message(msg)
    except MappingError as e:
        return ("error", str(e).encode())
    return ("ok", None if out is None else out.content)


@pytest.mark.parametrize("raw", DOCS)
@pytest.mark.parametrize("source", MAPPINGS)
def test_pending_document_maps_like_the_proven_one(source: str, raw: bytes) -> None:
    mapping = mapping_lang.compile(source)
    assert _outcome(mapping, Message(raw, {})) == _eager(mapping, raw)


def test_pending_document_query_and_check_agree() -> None:
    m = mapping_lang.compile('root = this.a.string() == "1.0"')
    assert m.query(Message(b'{"a":1.0}', {})) is True
    assert m.check(Message(b'{"a":1.50,"b":1}', {})) is False


def test_a_proven_document_is_cached_on_the_input_message() -> None:
    m = mapping_lang.compile("root = this.a")
    msg = Message(b'{"a":1.0,"b":2}', {})
    assert m.map_message(msg).content == b"1.0"
    assert msg.has_structured()
    assert msg.content == b'{"a":1.0,"b":2}'
    assert value.format_json(msg.structured()) == b'{"a":1.0,"b":2}'


def test_an_unproven_document_is_not_cached() -> None:
    m = mapping_lang.compile("root = this.b")
    msg = Message(b'{"a":1.0,"b":2}', {})
    assert m.map_message(msg).content == b"2"
    assert not msg.has_structured()
    assert value.format_json(msg.structured()) == b'{"a":1.0,"b":2}'


def test_many_containers_are_proven_up_front() -> None:
    raw = b'{"a":[' + b",".join(b"[1.0]" for _ in range(300)) + b'],"b":2}'
    doc, proven = value.parse_json_pending(raw)
    assert proven
    assert value.format_json(doc) == raw


def test_settling_replaces_the_document_in_place() -> None:
    raw = b'{"a":1.0,"b":[1e3,"x"],"c":2}'
    doc, proven = value.parse_json_pending(raw)
    assert not proven
    same = doc
    value.settle_document(doc, raw)
    assert doc is same
    assert value.format_json(doc) == raw


def test_random_documents_and_reads_agree_with_the_proven_document() -> None:
    rng = random.Random(11)
    numbers = [
        "0",
        "-0",
        "2",
        "-7",
        "2.5",
        "2.50",
        "1.0",
        "1e3",
        "0.1",
        "1234567.5",
        "12345678901234567890",
        "-0.5",
    ]
    strings = ['"x:2.5,"', '"[1.0,"', '"-0,"', '"q\\"x,2.5,"', '"\\\\"', '"s"']

    def gen(depth: int = 0) -> str:
        r = rng.random()
        if depth > 2 or r < 0.4:
            return rng.choice([*numbers, *strings, "true", "null"])
        if r < 0.6:
            return "[" + ",".join(gen(depth + 1) for _ in range(rng.randint(0, 3))) + "]"
        return "{" + ",".join(f'"k{i}":{gen(depth + 1)}' for i in range(rng.randint(0, 4))) + "}"

    def path() -> str:
        return ".".join(rng.choice(["k0", "k1", "k2", "0", "1"]) for _ in range(rng.randint(1, 3)))

    mappings = []
    for _ in range(60):
        lines = [f"root.r{j} = this.{path()}" for j in range(rng.randint(1, 4))]
        if rng.random() < 0.3:
            lines.append(f"root.s = this.{path()}.string()")
        if rng.random() < 0.2:
            lines.append(f'root.o = {{"a": this.{path()}, "b": this.k0}}')
        mappings.append(mapping_lang.compile("\n".join(lines)))
    for _ in range(600):
        raw = ("{" + ",".join(f'"k{i}":{gen(1)}' for i in range(rng.randint(1, 4))) + "}").encode()
        m = rng.choice(mappings)
        assert _outcome(m, Message(raw, {})) == _eager(m, raw), raw


def test_now_reuses_the_formatted_second_only_within_that_second(monkeypatch: pytest.MonkeyPatch) -> None:
    from mapping_lang import context
    from mapping_lang.functions import time as time_fns

    if not context._LOCAL_IS_UTC:
        pytest.skip("the cached fast path is for a UTC local zone")
    clock = iter([1_700_000_000_120_000_000, 1_700_000_000_000_000_000, 1_700_000_001_000_000_500])
    monkeypatch.setattr(time_fns._time, "time_ns", lambda: next(clock))
    assert time_fns.now(None) == "2023-11-14T22:13:20.12Z"
    assert time_fns.now(None) == "2023-11-14T22:13:20Z"
    assert time_fns.now(None) == "2023-11-14T22:13:21.0000005Z"


def test_uuid_v4_has_the_version_and_variant_bits() -> None:
    import uuid

    from mapping_lang.functions.ids import uuid_v4

    seen = set()
    for _ in range(500):
        u = uuid.UUID(uuid_v4(None))
        assert u.version == 4 and u.variant == uuid.RFC_4122
        seen.add(str(u)[19])
    assert seen == set("89ab")
