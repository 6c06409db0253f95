"""`ksef_api`'s batch package, offline: the ZIP, the cut into parts, the encryption, the
declaration `POST /sessions/batch` carries."""

from __future__ import annotations

import io
import secrets
import zipfile

import pytest
from cryptography.hazmat.primitives import padding
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from ksef_api import b64_sha256, build_batch, build_zip, split_parts
from ksef_api.batch import MAX_INVOICES, MAX_PART_BYTES


def decrypt(key: bytes, iv: bytes, data: bytes) -> bytes:
    decryptor = Cipher(algorithms.AES(key), modes.CBC(iv)).decryptor()
    unpadder = padding.PKCS7(128).unpadder()
    padded = decryptor.update(data) + decryptor.finalize()
    return unpadder.update(padded) + unpadder.finalize()


def test_the_zip_holds_the_files_in_order_under_their_names() -> None:
    files = [("b.xml", b"<b/>"), ("a.xml", b"<a/>" * 100), ("dir/c.xml", b"")]
    archive = zipfile.ZipFile(io.BytesIO(build_zip(files)))
    assert [(i.filename, archive.read(i)) for i in archive.infolist()] == files
    assert all(i.compress_type == zipfile.ZIP_DEFLATED for i in archive.infolist())


@pytest.mark.parametrize("names", [["a.xml", "a.xml"], [""], ["dir/"]])
def test_the_zip_refuses_repeated_empty_or_directory_names(names: list[str]) -> None:
    with pytest.raises(ValueError):
        build_zip((name, b"x") for name in names)


@pytest.mark.parametrize(
    ("length", "limit", "sizes"),
    [
        (10, 10, [10]),
        (11, 10, [6, 5]),
        (20, 10, [10, 10]),
        (21, 10, [7, 7, 7]),
        (1, 100, [1]),
        (0, 10, []),
    ],
)
def test_parts_are_the_fewest_of_near_equal_size(length: int, limit: int, sizes: list[int]) -> None:
    data = secrets.token_bytes(length)
    parts = split_parts(data, limit)
    assert [len(p) for p in parts] == sizes
    assert b"".join(parts) == data


def test_a_part_limit_must_be_positive() -> None:
    with pytest.raises(ValueError):
        split_parts(b"abc", 0)


def test_the_package_decrypts_and_joins_back_to_the_declared_zip() -> None:
    files = [(f"{i}.xml", secrets.token_hex(500).encode()) for i in range(30)]
    package = build_batch(files, max_part_bytes=4_000)
    assert len(package.parts) > 3
    assert [p.ordinal_number for p in package.parts] == list(range(1, len(package.parts) + 1))
    plain = b"".join(decrypt(package.key, package.iv, p.content) for p in package.parts)
    assert len(plain) == package.zip_size and b64_sha256(plain) == package.zip_hash
    assert all(len(decrypt(package.key, package.iv, p.content)) <= 4_000 for p in package.parts)
    for part in package.parts:
        assert part.file_size == len(part.content) and part.file_size % 16 == 0
        assert part.file_hash == b64_sha256(part.content)
    assert package.invoice_hashes == {name: b64_sha256(xml) for name, xml in files}
    declared = package.declaration()
    assert declared["fileSize"] == package.zip_size and declared["fileHash"] == package.zip_hash
    assert declared["fileParts"] == [
        {"ordinalNumber": p.ordinal_number, "fileSize": p.file_size, "fileHash": p.file_hash}
        for p in package.parts
    ]


def test_each_package_has_its_own_key_unless_given() -> None:
    files = [("a.xml", b"<a/>")]
    first, second = build_batch(files), build_batch(files)
    assert first.key != second.key and first.iv != second.iv
    assert len(first.key) == 32 and len(first.iv) == 16
    key, iv = b"k" * 32, b"i" * 16
    assert build_batch(files, key=key, iv=iv).parts == build_batch(files, key=key, iv=iv).parts
    assert repr(first.key) not in repr(first) and repr(first.iv) not in repr(first)


def test_a_part_never_exceeds_100_mb_before_encryption(monkeypatch: pytest.MonkeyPatch) -> None:
    assert MAX_PART_BYTES == 100_000_000  # decimal, as the Ministry's clients count
    monkeypatch.setattr("ksef_api.batch.MAX_PART_BYTES", 100)  # the cap, scaled down
    files = [("a.xml", secrets.token_bytes(1_000))]
    parts = build_batch(files, max_part_bytes=10_000).parts
    assert len(parts) > 10 and all(p.file_size <= 112 for p in parts)


@pytest.mark.parametrize(
    ("files", "kwargs"),
    [
        ([], {}),
        ([(f"{i}.xml", b"") for i in range(MAX_INVOICES + 1)], {}),
        ([("a.xml", b"<a/>")], {"key": b"short"}),
        ([("a.xml", secrets.token_bytes(2_000))], {"max_part_bytes": 16}),  # 51+ parts
    ],
)
def test_what_ksef_would_refuse_is_refused_before_sending(
    files: list[tuple[str, bytes]], kwargs: dict[str, object]
) -> None:
    with pytest.raises(ValueError):
        build_batch(files, **kwargs)  # type: ignore[arg-type]
