"""The hostile-input catalogue at every endpoint of the gateway that takes outside data.

Each write endpoint, forms and JSON alike, sent by the user entitled to it (in the world
of the authorization matrix, the `world` fixture of tests/e2e/conftest.py), is sent again
with every field in turn made hostile (its form token too), without fields, with a JSON
body where a form is expected, with 10 MB, and (JSON endpoints) as malformed, deeply
nested or operator-smuggling JSON. Each read endpoint gets every hostile value in its path
and query parameters. None may answer 5xx: a bad request gets a 4xx with its reason, or
the page again with the error shown. The gateway keeps running."""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import httpx
import pytest

from tests.support import GATEWAY
from tests.support.authz_matrix import BRANDING_X, REQUEST_FORM, Row
from tests.support.authz_world import BODIES, World, actor_for

pytestmark = [pytest.mark.e2e]

HOSTILE: dict[str, str] = {
    "10,000 characters": "Ż" * 10_000,
    "1 MB": "x" * 1_000_000,
    "MongoDB operator": '{"$gt": ""}',
    "header injection": "kto@example.pl\r\nBcc: wszyscy@evil.test",
    "HTML and script": '<script>alert("x")</script><img src=x onerror=alert(1)>',
    "template injection": "{{ 7*7 }}{{ ''.__class__.__mro__[1].__subclasses__() }}{% raw %}",
    "path traversal": "../../../../etc/passwd",
    "Unicode edge cases": "Zoë A\u0301 \u200bzero\u200d \u202eעברית\u202c 😀👩‍👩‍👧",
    "NUL byte": "a\x00b",
    "empty": "",
    "negative and odd numbers": "-1e309",
}
TEN_MB = b"x" * 10 * 1024 * 1024
JSON_BODIES: dict[str, bytes] = {
    "malformed JSON": b'{"invoices": [',
    "deeply nested JSON": b"[" * 100_000 + b"]" * 100_000,
    "operators smuggled": json.dumps({"$where": "sleep(1000)", "invoices": {"$gt": ""}}).encode(),
    "wrong top-level type": b'"a string"',
    "not UTF-8": b"\xff\xfe\xfa",
}


@dataclass(frozen=True)
class Write:
    """A write endpoint as its rightful user sends it; values are templates over the world."""

    actor: str  # a signed-in actor, "anonymous" or a key actor of the matrix
    method: str
    path: str
    form: dict[str, str] | None = None
    body: str | None = None  # a JSON body from BODIES (or JSON_TEMPLATE)
    csrf: bool = False

    @property
    def row(self) -> Row:
        return Row(self.actor, self.method, self.path, 200, form=self.form, csrf=self.csrf)


