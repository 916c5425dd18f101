"""All ORM models, one module per aggregate; importing this package registers every table."""

from app.db.models.api_keys import ApiKey
from app.db.models.archives import Archive, ArchiveStatus
from app.db.models.budgets import SendBudgetUsage
from app.db.models.channels import AssignmentStatus, Channel, ChannelAssignment, ChannelJoinMarker, ChannelStatus
from app.db.models.events import Event
from app.db.models.messaging import (
    ACCOUNT_BOX_KINDS,
    CHANNEL_BOX_KINDS,
    Chat,
    ChatKind,
    Message,
    MessageEdit,
    MessageStatus,
    UpdateState,
)
from app.db.models.peers import KnownPeer
from app.db.models.profile import LoginFlow, ProfileStatus, TelegramProfile
from app.db.models.proxy_pool import ProxyPoolEntry
from app.db.models.user import InstanceSetup, Invitation, RefreshToken, User, UserRole
from app.db.models.webhooks import DeliveryStatus, Webhook, WebhookAttempt, WebhookDelivery, WebhookStatus

__all__ = [
    "ACCOUNT_BOX_KINDS",
    "CHANNEL_BOX_KINDS",
    "ApiKey",
    "Archive",
    "ArchiveStatus",
    "AssignmentStatus",
    "Channel",
    "ChannelAssignment",
    "ChannelJoinMarker",
    "ChannelStatus",
    "Chat",
    "ChatKind",
    "DeliveryStatus",
    "Event",
    "InstanceSetup",
    "Invitation",
    "KnownPeer",
    "LoginFlow",
    "Message",
    "MessageEdit",
    "MessageStatus",
    "ProfileStatus",
    "ProxyPoolEntry",
    "RefreshToken",
    "SendBudgetUsage",
    "TelegramProfile",
    "UpdateState",
    "User",
    "UserRole",
    "Webhook",
    "WebhookAttempt",
    "WebhookDelivery",
    "WebhookStatus",
]
