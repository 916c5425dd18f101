"""`python -m app <role>`: chooses what this process does; the logic lives elsewhere."""

from __future__ import annotations

import argparse
import asyncio
import getpass
import importlib
import os
import sys
from pathlib import Path

from app.config import SettingsError, load_settings


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m app", description="Telegram Multi-Profile API")
    roles = parser.add_subparsers(dest="role", required=True)
    for role, text in (
        ("serve", "embedded default: API + Telegram runtime + dispatcher in one process"),
        ("api", "HTTP and WebSocket only (production, with REDIS_URL)"),
    ):
        sub = roles.add_parser(role, help=text)
        sub.add_argument("--host", default=None)
        sub.add_argument("--port", type=int, default=None)
    roles.add_parser("worker", help="Telegram runtime, ingest, webhook dispatch and jobs, no HTTP (with REDIS_URL)")
    roles.add_parser("migrate", help="apply database migrations and, with CLICKHOUSE_DSN, the log tables")
    revision = roles.add_parser("makemigration", help="autogenerate a migration (developers)")
    revision.add_argument("slug")
    roles.add_parser("sandbox", help="run the offline Telegram sandbox DC", add_help=False)
    keys = roles.add_parser("keys", help="encryption keys")
    keys.add_argument("action", choices=["generate", "rotate"])
    keys.add_argument("--env", action="store_true", help="generate: print ready `.env` lines for docker compose")
    keys.add_argument("--sandbox", action="store_true", help="with --env: also the lines of the compose sandbox")
    users = roles.add_parser("users", help="application users")
    users.add_argument("action", choices=["create-admin"])
    users.add_argument("--email", required=True)
    return parser


def _serve(host: str | None, port: int | None, *, api_only: bool = False) -> int:
    from app.server.serve import serve

    settings = load_settings()
    if api_only and not settings.redis_url:
        raise SettingsError("REDIS_URL is required for the api role (workers and API processes talk through Redis)")
    return serve(settings, host or settings.host, settings.port if port is None else port, api_only=api_only)


def _apply_log_schema(dsn: str, retention_days: int) -> None:
    from app.lib.clickhouse import apply_schema, make_client

    client = make_client(dsn)
    try:
        tables = apply_schema(client, retention_days)
    finally:
        client.close()
    print(f"log tables are up to date: {', '.join(tables)}")


async def _rotate_keys() -> int:
    """Embedded default: add a key to DATA_DIR/secrets.json; with ENCRYPTION_KEYS: use its first key."""
    from app.config_sources import prepend_embedded_key, read_dotenv
    from app.domain.system.keys import reencrypt_all
    from app.lib.crypto import generate_key
    from app.server.app import build_context

    settings = load_settings()
    configured = os.environ.get("ENCRYPTION_KEYS") or read_dotenv(Path(".env")).get("ENCRYPTION_KEYS")
    if not configured:
        prepend_embedded_key(settings.data_dir, generate_key())
        settings = load_settings()
        print(f"added a new encryption key to {settings.data_dir / 'secrets.json'}")
    ctx = build_context(settings)
    try:
        counts = await reencrypt_all(ctx.sessionmaker, ctx.secret_box)
    finally:
        await ctx.engine.dispose()
    print("re-encrypted: " + ", ".join(f"{table} {count}" for table, count in counts.items()))
    if configured:
        print("every secret now uses the first key of ENCRYPTION_KEYS; older keys may be removed")
    return 0


async def _create_admin(email: str, password: str) -> None:
    from app.domain.accounts.services import create_admin
    from app.server.app import build_context

    ctx = build_context(load_settings())
    try:
        async with ctx.sessionmaker.begin() as session:
            user = await create_admin(session, ctx.hasher, ctx.token_policy, email, password)
        print(f"admin {user.email} ({user.id}) ready")
    finally:
        await ctx.engine.dispose()


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["sandbox"]:
        from app.sandbox.cli import main as sandbox_main

        return sandbox_main(argv[1:])
    args = _parser().parse_args(argv)
    if args.role in {"serve", "api", "worker"}:
        from app.lib.heap import freeze_startup_heap

        importlib.import_module("app.server.app")  # every module the service runs, before freezing
        freeze_startup_heap()
    try:
        if args.role in {"serve", "api"}:
            return _serve(args.host, args.port, api_only=args.role == "api")
        if args.role == "worker":
            from app.server.worker import run_worker

            settings = load_settings()
            if not settings.redis_url:
                raise SettingsError("REDIS_URL is required for the worker role; use `serve` for a single process")
            asyncio.run(run_worker(settings))
            return 0
        if args.role == "migrate":
            from app.db.migrations import upgrade
            from app.server.preflight import default_password_warnings

            settings = load_settings()
            upgrade(settings)
            print("database is up to date")
            for warning in default_password_warnings(settings):
                print(f"warning: {warning}", file=sys.stderr)
            if settings.clickhouse_dsn:
                _apply_log_schema(settings.clickhouse_dsn, settings.log_retention_days)
            return 0
        if args.role == "makemigration":
            from app.db.migrations import revision

            revision(load_settings(), args.slug)
            return 0
        if args.role == "keys":
            from app.lib.crypto import generate_key

            if args.action == "generate":
                if args.env:
                    from app.server.preflight import compose_env_lines

                    print("\n".join(compose_env_lines(sandbox=args.sandbox)))
                else:
                    print(generate_key())
                return 0
            return asyncio.run(_rotate_keys())
        if args.role == "users":
            password = os.environ.get("ADMIN_PASSWORD") or getpass.getpass("password: ")
            asyncio.run(_create_admin(args.email, password))
            return 0
    except SettingsError as exc:
        print(f"configuration error: {exc}", file=sys.stderr)
        return 2
    return 1


if __name__ == "__main__":
    raise SystemExit(main())
