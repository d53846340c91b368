"""AES (FIPS-197) block cipher and the CTR, OFB, CBC and GCM modes used by ``encrypt_aes`` and
``decrypt_aes``, in pure Python (the standard library has no AES). Slow but exact; fine for
configuration-sized secrets, not for bulk encryption."""

from __future__ import annotations

from functools import lru_cache


def _xtime(a: int) -> int:
    a <<= 1
    return (a ^ 0x11B) & 0xFF if a & 0x100 else a


def _build_sbox() -> tuple[list[int], list[int]]:
    sbox = [0] * 256
    inv = [0] * 256
    p = q = 1
    while True:
        # multiply p by 3, divide q by 3 (generators of the multiplicative group)
        p = p ^ _xtime(p)
        q ^= q << 1
        q ^= q << 2
        q ^= q << 4
        q &= 0xFF
        if q & 0x80:
            q ^= 0x09
        x = q ^ ((q << 1) | (q >> 7)) ^ ((q << 2) | (q >> 6)) ^ ((q << 3) | (q >> 5)) ^ ((q << 4) | (q >> 4))
        x = (x ^ 0x63) & 0xFF
        sbox[p] = x
        inv[x] = p
        if p == 1:
            break
    sbox[0] = 0x63
    inv[0x63] = 0
    return sbox, inv


SBOX, INV_SBOX = _build_sbox()


def _mul(a: int, b: int) -> int:
    r = 0
    while b:
        if b & 1:
            r ^= a
        a = _xtime(a)
        b >>= 1
    return r


_MUL2 = [_mul(i, 2) for i in range(256)]
_MUL3 = [_mul(i, 3) for i in range(256)]
_MUL9 = [_mul(i, 9) for i in range(256)]
_MUL11 = [_mul(i, 11) for i in range(256)]
_MUL13 = [_mul(i, 13) for i in range(256)]
_MUL14 = [_mul(i, 14) for i in range(256)]


@lru_cache(maxsize=32)
def expand_key(key: bytes) -> tuple[tuple[int, ...], ...]:
    if len(key) not in (16, 24, 32):
        raise ValueError(f"crypto/aes: invalid key size {len(key)}")
    nk = len(key) // 4
    rounds = nk + 6
    words = [list(key[4 * i : 4 * i + 4]) for i in range(nk)]
    rcon = 1
    for i in range(nk, 4 * (rounds + 1)):
        temp = list(words[i - 1])
        if i % nk == 0:
            temp = temp[1:] + temp[:1]
            temp = [SBOX[b] for b in temp]
            temp[0] ^= rcon
            rcon = _xtime(rcon)
        elif nk > 6 and i % nk == 4:
            temp = [SBOX[b] for b in temp]
        words.append([a ^ b for a, b in zip(words[i - nk], temp, strict=True)])
    return tuple(tuple(sum((words[4 * r + c] for c in range(4)), [])) for r in range(rounds + 1))


def encrypt_block(round_keys: tuple[tuple[int, ...], ...], block: bytes) -> bytes:
    s = [b ^ k for b, k in zip(block, round_keys[0], strict=True)]
    last = len(round_keys) - 1
    for r in range(1, last + 1):
        s = [SBOX[b] for b in s]
        # ShiftRows (column-major state: index = 4*col + row)
        s = [s[(i + 4 * (i % 4)) % 16] for i in range(16)]
        if r != last:
            t = []
            for c in range(4):
                a0, a1, a2, a3 = s[4 * c : 4 * c + 4]
                t += [
                    _MUL2[a0] ^ _MUL3[a1] ^ a2 ^ a3,
                    a0 ^ _MUL2[a1] ^ _MUL3[a2] ^ a3,
                    a0 ^ a1 ^ _MUL2[a2] ^ _MUL3[a3],
                    _MUL3[a0] ^ a1 ^ a2 ^ _MUL2[a3],
                ]
            s = t
        s = [b ^ k for b, k in zip(s, round_keys[r], strict=True)]
    return bytes(s)


def decrypt_block(round_keys: tuple[tuple[int, ...], ...], block: bytes) -> bytes:
    last = len(round_keys) - 1
    s = [b ^ k for b, k in zip(block, round_keys[last], strict=True)]
    for r in range(last - 1, -1, -1):
        s = [s[(i - 4 * (i % 4)) % 16] for i in range(16)]  # InvShiftRows
        s = [INV_SBOX[b] for b in s]
        s = [b ^ k for b, k in zip(s, round_keys[r], strict=True)]
        if r != 0:
            t = []
            for c in range(4):
                a0, a1, a2, a3 = s[4 * c : 4 * c + 4]
                t += [
                    _MUL14[a0] ^ _MUL11[a1] ^ _MUL13[a2] ^ _MUL9[a3],
                    _MUL9[a0] ^ _MUL14[a1] ^ _MUL11[a2] ^ _MUL13[a3],
                    _MUL13[a0] ^ _MUL9[a1] ^ _MUL14[a2] ^ _MUL11[a3],
                    _MUL11[a0] ^ _MUL13[a1] ^ _MUL9[a2] ^ _MUL14[a3],
                ]
            s = t
    return bytes(s)


