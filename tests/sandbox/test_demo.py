"""Demo mode: the CLI prints READY and writes the key; sandbox phones log in; the traffic generator is live."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

import pytest
from telethon import TelegramClient, errors, events, types
from telethon.crypto import rsa
from telethon.sessions import StringSession

from app.sandbox import SandboxDC

from .conftest import API_HASH, API_ID
from .test_messaging import collect


async def test_cli_runs_standalone_and_accepts_a_sandbox_phone(tmp_path: Path) -> None:
    state = tmp_path / "demo.json"
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "app.sandbox", "--port", "0", "--state", str(state),
        stdout=asyncio.subprocess.PIPE,
    )  # fmt: skip
    try:
        assert proc.stdout is not None
        lines: list[str] = []
        while not lines or not lines[-1].startswith("SANDBOX READY"):
            lines.append((await asyncio.wait_for(proc.stdout.readline(), 20)).decode().strip())
        host, port = lines[-1].split()[-1].rsplit(":", 1)
        rsa.add_key(await asyncio.to_thread(Path(f"{state}.pub.pem").read_text), old=False)

        client = TelegramClient(StringSession(), API_ID, API_HASH)
        client.session.set_dc(2, host, int(port))
        await client.connect()
        await client.send_code_request("+9996611234")
        printed = (await asyncio.wait_for(proc.stdout.readline(), 5)).decode()
        assert printed.strip() == "LOGIN CODE +9996611234: 11111"
        me = await client.sign_in("+9996611234", "11111")
        assert me.phone == "9996611234"
        dialogs = {d.name: d for d in await client.get_dialogs()}
        assert {"Sandbox News", "Sandbox Lounge", "Ada Demo", "Sandbox Team"} <= set(dialogs)
        team = dialogs["Sandbox Team"]
        assert team.is_group
        assert not team.is_channel
        history = await client.get_messages(team.entity, limit=5)
        assert history[0].message == "Welcome to the team! This is a basic group."
        assert isinstance(history[-1].action, types.MessageActionChatCreate)
        await client.disconnect()
    finally:
        proc.terminate()
        await asyncio.wait_for(proc.wait(), 10)
    assert state.exists()


async def test_traffic_generator_posts_edits_and_writes(dc: SandboxDC, login_as, alice) -> None:
    traffic = dc.start_demo_traffic(interval=3600)  # driven by hand below, not by the timer
    news = dc.control.channel("sandbox_news")
    dc.control.add_member(news, alice)
    client = await login_as(alice)
    await client.get_dialogs()
    new = collect(client, events.NewMessage())
    edited = collect(client, events.MessageEdited())
    for _ in range(3):
        traffic.tick()
    texts = {(await asyncio.wait_for(new.get(), 5)).raw_text for _ in range(6)}
    assert {"Sandbox news #1", "Ping #1 from Linus", "Ping #2 from Ada"} <= texts
    assert (await asyncio.wait_for(edited.get(), 5)).raw_text == "Sandbox news #3 (edited)"
    assert traffic.stats.posts == 3
    assert traffic.stats.edits == 1
    assert traffic.stats.private_messages == 3
    await traffic.stop()


async def test_cli_serves_two_dcs_and_the_demo_2fa_number(tmp_path: Path) -> None:
    from .test_data_centers import WatchedClient

    key = tmp_path / "sandbox.pub.pem"
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "app.sandbox", "--port", "0", "--dcs", "1,2", "--public-key", str(key),
        stdout=asyncio.subprocess.PIPE,
    )  # fmt: skip
    try:
        assert proc.stdout is not None
        lines: list[str] = []
        while not lines or not lines[-1].startswith("SANDBOX READY"):
            lines.append((await asyncio.wait_for(proc.stdout.readline(), 20)).decode().strip())
        listed = next(line for line in lines if line.startswith("SANDBOX DCS")).split()[2]
        dcs = {int(i): (h, int(p)) for h, p, i in (entry.split(":") for entry in listed.split(","))}
        assert set(dcs) == {1, 2}
        assert lines[-1] == f"SANDBOX READY {dcs[1][0]}:{dcs[1][1]}"
        rsa.add_key(await asyncio.to_thread(key.read_text), old=False)

        WatchedClient._config = None
        client = WatchedClient(StringSession(), API_ID, API_HASH, receive_updates=False)
        client.session.set_dc(1, *dcs[1])
        await client.connect()
        sent = await client.send_code_request("+9996629999")  # the README's 2FA number lives on DC 2
        assert client.moves == [2]
        assert (await asyncio.wait_for(proc.stdout.readline(), 5)).decode().strip() == "LOGIN CODE +9996629999: 22222"
        with pytest.raises(errors.SessionPasswordNeededError):
            await client.sign_in("+9996629999", "22222", phone_code_hash=sent.phone_code_hash)
        me = await client.sign_in(password="sandbox-2fa")
        assert me.phone == "9996629999"
        assert client.session.dc_id == 2
        await client.disconnect()
    finally:
        proc.terminate()
        await asyncio.wait_for(proc.wait(), 10)
    bad = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "app.sandbox", "--dcs", "2,2", stderr=asyncio.subprocess.PIPE
    )
    _, err = await bad.communicate()
    assert bad.returncode == 2
    assert b"distinct data-center ids" in err
