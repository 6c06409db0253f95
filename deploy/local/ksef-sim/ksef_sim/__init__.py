"""A local KSeF 2.0 simulator: the online-session path of the real API, for tests and the demo.

Not the Ministry's software. It speaks the API 2.0 paths and payloads of the published
OpenAPI (`/v2/...`), really decrypts and checks what it gets, validates FA(3) offline, and
answers with KSeF numbers and UPO v4-3 documents. Paths under `/_sim/` are its own.
"""
