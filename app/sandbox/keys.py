"""The sandbox's RSA keypair.

TEST-ONLY: this private key is committed on purpose so that every sandbox (tests, demo, CI) presents the same
public key and saved Telethon sessions keep working. It protects nothing; never use it for anything real.
"""

import hashlib
import struct

import rsa
from telethon.tl.tlobject import TLObject

PRIVATE_KEY_PEM = """\
-----BEGIN RSA PRIVATE KEY-----
MIIEqgIBAAKCAQEApMBy2Fnd2XR1VaqXnEbREQpQatla3xu95O+8l+hrE901otym
wuHTmKQxU/c/SLk1xdwYmwH2PL60oin9icmaPIIcJWVuA5HVnu333ACtPYIDEhEO
Jioh5h/37luskPXBxpLGIFgjOZ57hb+UNPSmNieiV1ltO6XlZmEJiTOOd6g4x0M0
pAsJD45g9ocFxwb4UXpZfpgnPJUTdeE8zAeaOUeKIFFxHTpYxcEfXXRjRkQ12CUp
E4tGeKZR1liN47oDFoVQb6U0Zcp4tAJ/d6S/o3B76gXxPNeKDpYd5xdKskDx5eim
wqIC5H710wmsxh7sv2eKm8JHv/KHfp6CcTAvzQIDAQABAoIBAEIET8C7+fbKAL5s
FkZr5hiS7nhyUkR2pFgZbJPecRHLoVN6YWRUA2r12EJSH8yvUonPURjD53yd2lnk
w5Cz9Rbr+AVQKI5LoLMHnjtNFh5Ae6SAqw/F8EF7a+jaWULZB2XfqH6LcsoC5HJK
u0OhCP1IUnf4AJpXNk76sMX/YLnpOm95IaYdP5UXD3DNoUlSA+yIDchlxccXHrRe
UYt8PzN6o3afjwjKwFawXRXtB/OCtyiIfGMSWFSGl2PhmImvVjfyMKNHFyo9li7A
Tc4oA76uQnJCUiETInep6h8EEJnf4CJ5KjA8qAJLdi1MdNoQ0KmoeMzwXkv4qSaL
dB7oMI0CgYkAxXHHCT5ouB0AxH+L4DrnCFwOOZUuKOg879tYy9FrldMjaucAWllu
jM9qvf4BesEIDcOTt6gkGG4Ntyb/Kc1FnOBUv+cPaX/lk6c8rIqgnb90uCLLVmxT
15RepNcWQCzfDwhz+sRD7sGW91y+RBrwicj4t6yy7vIc4wQI02x/B9S3x9DT2ZiC
jwJ5ANWcmiv9bokh2Z9ytcN8MPrKrsIlL8ExTRftTfYl8aHT9KqtbDQqMggUvLIy
LxWd+5e0XFu2V5oviHWC410TaaIZq6j9ox5B8yo3aP2kaYN5epe3Yt8c+IsGGUe2
X9TtzvboYmSRglk/UXviCwCF7ilSq7G6Jm5l4wKBiBuMXHD1vDa0FT9VbHbEwSdx
cKqoHeCnRplQyXrmpVQqOW7Y/Due7sXGyuXnYt11wWHqP9oII8Ek2dUMI935PhU9
V5XO71+Q8L9BPj30uaRI6kgm0qgkRS53DR2CxR//IsA+NbBvYesWJ7IrxoBKIfWX
jNxTxEOClHU4QuL86Fx3WY0Pnf9mQBECeQDJAsfVk3O72b23HLPMlAZnSelvypyI
mQMp++Y8NnKOTS1Um0NSR06zaggzS6QhHHxPwqqSpyECd65anmOkB4uEvdFagetI
otjXJjNHU7ryvJLPSAPjXpjIAmIxqH2/mlUC5aUJbCAUKdBc2lZuFJoMCr6EzV4y
zu8CgYkAj9oV1gE37eUtsqSiqkGgLIlK4Df7/v3eZH4MljehGfYRvIHGleaooyor
e0Tm4+DwfRmDEtJS/7n0TCgZ67bLWCOmwObGGLZAyGlTb4y4smbmhMKUMPjMjG2O
kJRZDt5GMIVTioehBSa52MrMFYunO9cIqbrMVHHDT5Xn9WbGZZpdojO5go3QDA==
-----END RSA PRIVATE KEY-----
"""

PUBLIC_KEY_PEM = """\
-----BEGIN RSA PUBLIC KEY-----
MIIBCgKCAQEApMBy2Fnd2XR1VaqXnEbREQpQatla3xu95O+8l+hrE901otymwuHT
mKQxU/c/SLk1xdwYmwH2PL60oin9icmaPIIcJWVuA5HVnu333ACtPYIDEhEOJioh
5h/37luskPXBxpLGIFgjOZ57hb+UNPSmNieiV1ltO6XlZmEJiTOOd6g4x0M0pAsJ
D45g9ocFxwb4UXpZfpgnPJUTdeE8zAeaOUeKIFFxHTpYxcEfXXRjRkQ12CUpE4tG
eKZR1liN47oDFoVQb6U0Zcp4tAJ/d6S/o3B76gXxPNeKDpYd5xdKskDx5eimwqIC
5H710wmsxh7sv2eKm8JHv/KHfp6CcTAvzQIDAQAB
-----END RSA PUBLIC KEY-----
"""

PRIVATE_KEY = rsa.PrivateKey.load_pkcs1(PRIVATE_KEY_PEM.encode())


def _int_bytes(value: int) -> bytes:
    return value.to_bytes((value.bit_length() + 7) // 8, "big")


def fingerprint(key: rsa.PublicKey | rsa.PrivateKey = PRIVATE_KEY) -> int:
    """Telegram's key fingerprint: low 8 bytes of sha1(tl_bytes(n) + tl_bytes(e)) read as signed little-endian."""
    data = TLObject.serialize_bytes(_int_bytes(key.n)) + TLObject.serialize_bytes(_int_bytes(key.e))
    return int(struct.unpack("<q", hashlib.sha1(data, usedforsecurity=False).digest()[-8:])[0])


FINGERPRINT = fingerprint()


def trust_in_telethon() -> None:
    """Make this process's Telethon accept the sandbox key (idempotent)."""
    from telethon.crypto import rsa as telethon_rsa

    telethon_rsa.add_key(PUBLIC_KEY_PEM, old=False)
