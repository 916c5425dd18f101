"""Auth-key exchange (https://core.telegram.org/mtproto/auth_key), server side.

One `Handshake` lives per connection; the client may restart it with a new req_pq on the same socket.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from hashlib import sha256

from telethon.crypto import AES, AuthKey
from telethon.extensions import BinaryReader
from telethon.helpers import generate_key_data_from_nonce
from telethon.tl import TLObject, functions, types

from . import keys
from .crypto import sha1

# A fixed pq is fine for a test server: the client only has to factorise it (Pollard rho, ~sqrt(P) steps), and a
# small P makes that ~1 ms instead of ~35 ms. Both factors are primes below 2^32, as the protocol requires.
P, Q = 1000003, 2147483647
PQ = P * Q

# The well-known 2048-bit MTProto prime with g=3: the client fast-paths exactly this pair (see telethon/password.py).
DH_PRIME = int(
    "C71CAEB9C6B1C9048E6C522F70F13F73980D40238E3E21C14934D037563D930F48198A0AA7C14058229493D22530F4DBFA336F6E0AC925"
    "139543AED44CCE7C3720FD51F69458705AC68CD4FE6B6B13ABDC9746512969328454F18FAF8C595F642477FE96BB2A941D5BCD1D4AC8CC"
    "49880708FA9B378E3C4F3A9060BEE67CF9A4A4A695811051907E162753B56B0F6B410DBA74D8A84B2A14B3144E0EF1284754FD17ED950D"
    "5965B4B9DD46582DB1178D169C6BC465B0D6FF9CA3928FEF5B9AE4E418FC15E83EBEA0F87FA9FF5EED70050DED2849F47BF959D956850C"
    "E929851F0D8115F635B105EE2E4E15D04B2454BF6F4FADF034B10403119CD8E3B92FCC5B",
    16,
)
DH_G = 3
DH_PRIME_BYTES = DH_PRIME.to_bytes(256, "big")
_SAFETY = 2 ** (2048 - 64)
# The server's secret DH exponent. 2048 bits buys nothing in an offline sandbox; 320 bits keeps a handshake cheap
# (g_a still lands in the safety range the client checks, because 3^a mod p is spread over the whole group).
SERVER_EXPONENT_BITS = 320


class HandshakeFailed(Exception):
    """The client's handshake message is inconsistent; answer with transport error -404."""


def _int(data: bytes) -> int:
    return int.from_bytes(data, "big")


