"""The control API for media (`dc.control`): a user sends a photo or a document, the DC rotates file references.

Sends go through the same actions as a user's own messages.sendMedia, so every recipient gets the message with its
Photo or Document (and its own access hash and file reference) as a pushed update.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import TYPE_CHECKING, Any

from telethon.tl import TLObject, types

from .files import StoredFile
from .images import image_info
from .media import check_caption
from .state import BasicGroup, Channel, User, now, random_long

if TYPE_CHECKING:
    from .server import SandboxDC


class MediaControl:
    """Mixed into `Control`; `user()` and `peer()` are Control's lookups."""

    dc: SandboxDC

    def user(self, ref: User | int | str) -> User:  # pragma: no cover - provided by Control
        raise NotImplementedError

    def peer(self, ref: Any) -> User | Channel | BasicGroup:  # pragma: no cover - provided by Control
        raise NotImplementedError

    def expire_file_references(self) -> None:
        """Every file reference handed out so far answers FILE_REFERENCE_EXPIRED from now on."""
        self.dc.state.file_epoch += 1
        self.dc.mark_dirty()

    def send_photo(self, sender: User | int | str, peer: object, data: bytes, caption: str = "") -> int:
        """`sender` sends an image (PNG, JPEG or GIF) as a photo; returns the sender's message id."""
        found = image_info(data[: 64 * 1024])
        if found is None:
            raise ValueError("not an image the sandbox can read (PNG, JPEG or GIF)")
        mime, w, h = found
        return self._send(sender, peer, caption, self._store("photo", mime, data, w=w, h=h))

    def send_document(
        self,
        sender: User | int | str,
        peer: object,
        data: bytes | Path,
        *,
        mime_type: str,
        file_name: str,
        attributes: list[TLObject] | None = None,
        caption: str = "",
    ) -> int:
        """`sender` sends a document (`data`: its bytes, or a file to copy); voice: DocumentAttributeAudio(voice=True),
        video: DocumentAttributeVideo."""
        every = [types.DocumentAttributeFilename(file_name), *(attributes or [])]
        stored = self._store("document", mime_type, data, attributes=[bytes(a) for a in every])
        return self._send(sender, peer, caption, stored)

    def _store(self, kind: str, mime: str, data: bytes | Path, **details: object) -> StoredFile:
        stored = StoredFile(
            id=random_long(),
            access_hash=random_long(),
            kind=kind,
            mime_type=mime,
            size=data.stat().st_size if isinstance(data, Path) else len(data),
            date=now(),
            dc_id=self.dc.files.dc_id,
            **details,  # type: ignore[arg-type]
        )
        if isinstance(data, Path):  # a large file: copied, never read whole
            shutil.copyfile(data, self.dc.files.path(stored.id))
        else:
            self.dc.files.write(stored.id, data)
        self.dc.state.files[stored.id] = stored
        return stored

    def _send(self, sender_ref: User | int | str, peer: object, caption: str, stored: StoredFile) -> int:
        check_caption(caption)
        sender, target, actions = self.user(sender_ref), self.peer(peer), self.dc.actions
        if isinstance(target, BasicGroup):
            return actions.post_group(sender, target, caption, media_id=stored.id)[0]
        if isinstance(target, Channel):
            return actions.post(sender, target, caption, media_id=stored.id)[0]
        return actions.send_private(sender, target, caption, media_id=stored.id)[0]
