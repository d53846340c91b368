"""snappy and zstd in the ``compress``/``decompress`` processors and the ``decompress`` scanner,
run through the real CLI on real files. The processors use Snappy's block format, the scanner its
framed stream format, as upstream; zstd input is written the way Go's streaming encoder writes it
(no content size in the frame header, a checksum, several frames back to back)."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import snappy
import zstandard

from tests.component_runs import REPORT, file_input, lint, run_config, run_lines
from tests.pipeline.conftest import cli_env, run_cli


def go_style_zstd(*parts: bytes) -> bytes:
    """One frame per part, streamed: no content size, with a checksum (klauspost's defaults)."""
    frames = b""
    for part in parts:
        writer = zstandard.ZstdCompressor(level=1, write_checksum=True, write_content_size=False)
        packer = writer.compressobj()
        frames += packer.compress(part) + packer.flush()
    return frames


def _crc32c(data: bytes) -> int:
    crc = 0xFFFFFFFF
    for byte in data:
        crc ^= byte
        for _ in range(8):
            crc = (crc >> 1) ^ (0x82F63B78 if crc & 1 else 0)
    return crc ^ 0xFFFFFFFF


def _masked(data: bytes) -> bytes:
    crc = _crc32c(data)
    return ((((crc >> 15) | (crc << 17)) + 0xA282EAD8) & 0xFFFFFFFF).to_bytes(4, "little")


def _chunk(kind: int, body: bytes) -> bytes:
    return bytes([kind]) + len(body).to_bytes(3, "little") + body


def snappy_stream(compressed: bytes, stored: bytes) -> bytes:
    """A framed stream as the spec lays it out: identifier, a compressed chunk, a padding chunk and
    an uncompressed chunk (Go's writer stores incompressible data that way)."""
    return (
        _chunk(0xFF, b"sNaPpY")
        + _chunk(0x00, _masked(compressed) + snappy.compress(compressed))
        + _chunk(0xFE, b"\0" * 5)
        + _chunk(0x01, _masked(stored) + stored)
    )


def run_processors(tmp_path: Path, payload: bytes, processors: str) -> list[dict]:
    config = file_input(tmp_path, payload) + "pipeline:\n  threads: 1\n  processors:\n" + processors + REPORT
    return run_lines(tmp_path, config + "output:\n  stdout: {}\n")


def test_zstd_compress_writes_frames_any_decoder_reads_and_decompress_reverses_it(tmp_path: Path):
    out = run_processors(
        tmp_path,
        b"metering " * 200,
        "    - compress: {algorithm: zstd, level: 9}\n"
        "    - mapping: 'meta packed = content().encode(\"base64\")'\n"
        "    - decompress: {algorithm: zstd}\n",
    )
    assert out[0]["error"] is None and out[0]["content"] == "metering " * 200
    packed = base64.b64decode(out[0]["meta"]["packed"])
    assert len(packed) < 200
    assert zstandard.ZstdDecompressor().decompress(packed) == b"metering " * 200


def test_zstd_decompress_reads_concatenated_streamed_frames(tmp_path: Path):
    out = run_processors(
        tmp_path, go_style_zstd(b"first frame, ", b"second frame"), "    - decompress: {algorithm: zstd}\n"
    )
    assert out == [{"content": "first frame, second frame", "error": None, "meta": out[0]["meta"]}]


def test_truncated_zstd_is_flagged_and_the_message_keeps_its_bytes(tmp_path: Path):
    cut = go_style_zstd(b"a frame that will be cut short " * 20)[:-6]
    out = run_processors(
        tmp_path,
        cut,
        "    - decompress: {algorithm: zstd}\n    - mapping: 'meta raw = content().encode(\"hex\")'\n",
    )
    assert out[0]["error"] == "failed to decompress message: zstd: unexpected EOF"
    assert bytes.fromhex(out[0]["meta"]["raw"]) == cut


def test_snappy_processors_use_the_block_format(tmp_path: Path):
    out = run_processors(
        tmp_path,
        b"abc" * 100,
        "    - compress: {algorithm: snappy}\n"
        "    - mapping: 'meta packed = content().encode(\"base64\")'\n"
        "    - decompress: {algorithm: snappy}\n",
    )
    assert out[0]["error"] is None and out[0]["content"] == "abc" * 100
    assert snappy.uncompress(base64.b64decode(out[0]["meta"]["packed"])) == b"abc" * 100


def test_snappy_decompress_processor_flags_a_framed_stream_as_corrupt(tmp_path: Path):
    out = run_processors(tmp_path, snappy_stream(b"x" * 50, b"y"), "    - decompress: {algorithm: snappy}\n")
    assert out[0]["error"].startswith("failed to decompress message: snappy")


def scan(tmp_path: Path, data: bytes, algorithm: str) -> tuple[list[str], str]:
    path = tmp_path / f"data.{algorithm}"
    path.write_bytes(data)
    config = f"""
input:
  file:
    paths: [{json.dumps(str(path))}]
    scanner: {{decompress: {{algorithm: {algorithm}, into: {{lines: {{}}}}}}}}
output:
  stdout: {{}}
"""
    result = run_config(tmp_path, config)
    assert result.returncode == 0, result.stderr
    return result.stdout.splitlines(), result.stderr


def test_decompress_scanner_reads_snappy_framed_streams(tmp_path: Path):
    lines, _ = scan(tmp_path, snappy_stream(b"one\ntwo\n" * 3000, b"three\n"), "snappy")
    assert lines == ["one", "two"] * 3000 + ["three"]


def test_decompress_scanner_rejects_bad_snappy_streams(tmp_path: Path):
    good = snappy_stream(b"one\n", b"two\n")
    bad_crc = good[:-1] + b"X"
    for data in (snappy.compress(b"one\ntwo\n"), bad_crc, good[:-2]):
        lines, stderr = scan(tmp_path, data, "snappy")
        assert "s2: corrupt input" in stderr, data


def test_decompress_scanner_reads_zstd_frames_and_reports_a_cut_stream(tmp_path: Path):
    whole = go_style_zstd(b"a\nb\n", b"c\n" * 20000)
    lines, _ = scan(tmp_path, whole, "zstd")
    assert lines == ["a", "b"] + ["c"] * 20000
    lines, stderr = scan(tmp_path, whole[:-3], "zstd")
    assert "zstd: unexpected EOF" in stderr


def test_zstd_and_snappy_lint_clean_everywhere_upstream_allows_them(tmp_path: Path):
    config = """
input:
  file:
    paths: [a.zst]
    scanner: {decompress: {algorithm: zstd}}
pipeline:
  processors:
    - compress: {algorithm: zstd}
    - decompress: {algorithm: zstd}
    - compress: {algorithm: snappy}
    - decompress: {algorithm: snappy}
    - mapping: 'root = content().compress("zstd").decompress("zstd")'
output:
  drop: {}
"""
    result = lint(tmp_path, config)
    assert result.returncode == 0, result.stderr


def test_without_the_full_extra_lint_names_the_pip_command(tmp_path: Path):
    blocker = tmp_path / "blocker"
    blocker.mkdir()
    (blocker / "sitecustomize.py").write_text("import sys\nsys.modules['zstandard'] = None\n")
    config = tmp_path / "lint.yaml"
    config.write_text(
        "input:\n  file:\n    paths: [a]\n    scanner: {decompress: {algorithm: zstd}}\n"
        "pipeline:\n  processors:\n    - compress: {algorithm: zstd}\n    - decompress: {algorithm: zstd}\n"
    )
    result = run_cli("lint", str(config), env=cli_env(pythonpath=[str(blocker)]))
    assert result.returncode == 1
    assert result.stderr.count("zstd needs the zstandard package: pip install 'benthic[full]'") == 3
