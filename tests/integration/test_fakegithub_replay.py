"""GitHub's recorded exchanges replayed against the fake: it must answer as GitHub did.

The recordings are the npm package ``@octokit/fixtures`` 23.1.2 (pinned by sha512 in
``tests/fakegithub/npm.py``): each scenario is a list of real request/response exchanges with
api.github.com, normalised by the package (ids from 1000, commit SHAs ``000…1``, ``000…2`` in order
of appearance, repositories ``octokit-fixture-org/<scenario>``).  For every scenario covering an
endpoint metasup calls, the test builds the state the recording implies in a fresh fake (repository,
files, commits, labels, issues; repository id 1000 where a URL shows it), sends each recorded request
over HTTP (same method, path, query, JSON body, ``Accept`` and token; recorded SHAs mapped to the
fake's) and checks, per exchange:

* the status code;
* the top-level JSON keys (of the object, or of the first element of an array), and the bytes of a
  ``raw`` media-type body;
* the ``Link`` header: the same rels (``next``/``last``/``prev``/``first``) with the same path and
  query (``/repositories/1000/issues?per_page=3&page=2``), and no ``Link`` where GitHub sent none;
* the ``Location`` path and the media type of ``Content-Type`` when recorded;
* the identifying values of the object (or first element) — ``number``, ``title``, ``state``,
  ``name``, ``ref``, ``path``, ``color``, ``message`` — so order and content are GitHub's too;
* git SHAs the package left as they were (blobs: ``README.md``, ``test.txt``): the fake computes
  real git SHAs, so they must be GitHub's.

GitHub has added fields since the recordings (2017-2022); a key the fake sends that a recording lacks
is accepted only when it is listed in ``ADDED_SINCE`` below and is a property of the response
schema in the pinned OpenAPI description (so GitHub documents it today).  A key the recording has
must be there.  The fake's usual OpenAPI validation stays on for every replayed response.

Figure (measured): 22 of 22 in-scope exchanges match, in 8 scenarios — get-repository 1/1,
labels 5/5, git-refs 5/5, get-content 2/2, create-file 1/1, paginate-issues 5/5, errors 1/1,
add-labels-to-issue 2/2.  Out of scope: search-issues (1 exchange, ``GET /search/issues``) —
metasup never searches (it lists a repository's issues and pulls), so the fake does not serve search.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import requests
from fakegithub import ROUTES, FakeGitHub, OpenAPISpec
from fakegithub.npm import octokit_fixture_path

ORG = "octokit-fixture-org"
USER_A = "octokit-fixture-user-a"
TOKEN_A = "0000000000000000000000000000000000000001"  # the recordings' (normalised) token of user A
README = Path(__file__).resolve().parents[1] / "fakegithub" / "README.md"

# Keys GitHub sends today that the recordings predate, by (method, OpenAPI template, status).  Each
# must be a property of that response in the pinned OpenAPI description (checked below).
ADDED_SINCE: dict[tuple[str, str, int], set[str]] = {
    # merge-commit message settings (late 2022, replacing use_squash_pr_title_as_default) and
    # Discussions' flag, all in "Full Repository"
    ("GET", "/repos/{owner}/{repo}", 200): {
        "has_discussions",
        "merge_commit_message",
        "merge_commit_title",
        "squash_merge_commit_message",
        "squash_merge_commit_title",
    },
    # issue types (2025): "only present for issues in repositories where issue types are supported"
    # (an organization's)
    ("GET", "/repos/{owner}/{repo}/issues", 200): {"type"},
    ("POST", "/repos/{owner}/{repo}/issues", 201): {"type"},
    # error bodies carry their status since 2024 ("Basic Error" documents it)
    ("POST", "/repos/{owner}/{repo}/labels", 422): {"status"},
}


def sha(n: int) -> str:
    """The package's n-th normalised commit SHA."""
    return f"{n:040d}"


# -- the state each recording implies ------------------------------------------------------------


def hello_world(fake: FakeGitHub) -> dict[str, str]:
    """``octokit-fixture-org/hello-world``: a long-lived repository, README on ``master``."""
    fake.create_repo(
        f"{ORG}/hello-world", {"README.md": "# hello-world"}, default_branch="master", repo_id=1000
    )
    return {}


def empty_repo(name: str, **kwargs: Any) -> Callable[[FakeGitHub], dict[str, str]]:
    """A scenario's temporary repository: ``POST /orgs/{org}/repos`` with only a name (empty)."""

    def setup(fake: FakeGitHub) -> dict[str, str]:
        fake.create_repo(f"{ORG}/{name}", auto_init=False, repo_id=1000, **kwargs)
        return {}

    return setup


