"""Encoding, hashing, compression and encryption methods.

Compression covers upstream's list (flate, gzip, pgzip, zlib, bzip2 for decompression only, lz4,
snappy blocks and zstd frames); lz4, snappy and zstd need the optional ``full`` extra and say so
when it is missing. Every decompressor stops at ``MAX_VALUE_BYTES``. AES comes
from the ``cryptography`` library with upstream's modes (ctr, gcm with Go's 12-byte nonce, ofb,
cbc without padding) and error texts.
"""

from __future__ import annotations

import base64
import binascii
import bz2
import hashlib
import hmac
import struct
import zlib
from collections.abc import Callable
from datetime import datetime
from functools import lru_cache
from typing import Any

from mapping_lang.errors import EvalError, TypeMismatch
from mapping_lang.gofmt import go_quote
from mapping_lang.library import Param, method
from mapping_lang.libutil import as_bytes, string_or_bytes
from mapping_lang.limits import MAX_VALUE_BYTES, value_too_large

CATEGORY = "Encoding and Encryption"


# ---------------------------------------------------------------------------------------------
# encode / decode

_Z85 = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ.-:+=^!/*?&<>()[]{}@%$#"
_Z85_INDEX = {c: i for i, c in enumerate(_Z85)}


def z85_encode(data: bytes) -> str:
    if len(data) % 4:
        raise EvalError("z85: input length must be a multiple of 4")
    out: list[str] = []
    for (word,) in struct.iter_unpack(">I", data):
        chunk = []
        for _ in range(5):
            word, r = divmod(word, 85)
            chunk.append(_Z85[r])
        out.extend(reversed(chunk))
    return "".join(out)


def z85_decode(text: str) -> bytes:
    if len(text) % 5:
        raise EvalError("z85: input length must be a multiple of 5")
    out = bytearray()
    for i in range(0, len(text), 5):
        word = 0
        for c in text[i : i + 5]:
            if c not in _Z85_INDEX:
                raise EvalError(f"z85: illegal character at position {i}")
            word = word * 85 + _Z85_INDEX[c]
        if word > 0xFFFFFFFF:
            raise EvalError(f"z85: value overflow at position {i}")
        out += struct.pack(">I", word)
    return bytes(out)


def _b64_decode(text: bytes, altchars: bytes | None, padded: bool) -> bytes:
    text = text.replace(b"\r", b"").replace(b"\n", b"")
    if not padded:
        if b"=" in text:
            raise EvalError(f"illegal base64 data at input byte {text.index(b'=')}")
        text += b"=" * (-len(text) % 4)
    elif len(text) % 4:
        raise EvalError(f"illegal base64 data at input byte {len(text) - len(text) % 4}")
    try:
        return base64.b64decode(text, altchars=altchars, validate=True)
    except binascii.Error:
        alphabet = set(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789=")
        alphabet |= set(altchars or b"+/")
        bad = next((i for i, b in enumerate(text) if b not in alphabet), len(text))
        raise EvalError(f"illegal base64 data at input byte {bad}") from None


_ENCODERS: dict[str, Callable[[bytes], str]] = {
    "base64": lambda b: base64.b64encode(b).decode(),
    "base64url": lambda b: base64.urlsafe_b64encode(b).decode(),
    "base64rawstd": lambda b: base64.b64encode(b).decode().rstrip("="),
    "base64rawurl": lambda b: base64.urlsafe_b64encode(b).decode().rstrip("="),
    "hex": lambda b: b.hex(),
    "ascii85": lambda b: base64.a85encode(b).decode(),
    "z85": z85_encode,
}


def _hex_decode(b: bytes) -> bytes:
    try:
        return binascii.unhexlify(b)
    except (ValueError, binascii.Error):
        if len(b) % 2:
            raise EvalError("encoding/hex: odd length hex string") from None
        bad = next(c for c in b.decode("latin-1") if c not in "0123456789abcdefABCDEF")
        raise EvalError(f"encoding/hex: invalid byte: U+{ord(bad):04X} {bad!r}") from None


def _a85_decode(b: bytes) -> bytes:
    try:
        return base64.a85decode(b)
    except ValueError as e:
        raise EvalError(f"ascii85: {e}") from None


_DECODERS: dict[str, Callable[[bytes], bytes]] = {
    "base64": lambda b: _b64_decode(b, None, True),
    "base64url": lambda b: _b64_decode(b, b"-_", True),
    "base64rawstd": lambda b: _b64_decode(b, None, False),
    "base64rawurl": lambda b: _b64_decode(b, b"-_", False),
    "hex": _hex_decode,
    "ascii85": _a85_decode,
    "z85": lambda b: z85_decode(b.decode("latin-1")),
}


def _string_like(target: Any, expected: str = "string") -> bytes:
    """Go's methods that switch on string/[]byte: anything else is a type error (no number text)."""
    t = type(target)
    if t is bytes:
        return target
    if t is str:
        return target.encode("utf-8", "surrogatepass")
    if t is bytearray:
        return bytes(target)
    if isinstance(target, datetime) and expected == "bytes":  # IGetBytes formats timestamps
        return as_bytes(target)
    raise TypeMismatch(expected, target)


def _prepare_scheme(table: dict[str, Any]) -> Callable[[str], tuple[Any, ...]]:
    def prepare(scheme: str) -> tuple[Any, ...]:
        if scheme not in table:
            raise EvalError(f"unrecognized encoding type: {scheme}")
        return (scheme,)

    return prepare


_SCHEME = [Param("scheme", "string", description="base64, base64url, base64rawurl, hex, ascii85 or z85.")]


@method("encode", category=CATEGORY, params=_SCHEME, prepare=_prepare_scheme(_ENCODERS),
        description="Turns a string or bytes into text in the named encoding scheme.")  # fmt: skip
def encode(ctx: Any, target: Any, scheme: str) -> Any:
    encoder = _ENCODERS.get(scheme)
    if encoder is None:
        raise EvalError(f"unrecognized encoding type: {scheme}")
    return encoder(_string_like(target))


@method("decode", category=CATEGORY, params=_SCHEME, prepare=_prepare_scheme(_DECODERS),
        description="Decodes a string encoded with a scheme into bytes.")  # fmt: skip
def decode(ctx: Any, target: Any, scheme: str) -> Any:
    decoder = _DECODERS.get(scheme)
    if decoder is None:
        raise EvalError(f"unrecognized encoding type: {scheme}")
    return decoder(_string_like(target))


# ---------------------------------------------------------------------------------------------
# hashing

_M64 = (1 << 64) - 1
_P1, _P2, _P3, _P4, _P5 = (
    11400714785074694791, 14029467366897019727, 1609587929392839161, 9650029242287828579, 2870177450012600261,
)  # fmt: skip


def _rotl(x: int, r: int) -> int:
    return ((x << r) | (x >> (64 - r))) & _M64


def _round(acc: int, lane: int) -> int:
    return _rotl((acc + lane * _P2) & _M64, 31) * _P1 & _M64


def xxh64(data: bytes, seed: int = 0) -> int:
    """XXH64 digest of ``data`` (pure Python)."""
    n = len(data)
    i = 0
    if n >= 32:
        v1 = (seed + _P1 + _P2) & _M64
        v2 = (seed + _P2) & _M64
        v3 = seed
        v4 = (seed - _P1) & _M64
        limit = n - n % 32
        for a, b, c, d in struct.iter_unpack("<4Q", data[:limit]):
            v1 = _rotl((v1 + a * _P2) & _M64, 31) * _P1 & _M64
            v2 = _rotl((v2 + b * _P2) & _M64, 31) * _P1 & _M64
            v3 = _rotl((v3 + c * _P2) & _M64, 31) * _P1 & _M64
            v4 = _rotl((v4 + d * _P2) & _M64, 31) * _P1 & _M64
        i = limit
        h = (_rotl(v1, 1) + _rotl(v2, 7) + _rotl(v3, 12) + _rotl(v4, 18)) & _M64
        for v in (v1, v2, v3, v4):
            h ^= _round(0, v)
            h = (h * _P1 + _P4) & _M64
    else:
        h = (seed + _P5) & _M64
    h = (h + n) & _M64
    while i + 8 <= n:
        (lane,) = struct.unpack_from("<Q", data, i)
        h ^= _round(0, lane)
        h = (_rotl(h, 27) * _P1 + _P4) & _M64
        i += 8
    if i + 4 <= n:
        (lane4,) = struct.unpack_from("<I", data, i)
        h ^= lane4 * _P1 & _M64
        h = (_rotl(h, 23) * _P2 + _P3) & _M64
        i += 4
    while i < n:
        h ^= data[i] * _P5 & _M64
        h = _rotl(h, 11) * _P1 & _M64
        i += 1
    h ^= h >> 33
    h = h * _P2 & _M64
    h ^= h >> 29
    h = h * _P3 & _M64
    h ^= h >> 32
    return h


_CRC_POLYNOMIALS = {"IEEE": 0xEDB88320, "Castagnoli": 0x82F63B78, "Koopman": 0xEB31D82E}


@lru_cache(maxsize=8)
def _crc_table(poly: int) -> tuple[int, ...]:
    table = []
    for i in range(256):
        crc = i
        for _ in range(8):
            crc = (crc >> 1) ^ poly if crc & 1 else crc >> 1
        table.append(crc)
    return tuple(table)


def crc32(data: bytes, polynomial: str = "IEEE") -> int:
    if polynomial == "IEEE":
        return zlib.crc32(data)
    poly = _CRC_POLYNOMIALS.get(polynomial)
    if poly is None:
        raise EvalError(f"unsupported crc32 hash key {go_quote(polynomial)}")
    table = _crc_table(poly)
    crc = 0xFFFFFFFF
    for b in data:
        crc = table[(crc ^ b) & 0xFF] ^ (crc >> 8)
    return crc ^ 0xFFFFFFFF


def fnv32(data: bytes) -> int:
    h = 0x811C9DC5
    for b in data:
        h = (h * 0x01000193) & 0xFFFFFFFF
        h ^= b
    return h


_DIGESTS = {"md5": "md5", "sha1": "sha1", "sha256": "sha256", "sha512": "sha512", "sha3_256": "sha3_256",
            "sha3_512": "sha3_512"}  # fmt: skip
_HMACS = {
    "hmac_sha1": "sha1", "hmac-sha1": "sha1", "hmac_sha256": "sha256", "hmac-sha256": "sha256",
    "hmac_sha512": "sha512", "hmac-sha512": "sha512",
}  # fmt: skip
_OTHER_HASHES = frozenset({"xxhash64", "crc32", "fnv32"})


def check_hash(algorithm: str, key: str | None) -> None:
    """The checks upstream's hash constructor makes (at parse time when the arguments are literals)."""
    if algorithm in _HMACS:
        if not key:
            raise EvalError(f"hash algorithm {algorithm} requires a key argument")
    elif algorithm not in _DIGESTS and algorithm not in _OTHER_HASHES:
        raise EvalError(f"unrecognized hash type: {algorithm}")


def hash_bytes(data: bytes, algorithm: str, key: str | None, polynomial: str) -> bytes:
    if algorithm in _DIGESTS:
        return hashlib.new(_DIGESTS[algorithm], data).digest()
    check_hash(algorithm, key)
    if algorithm in _HMACS:
        return hmac.new((key or "").encode(), data, _HMACS[algorithm]).digest()
    if algorithm == "xxhash64":
        return str(xxh64(data)).encode()
    if algorithm == "crc32":
        return crc32(data, polynomial).to_bytes(4, "big")
    return str(fnv32(data)).encode()


def _prepare_hash(algorithm: str, key: str | None, polynomial: str) -> tuple[Any, ...]:
    check_hash(algorithm, key)
    return (algorithm, key, polynomial)


@method("hash", category=CATEGORY,
        params=[Param("algorithm", "string", description="The hashing algorithm."),
                Param("key", "string", optional=True, description="A key for HMAC algorithms."),
                Param("polynomial", "string", "IEEE", "The crc32 polynomial: IEEE, Castagnoli or Koopman.")],
        prepare=_prepare_hash,
        description="Hashes a string or bytes; returns bytes.")  # fmt: skip
def hash_method(
    ctx: Any, target: Any, algorithm: str, key: str | None = None, polynomial: str = "IEEE"
) -> Any:
    return hash_bytes(_string_like(target), algorithm, key, polynomial)


# ---------------------------------------------------------------------------------------------
# compression

# Go's zero time.Time as a gzip MTIME, as upstream's gzip writer emits it.
_GZIP_MTIME = struct.pack("<I", (-62135596800) % (1 << 32))


def _raw_deflate(data: bytes, level: int) -> bytes:
    if len(data) < 128:
        # Upstream's encoder stores short inputs verbatim, then closes with an empty fixed block.
        return b"\x00" + struct.pack("<HH", len(data), len(data) ^ 0xFFFF) + data + b"\x03\x00"
    comp = zlib.compressobj(level if 0 <= level <= 9 else 6, zlib.DEFLATED, -15)
    return comp.compress(data) + comp.flush()


def _gzip(data: bytes, level: int) -> bytes:
    header = b"\x1f\x8b\x08\x00" + _GZIP_MTIME + b"\x00\xff"
    trailer = struct.pack("<II", zlib.crc32(data), len(data) & 0xFFFFFFFF)
    return header + _raw_deflate(data, level) + trailer


def _zlib(data: bytes, level: int) -> bytes:
    return b"\x78\x9c" + _raw_deflate(data, level) + struct.pack(">I", zlib.adler32(data))


def _inflate(data: bytes, wbits: int, name: str, *, members: bool = False) -> bytes:
    """Inflate ``data`` (with ``members``, every concatenated gzip member, as Go's reader does),
    stopping as soon as the output passes ``MAX_VALUE_BYTES``."""
    out = bytearray()
    rest = data
    try:
        while True:
            d = zlib.decompressobj(wbits)
            out += d.decompress(rest, MAX_VALUE_BYTES + 1 - len(out))
            if len(out) > MAX_VALUE_BYTES:
                raise EvalError(value_too_large(name, len(out)))
            if not d.eof:
                raise EvalError("unexpected EOF")
            rest = d.unused_data
            if not (members and rest):
                return bytes(out)
    except zlib.error as e:
        raise EvalError(f"{name}: invalid data: {e}") from None


def _lz4_decompress(data: bytes) -> bytes:
    d = _lz4().LZ4FrameDecompressor()
    out = d.decompress(data, max_length=MAX_VALUE_BYTES + 1)
    if len(out) > MAX_VALUE_BYTES:
        raise EvalError(value_too_large("lz4", len(out)))
    if not d.eof:
        raise EvalError("lz4: unexpected EOF")
    return bytes(out)


def _bzip2_decompress(data: bytes) -> bytes:
    """compress/bzip2 (decompression only, as in Go), every concatenated stream, bounded."""
    out = bytearray()
    rest = data
    try:
        while True:
            d = bz2.BZ2Decompressor()
            out += d.decompress(rest, MAX_VALUE_BYTES + 1 - len(out))
            if len(out) > MAX_VALUE_BYTES:
                raise EvalError(value_too_large("bzip2", len(out)))
            if not d.eof:
                raise EvalError("unexpected EOF")
            rest = d.unused_data
            if not rest:
                return bytes(out)
    except OSError as e:
        raise EvalError(f"bzip2 data invalid: {e}") from None


def _snappy() -> Any:
    try:
        import snappy  # optional dependency (the full extra)
    except ImportError:
        raise EvalError(
            "compression algorithm snappy needs the python-snappy package: pip install 'benthic[full]'"
        ) from None
    return snappy


def _snappy_decompress(data: bytes) -> bytes:
    # The block header is the decoded length as a uvarint: refuse a bomb before inflating it.
    n, shift = 0, 0
    for b in data[:10]:
        n |= (b & 0x7F) << shift
        shift += 7
        if not b & 0x80:
            break
    if n > MAX_VALUE_BYTES:
        raise EvalError(value_too_large("snappy", n))
    try:
        return bytes(_snappy().decompress(data))
    except EvalError:
        raise
    except Exception:  # the codec raises its own error types for corrupt input
        raise EvalError("snappy: corrupt input") from None


def _lz4() -> Any:
    try:
        import lz4.frame  # optional dependency (the full extra)
    except ImportError:
        raise EvalError(
            "compression algorithm lz4 needs the lz4 package: pip install 'benthic[full]'"
        ) from None
    return lz4.frame


def _zstd() -> Any:
    try:
        import zstandard  # optional dependency (the full extra)
    except ImportError:
        raise EvalError(
            "compression algorithm zstd needs the zstandard package: pip install 'benthic[full]'"
        ) from None
    return zstandard


def zstd_level(level: int) -> int:
    """The zstd level Go's encoder settles on for ``level``: klauspost/compress has four speeds
    (fastest, default, better, best), which stand for zstd levels 1, 3, 7 and 11."""
    if level < 3:
        return 1
    if level < 6:
        return 3
    if level < 10:
        return 7
    return 11


def _zstd_compress(data: bytes, level: int) -> bytes:
    return bytes(_zstd().ZstdCompressor(level=zstd_level(level)).compress(data))


_ZSTD_FEED = 1024  # input fed per step, so that a bomb is caught after a bounded amount of output


def zstd_decoder() -> ZstdFrames:
    return ZstdFrames(_zstd())


class ZstdFrames:
    """Decodes concatenated zstd frames as Go's reader does, fed piece by piece; ``finish`` says
    whether the input ended inside a frame."""

    def __init__(self, zstandard: Any) -> None:
        self._module = zstandard
        self._frame: Any = None
        self._pending = False

    def decompress(self, data: bytes, limit: int = MAX_VALUE_BYTES) -> bytes:
        out = bytearray()
        rest = bytes(data)
        while rest:
            if self._frame is None:
                self._frame = self._module.ZstdDecompressor().decompressobj()
            piece, rest = rest[:_ZSTD_FEED], rest[_ZSTD_FEED:]
            self._pending = True
            try:
                out += self._frame.decompress(piece)
            except self._module.ZstdError as e:
                raise EvalError(f"zstd: {e}") from None
            if len(out) > limit:
                raise EvalError(value_too_large("zstd", len(out)))
            if self._frame.eof:
                rest = self._frame.unused_data + rest
                self._frame, self._pending = None, False
        return bytes(out)

    def finish(self) -> None:
        if self._pending:
            raise EvalError("zstd: unexpected EOF")


def _zstd_decompress(data: bytes) -> bytes:
    frames = zstd_decoder()
    out = frames.decompress(data)
    frames.finish()
    return out


_COMPRESSORS: dict[str, Callable[[bytes, int], bytes]] = {
    "gzip": _gzip,
    "pgzip": _gzip,
    "zlib": _zlib,
    "flate": _raw_deflate,
    "lz4": lambda data, level: _lz4().compress(data, compression_level=max(level, 0)),
    "snappy": lambda data, level: bytes(_snappy().compress(data)),
    "zstd": _zstd_compress,
}
_DECOMPRESSORS: dict[str, Callable[[bytes], bytes]] = {
    "gzip": lambda b: _inflate(b, 31, "gzip", members=True),
    "pgzip": lambda b: _inflate(b, 31, "gzip", members=True),
    "zlib": lambda b: _inflate(b, 15, "zlib"),
    "flate": lambda b: _inflate(b, -15, "flate"),
    "lz4": _lz4_decompress,
    "bzip2": _bzip2_decompress,
    "snappy": _snappy_decompress,
    "zstd": _zstd_decompress,
}
_KNOWN = frozenset(_COMPRESSORS) | frozenset(_DECOMPRESSORS)


def _compress_fn(algorithm: str) -> Callable[[bytes, int], bytes]:
    fn = _COMPRESSORS.get(algorithm)
    if fn is None:  # bzip2 is known but Go has no compressor for it: the same message
        raise EvalError(f"compression type not recognised: {algorithm}")
    return fn


def _decompress_fn(algorithm: str) -> Callable[[bytes], bytes]:
    if algorithm not in _KNOWN:
        raise EvalError(f"compression type not recognised: {algorithm}")
    return _DECOMPRESSORS[algorithm]


_OPTIONAL_CODECS: dict[str, Callable[[], Any]] = {"lz4": _lz4, "snappy": _snappy, "zstd": _zstd}


def require_codec(algorithm: str) -> None:
    """Raise the error naming the pip extra when ``algorithm``'s optional package is missing."""
    loader = _OPTIONAL_CODECS.get(algorithm)
    if loader is not None:
        loader()


def _prepare_compress(algorithm: str, level: int) -> tuple[Any, ...]:
    _compress_fn(algorithm)
    return (algorithm, level)


def _prepare_decompress(algorithm: str) -> tuple[Any, ...]:
    _decompress_fn(algorithm)
    return (algorithm,)


@method("compress", category=CATEGORY,
        params=[Param("algorithm", "string", description="flate, gzip, pgzip, lz4, snappy, zlib or zstd."),
                Param("level", "int", -1, "The compression level (-1 = default).")],
        prepare=_prepare_compress,
        description="Compresses a string or bytes; returns bytes.")  # fmt: skip
def compress(ctx: Any, target: Any, algorithm: str, level: int = -1) -> Any:
    fn = _compress_fn(algorithm)
    return fn(_string_like(target, "bytes"), level)


@method("decompress", category=CATEGORY,
        params=[Param("algorithm", "string", description="gzip, pgzip, zlib, bzip2, flate, snappy, lz4 or zstd.")],
        prepare=_prepare_decompress,
        description="Decompresses bytes; returns bytes.")  # fmt: skip
def decompress(ctx: Any, target: Any, algorithm: str) -> Any:
    fn = _decompress_fn(algorithm)
    try:
        return fn(_string_like(target, "bytes"))
    except EvalError:
        raise
    except (OSError, EOFError, zlib.error, RuntimeError) as e:
        raise EvalError(f"{algorithm}: {e}") from None


# ---------------------------------------------------------------------------------------------
# AES


_AES_SCHEMES = ("ctr", "gcm", "ofb", "cbc")
_GCM_NONCE_SIZE = 12  # Go's cipher.NewGCM takes only the standard nonce size


def _aes(encrypt: bool) -> Callable[..., Any]:
    """``encrypt_aes``/``decrypt_aes`` on the ``cryptography`` library, checks in upstream's order:
    the key size, the IV size (ctr, ofb, cbc), the scheme, then the target."""
    direction = "encryption" if encrypt else "decryption"

    def impl(ctx: Any, target: Any, scheme: str, key: Any, iv: Any) -> Any:
        k, v = as_bytes(key), as_bytes(iv)
        if len(k) not in (16, 24, 32):
            raise EvalError(f"crypto/aes: invalid key size {len(k)}")
        if scheme in ("ctr", "ofb", "cbc") and len(v) != 16:
            raise EvalError("the key must match the initialisation vector size")
        if scheme not in _AES_SCHEMES:
            raise EvalError(f"unrecognized {direction} type: {scheme}")
        raw = string_or_bytes(target)
        data = raw.encode("utf-8", "surrogatepass") if isinstance(raw, str) else raw
        # measured start-up cost: importing cryptography takes 50-120 ms, paid on first use only
        from mapping_lang import aes

        if scheme == "gcm":
            if len(v) != _GCM_NONCE_SIZE:
                raise EvalError("crypto/cipher: incorrect nonce length given to GCM")
            if encrypt:
                return aes.gcm_seal(k, v, data)
            opened = aes.gcm_open(k, v, data)
            if opened is None:
                raise EvalError("gcm decrypting failed: cipher: message authentication failed")
            return opened
        if scheme == "cbc" and len(data) % 16:
            raise EvalError(f"{'plaintext' if encrypt else 'ciphertext'} is not a multiple of the block size")
        return aes.stream(scheme, encrypt, k, v, data)

    return impl


_AES_PARAMS = [
    Param("scheme", "string", description="ctr, gcm, ofb or cbc."),
    Param("key", "any", description="The key (bytes or string)."),
    Param("iv", "any", description="The initialisation vector / nonce."),
]
method("encrypt_aes", category=CATEGORY, params=_AES_PARAMS,
       description="Encrypts bytes with AES in the given mode.")(_aes(True))  # fmt: skip
method("decrypt_aes", category=CATEGORY, params=_AES_PARAMS,
       description="Decrypts bytes with AES in the given mode.")(_aes(False))  # fmt: skip
