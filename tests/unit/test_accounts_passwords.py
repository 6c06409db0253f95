"""Password policy and argon2id hashing of shopper and chain-user accounts."""

from __future__ import annotations

import pytest
from argon2 import PasswordHasher

from gateway.shop.accounts.passwords import Passwords, password_problem
from gateway.shop.accounts.store import AccountStore, normalize_email
from tests.support.mongo import FakeDb
from tests.support.passwords import cheap_passwords


@pytest.mark.parametrize(
    ("password", "problem"),
    [
        ("short1!", "acc_pw_short"),
        ("123456789", "acc_pw_short"),
        ("1234567890", "acc_pw_common"),
        ("QwertyUiop", "acc_pw_common"),  # case does not help
        ("Password123", "acc_pw_common"),
        ("haslo12345", "acc_pw_common"),
        ("aaaaaaaaaaaa", "acc_pw_common"),  # one or two characters repeated
        ("abababababab", "acc_pw_common"),
        ("jan.kowalski", "acc_pw_email"),  # the address's local part
        ("x" * 1025, "acc_pw_long"),
        ("koń jedzie w dal 7", None),
        ("correct horse battery", None),
    ],
)
def test_password_policy(password: str, problem: str | None) -> None:
    assert password_problem(password, "Jan.Kowalski@example.pl") == problem


def test_the_whole_address_is_refused_too() -> None:
    assert password_problem("jan@sklep.pl", "jan@sklep.pl") == "acc_pw_email"


def test_email_addresses_are_lower_cased_and_checked() -> None:
    assert normalize_email("  Jan.Kowalski@Example.PL ") == "jan.kowalski@example.pl"
    for bad in ("", "jan", "jan@", "@example.pl", "jan@example", "a b@example.pl", "a@b@c.pl"):
        assert normalize_email(bad) is None, bad
    assert normalize_email("a@" + "x" * 250 + ".pl") is None


async def test_default_hasher_is_argon2id() -> None:
    stored = await Passwords().hash("correct horse battery")
    assert stored.startswith("$argon2id$")
    assert "correct horse" not in stored


async def test_verify_accepts_only_the_right_password() -> None:
    passwords = cheap_passwords()
    stored = await passwords.hash("correct horse battery")
    assert await passwords.verify(stored, "correct horse battery")
    assert not await passwords.verify(stored, "correct horse batterY")
    assert not await passwords.verify("not a hash", "correct horse battery")


async def test_an_unknown_account_still_costs_a_hash_check() -> None:
    passwords = cheap_passwords()
    assert not await passwords.verify(None, "")
    assert not await passwords.verify(None, "anything at all")
    assert passwords._dummy is not None and passwords._dummy.startswith("$argon2id$")


async def test_store_keeps_only_the_hash_and_rehashes_on_stronger_settings() -> None:
    db = FakeDb()
    weak = Passwords(PasswordHasher(time_cost=1, memory_cost=8, parallelism=1))
    store = AccountStore(db, passwords=weak)
    await store.setup()
    account = await store.create("Ala@Example.pl", "correct horse battery", verified=True)
    doc = db["accounts"].docs[account.account_id]
    assert doc["email"] == "ala@example.pl"
    assert doc["password_hash"].startswith("$argon2id$v=19$m=8,t=1,p=1$")
    assert "correct horse" not in str(doc)

    stronger = AccountStore(
        db, passwords=Passwords(PasswordHasher(time_cost=2, memory_cost=16, parallelism=1))
    )
    assert await stronger.authenticate("ALA@example.pl", "correct horse battery") == account
    assert (
        db["accounts"]
        .docs[account.account_id]["password_hash"]
        .startswith("$argon2id$v=19$m=16,t=2,p=1$")
    )
    assert await stronger.authenticate("ala@example.pl", "wrong horse battery") is None
    assert await stronger.authenticate("nobody@example.pl", "correct horse battery") is None