def git_refs(fake: FakeGitHub) -> dict[str, str]:
    """Two commits on ``main`` (made by unrecorded PUT /contents); SHA 1 is the tip, 2 its parent."""
    full = f"{ORG}/git-refs"
    fake.create_repo(full, auto_init=False, repo_id=1000)
    first = fake.commit_files(
        full,
        "main",
        {"1.md": "# git-refs\ncreated with initial commit"},
        message="initial commit",
        user=USER_A,
    )
    second = fake.commit_files(
        full, "main", {"2.md": "# git-refs\ncreated with 2nd commit"}, message="2nd commit", user=USER_A
    )
    return {sha(1): second, sha(2): first}


def paginate_issues(fake: FakeGitHub) -> dict[str, str]:
    """13 issues made by unrecorded POST /issues (newest first: page 1 is #13, #12, #11)."""
    full = f"{ORG}/paginate-issues"
    fake.create_repo(full, auto_init=False, repo_id=1000)
    for i in range(1, 14):
        fake.create_issue(full, f"Test issue {i}", user=USER_A)
    return {}


SCENARIOS: dict[str, Callable[[FakeGitHub], dict[str, str]]] = {
    "get-repository": hello_world,
    "labels": empty_repo("labels", default_labels=True),
    "git-refs": git_refs,
    "get-content": hello_world,
    "create-file": empty_repo("create-file"),
    "paginate-issues": paginate_issues,
    "errors": empty_repo("errors"),
    "add-labels-to-issue": empty_repo("add-labels-to-issue"),
}
OUT_OF_SCOPE = {"search-issues": "metasup never calls GET /search/issues; the fake does not serve search"}


# -- replay ----------------------------------------------------------------------------------------


@dataclass
class Exchange:
    scenario: str
    index: int
    recorded: dict[str, Any]

    @property
    def label(self) -> str:
        return f"{self.scenario}[{self.index}] {self.recorded['method'].upper()} {self.recorded['path']}"


def load(scenario: str) -> list[Exchange]:
    data = json.loads(octokit_fixture_path(scenario).read_text(encoding="utf-8"))
    return [Exchange(scenario, i, e) for i, e in enumerate(data)]


def links(header: str | None) -> dict[str, str]:
    """{rel: path?query} of a Link header (host dropped: the fake is not api.github.com)."""
    out = {}
    for m in re.finditer(r'<([^>]+)>;\s*rel="([^"]+)"', header or ""):
        url = urlsplit(m.group(1))
        out[m.group(2)] = f"{url.path}?{url.query}" if url.query else url.path
    return out


def media(content_type: str | None) -> str | None:
    return None if content_type is None else content_type.split(";")[0].strip()


IDENTIFYING = ("number", "title", "state", "name", "ref", "path", "color", "message")


def first(body: Any) -> dict[str, Any]:
    if isinstance(body, list) and body and isinstance(body[0], dict):
        return body[0]
    return body if isinstance(body, dict) else {}


def top_keys(body: Any) -> set[str] | None:
    if isinstance(body, dict):
        return set(body)
    if isinstance(body, list) and body and isinstance(body[0], dict):
        return set(body[0])
    return None


def real_shas(body: Any) -> dict[str, str]:
    """{where: sha} of the ``sha`` fields at the top (object, first element, ``content``), leaving
    out the package's placeholders (``000…1``)."""
    spots = {"": body, "[0]": body[0] if isinstance(body, list) and body else None}
    if isinstance(body, dict):
        spots[".content"] = body.get("content")
    return {
        where: obj["sha"]
        for where, obj in spots.items()
        if isinstance(obj, dict) and isinstance(obj.get("sha"), str) and not obj["sha"].startswith("0" * 30)
    }


def substitute(text: str, shas: dict[str, str]) -> str:
    for placeholder, real in shas.items():
        text = text.replace(placeholder, real)
    return text


def template_of(fake: FakeGitHub, method: str, path: str) -> str:
    """The OpenAPI template of a recorded request (``/repositories/{id}`` read as its repository)."""
    path = path.split("?")[0]
    m = re.fullmatch(r"/repositories/(\d+)(/.*)?", path)
    if m is not None:
        repo = next(r for r in fake.repos.values() if r.id == int(m.group(1)))
        path = f"/repos/{repo.full_name}{m.group(2) or ''}"
    for rt in ROUTES:
        if rt.method == method and rt.pattern.fullmatch(path):
            return rt.template
    raise KeyError(f"{method} {path}: no route")


