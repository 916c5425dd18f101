"""2FA with SRP (https://core.telegram.org/api/srp), server side, for Telethon's `password.compute_check`."""

from __future__ import annotations

import hashlib
import os
import secrets
from dataclasses import dataclass

from telethon import password as telethon_password
from telethon.tl import types

from .handshake import DH_G, DH_PRIME, DH_PRIME_BYTES
from .state import PasswordRecord


def _h(*parts: bytes) -> bytes:
    digest = hashlib.sha256()
    for part in parts:
        digest.update(part)
    return digest.digest()


def _pad(value: int) -> bytes:
    return value.to_bytes(256, "big")


def _algo(record: PasswordRecord) -> types.PasswordKdfAlgoSHA256SHA256PBKDF2HMACSHA512iter100000SHA256ModPow:
    return types.PasswordKdfAlgoSHA256SHA256PBKDF2HMACSHA512iter100000SHA256ModPow(
        salt1=record.salt1, salt2=record.salt2, g=DH_G, p=DH_PRIME_BYTES
    )


def make_password(password: str, hint: str = "") -> PasswordRecord:
    """Store only the verifier v = g^x mod p, never the password (x is Telethon's own KDF)."""
    record = PasswordRecord(salt1=os.urandom(40), salt2=os.urandom(16), verifier=b"", hint=hint)
    x = int.from_bytes(telethon_password.compute_hash(_algo(record), password), "big")
    record.verifier = _pad(pow(DH_G, x, DH_PRIME))
    return record


@dataclass
class SrpChallenge:
    """The server half of one getPassword -> checkPassword exchange."""

    srp_id: int
    b: int
    big_b: int


def _k() -> int:
    return int.from_bytes(_h(DH_PRIME_BYTES, _pad(DH_G)), "big")


def new_challenge(record: PasswordRecord) -> SrpChallenge:
    v = int.from_bytes(record.verifier, "big")
    while True:
        b = int.from_bytes(os.urandom(256), "big")
        big_b = (_k() * v + pow(DH_G, b, DH_PRIME)) % DH_PRIME
        if telethon_password.is_good_mod_exp_first(big_b, DH_PRIME):
            return SrpChallenge(srp_id=secrets.randbits(63), b=b, big_b=big_b)


def password_info(record: PasswordRecord | None, challenge: SrpChallenge | None) -> types.account.Password:
    new_algo = types.PasswordKdfAlgoSHA256SHA256PBKDF2HMACSHA512iter100000SHA256ModPow(
        salt1=os.urandom(32), salt2=os.urandom(16), g=DH_G, p=DH_PRIME_BYTES
    )
    common = {
        "new_algo": new_algo,
        "new_secure_algo": types.SecurePasswordKdfAlgoSHA512(salt=os.urandom(8)),
        "secure_random": os.urandom(32),
    }
    if record is None or challenge is None:
        return types.account.Password(has_password=False, **common)
    return types.account.Password(
        has_password=True,
        current_algo=_algo(record),
        srp_B=_pad(challenge.big_b),
        srp_id=challenge.srp_id,
        hint=record.hint or None,
        **common,
    )


def verify(record: PasswordRecord, challenge: SrpChallenge, a_bytes: bytes, m1: bytes) -> bool:
    """Check the client's proof M1 = H(H(p) xor H(g) | H(salt1) | H(salt2) | A | B | K)."""
    a_value = int.from_bytes(a_bytes, "big")
    if not 0 < a_value < DH_PRIME:
        return False
    v = int.from_bytes(record.verifier, "big")
    a_pad, b_pad = _pad(a_value), _pad(challenge.big_b)
    u = int.from_bytes(_h(a_pad, b_pad), "big")
    secret = pow(a_value * pow(v, u, DH_PRIME) % DH_PRIME, challenge.b, DH_PRIME)
    k_hash = _h(_pad(secret))
    p_xor_g = bytes(x ^ y for x, y in zip(_h(DH_PRIME_BYTES), _h(_pad(DH_G)), strict=True))
    expected = _h(p_xor_g, _h(record.salt1), _h(record.salt2), a_pad, b_pad, k_hash)
    return secrets.compare_digest(expected, m1)
