"""Schemathesis against the running gateway's OpenAPI: generated requests for every
documented operation, with a tenant's key (a tenant of its own: generated e-mail templates
and webhooks must not touch the other tests' tenant). No request may get a 5xx; whatever
the gateway refuses, it refuses with a 4xx."""

from __future__ import annotations

from collections import Counter

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from schemathesis.checks import not_a_server_error

from tests.support import GATEWAY
from tests.support.parties import Tenant, known_tenant

pytestmark = [pytest.mark.e2e]


@pytest.fixture(scope="module")
async def fuzz_tenant(services: bool, stack: dict[str, str]) -> Tenant:
    return await known_tenant(stack["kafka_bootstrap"], "Schemathesis Sp. z o.o.")


def test_no_generated_request_gets_a_server_error(fuzz_tenant: Tenant) -> None:
    # The pytest plugin's lazy loader (schemathesis.pytest.from_fixture) fails on this
    # pytest; the schema's operations are driven through Hypothesis directly instead.
    schema = schemathesis.openapi.from_url(f"{GATEWAY}/openapi.json")
    statuses: Counter[str] = Counter()
    operations = [result.ok() for result in schema.get_all_operations()]

    for operation in operations:

        @given(case=operation.as_strategy())
        @settings(
            max_examples=30,
            deadline=None,
            suppress_health_check=list(HealthCheck),
            database=None,
            phases=[Phase.explicit, Phase.generate],
        )
        def call(case) -> None:
            response = case.call_and_validate(
                base_url=GATEWAY, headers=fuzz_tenant.auth, checks=[not_a_server_error], timeout=30
            )
            statuses[str(response.status_code)] += 1

        call()
    print(
        f"\nschemathesis {schemathesis.__version__}: {sum(statuses.values())} generated "
        f"requests over {len(operations)} operations, none answered 5xx; by status: "
        f"{dict(sorted(statuses.items()))}"
    )
