"""The intake API: a booking system posts a finished visit and gets its invitation, once."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import logging
from collections.abc import AsyncIterator
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from aiohttp import ClientResponse, ClientSession
from pydantic import SecretStr

from bot.settings import Settings
from handlers.registry import FeedbackApplication
from tests.fake_telegram import FakeTelegram
from tests.harness import FakeClock, free_port, make_settings, running_bot, webhook_bot
from tests.storage_view import rows_in, rows_of, stored_responses
from tests.test_cli import made_by_the_bot, run_cli, run_cli_async

TOKEN = "intake-token-for-the-booking-system-0123456789"
OTHER_TOKEN = "a-second-systems-token-abcdefghijklmnopqrstuvwxyz"
VISIT: dict[str, Any] = {
    "event_id": "appt-81723-done",
    "patient": {
        "id": "cust-5521",
        "email": "ana@example.org",
        "language": "es",
        "first_name": "Ana",
    },
    "treatment": "Botox",
    "provider": "Dr Li",
    "location": "Downtown",
    "visit_at": "2026-11-02T15:30:00-05:00",
    "survey": "post_visit",
}


@pytest.fixture
def api_settings(telegram: FakeTelegram, database_location: Path | str) -> Settings:
    return make_settings(
        telegram,
        database_location,
        api_tokens=(SecretStr(TOKEN), SecretStr(OTHER_TOKEN)),
        http_listen=f"127.0.0.1:{free_port()}",
    )


@pytest.fixture
async def api_bot(api_settings: Settings, clock: FakeClock) -> AsyncIterator[FeedbackApplication]:
    async with running_bot(api_settings, clock) as application:
        yield application


def visits_url(settings: Settings) -> str:
    return f"http://{settings.http_listen}/api/v1/visits"


async def post(
    url: str, body: object, token: str | None = TOKEN, *, raw: bytes | None = None
) -> tuple[int, dict[str, Any], ClientResponse]:
    headers = {} if token is None else {"Authorization": f"Bearer {token}"}
    data = raw if raw is not None else json.dumps(body).encode()
    async with ClientSession() as session, session.post(url, data=data, headers=headers) as reply:
        return reply.status, await reply.json(), reply


@pytest.mark.usefixtures("api_bot")
async def test_a_finished_visit_gets_an_invitation_that_opens_the_survey_about_it(
    telegram: FakeTelegram, api_settings: Settings, tmp_path: Path
) -> None:
    status, answer, _ = await post(visits_url(api_settings), VISIT)
    assert status == 201
    code = answer["code"]
    assert answer == {
        "code": code,
        "link": f"https://t.me/clinic_feedback_bot?start={code}",
        "expires_at": answer["expires_at"],
        "delivery": "none",  # the booking system sends the link itself
    }
    assert answer["expires_at"].startswith("2026-11-16")  # 14 days from the fake clock's now
    patient = telegram.patient(501)
    await patient.send(f"/start {code}")
    await patient.next_message()
    await patient.tap("I agree")
    # The visit came with the event: no treatment question, straight to the survey.
    assert (await patient.next_message()).text.startswith("Question 1 of 3")
    await patient.tap("5")
    await patient.next_message()
    # The bot runs in this event loop: the command runs beside it, not blocking it.
    status, out, _ = await run_cli_async(
        tmp_path, "export", "--format", "jsonl", FEEDBACK_DB=str(api_settings.db)
    )
    assert status == 0
    [record] = [json.loads(line) for line in out.splitlines()]
    assert record["visit"] == {
        "treatment": "neuromodulator",  # "Botox" is the catalogue's name for it
        "provider": "Dr Li",
        "location": "Downtown",
        "date": "2026-11-02",  # the day where the visit took place
    }


@pytest.mark.usefixtures("api_bot")
async def test_the_same_event_again_answers_as_before_and_makes_nothing_new(
    api_settings: Settings,
) -> None:
    url = visits_url(api_settings)
    first_status, first, _ = await post(url, VISIT)
    again_status, again, _ = await post(url, {**VISIT, "provider": "Dr Ruiz"}, OTHER_TOKEN)
    assert (first_status, again_status) == (201, 200)
    assert again == first
    # Ten deliveries of another event at the same moment: one invitation, one 201.
    burst = {**VISIT, "event_id": "appt-81724-done"}
    replies = await asyncio.gather(*(post(url, burst) for _ in range(10)))
    assert sorted(status for status, _, _ in replies) == [200] * 9 + [201]
    assert len({answer["code"] for _, answer, _ in replies}) == 1
    assert await rows_in(api_settings.db, "visits", "visit_events") == {
        "visits": 2,
        "visit_events": 2,
    }


@pytest.mark.usefixtures("api_bot")
async def test_many_events_at_once_each_get_their_own_invitation(
    api_settings: Settings,
) -> None:
    # Posted together, they are written together: each answer must still be its own.
    url = visits_url(api_settings)
    events = [
        {**VISIT, "event_id": f"appt-{n}-done", "provider": f"Provider {n}"} for n in range(40)
    ]
    replies = await asyncio.gather(*(post(url, event) for event in events))
    assert [status for status, _, _ in replies] == [201] * 40
    by_code = {row["code"]: row for row in await rows_of(api_settings.db, "visits")}
    by_event = {row["event_id"]: row for row in await rows_of(api_settings.db, "visit_events")}
    for event, (_, answer, _) in zip(events, replies, strict=True):
        visit = by_code[answer["code"]]
        assert visit["provider"] == event["provider"]
        assert by_event[event["event_id"]]["visit_id"] == visit["id"]


@pytest.mark.usefixtures("api_bot")
@pytest.mark.parametrize(
    "authorization",
    [None, "Bearer not-the-token-0123456789-0123456789", f"Basic {TOKEN}", "Bearer "],
)
async def test_a_call_without_a_valid_token_is_refused_and_nothing_is_stored(
    api_settings: Settings, authorization: str | None, caplog: pytest.LogCaptureFixture
) -> None:
    headers = {} if authorization is None else {"Authorization": authorization}
    with caplog.at_level(logging.DEBUG):
        async with (
            ClientSession() as session,
            session.post(visits_url(api_settings), json=VISIT, headers=headers) as reply,
        ):
            assert reply.status == 401
            assert reply.headers["WWW-Authenticate"] == "Bearer"
            assert "token" in (await reply.json())["error"]
    assert await rows_in(api_settings.db, "visits", "visit_events") == {
        "visits": 0,
        "visit_events": 0,
    }
    assert TOKEN not in caplog.text
    assert "not-the-token" not in caplog.text


@pytest.mark.usefixtures("api_bot")
async def test_a_malformed_visit_is_refused_with_each_fields_problem(
    api_settings: Settings,
) -> None:
    url = visits_url(api_settings)
    broken = {
        "event_id": "appt-1",
        "patient": {"email": "not an address"},
        "treatment": "Botx",
        "visit_at": "2026-11-02T15:30:00",  # no offset: which time zone?
        "provder": "Dr Li",
    }
    status, answer, _ = await post(url, broken)
    assert status == 422
    problems = {problem["field"]: problem["problem"] for problem in answer["errors"]}
    assert set(problems) == {"patient.id", "patient.email", "visit_at", "provder"}
    assert problems["patient.id"] == "is required"
    assert problems["provder"] == "is not a field of a visit (a typo?)"
    assert "timezone" in problems["visit_at"]
    # Well formed, but the clinic has no such treatment nor survey.
    status, answer, _ = await post(url, {**VISIT, "treatment": "Botx", "survey": "exit_poll"})
    assert status == 422
    by_field = {problem["field"]: problem for problem in answer["errors"]}
    assert by_field["treatment"]["did_you_mean"] == ["Botox", "baby botox"]
    assert "unknown survey 'exit_poll'" in by_field["survey"]["problem"]
    status, answer, _ = await post(url, None, raw=b"{not json")
    assert (status, answer) == (
        422,
        {"errors": [{"field": "body", "problem": "is not JSON (UTF-8)", "did_you_mean": []}]},
    )
    assert await rows_in(api_settings.db, "visits") == {"visits": 0}


@pytest.mark.usefixtures("api_bot")
async def test_a_body_over_64_kb_is_refused_unread(api_settings: Settings) -> None:
    padded = {**VISIT, "provider": "x" * 70_000}
    status, answer, _ = await post(visits_url(api_settings), padded)
    assert status == 413
    assert "64 KB" in answer["error"]


async def test_in_webhook_mode_the_api_is_served_beside_the_webhook(
    telegram: FakeTelegram, tmp_path: Path, clock: FakeClock
) -> None:
    listen = f"127.0.0.1:{free_port()}"
    telegram.webhook_listen = listen
    settings = make_settings(
        telegram,
        tmp_path / "feedback.db",
        webhook_url="https://feedback.example-clinic.org/telegram/updates",
        webhook_secret="s3cret-for-the-webhook-0123456789",
        webhook_listen=listen,
        api_tokens=(SecretStr(TOKEN),),
    )
    async with webhook_bot(settings, clock):
        status, answer, _ = await post(f"http://{listen}/api/v1/visits", VISIT)
    assert status == 201
    assert answer["link"].endswith(answer["code"])


@pytest.mark.usefixtures("api_bot")
async def test_the_visits_command_lists_each_event_and_what_became_of_it(
    telegram: FakeTelegram, api_settings: Settings, clock: FakeClock, tmp_path: Path
) -> None:
    url = visits_url(api_settings)
    _, opened, _ = await post(url, VISIT)
    await post(url, {**VISIT, "event_id": "appt-81724-done", "treatment": "laser hair removal"})
    patient = telegram.patient(502)
    await patient.send(f"/start {opened['code']}")
    await patient.next_message()
    await patient.tap("I agree")
    await patient.next_message()
    clock.advance(days=15)  # past the links' 14 days: the one never opened has expired
    on_the_bots_calendar = {"FEEDBACK_TEST_NOW": clock.now().isoformat()}
    status, out, err = await run_cli_async(
        tmp_path, "visits", FEEDBACK_DB=str(api_settings.db), **on_the_bots_calendar
    )
    assert status == 0, err
    lines = out.splitlines()
    assert lines[0] == "Visits from the booking system: 2 received"
    rows = {line.split()[4]: line.split() for line in lines[3:]}
    assert rows["appt-81723-done"][-4:] == ["neuromodulator", "2026-11-02", "none", "opened"]
    assert rows["appt-81724-done"][-1] == "expired"
    assert "cust-5521" not in out  # the booking system's patient id stays in it
    _, limited, _ = await run_cli_async(
        tmp_path,
        "visits",
        "--limit",
        "1",
        FEEDBACK_DB=str(api_settings.db),
        **on_the_bots_calendar,
    )
    assert limited.splitlines()[0] == (
        "Visits from the booking system: 2 received, the latest 1 listed"
    )


def test_the_visits_command_says_when_nothing_came_yet(tmp_path: Path) -> None:
    made_by_the_bot(tmp_path / "feedback.db")
    result = run_cli(tmp_path, "visits")
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("Visits from the booking system: none received yet")


MINDBODY_KEY = "mb-subscription-key-4f1c2a9e0b7d4c3e8a6f"


def mindbody_event(
    status: str = "Completed", event: str = "appointmentBooking.updated", appointment: int = 2710
) -> dict[str, Any]:
    """An appointment event shaped as Mindbody's webhooks documentation shows one."""
    return {
        "messageId": f"ASwFMoA2Q5UKw69g3RDbvU-{appointment}-{status}",
        "eventId": event,
        "eventSchemaVersion": 1,
        "eventInstanceOriginationDateTime": "2026-11-02T21:05:13Z",
        "eventData": {
            "siteId": 123,
            "appointmentId": appointment,
            "status": status,
            "isConfirmed": True,
            "hasArrived": status == "Completed",
            "startDateTime": "2026-11-02T15:30:00",
            "endDateTime": "2026-11-02T16:00:00",
            "durationMinutes": 30,
            "notes": None,
            "clientId": "100000009",
            "clientUniqueId": 100000009,
            "clientFirstName": "Ana",
            "clientLastName": "Ruiz",
            "clientEmail": "ana@example.org",
            "clientPhone": "555-0100",
            "staffId": 12,
            "staffFirstName": "Mei",
            "staffLastName": "Li",
            "locationId": 1,
            "sessionTypeId": 9,
            "sessionTypeName": "Botox",
            "appointmentName": "Botox",
        },
    }