TEMPLATE = {"subject": "Faktura {{ number }}", "html": "<p>{{ link }}</p>", "text": "{{ link }}"}
MAILBOX = {
    "host": "127.0.0.1",
    "port": "1025",
    "tls": "none",
    "user": "",
    "password": "",
    "mail_from": "faktury@example.pl",
    "reply_to": "",
    "per_minute": "30",
    "per_hour": "",
    "per_day": "",
    "action": "save",
}
# "Test the connection" with a made-up token: no variant can save a KSeF connection (an
# unknown action saves nothing either), so no later test's invoices go to KSeF.
KSEF_TEST = {
    "environment": "test",
    "context_nip": "5261040828",
    "start_date": "2026-02-01",
    "consumers": "outside",
    "token": "made-up-token",
    "action": "test",
}
# The second utility (operatorU2, utility2) takes the writes that change a tenant, so the
# session's tenant, which other modules use, keeps its settings (a hostile but valid e-mail
# template saved for it would change every later test's mail).
WRITES = [
    Write("operatorU2", "POST", "/operator/login", form={"api_key": "{utility2_key}"}, csrf=True),
    Write("operatorU2", "POST", "/operator/mailbox", form=MAILBOX, csrf=True),
    Write("operatorU2", "POST", "/operator/webhook", form={"url": "http://127.0.0.1:9"}, csrf=True),
    Write("operatorU2", "POST", "/operator/email", form=TEMPLATE, csrf=True),
    Write("operatorU2", "POST", "/operator/email/preview", form=TEMPLATE, csrf=True),
    Write("operatorU", "POST", "/operator/invoices/{inv_u}/resend", form={}, csrf=True),
    Write("shopperA", "POST", "/me/receipts/add", form={"code": "{code_a}"}, csrf=True),
    Write("shopperA", "POST", "/me/receipts/{x}/{rcpt_a}", form=REQUEST_FORM, csrf=True),
    Write("chainX", "POST", "/chain/branding", form=BRANDING_X, csrf=True),
    Write("chainX", "POST", "/chain/branding/preview", form=BRANDING_X, csrf=True),
    Write("operatorU2", "POST", "/operator/ksef", form=KSEF_TEST, csrf=True),
    Write("chainX", "POST", "/chain/ksef", form=KSEF_TEST, csrf=True),
    Write(
        "anonymous",
        "POST",
        "/account/register",
        form={"email": "nowy@forms.test", "password": "długie hasło 2024"},
        csrf=True,
    ),
    Write(
        "anonymous",
        "POST",
        "/account/login",
        form={"email": "nikt@forms.test", "password": "x", "next": "/me"},
        csrf=True,
    ),
    Write("anonymous", "POST", "/account/reset", form={"email": "nikt@forms.test"}, csrf=True),
    Write("anonymous", "POST", "/account/resend", form={"email": "nikt@forms.test"}, csrf=True),
    Write(
        "anonymous",
        "POST",
        "/account/reset/{fake_token}",
        form={"password": "długie hasło 2024"},
        csrf=True,
    ),
    Write("anonymous", "POST", "/account/verify/{fake_token}", form={}, csrf=True),
    Write("anonymous", "POST", "/i/{token}/download", form={}),
    Write("utility2", "POST", "/api/v1/batches", body="empty_batch"),
    Write("utility2", "PUT", "/api/v1/email-template", body="template"),
    Write("posX", "POST", "/api/v1/receipts", body="receipt_s001"),
]


# Read endpoints with what the user controls in the path or the query: `{h}` takes each
# hostile value in turn (URL-encoded).
READS = [
    ("anonymous", "/i/{h}"),
    ("anonymous", "/account/verify/{h}"),
    ("anonymous", "/account/reset/{h}"),
    ("anonymous", "/account/login?next={h}&lang={h}"),
    ("utility", "/api/v1/batches/{h}?details=true"),
    ("utility", "/api/v1/confirmations?since={h}&batch_id={h}"),
    ("utility", "/api/v1/confirmations/feed?cursor={h}"),
    ("operatorU", "/operator/batches/{h}"),
    ("operatorU", "/operator/batches/{batch_u}?stage={h}"),
    ("operatorU", "/operator/confirmations?batch_id={h}"),
    ("operatorU", "/operator/confirmations.csv?batch_id={h}"),
    ("operatorU", "/operator/invoices/{h}/pdf"),
    ("shopperA", "/me/invoices/{h}"),
    ("shopperA", "/me/invoices/{h}/pdf"),
    ("shopperA", "/me/receipts/{h}/{h}"),
    ("chainX", "/chain?issued_from={h}&issued_to={h}&store_id={h}&nip={h}&stage={h}"),
    ("chainX", "/chain/invoices.csv?issued_from={h}&nip={h}"),
    ("chainX", "/chain/invoices/{h}/pdf"),
    ("operatorU", "/operator/batches/{batch_u}?ksef={h}"),
    ("operatorU", "/operator/ksef?saved={h}&lang={h}"),
    ("operatorU", "/operator/invoices/{h}/fa3.xml"),
    ("operatorU", "/operator/invoices/{h}/upo.xml"),
    ("chainX", "/chain?ksef={h}"),
    ("chainX", "/chain/ksef?saved={h}&lang={h}"),
    ("chainX", "/chain/invoices/{h}/fa3.xml"),
    ("chainX", "/chain/invoices/{h}/upo.xml"),
]
# What fits in a URL (8 KB, as servers allow): the long values belong to bodies, and a
# 2,000-character one stands for them here.
READ_VALUES = {k: v for k, v in HOSTILE.items() if len(quote(v, safe="")) < 8000} | {
    "2,000 characters": "Ż" * 2000
}