def _min_bytes(value: int) -> bytes:
    return value.to_bytes((value.bit_length() + 7) // 8, "big")


def _decrypt_inner_data(encrypted: bytes) -> TLObject:
    """RSA-decrypt p_q_inner_data: try RSA_PAD first, then the legacy sha1+data+padding scheme Telethon uses."""
    key = keys.PRIVATE_KEY
    value = _int(encrypted)
    if value >= key.n:
        raise HandshakeFailed("encrypted_data >= n")
    # Chinese-remainder decryption: the same result as pow(value, d, n), about three times faster.
    m1, m2 = pow(value, key.exp1, key.p), pow(value, key.exp2, key.q)
    plain = (m2 + (key.coef * (m1 - m2) % key.p) * key.q).to_bytes(256, "big")
    inner = _try_rsa_pad(plain) or _try_legacy(plain)
    if inner is None:
        raise HandshakeFailed("cannot decode p_q_inner_data with either RSA scheme")
    return inner


def _try_rsa_pad(plain: bytes) -> TLObject | None:
    temp_key_xor, aes_encrypted = plain[:32], plain[32:]
    temp_key = bytes(a ^ b for a, b in zip(temp_key_xor, sha256(aes_encrypted).digest(), strict=True))
    data_with_hash = AES.decrypt_ige(aes_encrypted, temp_key, bytes(32))
    data_with_padding = data_with_hash[:192][::-1]
    if sha256(temp_key + data_with_padding).digest() != data_with_hash[192:]:
        return None
    return _read_inner(data_with_padding)


def _try_legacy(plain: bytes) -> TLObject | None:
    digest, rest = plain[1:21], plain[21:]
    inner = _read_inner(rest)
    if inner is None or sha1(bytes(inner)) != digest:
        return None
    return inner


def _read_inner(data: bytes) -> TLObject | None:
    try:
        obj = BinaryReader(data).tgread_object()
    except Exception:
        return None
    inner_types = (types.PQInnerData, types.PQInnerDataDc, types.PQInnerDataTemp, types.PQInnerDataTempDc)
    return obj if isinstance(obj, inner_types) else None


@dataclass
class NewAuthKey:
    """A key both sides agreed on."""

    key: bytes
    key_id: int


class Handshake:
    """State machine for one connection's auth-key exchange."""

    def __init__(self) -> None:
        self.nonce: int | None = None
        self.server_nonce: int | None = None
        self.new_nonce: int | None = None
        self._a = 0
        self._tmp_key = self._tmp_iv = b""

    def handle(self, request: TLObject) -> tuple[TLObject, NewAuthKey | None]:
        """Answer one plain-text handshake message; the second item is set once a key is agreed."""
        if isinstance(request, functions.ReqPqMultiRequest | functions.ReqPqRequest):
            return self._res_pq(request.nonce), None
        if isinstance(request, functions.ReqDHParamsRequest):
            return self._server_dh_params(request), None
        if isinstance(request, functions.SetClientDHParamsRequest):
            return self._dh_gen(request)
        raise HandshakeFailed(f"unexpected plain message {type(request).__name__}")

    def _res_pq(self, nonce: int) -> types.ResPQ:
        self.nonce = nonce
        self.server_nonce = int.from_bytes(os.urandom(16), "big", signed=True)
        self.new_nonce = None
        return types.ResPQ(
            nonce=nonce,
            server_nonce=self.server_nonce,
            pq=_min_bytes(PQ),
            server_public_key_fingerprints=[keys.FINGERPRINT],
        )

    def _check_nonces(self, request: TLObject) -> None:
        if self.nonce is None or request.nonce != self.nonce or request.server_nonce != self.server_nonce:
            raise HandshakeFailed("nonce mismatch")

    def _server_dh_params(self, request: functions.ReqDHParamsRequest) -> types.ServerDHParamsOk:
        self._check_nonces(request)
        if _int(request.p) != P or _int(request.q) != Q or len(request.p) > 4 or len(request.q) > 4:
            raise HandshakeFailed("wrong p/q")
        if request.public_key_fingerprint != keys.FINGERPRINT:
            raise HandshakeFailed("unknown key fingerprint")
        inner = _decrypt_inner_data(request.encrypted_data)
        if inner.nonce != self.nonce or inner.server_nonce != self.server_nonce or _int(inner.pq) != PQ:
            raise HandshakeFailed("inner data does not match")
        self.new_nonce = inner.new_nonce
        self._tmp_key, self._tmp_iv = generate_key_data_from_nonce(self.server_nonce, self.new_nonce)
        g_a = 0
        while not _SAFETY <= g_a <= DH_PRIME - _SAFETY:
            self._a = _int(os.urandom(SERVER_EXPONENT_BITS // 8))
            g_a = pow(DH_G, self._a, DH_PRIME)
        answer = bytes(
            types.ServerDHInnerData(
                nonce=self.nonce,
                server_nonce=self.server_nonce,
                g=DH_G,
                dh_prime=DH_PRIME_BYTES,
                g_a=g_a.to_bytes(256, "big"),  # as Telegram sends it: always the prime's 256 bytes
                server_time=int(time.time()),
            )
        )
        with_hash = sha1(answer) + answer
        with_hash += os.urandom(-len(with_hash) % 16)
        return types.ServerDHParamsOk(
            nonce=self.nonce,
            server_nonce=self.server_nonce,
            encrypted_answer=AES.encrypt_ige(with_hash, self._tmp_key, self._tmp_iv),
        )

    def _dh_gen(self, request: functions.SetClientDHParamsRequest) -> tuple[TLObject, NewAuthKey | None]:
        self._check_nonces(request)
        if self.new_nonce is None or len(request.encrypted_data) % 16:
            raise HandshakeFailed("set_client_DH_params out of order")
        plain = AES.decrypt_ige(request.encrypted_data, self._tmp_key, self._tmp_iv)
        reader = BinaryReader(plain[20:])
        inner = reader.tgread_object()
        if not isinstance(inner, types.ClientDHInnerData):
            raise HandshakeFailed("expected client_DH_inner_data")
        if sha1(plain[20 : 20 + reader.tell_position()]) != plain[:20]:
            raise HandshakeFailed("client_DH_inner_data hash mismatch")
        self._check_nonces(inner)
        g_b = _int(inner.g_b)
        if not (1 < g_b < DH_PRIME - 1 and _SAFETY <= g_b <= DH_PRIME - _SAFETY):
            raise HandshakeFailed("g_b out of range")
        # auth_key is pow(g, ab) mod dh_prime as a 256-byte big-endian number, leading zero bytes included (1 key
        # in 256 starts with one). A client that drops them (Telethon does) holds a different key, finds the
        # new_nonce_hash1 below wrong and starts over, as it would against Telegram.
        key = AuthKey(pow(g_b, self._a, DH_PRIME).to_bytes(256, "big"))
        new_hash = key.calc_new_nonce_hash(self.new_nonce, 1)
        nonces = {"nonce": self.nonce, "server_nonce": self.server_nonce}
        self.nonce = self.server_nonce = self.new_nonce = None
        return types.DhGenOk(new_nonce_hash1=new_hash, **nonces), NewAuthKey(key.key, key.key_id)
