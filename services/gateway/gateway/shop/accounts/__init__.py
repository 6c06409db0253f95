"""Shopper and chain-user accounts of the retail self-invoicing portal.

Registration with e-mail verification, sign-in (`gateway.web.auth`), password reset,
forms checked by `gateway.web.csrf`, and rate limits shared by every gateway replica (all in
MongoDB).

Public pieces: `store.AccountStore` (accounts, sessions, one-time tokens),
`ratelimit.RateLimiter`, the typed dependencies in `deps`, `admin.create_chain_user`.
This module imports nothing, so `gateway.state` can import the store without cycles.
"""
