"""The GitHub client: connecting, the retry policy, who we write as, and PyGithub's errors turned into ours.

Functions across ``metasup.github`` take a :data:`GitHubClient` plus plain values and return
dataclasses or raise :class:`GitHubIOError`, so the action can be tested against a fake GitHub
and read without knowing PyGithub.

Retries (SPEC §5 "Acting reliably") are one policy, :class:`RetryPolicy`, under every request of a
client: every method is retried on 5xx, on connection errors and on rate limits (403/429 with
``Retry-After``; ``x-ratelimit-remaining: 0`` until ``x-ratelimit-reset``; a rate-limit message
without either waits ``secondary_wait``), and all the waits of one client share one budget
(:class:`WaitBudget`, 120 s by default). A creating POST (a PR, an issue, a comment: not
idempotent) is never repeated blindly: its failure raises :class:`CreateUnconfirmed`, and the
calling function looks up whether the first attempt landed before trying again
(:meth:`WaitBudget.wait_for`). Git objects (content-addressed), refs and labels (refused when
repeated) are retried like any other call. When the retries or the budget run out, one
:class:`GitHubUnavailable` (:class:`RateLimited` for a rate limit) names the call and the last status.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from types import TracebackType
from typing import Any, Protocol, Self, TypeAlias, TypeVar
from urllib.parse import urlsplit
from weakref import WeakKeyDictionary

from urllib3 import Retry
from urllib3.connectionpool import ConnectionPool
from urllib3.exceptions import MaxRetryError
from urllib3.response import BaseHTTPResponse

from metasup.github.deferred import loaded_on_first_use

with loaded_on_first_use():  # before anything imports PyGithub: see metasup.github.deferred
    from github import Auth, Github, GithubException, GithubRetry
    from github.Requester import Requester

from metasup.github.transport import read_bodies_with_retries  # after PyGithub, deferred above

GitHubClient: TypeAlias = Github
"""The client every function of ``metasup.github`` takes; what :func:`connect` returns."""

GITHUB_ACTIONS_LOGIN = "github-actions[bot]"
MAX_ATTEMPTS = 10
WAIT_BUDGET_SECONDS = 120.0
SECONDARY_RATE_WAIT_SECONDS = 60.0
PER_PAGE = 100
BODY_LIMIT = 65_536
TITLE_LIMIT = 256  # characters: GitHub's 422 "title is too long (maximum is 256 characters)"
TRUNCATED_POINTER = "*(truncated: the full text is in this workflow run's job summary)*"

_RETRY_STATUSES = frozenset([403, 429, *range(500, 600)])
# POSTs that create something new on each call (not content-addressed like git objects, not
# refused when repeated like refs and labels): never repeated without a look-up first.
_CREATING_POST = re.compile(r"/(?:repos/[^/]+/[^/]+|repositories/\d+)/(?:pulls|issues|issues/\d+/comments)$")


class GitHubIOError(Exception):
    """A GitHub call failed in a way the action must report."""


class Refused(GitHubIOError):
    """GitHub refused one call for what it asked (a 4xx other than a rate limit: 422 "Validation
    Failed (No commits between …)"): that action's failure, not the end of the run's others."""


class NotPermitted(Refused):
    """The token may not write here (fork PRs, read-only GITHUB_TOKEN): degrade, don't crash."""


class NotMergeable(GitHubIOError):
    """GitHub refused a merge (405) with its reason: perhaps for now (the base just moved), perhaps
    until a person acts (squash merges disabled, a required review): the reason is said every run."""


class WrongIdentity(GitHubIOError):
    """The token writes as someone other than the login metasup takes itself for (a GitHub App's
    token without the action's ``app-slug``): metasup stops rather than duplicate or adopt."""


class GitHubUnavailable(GitHubIOError):
    """Retries (or the wait budget) ran out on one call; the message names it and its last status."""

    def __init__(self, call: str, status: str, detail: str = "") -> None:
        self.call, self.status = call, status
        super().__init__(f"GitHub call {call} failed: {status}" + (f" ({detail})" if detail else ""))


class RateLimited(GitHubUnavailable):
    """A rate limit that would not lift within the wait budget (not a permission problem)."""


class CreateUnconfirmed(GitHubUnavailable):
    """A creating POST failed transiently: it may or may not have landed. The caller looks it up,
    then calls :meth:`WaitBudget.wait_for` before trying again."""

    def __init__(self, call: str, status: str, wait: float, rate_limited: bool) -> None:
        super().__init__(call, status, "a creating request is retried only after a look-up")
        self.wait, self.rate_limited = wait, rate_limited


@dataclass
class WaitBudget:
    """The total time one client may spend waiting between retries; ``sleep`` is injectable."""

    total: float = WAIT_BUDGET_SECONDS
    sleep: Callable[[float], None] = time.sleep
    clock: Callable[[], float] = time.time
    spent: float = 0.0

    def take(self, seconds: float) -> bool:
        """Reserve ``seconds`` of waiting; False (nothing reserved) when it would exceed the budget."""
        if self.spent + seconds > self.total:
            return False
        self.spent += seconds
        return True

    def wait_for(self, failure: CreateUnconfirmed) -> None:
        """Wait before repeating a creation that did not land; raise when the budget is spent."""
        if not self.take(failure.wait):
            raise _out_of_budget(failure.call, failure.status, failure.wait, self, failure.rate_limited)
        if failure.wait > 0:
            self.sleep(failure.wait)


def _out_of_budget(call: str, status: str, wait: float, budget: WaitBudget, rate: bool) -> GitHubUnavailable:
    left = max(budget.total - budget.spent, 0.0)
    detail = (
        f"the next try would wait {wait:.0f} s, {left:.0f} s of the {budget.total:.0f} s wait budget are left"
    )
    if rate:
        return RateLimited(call, f"{status} rate limit", detail)
    return GitHubUnavailable(call, status, detail)


class RetryPolicy(Retry):
    """urllib3's ``Retry`` with GitHub's rules, for every method, within a :class:`WaitBudget`."""

    def __init__(
        self,
        budget: WaitBudget | None = None,
        secondary_wait: float = SECONDARY_RATE_WAIT_SECONDS,
        **kwargs: Any,
    ) -> None:
        self.budget = budget if budget is not None else WaitBudget()
        self.secondary_wait = secondary_wait
        self.next_wait = 0.0
        kwargs.setdefault("total", MAX_ATTEMPTS)
        kwargs.setdefault("backoff_factor", 1.0)
        kwargs.setdefault("status_forcelist", sorted(_RETRY_STATUSES))
        kwargs["allowed_methods"] = None  # every method
        kwargs["raise_on_status"] = False
        super().__init__(**kwargs)

    def new(self, **kw: Any) -> Self:
        kw.update(budget=self.budget, secondary_wait=self.secondary_wait)
        return super().new(**kw)

    def sleep(self, response: BaseHTTPResponse | None = None) -> None:
        if self.next_wait > 0:
            self.budget.sleep(self.next_wait)

    def increment(
        self,
        method: str | None = None,
        url: str | None = None,
        response: BaseHTTPResponse | None = None,
        error: Exception | None = None,
        _pool: ConnectionPool | None = None,
        _stacktrace: TracebackType | None = None,
    ) -> Self:
        path = urlsplit(url or "").path
        call = f"{method or '?'} {path}"
        status = str(response.status) if response is not None else f"connection error ({error})"
        rate_limited, wait = False, None
        if response is not None and response.status in (403, 429):
            wait = self._rate_limit_wait(response, url or "")
            rate_limited = True
        elif response is not None and response.headers.get("Retry-After"):
            wait = self.parse_retry_after(response.headers["Retry-After"])
        try:
            retry = super().increment(method, url, response, error, _pool, _stacktrace)
        except MaxRetryError:
            raise _drained(
                response, GitHubUnavailable(call, status, f"after {MAX_ATTEMPTS} attempts")
            ) from None
        if wait is None:
            wait = max(1.0, retry.get_backoff_time())
        if method == "POST" and _CREATING_POST.search(path):
            raise _drained(response, CreateUnconfirmed(call, status, wait, rate_limited)) from None
        if not self.budget.take(wait):
            raise _drained(response, _out_of_budget(call, status, wait, self.budget, rate_limited)) from None
        retry.next_wait = wait
        return retry

    def _rate_limit_wait(self, response: BaseHTTPResponse, url: str) -> float:
        """The wait a 403/429 asks for; a 403 that is no rate limit raises PyGithub's own exception."""
        headers = response.headers
        if headers.get("Retry-After"):
            return self.parse_retry_after(headers["Retry-After"])
        if (
            headers.get("x-ratelimit-remaining") == "0"
            and (reset := headers.get("x-ratelimit-reset", "")).isdigit()
        ):
            return max(int(reset) - self.budget.clock(), 0.0) + 1.0
        if response.status == 429:
            return self.secondary_wait
        content = GithubRetry.get_content(response, url)  # type: ignore[arg-type]
        try:
            data = json.loads(content)
        except ValueError:
            data = {"message": content.decode("utf-8", "replace")}
        message = data.get("message", "") if isinstance(data, dict) else ""
        if Requester.isRateLimitError(str(message)):
            return self.secondary_wait
        raise Requester.createException(response.status, dict(headers), data)


_E = TypeVar("_E", bound=Exception)


def _drained(response: BaseHTTPResponse | None, exc: _E) -> _E:
    if response is not None:
        response.drain_conn()
    return exc


@dataclass
class _Session:
    budget: WaitBudget
    login: str | None = None
    app_login: str | None = None
    """The login a GitHub App installation token writes as (``<app-slug>[bot]``), when declared."""


_SESSIONS: WeakKeyDictionary[Github, _Session] = WeakKeyDictionary()


def connect(
    token: str,
    api_url: str,
    timeout: int = 30,
    retry_wait: float = SECONDARY_RATE_WAIT_SECONDS,
    *,
    wait_budget: float = WAIT_BUDGET_SECONDS,
    sleep: Callable[[float], None] = time.sleep,
) -> GitHubClient:
    """A client for ``api_url`` (``GITHUB_API_URL``; GHES is ``https://HOST/api/v3``).

    ``retry_wait`` is the wait after a rate-limit answer that names no time; ``wait_budget`` the
    total seconds of waiting between retries over the client's life; ``sleep`` waits (tests pass a fake).
    """
    budget = WaitBudget(total=wait_budget, sleep=sleep)
    gh = Github(
        auth=Auth.Token(token),
        base_url=api_url.rstrip("/"),
        timeout=timeout,
        retry=RetryPolicy(budget, secondary_wait=retry_wait),
        per_page=PER_PAGE,
        seconds_between_requests=None,
        seconds_between_writes=None,
        lazy=True,
    )
    read_bodies_with_retries(gh)
    _SESSIONS[gh] = _Session(budget)
    return gh


def _session(gh: GitHubClient) -> _Session:
    """The client's budget and cached identity (a client not made by :func:`connect` gets a fresh one)."""
    session = _SESSIONS.get(gh)
    if session is None:
        session = _SESSIONS[gh] = _Session(WaitBudget())
    return session


def wait_budget(gh: GitHubClient) -> WaitBudget:
    return _session(gh).budget


def declare_app(gh: GitHubClient, app_slug: str) -> None:
    """The token is the installation token of the GitHub App ``app_slug``: it writes as
    ``<app_slug>[bot]``. Needed because GitHub answers 403 to ``GET /user`` for an App's token
    exactly as for ``GITHUB_TOKEN``, so nothing metasup can read tells the two apart."""
    session = _session(gh)
    session.app_login, session.login = f"{app_slug}[bot]", None


def own_login(gh: GitHubClient) -> str:
    """The exact login the token writes as: ``GET /user``'s; when GitHub answers 403 there (an
    installation token), the declared App's bot (:func:`declare_app`), else ``github-actions[bot]``
    (GITHUB_TOKEN). Anything else (a bad token, GitHub down) is an error."""
    session = _session(gh)
    if session.login is None:
        try:
            login = str(gh.get_user().login)
        except GithubException as exc:
            if exc.status != 403:
                raise translate_error(exc, "identity of the token (GET /user)") from None
            login = session.app_login or GITHUB_ACTIONS_LOGIN
        else:
            if session.app_login is not None and login != session.app_login:
                raise WrongIdentity(
                    f"the token belongs to {login!r}, not to the GitHub App {session.app_login!r} "
                    "that app-slug names: pass the App's installation token, or leave app-slug empty"
                )
        session.login = login
    return session.login


def confirm_written_as(gh: GitHubClient, author: str, what: str) -> None:
    """Stop when GitHub says something metasup just created is by ``author``, not by the login
    metasup takes itself for: it would not recognise that comment, issue or PR as its own on the
    next run and would write another (and it must never act on someone else's)."""
    own = own_login(gh)
    if author == own:
        return
    hint = (
        f"the token is a GitHub App's installation token: set the action's input "
        f"app-slug: {author.removesuffix('[bot]')}"
        if author.endswith("[bot]")
        else "pass GITHUB_TOKEN, a personal token, or a GitHub App's token with app-slug"
    )
    raise WrongIdentity(
        f"GitHub wrote {what} as {author!r}, but metasup took itself for {own!r} and would not "
        f"recognise it as its own next time; {hint}"
    )


def fit_body(text: str, limit: int = BODY_LIMIT, pointer: str = TRUNCATED_POINTER) -> str:
    """``text`` when it fits GitHub's ``limit`` (characters), else its head and a ``pointer`` line
    (to the job summary, which holds the whole text)."""
    if len(text) <= limit:
        return text
    tail = "\n\n" + pointer
    head = text[: max(limit - len(tail), 0)]
    cut = head.rfind("\n")
    if cut > len(head) // 2:  # end on a whole line when one is near
        head = head[:cut]
    return (head + tail)[:limit]


def fit_title(title: str, limit: int = TITLE_LIMIT) -> str:
    """``title`` when it fits GitHub's ``limit``, else cut with ``…``: a long agent name must not
    make GitHub refuse the PR or issue (the body and the branch still name it in full)."""
    return title if len(title) <= limit else title[: limit - 1].rstrip() + "…"


def same_body(current: str, wanted: str) -> bool:
    """Equal bodies up to line endings and trailing newlines (GitHub returns ``\\r\\n``)."""
    return _normalized(current) == _normalized(wanted)


def _normalized(body: str) -> str:
    return body.replace("\r\n", "\n").rstrip("\n")


def error_message(exc: GithubException) -> str:
    """GitHub's own message of an error answer, with the reasons a 422 lists under ``errors``
    ("Validation Failed (No commits between main and …)"), which its message alone leaves out."""
    data = exc.data if isinstance(exc.data, dict) else {}
    message = str(data.get("message") or exc.data or exc)
    details = data.get("errors")
    reasons = [
        str(error.get("message") or " ".join(str(error[key]) for key in ("field", "code") if error.get(key)))
        for error in (details if isinstance(details, list) else [])
        if isinstance(error, dict) and (error.get("message") or error.get("code"))
    ]
    return f"{message} ({'; '.join(reasons)})" if reasons else message


class Account(Protocol):
    """A user or an organization, as PyGithub gives one."""

    @property
    def login(self) -> str: ...


def login_of(user: Account | None) -> str | None:
    """A user's login; None for GitHub's ``user: null`` on an item of a deleted account (the
    OpenAPI description's ``nullable-simple-user``). Such an item is nobody's, so never metasup's:
    one old issue of a deleted account stopped every rolling run (found by an audit)."""
    return user.login if user is not None else None


def translate_error(exc: GithubException, what: str) -> GitHubIOError:
    """Turn PyGithub's exception into ours, with a message that says what to do."""
    message = error_message(exc)
    if exc.status in (403, 429) and Requester.isRateLimitError(message):
        return RateLimited(what, f"{exc.status} rate limit", message)
    if exc.status == 403 and "not accessible by integration" in message.lower():
        return NotPermitted(
            f"cannot write the {what}: the token lacks permission ({message}). "
            "Pull requests from forks get a read-only token; grant `pull-requests: write` for others."
        )
    if exc.status == 401:  # reading or writing: an expired installation token is the usual cause
        return NotPermitted(
            f"GitHub refused the token on the {what} (401: {message}): it is not valid or has expired"
        )
    if exc.status in (403, 404):  # the call may be a read: "cannot write" misled (found by an audit)
        return NotPermitted(f"GitHub refused access to the {what}: it answered {exc.status} ({message})")
    if 400 <= exc.status < 500:
        return Refused(f"GitHub refused the {what}: {exc.status} {message}")
    return GitHubIOError(f"GitHub error on the {what}: {exc.status} {message}")
