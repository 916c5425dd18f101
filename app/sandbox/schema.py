"""The pinned layer's declared answer types, so every sandbox answer can be checked against its method's schema.

Telethon's generated classes carry the schema as CRC32s: a request's `SUBCLASS_OF_ID` is crc32 of its declared
result type ("messages.ChatInviteJoinResult", "Bool", "Vector<User>"), and every constructor's `SUBCLASS_OF_ID`
is crc32 of the type it builds. The type *names* are recovered from the constructors' generated docstrings
("Constructor for messages.Chats: ..."), which is what lets `Vector<T>` be checked element by element.
"""

from __future__ import annotations

import functools
import re
import struct
from zlib import crc32

from telethon.extensions import BinaryReader
from telethon.tl import TLObject, alltlobjects
from telethon.tl.tlobject import TLRequest

BOOL = "Bool"
_PRIMITIVE_VECTORS = {"Vector<long>": "<q", "Vector<int>": "<i"}
_CONSTRUCTOR_DOC = re.compile(r"Constructor for ([\w.]+):")


@functools.cache
def _type_names() -> dict[int, str]:
    """crc32 -> boxed type name, for every type of the layer, plus Bool, Vector<T> and the primitive vectors."""
    names = {crc32(BOOL.encode()): BOOL}
    for name in _PRIMITIVE_VECTORS:
        names[crc32(name.encode())] = name
    for cls in alltlobjects.tlobjects.values():
        if issubclass(cls, TLRequest):
            continue
        found = _CONSTRUCTOR_DOC.search(cls.__init__.__doc__ or "")
        if found is None:
            continue
        boxed = found.group(1)
        names[crc32(boxed.encode())] = boxed
        names[crc32(f"Vector<{boxed}>".encode())] = f"Vector<{boxed}>"
    return names


def declared_type(request: type[TLRequest] | TLRequest) -> str | None:
    """The method's declared result type, e.g. "messages.ChatInviteJoinResult"; None when it is not recognised."""
    return _type_names().get(request.SUBCLASS_OF_ID)


def _type_of(obj: object) -> str | None:
    if isinstance(obj, bool):
        return BOOL
    if isinstance(obj, TLObject):
        return _type_names().get(obj.SUBCLASS_OF_ID)
    return None


def mismatch(request: TLRequest, answer: TLObject | bytes) -> str | None:
    """Why `answer` is not of the request's declared type, or None when it is."""
    expected = declared_type(request)
    if expected is None:
        return f"{type(request).__name__} has no recognised declared type"
    if isinstance(answer, TLObject):
        if answer.SUBCLASS_OF_ID != request.SUBCLASS_OF_ID:
            return f"declared {expected}, answered {type(answer).__name__} ({_type_of(answer)})"
        return None
    if expected in _PRIMITIVE_VECTORS:
        return _check_primitive_vector(bytes(answer), _PRIMITIVE_VECTORS[expected], expected)
    try:
        parsed = BinaryReader(bytes(answer)).tgread_object()
    except Exception as exc:
        return f"declared {expected}, answered unparsable bytes ({exc!r})"
    if expected.startswith("Vector<"):
        if not isinstance(parsed, list):
            return f"declared {expected}, answered {type(parsed).__name__}"
        element = expected[len("Vector<") : -1]
        wrong = [type(item).__name__ for item in parsed if _type_of(item) != element]
        return f"declared {expected}, answered elements {wrong}" if wrong else None
    if _type_of(parsed) != expected:
        return f"declared {expected}, answered {type(parsed).__name__}"
    return None


def _check_primitive_vector(data: bytes, fmt: str, expected: str) -> str | None:
    size = struct.calcsize(fmt)
    if len(data) < 8 or struct.unpack("<I", data[:4])[0] != 0x1CB5C415:
        return f"declared {expected}, answered no vector"
    (count,) = struct.unpack("<i", data[4:8])
    if len(data) != 8 + count * size:
        return f"declared {expected}, answered {len(data)} bytes for {count} items"
    return None