def mindbody_signature(body: bytes, key: str = MINDBODY_KEY) -> str:
    digest = hmac.new(key.encode(), body, hashlib.sha256).digest()
    return "sha256=" + base64.b64encode(digest).decode()


@pytest.fixture
def mindbody_settings(telegram: FakeTelegram, database_location: Path | str) -> Settings:
    return make_settings(
        telegram,
        database_location,
        mindbody_signature_key=SecretStr(MINDBODY_KEY),
        http_listen=f"127.0.0.1:{free_port()}",
    )


async def from_mindbody(
    settings: Settings, event: dict[str, Any], signature: str | None = "sign"
) -> tuple[int, dict[str, Any]]:
    body = json.dumps(event).encode()
    headers = {"Content-Type": "application/json"}
    if signature is not None:
        headers["X-Mindbody-Signature"] = (
            mindbody_signature(body) if signature == "sign" else signature
        )
    url = f"http://{settings.http_listen}/webhooks/mindbody"
    async with ClientSession() as session, session.post(url, data=body, headers=headers) as reply:
        return reply.status, await reply.json()


async def test_a_completed_mindbody_appointment_invites_its_patient_once(
    telegram: FakeTelegram, mindbody_settings: Settings, clock: FakeClock, tmp_path: Path
) -> None:
    async with running_bot(mindbody_settings, clock):
        url = f"http://{mindbody_settings.http_listen}/webhooks/mindbody"
        async with ClientSession() as session, session.head(url) as probe:
            assert probe.status == 200  # Mindbody checks the URL before it activates
        status, answer = await from_mindbody(mindbody_settings, mindbody_event())
        assert status == 201
        assert answer["delivery"] == "none"
        # An edit after the visit sends the event again, with another message id.
        edited = mindbody_event()
        edited["messageId"] = "another-delivery"
        again_status, again = await from_mindbody(mindbody_settings, edited)
        assert (again_status, again) == (200, answer)
        patient = telegram.patient(601)
        await patient.send(f"/start {answer['code']}")
        await patient.next_message()
        await patient.tap("I agree")
        assert (await patient.next_message()).text.startswith("Question 1 of 3")
        status, out, _ = await run_cli_async(
            tmp_path,
            "visits",
            FEEDBACK_DB=str(mindbody_settings.db),
            FEEDBACK_TEST_NOW=clock.now().isoformat(),
        )
    assert status == 0
    [row] = [line.split() for line in out.splitlines()[3:]]
    assert row[3:] == [
        "mindbody",
        "123-2710-completed",
        "neuromodulator",
        "2026-11-02",
        "none",
        "opened",
    ]
    [response] = await stored_responses(mindbody_settings.db)
    assert response.visit is not None
    assert (response.visit.provider, response.visit.location) == ("Mei Li", None)


