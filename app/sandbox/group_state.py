"""The sandbox's basic groups (`Chat` in the TL schema): members, per-member message copies, migration.

Kept beside `state.py` (which stores them in `SandboxState.groups`); behaviour lives in `group_actions.py`.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field


def _now() -> int:
    return int(time.time())


@dataclass
class GroupMember:
    inviter_id: int
    joined: int = field(default_factory=_now)
    admin: bool = False


@dataclass
class BasicGroup:
    """A basic group (`Chat`): its messages live in each member's own message box, numbered by the account.

    `copies` maps a group-wide message number to each member's copy (user id -> that user's message id), so an
    edit, a deletion for everyone or a reply reaches every member's own copy. Members who left or were removed
    keep their copies (they see the group with `left` / as `chatForbidden`).
    """

    id: int
    title: str
    creator_id: int
    date: int = field(default_factory=_now)
    version: int = 1  # of the participant list: every add and removal bumps it
    members: dict[int, GroupMember] = field(default_factory=dict)
    left: list[int] = field(default_factory=list)  # left by themselves: they see the group with `left`
    kicked: list[int] = field(default_factory=list)  # removed by an admin: they see chatForbidden
    next_seq: int = 1
    copies: dict[int, dict[int, int]] = field(default_factory=dict)
    pinned: dict[int, int] = field(default_factory=dict)  # user id -> the pinned message's id in their box
    migrated_to: int = 0  # the supergroup (channel id) it was upgraded to; then it is deactivated
    read_inbox: dict[int, int] = field(default_factory=dict)  # user id -> read up to (their ids)
    read_outbox: dict[int, int] = field(default_factory=dict)  # user id -> others read theirs up to

    @property
    def deactivated(self) -> bool:
        return bool(self.migrated_to)

    def participant(self, user_id: int) -> bool:
        return user_id in self.members

    def known_to(self, user_id: int) -> bool:
        """Members, and those who left or were removed, know the group (and keep their copies)."""
        return user_id in self.members or user_id in self.left or user_id in self.kicked

    def allocate_seq(self) -> int:
        self.next_seq += 1
        return self.next_seq - 1
