"""Send a duty digest by e-mail over SMTP (the `smtp:` section of the config).

Security is explicit: ``starttls`` (submission port 587, RFC 3207), ``ssl`` (implicit
TLS, port 465, RFC 8314) or ``none`` for a relay on a trusted network. The password
comes from the config's Secret (env or file), is given to `smtplib` only, and never
appears in a log line or an error message. Recipients are tracker user ids (as in the
role directory) translated through `smtp.addresses`; an id that is already an address
needs no entry.
"""

from __future__ import annotations

import logging
import smtplib
import ssl
from collections.abc import Iterable
from datetime import datetime
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from pathlib import Path

from plugin.config import ConfigError, SmtpConfig

log = logging.getLogger("escalator.mail")


class MailError(Exception):
    """The digest could not be sent; one line naming the server and what went wrong."""


def addresses_for(config: SmtpConfig, people: Iterable[str]) -> list[str]:
    """Tracker user ids -> e-mail addresses, in order, without duplicates. MailError for unknown ids."""
    found: list[str] = []
    unknown: list[str] = []
    for person in people:
        address = config.addresses.get(person) or (person if "@" in person else None)
        if address is None:
            unknown.append(person)
        elif address not in found:
            found.append(address)
    if unknown:
        raise MailError(f"smtp.addresses: no e-mail address for {', '.join(unknown)}")
    return found


def build_message(config: SmtpConfig, to: list[str], subject: str, text: str, *, html: str | None = None,
                  now: datetime | None = None) -> EmailMessage:
    message = EmailMessage()
    message["Subject"] = subject
    message["From"] = config.sender
    message["To"] = ", ".join(to)
    if now is not None:
        message["Date"] = format_datetime(now)
    domain = config.sender.rpartition("@")[2] or None
    message["Message-ID"] = make_msgid(domain=domain)
    message.set_content(text)
    if html is not None:
        message.add_alternative(html, subtype="html")
    return message


def send_digest(config: SmtpConfig, base_dir: Path, people: Iterable[str], subject: str, text: str, *,
                html: str | None = None, now: datetime | None = None,
                tls_context: ssl.SSLContext | None = None) -> list[str]:
    """Send one digest to `people` (user ids or addresses); returns the addresses it went to.

    `tls_context` lets a test trust its own certificate; by default the system's CAs are used.
    """
    to = addresses_for(config, people)
    if not to:
        return []
    message = build_message(config, to, subject, text, html=html, now=now)
    where = f"smtp {config.host}:{config.port}"
    password = None
    if config.username:
        if config.password is None:
            raise ConfigError("smtp.password: needed with smtp.username (give `env` or `file`)")
        password = config.password.resolve("smtp.password", base_dir)
    context = tls_context or ssl.create_default_context()
    try:
        if config.security == "ssl":
            client: smtplib.SMTP = smtplib.SMTP_SSL(config.host, config.port, timeout=config.timeout,
                                                    context=context)
        else:
            client = smtplib.SMTP(config.host, config.port, timeout=config.timeout)
        with client:
            client.ehlo()
            if config.security == "starttls":
                client.starttls(context=context)
                client.ehlo()
            if config.username and password is not None:
                client.login(config.username, password)
            refused = client.send_message(message, from_addr=config.sender, to_addrs=to)
    except smtplib.SMTPAuthenticationError as exc:
        raise MailError(f"{where}: authentication failed for {config.username!r} ({exc.smtp_code})") from None
    except smtplib.SMTPRecipientsRefused as exc:
        raise MailError(f"{where}: every recipient refused: {', '.join(exc.recipients)}") from None
    except smtplib.SMTPNotSupportedError as exc:
        raise MailError(f"{where}: the server does not support it: {exc}") from None
    except smtplib.SMTPResponseException as exc:
        raise MailError(f"{where}: refused with {exc.smtp_code}: {_text(exc.smtp_error)}") from None
    except (smtplib.SMTPException, OSError) as exc:
        raise MailError(f"{where}: {type(exc).__name__}: {exc}") from None
    sent = [a for a in to if a not in refused]
    if refused:
        log.warning("mail.recipients-refused", extra={"refused": sorted(refused), "subject": subject})
    log.info("mail.sent", extra={"to": sent, "subject": subject})
    return sent


def _text(value: bytes | str) -> str:
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else value