def replay(fake: FakeGitHub, ex: Exchange, shas: dict[str, str]) -> list[str]:
    """Send one recorded request to the fake; the ways its answer differs from GitHub's."""
    rec = ex.recorded
    method = rec["method"].upper()
    newer = ADDED_SINCE.get((method, template_of(fake, method, rec["path"]), rec["status"]), set())
    headers = {k: v for k, v in rec["reqheaders"].items() if k in ("accept", "authorization")}
    data = None
    if rec["body"] not in ("", None):
        data = substitute(json.dumps(rec["body"]), shas).encode()
        headers["content-type"] = "application/json; charset=utf-8"
    resp = requests.request(
        method,
        fake.url + substitute(rec["path"], shas),
        headers=headers,
        data=data,
        allow_redirects=False,
        timeout=10,
    )
    problems = []
    if resp.status_code != rec["status"]:
        problems.append(f"status {resp.status_code} != {rec['status']}: {resp.text[:300]}")
    want_headers = {k.lower(): v for k, v in rec["headers"].items()}
    if rec["response"] not in ("", None) and media(want_headers.get("content-type")) != media(
        resp.headers.get("content-type")
    ):
        problems.append(f"content-type {resp.headers.get('content-type')} != {want_headers['content-type']}")
    if isinstance(rec["response"], str) and rec["response"]:
        if resp.content != rec["response"].encode():
            problems.append(f"raw body {resp.content[:80]!r} != {rec['response'][:80]!r}")
    else:
        want, got = top_keys(rec["response"]), top_keys(resp.json() if resp.content else None)
        if want is not None:
            extra = (got or set()) - want - newer
            if got is None or want - got or extra:
                missing = sorted(want - (got or set()))
                problems.append(f"top-level keys: missing {missing}, not recorded {sorted(extra)}")
        got_first = first(resp.json() if resp.content else None)
        for key in IDENTIFYING:
            recorded_value = first(rec["response"]).get(key)
            if recorded_value is not None and got_first.get(key) != recorded_value:
                problems.append(f"{key}: {got_first.get(key)!r} != {recorded_value!r}")
        fake_shas = real_shas(resp.json()) if resp.content else {}
        for where, recorded_sha in real_shas(rec["response"]).items():
            if fake_shas.get(where) != recorded_sha:
                problems.append(f"sha at {where or 'top'}: {fake_shas.get(where)} != {recorded_sha}")
    if links(want_headers.get("link")) != links(resp.headers.get("link")):
        problems.append(f"Link {resp.headers.get('link')!r} != {want_headers.get('link')!r}")
    if "location" in want_headers:
        got_location = urlsplit(resp.headers.get("location", "")).path
        if got_location != urlsplit(want_headers["location"]).path:
            problems.append(f"Location {got_location!r} != {want_headers['location']!r}")
    return problems


def setup_fake(fake: FakeGitHub, scenario: str) -> dict[str, str]:
    fake.add_token(TOKEN_A, USER_A)
    return SCENARIOS[scenario](fake)


@pytest.fixture(scope="module")
def recordings() -> dict[str, list[Exchange]]:
    """Every scenario used here, loaded once (before the per-test environment cleaning, so that
    ``$METASUP_TEST_CACHE`` is honoured as for the other npm fixtures)."""
    return {scenario: load(scenario) for scenario in (*SCENARIOS, *OUT_OF_SCOPE)}


@pytest.mark.parametrize("scenario", list(SCENARIOS))
def test_replay__matches_recording(
    fake_github: FakeGitHub, recordings: dict[str, list[Exchange]], scenario: str
) -> None:
    shas = setup_fake(fake_github, scenario)
    report = {ex.label: replay(fake_github, ex, shas) for ex in recordings[scenario]}
    mismatched = {label: problems for label, problems in report.items() if problems}
    assert not mismatched, json.dumps(mismatched, indent=2)


def test_replay__added_keys_are_documented(github_openapi: OpenAPISpec) -> None:
    """Every key accepted beyond a recording is one GitHub's description has for that response."""
    basic_error = github_openapi.response_check("GET", "/repos/{owner}/{repo}", 404).schema or {}
    for (method, template, status), keys in ADDED_SINCE.items():
        schema = github_openapi.response_check(method, template, status).schema or {}
        if schema.get("type") == "array":
            schema = schema["items"]
        documented = set(schema.get("properties", {}))
        if status >= 400:
            documented |= set(basic_error.get("properties", {}))
        assert keys <= documented, (method, template, status, sorted(keys - documented))


def test_replay__figure_in_docs(recordings: dict[str, list[Exchange]]) -> None:
    """The figure in this docstring and in the README is the one the scenarios give."""
    in_scope = sum(len(recordings[s]) for s in SCENARIOS)
    total = in_scope + sum(len(recordings[s]) for s in OUT_OF_SCOPE)
    figure = f"{in_scope} of {in_scope} in-scope exchanges match"
    assert figure in " ".join((__doc__ or "").split())
    assert figure in " ".join(README.read_text(encoding="utf-8").split())
    assert (in_scope, total) == (22, 23)
