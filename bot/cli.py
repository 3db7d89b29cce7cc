"""`director-bot`: console | slack | discord | worker | migrate | sample-video."""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from bot.logging_setup import configure_logging
from bot.settings import Settings, SettingsError, load_settings
from bot.wiring import build_app


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="director-bot", description="A video agent for Slack and Discord.")
    commands = parser.add_subparsers(dest="command", required=True)

    console = commands.add_parser("console", help="chat with the bot in this terminal (no accounts needed)")
    console.add_argument("--channel", default="general", help="channel name (each has its own collection)")
    console.add_argument("--thread", default="console", help="thread name (each is one conversation)")

    slack = commands.add_parser("slack", help="run the Slack bot (Socket Mode, or --http)")
    slack.add_argument("--http", action="store_true", help="serve POST /slack/events on $PORT")

    discord = commands.add_parser("discord", help="run the Discord bot")
    discord.add_argument("--sync", action="store_true", help="sync the /director commands, then exit")
    discord.add_argument("--guild", type=int, default=None, help="sync to one server only (instant)")

    worker = commands.add_parser("worker", help="run turns from the PostgreSQL task queue (deployments)")
    worker.add_argument("--concurrency", type=int, default=None,
                        help="turns this worker runs at once (default MAX_CONCURRENT_TURNS)")

    commands.add_parser("migrate", help="apply database migrations")
    commands.add_parser("stats", help="print turns by status and the 👍/👎 feedback on answers")

    sample = commands.add_parser("sample-video", help="make a short spoken talk to try the bot with")
    sample.add_argument("path", type=Path)
    sample.add_argument("--text", default=None, help="what the talk says")
    return parser


async def _console(settings: Settings, channel: str, thread: str) -> int:
    from adapters.console import run_console
    from adapters.console.port import ConsolePort

    interactive = sys.stdin.isatty() and sys.stdout.isatty()
    app = await build_app(settings, role="console")
    app.register_port(ConsolePort(sys.stdout, interactive))
    await app.start()
    try:
        return await run_console(app.conversations, channel, thread, interactive=interactive)
    finally:
        await app.stop()


async def _migrate(settings: Settings) -> int:
    from core.storage.database import create_engine, migrate

    settings.director_data_dir.mkdir(parents=True, exist_ok=True)
    engine = create_engine(settings.resolved_database_url)
    await migrate(engine)
    await engine.dispose()
    sys.stdout.write("database is up to date\n")
    return 0


async def _stats(settings: Settings) -> int:
    from bot.stats import stats_line

    sys.stdout.write(await stats_line(settings) + "\n")
    return 0


async def _sample_video(path: Path, text: str | None) -> int:
    from core.video.local.sample import make_sample_talk

    made = await (make_sample_talk(path, text) if text else make_sample_talk(path))
    sys.stdout.write(f"wrote {made}\n")
    return 0


async def _slack(settings: Settings, http: bool) -> int:
    from bot.platforms import run_slack

    return await run_slack(settings, http=http)


async def _discord(settings: Settings, sync: bool, guild: int | None) -> int:
    from bot.platforms import run_discord

    return await run_discord(settings, sync=sync, guild_id=guild)


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    # The videodb SDK draws tqdm progress bars on stderr while it polls; progress is
    # shown in the chat message instead.
    os.environ.setdefault("TQDM_DISABLE", "1")
    try:
        settings = load_settings()
    except SettingsError as exc:
        sys.stderr.write(f"director-bot: {exc}\n")
        return 2
    if args.command == "console":
        # Keep the terminal for the conversation: full logs go to a file, warnings to stderr.
        configure_logging(settings.log_level, settings.director_data_dir / "director.log", "WARNING")
    else:
        configure_logging(settings.log_level)
    try:
        if args.command == "console":
            return asyncio.run(_console(settings, args.channel, args.thread))
        if args.command == "migrate":
            return asyncio.run(_migrate(settings))
        if args.command == "stats":
            return asyncio.run(_stats(settings))
        if args.command == "sample-video":
            return asyncio.run(_sample_video(args.path, args.text))
        if args.command == "slack":
            return asyncio.run(_slack(settings, args.http))
        if args.command == "discord":
            return asyncio.run(_discord(settings, args.sync, args.guild))
        if args.command == "worker":
            from bot.platforms import run_worker

            return asyncio.run(run_worker(settings, concurrency=args.concurrency))
    except SettingsError as exc:
        sys.stderr.write(f"director-bot: {exc}\n")
        return 2
    except KeyboardInterrupt:
        return 130
    return 2


if __name__ == "__main__":
    raise SystemExit(main())
