"""The intake API: a booking system announces a finished visit and gets its invitation.

`POST /api/v1/visits` with `Authorization: Bearer <token>`. The token is checked before the
body is read, so nothing an unknown caller sends is ever stored or parsed; every token is
compared in constant time, and none is ever logged. Answers: 201 with the new invitation,
200 with the same for an event sent before, 401, 413 (over 64 KB), 422 with each field's
problem. Served beside the webhook in webhook mode, or on `FEEDBACK_HTTP_LISTEN`.
"""

from __future__ import annotations

import hmac
import json
import logging
from collections.abc import Callable

from aiohttp import web
from pydantic import ValidationError

from bot.domain.intake import FieldProblem, RecordedVisit, VisitEvent
from bot.services.intake import VisitIntakeService, VisitRefusedError
from bot.services.invitations import invitation_link

logger = logging.getLogger(__name__)

VISITS_PATH = "/api/v1/visits"
MAX_VISIT_BODY = 64 * 1024


class IntakeApi:
    """The routes of the intake API, on whichever aiohttp application serves them."""

    def __init__(
        self,
        intake: VisitIntakeService,
        tokens: tuple[str, ...],
        bot_username: Callable[[], str],
    ) -> None:
        self._intake = intake
        self._tokens = tuple(token.encode() for token in tokens)
        self._bot_username = bot_username

    def add_routes(self, app: web.Application) -> None:
        """Serve the API on `app`."""
        app.router.add_post(VISITS_PATH, self._visits)

    async def _visits(self, request: web.Request) -> web.Response:
        if not self._authorised(request.headers.get("Authorization", "")):
            logger.warning("an intake API call without a valid token was refused")
            return web.json_response(
                {"error": "a valid token is required: Authorization: Bearer <token>"},
                status=401,
                headers={"WWW-Authenticate": "Bearer"},
            )
        body = await _limited_body(request)
        if body is None:
            return web.json_response(
                {"error": f"the body is over {MAX_VISIT_BODY // 1024} KB"}, status=413
            )
        try:
            event = VisitEvent.model_validate(json.loads(body))
        except (ValueError, UnicodeDecodeError) as error:
            return _refused(_problems(error))
        try:
            recorded = await self._intake.receive(event)
        except VisitRefusedError as refused:
            return _refused(refused.problems)
        except Exception as error:  # noqa: BLE001 - the database, whatever its driver raises
            # Nothing was stored and the sender retries; one line, no traceback, in the log.
            logger.warning("a visit event could not be stored (%s)", type(error).__name__)
            return web.json_response(
                {"error": "the visit could not be stored now; send it again later"}, status=503
            )
        return web.json_response(self._answer(recorded), status=200 if recorded.repeated else 201)

    def _authorised(self, header: str) -> bool:
        scheme, _, given = header.partition(" ")
        if scheme.lower() != "bearer" or not given.strip():
            return False
        offered = given.strip().encode()
        # Every token compared, whatever matched, so the time says nothing of which.
        matches = [hmac.compare_digest(offered, token) for token in self._tokens]
        return any(matches)

    def _answer(self, recorded: RecordedVisit) -> dict[str, str]:
        invitation = recorded.invitation
        return {
            "code": invitation.code,
            "link": invitation_link(self._bot_username(), invitation.code),
            "expires_at": invitation.expires_at.isoformat(),
            "delivery": recorded.delivery.value,
        }


async def _limited_body(request: web.Request) -> bytes | None:
    """The body, or `None` if it is over the limit (read no further than that)."""
    if request.content_length is not None and request.content_length > MAX_VISIT_BODY:
        return None
    body = await request.content.read(MAX_VISIT_BODY + 1)
    return None if len(body) > MAX_VISIT_BODY else body


def _problems(error: ValueError | UnicodeDecodeError) -> tuple[FieldProblem, ...]:
    if isinstance(error, ValidationError):
        return tuple(
            FieldProblem(
                field=".".join(str(part) for part in problem["loc"]) or "body",
                problem=_worded(problem["type"], problem["msg"]),
            )
            for problem in error.errors(include_url=False, include_input=False)
        )
    return (FieldProblem(field="body", problem="is not JSON (UTF-8)"),)


def _worded(kind: str, message: str) -> str:
    if kind == "extra_forbidden":
        return "is not a field of a visit (a typo?)"
    if kind == "missing":
        return "is required"
    return message


def _refused(problems: tuple[FieldProblem, ...]) -> web.Response:
    return web.json_response(
        {"errors": [problem.model_dump() for problem in problems]}, status=422
    )
