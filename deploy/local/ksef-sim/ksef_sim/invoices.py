"""What KSeF checks in an invoice (`faktury/weryfikacja-faktury.md`), online or in a batch.

Online, the encrypted content's size and hash are checked on receipt (400 21402/21403); in
a batch, the package's (`batch.py`). Everything after decryption decides the invoice's
status, by the same `verify_plain` and `settle` on both paths: 435 it does not decrypt,
430 the file fails verification (sizes, hashes, FA(3) schema), 410 the seller is not the
session's context, 450 semantics (a bad seller NIP, `P_1` after the day it reached KSeF),
440 a duplicate of (seller NIP, RodzajFaktury, P_2), else 200 with a KSeF number.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from dataclasses import dataclass, field
from datetime import date, datetime
from zoneinfo import ZoneInfo

from cryptography.hazmat.primitives import padding as sym_padding
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from lxml import etree

import fa3

from .errors import KsefError, invalid_input
from .models import SendInvoiceRequest
from .numbers import ksef_number, nip_checksum_ok, reference_number, technical_part
from .store import Invoice, Session, Store

WARSAW = ZoneInfo("Europe/Warsaw")
NS = {"fa": fa3.NAMESPACE}
MAX_INVOICE_BYTES = 1_000_000


def b64_sha256(data: bytes) -> str:
    return base64.b64encode(hashlib.sha256(data).digest()).decode()


def encrypted_content(body: SendInvoiceRequest) -> bytes:
    """The encrypted invoice, its declared size and hash checked (400 on a mismatch)."""
    try:
        content = base64.b64decode(body.encrypted_invoice_content, validate=True)
    except (ValueError, binascii.Error) as exc:
        raise invalid_input(f"encryptedInvoiceContent: {exc}") from exc
    if len(content) != body.encrypted_invoice_size:
        raise KsefError(
            21402,
            "Nieprawidłowy rozmiar pliku.",
            "Długość treści nie zgadza się z rozmiarem pliku.",
        )
    if b64_sha256(content) != body.encrypted_invoice_hash:
        raise KsefError(
            21403, "Nieprawidłowy skrót pliku.", "Skrót treści nie zgadza się ze skrótem pliku."
        )
    return content


def decrypt(key: bytes, iv: bytes, content: bytes) -> bytes | None:
    """AES-256-CBC with PKCS#7 padding; None when it does not decrypt."""
    if len(content) == 0 or len(content) % 16:
        return None
    decryptor = Cipher(algorithms.AES(key), modes.CBC(iv)).decryptor()
    padded = decryptor.update(content) + decryptor.finalize()
    unpadder = sym_padding.PKCS7(128).unpadder()
    try:
        return unpadder.update(padded) + unpadder.finalize()
    except ValueError:
        return None


@dataclass
class Verdict:
    code: int
    description: str
    details: list[str] = field(default_factory=list)
    extensions: dict[str, str] = field(default_factory=dict)
    seller_nip: str | None = None
    kind: str | None = None
    number: str | None = None
    issue_date: date | None = None


def _text(document: etree._Element, path: str) -> str | None:
    found = document.find(path, NS)
    return found.text.strip() if found is not None and found.text else None


def _texts(document: etree._Element, path: str) -> list[str]:
    return [element.text.strip() for element in document.iterfind(path, NS) if element.text]


def file_problems(plain: bytes) -> list[str]:
    """What makes an invoice file unacceptable before its schema is even read."""
    problems = []
    if len(plain) > MAX_INVOICE_BYTES:
        problems.append(f"Faktura przekracza {MAX_INVOICE_BYTES} bajtów.")
    if plain.startswith(b"\xef\xbb\xbf"):
        problems.append("Faktura zawiera znacznik BOM.")
    return problems


def _plain(session: Session, body: SendInvoiceRequest, content: bytes) -> bytes | Verdict:
    """An online invoice decrypted and checked against its declared size and hash."""
    assert session.key is not None
    plain = decrypt(session.key, session.iv, content)
    if plain is not None and b64_sha256(plain) != body.invoice_hash and content[:16] == session.iv:
        # Some clients prefix the ciphertext with its IV; accept that form too.
        plain = decrypt(session.key, session.iv, content[16:])
    if plain is None:
        return Verdict(435, "Błąd odszyfrowania pliku")
    problems = []
    if len(plain) != body.invoice_size:
        problems.append("Rozmiar faktury nie zgadza się z zadeklarowanym rozmiarem (invoiceSize).")
    if b64_sha256(plain) != body.invoice_hash:
        problems.append("Skrót faktury nie zgadza się z zadeklarowanym skrótem (invoiceHash).")
    if problems:
        return Verdict(430, "Błąd weryfikacji pliku faktury", problems)
    return plain


