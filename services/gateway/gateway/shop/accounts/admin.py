"""Creating accounts without the web forms: chain users (there is no self-registration for
them) from a CLI or a script, and verified shoppers for tests and demos.

    from einvoice.mongo import mongo_client, service_db
    from gateway.shop.accounts.admin import create_chain_user
    db = service_db(mongo_client(settings), "gateway")
    account = await create_chain_user(db, "kasa@sklep.pl", "a long passphrase", "chain-1")
"""

from __future__ import annotations

from einvoice.mongo import Database
from gateway.shop.accounts.passwords import password_problem
from gateway.shop.accounts.store import Account, AccountStore, Role, normalize_email


async def create_account(
    db: Database,
    email: str,
    password: str,
    *,
    role: Role = "shopper",
    tenant_id: str | None = None,
    verified: bool = True,
) -> Account:
    """A new account in the gateway's database, verified unless told otherwise.

    Raises ValueError (malformed address, weak password: the message says which) or
    `store.EmailTaken` when the address has an account already.
    """
    address = normalize_email(email)
    if address is None:
        raise ValueError(f"not an e-mail address: {email!r}")
    if problem := password_problem(password, address):
        raise ValueError(f"password refused ({problem})")
    store = AccountStore(db)
    await store.setup()
    return await store.create(address, password, role=role, tenant_id=tenant_id, verified=verified)


async def create_chain_user(db: Database, email: str, password: str, tenant_id: str) -> Account:
    """A verified user of the retail chain `tenant_id` (signs in at /account/login and
    lands on /chain once the gateway knows the tenant as a retail one)."""
    if not tenant_id.strip():
        raise ValueError("a chain user needs the chain's tenant id")
    return await create_account(db, email, password, role="chain", tenant_id=tenant_id.strip())
