"""E-mail invitations over SMTP: the message (plain text, HTML, inline QR code) and sending.

Patient-given text (the first name) is never markup: the HTML part escapes it, and headers
take it only without control characters. Nothing here logs an address or a password.
"""

from __future__ import annotations

import html
import logging
import re
from collections.abc import Callable
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import formataddr
from typing import Any
from zoneinfo import ZoneInfo

import aiosmtplib

from bot.domain.intake import OwedMail
from bot.domain.mail import SmtpServer
from bot.domain.models import Visit
from bot.domain.surveys import SurveyCatalog
from bot.qr import qr_png
from bot.services.invitations import invitation_link
from bot.services.mail import MailAccepted, MailDeferred, MailOutcome, MailRejected
from handlers.texts import CATALOGUES
from handlers.texts.formatting import describe_visit

logger = logging.getLogger(__name__)

SMTP_TIMEOUT = 30.0
_PERMANENT = 500
_ENHANCED_STATUS = re.compile(r"^\d\.\d{1,3}\.\d{1,3}")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_QR_CID = "qr-code"


class InvitationMessages:
    """Words an invitation e-mail, in the patient's language, from the clinic's name."""

    def __init__(
        self,
        mail_from: str,
        clinic_name: str | None,
        surveys: SurveyCatalog,
        bot_username: Callable[[], str],
        zone: ZoneInfo,
    ) -> None:
        self._from = mail_from
        self._clinic = clinic_name
        self._surveys = surveys
        self._bot_username = bot_username
        self._zone = zone

    def compose(self, mail: OwedMail) -> EmailMessage:
        """The message: plain text, and HTML with the link and its QR code inline."""
        language = mail.language if mail.language in CATALOGUES else None
        language = language or self._surveys.default_language
        texts = CATALOGUES[language]
        invitation = mail.invitation
        clinic = texts.clinic(self._clinic)
        treatment = texts.your_treatment
        if invitation.visit.treatment:
            treatment = describe_visit(Visit(invitation.visit.treatment), self._surveys, language)
        link = invitation_link(self._bot_username(), invitation.code)
        name = _CONTROL.sub("", mail.first_name or "").strip()
        greeting = texts.mail_greeting_named.format(name=name) if name else texts.mail_greeting
        body = texts.mail_body.format(clinic=clinic, treatment=treatment)
        until = texts.mail_valid_until.format(
            date=invitation.expires_at.astimezone(self._zone).date().isoformat()
        )
        why = texts.mail_why.format(clinic=clinic)

        message = EmailMessage()
        message["Subject"] = texts.mail_subject.format(clinic=clinic)
        message["From"] = formataddr((_CONTROL.sub("", clinic), self._from))
        message["To"] = formataddr((name, mail.address))
        domain = Address(addr_spec=self._from).domain
        # One id per invitation: a copy sent again after a crash is recognisably the same.
        message["Message-ID"] = f"<invitation-{invitation.code}@{domain}>"
        message.set_content(f"{greeting}\n\n{body}\n\n{link}\n\n{until}\n\n-- \n{why}\n")
        message.add_alternative(
            _html(
                greeting=greeting,
                body=body,
                link=link,
                open_label=texts.mail_open,
                scan=texts.mail_scan,
                until=until,
                why=why,
            ),
            subtype="html",
        )
        html_part = next(p for p in message.iter_parts() if p.get_content_type() == "text/html")
        html_part.add_related(
            qr_png(link), maintype="image", subtype="png", cid=f"<{_QR_CID}>", filename="qr.png"
        )
        return message


