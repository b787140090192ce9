"""A stateful fake GitHub REST API for integration tests, validated against GitHub's OpenAPI.

See README.md beside this file.  :mod:`.server` is the fake, :mod:`.routes` the routing core and
:mod:`.api_issues` / :mod:`.api_pulls` / :mod:`.api_git` the endpoints, :mod:`.factories` the JSON
objects, :mod:`.openapi` the validation policy, :mod:`.npm` the pinned npm fixtures and
:mod:`.webhooks` the payloads; ``tests/integration/test_fakegithub_replay.py`` replays GitHub's
recorded exchanges (``@octokit/fixtures``) against it.
"""

from .npm import octokit_fixture_path, openapi_deref_path, webhook_examples_path
from .openapi import OpenAPISpec
from .routes import ROUTES, served_operations
from .server import (
    ACTIONS_TOKEN,
    BOT_LOGIN,
    FORK_TOKEN,
    GHES_PREFIX,
    GITHUB_DEFAULT_LABELS,
    KNOWN_BOT_IDS,
    PAT_LOGIN,
    PAT_TOKEN,
    FakeGitHub,
    Fault,
    LoggedRequest,
    RequestInfo,
)
from .state import ApiError, Clock, Comment, Identity, Issue, Label, PullInfo, Repo, Review, User
from .webhooks import WebhookExamples, adjust_payload


def served_paths() -> list[str]:
    """Path templates the fake serves (what :meth:`OpenAPISpec.load` must keep)."""
    return sorted({template for _, template in served_operations()})


def start_checked_fake() -> FakeGitHub:
    """A started fake whose every response is checked against GitHub's OpenAPI description, as
    the tests' ``fake_github`` fixture makes it: for the benchmarks in ``tools/``."""
    return FakeGitHub(OpenAPISpec.load(openapi_deref_path(), keep_paths=served_paths())).start()


__all__ = [
    "ACTIONS_TOKEN",
    "BOT_LOGIN",
    "FORK_TOKEN",
    "GHES_PREFIX",
    "GITHUB_DEFAULT_LABELS",
    "KNOWN_BOT_IDS",
    "PAT_LOGIN",
    "PAT_TOKEN",
    "ROUTES",
    "ApiError",
    "Clock",
    "Comment",
    "FakeGitHub",
    "Fault",
    "Identity",
    "Issue",
    "Label",
    "LoggedRequest",
    "OpenAPISpec",
    "PullInfo",
    "Repo",
    "RequestInfo",
    "Review",
    "User",
    "WebhookExamples",
    "adjust_payload",
    "octokit_fixture_path",
    "openapi_deref_path",
    "served_operations",
    "served_paths",
    "start_checked_fake",
    "webhook_examples_path",
]
