"""Who on the clinic's team may do what: admins everything, staff the daily work.

`FEEDBACK_ADMINS` keep every permission. `FEEDBACK_STAFF` work cases and read the
summaries, but take no patient data away (`/export`) and read no audit trail: what a
front-desk or nursing team needs, and no more. Someone in both lists is an admin.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Role(StrEnum):
    """A place on the clinic's team."""

    ADMIN = "admin"
    STAFF = "staff"


class Permission(StrEnum):
    """Something a member of the team may be allowed to do."""

    WORK_CASES = "work_cases"
    """Claim, reply, resolve, note; open a case's details."""
    READ_REPORTS = "read_reports"
    """`/summary`, `/cases`, `/trend`, and the console."""
    MAKE_LINKS = "make_links"
    """`/invite`: a visit link for the patient at the desk."""
    EXPORT_DATA = "export_data"
    """`/export`: every patient's answers as a file."""
    READ_AUDIT = "read_audit"
    """`/audit`: who looked at what."""


GRANTED: dict[Role, frozenset[Permission]] = {
    Role.ADMIN: frozenset(Permission),
    Role.STAFF: frozenset({Permission.WORK_CASES, Permission.READ_REPORTS, Permission.MAKE_LINKS}),
}


@dataclass(frozen=True, slots=True)
class Roster:
    """The clinic's team by Telegram user id."""

    admins: frozenset[int]
    staff: frozenset[int] = frozenset()

    @property
    def members(self) -> frozenset[int]:
        """Everyone on the team, admins and staff."""
        return self.admins | self.staff

    def role(self, user_id: int) -> Role | None:
        """The person's role (`None`: not on the team)."""
        if user_id in self.admins:
            return Role.ADMIN
        if user_id in self.staff:
            return Role.STAFF
        return None

    def may(self, user_id: int, permission: Permission) -> bool:
        """Whether the person may do this."""
        role = self.role(user_id)
        return role is not None and permission in GRANTED[role]
