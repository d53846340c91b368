"""RSA (PKCS #1 v1.5) and ECDSA signatures for the JWT methods, from the ``cryptography`` library.

Upstream signs and verifies with golang-jwt over Go's crypto packages; ECDSA signatures travel as
r||s, each as wide as the algorithm's curve (32, 48 or 66 bytes), as JWS writes them. Keys are
read from PEM: SubjectPublicKeyInfo, PKCS #1 or a certificate for public keys; PKCS #1, SEC 1 or
PKCS #8 for private keys. Imported on first use, because importing ``cryptography`` costs a
noticeable part of the start-up time.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from cryptography import x509
from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature, encode_dss_signature

from mapping_lang.errors import EvalError

_CURVE_NAMES = {"secp256r1": "P-256", "secp384r1": "P-384", "secp521r1": "P-521"}
_HASH_ALGS: dict[str, type[hashes.HashAlgorithm]] = {
    "256": hashes.SHA256,
    "384": hashes.SHA384,
    "512": hashes.SHA512,
}
_ES_KEY_SIZE = {"256": 32, "384": 48, "512": 66}  # bytes of r and of s, as golang-jwt's ES*


def _check_key(key: Any, kind: str) -> Any:
    if isinstance(key, (rsa.RSAPublicKey, rsa.RSAPrivateKey)):
        return key
    if isinstance(key, (ec.EllipticCurvePublicKey, ec.EllipticCurvePrivateKey)):
        if key.curve.name not in _CURVE_NAMES:
            raise EvalError("failed to parse key: unsupported elliptic curve")
        return key
    raise EvalError(f"failed to parse key: unsupported {kind} key type")


@lru_cache(maxsize=64)
def load_public_key(pem: str) -> Any:
    """An RSA or EC public key from PEM (SubjectPublicKeyInfo, PKCS #1 or a certificate)."""
    data = pem.encode()
    try:
        if b"-----BEGIN CERTIFICATE-----" in data:
            key: Any = x509.load_pem_x509_certificate(data).public_key()
        else:
            key = serialization.load_pem_public_key(data)
    except (ValueError, TypeError, UnsupportedAlgorithm):
        raise EvalError("failed to parse key: invalid PEM") from None
    return _check_key(key, "public")


@lru_cache(maxsize=64)
def load_private_key(pem: str) -> Any:
    """An RSA or EC private key from PEM (PKCS #1, SEC 1 or PKCS #8, unencrypted)."""
    try:
        key = serialization.load_pem_private_key(pem.encode(), password=None)
    except (ValueError, TypeError, UnsupportedAlgorithm):
        raise EvalError("failed to parse key: invalid PEM") from None
    return _check_key(key, "private")


def verify(kind: str, bits: str, key: Any, signed: bytes, sig: bytes) -> bool:
    algorithm = _HASH_ALGS[bits]()
    try:
        if kind == "RS":
            key.verify(sig, signed, padding.PKCS1v15(), algorithm)
        else:
            size = _ES_KEY_SIZE[bits]
            if len(sig) != 2 * size:
                return False
            r, s = int.from_bytes(sig[:size], "big"), int.from_bytes(sig[size:], "big")
            key.verify(encode_dss_signature(r, s), signed, ec.ECDSA(algorithm))
    except InvalidSignature:
        return False
    return True


def sign(kind: str, bits: str, key: Any, data: bytes) -> bytes:
    algorithm = _HASH_ALGS[bits]()
    if kind == "RS":
        signature: bytes = key.sign(data, padding.PKCS1v15(), algorithm)
        return signature
    r, s = decode_dss_signature(key.sign(data, ec.ECDSA(algorithm)))
    size = (key.curve.key_size + 7) // 8
    return r.to_bytes(size, "big") + s.to_bytes(size, "big")


def is_key_for(key: Any, kind: str) -> bool:
    """Whether ``key`` can serve ``RS*`` (an RSA key) or ``ES*`` (an EC key)."""
    if kind == "RS":
        return isinstance(key, (rsa.RSAPublicKey, rsa.RSAPrivateKey))
    return isinstance(key, (ec.EllipticCurvePublicKey, ec.EllipticCurvePrivateKey))