def _html(  # noqa: PLR0913 - the message's parts, each escaped here
    *, greeting: str, body: str, link: str, open_label: str, scan: str, until: str, why: str
) -> str:
    e = html.escape
    return (
        '<!doctype html><html><body style="font-family:sans-serif;line-height:1.5">'
        f"<p>{e(greeting)}</p><p>{e(body)}</p>"
        f'<p><a href="{e(link)}" style="display:inline-block;padding:10px 18px;'
        f'background:#2a7ae2;color:#fff;text-decoration:none;border-radius:6px">'
        f"{e(open_label)}</a></p>"
        f'<p>{e(scan)}</p><p><img src="cid:{_QR_CID}" alt="{e(link)}" width="200" '
        'height="200"></p>'
        f'<p>{e(until)}<br><a href="{e(link)}">{e(link)}</a></p>'
        f'<p style="color:#666;font-size:small">{e(why)}</p></body></html>'
    )


class SmtpInvitationMailer:
    """Hands invitations to the clinic's SMTP server (STARTTLS when offered, or TLS)."""

    def __init__(self, server: SmtpServer, messages: InvitationMessages) -> None:
        self._server = server
        self._messages = messages

    async def send(self, mail: OwedMail) -> MailOutcome:
        """Send it; 5xx for the recipient or the message is final, anything else retried."""
        message = self._messages.compose(mail)
        server = self._server
        try:
            _, reply = await aiosmtplib.send(
                message,
                username=server.username,
                password=server.password,
                **_reaching(server),
            )
        except aiosmtplib.SMTPRecipientsRefused as refused:
            first = refused.recipients[0]
            return _judged(first.code, first.message)
        except aiosmtplib.SMTPDataError as error:
            return _judged(error.code, error.message)
        except (aiosmtplib.SMTPSenderRefused, aiosmtplib.SMTPAuthenticationError) as error:
            # The clinic's setting, not the patient's address: retried until it is fixed.
            logger.warning(
                "the SMTP server refused our login or FEEDBACK_MAIL_FROM (%s)",
                _reply(error.code, error.message),
            )
            return MailDeferred(_reply(error.code, error.message))
        except aiosmtplib.SMTPResponseException as error:
            return MailDeferred(_reply(error.code, error.message))
        except (aiosmtplib.SMTPException, OSError, TimeoutError) as error:
            logger.warning("the SMTP server could not be reached (%s)", type(error).__name__)
            return MailDeferred(f"not reached ({type(error).__name__})")
        return MailAccepted(_reply_text(reply))


def _reaching(server: SmtpServer) -> dict[str, Any]:
    """How aiosmtplib connects to the server, for sending and for checking alike."""
    return {
        "hostname": server.host,
        "port": server.port,
        "use_tls": server.implicit_tls,
        # None: STARTTLS when the server offers it, plain only if it does not.
        "start_tls": None if not server.implicit_tls else False,
        "timeout": SMTP_TIMEOUT,
    }


async def smtp_problem(server: SmtpServer) -> str | None:
    """Why the server would not take the bot's mail (connection, TLS, login), or `None`."""
    client = aiosmtplib.SMTP(**_reaching(server))
    try:
        await client.connect()
        if server.username is not None:
            await client.login(server.username, server.password or "")
        await client.quit()
    except aiosmtplib.SMTPAuthenticationError as error:
        return f"the server refused the login ({_reply(error.code, error.message)})"
    except aiosmtplib.SMTPResponseException as error:
        return f"the server refused the connection ({_reply(error.code, error.message)})"
    except (aiosmtplib.SMTPException, OSError, TimeoutError) as error:
        return f"cannot reach {server.host}:{server.port} ({type(error).__name__})"
    return None


def _judged(code: int, message: str) -> MailOutcome:
    reply = _reply(code, message)
    return MailRejected(reply) if code >= _PERMANENT else MailDeferred(reply)


def _reply(code: int, message: str) -> str:
    """The reply's code and enhanced status only: the text may quote the address."""
    status = _ENHANCED_STATUS.match(message.strip())
    return f"{code} {status.group(0)}" if status else str(code)


def _reply_text(reply: str) -> str:
    code, _, rest = reply.strip().partition(" ")
    return _reply(int(code), rest) if code.isdigit() else "accepted"
