"""Message entities (Telegram's formatting: bold, links, mentions...) as plain JSON, and the opt-in parse modes.

The JSON shape is Telegram's `MessageEntity` with its type in snake case and its fields as they are:
`{"type": "bold", "offset": 0, "length": 4}`, `{"type": "text_url", "offset": 5, "length": 4, "url": "..."}`,
`{"type": "mention_name", ..., "user_id": 42}`, `{"type": "pre", ..., "language": "python"}`. Offsets and lengths
count UTF-16 code units, as Telegram does. Text is sent verbatim unless the caller asks for a parse mode
(Telethon's own default would read `__init__.py` as italics).
"""

from __future__ import annotations

import inspect
import re
from datetime import datetime
from typing import Annotated, Any, Literal

import msgspec
from telethon import TelegramClient, types
from telethon.extensions import html, markdown

from app.lib.errors import ValidationFailed

ParseMode = Literal["markdown", "html"]
_PREFIX = "MessageEntity"


def _snake(name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


# Every entity class of the pinned layer, by its JSON type name ("text_url" -> MessageEntityTextUrl).
_CLASSES: dict[str, type[Any]] = {
    _snake(name.removeprefix(_PREFIX)): cls
    for name, cls in vars(types).items()
    if name.startswith(_PREFIX) and isinstance(cls, type)
}
# What a caller may send: formatting and mentions, not the types only Telegram itself produces.
_SENDABLE = frozenset(_CLASSES) - {"unknown", "diff_insert", "diff_replace", "diff_delete", "formatted_date"}


# An entity lies within a text of at most 4096 characters, each at most two UTF-16 units.
MAX_UTF16_OFFSET = 2 * 4096


class EntityIn(msgspec.Struct, forbid_unknown_fields=True):
    """One formatting entity of a message to send (the JSON shape above)."""

    type: Annotated[str, msgspec.Meta(min_length=1, max_length=32)]  # one of the sendable types (checked later)
    offset: Annotated[int, msgspec.Meta(ge=0, le=MAX_UTF16_OFFSET)]
    length: Annotated[int, msgspec.Meta(ge=1, le=MAX_UTF16_OFFSET)]
    url: Annotated[str, msgspec.Meta(min_length=1, max_length=2048)] | None = None
    language: Annotated[str, msgspec.Meta(max_length=64)] | None = None
    user_id: Annotated[int, msgspec.Meta(ge=1, le=2**63 - 1)] | None = None
    document_id: Annotated[int, msgspec.Meta(ge=1, le=2**63 - 1)] | None = None
    collapsed: bool | None = None


def utf16_length(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def entity_json(entity: Any) -> dict[str, Any]:
    """A Telethon entity as the JSON shape (fields Telegram left empty are omitted)."""
    name = type(entity).__name__.removeprefix("Input").removeprefix(_PREFIX)
    data: dict[str, Any] = {"type": _snake(name), "offset": entity.offset, "length": entity.length}
    for key, value in entity.to_dict().items():
        if key in ("_", "offset", "length") or value is None or value is False:
            continue
        if isinstance(value, datetime):
            value = value.isoformat()
        elif isinstance(value, dict):  # an InputUser of an outgoing mention
            value = value.get("user_id")
        data[key] = value
    return data


def entities_json(entities: list[Any] | None) -> list[dict[str, Any]] | None:
    return [entity_json(e) for e in entities] if entities else None


def format_text(
    text: str, parse_mode: ParseMode | None, entities: list[EntityIn] | None
) -> tuple[str, list[dict[str, Any]] | None]:
    """The text Telegram will store and its entities: verbatim, parsed by `parse_mode`, or with `entities`."""
    if entities is not None and parse_mode is not None:
        raise ValidationFailed("give either parse_mode or entities, not both", details=[{"field": "entities"}])
    if parse_mode is not None:
        parser = markdown if parse_mode == "markdown" else html
        parsed, found = parser.parse(text)
        return parsed, entities_json([e for e in found if e.length]) or None
    if not entities:
        return text, None
    size = utf16_length(text)
    checked: list[dict[str, Any]] = []
    for index, entity in enumerate(entities):
        field = f"entities[{index}]"
        if entity.type not in _SENDABLE:
            raise ValidationFailed(f"{field}: unknown entity type {entity.type!r}", details=[{"field": field}])
        if entity.offset + entity.length > size:
            raise ValidationFailed(f"{field} reaches past the end of the text", details=[{"field": field}])
        extra = _fields_of(entity.type)
        data = {"type": entity.type, "offset": entity.offset, "length": entity.length}
        for key in ("url", "language", "user_id", "document_id", "collapsed"):
            value = getattr(entity, key)
            if value is not None and key not in extra:
                raise ValidationFailed(f"{field}: {entity.type} has no {key}", details=[{"field": field}])
            if value is not None:
                data[key] = value
        missing = [key for key in extra if key in ("url", "user_id", "document_id") and key not in data]
        if missing:
            raise ValidationFailed(f"{field}: {entity.type} needs {missing[0]}", details=[{"field": field}])
        checked.append(data)
    return text, checked


def _fields_of(kind: str) -> tuple[str, ...]:
    parameters = inspect.signature(_CLASSES[kind].__init__).parameters
    return tuple(name for name in parameters if name not in ("self", "offset", "length"))


async def to_telethon(client: TelegramClient, entities: list[dict[str, Any]] | None) -> list[Any]:
    """The JSON entities as TL objects to send; a mention needs the user's access hash (InputUser)."""
    result: list[Any] = []
    for data in entities or ():
        kind = data["type"]
        fields = {key: value for key, value in data.items() if key != "type"}
        if kind == "mention_name":
            user = await client.get_input_entity(int(fields["user_id"]))
            if not isinstance(user, types.InputPeerUser):
                raise ValidationFailed("a mention_name must name a user", details=[{"field": "entities"}])
            fields["user_id"] = types.InputUser(user.user_id, user.access_hash)
            result.append(types.InputMessageEntityMentionName(**fields))
        else:
            result.append(_CLASSES[kind](**fields))
    return result
