"""The billing and POS API under /api/v1 (bearer keys, JSON): batches, invoices (status,
KSeF, FA(3) XML and UPO), confirmations, receipts, the e-mail template and the webhook's
delivery log."""
