"""A message field is declared once (app.telegram.records.MessageContent); every other shape is derived from it."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import cast

from sqlalchemy import Table

from app.db.models import Message
from app.domain.channels.schemas import ChannelMessageOut
from app.domain.messages.rows import message_row
from app.domain.messages.schemas import StoredMessage
from app.domain.messages.store import message_event
from app.telegram.records import CONTENT_FIELDS, EDIT_FOLLOWERS, EDITABLE_FIELDS, EVENT_FIELDS, MessageInfo

COLUMNS = set(cast(Table, Message.__table__).columns.keys()) - {"sa_orm_sentinel"}  # advanced_alchemy's own


class _Chat:
    id = uuid.uuid4()
    owner_id = uuid.uuid4()
    profile_id = uuid.uuid4()
    peer_id = 42
    kind = "user"
    title = "Bob"
    username = "bob"
    last_message_at = None


def _record() -> MessageInfo:
    return MessageInfo(
        id=7,
        out=False,
        date=datetime.now(UTC),
        text="hello",
        sender_id=42,
        sender_name="B" * 300,
        media_type="photo",
        media={"id": 1},
        reply_to=3,
        entities=[{"type": "bold", "offset": 0, "length": 5}],
    )


def test_every_content_field_is_a_column_of_its_name_and_part_of_the_stored_message() -> None:
    assert set(CONTENT_FIELDS) <= COLUMNS
    assert set(CONTENT_FIELDS) <= set(StoredMessage.__struct_fields__)
    assert set(CONTENT_FIELDS) <= set(ChannelMessageOut.__struct_fields__)
    assert set(EDITABLE_FIELDS) <= set(CONTENT_FIELDS)
    assert set(EDITABLE_FIELDS) >= EDIT_FOLLOWERS
    assert set(EVENT_FIELDS) <= set(CONTENT_FIELDS)


def test_the_bulk_row_fills_every_column_from_the_record() -> None:
    record = _record()
    row = message_row(_Chat(), record)
    values = row.insert_values(datetime.now(UTC))
    assert set(values) == COLUMNS
    for name in CONTENT_FIELDS:
        expected = record.sender_name[:255] if name == "sender_name" and record.sender_name else getattr(record, name)
        assert values[name] == expected, name
    assert (values["direction"], values["status"], values["telegram_message_id"]) == ("in", "received", 7)


def test_events_carry_the_event_fields_of_a_bulk_row_and_an_orm_row_alike() -> None:
    record = _record()
    row = message_row(_Chat(), record)
    orm = Message(**row.insert_values(datetime.now(UTC)))
    from_bulk, from_orm = message_event(_Chat(), row, origin="telegram"), message_event(_Chat(), orm, origin="telegram")
    assert from_bulk == from_orm
    assert list(from_bulk)[6 : 6 + len(EVENT_FIELDS)] == list(EVENT_FIELDS)
    assert from_bulk["date"] == record.date.isoformat()
    assert from_bulk["text"] == "hello"
    assert from_bulk["origin"] == "telegram"
