"""Session-layer behaviour: bare pong, containers, gzip, invokeAfterMsg, invokeWithoutUpdates, crash -> 400."""

from __future__ import annotations

import asyncio

import pytest
from telethon import errors, events, functions, types

from app.sandbox import SandboxDC
from app.sandbox.rpc import ROUTES, Route

from .test_messaging import collect


async def test_ping_gets_a_bare_pong(dc: SandboxDC, login_as, alice) -> None:
    client = await login_as(alice)
    pong = await client(functions.PingRequest(ping_id=424242))
    assert isinstance(pong, types.Pong)
    assert pong.ping_id == 424242
    pong = await client(functions.PingDelayDisconnectRequest(ping_id=7, disconnect_delay=75))
    assert pong.ping_id == 7


async def test_containers_gzip_and_ordered_requests(dc: SandboxDC, login_as, alice, bob) -> None:
    client = await login_as(alice)
    long_text = "x" * 3000  # large enough for Telethon to gzip the request, and for us to gzip the answer
    sent, history = await asyncio.gather(client.send_message("bob", long_text), client.get_messages("bob", limit=1))
    assert sent.message == long_text
    requests = [functions.messages.SendMessageRequest("bob", f"ordered {i}") for i in range(3)]
    await client(requests, ordered=True)  # wrapped in invokeAfterMsg by Telethon
    texts = [m.text for m in sorted(dc.control.user(bob).messages.values(), key=lambda m: m.id)]
    assert texts == [long_text, "ordered 0", "ordered 1", "ordered 2"]
    assert history is not None


async def test_invoke_without_updates_gets_no_pushes(dc: SandboxDC, make_client, alice, bob) -> None:
    quiet = make_client(dc.control.login_session(alice), receive_updates=False)
    await quiet.connect()
    assert (await quiet.get_me()).id == alice.id
    loud = make_client(dc.control.login_session(alice))
    await loud.connect()
    await loud.get_me()
    new = collect(loud, events.NewMessage())
    await dc.control.as_user(bob).send_message(alice, "only for listening sessions")
    assert (await asyncio.wait_for(new.get(), 5)).raw_text == "only for listening sessions"
    assert sum(1 for c in dc.connections() if not c.receive_updates) == 1


async def test_crashing_handler_answers_400_not_500(dc: SandboxDC, login_as, alice, monkeypatch) -> None:
    async def boom(ctx, request):
        raise ZeroDivisionError

    client = await login_as(alice)
    route = ROUTES[functions.updates.GetStateRequest.CONSTRUCTOR_ID]
    monkeypatch.setitem(ROUTES, functions.updates.GetStateRequest.CONSTRUCTOR_ID, Route(boom, True, route.name))
    with pytest.raises(errors.BadRequestError, match="FAKEDC_HANDLER_CRASHED_ZERODIVISIONERROR"):
        await client(functions.updates.GetStateRequest())


async def test_resend_code(dc: SandboxDC, make_client, bob) -> None:
    client = make_client()
    await client.connect()
    sent = await client.send_code_request("+15550002")
    again = await client(functions.auth.ResendCodeRequest("+15550002", sent.phone_code_hash))
    assert again.phone_code_hash == sent.phone_code_hash
    assert (await client.sign_in("+15550002", dc.control.last_code("15550002"))).id == bob.id
