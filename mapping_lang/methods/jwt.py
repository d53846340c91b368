"""JSON Web Token methods: ``parse_jwt_*`` verify a token and return its claims, ``sign_jwt_*``
sign a claims object. HMAC uses the stdlib; RSA (PKCS #1 v1.5) and ECDSA (P-256/384/521) are
implemented with Python integers from PEM keys (SubjectPublicKeyInfo, PKCS #1, SEC 1, PKCS #8)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import time
from functools import lru_cache
from typing import Any

from mapping_lang.errors import EvalError, TypeMismatch
from mapping_lang.library import Param, method
from mapping_lang.libutil import as_text
from mapping_lang.value import format_json_marshal, is_number, parse_json, to_float

CATEGORY = "JSON Web Tokens"
_HASHES = {"256": hashlib.sha256, "384": hashlib.sha384, "512": hashlib.sha512}
_DIGEST_INFO = {  # DER prefixes of DigestInfo for PKCS #1 v1.5 signatures
    "256": bytes.fromhex("3031300d060960864801650304020105000420"),
    "384": bytes.fromhex("3041300d060960864801650304020205000430"),
    "512": bytes.fromhex("3051300d060960864801650304020305000440"),
}


def _b64url_decode(part: str) -> bytes:
    try:
        return base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))
    except (ValueError, base64.binascii.Error):  # type: ignore[attr-defined]
        raise EvalError("failed to parse JWT string: token is malformed: could not base64 decode") from None


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


# ---------------------------------------------------------------------------------------------
# DER / PEM


def _der_read(data: bytes, pos: int) -> tuple[int, bytes, int]:
    """One TLV at ``pos``: (tag, value, next position)."""
    tag = data[pos]
    length = data[pos + 1]
    pos += 2
    if length & 0x80:
        n = length & 0x7F
        length = int.from_bytes(data[pos : pos + n], "big")
        pos += n
    return tag, data[pos : pos + length], pos + length


def _der_seq(data: bytes) -> list[tuple[int, bytes]]:
    items = []
    pos = 0
    while pos < len(data):
        tag, value, pos = _der_read(data, pos)
        items.append((tag, value))
    return items


def _pem_body(pem: str) -> tuple[str, bytes]:
    lines = [ln.strip() for ln in pem.strip().splitlines()]
    if not lines or not lines[0].startswith("-----BEGIN "):
        raise EvalError("failed to parse key: invalid PEM")
    label = lines[0][len("-----BEGIN ") :].rstrip("-")
    body = "".join(ln for ln in lines[1:] if not ln.startswith("-----"))
    return label, base64.b64decode(body)


_EC_CURVES: dict[bytes, str] = {
    bytes.fromhex("2a8648ce3d030107"): "P-256",
    bytes.fromhex("2b81040022"): "P-384",
    bytes.fromhex("2b81040023"): "P-521",
}
_RSA_OID = bytes.fromhex("2a864886f70d010101")
_EC_OID = bytes.fromhex("2a8648ce3d0201")


@lru_cache(maxsize=32)
def load_public_key(pem: str) -> tuple[str, Any]:
    """("RSA", (n, e)) or ("EC", (curve name, (x, y)))."""
    label, der = _pem_body(pem)
    ((_, outer),) = _der_seq(der)[:1] or [(0, b"")]
    items = _der_seq(outer)
    if label == "RSA PUBLIC KEY":
        return "RSA", (int.from_bytes(items[0][1], "big"), int.from_bytes(items[1][1], "big"))
    algo = _der_seq(items[0][1])
    bits = items[1][1][1:]  # drop the unused-bits byte
    if algo[0][1] == _RSA_OID:
        ((_, rsa_seq),) = _der_seq(bits)[:1]
        n, e = _der_seq(rsa_seq)[:2]
        return "RSA", (int.from_bytes(n[1], "big"), int.from_bytes(e[1], "big"))
    if algo[0][1] == _EC_OID:
        curve = _EC_CURVES.get(algo[1][1])
        if curve is None or bits[0] != 4:
            raise EvalError("failed to parse key: unsupported elliptic curve")
        size = (len(bits) - 1) // 2
        return "EC", (
            curve,
            (int.from_bytes(bits[1 : 1 + size], "big"), int.from_bytes(bits[1 + size :], "big")),
        )
    raise EvalError("failed to parse key: unsupported public key type")


@lru_cache(maxsize=32)
def load_private_key(pem: str) -> tuple[str, Any]:
    """("RSA", (n, d)) or ("EC", (curve name, d))."""
    label, der = _pem_body(pem)
    ((_, outer),) = _der_seq(der)[:1]
    items = _der_seq(outer)
    if label == "RSA PRIVATE KEY":
        return "RSA", (int.from_bytes(items[1][1], "big"), int.from_bytes(items[3][1], "big"))
    if label == "EC PRIVATE KEY":
        curve = None
        for tag, value in items[2:]:
            if tag == 0xA0:
                curve = _EC_CURVES.get(_der_seq(value)[0][1])
        if curve is None:
            raise EvalError("failed to parse key: unsupported elliptic curve")
        return "EC", (curve, int.from_bytes(items[1][1], "big"))
    if label == "PRIVATE KEY":  # PKCS #8
        algo = _der_seq(items[1][1])
        inner = items[2][1]
        if algo[0][1] == _RSA_OID:
            return load_private_key(
                "-----BEGIN RSA PRIVATE KEY-----\n" + base64.b64encode(inner).decode() + "\n-----END"
            )
        if algo[0][1] == _EC_OID:
            curve = _EC_CURVES.get(algo[1][1])
            ((_, ec_seq),) = _der_seq(inner)[:1]
            d = _der_seq(ec_seq)[1][1]
            if curve is None:
                raise EvalError("failed to parse key: unsupported elliptic curve")
            return "EC", (curve, int.from_bytes(d, "big"))
    raise EvalError("failed to parse key: unsupported private key type")


# ---------------------------------------------------------------------------------------------
# elliptic curves (short Weierstrass, a = -3)

_CURVES: dict[str, tuple[int, int, int, int, int]] = {  # p, b, n, gx, gy
    "P-256": (
        0xFFFFFFFF00000001000000000000000000000000FFFFFFFFFFFFFFFFFFFFFFFF,
        0x5AC635D8AA3A93E7B3EBBD55769886BC651D06B0CC53B0F63BCE3C3E27D2604B,
        0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551,
        0x6B17D1F2E12C4247F8BCE6E563A440F277037D812DEB33A0F4A13945D898C296,
        0x4FE342E2FE1A7F9B8EE7EB4A7C0F9E162BCE33576B315ECECBB6406837BF51F5,
    ),
    "P-384": (
        int(
            "ffffffffffffffffffffffffffffffffffffffffffffffffffffffff"
            "fffffffeffffffff0000000000000000ffffffff",
            16,
        ),
        int(
            "b3312fa7e23ee7e4988e056be3f82d19181d9c6efe8141120314088f5013875a"
            "c656398d8a2ed19d2a85c8edd3ec2aef",
            16,
        ),
        int(
            "ffffffffffffffffffffffffffffffffffffffffffffffffc7634d81f4372ddf"
            "581a0db248b0a77aecec196accc52973",
            16,
        ),
        int(
            "aa87ca22be8b05378eb1c71ef320ad746e1d3b628ba79b9859f741e082542a38"
            "5502f25dbf55296c3a545e3872760ab7",
            16,
        ),
        int(
            "3617de4a96262c6f5d9e98bf9292dc29f8f41dbd289a147ce9da3113b5f0b8c0"
            "0a60b1ce1d7e819d7a431d7c90ea0e5f",
            16,
        ),
    ),  # fmt: skip
    "P-521": (
        (1 << 521) - 1,
        int(
            "0051953eb9618e1c9a1f929a21a0b68540eea2da725b99b315f3b8b489918ef1"
            "09e156193951ec7e937b1652c0bd3bb1bf073573df883d2c34f1ef451fd46b50"
            "3f00",
            16,
        ),
        int(
            "01ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff"
            "fffa51868783bf2f966b7fcc0148f709a5d03bb5c9b8899c47aebb6fb71e9138"
            "6409",
            16,
        ),
        int(
            "00c6858e06b70404e9cd9e3ecb662395b4429c648139053fb521f828af606b4d"
            "3dbaa14b5e77efe75928fe1dc127a2ffa8de3348b3c1856a429bf97e7e31c2e5"
            "bd66",
            16,
        ),
        int(
            "011839296a789a3bc0045c8a5fb42c7d1bd998f54449579b446817afbd17273e"
            "662c97ee72995ef42640c550b9013fad0761353c7086a272c24088be94769fd1"
            "6650",
            16,
        ),
    ),  # fmt: skip
}

Point = tuple[int, int] | None


def _ec_add(p: int, a: Point, b: Point) -> Point:
    if a is None:
        return b
    if b is None:
        return a
    if a[0] == b[0]:
        if (a[1] + b[1]) % p == 0:
            return None
        lam = (3 * a[0] * a[0] - 3) * pow(2 * a[1], -1, p) % p
    else:
        lam = (b[1] - a[1]) * pow(b[0] - a[0], -1, p) % p
    x = (lam * lam - a[0] - b[0]) % p
    return x, (lam * (a[0] - x) - a[1]) % p


def _ec_mul(p: int, k: int, point: Point) -> Point:
    result: Point = None
    addend = point
    while k:
        if k & 1:
            result = _ec_add(p, result, addend)
        addend = _ec_add(p, addend, addend)
        k >>= 1
    return result


def _hash_int(digest: bytes, n: int) -> int:
    z = int.from_bytes(digest, "big")
    excess = len(digest) * 8 - n.bit_length()
    return z >> excess if excess > 0 else z


def ecdsa_verify(curve: str, pub: tuple[int, int], digest: bytes, sig: bytes) -> bool:
    p, _, n, gx, gy = _CURVES[curve]
    size = (n.bit_length() + 7) // 8
    if len(sig) != 2 * size:
        return False
    r, s = int.from_bytes(sig[:size], "big"), int.from_bytes(sig[size:], "big")
    if not (0 < r < n and 0 < s < n):
        return False
    w = pow(s, -1, n)
    z = _hash_int(digest, n)
    point = _ec_add(p, _ec_mul(p, z * w % n, (gx, gy)), _ec_mul(p, r * w % n, pub))
    return point is not None and point[0] % n == r


def ecdsa_sign(curve: str, d: int, digest: bytes) -> bytes:
    p, _, n, gx, gy = _CURVES[curve]
    size = (n.bit_length() + 7) // 8
    z = _hash_int(digest, n)
    while True:
        k = secrets.randbelow(n - 1) + 1
        point = _ec_mul(p, k, (gx, gy))
        assert point is not None
        r = point[0] % n
        s = pow(k, -1, n) * (z + r * d) % n
        if r and s:
            return r.to_bytes(size, "big") + s.to_bytes(size, "big")


def _rsa_encoded(bits: str, digest: bytes, size: int) -> bytes:
    t = _DIGEST_INFO[bits] + digest
    return b"\x00\x01" + b"\xff" * (size - len(t) - 3) + b"\x00" + t


# ---------------------------------------------------------------------------------------------
# parse


def _check_claims(claims: dict[str, Any]) -> None:
    now = time.time()
    exp = claims.get("exp")
    if exp is not None and is_number(exp) and now >= to_float(exp):
        raise EvalError("failed to parse JWT string: token has invalid claims: token is expired")
    nbf = claims.get("nbf")
    if nbf is not None and is_number(nbf) and now < to_float(nbf):
        raise EvalError("failed to parse JWT string: token has invalid claims: token is not valid yet")


def _parse_jwt(kind: str, bits: str) -> None:
    alg = f"{kind}{bits}"

    def impl(ctx: Any, target: Any, signing_secret: str) -> Any:
        token = as_text(target)
        parts = token.split(".")
        if len(parts) != 3:
            raise EvalError(
                "failed to parse JWT string: token is malformed: token contains an invalid number of segments"
            )
        try:
            header = json.loads(_b64url_decode(parts[0]))
        except ValueError:
            raise EvalError(
                "failed to parse JWT string: token is malformed: could not JSON decode header"
            ) from None
        if not isinstance(header, dict) or header.get("alg") != alg:
            raise EvalError("failed to parse JWT string: token is unverifiable: error while executing keyfunc: "
                            f"incorrect signing method: {header.get('alg') if isinstance(header, dict) else None}")  # fmt: skip
        signed = f"{parts[0]}.{parts[1]}".encode()
        sig = _b64url_decode(parts[2])
        digest_fn = _HASHES[bits]
        if kind == "HS":
            ok = hmac.compare_digest(hmac.new(signing_secret.encode(), signed, digest_fn).digest(), sig)
        else:
            key_type, key = load_public_key(signing_secret)
            if kind == "RS" and key_type == "RSA":
                n, e = key
                size = (n.bit_length() + 7) // 8
                ok = len(sig) == size and pow(int.from_bytes(sig, "big"), e, n).to_bytes(
                    size, "big"
                ) == _rsa_encoded(bits, digest_fn(signed).digest(), size)
            elif kind == "ES" and key_type == "EC":
                ok = ecdsa_verify(key[0], key[1], digest_fn(signed).digest(), sig)
            else:
                raise EvalError(f"failed to parse JWT string: key is of invalid type for {alg}")
        if not ok:
            raise EvalError("failed to parse JWT string: token signature is invalid: signature is invalid")
        try:
            claims = parse_json(_b64url_decode(parts[1]))
        except ValueError:
            raise EvalError(
                "failed to parse JWT string: token is malformed: could not JSON decode claim"
            ) from None
        if type(claims) is not dict:
            raise EvalError("failed to parse JWT string: token is malformed: claims are not an object")
        _check_claims(claims)
        return claims

    method(f"parse_jwt_{kind.lower()}{bits}", category=CATEGORY,
           params=[Param("signing_secret", "string", description="The secret or PEM public key.")],
           description=f"Verifies a JWT signed with {alg} and returns its claims.")(impl)  # fmt: skip


def _sign_jwt(kind: str, bits: str) -> None:
    alg = f"{kind}{bits}"

    def impl(ctx: Any, target: Any, signing_secret: str, headers: Any = None) -> Any:
        if type(target) is not dict:
            raise TypeMismatch("object", target)
        header: dict[str, Any] = {"alg": alg, "typ": "JWT"}
        if headers is not None:
            if type(headers) is not dict:
                raise TypeMismatch("object", headers)
            header.update(headers)
            header["alg"] = alg
        signing_input = (
            f"{_b64url(format_json_marshal(header).encode())}.{_b64url(format_json_marshal(target).encode())}"
        )
        data = signing_input.encode()
        digest_fn = _HASHES[bits]
        if kind == "HS":
            sig = hmac.new(signing_secret.encode(), data, digest_fn).digest()
        else:
            key_type, key = load_private_key(signing_secret)
            if kind == "RS" and key_type == "RSA":
                n, d = key
                size = (n.bit_length() + 7) // 8
                m = int.from_bytes(_rsa_encoded(bits, digest_fn(data).digest(), size), "big")
                sig = pow(m, d, n).to_bytes(size, "big")
            elif kind == "ES" and key_type == "EC":
                sig = ecdsa_sign(key[0], key[1], digest_fn(data).digest())
            else:
                raise EvalError(f"failed to sign JWT: key is of invalid type for {alg}")
        return f"{signing_input}.{_b64url(sig)}"

    method(f"sign_jwt_{kind.lower()}{bits}", category=CATEGORY,
           params=[Param("signing_secret", "string", description="The secret or PEM private key."),
                   Param("headers", "any", optional=True, description="Extra JOSE headers.")],
           description=f"Signs a claims object as a JWT with {alg}.")(impl)  # fmt: skip


for _kind in ("HS", "RS", "ES"):
    for _bits in ("256", "384", "512"):
        _parse_jwt(_kind, _bits)
        _sign_jwt(_kind, _bits)
