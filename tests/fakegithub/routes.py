"""The REST endpoints the fake serves, keyed by GitHub's OpenAPI path templates.

Handlers live in :mod:`.api_issues`, :mod:`.api_pulls` and :mod:`.api_git` (imported at the end of
this module, which registers them).  Each takes the fake and a parsed :class:`Request` and returns
a :class:`Response` or raises :class:`~.state.ApiError`; it runs with the fake's state lock held.
Handlers build JSON only through :mod:`.factories` (looked up on the module at call time, so a test
can monkeypatch a factory to prove that the OpenAPI validation catches a bad object).
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

from .factories import Urls
from .gitstore import Signature
from .state import (
    ApiError,
    Identity,
    Issue,
    Repo,
    not_found,
    validation_failed,
)

if TYPE_CHECKING:
    from .server import FakeGitHub

MAX_BODY = 65536
MAX_TITLE = 256  # GitHub's 422 "title is too long (maximum is 256 characters)"
ACTIONS_PR_MESSAGE = "GitHub Actions is not permitted to create or approve pull requests."
INTEGRATION_MESSAGE = "Resource not accessible by integration"
DOCS = "https://docs.github.com/rest"


@dataclass
class Request:
    method: str
    path: str  # without the /api/v3 prefix and the query string, still percent-encoded
    template: str
    params: dict[str, str]  # percent-decoded path parameters
    query: dict[str, str]  # first value of each query parameter
    body: Any
    identity: Identity | None
    urls: Urls
    accept: str = ""  # the Accept header ("" when absent)
    link_path: str = ""  # ``path`` as GitHub writes it in Link headers (/repositories/{id}/...)

    @property
    def media(self) -> str | None:
        """The custom media type asked for in Accept: "raw", "object", "html"... (None: plain JSON)."""
        return media_type(self.accept)


@dataclass
class Response:
    status: int
    body: Any = None  # JSON-serialisable; None sends an empty body
    headers: dict[str, str] = field(default_factory=dict)
    raw: bytes | None = None  # sent as is instead of ``body`` (the ``raw`` media type)
    template: str | None = None  # validate as this (same-method) operation instead of the route's


Handler = Callable[["FakeGitHub", Request], Response]


@dataclass(frozen=True)
class Route:
    method: str
    template: str  # the operation in GitHub's OpenAPI description (what responses are checked against)
    pattern: re.Pattern[str]
    handler: Handler
    alias: str | None = None  # a path GitHub serves that the description omits (legacy, trailing slash)


ROUTES: list[Route] = []
_NUMERIC = {"issue_number", "pull_number", "comment_id"}
_GREEDY = {"branch"}
_GREEDY_OR_EMPTY = {"ref", "path"}  # "/contents/" is the root, "/git/refs/" every ref


def _compile(template: str) -> re.Pattern[str]:
    def sub(m: re.Match[str]) -> str:
        name = m.group(1)
        if name in _NUMERIC:
            body = r"\d+"
        elif name in _GREEDY_OR_EMPTY:
            body = ".*"
        else:
            body = ".+" if name in _GREEDY else "[^/]+"
        return f"(?P<{name}>{body})"

    return re.compile(re.sub(r"\\\{(\w+)\\\}", sub, re.escape(template)))


def route(method: str, template: str, *, aliases: tuple[str, ...] = ()) -> Callable[[Handler], Handler]:
    """Register a handler for ``method template``; ``aliases`` are further paths it serves, checked
    against ``template`` (GitHub answers them, its description does not list them)."""

    def register(fn: Handler) -> Handler:
        ROUTES.append(Route(method, template, _compile(template), fn))
        for alias in aliases:
            ROUTES.append(Route(method, template, _compile(alias), fn, alias=alias))
        return fn

    return register


def legacy_route(method: str, template: str, *paths: str) -> Callable[[Handler], Handler]:
    """Register a handler for ``paths`` only: older forms GitHub still answers that its description
    omits (``GET /git/refs/``); responses are checked against the documented ``template``."""

    def register(fn: Handler) -> Handler:
        ROUTES.extend(Route(method, template, _compile(path), fn, alias=path) for path in paths)
        return fn

    return register


def served_operations() -> list[tuple[str, str]]:
    """The documented (method, template) pairs the fake serves (aliases not repeated)."""
    return [(r.method, r.template) for r in ROUTES if r.alias is None]


_MEDIA = re.compile(r"application/vnd\.github(?:\.v3)?(?:\.(?P<param>[a-z-]+))?(?:\+json)?")


def media_type(accept: str) -> str | None:
    """``param`` of GitHub's custom media types: ``application/vnd.github.raw`` (or ``.v3.raw``,
    ``.raw+json``) gives "raw", ``application/vnd.github.object`` "object"; JSON gives None."""
    for part in accept.split(","):
        m = _MEDIA.fullmatch(part.split(";")[0].strip().lower())
        if m is not None and m.group("param"):
            return m.group("param")
    return None


# -- helpers -------------------------------------------------------------------------------------


def created(body: dict[str, Any]) -> Response:
    return Response(201, body, {"Location": body["url"]})


def paginate(req: Request, items: list[Any]) -> Response:
    """One page of ``items`` plus GitHub's ``Link`` header (prev/next/last/first).

    Like GitHub, a repository's lists link to ``/repositories/{id}/...`` (see
    :attr:`Request.link_path`), which the fake serves too; the query is kept, ``page`` set.
    """

    def as_int(name: str, default: int) -> int:
        try:
            return int(req.query.get(name, default))
        except ValueError:
            return default

    per_page = min(max(as_int("per_page", 30), 1), 100)
    page = max(as_int("page", 1), 1)
    last = max(math.ceil(len(items) / per_page), 1)
    chunk = items[(page - 1) * per_page : page * per_page]

    def url(num: int) -> str:
        query = {**req.query, "page": str(num)}
        return f"{req.urls.api}{req.link_path or req.path}?{urlencode(query)}"

    links = []
    if page > 1:
        links.append(f'<{url(min(page - 1, last))}>; rel="prev"')
    if page < last:
        links.append(f'<{url(page + 1)}>; rel="next"')
        links.append(f'<{url(last)}>; rel="last"')
    if page > 1:
        links.append(f'<{url(1)}>; rel="first"')
    headers = {"Link": ", ".join(links)} if links else {}
    return Response(200, chunk, headers)


def body_dict(req: Request) -> dict[str, Any]:
    if req.body is None:
        return {}
    if not isinstance(req.body, dict):
        raise ApiError(400, "Problems parsing JSON")
    return req.body


def require_str(body: dict[str, Any], name: str, resource: str) -> str:
    value = body.get(name)
    if value is None:
        raise validation_failed(resource, name, "missing_field")
    if not isinstance(value, str):
        raise ApiError(422, f"Invalid request.\n\nFor '{name}', {value!r} is not a string.")
    return value


def check_body_length(value: str | None, resource: str) -> None:
    if value is not None and len(value) > MAX_BODY:
        raise validation_failed(
            resource, "body", "custom", f"body is too long (maximum is {MAX_BODY} characters)"
        )


def check_title_length(value: object, resource: str) -> None:
    if isinstance(value, str) and len(value) > MAX_TITLE:
        raise validation_failed(
            resource, "title", "custom", f"title is too long (maximum is {MAX_TITLE} characters)"
        )


def get_repo(fake: FakeGitHub, req: Request) -> Repo:
    repo = fake.repos.get(f"{req.params['owner']}/{req.params['repo']}".lower())
    if repo is None or (repo.private and req.identity is None):
        raise not_found()
    return repo


def actor(fake: FakeGitHub, req: Request) -> str:
    if req.identity is None:
        raise ApiError(401, "Requires authentication")
    return req.identity.login


def get_issue(repo: Repo, number: str) -> Issue:
    iss = repo.issues.get(int(number))
    if iss is None:
        raise not_found()
    return iss


def get_pull(repo: Repo, number: str) -> Issue:
    iss = get_issue(repo, number)
    if iss.pull is None:
        raise not_found()
    return iss


def parse_time(value: str) -> datetime | None:
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None


def signature_from(body: Any, default: Signature, what: str) -> Signature:
    if body is None:
        return default
    if not isinstance(body, dict) or "name" not in body or "email" not in body:
        raise ApiError(422, f'Invalid request.\n\n"name", "email" weren\'t supplied in {what}.')
    when = parse_time(body["date"]) if isinstance(body.get("date"), str) else default.date
    if when is None:
        raise ApiError(422, f"Invalid request.\n\n{body.get('date')!r} is not a valid date-time.")
    return Signature(str(body["name"]), str(body["email"]), when)


# Register the handlers (each module decorates its functions with @route).
from . import api_git, api_issues, api_pulls  # noqa: E402, F401
