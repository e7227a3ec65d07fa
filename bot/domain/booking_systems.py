"""Booking systems' own webhooks, read as the visits they announce.

Each system posts its events in its own shape; only a finished visit becomes a `VisitEvent`.
Everything else (a booking, a cancellation, a no-show) is read and let go, with the reason.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from pydantic import BaseModel, ConfigDict, ValidationError
from pydantic.alias_generators import to_camel

from bot.domain.intake import EMAIL_PATTERN, IntakePatient, VisitEvent

MINDBODY = "mindbody"
VAGARO = "vagaro"

# Mindbody's events about one appointment; its status says whether the visit took place.
_MINDBODY_APPOINTMENT_EVENTS = frozenset(
    {"appointmentBooking.created", "appointmentBooking.updated"}
)
_MINDBODY_DONE = "completed"
# Vagaro's appointment events: created, updated, deleted; bookingStatus says how it went.
_VAGARO_APPOINTMENT = "appointment"
_VAGARO_DONE = "service complete"


@dataclass(frozen=True, slots=True)
class NotAVisit:
    """An event that announces no finished visit, and why (for the sender and the log)."""

    reason: str


class _MindbodyAppointment(BaseModel):
    """The fields of Mindbody's appointment event data that a visit needs (camelCase there)."""

    model_config = ConfigDict(extra="ignore", alias_generator=to_camel)

    site_id: int | str
    appointment_id: int | str
    status: str
    start_date_time: datetime
    client_id: int | str
    client_first_name: str | None = None
    client_email: str | None = None
    session_type_name: str | None = None
    appointment_name: str | None = None
    staff_first_name: str | None = None
    staff_last_name: str | None = None
    location_name: str | None = None


class _MindbodyEvent(BaseModel):
    model_config = ConfigDict(extra="ignore", alias_generator=to_camel)

    event_id: str
    event_data: dict[str, object]


def mindbody_visit(payload: object, zone: ZoneInfo) -> VisitEvent | NotAVisit:
    """The finished visit a Mindbody webhook event announces, if it announces one.

    Mindbody's times are the site's local time without an offset: read in the clinic's zone.
    One appointment completes once, however often Mindbody says so (an edit after the visit
    sends the event again), so its event id is the site's and the appointment's.
    """
    try:
        event = _MindbodyEvent.model_validate(payload)
    except ValidationError:
        return NotAVisit("not a Mindbody event (no eventId and eventData)")
    if event.event_id not in _MINDBODY_APPOINTMENT_EVENTS:
        return NotAVisit(f"{event.event_id} is not about an appointment")
    try:
        appointment = _MindbodyAppointment.model_validate(event.event_data)
    except ValidationError as error:
        fields = ", ".join(".".join(str(p) for p in e["loc"]) for e in error.errors())
        return NotAVisit(f"the appointment lacks {fields}")
    if appointment.status.strip().lower() != _MINDBODY_DONE:
        return NotAVisit(f"the appointment is {appointment.status}, not completed")
    treatment = appointment.session_type_name or appointment.appointment_name
    if not treatment:
        return NotAVisit("the appointment names no session type")
    staff = " ".join(n for n in (appointment.staff_first_name, appointment.staff_last_name) if n)
    start = appointment.start_date_time
    try:
        return VisitEvent(
            event_id=f"{appointment.site_id}-{appointment.appointment_id}-completed",
            patient=IntakePatient(
                id=str(appointment.client_id),
                # An address Mindbody holds mistyped is left out, not the visit with it.
                email=_address(appointment.client_email),
                first_name=appointment.client_first_name or None,
            ),
            treatment=treatment,
            provider=staff or None,
            location=appointment.location_name or None,
            visit_at=start if start.tzinfo is not None else start.replace(tzinfo=zone),
        )
    except ValidationError as error:
        fields = ", ".join(".".join(str(p) for p in e["loc"]) for e in error.errors())
        return NotAVisit(f"the appointment's {fields} cannot be read")


def _address(email: str | None) -> str | None:
    if email is None or not re.fullmatch(EMAIL_PATTERN, email.strip()) or len(email) > 254:
        return None
    return email.strip()


class _VagaroAppointment(BaseModel):
    """The fields of Vagaro's appointment payload that a visit needs (camelCase there)."""

    model_config = ConfigDict(extra="ignore", alias_generator=to_camel)

    appointment_id: str
    booking_status: str
    start_time: datetime
    customer_id: str
    service_title: str | None = None


class _VagaroEvent(BaseModel):
    model_config = ConfigDict(extra="ignore", alias_generator=to_camel)

    type: str
    action: str
    payload: dict[str, object]


def vagaro_visit(payload: object, zone: ZoneInfo) -> VisitEvent | NotAVisit:
    """The finished visit a Vagaro webhook event announces, if it announces one.

    Vagaro's times are UTC (`Z`); one without an offset is read in the clinic's zone. An
    appointment completes once, however often Vagaro reports it (each report has its own
    event id), so the event's id is the appointment's. Vagaro's appointment events carry
    no e-mail address nor provider name: the patient is asked in Telegram if linked, else
    the clinic sends the link.
    """
    try:
        event = _VagaroEvent.model_validate(payload)
    except ValidationError:
        return NotAVisit("not a Vagaro event (no type, action and payload)")
    if event.type != _VAGARO_APPOINTMENT:
        return NotAVisit(f"a {event.type} event is not about an appointment")
    if event.action == "deleted":
        return NotAVisit("the appointment was deleted")
    try:
        appointment = _VagaroAppointment.model_validate(event.payload)
    except ValidationError as error:
        fields = ", ".join(".".join(str(p) for p in e["loc"]) for e in error.errors())
        return NotAVisit(f"the appointment lacks {fields}")
    if appointment.booking_status.strip().lower() != _VAGARO_DONE:
        return NotAVisit(f"the appointment is {appointment.booking_status}, not Service Complete")
    if not appointment.service_title:
        return NotAVisit("the appointment names no service")
    start = appointment.start_time
    try:
        return VisitEvent(
            event_id=f"{appointment.appointment_id}-completed",
            patient=IntakePatient(id=appointment.customer_id),
            treatment=appointment.service_title,
            visit_at=start if start.tzinfo is not None else start.replace(tzinfo=zone),
        )
    except ValidationError as error:
        fields = ", ".join(".".join(str(p) for p in e["loc"]) for e in error.errors())
        return NotAVisit(f"the appointment's {fields} cannot be read")
