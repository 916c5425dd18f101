"""An export line classifies media as the stored inbox does (app.telegram.records.media_of), from Telethon's types."""

from __future__ import annotations

from datetime import UTC, datetime

from telethon import types

from app.telegram.history import history_item
from app.telegram.records import MEDIA_FILE_KEYS, media_of, message_info

CHANNEL = types.InputPeerChannel(1234, 5678)


def _document(*attributes: types.TypeDocumentAttribute) -> types.MessageMediaDocument:
    document = types.Document(
        id=1,
        access_hash=2,
        file_reference=b"",
        date=datetime.now(UTC),
        mime_type="application/octet-stream",
        size=10,
        dc_id=2,
        attributes=list(attributes),
    )
    return types.MessageMediaDocument(document=document)


def _message(media: types.TypeMessageMedia | None) -> types.Message:
    return types.Message(
        id=7, peer_id=types.PeerChannel(1234), date=datetime.now(UTC), message="caption", media=media, views=3
    )


def test_export_lines_name_media_as_the_stored_inbox_does() -> None:
    sticker = _document(types.DocumentAttributeSticker(alt="x", stickerset=types.InputStickerSetEmpty()))
    voice = _document(types.DocumentAttributeAudio(duration=3, voice=True))
    live = types.MessageMediaGeoLive(geo=types.GeoPoint(long=1.0, lat=2.0, access_hash=0), period=60)
    for media, expected in ((sticker, "sticker"), (voice, "voice"), (live, "geo_live"), (_document(), "document")):
        message = _message(media)
        item = history_item(message, CHANNEL)
        assert item is not None
        # The one media shape of every path: the same dict as the stored inbox's `media`.
        assert item.record["media"] == message_info(message).media
        assert item.record["media"]["type"] == expected
        assert set(MEDIA_FILE_KEYS) <= set(item.record["media"])
        assert media_of(media)[0] == message_info(message).media_type == expected
        assert (item.record["text"], item.record["views"], item.record["channel_id"]) == ("caption", 3, 1234)


def test_export_lines_without_media_and_of_service_messages() -> None:
    plain = history_item(_message(None), CHANNEL)
    assert plain is not None
    assert plain.record["media"] is None
    assert plain.record["service_action"] is None
    service = types.MessageService(
        id=8, peer_id=types.PeerChannel(1234), date=datetime.now(UTC), action=types.MessageActionPinMessage()
    )
    line = history_item(service, CHANNEL)
    assert line is not None
    assert (line.record["media"], line.record["service_action"], line.record["text"]) == (
        None,
        "MessageActionPinMessage",
        "",
    )
    assert line.record["is_edited"] is False
