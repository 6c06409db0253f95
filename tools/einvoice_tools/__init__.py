"""Command-line tools around einvoice: topics, demo data, batches, tills, dead letters, docs."""
