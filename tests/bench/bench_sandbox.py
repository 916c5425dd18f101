"""Sandbox benchmark: handshake latency and update fan-out throughput to 1, 10 and 100 Telethon clients.

Run with `.venv/bin/python -m tests.bench.bench_sandbox [--handshakes N]`. Prints figures only; no assertions.
Server and clients share one event loop (one process), so "received" includes Telethon's own update handling.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import logging
import statistics
import time

from telethon import TelegramClient, events
from telethon.crypto import rsa
from telethon.errors import SecurityError
from telethon.network import ConnectionTcpFull, MTProtoPlainSender, authenticator
from telethon.sessions import StringSession

from app.sandbox import SandboxDC

API_ID, API_HASH = 1, "0" * 32
LOGGERS = collections.defaultdict(lambda: logging.getLogger("bench"))
FAN_OUT = ((1, 400), (10, 200), (100, 40))  # (clients, posts)


async def handshake_once(port: int) -> float:
    connection = ConnectionTcpFull("127.0.0.1", port, 2, loggers=LOGGERS)
    await connection.connect(timeout=5)
    started = time.perf_counter()
    try:
        for _attempt in range(5):
            try:
                await authenticator.do_authentication(MTProtoPlainSender(connection, loggers=LOGGERS))
                return time.perf_counter() - started
            except (SecurityError, AssertionError):
                continue  # the 1-in-256 refused key; Telethon retries the same way
        raise RuntimeError("handshake kept failing")
    finally:
        await connection.disconnect()


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


async def bench_handshakes(dc: SandboxDC, count: int) -> None:
    timings = [await handshake_once(dc.port) for _ in range(count)]
    ms = [t * 1000 for t in timings]
    print(
        f"handshake  n={count}  mean={statistics.mean(ms):.1f} ms  p50={percentile(ms, 0.5):.1f} ms  "
        f"p99={percentile(ms, 0.99):.1f} ms  ({1000 / statistics.mean(ms):.1f} handshakes/s)"
    )


async def fan_out(dc: SandboxDC, clients_count: int, posts: int, round_no: int) -> tuple[float, float]:
    """Post `posts` messages to a channel with `clients_count` connected members; return (pushed/s, received/s)."""
    control = dc.control
    creator = control.create_user(f"4300{round_no:02d}0000", f"Creator{round_no}")
    channel = control.create_channel(f"Bench {round_no}", creator=creator, broadcast=True)
    received = [0]
    done = asyncio.Event()
    expected = clients_count * posts
    clients: list[TelegramClient] = []

    async def on_post(_event: events.NewMessage.Event) -> None:
        received[0] += 1
        if received[0] >= expected:
            done.set()

    for i in range(clients_count):
        member = control.create_user(f"43{round_no:02d}{i:05d}", f"Member{i}")
        control.add_member(channel, member)
        client = TelegramClient(StringSession(control.login_session(member)), API_ID, API_HASH)
        client.add_event_handler(on_post, events.NewMessage())
        clients.append(client)
    await asyncio.gather(*(c.connect() for c in clients))
    await asyncio.gather(*(c.get_me() for c in clients))  # a high-level call, as Telegram requires
    pushed_before = dc.hub.pushed

    started = time.perf_counter()
    for n in range(posts):
        await control.as_user(creator).post(channel, f"post {n}")
        if n % 20 == 19:
            await asyncio.sleep(0)  # let sockets drain, as a real producer would
    push_seconds = time.perf_counter() - started
    await asyncio.wait_for(done.wait(), 300)
    receive_seconds = time.perf_counter() - started
    pushed = dc.hub.pushed - pushed_before
    await asyncio.gather(*(c.disconnect() for c in clients))
    return pushed / push_seconds, received[0] / receive_seconds


async def main(handshakes: int) -> None:
    logging.basicConfig(level=logging.ERROR)
    dc = SandboxDC()
    await dc.start()
    rsa.add_key(dc.public_key_pem, old=False)
    try:
        await bench_handshakes(dc, handshakes)
        print("updates: channel posts fanned out to N connected Telethon clients (ratio vs 1 client)")
        print(f"{'clients':>8} {'posts':>6} {'pushed/s':>10} {'ratio':>6} {'received/s':>11} {'ratio':>6}")
        baseline: tuple[float, float] | None = None
        for round_no, (clients_count, posts) in enumerate(FAN_OUT, start=1):
            pushed, received = await fan_out(dc, clients_count, posts, round_no)
            baseline = baseline or (pushed, received)
            print(
                f"{clients_count:>8} {posts:>6} {pushed:>10.0f} {pushed / baseline[0]:>6.2f} "
                f"{received:>11.0f} {received / baseline[1]:>6.2f}"
            )
    finally:
        await dc.stop()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--handshakes", type=int, default=50)
    asyncio.run(main(parser.parse_args().handshakes))
