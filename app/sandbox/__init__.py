"""An offline MTProto 2.0 data center that the real, unmodified Telethon client talks to over TCP.

Start it with `SandboxDC().start()`, trust `dc.public_key_pem` with `telethon.crypto.rsa.add_key(pem, old=False)`,
point a client at it with `client.session.set_dc(dc.dc_id, dc.host, dc.port)`, and drive the world through
`dc.control`. See `docs` in the design (shared/design/telegram-sandbox.md).
"""

from .control import Actor, Control
from .faults import Counters
from .server import SandboxDC
from .state import Channel, User

__all__ = ["Actor", "Channel", "Control", "Counters", "SandboxDC", "User"]
