"""Re-encrypting every secret at rest under the newest encryption key (`python -m app keys rotate`)."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.db.base import Base
from app.db.models import Archive, LoginFlow, TelegramProfile, Webhook
from app.lib.crypto import SecretBox
from app.lib.logging import log_event

ENCRYPTED_COLUMNS: dict[type[Base], tuple[str, ...]] = {
    TelegramProfile: ("session_encrypted", "api_hash_encrypted", "proxy_encrypted"),  # proxy: nullable
    LoginFlow: ("session_encrypted", "api_hash_encrypted", "phone_code_hash_encrypted", "proxy_encrypted"),
    Webhook: ("secret_encrypted",),
    Archive: ("target_secret_encrypted",),  # nullable: local targets and S3 without keys have none
}
BATCH = 500


async def reencrypt_all(sessionmaker: async_sessionmaker[AsyncSession], box: SecretBox) -> dict[str, int]:
    """Rotate every encrypted column to the first key, one committed batch at a time; returns rows per table."""
    counts: dict[str, int] = {}
    for model, columns in ENCRYPTED_COLUMNS.items():
        done, last_id = 0, None
        while True:
            async with sessionmaker.begin() as session:
                query = select(model).order_by(model.id).limit(BATCH)
                if last_id is not None:
                    query = query.where(model.id > last_id)
                rows = list(await session.scalars(query))
                for row in rows:
                    for column in columns:
                        value = getattr(row, column)
                        if value is not None:
                            setattr(row, column, box.rotate(value))
            done += len(rows)
            if len(rows) < BATCH:
                break
            last_id = rows[-1].id
        counts[str(model.__tablename__)] = done
    log_event("info", "system", "keys.rotated", "secrets re-encrypted under the newest key", context=counts)
    return counts