def _json(w: World, name: str) -> Any:
    return dict(TEMPLATE) if name == "template" else BODIES[name](w)


def _variants(w: World, write: Write, csrf: str | None) -> list[tuple[str, dict[str, Any]]]:
    out: list[tuple[str, dict[str, Any]]] = []
    if write.form is not None:
        form = {k: w.fmt(v) for k, v in write.form.items()}
        token = {"csrf": csrf} if csrf else {}
        for field in [*form, *token]:
            for name, value in HOSTILE.items():
                out.append((f"{field}={name}", {"data": form | token | {field: value}}))
        out.append(("no fields", {"data": {}}))
        out.append(("JSON instead of a form", {"json": form | token}))
    if write.body is not None:
        for name, raw in JSON_BODIES.items():
            out.append((name, {"content": raw, "headers": {"content-type": "application/json"}}))
        body = _json(w, write.body)
        for key in list(body)[:6]:
            out.append((f"{key} as an operator", {"json": body | {key: {"$gt": ""}}}))
            for name, value in HOSTILE.items():
                out.append((f"{key}={name}", {"json": body | {key: value}}))
    kind = "application/json" if write.body else "application/x-www-form-urlencoded"
    out.append(("10 MB body", {"content": TEN_MB, "headers": {"content-type": kind}}))
    return out


async def test_no_endpoint_answers_hostile_input_with_a_server_error(
    world: World,
) -> None:
    statuses: Counter[int] = Counter()
    server_errors: list[str] = []
    tried = 0
    for write in WRITES:
        actor, own = await actor_for(world, write.row)
        try:
            csrf = None
            if write.csrf:
                operator = write.path.startswith("/operator")
                csrf = actor.operator_csrf if operator else actor.csrf
            path = world.fmt(write.path)
            for name, kwargs in _variants(world, write, csrf):
                tried += 1
                response = await actor.client.request(write.method, path, **kwargs)
                statuses[response.status_code] += 1
                if response.status_code >= 500:
                    server_errors.append(
                        f"{write.actor} {write.method} {write.path} [{name}]: "
                        f"{response.status_code} {response.text[:200]!r}"
                    )
        finally:
            if own:
                await actor.client.aclose()
    for actor_name, template in READS:
        actor, own = await actor_for(world, Row(actor_name, "GET", template, 200))
        try:
            for name, value in READ_VALUES.items():
                encoded = quote(value, safe="")
                path = world.fmt(template.replace("{h}", encoded))
                tried += 1
                response = await actor.client.get(path)
                statuses[response.status_code] += 1
                if response.status_code >= 500:
                    server_errors.append(
                        f"{actor_name} GET {template} [{name}]: "
                        f"{response.status_code} {response.text[:200]!r}"
                    )
        finally:
            if own:
                await actor.client.aclose()
    async with httpx.AsyncClient(base_url=GATEWAY) as client:
        alive = (await client.get("/healthz")).status_code
    by_status = ", ".join(f"{code} x{n}" for code, n in sorted(statuses.items()))
    print(
        f"\nhostile input: {tried} requests over {len(WRITES)} write and {len(READS)} read "
        f"endpoints; by status: {by_status}"
    )
    assert not server_errors, "\n".join(server_errors[:20])
    assert alive == 200
