"""Issue 25 benchmark: SQLAlchemy's aiosqlite adapter (four thread hops per statement) against app.db.sqlite_driver
(one), on the same SQLite file in the same process, alternating, three rounds.

Workloads, each run by 16 concurrent tasks for SECONDS: a request's read (a session, `SELECT` a user by primary
key, end the transaction) and a request's small write (`INSERT` one row, `COMMIT`; SQLite takes them in turn).
The figure is operations per second; the ratio is the one-hop driver's to the stock adapter's in the same round.

`.venv/bin/python -m tests.bench.bench_sqlite_driver`
"""

from __future__ import annotations

import asyncio
import statistics
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from app.db.engine import create_sessionmaker, engine_kwargs, prepare_engine
from app.db.migrations import upgrade
from app.db.models import User
from tests.conftest import make_settings

SECONDS = 3.0
ROUNDS = 3
TASKS = 16


async def throughput(work: Callable[[], Awaitable[None]]) -> float:
    done = 0
    deadline = time.perf_counter() + SECONDS

    async def worker() -> None:
        nonlocal done
        while time.perf_counter() < deadline:
            await work()
            done += 1

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(TASKS)))
    return done / (time.perf_counter() - started)


async def measure(engine: AsyncEngine, user_id: uuid.UUID) -> dict[str, float]:
    sessionmaker = create_sessionmaker(engine)

    async def read() -> None:
        async with sessionmaker() as session:
            user = await session.get(User, user_id)
            assert user is not None
            await session.commit()

    async def write() -> None:
        async with engine.begin() as connection:
            await connection.execute(text("INSERT INTO bench_rows (label) VALUES (:label)"), {"label": "x"})

    return {"read": await throughput(read), "write": await throughput(write)}


async def main() -> None:
    folder = Path(tempfile.mkdtemp(prefix="bench-sqlite-driver-"))
    settings = make_settings(folder)
    await asyncio.to_thread(upgrade, settings)
    kwargs = engine_kwargs(settings)
    one_hop = prepare_engine(create_async_engine(settings.database_url, **kwargs))
    stock = prepare_engine(
        create_async_engine(settings.database_url, **{k: v for k, v in kwargs.items() if k != "module"})
    )
    async with one_hop.begin() as connection:
        await connection.execute(text("CREATE TABLE bench_rows (n INTEGER PRIMARY KEY, label TEXT)"))
    async with create_sessionmaker(one_hop).begin() as session:
        user = User(email="bench@example.com", password_hash="-")
        session.add(user)
        await session.flush()
        user_id = user.id
    ratios: dict[str, list[float]] = {"read": [], "write": []}
    print(f"{TASKS} concurrent tasks, {SECONDS:.0f} s per workload, {ROUNDS} rounds, one SQLite file (WAL)")
    for round_ in range(ROUNDS):
        base = await measure(stock, user_id)
        ours = await measure(one_hop, user_id)
        for name in ratios:
            ratios[name].append(ours[name] / base[name])
        print(
            f"  round {round_ + 1}: read {base['read']:6.0f} -> {ours['read']:6.0f} /s, "
            f"write {base['write']:6.0f} -> {ours['write']:6.0f} /s"
        )
    for name, values in ratios.items():
        print(f"{name}: one-hop driver / stock aiosqlite adapter, median ratio {statistics.median(values):.2f}")
    await one_hop.dispose()
    await stock.dispose()


if __name__ == "__main__":
    asyncio.run(main())
