"""The HTTP under PyGithub: every answer's body is read where a cut-off one can be retried.

requests reads a body after urllib3 has returned the answer's headers, so a connection that closes
halfway through the body (a proxy, a network cut) raised ``ChunkedEncodingError`` outside every
retry, and the run ended as "a bug in metasup" (found by an audit, 2026-12-07). Here the body is
read inside the adapter, and a read that breaks is handed to the same retry policy as any other
connection error (``client.RetryPolicy``): retried within the wait budget, a creating POST raising
``CreateUnconfirmed`` so its caller looks up whether it landed, and ``GitHubUnavailable`` naming the
call once the attempts run out.
"""

from __future__ import annotations

from typing import Any

import requests
from github import Github
from github.Requester import HTTPRequestsConnectionClass, HTTPSRequestsConnectionClass
from urllib3 import Retry
from urllib3.exceptions import ProtocolError


class BodyReadingAdapter(requests.adapters.HTTPAdapter):
    """requests' adapter, which also reads the body and retries a read that breaks."""

    def send(self, request: requests.PreparedRequest, *args: Any, **kwargs: Any) -> requests.Response:
        policy: Retry = self.max_retries
        while True:
            response = super().send(request, *args, **kwargs)
            if kwargs.get("stream"):
                return response
            try:
                response.content  # noqa: B018 - read now, inside the retries
            except (requests.exceptions.ChunkedEncodingError, requests.exceptions.ConnectionError) as exc:
                response.close()
                cut = ProtocolError(f"answer cut off ({exc})")  # a read error to urllib3's Retry
                policy = policy.increment(request.method, request.url, error=cut)
                policy.sleep()
                continue
            return response


class _Https(HTTPSRequestsConnectionClass):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        _mount(self, "https://")


class _Http(HTTPRequestsConnectionClass):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        _mount(self, "http://")


def _mount(connection: HTTPRequestsConnectionClass | HTTPSRequestsConnectionClass, prefix: str) -> None:
    """PyGithub's connection with :class:`BodyReadingAdapter` in place of requests' own."""
    connection.adapter = BodyReadingAdapter(
        max_retries=connection.retry, pool_connections=connection.pool_size, pool_maxsize=connection.pool_size
    )
    connection.session.mount(prefix, connection.adapter)


def read_bodies_with_retries(gh: Github) -> None:
    """Give ``gh`` connections whose adapter reads bodies inside the retries (before its first request).

    PyGithub picks its connection class per client from class-wide settings that also turn off
    connection reuse (``injectConnectionClasses``); this sets the one client's own, which PyGithub
    keeps in a private attribute: checked, so a PyGithub that moved it fails here, not silently.
    """
    requester = gh.requester
    attribute = "_Requester__connectionClass"
    current = getattr(requester, attribute, None)
    if current is HTTPSRequestsConnectionClass:
        setattr(requester, attribute, _Https)
    elif current is HTTPRequestsConnectionClass:
        setattr(requester, attribute, _Http)
    else:
        raise RuntimeError(f"PyGithub's connection class is {current!r}: update metasup.github.transport")
