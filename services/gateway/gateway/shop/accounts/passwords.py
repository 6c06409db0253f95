"""Password policy and argon2id hashing (argon2-cffi's defaults, RFC 9106 low-memory profile).

Hashing is slow on purpose (that is what makes a stolen hash costly to guess), so it runs
in a worker thread, never on the event loop.
"""

from __future__ import annotations

import asyncio
import secrets

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

MIN_LENGTH = 10
MAX_LENGTH = 1024

# Common passwords long enough to pass the length rule (leaked-password lists, Polish ones
# included). Compared case-insensitively.
COMMON = frozenset(
    """
    1234567890 0123456789 0987654321 1111111111 0000000000 1234512345 1122334455
    12345678910 123456789a a123456789 qwertyuiop qwertyuiop1 qwerty1234 qwerty12345
    1q2w3e4r5t 1q2w3e4r5t6y q1w2e3r4t5 zaq12wsxcde zaq1@wsx3edc zaq1xsw2cde3 1qaz2wsx3edc
    asdfghjkl1 asdfghjkl; zxcvbnm123 password12 password123 password1234 passw0rd12
    password!1 p@ssword123 iloveyou12 iloveyou123 letmein123 welcome123 welcome1234
    football12 baseball12 sunshine12 princess12 monkey1234 dragon1234 starwars12
    trustno1234 abc1234567 abcd123456 abcdefghij administrator admin12345 adminadmin
    changeme123 qazwsxedcr qazwsxedc1 superman12 michael123 computer12 internet12
    haslo12345 haslo123456 polska1234 polska12345 kochamcie1 kochamcie12 kochamcie123
    zaq12wsx12 mojehaslo1 mojehaslo123 nowehaslo1 nowehaslo123 marcin1234 agnieszka1
    katarzyna1 slonecznik 1234567890a 1234567890q qwerty123456 123qweasdzxc
    """.split()
)


def password_problem(password: str, email: str = "") -> str | None:
    """Why a new password is refused (a text key of `shop/accounts/texts.py`), or None if it
    is fine."""
    if len(password) < MIN_LENGTH:
        return "acc_pw_short"
    if len(password) > MAX_LENGTH:
        return "acc_pw_long"
    folded = password.strip().casefold()
    email = email.strip().casefold()
    if folded in COMMON or len(set(folded)) <= 2:
        return "acc_pw_common"
    if email and folded in {email, email.partition("@")[0]}:
        return "acc_pw_email"
    return None


class Passwords:
    """Hashes and checks passwords off the event loop; tests pass a cheaper hasher."""

    def __init__(self, hasher: PasswordHasher | None = None) -> None:
        self.hasher = hasher or PasswordHasher()
        self._dummy: str | None = None

    async def hash(self, password: str) -> str:
        return await asyncio.to_thread(self.hasher.hash, password)

    async def verify(self, stored_hash: str | None, password: str) -> bool:
        """False for a wrong password. With no hash (unknown account) a dummy hash is
        checked anyway, so the answer takes as long as for a real account."""
        if stored_hash is None:
            if self._dummy is None:
                self._dummy = await self.hash(secrets.token_urlsafe(16))
            stored_hash = self._dummy
            password = "\x00" + password  # never matches, whatever the dummy was made from
        try:
            return await asyncio.to_thread(self.hasher.verify, stored_hash, password)
        except (VerificationError, InvalidHashError):
            return False

    def needs_rehash(self, stored_hash: str) -> bool:
        try:
            return self.hasher.check_needs_rehash(stored_hash)
        except InvalidHashError:
            return True
