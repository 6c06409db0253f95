"""A TCP relay in front of maildev's SMTP port that can refuse connections.

The chaos tenants' mailboxes point at the gate, so "SMTP refuses connections" is a fault
of their provider alone: while the gate is closed its port is not listening (a connect is
refused at once) and the connections it relayed are reset, as when a mail server goes down.
"""

from __future__ import annotations

import asyncio
import contextlib

CHUNK = 64 * 1024


class SmtpGate:
    def __init__(self, target_port: int, host: str = "127.0.0.1") -> None:
        self.host = host
        self.target_port = target_port
        self.port = 0
        self.relayed = 0  # connections relayed so far
        self.refused_since: float | None = None
        self._server: asyncio.Server | None = None
        self._open: set[asyncio.StreamWriter] = set()
        self._relays: set[asyncio.Task] = set()

    @property
    def is_open(self) -> bool:
        return self._server is not None

    async def open(self) -> None:
        """Listen (on the same port as before, once one was chosen)."""
        if self._server is not None:
            return
        self._server = await asyncio.start_server(self._relay, self.host, self.port)
        self.port = self._server.sockets[0].getsockname()[1]
        self.refused_since = None

    async def close(self) -> int:
        """Stop listening and reset every relayed connection; returns how many were reset."""
        server, self._server = self._server, None
        if server is None:
            return 0
        server.close()
        self.refused_since = asyncio.get_running_loop().time()
        reset = len(self._open)
        for writer in list(self._open):
            writer.transport.abort()
        self._open.clear()
        await asyncio.gather(*self._relays, return_exceptions=True)
        await server.wait_closed()
        return reset

    async def _relay(self, client_r: asyncio.StreamReader, client_w: asyncio.StreamWriter):
        try:
            server_r, server_w = await asyncio.open_connection(self.host, self.target_port)
        except OSError:
            client_w.transport.abort()
            return
        self.relayed += 1
        self._open |= {client_w, server_w}
        task = asyncio.current_task()
        self._relays.add(task)
        try:
            await asyncio.gather(_pipe(client_r, server_w), _pipe(server_r, client_w))
        finally:
            self._relays.discard(task)
            for writer in (client_w, server_w):
                self._open.discard(writer)
                writer.transport.abort()


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    with contextlib.suppress(ConnectionError, OSError):
        while data := await reader.read(CHUNK):
            writer.write(data)
            await writer.drain()
    with contextlib.suppress(ConnectionError, OSError, RuntimeError):
        writer.write_eof()
