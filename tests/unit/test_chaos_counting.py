"""The chaos run's counting (tests.chaos.run.Result) finds what it must: a lost invoice, a
second PDF or number, an e-mail repeated outside the SMTP window, and tells repeats in the
window (a fault that can cause them overlapped the delivery) from the others."""

from __future__ import annotations

from collections import Counter

from tests.chaos import faults
from tests.chaos.audit import Audit, Invoice
from tests.chaos.gate import SmtpGate
from tests.chaos.run import Result, Row
from tests.chaos.track import Expected, Track


def _expected(invoice_id: str, fault: int, started: float, recipients=("a@x.test",)) -> Expected:
    return Expected(invoice_id, "t", frozenset(recipients), fault, "utility", started)


def _delivered(recipients=("a@x.test",), **changes) -> Invoice:
    invoice = Invoice(numbers=["N/1"], pdfs=1, mails=Counter(dict.fromkeys(recipients, 1)))
    for name, value in changes.items():
        setattr(invoice, name, value)
    return invoice


def _result(invoices: dict[str, Invoice], expected: dict[str, Expected], rows, done_at) -> Result:
    track = Track(expected=expected)
    track.done_at.update(done_at)
    audit = Audit(invoices, numbers_reused=0, gaps=0, series={}, batches={}, lag={})
    return Result(rows, track, audit, len(invoices), 0, [], 1.0)


def _rows() -> list[Row]:
    kill_builder = Row(faults.KillService("kill -9 invoice-builder", "issued", service="x"))
    kill_builder.injected_at, kill_builder.healed_at = 10.0, 12.0
    smtp = Row(faults.RefuseSmtp("SMTP refuses", "mailed", gate=SmtpGate(1025)))
    smtp.injected_at, smtp.healed_at = 20.0, 30.0
    return [kill_builder, smtp]


def test_a_clean_run_counts_everything_delivered() -> None:
    expected = {"a": _expected("a", 0, 9.0), "b": _expected("b", 1, 19.0)}
    result = _result({"a": _delivered(), "b": _delivered()}, expected, _rows(), {"a": 11, "b": 25})
    assert result.totals() == {
        "lost": 0,
        "duplicated": 0,
        "smtp_window": 0,
        "failed": 0,
        "delivered": 2,
        "gaps": 0,
        "lag": 0,
        "stuck_batches": 0,
    }


def test_missing_number_pdf_or_mail_is_lost_unless_it_failed_with_a_reason() -> None:
    expected = {k: _expected(k, 0, 9.0) for k in "abcd"}
    invoices = {
        "a": _delivered(numbers=[]),
        "b": _delivered(pdfs=0),
        "c": _delivered(mails=Counter()),
        "d": Invoice(failed="buyer NIP: bad checksum"),
    }
    totals = _result(invoices, expected, _rows(), {}).totals()
    assert (totals["lost"], totals["failed"], totals["delivered"]) == (3, 1, 0)


def test_second_pdf_or_number_is_duplicated() -> None:
    expected = {"a": _expected("a", 0, 9.0), "b": _expected("b", 0, 9.0)}
    invoices = {"a": _delivered(pdfs=2), "b": _delivered(numbers=["N/1", "N/2"])}
    assert _result(invoices, expected, _rows(), {}).totals()["duplicated"] == 2


def test_repeated_mail_counts_as_window_only_when_a_window_fault_overlapped() -> None:
    # "a" was delivered during the SMTP outage; "b" long before it, during a builder kill.
    expected = {"a": _expected("a", 1, 19.0), "b": _expected("b", 0, 9.0)}
    twice = Counter({"a@x.test": 2})
    invoices = {"a": _delivered(mails=twice), "b": _delivered(mails=twice)}
    result = _result(invoices, expected, _rows(), {"a": 25.0, "b": 12.0})
    totals = result.totals()
    assert (totals["smtp_window"], totals["duplicated"]) == (1, 1)
    assert result.figures(result.attributed(0))["duplicated"] == 1
    assert result.figures(result.attributed(1))["smtp_window"] == 1