def verify(session: Session, body: SendInvoiceRequest, content: bytes, now: datetime) -> Verdict:
    """An online invoice's verdict, short of the duplicate check (which needs the store)."""
    plain = _plain(session, body, content)
    if isinstance(plain, Verdict):
        return plain
    return verify_plain(plain, session.nip, now)


def verify_plain(plain: bytes, context_nip: str, now: datetime) -> Verdict:
    """A decrypted invoice's verdict in the NIP context `context_nip`, short of the duplicate
    check: the one verification of online and batch invoices (pure, so a batch runs it in a
    worker thread)."""
    problems = file_problems(plain)
    if problems:
        return Verdict(430, "Błąd weryfikacji pliku faktury", problems)
    problems = fa3.validate(plain)
    if problems:
        return Verdict(430, "Błąd weryfikacji pliku faktury", problems[:20])
    document = etree.fromstring(plain, etree.XMLParser(no_network=True, resolve_entities=False))
    seller = _text(document, "fa:Podmiot1/fa:DaneIdentyfikacyjne/fa:NIP") or ""
    kind = _text(document, "fa:Fa/fa:RodzajFaktury") or ""
    number = _text(document, "fa:Fa/fa:P_2") or ""
    issued = date.fromisoformat(_text(document, "fa:Fa/fa:P_1") or "")
    parties = [("Podmiot1", seller)] + [
        (name, nip)
        for name in ("Podmiot2", "Podmiot3", "PodmiotUpowazniony")
        for nip in _texts(document, f".//fa:{name}/fa:DaneIdentyfikacyjne/fa:NIP")
    ]
    bad_nips = [(where, nip) for where, nip in parties if not nip_checksum_ok(nip)]
    found = Verdict(0, "", seller_nip=seller, kind=kind, number=number, issue_date=issued)
    if seller != context_nip:
        found.code, found.description = 410, "Nieprawidłowy zakres uprawnień"
        found.details = [f"NIP sprzedawcy {seller} nie jest kontekstem sesji ({context_nip})."]
    elif bad_nips:
        found.code, found.description = 450, "Błąd weryfikacji semantyki dokumentu faktury"
        found.details = [
            f"Nieprawidłowa suma kontrolna NIP ({where}): {nip}." for where, nip in bad_nips
        ]
    elif issued > now.astimezone(WARSAW).date():
        found.code, found.description = 450, "Błąd weryfikacji semantyki dokumentu faktury"
        found.details = [
            f"Data wystawienia faktury (P_1) {issued} jest późniejsza niż data przyjęcia."
        ]
    else:
        found.code, found.description = 200, "Sukces"
    return found


def settle(
    store: Store,
    session: Session,
    verdict: Verdict,
    invoice_hash: str,
    now: datetime,
    ready_at: datetime,
    file_name: str | None = None,
) -> Invoice:
    """The one way an invoice enters a session, online or batch: numbered next in the
    session, its verdict recorded (a duplicate found, a KSeF number given) and stored.
    No await inside, so the duplicate check and the registration are atomic."""
    invoice = Invoice(
        reference_number("EE", now),
        session.reference_number,
        len(session.invoices) + 1,
        invoice_hash,
        now,
        ready_at,
        verdict.code,
        verdict.description,
        file_name=file_name,
    )
    record(store, session, invoice, verdict, now)
    store.add_invoice(invoice)
    session.invoices.append(invoice.reference_number)
    session.updated = now
    return invoice


def record(
    store: Store, session: Session, invoice: Invoice, verdict: Verdict, now: datetime
) -> None:
    """Settle the invoice: a duplicate (440) or a registration with its KSeF number (200)."""
    invoice.status_code, invoice.status_description = verdict.code, verdict.description
    invoice.details, invoice.extensions = verdict.details, verdict.extensions
    invoice.seller_nip, invoice.issue_date = verdict.seller_nip, verdict.issue_date
    invoice.invoice_number = verdict.number
    if verdict.code != 200:
        return
    assert verdict.seller_nip and verdict.kind and verdict.number is not None
    original = store.registered(verdict.seller_nip, verdict.kind, verdict.number)
    if original is not None and original.ksef_number:
        invoice.status_code, invoice.status_description = 440, "Duplikat faktury"
        invoice.details = [
            f"Duplikat faktury. Faktura o numerze KSeF: {original.ksef_number} została już"
            f" prawidłowo przesłana do systemu w sesji: {original.session_reference}"
        ]
        invoice.extensions = {
            "originalSessionReferenceNumber": original.session_reference,
            "originalKsefNumber": original.ksef_number,
        }
        return
    invoice.ksef_number = ksef_number(
        verdict.seller_nip, now.astimezone(WARSAW).date(), technical_part()
    )
    invoice.acquired = now
    store.register(verdict.seller_nip, verdict.kind, verdict.number, invoice)
