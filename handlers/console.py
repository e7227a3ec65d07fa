"""The staff console: a Mini App Telegram opens inside the chat, and its JSON API.

`/console/` serves the page (HTML, CSS and JavaScript shipped in the package: no CDN, no
request to the internet). Every call under `/console/api/` carries the launch data Telegram
gave the page (`Authorization: tma <initData>`), checked on every call: forged or expired,
401; a valid user who is not an admin, 403. No cookies. Every answer forbids being framed by
anything but Telegram's web clients and loading anything from anywhere but here.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import timedelta
from importlib import resources
from typing import Any, TypeVar

from aiohttp import web

from bot.domain.models import Summary
from bot.domain.periods import Period
from bot.domain.trend import Trend, TrendPeriod
from bot.services.staff import ReportService
from handlers.console_auth import ConsoleUser, Refusal, signed_in
from handlers.texts import Texts

logger = logging.getLogger(__name__)

CONSOLE_PATH = "/console/"
API_PATH = "/console/api"
# Telegram's web clients frame the page; nothing else may.
FRAME_ANCESTORS = "https://web.telegram.org https://*.telegram.org"
SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        f"connect-src 'self'; frame-ancestors {FRAME_ANCESTORS}; base-uri 'none'; "
        "form-action 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}
_PAGE_FILES = {
    "": ("index.html", "text/html"),
    "console.js": ("console.js", "application/javascript"),
    "console.css": ("console.css", "text/css"),
}

Handler = Callable[[web.Request, ConsoleUser], Awaitable[web.Response]]
_T = TypeVar("_T")


@dataclass(frozen=True, slots=True)
class ConsoleAccess:
    """Who may sign in, with which bot's key, for how long."""

    bot_token: str
    admins: frozenset[int]
    session: timedelta


class Console:
    """The console's routes, on whichever aiohttp application serves them."""

    def __init__(
        self,
        access: ConsoleAccess,
        reports: ReportService,
        texts: Texts,
        *,
        clinic_name: str | None,
        language: str,
    ) -> None:
        self._access = access
        self._reports = reports
        self._texts = texts
        self._clinic = clinic_name
        self._language = language
        self._page = {
            name: (resources.files("handlers.console_page").joinpath(file).read_bytes(), kind)
            for name, (file, kind) in _PAGE_FILES.items()
        }

    def add_routes(self, app: web.Application) -> None:
        """Serve the page and its API on `app`."""
        app.router.add_get("/console", _to_console)
        app.router.add_get(CONSOLE_PATH + "{file:(|console\\.js|console\\.css)}", self._file)
        app.router.add_get(f"{API_PATH}/me", self._signed(self._me))
        app.router.add_get(f"{API_PATH}/overview", self._signed(self._overview))
        app.router.add_get(f"{API_PATH}/trend", self._signed(self._trend))

    async def _file(self, request: web.Request) -> web.Response:
        body, kind = self._page[request.match_info["file"]]
        return web.Response(body=body, content_type=kind, headers=SECURITY_HEADERS)

    def _signed(self, handler: Handler) -> Callable[[web.Request], Awaitable[web.Response]]:
        async def checked(request: web.Request) -> web.Response:
            scheme, _, launch = request.headers.get("Authorization", "").partition(" ")
            found = signed_in(
                launch.strip() if scheme.lower() == "tma" else "",
                self._access.bot_token,
                now=self._reports.now(),
                lasts=self._access.session,
            )
            if isinstance(found, Refusal):
                # One line, never the launch data (it names the user).
                logger.warning("a console call was refused: %s sign-in", found.value)
                return _json({"error": found.value, "message": self._word("refused")}, 401)
            if found.id not in self._access.admins:
                logger.warning("a console call by someone not an admin was refused")
                return _json({"error": "not_admin", "message": self._word("not_admin")}, 403)
            try:
                return await handler(request, found)
            except _BadQueryError as error:
                return _json({"error": "bad_request", "message": str(error)}, 400)

        return checked

    async def _me(self, _: web.Request, user: ConsoleUser) -> web.Response:
        return _json(
            {
                "first_name": user.first_name,
                "clinic": self._texts.clinic(self._clinic),
                "language": self._language,
                "words": self._texts.console_page,
            }
        )

    async def _overview(self, request: web.Request, _: ConsoleUser) -> web.Response:
        period = _choice(request, "period", Period, Period.DAYS_30)
        return _json(_summary_figures(await self._reports.summary(period)))

    async def _trend(self, request: web.Request, _: ConsoleUser) -> web.Response:
        span = _choice(request, "span", TrendPeriod, TrendPeriod.WEEKS_12)
        return _json(_trend_figures(await self._reports.trend(span)))

    def _word(self, key: str) -> str:
        return self._texts.console_page[key]


class _BadQueryError(ValueError):
    """A query parameter the console's own page never sends."""


def _choice(request: web.Request, name: str, kind: Callable[[str], _T], default: _T) -> _T:
    given = request.query.get(name)
    if given is None:
        return default
    try:
        return kind(given)
    except ValueError:
        raise _BadQueryError(f"unknown {name} {given!r}") from None


def _summary_figures(summary: Summary) -> dict[str, Any]:
    """The same figures `/summary` shows, as numbers."""
    funnel = summary.invitations
    return {
        "period": summary.period.value,
        "started": summary.started,
        "completed": summary.completed,
        "completion_rate": summary.completion_rate,
        "csat_mean": summary.csat_mean,
        "csat_count": summary.csat_count,
        "csat_satisfied_share": summary.csat_share_satisfied,
        "csat_scale": (
            None
            if summary.csat_scale is None
            else [summary.csat_scale.start, summary.csat_scale.stop - 1]
        ),
        "nps": summary.nps,
        "nps_count": summary.nps_count,
        "links_created": None if funnel is None else funnel.created,
        "response_rate": None if funnel is None else funnel.completed_rate,
    }


def _trend_figures(trend: Trend) -> dict[str, Any]:
    return {
        "span": trend.period.value,
        "points": [
            {
                "start": point.start.isoformat(),
                "responses": point.responses,
                "csat": point.csat,
                "nps": point.nps,
            }
            for point in trend.points
        ],
    }


def _json(body: object, status: int = 200) -> web.Response:
    return web.json_response(body, status=status, headers=SECURITY_HEADERS)


async def _to_console(_: web.Request) -> web.Response:
    raise web.HTTPPermanentRedirect(CONSOLE_PATH)
