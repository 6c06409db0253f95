"""What the simulator remembers, behind a small interface so it can move to disk later.

Handlers are `async def` and never await between a read and the write that depends on it,
so on the one event loop every check-then-record (a duplicate, a redeemed token) is atomic.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Protocol


@dataclass
class KsefToken:
    token: str
    nip: str
    reference_number: str
    created: datetime


@dataclass
class Challenge:
    challenge: str
    timestamp: datetime
    used: bool = False


@dataclass
class AuthOperation:
    reference_number: str
    authentication_token: str
    nip: str
    started: datetime
    status_code: int
    status_description: str
    details: list[str] = field(default_factory=list)
    token_reference: str | None = None
    redeemed: bool = False
    last_refresh: datetime | None = None
    refresh_valid_until: datetime | None = None


@dataclass
class Grant:
    """An access or refresh token handed out for an authentication operation."""

    token: str
    kind: str  # "access" or "refresh"
    nip: str
    auth_reference: str
    valid_until: datetime


@dataclass
class BatchPart:
    """One declared part of a batch package: its encrypted size and hash, then its bytes."""

    ordinal_number: int
    size: int
    file_hash: str
    content: bytes | None = None  # set by the pre-signed upload


@dataclass
class BatchPackage:
    """What a batch session declared when it opened, and what processing made of it."""

    size: int
    file_hash: str
    compression: str  # "Zip" or "TarGz"
    parts: dict[int, BatchPart]
    upload_until: datetime  # the pre-signed URLs' expiry: 20 minutes per declared part
    offline_mode: bool = False
    processed: datetime | None = None
    # A package-level verdict (405, 415, 420, 430, 435, 440, 500), None when the invoices
    # inside decide the session's status.
    error: tuple[int, str, list[str]] | None = None


@dataclass
class Session:
    """An online session, or a batch session when `batch` is set."""

    reference_number: str
    nip: str
    auth_reference: str
    form_code: tuple[str, str, str]
    created: datetime
    updated: datetime
    valid_until: datetime
    key: bytes | None  # None when the encrypted key did not decrypt (status 415)
    iv: bytes
    closed: datetime | None = None
    upo_reference: str | None = None
    invoices: list[str] = field(default_factory=list)
    batch: BatchPackage | None = None


# The name from when every session was an online one.
OnlineSession = Session


@dataclass
class Invoice:
    reference_number: str
    session_reference: str
    ordinal: int
    invoice_hash: str
    received: datetime
    ready_at: datetime
    status_code: int
    status_description: str
    details: list[str] = field(default_factory=list)
    extensions: dict[str, str] = field(default_factory=dict)
    ksef_number: str | None = None
    invoice_number: str | None = None
    seller_nip: str | None = None
    issue_date: date | None = None
    acquired: datetime | None = None
    file_name: str | None = None  # the file's name in a batch package


class Store(Protocol):
    def add_ksef_token(self, token: KsefToken) -> None: ...
    def ksef_token(self, token: str) -> KsefToken | None: ...
    def add_challenge(self, challenge: Challenge) -> None: ...
    def challenge(self, challenge: str) -> Challenge | None: ...
    def add_auth(self, operation: AuthOperation) -> None: ...
    def auth(self, reference_number: str) -> AuthOperation | None: ...
    def add_grant(self, grant: Grant) -> None: ...
    def grant(self, token: str) -> Grant | None: ...
    def add_session(self, session: Session) -> None: ...
    def session(self, reference_number: str) -> Session | None: ...
    def add_invoice(self, invoice: Invoice) -> None: ...
    def invoice(self, reference_number: str) -> Invoice | None: ...
    def registered(self, seller_nip: str, kind: str, number: str) -> Invoice | None:
        """The invoice already registered under (seller NIP, RodzajFaktury, P_2), if any."""
        ...

    def register(self, seller_nip: str, kind: str, number: str, invoice: Invoice) -> None: ...


class MemoryStore:
    """The store of this slice: dictionaries, gone when the process stops."""

    def __init__(self) -> None:
        self._tokens: dict[str, KsefToken] = {}
        self._challenges: dict[str, Challenge] = {}
        self._auth: dict[str, AuthOperation] = {}
        self._grants: dict[str, Grant] = {}
        self._sessions: dict[str, Session] = {}
        self._invoices: dict[str, Invoice] = {}
        self._registered: dict[tuple[str, str, str], Invoice] = {}

    def add_ksef_token(self, token: KsefToken) -> None:
        self._tokens[token.token] = token

    def ksef_token(self, token: str) -> KsefToken | None:
        return self._tokens.get(token)

    def add_challenge(self, challenge: Challenge) -> None:
        self._challenges[challenge.challenge] = challenge

    def challenge(self, challenge: str) -> Challenge | None:
        return self._challenges.get(challenge)

    def add_auth(self, operation: AuthOperation) -> None:
        self._auth[operation.reference_number] = operation

    def auth(self, reference_number: str) -> AuthOperation | None:
        return self._auth.get(reference_number)

    def add_grant(self, grant: Grant) -> None:
        self._grants[grant.token] = grant

    def grant(self, token: str) -> Grant | None:
        return self._grants.get(token)

    def add_session(self, session: Session) -> None:
        self._sessions[session.reference_number] = session

    def session(self, reference_number: str) -> Session | None:
        return self._sessions.get(reference_number)

    def add_invoice(self, invoice: Invoice) -> None:
        self._invoices[invoice.reference_number] = invoice

    def invoice(self, reference_number: str) -> Invoice | None:
        return self._invoices.get(reference_number)

    def registered(self, seller_nip: str, kind: str, number: str) -> Invoice | None:
        return self._registered.get((seller_nip, kind, number))

    def register(self, seller_nip: str, kind: str, number: str, invoice: Invoice) -> None:
        self._registered[(seller_nip, kind, number)] = invoice
