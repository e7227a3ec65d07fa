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
from datetime import datetime, timedelta
from importlib import resources
from typing import Any, TypeVar, assert_never

from aiohttp import web

from bot.domain.audit import Actor, AuditAction
from bot.domain.models import (
    CaseView,
    CommentFilter,
    CommentPage,
    SentimentLabel,
    StaffMember,
    Summary,
)
from bot.domain.periods import Period
from bot.domain.roles import Permission, Roster
from bot.domain.surveys import AnswerValue, Question, SurveyCatalog, localize
from bot.domain.trend import Trend, TrendPeriod
from bot.services.audit import AuditService
from bot.services.cases import (
    AlreadyYours,
    CaseService,
    Claimed,
    ClaimOutcome,
    Closed,
    Gone,
    NothingToSend,
    Relayed,
    ReplyOutcome,
    Resolved,
    ResolveOutcome,
    TakenBy,
    TooLong,
)
from bot.services.staff import COMMENTS_PAGE, COUNTED_UP_TO, ReportService
from handlers.console_auth import ConsoleUser, Refusal, signed_in
from handlers.texts import Texts
from handlers.texts.formatting import describe_visit

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

# Fewer responses than this in a group: shown, but marked too few to judge by.
FEWEST_TO_JUDGE = 5
# Words a comment search takes (each must be in the comment).
MOST_WORDS = 8

Handler = Callable[[web.Request, ConsoleUser], Awaitable[web.Response]]
_T = TypeVar("_T")
_U = TypeVar("_U")


@dataclass(frozen=True, slots=True)
class ConsoleAccess:
    """Who may sign in, with which bot's key, for how long."""

    bot_token: str
    roster: Roster
    session: timedelta


@dataclass(frozen=True, slots=True)
class CaseWaking:
    """Whom to wake when a case changes from the console, as the chat's buttons do."""

    alert_changed: Callable[[], None]
    """The staff group's alert is to be edited now."""
    patient_owed: Callable[[], None]
    """A reply is owed to the patient."""


