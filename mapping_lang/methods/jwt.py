"""JSON Web Token methods: ``parse_jwt_*`` verify a token and return its claims, ``sign_jwt_*``
sign a claims object. HMAC uses the stdlib; RSA and ECDSA signatures and PEM keys come from
``mapping_lang.signatures`` (the ``cryptography`` library)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import time
from typing import Any

from mapping_lang.errors import EvalError, TypeMismatch
from mapping_lang.gojson import unmarshal_error
from mapping_lang.library import Param, method
from mapping_lang.libutil import as_text
from mapping_lang.value import format_json_marshal, is_number, parse_json, to_float

CATEGORY = "JSON Web Tokens"
_HASHES = {"256": hashlib.sha256, "384": hashlib.sha384, "512": hashlib.sha512}


def _b64url_decode(part: str) -> bytes:
    try:
        return base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))
    except (ValueError, base64.binascii.Error):  # type: ignore[attr-defined]
        raise EvalError("failed to parse JWT string: token is malformed: could not base64 decode") from None


def _decode_segment(data: bytes, segment: str, go_type: str) -> Any:
    """A header or claims segment decoded as golang-jwt's ``json.Unmarshal`` does, with its error
    after the segment's name."""
    try:
        value = parse_json(data)
    except ValueError as err:
        detail = unmarshal_error(data) or str(err)
    else:
        if value is None or type(value) is dict:
            return value
        kind = (
            "array"
            if type(value) is list
            else "string"
            if type(value) is str
            else "bool"
            if type(value) is bool
            else "number"
        )
        detail = f"json: cannot unmarshal {kind} into Go value of type {go_type}"
    raise EvalError(
        f"failed to parse JWT string: token is malformed: could not JSON decode {segment}: {detail}"
    )


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


# ---------------------------------------------------------------------------------------------
# DER / PEM


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
        # golang-jwt decodes the header, then the claims (json.Unmarshal), before it looks at the
        # algorithm or the signature
        header = _decode_segment(_b64url_decode(parts[0]), "header", "map[string]interface {}")
        claims = _decode_segment(_b64url_decode(parts[1]), "claim", "jwt.MapClaims")
        if not isinstance(header, dict) or header.get("alg") != alg:
            raise EvalError("failed to parse JWT string: token is unverifiable: error while executing keyfunc: "
                            f"incorrect signing method: {header.get('alg') if isinstance(header, dict) else None}")  # fmt: skip
        signed = f"{parts[0]}.{parts[1]}".encode()
        sig = _b64url_decode(parts[2])
        digest_fn = _HASHES[bits]
        if kind == "HS":
            ok = hmac.compare_digest(hmac.new(signing_secret.encode(), signed, digest_fn).digest(), sig)
        else:
            # measured start-up cost: importing cryptography takes 50-120 ms, paid on first use only
            from mapping_lang import signatures

            key = signatures.load_public_key(signing_secret)
            if not signatures.is_key_for(key, kind):
                raise EvalError(f"failed to parse JWT string: key is of invalid type for {alg}")
            ok = signatures.verify(kind, bits, key, signed, sig)
        if not ok:
            raise EvalError("failed to parse JWT string: token signature is invalid: signature is invalid")
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
            # measured start-up cost: importing cryptography takes 50-120 ms, paid on first use only
            from mapping_lang import signatures

            key = signatures.load_private_key(signing_secret)
            if not signatures.is_key_for(key, kind):
                raise EvalError(f"failed to sign JWT: key is of invalid type for {alg}")
            sig = signatures.sign(kind, bits, key, data)
        return f"{signing_input}.{_b64url(sig)}"

    method(f"sign_jwt_{kind.lower()}{bits}", category=CATEGORY,
           params=[Param("signing_secret", "string", description="The secret or PEM private key."),
                   Param("headers", "any", optional=True, description="Extra JOSE headers.")],
           description=f"Signs a claims object as a JWT with {alg}.")(impl)  # fmt: skip


for _kind in ("HS", "RS", "ES"):
    for _bits in ("256", "384", "512"):
        _parse_jwt(_kind, _bits)
        _sign_jwt(_kind, _bits)
