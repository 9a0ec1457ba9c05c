"""Talking to the mail server (smtplib), with its answers sorted into "try again" and "never".

SMTP_URL: smtp://host:port (STARTTLS when the server offers it), smtps://host:port (TLS
from the start); a user and password in the URL are used to log in.
"""

from __future__ import annotations

import smtplib
import ssl
from email import policy
from email.message import EmailMessage
from email.utils import getaddresses, parseaddr
from typing import Protocol
from urllib.parse import unquote, urlsplit


class Unavailable(Exception):
    """The server could not take the message now (down, busy, 4xx): try again later."""


class Refused(Exception):
    """The server refused the message for good (5xx, e.g. no such mailbox): do not retry."""


class Transport(Protocol):
    def send(self, message: EmailMessage) -> str:
        """Hand the message over and return the server's answer, or raise Unavailable/Refused."""


class SettingsError(ValueError):
    pass


def _answer(code: int, text: bytes | str) -> str:
    text = text.decode(errors="replace") if isinstance(text, bytes) else text
    return f"{code} {text}".strip()


class SmtpTransport:
    """One connection to the server, opened when first needed and reused for a batch."""

    def __init__(self, url: str, timeout: float = 15):
        parts = urlsplit(url)
        if parts.scheme not in ("smtp", "smtps") or not parts.hostname:
            raise SettingsError(f"SMTP_URL must look like smtp://host:port or smtps://host:port, not {url!r}")
        self.host, self.secure = parts.hostname, parts.scheme == "smtps"
        self.port = parts.port or (465 if self.secure else 25)
        self.user, self.password = unquote(parts.username or ""), unquote(parts.password or "")
        self.timeout = timeout
        self._connection: smtplib.SMTP | None = None

    def __enter__(self) -> SmtpTransport:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        if self._connection is not None:
            try:
                self._connection.quit()
            except (smtplib.SMTPException, OSError):
                self._connection.close()
            self._connection = None

    def _connect(self) -> smtplib.SMTP:
        if self._connection is None:
            context = ssl.create_default_context()
            if self.secure:
                connection = smtplib.SMTP_SSL(self.host, self.port, timeout=self.timeout, context=context)
            else:
                connection = smtplib.SMTP(self.host, self.port, timeout=self.timeout)
                connection.ehlo()
                if connection.has_extn("starttls"):
                    connection.starttls(context=context)
                    connection.ehlo()
            if self.user:
                connection.login(self.user, self.password)
            self._connection = connection
        return self._connection

    def send(self, message: EmailMessage) -> str:
        sender = parseaddr(message["From"])[1]
        recipients = [address for _, address in getaddresses(message.get_all("To", []))]
        try:
            connection = self._connect()
            code, text = connection.mail(sender)
            self._check(connection, code, text, "sender")
            for recipient in recipients:
                code, text = connection.rcpt(recipient)
                self._check(connection, code, text, recipient, accepted=(250, 251))
            # smtplib sends bytes as they are: the lines must already end in CRLF, as SMTP wants.
            code, text = connection.data(message.as_bytes(policy=policy.SMTP))
            self._check(connection, code, text, "message")
            return _answer(code, text)
        except (Refused, Unavailable):
            raise
        except smtplib.SMTPAuthenticationError as error:
            self._drop()
            raise Unavailable(f"could not log in to the mail server: {_answer(error.smtp_code, error.smtp_error)}") from None
        except smtplib.SMTPResponseException as error:  # e.g. DATA refused
            self._drop()
            answer = _answer(error.smtp_code, error.smtp_error)
            raise (Refused if 500 <= error.smtp_code < 600 else Unavailable)(f"message: {answer}") from None
        except (smtplib.SMTPException, OSError) as error:
            self._drop()
            raise Unavailable(f"mail server {self.host}:{self.port} not reachable: {error or type(error).__name__}") from None

    def _check(self, connection: smtplib.SMTP, code: int, text, what: str, accepted=(250,)) -> None:
        if code in accepted:
            return
        try:
            connection.rset()  # so the next message starts clean on the same connection
        except (smtplib.SMTPException, OSError):
            self._drop()
        answer = _answer(code, text)
        if 500 <= code < 600:
            raise Refused(f"{what}: {answer}")
        raise Unavailable(f"{what}: {answer}")

    def _drop(self) -> None:
        if self._connection is not None:
            self._connection.close()
            self._connection = None
