"""RPC handlers, one module per Telegram namespace. Importing this package registers them all."""

from . import (
    account,
    auth,
    channels,
    contacts,
    groups,
    help,
    invites,
    media,
    messages,
    profile,
    qr_login,
    transfers,
    updates,
    upload,
    users,
)

__all__ = [
    "account",
    "auth",
    "channels",
    "contacts",
    "groups",
    "help",
    "invites",
    "media",
    "messages",
    "profile",
    "qr_login",
    "transfers",
    "updates",
    "upload",
    "users",
]
