"""The account flows as plain functions over the store and the rate limiter: what the pages
do, without HTTP. Each returns a `Result`; e-mails to send come back in it, never sent here.

Nothing a flow answers tells whether an e-mail address has an account: registering a taken
address, resending or resetting for an unknown one all look like success.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from gateway.config import GatewaySettings
from gateway.shop.accounts import tokens
from gateway.shop.accounts.mail import AccountMail
from gateway.shop.accounts.passwords import password_problem
from gateway.shop.accounts.ratelimit import RateLimiter
from gateway.shop.accounts.store import Account, AccountStore, EmailTaken, normalize_email

LIMITED, OK, BAD_LOGIN, UNVERIFIED, INVALID_TOKEN = (
    "limited",
    "ok",
    "acc_bad_login",
    "acc_unverified",
    "acc_link_invalid",
)


@dataclass(frozen=True)
class Limits:
    window_seconds: int = 900
    login_per_email: int = 10
    login_per_ip: int = 100
    forms_per_ip: int = 60
    mails_per_email: int = 5
    session_lifetime: timedelta = timedelta(days=14)

    @classmethod
    def of(cls, settings: GatewaySettings) -> Limits:
        return cls(
            window_seconds=settings.account_rate_window_seconds,
            login_per_email=settings.account_login_limit_per_email,
            login_per_ip=settings.account_login_limit_per_ip,
            forms_per_ip=settings.account_form_limit_per_ip,
            mails_per_email=settings.account_mail_limit_per_email,
            session_lifetime=timedelta(days=settings.account_session_days),
        )


@dataclass(frozen=True)
class Result:
    status: str  # OK, LIMITED, or a text key (`shop/accounts/texts.py`) saying what is wrong
    mail: AccountMail | None = None
    account: Account | None = None
    session_token: str | None = None  # for the cookie, after a sign-in

    @property
    def ok(self) -> bool:
        return self.status == OK


async def _may_mail(limiter: RateLimiter, limits: Limits, address: str) -> bool:
    return await limiter.hit("mail", address, limits.mails_per_email, limits.window_seconds)


async def register(
    store: AccountStore, limiter: RateLimiter, limits: Limits, *, email: str, password: str, ip: str
) -> Result:
    address = normalize_email(email)
    if address is None:
        return Result("acc_bad_email")
    if problem := password_problem(password, address):
        return Result(problem)
    # Counted once the form is valid: from here on an attempt costs a hash and an e-mail.
    if not await limiter.hit("register-ip", ip, limits.forms_per_ip, limits.window_seconds):
        return Result(LIMITED)
    try:
        account = await store.create(address, password)
    except EmailTaken:
        # Same answer as for a new account; the owner hears about it by e-mail.
        existing = await store.by_email(address)
        if existing is None or not await _may_mail(limiter, limits, address):
            return Result(OK)
        if existing.verified:
            return Result(OK, AccountMail("already_registered", address))
        token = await store.tokens.issue(existing.account_id, tokens.VERIFY)
        return Result(OK, AccountMail("verify", address, token))
    await _may_mail(limiter, limits, address)  # counts this mail against later resends
    token = await store.tokens.issue(account.account_id, tokens.VERIFY)
    return Result(OK, AccountMail("verify", address, token), account)


async def resend_verification(
    store: AccountStore, limiter: RateLimiter, limits: Limits, *, email: str, ip: str
) -> Result:
    if not await limiter.hit("resend-ip", ip, limits.forms_per_ip, limits.window_seconds):
        return Result(LIMITED)
    address = normalize_email(email)
    if address is None or not await _may_mail(limiter, limits, address):
        return Result(OK)
    account = await store.by_email(address)
    if account is None or account.verified:
        return Result(OK)
    token = await store.tokens.issue(account.account_id, tokens.VERIFY)
    return Result(OK, AccountMail("verify", address, token))


async def confirm_email(store: AccountStore, token: str) -> Result:
    account_id = await store.tokens.consume(token, tokens.VERIFY)
    if account_id is None:
        return Result(INVALID_TOKEN)
    await store.mark_verified(account_id)
    await store.tokens.revoke(account_id, tokens.VERIFY)
    return Result(OK, account=await store.get(account_id))


async def sign_in(
    store: AccountStore, limiter: RateLimiter, limits: Limits, *, email: str, password: str, ip: str
) -> Result:
    """Every attempt counts against the address's and the IP's budget up front (so parallel
    guesses cannot overshoot it); an attempt with the right password is given back."""
    subject = normalize_email(email) or email.strip().lower()[:254]
    window = limits.window_seconds
    ip_ok = await limiter.hit("login-ip", ip, limits.login_per_ip, window)
    email_ok = await limiter.hit("login-email", subject, limits.login_per_email, window)
    if not (ip_ok and email_ok):
        return Result(LIMITED)
    account = await store.authenticate(subject, password)
    if account is None:
        return Result(BAD_LOGIN)
    await limiter.refund("login-ip", ip, window)
    await limiter.refund("login-email", subject, window)
    if not account.verified:
        return Result(UNVERIFIED, account=account)
    token, _ = await store.sessions.open(account.account_id, limits.session_lifetime)
    return Result(OK, account=account, session_token=token)


async def request_reset(
    store: AccountStore, limiter: RateLimiter, limits: Limits, *, email: str, ip: str
) -> Result:
    if not await limiter.hit("reset-ip", ip, limits.forms_per_ip, limits.window_seconds):
        return Result(LIMITED)
    address = normalize_email(email)
    if address is None or not await _may_mail(limiter, limits, address):
        return Result(OK)
    account = await store.by_email(address)
    if account is None:
        return Result(OK)
    token = await store.tokens.issue(account.account_id, tokens.RESET)
    return Result(OK, AccountMail("reset", address, token))


async def reset_password(store: AccountStore, *, token: str, password: str) -> Result:
    """Set a new password with a reset link; ends every session of the account. The link
    proves the address too, so the account counts as verified afterwards."""
    account_id = await store.tokens.peek(token, tokens.RESET)
    account = await store.get(account_id) if account_id else None
    if account is None:
        return Result(INVALID_TOKEN)
    if problem := password_problem(password, account.email):
        return Result(problem, account=account)
    if await store.tokens.consume(token, tokens.RESET) != account.account_id:
        return Result(INVALID_TOKEN)
    await store.set_password(account.account_id, password)
    await store.mark_verified(account.account_id)
    await store.sessions.close_all(account.account_id)
    await store.tokens.revoke(account.account_id, tokens.RESET)
    return Result(OK, account=account)
