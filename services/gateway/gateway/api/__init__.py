"""The billing and POS API under /api/v1 (bearer keys, JSON): batches, confirmations,
receipts, the e-mail template and the webhook's delivery log."""
