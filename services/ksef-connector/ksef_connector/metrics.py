"""ksef-connector's metrics (`einvoice_ksef_…`)."""

from prometheus_client import Counter, Histogram

SUBMISSIONS = Counter(
    "einvoice_ksef_submissions_total",
    "Invoices KSeF settled or put off, by session mode and outcome "
    "(registered, rejected, throttled).",
    ["mode", "outcome"],
)
SESSION_SECONDS = Histogram(
    "einvoice_ksef_session_seconds",
    "From opening a KSeF session (or sending into an open one) to every invoice's outcome.",
    ["mode"],
    buckets=(0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300),
)
