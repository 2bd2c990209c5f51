"""Rendering prompt templates in Jinja2's immutable sandbox, with strict undefined variables.

Template text may come from a user (a file in prompts/, a future console), so it is rendered in
`ImmutableSandboxedEnvironment`: no underscore attributes (`''.__class__`), no mutating methods, no
loader (so no `{% include %}` or `{% extends %}` of any file), bounded `range`. A variable the
context lacks is an error naming it (`StrictUndefined`), never an empty string.

    variables(body)            the template's top-level variables, sorted
    missing(body, context)     which of them the context lacks
    render(body, context)      the text; MissingVariables / UnsafeTemplate / TemplateError
    preview(body)              the text with generated sample values ([name_value])
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import jinja2
import jinja2.meta
from jinja2.exceptions import SecurityError
from jinja2.sandbox import ImmutableSandboxedEnvironment


class TemplateError(ValueError):
    """The template cannot be parsed or rendered."""


class MissingVariables(TemplateError):
    def __init__(self, names: list[str], detail: str | None = None):
        self.names = names
        super().__init__(
            f"missing variable{'s' if len(names) != 1 else ''}: {', '.join(names)}" + (f" ({detail})" if detail else "")
        )


class UnsafeTemplate(TemplateError):
    """The template tried to reach what the sandbox keeps out (attributes, files, mutation)."""


def _environment() -> ImmutableSandboxedEnvironment:
    return ImmutableSandboxedEnvironment(
        undefined=jinja2.StrictUndefined,
        autoescape=False,  # prompts are text; an html template escapes what it needs itself
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
        loader=None,
        auto_reload=False,
    )


ENVIRONMENT = _environment()


def _parse(body: str) -> jinja2.nodes.Template:
    try:
        return ENVIRONMENT.parse(body)
    except jinja2.TemplateSyntaxError as exc:
        raise TemplateError(f"template syntax error on line {exc.lineno}: {exc.message}") from None


def variables(body: str) -> list[str]:
    """The variables the template reads from its context (top-level names), sorted."""
    return sorted(jinja2.meta.find_undeclared_variables(_parse(body)))


def missing(body: str, context: Mapping[str, Any]) -> list[str]:
    """The template's variables that `context` does not have (None counts as given)."""
    return [name for name in variables(body) if name not in context]


def _undefined_name(exc: jinja2.UndefinedError) -> str:
    message = str(exc.message or "")
    # "'name' is undefined" or "'dict object' has no attribute 'name'"
    if message.endswith("is undefined"):
        return message.split("'")[1] if "'" in message else message
    if "has no attribute" in message:
        return message.rsplit("'", 2)[-2] if message.count("'") >= 2 else message
    return message


def render(body: str, context: Mapping[str, Any]) -> str:
    """The rendered text. Raises MissingVariables naming every missing top-level variable (or the
    missing attribute of one), UnsafeTemplate for what the sandbox refuses, TemplateError else."""
    absent = missing(body, context)
    if absent:
        raise MissingVariables(absent)
    try:
        template = ENVIRONMENT.from_string(body)
        return template.render(dict(context))
    except SecurityError as exc:
        raise UnsafeTemplate(f"refused by the sandbox: {exc}") from None
    except jinja2.UndefinedError as exc:
        raise MissingVariables([_undefined_name(exc)], str(exc.message)) from None
    except jinja2.TemplateSyntaxError as exc:
        raise TemplateError(f"template syntax error on line {exc.lineno}: {exc.message}") from None
    except TypeError as exc:
        # `{% include %}` / `{% extends %}` / `{% import %}` without a loader, and the like.
        raise UnsafeTemplate(f"refused: {exc}") from None
    except (OverflowError, MemoryError, RecursionError) as exc:
        raise UnsafeTemplate(f"refused: {type(exc).__name__}") from None


def sample_context(body: str) -> dict[str, str]:
    """A generated value for every variable: `[name_value]`."""
    return {name: f"[{name}_value]" for name in variables(body)}


class _Sample(str):
    """A sample value that also answers any attribute or item with a sample (`{{ a.b }}`, loops)."""

    def __getattr__(self, name: str) -> _Sample:
        if name.startswith("_"):
            raise AttributeError(name)
        return _Sample(f"[{self[1:-7]}.{name}_value]")

    def __getitem__(self, key: Any) -> Any:
        if isinstance(key, slice | int):
            return str.__getitem__(self, key)
        return _Sample(f"[{self[1:-7]}.{key}_value]")


def preview(body: str, context: Mapping[str, Any] | None = None) -> str:
    """The template rendered with `context` where given and generated sample values elsewhere."""
    given = dict(context or {})
    samples = {name: _Sample(f"[{name}_value]") for name in variables(body) if name not in given}
    return render(body, {**samples, **given})
