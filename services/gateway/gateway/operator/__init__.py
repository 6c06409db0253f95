"""The operator panel under /operator: a tenant's staff, signed in with the tenant's API key,
follow batches and confirmations and set the e-mail template, mailbox and webhook."""
