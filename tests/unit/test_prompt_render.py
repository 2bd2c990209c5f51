"""The sandboxed renderer, template files and the number finder: plain Python, no database."""

import pytest

from resources.prompts.files import TemplateFileError, parse_template, read_templates
from resources.prompts.numbers import numbers_in, unsupported_numbers
from resources.prompts.render import (
    MissingVariables,
    TemplateError,
    UnsafeTemplate,
    missing,
    preview,
    render,
    variables,
)
from resources.settings import REPO_ROOT


def test_variables_missing_and_render():
    body = "Hello {{ user_name }}, welcome to {{ company }}! {{ company }}"
    assert variables(body) == ["company", "user_name"]
    assert missing(body, {"user_name": "Ana"}) == ["company"]
    assert render(body, {"user_name": "Ana", "company": "Acme"}) == "Hello Ana, welcome to Acme! Acme"


def test_a_missing_variable_is_an_error_naming_it_never_a_blank():
    with pytest.raises(MissingVariables, match="company") as raised:
        render("Hello {{ user }} at {{ company }}", {"user": "Ana"})
    assert raised.value.names == ["company"]
    with pytest.raises(MissingVariables, match="budget"):
        render("{{ account.budget }}", {"account": {"name": "x"}})


def test_preview_uses_generated_sample_values():
    assert preview("Create {{ product_name }} in {{ category }}") == "Create [product_name_value] in [category_value]"


@pytest.mark.parametrize(
    "body",
    [
        "{{ ''.__class__.__mro__[1].__subclasses__() }}",
        "{{ x.__class__ }}",
        "{{ cycler.__init__.__globals__ }}",
        "{{ lipsum.__globals__['os'] }}",
        "{% set l = [] %}{{ l.append(1) }}",
        "{{ x.__init__.__globals__['__builtins__']['open']('/etc/passwd').read() }}",
        "{% include '/etc/passwd' %}",
        "{% extends '/etc/passwd' %}",
        "{% import '/etc/passwd' as p %}",
        "{{ range(10**9) | list }}",
    ],
)
def test_the_sandbox_refuses_attribute_and_file_tricks(body):
    with pytest.raises(TemplateError) as raised:
        render(body, {"x": "text"})
    assert isinstance(raised.value, UnsafeTemplate | MissingVariables) or "undefined" in str(raised.value)
    assert "root:" not in str(raised.value)


def test_syntax_errors_are_template_errors():
    with pytest.raises(TemplateError, match="syntax"):
        variables("{{ unclosed ")


def test_template_files_parse_front_matter_and_refuse_unsafe_slugs():
    text = "---\nslug: a-b\nname: A\ntags: [x, y]\noutput_format: markdown\n---\nHi {{ who }}\n"
    template = parse_template(text, "a.md")
    assert (template.slug, template.output_format, template.tags, template.variables) == (
        "a-b",
        "markdown",
        ("x", "y"),
        ("who",),
    )
    assert template.body == "Hi {{ who }}\n"
    for slug in ("A B", "../x", "a--b", "-a", "é"):
        with pytest.raises(TemplateFileError, match="URL-safe"):
            parse_template(f"---\nslug: '{slug}'\n---\nx", "a.md")
    with pytest.raises(TemplateFileError, match="output_format"):
        parse_template("---\nslug: a\noutput_format: pdf\n---\nx", "a.md")


def test_the_shipped_templates_parse():
    slugs = {t.slug: t for t in read_templates(REPO_ROOT / "prompts")}
    assert set(slugs) >= {"account-system-prompt", "ticket-support-prompt", "daily-summary"}
    system = slugs["account-system-prompt"]
    assert "Only respond with information explicitly contained in the context below." in system.body
    assert {"account_overview", "top_campaigns", "top_ad_groups", "top_ads", "correction_rules"} <= set(
        system.variables
    )
    for template in slugs.values():
        assert preview(template.body)


def test_the_number_finder():
    text = "Spend 28,398.68 USD (-17.4%) on 2026-09-30, 1,491,368 impressions, p90 3 campaigns, 30-Day"
    assert numbers_in(text) == ["28398.68", "17.4", "2026-09-30", "1491368", "3", "30"]
    assert numbers_in("1491368.00 and 0.50") == ["1491368", "0.5"]
    context = {"overview": "Spend 28,398.68 USD", "n": 3, "rows": [{"impressions": 1491368}]}
    assert unsupported_numbers("Spend 28398.68, 3 campaigns, 1,491,368 shown", context) == []
    assert unsupported_numbers("Spend 28,398.69 over 4 days", context) == ["4", "28398.69"]
