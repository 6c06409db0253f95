"""The short `make chaos`: every fault of issue 6 (each service killed with SIGKILL, a Kafka
restart, S3 and MongoDB down, SMTP refusing connections, one of two mailer replicas killed)
with shorter outages and 20 invoices per fault, shoppers' requests meanwhile. Then the stores
are counted: nothing lost, nothing doubled, no gap in the retail series, every batch part
accounted for, every consumer group caught up."""

from __future__ import annotations

import pytest

from tests.chaos import faults
from tests.chaos.run import Options, chaos, report, summary

pytestmark = [pytest.mark.e2e, pytest.mark.chaos]

PER_FAULT = 20


async def test_faults_lose_nothing_and_double_nothing(services_started_here: bool) -> None:
    if not services_started_here or not faults.stack_owned():
        pytest.skip("the stack or the services were already running; not killing them")
    plan_size = 11
    result = await chaos(
        Options(invoices=PER_FAULT * plan_size, retail_rate=1.0, durations=faults.SHORT),
        progress=print,
    )
    for line in report(result):
        print(line)
    print(summary(result))
    totals = result.totals()
    assert len(result.rows) == plan_size
    assert totals["lost"] == 0, summary(result)
    assert totals["duplicated"] == 0, summary(result)
    assert totals["gaps"] == 0, summary(result)
    assert totals["failed"] == 0, summary(result)  # every input was valid
    assert totals["lag"] == 0, result.audit.lag
    assert totals["stuck_batches"] == 0, summary(result)
    assert result.retail > 0 and not result.retail_errors, result.retail_errors
    # Repeats in the SMTP window: at most the sends under way, per fault that can cause them.
    window_faults = sum(row.smtp_window for row in result.rows)
    assert totals["smtp_window"] <= 8 * window_faults
