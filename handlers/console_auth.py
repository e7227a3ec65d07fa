"""Sign-in to the staff console by Telegram: the launch data a Mini App is opened with.

Telegram's clients pass the page its launch data (`initData`): the user, `auth_date` and a
`hash`, signed with a key derived from the bot token. As Telegram documents it: the fields
but `hash`, sorted by name, as `name=value` lines, HMAC-SHA256 with the key
HMAC-SHA256("WebAppData", bot token), hex. python-telegram-bot leaves this to its users.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from urllib.parse import parse_qsl

# Telegram stamps `auth_date` on its servers: a server clock a little behind is no forgery.
CLOCK_SKEW = timedelta(minutes=1)
# The launch data is a query string of a few short fields; anything longer is not Telegram's.
MAX_LAUNCH_DATA = 4096


@dataclass(frozen=True, slots=True)
class ConsoleUser:
    """Who opened the console, as Telegram signed it."""

    id: int
    first_name: str
    last_name: str
    language_code: str | None

    @property
    def name(self) -> str:
        """The name staff know them by, as Telegram shows it."""
        return f"{self.first_name} {self.last_name}".strip()


class Refusal(StrEnum):
    """Why launch data does not sign anyone in."""

    MISSING = "missing"
    FORGED = "forged"
    EXPIRED = "expired"


def signed_in(
    launch_data: str, bot_token: str, *, now: datetime, lasts: timedelta
) -> ConsoleUser | Refusal:
    """The user the launch data signs in, or why it does not.

    Forged: not signed with this bot's key (any field changed), or not shaped as Telegram's.
    Expired: signed more than `lasts` ago, or in the future.
    """
    if not launch_data:
        return Refusal.MISSING
    if len(launch_data) > MAX_LAUNCH_DATA:
        return Refusal.FORGED
    try:
        fields = dict(parse_qsl(launch_data, keep_blank_values=True, strict_parsing=True))
    except ValueError:
        return Refusal.FORGED
    given = fields.pop("hash", "")
    if not hmac.compare_digest(given.encode(), _signature(fields, bot_token).encode()):
        return Refusal.FORGED
    try:
        signed_at = datetime.fromtimestamp(int(fields["auth_date"]), UTC)
        user = json.loads(fields["user"])
        person = ConsoleUser(
            id=int(user["id"]),
            first_name=str(user.get("first_name", "")),
            last_name=str(user.get("last_name", "")),
            language_code=user.get("language_code"),
        )
    except (KeyError, ValueError, TypeError, AttributeError, OverflowError, OSError):
        # Signed by this bot's key, but not as a Mini App launch (another of its signatures).
        return Refusal.FORGED
    if signed_at > now + CLOCK_SKEW or now - signed_at > lasts:
        return Refusal.EXPIRED
    return person


def _signature(fields: dict[str, str], bot_token: str) -> str:
    """Telegram's `hash` of the other fields: sorted `name=value` lines, keyed by the bot."""
    checked = "\n".join(f"{name}={value}" for name, value in sorted(fields.items()))
    secret = hmac.new(b"WebAppData", bot_token.encode(), hashlib.sha256).digest()
    return hmac.new(secret, checked.encode(), hashlib.sha256).hexdigest()
