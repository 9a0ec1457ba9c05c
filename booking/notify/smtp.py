"""Talking to the mail server (smtplib), with its answers sorted into "try again" and "never".

SMTP_URL: smtp://host:port (STARTTLS, required unless the server is on this machine or the
URL ends in ?tls=off), smtps://host:port (TLS from the start); a user and password in the
URL are used to log in.
"""

from __future__ import annotations

import smtplib
import ssl
from email import policy
from email.message import EmailMessage
from email.utils import getaddresses, parseaddr
from typing import Protocol
from urllib.parse import parse_qs, unquote, urlsplit


class Unavailable(Exception):
    """The server cannot be used now (not reachable, TLS, login, the sender refused): every
    message would fare the same, so the sender stops this pass and tries again later."""


class Deferred(Exception):
    """The server would not take this message now (4xx for its recipient or content): try it later."""


class Refused(Exception):
    """The server refused this message for good (5xx for its recipient or content, e.g. no such mailbox)."""


class Transport(Protocol):
    def send(self, message: EmailMessage) -> str:
        """Hand the message over and return the server's answer, or raise Unavailable, Deferred or Refused."""


class SettingsError(ValueError):
    pass


LOOPBACK = {"127.0.0.1", "::1", "localhost"}


def _answer(code: int, text: bytes | str) -> str:
    text = text.decode(errors="replace") if isinstance(text, bytes) else text
    return f"{code} {text}".strip()


def _redacted(url: str) -> str:
    """The URL as it may be printed: without the password."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    return url.replace(f":{parts.password}@", ":***@", 1)


class SmtpTransport:
    """One connection to the server, opened when first needed and reused for a batch."""

    def __init__(self, url: str, timeout: float = 15):
        parts = urlsplit(url)
        if parts.scheme not in ("smtp", "smtps") or not parts.hostname:
            raise SettingsError(f"SMTP_URL must look like smtp://host:port or smtps://host:port, not {_redacted(url)!r}")
        self.host, self.secure = parts.hostname, parts.scheme == "smtps"
        try:
            self.port = parts.port or (465 if self.secure else 25)
        except ValueError:
            raise SettingsError(f"SMTP_URL has no usable port (a number up to 65535): {_redacted(url)!r}") from None
        self.user, self.password = unquote(parts.username or ""), unquote(parts.password or "")
        # Emails carry live manage links: over the network they go encrypted, unless the URL
        # says the network is private (?tls=off) or the server is on this machine.
        self.plain_allowed = parse_qs(parts.query).get("tls") == ["off"] or self.host in LOOPBACK
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
                elif not self.plain_allowed:
                    connection.close()
                    raise Unavailable(f"the mail server {self.host}:{self.port} does not offer STARTTLS, and emails "
                                      "carry private links; use smtps://, or add ?tls=off to SMTP_URL on a private network")
            if self.user:
                connection.login(self.user, self.password)
            self._connection = connection
        return self._connection

    def send(self, message: EmailMessage) -> str:
        sender = parseaddr(message["From"])[1]
        recipients = [address for _, address in getaddresses(message.get_all("To", []))]
        try:
            connection = self._connect()
            international = not all(address.isascii() for address in recipients)
            if international and not connection.has_extn("smtputf8"):
                connection.rset()
                raise Refused("the mail server cannot deliver to an address with letters outside ASCII")
            code, text = connection.mail(sender, ["SMTPUTF8"] if international else [])
            if code != 250:
                raise Unavailable(f"the mail server refused the sender {sender}: {_answer(code, text)}")
            for recipient in recipients:
                code, text = connection.rcpt(recipient)
                self._check(connection, code, text, recipient, accepted=(250, 251))
            # smtplib sends bytes as they are: the lines must already end in CRLF, as SMTP wants.
            code, text = connection.data(message.as_bytes(policy=policy.SMTPUTF8 if international else policy.SMTP))
            self._check(connection, code, text, "the message")
            return _answer(code, text)
        except (Refused, Deferred, Unavailable) as problem:
            if isinstance(problem, Unavailable):
                self._drop()
            raise
        except smtplib.SMTPDataError as error:  # DATA itself refused
            self._reset()
            answer = _answer(error.smtp_code, error.smtp_error)
            raise (Refused if 500 <= error.smtp_code < 600 else Deferred)(f"the message: {answer}") from None
        except smtplib.SMTPResponseException as error:  # greeting, STARTTLS, login
            self._drop()
            raise Unavailable(f"mail server {self.host}:{self.port}: {_answer(error.smtp_code, error.smtp_error)}") from None
        except (smtplib.SMTPException, OSError) as error:  # not reachable, dropped, TLS failed
            self._drop()
            raise Unavailable(f"mail server {self.host}:{self.port} not reachable: {error or type(error).__name__}") from None

    def _check(self, connection: smtplib.SMTP, code: int, text, what: str, accepted=(250,)) -> None:
        """A refusal of one recipient or of the content concerns this message only."""
        if code in accepted:
            return
        self._reset()
        answer = _answer(code, text)
        if 500 <= code < 600:
            raise Refused(f"{what}: {answer}")
        if 400 <= code < 500:
            raise Deferred(f"{what}: {answer}")
        raise Unavailable(f"{what}: {answer}")

    def _reset(self) -> None:
        """Start the next message clean on the same connection (or a new one if this is gone)."""
        try:
            if self._connection is not None:
                self._connection.rset()
        except (smtplib.SMTPException, OSError):
            self._drop()

    def _drop(self) -> None:
        if self._connection is not None:
            self._connection.close()
            self._connection = None
