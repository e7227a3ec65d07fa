"""Starting `feedback-bot run` against the local fake Bot API, for the process benchmarks."""

from __future__ import annotations

import asyncio
import os
import shutil
import socket
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from tests.fake_telegram import FakeTelegram


def feedback_bot() -> str:
    """The installed console command next to this interpreter."""
    found = Path(sys.executable).parent / "feedback-bot"
    return str(found) if found.exists() else (shutil.which("feedback-bot") or "feedback-bot")


def bot_environment(telegram: FakeTelegram, db: Path | str, **settings: str) -> dict[str, str]:
    """This process's environment without FEEDBACK_* settings, then the bot's own."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("FEEDBACK_")}
    env |= {
        "FEEDBACK_BOT_TOKEN": telegram.token,
        "FEEDBACK_API_URL": telegram.api_url,
        "FEEDBACK_DB": str(db),
    }
    return env | {f"FEEDBACK_{name.upper()}": value for name, value in settings.items()}


async def start_bot(
    telegram: FakeTelegram, db: Path | str, log: Path, **settings: str
) -> asyncio.subprocess.Process:
    """`feedback-bot run` against the fake server, its output appended to `log`."""
    with log.open("ab") as out:
        return await asyncio.create_subprocess_exec(
            feedback_bot(),
            "run",
            env=bot_environment(telegram, db, **settings),
            cwd=log.parent,
            stdout=out,
            stderr=out,
        )


async def stop(process: asyncio.subprocess.Process) -> None:
    """SIGTERM, as a service manager stops it (SIGKILL if it is not gone in 30 s)."""
    process.terminate()
    try:
        await asyncio.wait_for(process.wait(), 30)
    except TimeoutError:
        process.kill()
        await process.wait()


@asynccontextmanager
async def new_postgresql_database(server: str, name: str) -> AsyncIterator[str]:
    """A new database `name` on the server of `server` (an address); dropped at the end."""
    import asyncpg  # noqa: PLC0415 - only the PostgreSQL benchmarks need it

    admin = await asyncpg.connect(server.replace("postgresql://", "postgres://", 1))
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
        try:
            yield f"{server.rsplit('/', 1)[0]}/{name}"
        finally:
            await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await admin.close()


def free_port() -> int:
    """A loopback port nobody listens on now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def peak_rss_mb(pid: int) -> float:
    """The process's peak resident memory so far (Linux's VmHWM), in MB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmHWM in /proc (not Linux?)")


def cpu_seconds(pid: int) -> float:
    """CPU time (user and system) the process has used so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
