"""A real SMTP server for the tests (aiosmtpd on 127.0.0.1), and what it received, parsed."""

from __future__ import annotations

import socket
import threading
from email import message_from_bytes
from email.message import EmailMessage
from email.policy import EmailPolicy

from aiosmtpd.controller import Controller


class _AsMailAppsRead(EmailPolicy):
    """Headers as mail apps show them. A sender may fold a long subject right after its colon
    ("Subject:\\r\\n Booking confirmed: ...", as Python's own folding does when the subject fits a
    line of its own); mail apps show it without the leading space, and so do the tests."""

    def header_source_parse(self, sourcelines):
        name, value = super().header_source_parse(sourcelines)
        return name, value.lstrip(" \t\r\n")


READ_AS_MAIL_APPS = _AsMailAppsRead()


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class _Handler:
    def __init__(self, server: MailServer):
        self.server = server

    async def handle_MAIL(self, server, session, envelope, address, mail_options):
        if self.server.refuse_sender:
            return self.server.refuse_sender
        envelope.mail_from = address
        envelope.mail_options.extend(mail_options)
        return "250 OK"

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address in self.server.bouncing:
            return "550 5.1.1 No such mailbox here"
        if address in self.server.busy:
            return "450 4.2.1 Mailbox busy, try later"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        if any(address in self.server.spam for address in envelope.rcpt_tos):
            return "554 5.7.1 Message rejected as spam"
        message = message_from_bytes(envelope.content, policy=READ_AS_MAIL_APPS)
        with self.server.lock:
            self.server.received.append(message)
        return "250 2.0.0 Queued as test-%d" % len(self.server.received)


class MailServer:
    """Start, stop and start again on the same port, as a mail server that goes down and comes back."""

    def __init__(self):
        self.port = free_port()
        self.received: list[EmailMessage] = []
        self.bouncing: set[str] = set()  # refused at RCPT for good (550)
        self.busy: set[str] = set()  # refused at RCPT for now (450)
        self.spam: set[str] = set()  # refused at DATA for good (554)
        self.refuse_sender: str | None = None  # a reply to every MAIL FROM, e.g. "530 Authentication required"
        self.lock = threading.Lock()
        self._controller: Controller | None = None

    @property
    def url(self) -> str:
        return f"smtp://127.0.0.1:{self.port}"

    def start(self) -> MailServer:
        self._controller = Controller(_Handler(self), hostname="127.0.0.1", port=self.port)
        self._controller.start()
        return self

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None

    def to(self, address: str) -> list[EmailMessage]:
        return [message for message in self.received if message["To"] == address]


def text_of(message: EmailMessage) -> str:
    return message.get_body(preferencelist=("plain",)).get_content()


def html_of(message: EmailMessage) -> str:
    return message.get_body(preferencelist=("html",)).get_content()


def calendar_of(message: EmailMessage) -> bytes | None:
    for part in message.iter_attachments():
        if part.get_content_type() == "text/calendar":
            return part.get_payload(decode=True)
    return None
