"""Where e-mail goes: the SMTP server an address like `smtp://user:pass@host:587` names."""

from __future__ import annotations

from dataclasses import dataclass, field
from urllib.parse import unquote, urlsplit


@dataclass(frozen=True, slots=True)
class SmtpServer:
    """Where e-mail goes: `smtp://` (STARTTLS when offered) or `smtps://` (TLS from the start)."""

    host: str
    port: int
    implicit_tls: bool
    username: str | None = field(default=None, repr=False)
    password: str | None = field(default=None, repr=False)

    @classmethod
    def parse(cls, url: str) -> SmtpServer:
        """Read `smtp[s]://[user:password@]host[:port]`; a `ValueError` never holds the URL."""
        parts = urlsplit(url.strip())
        if parts.scheme not in {"smtp", "smtps"}:
            raise ValueError("must start with smtp:// or smtps://")
        try:
            port = parts.port
        except ValueError:
            raise ValueError("has a port that is not a number from 1 to 65535") from None
        if not parts.hostname:
            raise ValueError("must name the server: smtp://[user:password@]host[:port]")
        if parts.path not in {"", "/"} or parts.query or parts.fragment:
            raise ValueError("must be only smtp://[user:password@]host[:port]")
        implicit_tls = parts.scheme == "smtps"
        return cls(
            host=parts.hostname,
            port=port or (_SMTPS_PORT if implicit_tls else _SUBMISSION_PORT),
            implicit_tls=implicit_tls,
            username=unquote(parts.username) if parts.username else None,
            password=unquote(parts.password) if parts.password else None,
        )


# Mail submission's ports: 587 with STARTTLS, 465 with TLS from the start (RFC 8314).
_SUBMISSION_PORT = 587
_SMTPS_PORT = 465
