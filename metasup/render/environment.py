"""The one Jinja2 environment builder: markdown bodies, the PR comment and the LP e-mail share it.

Three kinds, one per output, with the same filters (:data:`metasup.render.filters.FILTERS`)
and ``StrictUndefined`` everywhere (a misspelt name is an error, not an empty cell):

* ``markdown`` — comment, PR bodies, dashboard, job summary: no autoescape, but ``finalize``
  escapes every printed value for markdown and HTML, and breaks its issue references,
  unless a filter marked it ``Safe`` (metasup's own references: ``own``);
* ``html`` — the e-mail's HTML part: autoescape on, after ``finalize_email`` (control characters
  shown escaped, mentions neutralised);
* ``text`` — the e-mail's text/plain part: ``finalize_email`` only; ``trim_blocks``/``lstrip_blocks`` so a
  line holding only a ``{% tag %}`` leaves nothing behind.

Our templates are package data in ``metasup/render/templates/``. A user's ``comment_template``
is compiled in a sandboxed markdown environment that can load no other template and reads data
only (:class:`DataSandbox`): the template comes from the pull request, and Jinja's own sandbox
still let it call ``config.registry.joinpath('/proc/self/environ').read_text()``.
"""

from __future__ import annotations

import dataclasses
from datetime import date, timedelta
from decimal import Decimal
from functools import cache
from typing import Any, Literal

import jinja2
from jinja2.sandbox import SandboxedEnvironment
from pydantic import BaseModel

from metasup.render.filters import FILTERS, finalize, finalize_email

Kind = Literal["markdown", "html", "text"]

TEMPLATES_PACKAGE = "metasup.render"
TEMPLATES_FOLDER = "templates"


PLAIN_VALUES = (str, int, float, list, tuple, dict, date, timedelta, Decimal, type(None))
"""What a user's template may call methods of (``'x'.upper()``, ``d.items()``, ``ts.strftime``),
with Jinja's sandbox rules on top: values that hold data, never the file system or a process."""


class DataSandbox(SandboxedEnvironment):
    """Jinja's sandbox, reading data only: the fields of metasup's models and dataclasses and the
    methods of plain values. Anything else (a ``Path``'s ``read_text``/``write_text``/``joinpath``,
    a model's methods) is undefined, so using it fails the render with the template's line."""

    def is_safe_attribute(self, obj: Any, attr: str, value: Any) -> bool:
        if not super().is_safe_attribute(obj, attr, value):
            return False
        if isinstance(obj, BaseModel):
            return attr in type(obj).model_fields
        if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
            return attr in {field.name for field in dataclasses.fields(obj)}
        return isinstance(obj, PLAIN_VALUES)


def environment(kind: Kind, *, sandboxed: bool = False) -> jinja2.Environment:
    """A new environment for ``kind``; package templates load by name unless ``sandboxed``."""
    cls = DataSandbox if sandboxed else jinja2.Environment
    loader = jinja2.BaseLoader() if sandboxed else jinja2.PackageLoader(TEMPLATES_PACKAGE, TEMPLATES_FOLDER)
    env = cls(
        loader=loader,
        autoescape=kind == "html",
        finalize=finalize if kind == "markdown" else finalize_email,
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
        trim_blocks=kind == "text",
        lstrip_blocks=kind == "text",
    )
    env.filters.update(FILTERS)
    return env


def kind_of(name: str) -> Kind:
    """The kind of a template by its name: ``*.html.j2``, ``*.txt.j2``, else markdown."""
    if name.endswith(".html.j2"):
        return "html"
    return "text" if name.endswith(".txt.j2") else "markdown"


@cache
def _package_environment(kind: Kind) -> jinja2.Environment:
    return environment(kind)


def package_template(name: str) -> jinja2.Template:
    """One of our templates (``metasup/render/templates/<name>``), in the environment of its kind."""
    return _package_environment(kind_of(name)).get_template(name)
