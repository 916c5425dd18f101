"""The control API for basic groups (`dc.control`): create them, add and remove members, rename, upgrade.

Every call goes through the same actions as the members' own RPCs (`group_actions.py`), so service messages,
pts and pushed updates are what a client would see if a member had done it in a Telegram app. Members post with
`dc.control.as_user(member).send_message(group, text)`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .state import BasicGroup, Channel, User

if TYPE_CHECKING:
    from .server import SandboxDC

GroupRef = BasicGroup | int


class GroupControl:
    """Mixed into `Control`; `user()` is Control's lookup (by object, id, phone or @username)."""

    dc: SandboxDC

    def user(self, ref: User | int | str) -> User:  # pragma: no cover - provided by Control
        raise NotImplementedError

    def group(self, ref: GroupRef) -> BasicGroup:
        """Find a basic group by object or id."""
        found = self.dc.state.groups.get(ref.id if isinstance(ref, BasicGroup) else ref)
        if found is None:
            raise KeyError(f"no sandbox basic group {ref!r}")
        return found

    def create_group(
        self, title: str, creator: User | int | str, members: list[User | int | str] | tuple[User | int | str, ...] = ()
    ) -> BasicGroup:
        """`creator` makes a basic group with `members` (messages.createChat): everyone gets "group created"."""
        owner = self.user(creator)
        result = self.dc.actions.create_group(owner, title, [self.user(m) for m in members])
        chat = next(c for c in result.updates.chats if not isinstance(c, Channel))
        return self.group(chat.id)

    def add_group_member(self, group: GroupRef, user: User | int | str, by: User | int | str | None = None) -> None:
        """`by` (the creator by default) adds `user` (messages.addChatUser)."""
        target = self.group(group)
        actor = self.user(by if by is not None else target.creator_id)
        self.dc.actions.add_group_member(actor, target, self.user(user))

    def remove_group_member(self, group: GroupRef, user: User | int | str, by: User | int | str | None = None) -> None:
        """`by` (the creator by default) removes `user` (messages.deleteChatUser); `by=user` is leaving."""
        target = self.group(group)
        actor = self.user(by if by is not None else target.creator_id)
        self.dc.actions.remove_group_member(actor, target, self.user(user))

    def edit_group_title(self, group: GroupRef, title: str, by: User | int | str | None = None) -> None:
        target = self.group(group)
        self.dc.actions.edit_group_title(self.user(by if by is not None else target.creator_id), target, title)

    def pin_group_message(self, group: GroupRef, msg_id: int, by: User | int | str) -> None:
        """`by` pins its copy `msg_id` (an id in `by`'s own box) for every member."""
        self.dc.actions.pin_group_message(self.user(by), self.group(group), msg_id)

    def migrate_group(self, group: GroupRef) -> Channel:
        """The creator upgrades the group to a supergroup (messages.migrateChat); returns the new channel."""
        target = self.group(group)
        self.dc.actions.migrate_group(self.user(target.creator_id), target)
        return self.dc.state.channels[target.migrated_to]
