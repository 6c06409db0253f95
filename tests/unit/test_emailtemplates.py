"""einvoice.emailtemplates: what the editor refuses (with field, line and reason), the
variables a template may use, and the sample invoice previews render."""

from __future__ import annotations

import pytest
from jinja2 import Environment
from jinja2.meta import find_undeclared_variables

from einvoice import events
from einvoice.emailtemplates import (
    VARIABLES,
    check,
    checked,
    default_template,
    preview,
    sample_pdf,
)

OK = events.EmailTemplate(
    subject="Faktura {{ number }}",
    html="<p>{{ buyer_name }}</p>\n<a href='{{ link }}'>{{ total }} {{ currency }}</a>",
    text="{{ buyer_name }}\n{% if due_date %}do {{ due_date }}{% endif %}\n{{ link }}",
)


def template(**fields: str) -> events.EmailTemplate:
    return OK.model_copy(update=fields)


def test_a_good_template_and_the_default_pass() -> None:
    assert check(OK) == []
    assert check(default_template()) == []


def test_a_syntax_error_names_the_field_and_line() -> None:
    html = "<p>Dzień dobry</p>\n<p>\n{% if %}\n<b>{{ due_date }}</b>\n{% endif %}</p>"
    [problem] = check(template(html=html))
    assert (problem.field, problem.line, problem.kind) == ("html", 3, "syntax")
    assert "expression" in problem.reason


def test_an_unclosed_block_is_reported_where_jinja_gives_up() -> None:
    text = "Dzień dobry\n{% if due_date %}\n{{ due_date }}\nkoniec"
    [problem] = check(template(text=text))
    assert (problem.field, problem.kind) == ("text", "syntax")
    assert problem.line == 3 and "endif" in problem.reason  # where the last text starts


def test_an_unclosed_expression_in_the_subject() -> None:
    [problem] = check(template(subject="Faktura {{ number"))
    assert (problem.field, problem.line, problem.kind) == ("subject", 1, "syntax")


@pytest.mark.parametrize(
    "source",
    [
        "ok\n{{ ''.__class__.__mro__ }}",
        "ok\n{{ buyer_name.__class__.__mro__[1].__subclasses__() }}",
        "ok\n{{ [].append(1) }}",
        "ok\n{{ 'x' * 10000000 }}",
    ],
)
def test_sandbox_refusals_are_problems_with_their_line(source: str) -> None:
    [problem] = check(template(text=source))
    assert (problem.field, problem.line, problem.kind) == ("text", 2, "sandbox")
    assert problem.reason


def test_an_unknown_variable_is_refused_by_name() -> None:
    [problem] = check(template(html="<p>\n{{ numer_faktury }}\n</p>"))
    assert (problem.field, problem.line, problem.kind) == ("html", 2, "undefined")
    assert "numer_faktury" in problem.reason


def test_a_template_that_fails_only_without_a_due_date_is_refused() -> None:
    [problem] = check(template(text="{{ link }}\n{{ due_date[0:2] }}"))
    assert (problem.field, problem.line, problem.kind) == ("text", 2, "render")
    assert problem.reason.startswith("TypeError")


def test_every_field_reports_its_own_problem() -> None:
    broken = template(subject="{{ x }}", html="{% for %}", text="{{ ''.__class__.__mro__ }}")
    assert [(p.field, p.kind) for p in check(broken)] == [
        ("subject", "undefined"),
        ("html", "syntax"),
        ("text", "sandbox"),
    ]


def test_problems_serialise_for_the_api() -> None:
    [problem] = check(template(subject="{{ x }}"))
    assert problem.as_dict() == {
        "field": "subject",
        "line": 1,
        "reason": "'x' is undefined",
        "kind": "undefined",
    }


def test_checked_normalises_line_breaks_and_refuses_empty_fields() -> None:
    made, problems = checked("A {{ number }}", "<p>\r\n{{ link }}</p>", "{{ link }}\r\n", 4)
    assert problems == [] and made is not None
    assert made.version == 4 and made.html == "<p>\n{{ link }}</p>" and made.text.endswith("\n")
    made, problems = checked("", "<p>x</p>", "{% if %}")
    assert made is None
    assert [(p.field, p.kind) for p in problems] == [("subject", "invalid")]
    made, problems = checked("A", "<p>x</p>", "{% if %}")
    assert made is None and [(p.field, p.line, p.kind) for p in problems] == [("text", 1, "syntax")]


def test_the_variables_list_covers_what_the_default_template_uses() -> None:
    names = [v.name for v in VARIABLES]
    assert len(names) == len(set(names))
    default = default_template()
    used = set()
    for source in (default.subject, default.html, default.text):
        used |= find_undeclared_variables(Environment().parse(source))
    assert used <= set(names)
    assert all(v.pl and v.en and v.sample for v in VARIABLES)


def test_a_template_using_every_variable_passes() -> None:
    text = "\n".join("{{ " + v.name + " }}" for v in VARIABLES)
    assert check(template(text=text)) == []


def test_the_preview_renders_the_samples_with_the_tenant_as_seller() -> None:
    tenant = events.TenantConfig(tenant_id="t", name="Ciepłownia Miejska", kind="utility")
    assert sample_pdf(tenant).seller_name == "Ciepłownia Miejska"
    composed = preview(default_template(), tenant)
    samples = {v.name: v.sample for v in VARIABLES}
    assert composed.subject == f"Faktura {samples['number']} od Ciepłownia Miejska"
    for name in ("buyer_name", "total", "due_date", "link", "link_expires"):
        assert samples[name] in composed.text
    assert composed.template_version == 0
