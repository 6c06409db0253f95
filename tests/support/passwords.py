"""The gateway's password hasher, cheap: unit tests that hash stay fast."""

from __future__ import annotations

from argon2 import PasswordHasher

from gateway.shop.accounts.passwords import Passwords


def cheap_passwords() -> Passwords:
    """argon2id with tiny costs, so unit tests stay fast."""
    return Passwords(PasswordHasher(time_cost=1, memory_cost=8, parallelism=1))
