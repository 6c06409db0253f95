from einvoice.settings import Settings


class ConnectorSettings(Settings):
    metrics_port: int = 9106
    # A utility's invoices wait this long after issue so that they travel to KSeF together,
    # in one batch session; a shopper's go at once, in an online session.
    ksef_batch_gather_seconds: float = 2.0
    # Fewer bulk invoices of one tenant than this go through an online session instead.
    ksef_batch_min: int = 20
    # Invoices per batch session (KSeF takes up to 10,000 in one ZIP).
    ksef_batch_max: int = 2000
    # Invoices sent at once in one tenant's online session.
    ksef_online_concurrency: int = 8
    # How often a session's or an invoice's status is asked for, and for how long at most
    # before the invoices are put back to be asked about again later.
    ksef_poll_seconds: float = 0.25
    ksef_max_wait_seconds: float = 600.0
    # First retry after KSeF did not answer; doubles up to 10 min.
    ksef_retry_initial_seconds: float = 5.0
    ksef_request_timeout_seconds: float = 30.0
