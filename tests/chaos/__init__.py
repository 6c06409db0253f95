"""`make chaos`: fault injection into the running platform, then counting (see run.py)."""
