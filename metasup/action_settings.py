"""The action's settings: everything it reads from its environment, validated once (SPEC §4.3).

``ActionSettings.from_environ`` is the only place that reads the environment; action inputs
arrive as ``METASUP_*`` variables mapped explicitly in ``action.yml`` (``runs.env``), never as
``INPUT_GITHUB-TOKEN``-style names a shell cannot read. A value the run could not use (a
``GITHUB_API_URL`` PyGithub cannot parse, a ``GITHUB_REPOSITORY`` that is not ``owner/name``) is
an ``InputError`` here, before anything is read or fetched.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path
from typing import Literal
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError, field_validator

from metasup.model.errors import InputError
from metasup.runner import FailOn

ModeInput = Literal["auto", "review", "rolling"]

_REPOSITORY = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]*/[A-Za-z0-9._-]+")
"""``owner/name``: letters, digits, ``-`` and ``_`` (enterprise-managed users end in ``_shortcode``);
repository names add ``.``."""

_APP_SLUG = re.compile(r"[a-z0-9](?:[a-z0-9-]*[a-z0-9])?")

_TRUE = frozenset({"true", "1", "yes", "on"})
_FALSE = frozenset({"false", "0", "no", "off"})

SETTING_NAMES = {
    "token": "github-token",
    "app_slug": "app-slug",
    "config": "config",
    "mode": "mode",
    "base_ref": "base-ref",
    "as_of": "as-of",
    "dry_run": "dry-run",
    "fail_on": "fail-on",
    "event_name": "GITHUB_EVENT_NAME",
    "event_path": "GITHUB_EVENT_PATH",
    "repository": "GITHUB_REPOSITORY",
    "api_url": "GITHUB_API_URL",
    "server_url": "GITHUB_SERVER_URL",
    "workspace": "GITHUB_WORKSPACE",
    "run_id": "GITHUB_RUN_ID",
    "ref": "GITHUB_REF",
    "output_path": "GITHUB_OUTPUT",
    "summary_path": "GITHUB_STEP_SUMMARY",
}
"""Each setting as the user set it: the action's input (``with: dry-run:``), or the runner's variable."""


class ActionSettings(BaseModel):
    """Everything the action reads from its environment, validated once."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    token: SecretStr = Field(repr=False)
    app_slug: str | None = None
    """The GitHub App whose installation token ``token`` is (it writes as ``<app_slug>[bot]``)."""
    config: Path = Path("metasup.yml")
    mode: ModeInput = "auto"
    base_ref: str | None = None
    as_of: str | None = None
    dry_run: bool = False
    fail_on: FailOn = "high"
    event_name: str
    event_path: Path | None = None
    repository: str
    api_url: str = "https://api.github.com"
    server_url: str = "https://github.com"
    workspace: Path = Path(".")
    run_id: str = "local"
    ref: str | None = None
    """``GITHUB_REF``: what the run is on (``refs/heads/main``); unset outside a runner."""
    output_path: Path | None = None
    summary_path: Path | None = None

    @field_validator("token")
    @classmethod
    def _one_word(cls, value: SecretStr) -> SecretStr:
        """A token with a line break or a space inside (a secret pasted from two lines) cannot be
        sent, and an error quoting the header would print it unmasked: refused, never quoted."""
        if any(char.isspace() or not char.isprintable() for char in value.get_secret_value()):
            raise ValueError(
                "the token holds a line break, a space or another unprintable character inside it; "
                "paste the secret again as one line"
            )
        return value

    @field_validator(
        "app_slug", "base_ref", "as_of", "event_path", "ref", "output_path", "summary_path", mode="before"
    )
    @classmethod
    def _empty_is_none(cls, value: object) -> object:
        return None if value == "" else value

    @field_validator("repository")
    @classmethod
    def _owner_and_name(cls, value: str) -> str:
        """GITHUB_REPOSITORY as GitHub writes it: ``owner/name``. It goes into every API path, so
        ``../x`` or ``o/..`` would send the token's requests to other endpoints."""
        if not _REPOSITORY.fullmatch(value) or value.split("/")[1] in {".", ".."}:
            raise ValueError(f"{value!r} is not owner/name")
        return value

    @field_validator("app_slug")
    @classmethod
    def _slug(cls, value: str | None) -> str | None:
        """An App's slug as ``actions/create-github-app-token`` outputs it (``my-app``); its bot's
        login (``my-app[bot]``) is taken too."""
        if value is None:
            return None
        slug = value.strip().removesuffix("[bot]").lower()
        if not _APP_SLUG.fullmatch(slug):
            raise ValueError(f"{value!r} is not a GitHub App's slug (letters, digits, -)")
        return slug

    @field_validator("api_url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        """GITHUB_API_URL as requests can use it (``https://api.github.com``, GHES ``https://HOST/api/v3``)."""
        host = _http_host(value)
        if host is None:
            raise ValueError(f"{value!r} is not an http(s) URL with a host")
        if ":" in host:  # PyGithub drops the brackets of http://[::1]:8080, then cannot parse it
            raise ValueError(f"{value!r}: an IPv6 address; give the host's name")
        return value

    @field_validator("dry_run", mode="before")
    @classmethod
    def _boolean_input(cls, value: object) -> object:
        """``true``/``false`` (and ``1``/``0``, ``yes``/``no``, ``on``/``off``), any case. Anything
        else is refused: a ``dry-run: ture`` read as false would write to GitHub — in rolling mode,
        open, merge and kill."""
        if not isinstance(value, str):
            return value
        word = value.strip().lower()
        if word in _TRUE or word in _FALSE:
            return word in _TRUE
        raise ValueError(f"{value!r} is neither true nor false")

    @classmethod
    def from_environ(cls, environ: Mapping[str, str]) -> ActionSettings:
        def get(name: str, default: str | None = None) -> str | None:
            value = environ.get(name, default)
            return default if value == "" else value

        def token(name: str) -> str | None:
            """A secret pasted with its line end: the header would carry the "\n" (requests
            refuses it and quotes it) and ``::add-mask::`` would mask a different string."""
            return environ.get(name, "").strip() or None

        raw: dict[str, str | None] = {
            "token": token("METASUP_GITHUB_TOKEN") or token("GITHUB_TOKEN"),
            "app_slug": get("METASUP_APP_SLUG"),
            "config": get("METASUP_CONFIG", "metasup.yml"),
            "mode": get("METASUP_MODE", "auto"),
            "base_ref": get("METASUP_BASE_REF"),
            "as_of": get("METASUP_AS_OF"),
            "dry_run": get("METASUP_DRY_RUN", "false"),
            "fail_on": get("METASUP_FAIL_ON", "high"),
            "event_name": get("GITHUB_EVENT_NAME"),
            "event_path": get("GITHUB_EVENT_PATH"),
            "repository": get("GITHUB_REPOSITORY"),
            "api_url": get("GITHUB_API_URL", "https://api.github.com"),
            "server_url": get("GITHUB_SERVER_URL", "https://github.com"),
            "workspace": get("GITHUB_WORKSPACE", "."),
            "run_id": get("GITHUB_RUN_ID", "local"),
            "ref": get("GITHUB_REF"),
            "output_path": get("GITHUB_OUTPUT"),
            "summary_path": get("GITHUB_STEP_SUMMARY"),
        }
        try:
            return cls.model_validate({k: v for k, v in raw.items() if v is not None})
        except ValidationError as exc:
            problems = "; ".join(
                f"{_setting_name(e['loc'])}: {e['msg'].removeprefix('Value error, ')}"
                for e in exc.errors(include_input=False)
            )
            raise InputError(f"action settings are not valid: {problems}") from None

    def workspace_path(self, path: Path) -> Path:
        return path if path.is_absolute() else self.workspace / path


def _setting_name(loc: tuple[int | str, ...]) -> str:
    """The input or variable a validation error is about (``dry-run``, ``GITHUB_REPOSITORY``)."""
    field = str(loc[0]) if loc else ""
    return SETTING_NAMES.get(field, field)


def _http_host(url: str) -> str | None:
    """The host of an http(s) URL whose name DNS can hold, else None."""
    try:
        parts = urlsplit(url)
        host = parts.hostname
        if parts.scheme not in {"http", "https"} or not host:
            return None
        if ":" not in host:
            host.encode("idna")  # an empty or over-long label ("a..b"): UnicodeError
    except ValueError:  # a bad IPv6 literal; UnicodeError is a ValueError too
        return None
    return host
