"""Identifier and randomness functions: UUIDs, KSUID, ULID, Nano ID, Snowflake IDs and
``random_int``, plus the ``uuid_v5`` method and the ``bytes``/``fake``/schema-registry helpers."""

from __future__ import annotations

import hashlib
import os
import random
import secrets
import struct
import threading
import time
import uuid
from collections import deque
from typing import Any

from mapping_lang.errors import EvalError, TypeMismatch
from mapping_lang.gofmt import go_quote
from mapping_lang.library import Param, function, method
from mapping_lang.libutil import as_bytes, to_timestamp, unix_nanos
from mapping_lang.value import INT64_MAX

CATEGORY = "General"


@function("uuid_v4", category=CATEGORY, impure=True, description="A random version 4 UUID string.")
def uuid_v4(ctx: Any) -> Any:
    # uuid.uuid4() builds a UUID object only to format it; the same bits, formatted directly
    # (version nibble 4; the variant's two high bits 10 replace those of the 17th hex digit)
    while True:
        try:
            h = _take_random_hex()
            break
        except IndexError:
            _refill_random_hex()
    return f"{h[:8]}-{h[8:12]}-4{h[13:16]}-{_VARIANT[h[16]]}{h[17:20]}-{h[20:]}"


# os.urandom(16) is a system call, most of a UUID's cost: the bytes are read from the same source
# 4 KiB at a time and handed out 16 at a time, each exactly once (deque.popleft is atomic, so
# threads never share one). A forked child drops what it inherited, which the parent also holds.
_RANDOM_BATCH = 256
_random_hex: deque[str] = deque()
_take_random_hex = _random_hex.popleft


def _refill_random_hex() -> None:
    h = os.urandom(16 * _RANDOM_BATCH).hex()
    _random_hex.extend([h[i : i + 32] for i in range(0, len(h), 32)])


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_random_hex.clear)


_VARIANT = {c: "89ab"[int(c, 16) & 3] for c in "0123456789abcdef"}


def make_uuid_v7(ms: int, rand: bytes) -> str:
    """RFC 9562 version 7: 48-bit Unix milliseconds, version, 74 random bits, variant."""
    value = (ms & ((1 << 48) - 1)) << 80
    rand_int = int.from_bytes(rand[:10], "big")
    value |= 0x7 << 76
    value |= ((rand_int >> 62) & 0xFFF) << 64
    value |= 0b10 << 62
    value |= rand_int & ((1 << 62) - 1)
    return str(uuid.UUID(int=value))


@function("uuid_v7", category=CATEGORY, impure=True,
          params=[Param("time", "timestamp", optional=True, description="Timestamp to build the ID from; the current time when omitted.")],
          description="A time-ordered version 7 UUID string.")  # fmt: skip
def uuid_v7(ctx: Any, time_: Any = None) -> Any:
    ms = time.time_ns() // 1_000_000 if time_ is None else unix_nanos(to_timestamp(time_)) // 1_000_000
    return make_uuid_v7(ms, os.urandom(10))


_NAMESPACES = {
    "dns": uuid.NAMESPACE_DNS,
    "url": uuid.NAMESPACE_URL,
    "oid": uuid.NAMESPACE_OID,
    "x500": uuid.NAMESPACE_X500,
}
_NAMESPACES_UPPER = {k.upper(): v for k, v in _NAMESPACES.items()}


_HEX = frozenset("0123456789abcdefABCDEF")


def parse_namespace(text: str) -> uuid.UUID | None:
    """gofrs/uuid ``FromString``: canonical, 32 hex digits, either of those in braces, or after
    ``urn:uuid:``. Python's ``uuid.UUID`` is looser (hyphens anywhere, ``uuid:`` prefixes)."""
    if len(text) in (41, 45):
        if not text.startswith("urn:uuid:"):
            return None
        text = text[9:]
    elif len(text) in (34, 38):
        if not (text[0] == "{" and text[-1] == "}"):
            return None
        text = text[1:-1]
    if len(text) == 36:
        if any(text[i] != "-" for i in (8, 13, 18, 23)):
            return None
        text = text[:8] + text[9:13] + text[14:18] + text[19:23] + text[24:]
    if len(text) != 32 or not all(c in _HEX for c in text):
        return None
    return uuid.UUID(hex=text)


@method("uuid_v5", category="Encoding and Encryption",
        params=[Param("ns", "string", optional=True, description="dns, url, oid, x500 or a UUID.")],
        description="A name-based version 5 UUID of the string under a namespace.")  # fmt: skip
