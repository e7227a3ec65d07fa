"""The intake API: a booking system announces a finished visit and gets its invitation.

`POST /api/v1/visits` with `Authorization: Bearer <token>`. The token is checked before the
body is read, so nothing an unknown caller sends is ever stored or parsed; every token is
compared in constant time, and none is ever logged. Answers: 201 with the new invitation,
200 with the same for an event sent before, 401, 413 (over 64 KB), 422 with each field's
problem. Served beside the webhook in webhook mode, or on `FEEDBACK_HTTP_LISTEN`.

Booking systems' own webhooks come in beside it, each at its path and with its own
signature instead of a token: `POST /webhooks/mindbody` (`X-Mindbody-Signature`) and
`POST /webhooks/vagaro` (`X-Vagaro-Signature`).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Protocol
from zoneinfo import ZoneInfo

from aiohttp import web
from pydantic import ValidationError

from bot.domain.audit import Actor, AuditAction, token_fingerprint
from bot.domain.booking_systems import (
    MINDBODY,
    VAGARO,
    NotAVisit,
    mindbody_visit,
    vagaro_visit,
)
from bot.domain.intake import FieldProblem, RecordedVisit, VisitEvent
from bot.services.audit import AuditService
from bot.services.intake import VisitIntakeService, VisitRefusedError
from bot.services.invitations import invitation_link

logger = logging.getLogger(__name__)

VISITS_PATH = "/api/v1/visits"
MINDBODY_PATH = "/webhooks/mindbody"
VAGARO_PATH = "/webhooks/vagaro"
MAX_VISIT_BODY = 64 * 1024


class BookingWebhook(Protocol):
    """A booking system's own webhook: where it posts, how it signs, what its events say."""

    @property
    def source(self) -> str:
        """The system's name, which its events' ids are kept under."""
        ...

    @property
    def path(self) -> str:
        """Where it posts."""
        ...

    @property
    def signature_header(self) -> str:
        """The header that carries its signature."""
        ...

    def signed(self, body: bytes, header: str) -> bool:
        """Whether the header signs this body (compared in constant time)."""
        ...

    def visit(self, payload: object) -> VisitEvent | NotAVisit:
        """The finished visit the event announces, if it announces one."""
        ...


class IntakeApi:
    """The routes of the intake API, on whichever aiohttp application serves them."""

    def __init__(
        self,
        intake: VisitIntakeService,
        tokens: tuple[str, ...],
        bot_username: Callable[[], str],
        audit: AuditService,
        *,
        webhooks: tuple[BookingWebhook, ...] = (),
    ) -> None:
        self._intake = intake
        self._audit = audit
        self._tokens = tuple(token.encode() for token in tokens)
        self._bot_username = bot_username
        self._webhooks = webhooks

    def add_routes(self, app: web.Application) -> None:
        """Serve the API on `app`, and the booking systems' webhooks that are set up."""
        if self._tokens:
            app.router.add_post(VISITS_PATH, self._visits)
        for webhook in self._webhooks:
            # Mindbody checks the URL with a HEAD request before it activates a subscription.
            app.router.add_route("HEAD", webhook.path, _present)
            app.router.add_post(webhook.path, self._receiver(webhook))

    def _receiver(
        self, webhook: BookingWebhook
    ) -> Callable[[web.Request], Awaitable[web.Response]]:
        async def receive(request: web.Request) -> web.Response:
            return await self._from_booking_system(webhook, request)

        return receive

    async def _from_booking_system(
        self, webhook: BookingWebhook, request: web.Request
    ) -> web.Response:
        signature = request.headers.get(webhook.signature_header, "")
        if not signature:  # refused before the body is read
            return _unsigned(webhook)
        body = await _limited_body(request)
        if body is None:
            return _too_large()
        if not webhook.signed(body, signature):
            return _unsigned(webhook)
        try:
            payload = json.loads(body)
        except (ValueError, UnicodeDecodeError):
            return web.json_response({"error": "the body is not JSON"}, status=400)
        found = webhook.visit(payload)
        if isinstance(found, NotAVisit):
            # 2xx: the system would otherwise send it again, and in the end switch the
            # subscription off; a booking or a cancellation is simply not a visit to ask about.
            return web.json_response({"ignored": found.reason}, status=200)
        try:
            recorded = await self._intake.receive(found, webhook.source)
        except VisitRefusedError as refused:
            logger.warning("a %s visit was not invited: %s", webhook.source, refused)
            return web.json_response(
                {"ignored": str(refused), "errors": [p.model_dump() for p in refused.problems]},
                status=200,
            )
        except Exception as error:  # noqa: BLE001 - the database, whatever its driver raises
            return _unavailable(error)
        await self._audited(Actor(system=f"{webhook.source} webhook"), found, recorded)
        return web.json_response(self._answer(recorded), status=200 if recorded.repeated else 201)

    async def _audited(self, caller: Actor, event: VisitEvent, recorded: RecordedVisit) -> None:
        """Record a visit received: by whom, the booking system's id for it, what was done.

        After the answer is decided and before it is sent: a failure here is the caller's
        to retry, and the visit, stored already, is answered as a repeat then.
        """
        done = "again, unchanged" if recorded.repeated else f"delivery {recorded.delivery.value}"
        await self._audit.record(
            caller, AuditAction.VISIT_RECEIVED, subject=f"event {event.event_id}", detail=done
        )

    async def _visits(self, request: web.Request) -> web.Response:
        caller = self._caller(request.headers.get("Authorization", ""))
        if caller is None:
            logger.warning("an intake API call without a valid token was refused")
            return web.json_response(
                {"error": "a valid token is required: Authorization: Bearer <token>"},
                status=401,
                headers={"WWW-Authenticate": "Bearer"},
            )
        body = await _limited_body(request)
        if body is None:
            return _too_large()
        try:
            event = VisitEvent.model_validate(json.loads(body))
        except (ValueError, UnicodeDecodeError) as error:
            return _refused(_problems(error))
        try:
            recorded = await self._intake.receive(event)
        except VisitRefusedError as refused:
            return _refused(refused.problems)
        except Exception as error:  # noqa: BLE001 - the database, whatever its driver raises
            return _unavailable(error)
        await self._audited(caller, event, recorded)
        return web.json_response(self._answer(recorded), status=200 if recorded.repeated else 201)

    def _caller(self, header: str) -> Actor | None:
        """Who calls, by their token's fingerprint; `None` without a valid token."""
        scheme, _, given = header.partition(" ")
        if scheme.lower() != "bearer" or not given.strip():
            return None
        offered = given.strip()
        # Every token compared, whatever matched, so the time says nothing of which.
        matches = [hmac.compare_digest(offered.encode(), token) for token in self._tokens]
        return Actor(system=token_fingerprint(offered)) if any(matches) else None

    def _answer(self, recorded: RecordedVisit) -> dict[str, str]:
        invitation = recorded.invitation
        return {
            "code": invitation.code,
            "link": invitation_link(self._bot_username(), invitation.code),
            "expires_at": invitation.expires_at.isoformat(),
            "delivery": recorded.delivery.value,
        }


