"""The function/method library through real mappings: the published examples of the names this
library owns, plus behaviours the examples do not pin down."""

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
from mapping_lang.library import METHODS, load_builtins  # noqa: E402
from pipeline.message import Message  # noqa: E402
from tests.shared import CONFORMANCE  # noqa: E402

load_builtins()  # METHODS is read below, before any mapping is compiled

DATA = CONFORMANCE
CORE = set(
    "deleted nothing throw meta metadata root_meta content error errored batch_index batch_size tracing_id "
    "tracing_span count counter env file file_rel hostname range json var catch or from from_all apply map "
    "not_null type string bytes number int64 int32 int16 int8 uint64 uint32 uint16 uint8 float64 float32 bool "
    "not exists map_each fold filter all any with without keys values length get merge assign sort sort_by "
    "unique flatten collapse explode index first last slice contains sum round floor ceil abs min max "
    "parse_duration parse_json format_json array bloblang".split()
)
# Examples of this library that cannot pass: (name, text in the mapping) -> reason.
EXPECTED_FAILURES = {
    ("compress", "lz4"): "Go's lz4 encoder writes a different (equally valid) frame than the lz4 library",
}
ENTRIES = [
    e
    for e in json.loads(DATA.read_text())
    if e["kind"] != "guide" and e["name"] not in CORE and not e["name"].startswith("error_source")
]


def _run(mapping: str, payload: str) -> str:
    out = mapping_lang.compile(mapping).map_message(Message(payload.encode()))
    assert out is not None
    return out.content.decode()


@pytest.mark.parametrize("entry", ENTRIES, ids=[f"{i:03d}-{e['name']}" for i, e in enumerate(ENTRIES)])
def test_published_example(entry: dict[str, Any]) -> None:
    reason = entry.get("skip_reason")
    if reason:
        if reason.startswith("parse_only"):
            mapping_lang.compile(entry["mapping"])
            return
        pytest.skip(reason)
    for (name, marker), why in EXPECTED_FAILURES.items():
        if entry["name"] == name and marker in entry["mapping"]:
            pytest.xfail(why)
    if "parse_duration()" in entry["mapping"] and "parse_duration" not in METHODS:
        pytest.skip("needs the core's parse_duration")
    if entry.get("error"):
        with pytest.raises(MappingError) as info:
            _run(entry["mapping"], entry["input"])
        assert entry["error"] in str(info.value) or str(info.value) in entry["error"]
        return
    assert _run(entry["mapping"], entry["input"]) == entry["output"]


@pytest.mark.parametrize(
    ("mapping", "payload", "expected"),
    [
        (
            'root = this.t.ts_format("2006-01-02 15:04:05", "UTC")',
            '{"t":"2024-05-01T12:20:30+02:00"}',
            "2024-05-01 10:20:30",
        ),
        ('root = this.t.ts_sub_iso8601("P3D").ts_unix()', '{"t":"2024-03-02T00:00:00Z"}', "1709078400"),
        (
            'root = this.t.ts_add_iso8601("P1M").ts_format()',
            '{"t":"2024-01-31T00:00:00Z"}',
            "2024-03-02T00:00:00Z",
        ),
        ('root = content().hash("xxhash64")', "hello world", "5020219685658847592"),
        ('root = "customer-%d".format(7 % 3)', "{}", "customer-1"),
        ('root = this.s.split("").join("-")', '{"s":"héllo"}', "h-é-l-l-o"),
        ('root = this.s.index_of("z")', '{"s":"éz"}', "2"),
        (
            'root = this.s.re_replace_all("(?P<first>\\\\w+) (?P<last>\\\\w+)", "${last}, ${first}")',
            '{"s":"Ada Lovelace"}',
            "Lovelace, Ada",
        ),
        ("root = this.a.zip(this.b)", '{"a":[1,2],"b":["x","y"]}', '[[1,"x"],[2,"y"]]'),
        ('root = this.v.encode("base64rawurl").decode("base64rawurl").string()', '{"v":"ab?>"}', "ab?>"),
        (
            'root = this.v.encrypt_aes("gcm", "0123456789abcdef", "0123456789ab").decrypt_aes("gcm", "0123456789abcdef", "0123456789ab").string()',
            '{"v":"hi"}',
            "hi",
        ),
        (
            "root = this.format_msgpack().parse_msgpack()",
            '{"a":[1,-2,3.5,null,true,"x"]}',
            '{"a":[1,-2,3.5,null,true,"x"]}',
        ),
        ('root = this.sign_jwt_hs256("secret").parse_jwt_hs256("secret")', '{"sub":"u1"}', '{"sub":"u1"}'),
        ("root = this.url.parse_url().path", '{"url":"https://x.io/a%20b?q=1"}', "a b".join(["/", ""])),
        ('root = this.uuid_v5("dns")', '"example.com"', "cfbff0d1-9375-5685-968c-48ce8b15ae17"),
    ],
)
def test_library_behaviour(mapping: str, payload: str, expected: str) -> None:
    assert _run(mapping, payload) == expected


def test_random_int_is_seeded_once_per_call_site() -> None:
    m = mapping_lang.compile("root = random_int(seed: 42, min: 1, max: 6)")
    values = [int(m.map_message(Message(b"{}")).content) for _ in range(50)]
    assert all(1 <= v <= 6 for v in values)
    assert len(set(values)) > 1  # a sequence, not one value repeated


def test_ids_have_their_documented_shapes() -> None:
    out = json.loads(
        _run(
            "root.u4 = uuid_v4()\nroot.u7 = uuid_v7()\nroot.k = ksuid()\nroot.n = nanoid()\n"
            "root.l = ulid()\nroot.s = snowflake_id()",
            "{}",
        )
    )
    assert len(out["u4"]) == 36 and out["u4"][14] == "4"
    assert len(out["u7"]) == 36 and out["u7"][14] == "7"
    assert len(out["k"]) == 27 and len(out["n"]) == 21 and len(out["l"]) == 26
    assert out["s"].isdigit()


def test_es256_signatures_verify() -> None:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec

    key = ec.generate_private_key(ec.SECP256R1())
    private = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.TraditionalOpenSSL,
        serialization.NoEncryption(),
    ).decode()  # SEC 1: "BEGIN EC PRIVATE KEY"
    public = (
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )
    token = mapping_lang.compile(f'root = this.sign_jwt_es256("""{private}""")').map_message(
        Message(b'{"a":1}')
    )
    assert token is not None and token.content.count(b".") == 2
    claims = mapping_lang.compile(f'root = content().string().parse_jwt_es256("""{public}""")').map_message(
        token
    )
    assert claims is not None and claims.content == b'{"a":1}'
    tampered = token.content[:-2] + (b"AA" if token.content[-2:] != b"AA" else b"BB")
    with pytest.raises(mapping_lang.MappingError, match="signature is invalid"):
        mapping_lang.compile(f'root = content().string().parse_jwt_es256("""{public}""")').map_message(
            Message(tampered)
        )


def test_rs256_signatures_are_pkcs1_v15_and_verify() -> None:
    import base64

    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import padding, rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    private = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    public = (
        key.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.PKCS1).decode()
    )
    token = _run(f'root = this.sign_jwt_rs256("""{private}""")', '{"sub":"u1"}')
    head, body, sig = token.encode().split(b".")
    key.public_key().verify(
        base64.urlsafe_b64decode(sig + b"=" * (-len(sig) % 4)),
        head + b"." + body,
        padding.PKCS1v15(),
        hashes.SHA256(),
    )
    assert _run(f'root = content().string().parse_jwt_rs256("""{public}""")', token) == '{"sub":"u1"}'
