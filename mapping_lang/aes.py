"""AES for ``encrypt_aes``/``decrypt_aes``, from the ``cryptography`` library.

Upstream uses Go's ``crypto/aes`` and ``crypto/cipher``: CTR, OFB, CBC without padding and GCM
with the standard 12-byte nonce. The checks and error texts of the methods live with them in
``methods/encoding.py``; this module only runs the cipher. It is imported on first use, because
importing ``cryptography`` costs a noticeable part of the start-up time.
"""

from __future__ import annotations

from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

try:
    from cryptography.hazmat.decrepit.ciphers.modes import OFB
except ImportError:  # cryptography before 47 keeps OFB among the primitives
    from cryptography.hazmat.primitives.ciphers.modes import OFB  # type: ignore[attr-defined,no-redef]


def _mode(scheme: str, iv: bytes) -> modes.Mode:
    if scheme == "ctr":
        return modes.CTR(iv)
    if scheme == "ofb":
        return OFB(iv)
    return modes.CBC(iv)


def stream(scheme: str, encrypt: bool, key: bytes, iv: bytes, data: bytes) -> bytes:
    """CTR, OFB or CBC (``data`` a whole number of blocks for CBC)."""
    cipher: Cipher[Any] = Cipher(algorithms.AES(key), _mode(scheme, iv))
    worker = cipher.encryptor() if encrypt else cipher.decryptor()
    return worker.update(data) + worker.finalize()


def gcm_seal(key: bytes, nonce: bytes, data: bytes) -> bytes:
    """The ciphertext followed by the 16-byte tag, as Go's ``Seal`` writes it."""
    return AESGCM(key).encrypt(nonce, data, None)


def gcm_open(key: bytes, nonce: bytes, data: bytes) -> bytes | None:
    """The plaintext, or None when the tag does not authenticate ``data``."""
    try:
        return AESGCM(key).decrypt(nonce, data, None)
    except InvalidTag:
        return None
