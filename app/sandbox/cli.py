"""`python -m app.sandbox` (and `python -m app sandbox`): run the sandbox DC standalone for demos and scripts."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import signal
import sys
from pathlib import Path

from .server import SandboxDC

DEFAULT_PORT = 4430


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m app.sandbox", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=DEFAULT_PORT, help=f"TCP port (default {DEFAULT_PORT}, 0 = any)")
    parser.add_argument(
        "--dcs",
        type=_dc_ids,
        default=(2,),
        metavar="IDS",
        help="data-centers to serve, e.g. 1,2 (default 2): the first on --port, the next on port+1, ...; "
        "accounts live on one (99966XYYYY on DC X) and the others answer PHONE_MIGRATE / USER_MIGRATE",
    )
    parser.add_argument("--state", type=Path, default=None, help="state file; omitted = in memory only")
    parser.add_argument(
        "--traffic-rate", type=float, default=0.0, metavar="SECONDS", help="generate demo traffic every N seconds"
    )
    parser.add_argument("--no-demo", action="store_true", help="do not seed demo contacts and channels")
    parser.add_argument("--read-only-state", action="store_true", help="load --state at start but never write it back")
    parser.add_argument(
        "--public-key", type=Path, default=None, help="also write the public key (PEM) here, e.g. without --state"
    )
    parser.add_argument("--log-level", default="WARNING", help="Python log level (default WARNING)")
    return parser


def _dc_ids(value: str) -> tuple[int, ...]:
    try:
        ids = tuple(int(part) for part in value.split(",") if part.strip())
    except ValueError:
        raise argparse.ArgumentTypeError("--dcs takes data-center ids 1-5, e.g. 1,2") from None
    if not ids or len(set(ids)) != len(ids) or not all(1 <= i <= 5 for i in ids):
        raise argparse.ArgumentTypeError("--dcs takes distinct data-center ids 1-5, e.g. 1,2")
    return ids


def write_public_key(state_path: Path, pem: str) -> Path:
    """Write `<state>.pub.pem` so any Telethon script can trust this sandbox."""
    pem_path = Path(f"{state_path}.pub.pem")
    pem_path.write_text(pem, encoding="utf-8")
    return pem_path


def _say(line: str) -> None:
    print(line, flush=True)


async def serve(args: argparse.Namespace) -> None:
    dc = SandboxDC(args.state, seed_demo=not args.no_demo, dc_ids=args.dcs)
    if args.read_only_state:
        dc.state_path = None  # loaded above; from here on everything stays in memory
    dc.control.code_listeners.append(lambda phone, code: _say(f"LOGIN CODE +{phone}: {code}"))
    await dc.start(args.host, args.port)
    if args.state is not None:
        pem_path = write_public_key(args.state, dc.public_key_pem)
        _say(f"public key written to {pem_path}")
    if args.public_key is not None:
        args.public_key.write_text(dc.public_key_pem, encoding="utf-8")
    if args.traffic_rate > 0:
        dc.start_demo_traffic(args.traffic_rate)
    if len(dc.listeners) > 1:
        listed = ",".join(f"{host}:{port}:{dc_id}" for dc_id, (host, port) in dc.listeners.items())
        _say(f"SANDBOX DCS {listed}  (the service's TELEGRAM_DC)")
    _say(f"SANDBOX READY {dc.host}:{dc.port}")
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(sig, stop.set)
    try:
        await stop.wait()
    finally:
        await dc.stop()
        _say("SANDBOX STOPPED")


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=args.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        asyncio.run(serve(args))
    except KeyboardInterrupt:
        pass
    except OSError as exc:
        print(f"sandbox failed to start: {exc}", file=sys.stderr)
        return 1
    return 0
