"""Read models: collections one service writes and others (the gateway, the tools) read.

One module per owning service, named after what it holds; the writer names its collections
through the same module, so reader and writer cannot drift apart:

- `tracking`: read-tracker's deliveries, batches and opens (delivery status);
- `billing_feed`: read-tracker's confirmations and failures for billing, and its webhook
  deliveries;
- `mailing`: the mailer's invoice links and its outbox of e-mails;
- `receipts`: the receipts receipt-ingest stores.
"""