@pytest.mark.parametrize(
    ("status", "event"),
    [
        ("Booked", "appointmentBooking.created"),
        ("Confirmed", "appointmentBooking.updated"),
        ("Cancelled", "appointmentBooking.updated"),
        ("NoShow", "appointmentBooking.updated"),
        ("LateCancelled", "appointmentBooking.updated"),
        ("Completed", "classRosterBooking.created"),
    ],
)
async def test_a_mindbody_booking_cancellation_or_no_show_invites_nobody(
    mindbody_settings: Settings, clock: FakeClock, status: str, event: str
) -> None:
    async with running_bot(mindbody_settings, clock):
        reply, answer = await from_mindbody(mindbody_settings, mindbody_event(status, event))
    assert reply == 200  # taken, so that Mindbody does not send it again
    assert "ignored" in answer
    assert await rows_in(mindbody_settings.db, "visits", "visit_events") == {
        "visits": 0,
        "visit_events": 0,
    }


@pytest.mark.parametrize(
    "signature",
    [
        None,
        "sha256=",
        "sha256=bm90IHRoZSBzaWduYXR1cmU=",
        "signed-with-another-key",
        "md5=whatever",
    ],
)
async def test_a_mindbody_call_without_its_signature_is_refused_and_nothing_stored(
    mindbody_settings: Settings, clock: FakeClock, signature: str | None
) -> None:
    if signature == "signed-with-another-key":
        signature = mindbody_signature(
            json.dumps(mindbody_event()).encode(), "someone-elses-key-0123456789"
        )
    async with running_bot(mindbody_settings, clock):
        status, _ = await from_mindbody(mindbody_settings, mindbody_event(), signature)
        # The right signature of other bytes (the body changed on the way) is refused too.
        tampered = mindbody_signature(json.dumps(mindbody_event(appointment=1)).encode())
        tampered_status, _ = await from_mindbody(mindbody_settings, mindbody_event(), tampered)
    assert (status, tampered_status) == (401, 401)
    assert await rows_in(mindbody_settings.db, "visits") == {"visits": 0}


