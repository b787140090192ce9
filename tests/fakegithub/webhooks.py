"""Real webhook payloads from ``@octokit/webhooks-examples`` and GITHUB_EVENT_PATH files built from them.

Names are ``<event>.<action>`` (first example with that action), ``<event>.<action>.<index>`` (the
example at that index of the event's list, as in ``shared/github/webhooks``), or ``<event>`` /
``<event>.event[.<index>]`` for events without an action (``push``, ``workflow_dispatch``).
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

from . import factories
from .factories import Urls

if TYPE_CHECKING:
    from .server import FakeGitHub


class WebhookExamples:
    def __init__(self, index: list[dict[str, Any]]) -> None:
        self.events = {entry["name"]: entry for entry in index}

    @classmethod
    def load(cls, path: Path) -> WebhookExamples:
        with path.open(encoding="utf-8") as fh:
            return cls(json.load(fh))

    def names(self) -> list[str]:
        out = []
        for event, entry in sorted(self.events.items()):
            for i, example in enumerate(entry["examples"]):
                out.append(f"{event}.{example.get('action') or 'event'}.{i}")
        return out

    def payload(self, name: str) -> dict[str, Any]:
        """A deep copy of the named example payload."""
        parts = name.split(".")
        event = parts[0]
        if event not in self.events:
            raise KeyError(f"unknown webhook event {event!r}; known: {sorted(self.events)}")
        examples: list[dict[str, Any]] = self.events[event]["examples"]
        action = parts[1] if len(parts) > 1 else None
        if len(parts) > 2:
            example = examples[int(parts[2])]
            if (example.get("action") or "event") != action:
                raise KeyError(f"{name}: example {parts[2]} of {event} has action {example.get('action')!r}")
            return copy.deepcopy(example)
        for example in examples:
            if action in (None, "event") or example.get("action") == action:
                return copy.deepcopy(example)
        raise KeyError(f"no {event} example with action {action!r}")


def adjust_payload(
    payload: dict[str, Any], fake: FakeGitHub, full_name: str, number: int | None = None
) -> dict[str, Any]:
    """Point a payload at the fake: its ``repository`` (and ``pull_request``/``issue`` when
    ``number`` is given and the payload has one) become the fake's own objects."""
    with fake.lock:
        repo = fake.repo(full_name)
        urls = Urls(api=fake.url, web=fake.url)
        payload = copy.deepcopy(payload)
        payload["repository"] = factories.repository(repo, fake.users[repo.owner], urls)
        if number is not None:
            iss = repo.issues.get(number)
            if "pull_request" in payload:
                if iss is not None and iss.pull is not None:
                    payload["pull_request"] = factories.pull_request(iss, repo, fake.users, urls)
                else:
                    payload["pull_request"]["number"] = number
            if "issue" in payload:
                if iss is not None:
                    payload["issue"] = factories.issue(iss, repo, fake.users, urls)
                else:
                    payload["issue"]["number"] = number
            if "number" in payload:
                payload["number"] = number
        if (
            "ref" in payload
            and isinstance(payload.get("ref"), str)
            and payload["ref"].startswith("refs/heads/")
        ):
            sha = repo.branch_sha(repo.default_branch)
            payload["ref"] = f"refs/heads/{repo.default_branch}"
            if "after" in payload and sha is not None:
                payload["after"] = sha
        return payload