def uuid_v5(ctx: Any, target: Any, ns: str | None = None) -> Any:
    if target is None:
        return None  # upstream passes null through
    if ns is None:
        namespace = uuid.UUID(int=0)
    elif ns in _NAMESPACES or ns in _NAMESPACES_UPPER:
        namespace = _NAMESPACES.get(ns) or _NAMESPACES_UPPER[ns]
    else:
        parsed = parse_namespace(ns)
        if parsed is None:
            raise EvalError(f"invalid ns uuid: {go_quote(ns)}")
        namespace = parsed
    t = type(target)
    if t is not str and t is not bytes:
        raise TypeMismatch("string", target)
    name = target.encode("utf-8", "surrogatepass") if t is str else target
    digest = hashlib.sha1(namespace.bytes + name, usedforsecurity=False).digest()
    return str(uuid.UUID(bytes=digest[:16], version=5))


_BASE62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
_KSUID_EPOCH = 1_400_000_000


def make_ksuid(seconds: int, payload: bytes) -> str:
    n = int.from_bytes(struct.pack(">I", (seconds - _KSUID_EPOCH) & 0xFFFFFFFF) + payload, "big")
    out = []
    for _ in range(27):
        n, r = divmod(n, 62)
        out.append(_BASE62[r])
    return "".join(reversed(out))


@function(
    "ksuid",
    category=CATEGORY,
    impure=True,
    description="A new random KSUID, an ID whose text sorts by creation time.",
)
def ksuid(ctx: Any) -> Any:
    return make_ksuid(int(time.time()), os.urandom(16))


_NANOID_ALPHABET = "_-0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"


@function("nanoid", category=CATEGORY, impure=True,
          params=[Param("length", "int", optional=True, description="The length of the ID (default 21)."),
                  Param("alphabet", "string", optional=True, description="A custom alphabet.")],
          description="A random Nano ID.")  # fmt: skip
def nanoid(ctx: Any, length: int | None = None, alphabet: str | None = None) -> Any:
    size = 21 if length is None else length
    chars = _NANOID_ALPHABET if alphabet is None else alphabet
    if size <= 0:
        raise EvalError("length must be greater than 0")
    if not chars or len(chars) > 255:
        raise EvalError("alphabet must not be empty and contain no more than 255 chars")
    return "".join(secrets.choice(chars) for _ in range(size))


_CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"


def make_ulid(ms: int, entropy: bytes, encoding: str = "crockford") -> str:
    raw = (ms & ((1 << 48) - 1)).to_bytes(6, "big") + entropy[:10]
    if encoding == "hex":
        return raw.hex()
    n = int.from_bytes(raw, "big")
    return "".join(_CROCKFORD[(n >> (5 * i)) & 31] for i in range(25, -1, -1))


@function("ulid", category=CATEGORY, impure=True,
          params=[Param("encoding", "string", "crockford", "crockford or hex."),
                  Param("random_source", "string", "secure_random", "secure_random or fast_random.")],
          description="A ULID: a unique ID whose text sorts in creation order.")  # fmt: skip