VAGARO_TOKEN = "vagaro-verification-token-7d2e91c4a0f3"


def vagaro_event(
    status: str = "Service Complete",
    action: str = "updated",
    event_id: str = "254FA623-D2B0-4785-A07D-A1A7059C74FF",
    kind: str = "appointment",
) -> dict[str, Any]:
    """An appointment event shaped as Vagaro's webhook documentation shows one."""
    return {
        "id": event_id,
        "createdDate": "2026-11-02T16:05:00Z",
        "type": kind,
        "action": action,
        "payload": {
            "appointmentId": "2dwfErtmMAFxe6hoCnQStw==",
            "startTime": "2026-11-02T15:25:00Z",
            "endTime": "2026-11-02T16:00:00Z",
            "bookingStatus": status,
            "serviceTitle": "Botox",
            "serviceId": "8bXhrRPIa3ZmtMrf6WnZ9Q==",
            "calendarEventId": None,
            "amount": 350.0,
            "eventType": "Appointment",
            "onlineVsInhouse": "Inhouse",
            "appointmentTypeCode": "RR",
            "appointmentTypeName": "Return Request",
            "customerId": "q9wDkHqJ5K3yR8eZ1oTq2g==",
        },
    }


@pytest.fixture
def vagaro_settings(telegram: FakeTelegram, database_location: Path | str) -> Settings:
    return make_settings(
        telegram,
        database_location,
        vagaro_verification_token=SecretStr(VAGARO_TOKEN),
        http_listen=f"127.0.0.1:{free_port()}",
    )