class Console:
    """The console's routes, on whichever aiohttp application serves them."""

    def __init__(  # noqa: PLR0913 - its services, wording, and whom to wake
        self,
        access: ConsoleAccess,
        reports: ReportService,
        cases: CaseService,
        surveys: SurveyCatalog,
        texts: Texts,
        *,
        audit: AuditService,
        waking: CaseWaking,
        clinic_name: str | None,
        timezone: str,
    ) -> None:
        self._timezone = timezone
        self._access = access
        self._reports = reports
        self._cases = cases
        self._surveys = surveys
        self._texts = texts
        self._waking = waking
        self._audit = audit
        self._clinic = clinic_name
        self._language = surveys.default_language
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
        app.router.add_get(f"{API_PATH}/comments", self._signed(self._comments))
        app.router.add_get(f"{API_PATH}/filters", self._signed(self._filters))
        app.router.add_get(f"{API_PATH}/breakdowns", self._signed(self._breakdowns))
        app.router.add_get(f"{API_PATH}/cases", self._signed(self._case_list))
        app.router.add_get(f"{API_PATH}/cases/{{case:\\d+}}", self._signed(self._case))
        for action in ("claim", "reply", "resolve"):
            app.router.add_post(
                f"{API_PATH}/cases/{{case:\\d+}}/{action}", self._signed(self._act)
            )

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
            if not self._access.roster.may(found.id, Permission.READ_REPORTS):
                logger.warning("a console call by someone not on the team was refused")
                return _json({"error": "not_team", "message": self._word("not_team")}, 403)
            try:
                return await handler(request, found)
            except _BadQueryError as error:
                return _json({"error": "bad_request", "message": str(error)}, 400)
            except Exception as error:  # noqa: BLE001 - the database, whatever its driver raises
                # One line: a driver's message may quote the values of a statement.
                logger.warning("a console call failed (%s)", type(error).__name__)
                return _json({"error": "unavailable", "message": self._word("failed")}, 503)

        return checked

    async def _me(self, _: web.Request, user: ConsoleUser) -> web.Response:
        return _json(
            {
                "first_name": user.first_name,
                "clinic": self._texts.clinic(self._clinic),
                "language": self._language,
                "timezone": self._timezone,
                "words": self._texts.console_page,
            }
        )

    async def _overview(self, request: web.Request, user: ConsoleUser) -> web.Response:
        period = _choice(request, "period", Period, Period.DAYS_30)
        figures = _summary_figures(await self._reports.summary(period))
        await self._audited(user, AuditAction.SUMMARY, f"period {period.value}")
        return _json(figures)

    async def _trend(self, request: web.Request, user: ConsoleUser) -> web.Response:
        span = _choice(request, "span", TrendPeriod, TrendPeriod.WEEKS_12)
        figures = _trend_figures(await self._reports.trend(span))
        await self._audited(user, AuditAction.TREND, f"span {span.value}")
        return _json(figures)

    async def _audited(self, user: ConsoleUser, action: AuditAction, detail: str) -> None:
        """Record what an admin was shown in the console (who: their Telegram id)."""
        await self._audit.record(Actor(telegram_id=user.id), action, detail=f"console, {detail}")

    async def _comments(self, request: web.Request, user: ConsoleUser) -> web.Response:
        query = request.query
        period = _choice(request, "period", Period, Period.ALL)
        page = _choice(request, "page", int, 0)
        if page < 0:
            raise _BadQueryError("page must be 0 or more")
        wanted = CommentFilter(
            words=tuple(query.get("q", "").split()[:MOST_WORDS]),
            since=period.since(self._reports.now()),
            sentiment=_choice(request, "sentiment", SentimentLabel, None),
            treatment=query.get("treatment") or None,
            provider=query.get("provider") or None,
            location=query.get("location") or None,
            survey=query.get("survey") or None,
        )
        found = await self._reports.comments(wanted, page)
        await self._audited(user, AuditAction.COMMENTS, _comments_detail(wanted, page, found))
        language = self._language
        counted = min(found.total, COUNTED_UP_TO)
        return _json(
            {
                "total": counted,
                "more": found.total > COUNTED_UP_TO,
                "page": page,
                "pages": max(1, -(-counted // COMMENTS_PAGE)),
                "comments": [
                    {
                        "patient": comment.patient_pseudonym,
                        "survey": self._survey_title(comment.survey_id),
                        "text": comment.text,
                        "sentiment": self._texts.sentiment_labels[comment.label],
                        "polarity": comment.polarity,
                        "at": comment.answered_at.isoformat(),
                        "visit": (
                            None
                            if comment.visit is None
                            else describe_visit(comment.visit, self._surveys, language)
                        ),
                    }
                    for comment in found.comments
                ],
            }
        )

    async def _filters(self, _: web.Request, __: ConsoleUser) -> web.Response:
        providers, locations = await self._reports.visit_names()
        language = self._language
        return _json(
            {
                "treatments": [
                    {"id": t.id, "label": localize(t.label, language, language)}
                    for t in self._surveys.treatments
                ],
                "providers": providers,
                "locations": locations,
                "surveys": [
                    {"id": survey.id, "label": self._survey_title(survey.id)}
                    for survey in self._surveys.surveys
                ],
                "sentiments": [
                    {"id": label.value, "label": self._texts.sentiment_labels[label]}
                    for label in (
                        SentimentLabel.NEGATIVE,
                        SentimentLabel.NEUTRAL,
                        SentimentLabel.POSITIVE,
                    )
                ],
            }
        )

    async def _breakdowns(self, request: web.Request, user: ConsoleUser) -> web.Response:
        period = _choice(request, "period", Period, Period.DAYS_90)
        groups = await self._reports.visit_groups(period)
        await self._audited(user, AuditAction.BREAKDOWNS, f"period {period.value}")
        return _json(
            {
                "period": period.value,
                "fewest_to_judge": FEWEST_TO_JUDGE,
                "groups": [
                    {
                        "provider": group.provider,
                        "treatment": self._treatment_label(group.treatment),
                        "location": group.location,
                        "responses": group.responses,
                        "csat": group.csat,
                        "nps": group.nps,
                        "too_small": group.responses < FEWEST_TO_JUDGE,
                    }
                    for group in groups
                ],
            }
        )

    def _survey_title(self, survey_id: str) -> str:
        survey = self._surveys.get(survey_id)
        return localize(survey.title, self._language, self._language) if survey else survey_id

    def _treatment_label(self, treatment: str | None) -> str | None:
        found = self._surveys.treatment(treatment) if treatment else None
        return localize(found.label, self._language, self._language) if found else treatment

    async def _case_list(self, _: web.Request, user: ConsoleUser) -> web.Response:
        open_total, listing = await self._cases.listing()
        await self._audited(user, AuditAction.CASES, f"{open_total} open, {len(listing)} listed")
        return _json(
            {
                "open_total": open_total,
                "cases": [
                    {
                        "id": case.alert_id,
                        "patient": case.pseudonym,
                        "reasons": [self._texts.alert_reasons[r] for r in case.reasons],
                        "opened_at": case.opened_at.isoformat(),
                        "claimed_by": case.claimed_by_name,
                        "resolved_at": _moment(case.resolved_at),
                    }
                    for case in listing
                ],
            }
        )

    async def _case(self, request: web.Request, user: ConsoleUser) -> web.Response:
        viewer = StaffMember(user.id, user.name)
        view = await self._cases.view(int(request.match_info["case"]), viewer)
        if view is None:
            return _json({"error": "gone", "message": self._texts.case_gone}, 404)
        return _json(case_figures(view, self._surveys, self._texts))

    async def _act(self, request: web.Request, user: ConsoleUser) -> web.Response:
        alert_id = int(request.match_info["case"])
        action = request.path.rsplit("/", 1)[1]
        staff = StaffMember(user.id, user.name)
        if action == "claim":
            return self._claimed(await self._cases.claim(alert_id, staff))
        body = await _body(request)
        if action == "reply":
            key = body.get("request")
            replied = await self._cases.reply(
                alert_id,
                staff,
                str(body.get("text", "")),
                # Negative: never one of Telegram's update ids, which share the keys' table.
                request_key=-int(key) if isinstance(key, int) and key > 0 else None,
            )
            return self._replied(replied)
        return self._resolved(
            await self._cases.resolve_with_note(alert_id, staff, str(body.get("note", "")))
        )

    def _claimed(self, outcome: ClaimOutcome) -> web.Response:
        texts = self._texts
        match outcome:
            case Claimed():
                self._waking.alert_changed()
                return _done("claimed", texts.case_claimed)
            case TakenBy(name):
                return _refused("taken", texts.case_taken_by.format(name=name))
            case AlreadyYours():
                return _done("already_yours", texts.case_already_yours)
            case Closed() | Gone():
                return self._unavailable(outcome)
            case _:
                assert_never(outcome)

    def _replied(self, outcome: ReplyOutcome) -> web.Response:
        texts = self._texts
        match outcome:
            case Relayed(pseudonym):
                self._waking.alert_changed()
                self._waking.patient_owed()
                clinic = texts.clinic(self._clinic)
                return _done(
                    "sent", texts.case_reply_queued.format(patient=pseudonym, clinic=clinic)
                )
            case TooLong(limit):
                return _refused("too_long", texts.case_reply_too_long.format(limit=limit))
            case NothingToSend():
                return _refused("empty", self._word("reply_empty"))
            case Closed() | Gone():
                return self._unavailable(outcome)
            case _:
                assert_never(outcome)

    def _resolved(self, outcome: ResolveOutcome) -> web.Response:
        match outcome:
            case Resolved():
                self._waking.alert_changed()
                return _done("resolved", self._word("resolved"))
            case Closed() | Gone():
                return self._unavailable(outcome)
            case _:
                assert_never(outcome)

    def _unavailable(self, outcome: Closed | Gone) -> web.Response:
        if isinstance(outcome, Closed):
            return _refused("closed", self._texts.case_closed)
        return _refused("gone", self._texts.case_gone)

    def _word(self, key: str) -> str:
        return self._texts.console_page[key]


def _comments_detail(wanted: CommentFilter, page: int, found: CommentPage) -> str:
    """What a comment search asked for, as the audit trail keeps it: never the words."""
    chosen = [
        f"{name} {value}"
        for name, value in (
            ("sentiment", wanted.sentiment.value if wanted.sentiment else None),
            ("treatment", wanted.treatment),
            ("provider", wanted.provider),
            ("location", wanted.location),
            ("survey", wanted.survey),
        )
        if value
    ]
    if wanted.words:
        chosen.append(f"search words: {len(wanted.words)}")
    since = f"since {wanted.since.date().isoformat()}" if wanted.since else "all time"
    return ", ".join([since, *chosen, f"page {page}, {len(found.comments)} shown"])


class _BadQueryError(ValueError):
    """A query parameter the console's own page never sends."""


def _choice(request: web.Request, name: str, kind: Callable[[str], _T], default: _U) -> _T | _U:
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


def case_figures(view: CaseView, surveys: SurveyCatalog, texts: Texts) -> dict[str, Any]:
    """A case as the console shows it; every patient word is a value, never markup."""
    response, case, language = view.response, view.case, surveys.default_language
    survey = surveys.get(response.survey_id)
    order = {
        question.id: index for index, question in enumerate(survey.questions if survey else ())
    }
    answers = []
    # In the survey's order, as the patient was asked.
    for answer in sorted(response.answers, key=lambda a: order.get(a.question_id, len(order))):
        question = survey.question(answer.question_id) if survey else None
        sentiment = answer.sentiment
        answers.append(
            {
                "question": (
                    localize(question.text, language, language) if question else answer.question_id
                ),
                "value": _shown(answer.value, question, texts),
                "typed": sentiment is not None,
                "sentiment": None
                if sentiment is None
                else texts.sentiment_labels[sentiment.label],
                "polarity": None if sentiment is None else sentiment.polarity,
                "why": [] if sentiment is None else list(sentiment.reasons),
            }
        )
    return {
        "id": view.alert_id,
        "patient": response.patient_pseudonym,
        "reasons": [texts.alert_reasons[r] for r in view.reasons],
        "opened_at": view.opened_at.isoformat(),
        "visit": (
            None if response.visit is None else describe_visit(response.visit, surveys, language)
        ),
        "answers": answers,
        "status": texts.statuses[response.status],
        "callback_phone": case.callback_phone,
        "claimed_by": case.claimed_by_name,
        "resolved_by": case.resolved_by_name,
        "resolved_at": _moment(case.resolved_at),
        "note": case.note,
        "conversation": [
            {
                "from": message.direction.value,
                "author": message.author_name,
                "body": message.body,
                "at": message.created_at.isoformat(),
                "delivery": message.delivery.value,
            }
            for message in case.conversation
        ],
    }


def _shown(value: AnswerValue, question: Question | None, texts: Texts) -> str:
    if value is None:
        return texts.skipped
    if isinstance(value, bool):
        return texts.yes if value else texts.no
    if isinstance(value, int) and question is not None:
        return f"{value}/{question.scale_max}"
    return str(value)


def _moment(at: datetime | None) -> str | None:
    return None if at is None else at.isoformat()


async def _body(request: web.Request) -> dict[str, Any]:
    try:
        body = await request.json()
    except ValueError:
        raise _BadQueryError("the body is not JSON") from None
    if not isinstance(body, dict):
        raise _BadQueryError("the body is not a JSON object")
    return body


def _done(outcome: str, message: str) -> web.Response:
    return _json({"outcome": outcome, "message": message})


def _refused(outcome: str, message: str) -> web.Response:
    return _json({"outcome": outcome, "message": message}, 409)


def _json(body: object, status: int = 200) -> web.Response:
    return web.json_response(body, status=status, headers=SECURITY_HEADERS)


async def _to_console(_: web.Request) -> web.Response:
    raise web.HTTPPermanentRedirect(CONSOLE_PATH)
