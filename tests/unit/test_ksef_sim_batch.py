"""The simulator's batch package processing, offline (`ksef_sim.batch.unpack`): the
package-level verdicts and each file's verdict from the online path's `verify_plain`."""

from __future__ import annotations

import io
import secrets
import tarfile
import zipfile
from datetime import UTC, datetime, timedelta

from ksef_api import aes_cbc_encrypt, b64_sha256, build_zip, split_parts
from ksef_sim.batch import read_archive, unpack
from ksef_sim.store import BatchPackage, BatchPart
from tests.support.fa3_sample import fa3_invoice

SELLER = "5265877635"
NOW = datetime(2026, 12, 7, 12, 0, tzinfo=UTC)
KEY, IV = secrets.token_bytes(32), secrets.token_bytes(16)


def package(
    archive: bytes, *, part_bytes: int = 1_000, prefix_iv: bool = False, compression: str = "Zip"
) -> BatchPackage:
    parts = {}
    for number, piece in enumerate(split_parts(archive, part_bytes), start=1):
        content = (IV if prefix_iv else b"") + aes_cbc_encrypt(KEY, IV, piece)
        parts[number] = BatchPart(number, len(content), b64_sha256(content), content)
    upload_until = NOW + timedelta(minutes=20 * len(parts))
    return BatchPackage(len(archive), b64_sha256(archive), compression, parts, upload_until)


def invoice(number: str) -> bytes:
    return fa3_invoice(SELLER, number, NOW.date())


def test_every_file_gets_its_name_hash_and_verdict_in_order() -> None:
    files = [("a.xml", invoice("FV/1")), ("b.xml", b"<oops/>"), ("c.xml", invoice("FV/3"))]
    entries = unpack(KEY, IV, package(build_zip(files)), SELLER, NOW)
    assert isinstance(entries, list)
    assert [(name, digest) for name, digest, _ in entries] == [
        (name, b64_sha256(xml)) for name, xml in files
    ]
    assert [verdict.code for _, _, verdict in entries] == [200, 430, 200]
    assert entries[0][2].number == "FV/1" and entries[0][2].seller_nip == SELLER


def test_parts_prefixed_with_the_iv_are_accepted() -> None:
    archive = build_zip([("a.xml", invoice("FV/1"))])
    entries = unpack(KEY, IV, package(archive, part_bytes=300, prefix_iv=True), SELLER, NOW)
    assert isinstance(entries, list) and entries[0][2].code == 200


def test_a_tar_gz_package_is_read_too() -> None:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        for name, xml in [("a.xml", invoice("FV/1")), ("b.xml", invoice("FV/2"))]:
            info = tarfile.TarInfo(name)
            info.size = len(xml)
            tar.addfile(info, io.BytesIO(xml))
    entries = unpack(KEY, IV, package(buffer.getvalue(), compression="TarGz"), SELLER, NOW)
    assert isinstance(entries, list) and [e[0] for e in entries] == ["a.xml", "b.xml"]


def test_package_level_failures() -> None:
    archive = build_zip([("a.xml", invoice("FV/1"))])
    assert unpack(None, IV, package(archive), SELLER, NOW)[0] == 415  # key did not decrypt
    assert unpack(secrets.token_bytes(32), IV, package(archive), SELLER, NOW)[0] in (435, 405)
    wrong = package(archive)
    wrong.file_hash = b64_sha256(b"something else")
    assert unpack(KEY, IV, wrong, SELLER, NOW)[0] == 405
    assert unpack(KEY, IV, package(b"not a zip" * 50), SELLER, NOW)[0] == 430
    assert unpack(KEY, IV, package(build_zip([])), SELLER, NOW)[:3] == (
        440,
        "Sesja anulowana",
        ["Nie przesłano faktur"],
    )
    many = build_zip((f"{i}.xml", b"") for i in range(10_001))
    assert unpack(KEY, IV, package(many, part_bytes=10_000_000), SELLER, NOW)[0] == 420


def test_an_undecryptable_part_is_435() -> None:
    archive = build_zip([("a.xml", invoice("FV/1"))])
    broken = package(archive)
    content = broken.parts[1].content or b""
    broken.parts[1].content = content[:-16] + secrets.token_bytes(16)  # padding destroyed
    outcome = unpack(KEY, IV, broken, SELLER, NOW)
    assert isinstance(outcome, tuple) and outcome[0] in (435, 405)


def test_directories_are_not_invoices() -> None:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("faktury/", b"")
        archive.writestr("faktury/a.xml", b"<a/>")
    assert read_archive(buffer.getvalue(), "Zip") == [("faktury/a.xml", b"<a/>")]