async def from_vagaro(
    settings: Settings, event: dict[str, Any], token: str | None = VAGARO_TOKEN
) -> tuple[int, dict[str, Any]]:
    headers = {"Content-Type": "application/json"}
    if token is not None:
        headers["X-Vagaro-Signature"] = token
    url = f"http://{settings.http_listen}/webhooks/vagaro"
    async with (
        ClientSession() as session,
        session.post(url, data=json.dumps(event).encode(), headers=headers) as reply,
    ):
        return reply.status, await reply.json()


async def test_a_vagaro_appointment_marked_service_complete_invites_its_patient_once(
    telegram: FakeTelegram, vagaro_settings: Settings, clock: FakeClock
) -> None:
    async with running_bot(vagaro_settings, clock):
        status, answer = await from_vagaro(vagaro_settings, vagaro_event())
        assert status == 201
        assert answer["delivery"] == "none"  # no address in Vagaro's event, not linked yet
        # Vagaro reports the same appointment again (each report has its own id).
        again_status, again = await from_vagaro(vagaro_settings, vagaro_event(event_id="other"))
        assert (again_status, again) == (200, answer)
        patient = telegram.patient(602)
        await patient.send(f"/start {answer['code']}")
        assert "booking system" in (await patient.next_message()).text
        await patient.tap("I agree")
        assert (await patient.next_message()).text.startswith("Question 1 of 3")
    [event] = await rows_of(vagaro_settings.db, "visit_events")
    assert (event["source"], event["event_id"], event["patient_ref"]) == (
        "vagaro",
        "2dwfErtmMAFxe6hoCnQStw==-completed",
        "q9wDkHqJ5K3yR8eZ1oTq2g==",
    )
    [response] = await stored_responses(vagaro_settings.db)
    assert response.visit is not None
    assert (response.visit.treatment, response.visit.date) == ("neuromodulator", date(2026, 11, 2))


@pytest.mark.parametrize(
    ("status", "action", "kind"),
    [
        ("Confirmed", "created", "appointment"),
        ("Cancel", "updated", "appointment"),
        ("No Show", "updated", "appointment"),
        ("Service In Progress", "updated", "appointment"),
        ("Service Complete", "deleted", "appointment"),
        ("Service Complete", "updated", "transaction"),
    ],
)
async def test_a_vagaro_booking_cancellation_or_no_show_invites_nobody(
    vagaro_settings: Settings, clock: FakeClock, status: str, action: str, kind: str
) -> None:
    async with running_bot(vagaro_settings, clock):
        reply, answer = await from_vagaro(vagaro_settings, vagaro_event(status, action, kind=kind))
    assert reply == 200  # taken, so that Vagaro does not send it again
    assert "ignored" in answer
    assert await rows_in(vagaro_settings.db, "visits", "visit_events") == {
        "visits": 0,
        "visit_events": 0,
    }


@pytest.mark.parametrize("token", [None, "", "not-the-verification-token", VAGARO_TOKEN[:-1]])
async def test_a_vagaro_call_without_its_token_is_refused_and_nothing_stored(
    vagaro_settings: Settings, clock: FakeClock, token: str | None
) -> None:
    async with running_bot(vagaro_settings, clock):
        status, _ = await from_vagaro(vagaro_settings, vagaro_event(), token)
    assert status == 401
    assert await rows_in(vagaro_settings.db, "visits") == {"visits": 0}
