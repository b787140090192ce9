"""The github wing: every GitHub call metasup makes, and the GitHub Actions workflow commands.

It is the only place that imports PyGithub (``github``). Of metasup it imports only
``metasup.model``: :class:`~metasup.model.pulls.PullState` is the value it builds from a pull
request.

Modules: ``client`` (connect, our identity, errors), ``git`` (branches, files, commits),
``state`` (the state branch's compare-and-swap), ``pulls`` (metasup's PRs), ``pr_branches``
(their branches, moved only from metasup's own commits), ``comments`` (the one review comment,
the dashboard issue), ``workflow_commands`` (``::error::``, step outputs, job
summary).

The door — what other wings use — is re-exported here: :data:`GitHubClient` and :func:`connect`,
the errors, and the calls below.
"""

from metasup.github.client import (
    GitHubClient,
    GitHubIOError,
    GitHubUnavailable,
    NotMergeable,
    NotPermitted,
    RateLimited,
    Refused,
    WaitBudget,
    WrongIdentity,
    connect,
    declare_app,
    fit_body,
    own_login,
)
from metasup.github.comments import CommentOutcome, read_own_issue, upsert_comment, upsert_issue
from metasup.github.git import branch_head, commit_messages, is_exact_change, read_text
from metasup.github.pr_branches import BranchNotOurs, BranchRefused, point_branch, pull_shows_head
from metasup.github.pulls import (
    HeadMoved,
    MergedMeanwhile,
    OpenedPull,
    PullAlreadyExists,
    PullCreationNotPermitted,
    PullFacts,
    PullRetargeted,
    close_pull,
    commit_change,
    ensure_label,
    label_pull,
    list_pull_facts,
    list_pull_states,
    merge_pull,
    merger_login,
    open_or_find_pull,
    open_pull,
    update_pull_body,
)
from metasup.github.state import StateMoved, StateSnapshot, read_state, write_state
from metasup.github.workflow_commands import Console, WorkflowFileError, append_summary, write_outputs

__all__ = [
    "BranchNotOurs",
    "BranchRefused",
    "CommentOutcome",
    "Console",
    "GitHubClient",
    "GitHubIOError",
    "GitHubUnavailable",
    "HeadMoved",
    "MergedMeanwhile",
    "NotMergeable",
    "NotPermitted",
    "OpenedPull",
    "PullAlreadyExists",
    "PullCreationNotPermitted",
    "PullFacts",
    "PullRetargeted",
    "RateLimited",
    "Refused",
    "StateMoved",
    "StateSnapshot",
    "WaitBudget",
    "WorkflowFileError",
    "WrongIdentity",
    "append_summary",
    "branch_head",
    "close_pull",
    "commit_change",
    "commit_messages",
    "connect",
    "declare_app",
    "ensure_label",
    "fit_body",
    "is_exact_change",
    "label_pull",
    "list_pull_facts",
    "list_pull_states",
    "merge_pull",
    "merger_login",
    "open_or_find_pull",
    "open_pull",
    "own_login",
    "point_branch",
    "pull_shows_head",
    "read_own_issue",
    "read_state",
    "read_text",
    "update_pull_body",
    "upsert_comment",
    "upsert_issue",
    "write_outputs",
    "write_state",
]
