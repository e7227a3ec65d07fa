"""Webhook mode: Telegram POSTs each update; it is stored before the 200 that confirms it.

Behind a reverse proxy that terminates TLS, on `FEEDBACK_WEBHOOK_LISTEN`. A request without
the secret given to setWebhook is refused with 403 and never read further, so nobody who
merely finds the URL can feed the bot updates. `GET /healthz` says whether the database
answers, for the proxy's or the orchestrator's health checks.
"""

from __future__ import annotations

import hmac
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Protocol

from aiohttp import web
from telegram import Bot, Update

from handlers.intake import Intake

logger = logging.getLogger(__name__)

SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"  # noqa: S105 - a header name, not a secret
# Telegram's updates are small; a photo's caption with its entities stays far below this.
MAX_BODY = 1024 * 1024


class ListenError(Exception):
    """An address cannot be listened on (taken, or not this machine's)."""

    def __init__(self, address: str, reason: str, setting: str = "WEBHOOK_LISTEN") -> None:
        super().__init__(f"cannot listen on {address}: {reason}")
        self.address = address
        self.reason = reason
        self.setting = setting
        """The setting (without its prefix) that named the address."""


@dataclass(frozen=True, slots=True)
class WebhookConfig:
    """Where Telegram sends updates and where this process listens for them."""

    url: str
    secret: str
    path: str
    host: str
    port: int


class WebhookReceiver:
    """The aiohttp application that takes Telegram's POSTs and answers health checks."""

    def __init__(
        self,
        bot: Bot,
        intake: Intake,
        config: WebhookConfig,
        database_answers: Callable[[], Awaitable[bool]],
        routes: Sequence[Routes] = (),
    ) -> None:
        self._bot = bot
        self._intake = intake
        self._config = config
        self._database_answers = database_answers
        self._routes = routes
        self._stopping = False
        self._runner: web.AppRunner | None = None

    def app(self) -> web.Application:
        """The routes: the webhook's path, /healthz, the intake API and the console."""
        app = web.Application(client_max_size=MAX_BODY)
        app.router.add_post(self._config.path, self._receive)
        app.router.add_get("/healthz", health_check(self._database_answers))
        for routes in self._routes:
            routes.add_routes(app)
        return app

    async def start(self) -> None:
        """Listen, then replay what a restart left unhandled."""
        await self._intake.replay()
        self._runner = await listen(self.app(), self._config.host, self._config.port)
        logger.info("listening for Telegram on %s:%d", self._config.host, self._config.port)

    async def stop(self) -> None:
        """Refuse new updates (Telegram keeps them and retries), then close the listener."""
        self._stopping = True
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def _receive(self, request: web.Request) -> web.Response:
        given = request.headers.get(SECRET_HEADER, "")
        if not hmac.compare_digest(given.encode(), self._config.secret.encode()):
            logger.warning("a webhook request without the right secret was refused")
            return web.Response(status=403)
        if self._stopping:
            return web.Response(status=503)  # Telegram sends it again later
        try:
            body = await request.json()
            update = Update.de_json(body, self._bot)
        except (ValueError, TypeError, KeyError):
            logger.warning("a webhook request that is not an update was refused")
            return web.Response(status=400)
        if update is None:
            return web.Response(status=400)
        try:
            kept = await self._intake.store([update])
        except Exception:  # the database: Telegram will send it again
            logger.exception("could not store an update; Telegram will retry")
            return web.Response(status=500)
        await self._intake.handle(kept)
        return web.Response(status=200)


async def listen(
    app: web.Application, host: str, port: int, setting: str = "WEBHOOK_LISTEN"
) -> web.AppRunner:
    """Serve `app` on host:port; `ListenError`, naming `setting`, if the address is not ours."""
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    try:
        await web.TCPSite(runner, host, port).start()
    except OSError as exc:
        await runner.cleanup()
        raise ListenError(f"{host}:{port}", exc.strerror or type(exc).__name__, setting) from exc
    return runner


def health_check(
    database_answers: Callable[[], Awaitable[bool]],
) -> Callable[[web.Request], Awaitable[web.Response]]:
    """`GET /healthz`: 200 while the database answers, else 503."""

    async def health(_: web.Request) -> web.Response:
        healthy = await database_answers()
        return web.json_response(
            {"status": "ok" if healthy else "database unavailable"},
            status=200 if healthy else 503,
        )

    return health


class Routes(Protocol):
    """Paths served beside the webhook or on `FEEDBACK_HTTP_LISTEN` (the API, the console)."""

    def add_routes(self, app: web.Application) -> None:
        """Add them to `app`."""
        ...


class ApiListener:
    """Long polling's HTTP server on `FEEDBACK_HTTP_LISTEN`: /healthz and the routes."""

    def __init__(
        self,
        routes: Sequence[Routes],
        host: str,
        port: int,
        database_answers: Callable[[], Awaitable[bool]],
    ) -> None:
        self._routes = routes
        self._host = host
        self._port = port
        self._database_answers = database_answers
        self._runner: web.AppRunner | None = None

    async def start(self) -> None:
        """Listen; `ListenError` if the address cannot be had."""
        app = web.Application()
        app.router.add_get("/healthz", health_check(self._database_answers))
        for routes in self._routes:
            routes.add_routes(app)
        self._runner = await listen(app, self._host, self._port, "HTTP_LISTEN")
        logger.info("serving HTTP on %s:%d", self._host, self._port)

    async def stop(self) -> None:
        """Close the listener."""
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