@dataclass(frozen=True, slots=True)
class MindbodyWebhook:
    """Mindbody's webhook: its subscription's signature key, and the clinic's time zone."""

    signature_key: str
    zone: ZoneInfo
    source: str = MINDBODY
    path: str = MINDBODY_PATH
    signature_header: str = "X-Mindbody-Signature"

    def signed(self, body: bytes, header: str) -> bool:
        """Whether `X-Mindbody-Signature` is `sha256=` and the base64 HMAC-SHA256 of the body."""
        scheme, _, given = header.partition("=")
        if scheme != "sha256" or not given:
            return False
        digest = hmac.new(self.signature_key.encode(), body, hashlib.sha256).digest()
        return hmac.compare_digest(given.encode(), base64.b64encode(digest))

    def visit(self, payload: object) -> VisitEvent | NotAVisit:
        """The completed appointment the event announces, if any."""
        return mindbody_visit(payload, self.zone)


@dataclass(frozen=True, slots=True)
class VagaroWebhook:
    """Vagaro's webhook: the verification token its subscription showed, and the time zone.

    Vagaro sends that token itself in `X-Vagaro-Signature` (it signs nothing with it).
    """

    verification_token: str
    zone: ZoneInfo
    source: str = VAGARO
    path: str = VAGARO_PATH
    signature_header: str = "X-Vagaro-Signature"

    def signed(self, _: bytes, header: str) -> bool:
        """Whether the header is the subscription's verification token."""
        return hmac.compare_digest(header.strip().encode(), self.verification_token.encode())

    def visit(self, payload: object) -> VisitEvent | NotAVisit:
        """The completed appointment the event announces, if any."""
        return vagaro_visit(payload, self.zone)


def _too_large() -> web.Response:
    return web.json_response(
        {"error": f"the body is over {MAX_VISIT_BODY // 1024} KB"}, status=413
    )


def _unsigned(webhook: BookingWebhook) -> web.Response:
    logger.warning("a %s webhook call without a valid signature was refused", webhook.source)
    return web.json_response({"error": "the signature does not match"}, status=401)


def _unavailable(error: Exception) -> web.Response:
    # Nothing was stored and the sender retries; one line, no traceback, in the log.
    logger.warning("a visit could not be stored (%s)", type(error).__name__)
    return web.json_response(
        {"error": "the visit could not be stored now; send it again later"}, status=503
    )


async def _present(_: web.Request) -> web.Response:
    return web.Response(status=200)


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