def ulid(ctx: Any, encoding: str = "crockford", random_source: str = "secure_random") -> Any:
    if encoding not in ("crockford", "hex"):
        raise EvalError(f"invalid ulid encoding: {encoding}")
    if random_source == "secure_random":
        entropy = os.urandom(10)
    elif random_source == "fast_random":
        entropy = random.getrandbits(80).to_bytes(10, "big")
    else:
        raise EvalError(f"invalid randomness source: {random_source}")
    return make_ulid(time.time_ns() // 1_000_000, entropy, encoding)


_SNOWFLAKE_EPOCH_MS = 1288834974657
_snowflake_lock = threading.Lock()
_snowflake_state: dict[int, tuple[int, int]] = {}


@function("snowflake_id", category=CATEGORY, impure=True,
          params=[Param("node_id", "int", 1, "The node ID (0-1023).")],
          description="A time-ordered Snowflake ID as a decimal string.")  # fmt: skip
def snowflake_id(ctx: Any, node_id: int = 1) -> Any:
    if not 0 <= node_id <= 1023:
        raise EvalError("Node number must be between 0 and 1023")
    with _snowflake_lock:
        now = time.time_ns() // 1_000_000 - _SNOWFLAKE_EPOCH_MS
        last, step = _snowflake_state.get(node_id, (-1, 0))
        if now <= last:
            now = last
            step = (step + 1) & 0xFFF
            if step == 0:
                now += 1
        else:
            step = 0
        _snowflake_state[node_id] = (now, step)
    return str((now << 22) | (node_id << 12) | step)


@function("random_int", category=CATEGORY, impure=True,
          params=[Param("seed", "query", 0, "An expression giving the seed, evaluated once per call site."),
                  Param("min", "int", 0, "The inclusive minimum."),
                  Param("max", "int", INT64_MAX - 1, "The inclusive maximum.")],
          description="A pseudo-random integer in [min, max] from a generator seeded once per call site.")  # fmt: skip
def random_int(ctx: Any, seed: Any = 0, min: int = 0, max: int = INT64_MAX - 1) -> Any:  # noqa: A002
    state = ctx.site_state
    rng = state.get("rng")
    if rng is None:
        seed_value = seed(ctx.this) if callable(seed) else seed
        if type(seed_value) is not int:
            try:
                seed_value = int(seed_value)
            except (TypeError, ValueError):
                raise TypeMismatch("number", seed_value) from None
        if min < 0:
            raise EvalError(f"min ({min}) must be a positive number")
        if min > max:
            raise EvalError(f"min ({min}) must be smaller than max ({max})")
        rng = random.Random(seed_value)
        state["rng"] = rng
    return rng.randint(min, max)


@function("bytes", category=CATEGORY, params=[Param("length", "int", description="The number of zero bytes.")],
          description="A zero-filled byte array of the given length.")  # fmt: skip
def bytes_fn(ctx: Any, length: int) -> Any:
    if length < 0:
        raise EvalError("length must be a positive number")
    return bytes(length)


@function("with_schema_registry_header", category="Encoding",
          params=[Param("schema_id", "any", description="The schema registry ID."),
                  Param("message", "any", description="The encoded message.")],
          description="Prefixes a message with the 5-byte Confluent schema registry header.")  # fmt: skip
def with_schema_registry_header(ctx: Any, schema_id: Any, message: Any) -> Any:
    try:
        sid = int(schema_id if type(schema_id) is not str else schema_id.strip())
    except (TypeError, ValueError):
        raise EvalError(f"invalid schema ID: {schema_id}") from None
    if not 0 <= sid <= 0xFFFFFFFF:
        raise EvalError(f"schema ID {sid} out of range")
    return b"\x00" + struct.pack(">I", sid) + as_bytes(message)


# ---------------------------------------------------------------------------------------------
# fake: a small built-in generator set (upstream uses a large third-party faker)

_FIRST = ("james", "mary", "robert", "patricia", "john", "jennifer", "michael", "linda", "david", "elizabeth",
          "william", "barbara", "richard", "susan", "joseph", "jessica", "thomas", "sarah", "charles", "karen")  # fmt: skip
_LAST = ("smith", "johnson", "williams", "brown", "jones", "garcia", "miller", "davis", "rodriguez", "martinez",
         "hernandez", "lopez", "gonzalez", "wilson", "anderson", "thomas", "taylor", "moore", "jackson", "martin")  # fmt: skip
_WORDS = ("lorem", "ipsum", "dolor", "sit", "amet", "consectetur", "adipiscing", "elit", "sed", "do", "eiusmod",
          "tempor", "incididunt", "ut", "labore", "et", "dolore", "magna", "aliqua")  # fmt: skip
_DOMAINS = ("example.com", "example.org", "example.net")


def _fake(kind: str) -> Any:
    r = secrets.SystemRandom()
    first, last = r.choice(_FIRST).capitalize(), r.choice(_LAST).capitalize()
    generators: dict[str, Any] = {
        "first_name": lambda: first,
        "last_name": lambda: last,
        "name": lambda: f"{first} {last}",
        "username": lambda: f"{first.lower()}{r.randint(1, 999)}",
        "email": lambda: f"{first.lower()}.{last.lower()}@{r.choice(_DOMAINS)}",
        "phone_number": lambda: f"{r.randint(200, 999)}-{r.randint(200, 999)}-{r.randint(1000, 9999)}",
        "word": lambda: r.choice(_WORDS),
        "sentence": lambda: " ".join(r.choice(_WORDS) for _ in range(8)).capitalize() + ".",
        "uuid_digit": lambda: str(uuid.uuid4()),
        "uuid_hyphenated": lambda: str(uuid.uuid4()),
        "ipv4": lambda: ".".join(str(r.randint(1, 254)) for _ in range(4)),
        "url": lambda: f"https://{r.choice(_DOMAINS)}/{r.choice(_WORDS)}",
        "domain_name": lambda: r.choice(_DOMAINS),
        "unix_time": lambda: r.randint(0, int(time.time())),
        "year": lambda: str(r.randint(1970, 2030)),
    }
    gen = generators.get(kind or "email")
    if gen is None:
        raise EvalError(
            f"fake: unsupported function {kind!r} in benthic (supported: {', '.join(sorted(generators))})"
        )
    return gen()


@function("fake", category="Fake Data Generation", impure=True,
          params=[Param("function", "string", "", "The kind of fake data, e.g. email or first_name.")],
          description="Generates fake data of a kind (a small built-in set of kinds).")  # fmt: skip
def fake(ctx: Any, function_: str = "") -> Any:
    return _fake(function_)
