"""`python -m app worker`: the Telegram runtime, ingest, webhook dispatch and scheduled jobs, without HTTP."""

from __future__ import annotations

import asyncio
import signal

from app.config import Settings
from app.lib.logging import log_event
from app.server.app import create_app


async def run_worker(settings: Settings) -> None:
    """Run the application's background work until SIGTERM/SIGINT, then hand profiles over cleanly."""
    app = create_app(settings, role="worker")
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    async with app.lifespan():
        runtime = app.state.ctx.telegram.runtime
        log_event("info", "worker", "worker.started", "worker started", context={"instance": runtime.instance_id})
        print(f"WORKER READY {runtime.instance_id}", flush=True)
        await stop.wait()
        log_event("info", "worker", "worker.stopping", "worker stopping; handing profiles over")
