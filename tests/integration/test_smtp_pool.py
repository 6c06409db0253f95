"""einvoice.smtp.SmtpPool against a real SMTP server (aiosmtpd): many messages per
connection, and a connection the server dropped is replaced without losing the message."""

from __future__ import annotations

import socket
from email.message import EmailMessage

import pytest
from aiosmtpd.controller import Controller

from einvoice.smtp import SmtpPool, SmtpServer

pytestmark = [pytest.mark.integration]


class Counting:
    def __init__(self) -> None:
        self.greetings = 0
        self.accepted: list[str] = []

    async def handle_EHLO(self, server, session, envelope, hostname, responses):  # noqa: N802
        self.greetings += 1
        session.host_name = hostname
        return responses

    async def handle_DATA(self, server, session, envelope) -> str:  # noqa: N802
        self.accepted += envelope.rcpt_tos
        return "250 OK"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def message(n: int) -> EmailMessage:
    mail = EmailMessage()
    mail["From"] = "faktury@example.pl"
    mail["To"] = f"klient{n}@example.pl"
    mail["Subject"] = f"Faktura {n} — zażółć"
    mail.set_content("Treść: ąćęłńóśźż")
    return mail


async def test_one_connection_carries_many_messages_and_a_dropped_one_is_replaced() -> None:
    handler = Counting()
    port = free_port()
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    pool = SmtpPool(per_server=2)
    server = SmtpServer("127.0.0.1", port)
    try:
        for n in range(10):
            await pool.send(server, message(n))
        assert len(handler.accepted) == 10
        assert handler.greetings == 1, "sent one after the other: one connection"

        controller.stop()  # the server goes away and comes back: pooled connections are dead
        controller = Controller(handler, hostname="127.0.0.1", port=port)
        controller.start()
        await pool.send(server, message(10))
        assert handler.accepted[-1] == "klient10@example.pl"
        assert len(handler.accepted) == 11, "the message went out once, on a new connection"
    finally:
        await pool.close()
        controller.stop()