def _xor(a: bytes, b: bytes) -> bytes:
    return bytes(x ^ y for x, y in zip(a, b, strict=False))


def _inc(counter: bytes) -> bytes:
    return ((int.from_bytes(counter, "big") + 1) % (1 << (8 * len(counter)))).to_bytes(len(counter), "big")


def ctr(key: bytes, iv: bytes, data: bytes) -> bytes:
    rk = expand_key(key)
    if len(iv) != 16:
        raise ValueError("cipher.NewCTR: IV length must equal block size")
    out = bytearray()
    counter = iv
    for i in range(0, len(data), 16):
        out += _xor(data[i : i + 16], encrypt_block(rk, counter))
        counter = _inc(counter)
    return bytes(out)


def ofb(key: bytes, iv: bytes, data: bytes) -> bytes:
    rk = expand_key(key)
    if len(iv) != 16:
        raise ValueError("cipher.NewOFB: IV length must equal block size")
    out = bytearray()
    stream = iv
    for i in range(0, len(data), 16):
        stream = encrypt_block(rk, stream)
        out += _xor(data[i : i + 16], stream)
    return bytes(out)


def cbc_encrypt(key: bytes, iv: bytes, data: bytes) -> bytes:
    rk = expand_key(key)
    if len(iv) != 16:
        raise ValueError("cipher.NewCBCEncrypter: IV length must equal block size")
    if len(data) % 16:
        raise ValueError("plaintext is not a multiple of the block size")
    out = bytearray()
    prev = iv
    for i in range(0, len(data), 16):
        prev = encrypt_block(rk, _xor(data[i : i + 16], prev))
        out += prev
    return bytes(out)


def cbc_decrypt(key: bytes, iv: bytes, data: bytes) -> bytes:
    rk = expand_key(key)
    if len(iv) != 16:
        raise ValueError("cipher.NewCBCDecrypter: IV length must equal block size")
    if len(data) % 16:
        raise ValueError("ciphertext is not a multiple of the block size")
    out = bytearray()
    prev = iv
    for i in range(0, len(data), 16):
        block = data[i : i + 16]
        out += _xor(decrypt_block(rk, block), prev)
        prev = block
    return bytes(out)


# ---------------------------------------------------------------------------------------------
# GCM

_R = 0xE1 << 120


def _gf_mul(x: int, y: int) -> int:
    z = 0
    v = y
    for i in range(127, -1, -1):
        if (x >> i) & 1:
            z ^= v
        v = (v >> 1) ^ _R if v & 1 else v >> 1
    return z


def _ghash(h: int, aad: bytes, ct: bytes) -> int:
    y = 0
    for chunk in (aad, ct):
        for i in range(0, len(chunk), 16):
            block = chunk[i : i + 16].ljust(16, b"\0")
            y = _gf_mul(y ^ int.from_bytes(block, "big"), h)
    lengths = (len(aad) * 8).to_bytes(8, "big") + (len(ct) * 8).to_bytes(8, "big")
    return _gf_mul(y ^ int.from_bytes(lengths, "big"), h)


def _gcm_j0(rk: tuple[tuple[int, ...], ...], h: int, nonce: bytes) -> bytes:
    if len(nonce) == 12:
        return nonce + b"\0\0\0\1"
    return _ghash(h, b"", nonce).to_bytes(16, "big")


def _gctr(rk: tuple[tuple[int, ...], ...], icb: bytes, data: bytes) -> bytes:
    out = bytearray()
    counter = icb
    for i in range(0, len(data), 16):
        out += _xor(data[i : i + 16], encrypt_block(rk, counter))
        low = (int.from_bytes(counter[12:], "big") + 1) & 0xFFFFFFFF
        counter = counter[:12] + low.to_bytes(4, "big")
    return bytes(out)


def gcm_seal(key: bytes, nonce: bytes, data: bytes) -> bytes:
    rk = expand_key(key)
    h = int.from_bytes(encrypt_block(rk, b"\0" * 16), "big")
    j0 = _gcm_j0(rk, h, nonce)
    first = j0[:12] + ((int.from_bytes(j0[12:], "big") + 1) & 0xFFFFFFFF).to_bytes(4, "big")
    ct = _gctr(rk, first, data)
    tag = _xor(encrypt_block(rk, j0), _ghash(h, b"", ct).to_bytes(16, "big"))
    return ct + tag


def gcm_open(key: bytes, nonce: bytes, data: bytes) -> bytes:
    if len(data) < 16:
        raise ValueError("cipher: message authentication failed")
    rk = expand_key(key)
    ct, tag = data[:-16], data[-16:]
    h = int.from_bytes(encrypt_block(rk, b"\0" * 16), "big")
    j0 = _gcm_j0(rk, h, nonce)
    expected = _xor(encrypt_block(rk, j0), _ghash(h, b"", ct).to_bytes(16, "big"))
    if expected != tag:
        raise ValueError("cipher: message authentication failed")
    first = j0[:12] + ((int.from_bytes(j0[12:], "big") + 1) & 0xFFFFFFFF).to_bytes(4, "big")
    return _gctr(rk, first, ct)
