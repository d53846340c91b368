"""A small mapping or a small input cannot make one expression allocate without bound: each
result that grows with an argument has a documented limit (``mapping_lang.limits``) and fails
with an error naming it."""

from __future__ import annotations

import base64
import json
import subprocess
import sys
import zlib

import pytest

from mapping_lang import MappingError
from mapping_lang import compile as compile_mapping
from mapping_lang.limits import MAX_ARRAY_LENGTH, MAX_VALUE_BYTES


def _run(mapping: str, document: bytes = b"{}") -> bytes:
    return compile_mapping(mapping).apply(document).content or b""


@pytest.mark.timeout(30)
def test_range_past_the_limit_is_an_error_not_gigabytes() -> None:
    with pytest.raises(MappingError, match=f"exceeds the limit of {MAX_ARRAY_LENGTH} elements"):
        _run("root = range(0, this.n)", b'{"n":9000000000000000000}')
    assert _run("root = range(0, 5).length()") == b"5"


@pytest.mark.timeout(30)
def test_repeat_past_the_limit_is_an_error() -> None:
    with pytest.raises(MappingError, match=f"exceeds the limit of {MAX_VALUE_BYTES} bytes"):
        _run('root = "abc".repeat(this.n)', b'{"n":1000000000}')
    with pytest.raises(MappingError, match="must be greater than or equal to zero: -1"):
        _run('root = "abc".repeat(this.n)', b'{"n":-1}')
    assert _run('root = "ab".repeat(3)') == b"ababab"


@pytest.mark.timeout(60)
def test_a_decompression_bomb_stops_at_the_limit() -> None:
    packer = zlib.compressobj(9, zlib.DEFLATED, 31)
    zeros = bytes(1 << 20)
    bomb = b"".join(packer.compress(zeros) for _ in range((MAX_VALUE_BYTES >> 20) + 8)) + packer.flush()
    assert len(bomb) < 1 << 20  # a small input...
    document = b'{"b":"' + base64.b64encode(bomb) + b'"}'
    with pytest.raises(
        MappingError, match=f"gzip: result of .* exceeds the limit of {MAX_VALUE_BYTES} bytes"
    ):
        _run('root = this.b.decode("base64").decompress("gzip").length()', document)
    small = base64.b64encode(zlib.compress(b"hello", wbits=31))
    assert (
        _run('root = this.b.decode("base64").decompress("gzip").string()', b'{"b":"' + small + b'"}')
        == b"hello"
    )


def test_format_refuses_widths_go_refuses() -> None:
    # Go's fmt stops at a width past a million (%!(NOVERB)) and rejects such a * width (BADWIDTH)
    assert _run('root = "%100000000d".format(1)') == b"%!(NOVERB)%!(EXTRA int64=1)"
    assert _run('root = "%*d".format(10000000, 1)') == b"%!(BADWIDTH)1"
    assert _run('root = "%5d".format(1)') == b"    1"


def test_blobl_reports_a_non_finite_result_and_goes_on() -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "benthic.cli", "blobl", "root.x = this.a.number()"],
        input=b'{"a":"nan"}\n{"a":"inf"}\n{"a":"1"}\n',
        capture_output=True,
        timeout=60,
    )
    assert proc.returncode == 0
    assert proc.stdout == b'{"x":1}\n'
    errors = proc.stderr.decode().splitlines()
    assert errors == [
        "failed to execute map: json: unsupported value: NaN",
        "failed to execute map: json: unsupported value: +Inf",
    ]
    assert "Traceback" not in proc.stderr.decode()


@pytest.mark.timeout(30)
def test_parse_yaml_refuses_a_billion_laughs_as_yaml_v3_does() -> None:
    levels = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    for prev, name in zip("abcdefgh", "bcdefghi", strict=True):
        levels.append(f"{name}: &{name} [" + ",".join([f"*{prev}"] * 10) + "]")
    document = json.dumps({"y": "\n".join(levels)}).encode()
    with pytest.raises(MappingError, match="yaml: document contains excessive aliasing"):
        _run("root = this.y.parse_yaml()", document)
    # anchors used a few times are fine
    assert _run('root = "a: &x [1,2]\\nb: *x".parse_yaml()') == b'{"a":[1,2],"b":[1,2]}'
