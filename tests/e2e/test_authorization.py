"""Who may read and write what, through the running gateway: an authorization matrix over
every read and write endpoint (billing API, POS API, customer links, operator pages, the
shopper's portal, the chain's portal, the account entry points).

The rows are in tests/support/authz_matrix.py, the world they run in (module-scoped) is
the `world` fixture of tests/e2e/conftest.py; one test per row, each checking the exact
status and, where the row says, the redirect, the content type, what the body must and must
not show, and a follow-up check.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import urlencode

import pytest

from tests.support import eventually
from tests.support.authz_matrix import ACTORS, BRANDING_Y, LOGIN, MATRIX, Row
from tests.support.authz_world import BODIES, Actor, World, actor_for

pytestmark = [pytest.mark.e2e]


# --- follow-up checks ------------------------------------------------------------------


async def operator_still_signed_in(world: World, actor: Actor) -> None:
    page = await actor.client.get("/operator")
    assert world.fmt("{batch_u}") in page.text, "a refused sign-out leaves the session"


async def no_invoice_for_b(world: World, actor: Actor) -> None:
    page = await actor.client.get("/me")
    ids = set(re.findall(r'href="/me/invoices/([^"?]+)', page.text))
    assert ids == {world.values["inv_b"]}, ids


async def y_branding_is_ys_only(world: World, actor: Actor) -> None:
    colour = f'value="{BRANDING_Y["primary_color"]}"'

    async def published() -> bool:
        return colour in (await actor.client.get("/chain/branding")).text

    await eventually(published, timeout=30, what="chain Y's new layout")
    x_page = await world.actors["chainX"].client.get("/chain/branding")
    assert x_page.status_code == 200 and colour not in x_page.text, "Y changed X's layout"


THEN: dict[str, Callable[[World, Actor], Awaitable[None]]] = {
    "operator_still_signed_in": operator_still_signed_in,
    "no_invoice_for_b": no_invoice_for_b,
    "y_branding_is_ys_only": y_branding_is_ys_only,
}


# --- running a row --------------------------------------------------------------------------


def expected_location(world: World, row: Row) -> str:
    if row.location == LOGIN:
        path = world.fmt(row.path).split("?", 1)[0]
        return f"/account/login?{urlencode({'next': path})}"
    return world.fmt(row.location or "")


@pytest.mark.parametrize("row", MATRIX, ids=[row.id for row in MATRIX])
async def test_access(world: World, row: Row) -> None:
    actor, own = await actor_for(world, row)
    try:
        kwargs: dict[str, Any] = {}
        if row.body is not None:
            kwargs["json"] = BODIES[row.body](world)
        if row.form is not None:
            data = {k: world.fmt(v) for k, v in row.form.items()}
            if row.csrf:
                operator = row.path.startswith("/operator")
                data["csrf"] = actor.operator_csrf if operator else actor.csrf
                assert data["csrf"], f"{row.actor} has no form token for {row.path}"
            kwargs["data"] = data
        path = world.fmt(row.path)
        response = await actor.client.request(row.method, path, **kwargs)
        text = response.text
        where = f"{row.actor} {row.method} {path}"
        assert response.status_code == row.status, (
            f"{where}: {response.status_code}, expected {row.status}; "
            f"location={response.headers.get('location')!r}; body: {text[:600]!r}"
        )
        if row.location is not None:
            assert response.headers.get("location") == expected_location(world, row), where
        if row.content_type is not None:
            assert response.headers.get("content-type", "").startswith(row.content_type), where
        for marker in row.contains:
            assert world.fmt(marker) in text, f"{where}: {world.fmt(marker)!r} not in the body"
        for marker in row.absent:
            assert world.fmt(marker) not in text, f"{where}: shows {world.fmt(marker)!r}"
        if row.then:
            await THEN[row.then](world, actor)
    finally:
        if own:
            await actor.client.aclose()


def test_the_matrix_size(capsys: pytest.CaptureFixture[str]) -> None:
    ids = [row.id for row in MATRIX]
    assert len(ids) == len(set(ids)), "every row has its own id"
    assert {row.actor for row in MATRIX} == set(ACTORS), "every actor is in the matrix"
    assert all(row.then is None or row.then in THEN for row in MATRIX)
    assert all(row.body is None or row.body in BODIES for row in MATRIX)
    assert len(MATRIX) >= 150
    with capsys.disabled():
        print(f"\nauthorization matrix: {len(MATRIX)} rows, {len(ACTORS)} actors")
