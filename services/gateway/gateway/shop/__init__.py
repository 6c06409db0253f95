"""The shopper's portal under /me (receipts become invoices), and in `accounts` the accounts
shoppers and chain users sign in with (/account)."""
