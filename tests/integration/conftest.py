"""Integration fixtures: the fake GitHub server, GitHub's OpenAPI description, webhook payloads,
and a real SMTP server (``tests/smtpserver.py``).

The OpenAPI description and the webhook examples come from pinned npm packages fetched once into
``tests/.cache/npm`` (or ``$METASUP_TEST_CACHE/npm``) with ``npm pack``; see ``tests/fakegithub/npm.py``.
"""

from __future__ import annotations

import json
import ssl
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import trustme

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # make tests/fakegithub importable

from fakegithub import (
    FakeGitHub,
    OpenAPISpec,
    Repo,
    WebhookExamples,
    adjust_payload,
    openapi_deref_path,
    served_paths,
    webhook_examples_path,
)
from smtpserver import Server, client_context_for, server_factory

FAKE_REPO = "octo-org/fleet"


@pytest.fixture(scope="session")
def github_openapi() -> OpenAPISpec:
    """GitHub's dereferenced OpenAPI description (@octokit/openapi, pinned), reduced to served paths."""
    return OpenAPISpec.load(openapi_deref_path(), keep_paths=served_paths())


@pytest.fixture(scope="session")
def webhook_examples() -> WebhookExamples:
    """All example payloads of @octokit/webhooks-examples (pinned)."""
    return WebhookExamples.load(webhook_examples_path())


@pytest.fixture
def fake_github(github_openapi: OpenAPISpec) -> Iterator[FakeGitHub]:
    """A started fake GitHub; the test fails at teardown if any response broke the OpenAPI contract,
    a request hit an endpoint the fake does not serve, or the fake crashed."""
    fake = FakeGitHub(github_openapi).start()
    try:
        yield fake
    finally:
        fake.stop()
    errors = fake.take_errors()
    if errors:
        pytest.fail("fake GitHub recorded errors:\n" + "\n".join(f"- {e}" for e in errors), pytrace=False)


@pytest.fixture
def fake_repo(fake_github: FakeGitHub) -> Repo:
    """``octo-org/fleet`` in the fake, default branch ``main`` holding a README."""
    return fake_github.create_repo(FAKE_REPO, {"README.md": "# fleet\n"})


@pytest.fixture
def webhook_payload(webhook_examples: WebhookExamples) -> Callable[[str], dict[str, Any]]:
    """``webhook_payload("pull_request.opened")`` → a fresh copy of that example payload."""
    payload: Callable[[str], dict[str, Any]] = webhook_examples.payload
    return payload


@pytest.fixture
def github_event_path(
    webhook_examples: WebhookExamples, tmp_path: Path, request: pytest.FixtureRequest
) -> Callable[..., Path]:
    """Write a webhook payload for ``GITHUB_EVENT_PATH``; returns the file's path.

    ``github_event_path("pull_request.opened", repo="octo-org/fleet", number=3, **overrides)``:
    with ``repo`` the payload's repository (and PR/issue ``number``) are the fake's objects;
    ``overrides`` are top-level keys to set.
    """
    counter = iter(range(10**6))

    def write(name: str, *, repo: str | None = None, number: int | None = None, **overrides: Any) -> Path:
        payload = webhook_examples.payload(name)
        if repo is not None:
            fake: FakeGitHub = request.getfixturevalue("fake_github")
            payload = adjust_payload(payload, fake, repo, number)
        payload.update(overrides)
        path = tmp_path / f"event-{next(counter)}-{name}.json"
        path.write_text(json.dumps(payload, indent=2), encoding="utf-8")
        return path

    return write


@pytest.fixture(scope="module")
def ca() -> trustme.CA:
    """A throwaway certificate authority for the SMTP server's TLS."""
    return trustme.CA()


@pytest.fixture
def client_context(ca: trustme.CA) -> ssl.SSLContext:
    """A client TLS context that trusts ``ca``."""
    return client_context_for(ca)


@pytest.fixture
def make_server(ca: trustme.CA) -> Iterator[Callable[..., Server]]:
    """``make_server(implicit_tls=False, started=True, **smtp_kwargs)``: aiosmtpd with TLS and AUTH."""
    yield from server_factory(ca)
