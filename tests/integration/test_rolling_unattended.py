"""Rolling runs left alone: cut off after any write and re-run, or two at once, they end right.

**Cut off.** A rolling run cut off after any of its writes, then re-run, ends as if it had never
been cut.

A runner can lose its network, be cancelled or time out between any two GitHub calls. Each run of a
four-run scenario (the first run: promote, demote and retire PRs, kills, the LP e-mail, the
dashboard; 25 h later: merges; then a re-cut branch merged; then a quiet run) is cut off after
each write GitHub shows — a ref moved, a PR opened, a label created or added, a merge, a state
commit, an issue edited — as a runner that dies at that moment: the write happens, its answer and
every later call are lost. The run is then re-run on the same checkout (GitHub's "re-run failed
jobs"), and the scenario goes on. Its end must be the uncut scenario's: the same PRs (state,
merged, labels, comments, bodies), the same files on every branch, the same audit-ledger events,
each once, and the same e-mails.

Two things may differ and are allowed to: when an event happened (a merge the cut run could not
finish is made by the re-run), and the LP e-mail of a run cut between its claim and its record —
at most once, by design (``rolling/lp_email.py``): the re-run does not send it again, says so in a
warning, and the ledger has no ``email_sent`` record for it.

A blob, tree or commit object is shown by no ref, so a cut right after creating one leaves what a
cut after the write before it leaves — unless work outside GitHub happened in between. So only
the first object write after each visible write is a cut point too: it catches such work, e.g. the
LP e-mail sent between the claim and the state commit that records it.

**A lost answer.** The same points, but only the answer to that one write is lost (a 502 after
GitHub did it) and the network is fine again: the run must retry, succeed, and end exactly as
the uncut scenario (no re-run).

**Two at once.** The example workflow puts rolling runs in one ``concurrency`` group, but a
second workflow, a manual dispatch or a renamed group can still overlap two of them. Each run of
the scenario is started twice at the same moment, the fake GitHub delaying every request by a
random 0–20 ms (seeded) so that the two interleave differently each time: both must succeed, and
nothing may be done twice — one open PR per branch, one dashboard, each ledger event once (the
chain intact), each comment once, each e-mail once.
"""

from __future__ import annotations

import email
import email.policy
import io
import json
import re
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import trustme
import yaml
from at_once import at_once, jitter_requests
from fakegithub import ACTIONS_TOKEN, FakeGitHub, OpenAPISpec, RequestInfo
from smtpserver import ENVIRON, Server
from test_action_rolling import REPO, STATE, fleet_files

from metasup.action import run
from metasup.github.client import connect
from metasup.github.workflow_commands import Console
from metasup.rolling.audit_ledger import verify_ledger

SCENARIO_HOURS = (0.0, 25.0, 6.0, 6.0)
"""Hours the clock moves before each run of the scenario."""

OBJECT_WRITES = ("/git/blobs", "/git/trees", "/git/commits")
UNRECORDED_EMAIL_WARNING = "claimed it but has not recorded sending it"


class Fleet:
    """The demo fleet's repository on a fresh fake GitHub, and its rolling runs."""

    def __init__(self, spec: OpenAPISpec, tmp: Path, server: Server, event: Path) -> None:
        self.fake = FakeGitHub(spec).start()
        self.server = server
        server.mailbox.received.clear()
        files = fleet_files()
        config = yaml.safe_load(files["metasup.yml"])
        config["email"] = {
            "cadence": "daily",
            "from": "metasup@fund.example",
            "to": ["ann@fund.example"],
            "whitelist": ["@fund.example"],
            "smtp": {"host": "127.0.0.1", "port": server.port, "security": "starttls", "timeout_seconds": 5},
        }
        files["metasup.yml"] = yaml.safe_dump(config, sort_keys=False)
        self.fake.create_repo(REPO, files)
        self.workspace = tmp / "workspace"  # one path for every fleet: the review names its files
        self.environ = {
            "GITHUB_EVENT_NAME": "workflow_dispatch",
            "GITHUB_EVENT_PATH": str(event),
            "GITHUB_REPOSITORY": REPO,
            "GITHUB_API_URL": self.fake.url,
            "GITHUB_WORKSPACE": str(self.workspace),
            "GITHUB_OUTPUT": str(tmp / "output.txt"),
            "GITHUB_STEP_SUMMARY": str(tmp / "summary.md"),
            "METASUP_GITHUB_TOKEN": ACTIONS_TOKEN,
            "METASUP_FAIL_ON": "never",
            **ENVIRON,
        }
        self.log = ""

    def checkout(self) -> None:
        for name, text in self.fake.files_at(REPO, "main").items():
            (self.workspace / name).parent.mkdir(parents=True, exist_ok=True)
            (self.workspace / name).write_text(text)

    def run(self, number: int) -> int:
        stream = io.StringIO()
        code = run(
            {**self.environ, "GITHUB_RUN_ID": str(number)},
            console=Console(stream),
            connect=lambda token, url: connect(token, url, sleep=lambda _: None),  # retries, no waits
            clock=self.fake.clock.now,
        )
        self.log += stream.getvalue()
        return code

    def cut_after_write(self, k: int) -> None:
        """The run's ``k``-th write (from 0) happens; its answer and every later call are lost."""

        def cut(fake: FakeGitHub, info: RequestInfo) -> None:
            fake.fail_next(1, method=info.method, path=info.path, after_handling=True)
            fake.fail_next(10**6, status=502)

        self._after_write(k, cut)

    def _after_write(self, k: int, fault: Callable[[FakeGitHub, RequestInfo], None]) -> None:
        writes = 0

        def hook(fake: FakeGitHub, info: RequestInfo) -> None:
            nonlocal writes
            if info.method in {"POST", "PUT", "PATCH", "DELETE"}:
                if writes == k:
                    fault(fake, info)
                writes += 1

        self.fake.before_request(hook, times=None)

    def lose_answer_of_write(self, k: int) -> None:
        """The run's ``k``-th write happens but is answered 502; every other call is answered."""

        def lose(fake: FakeGitHub, info: RequestInfo) -> None:
            fake.fail_next(1, method=info.method, path=info.path, after_handling=True)

        self._after_write(k, lose)

    def unrecorded_email_periods(self) -> set[str]:
        """Periods claimed on the state branch with no ``email_sent`` record."""
        claims = json.loads(self.fake.read_file(REPO, "email-claims.json", ref=STATE) or "{}")
        sent = {r["data"]["period"] for r in self.ledger() if r["event"] == "email_sent"}
        return set(claims) - sent

    def ledger(self) -> list[dict[str, Any]]:
        text = self.fake.read_file(REPO, "ledger.jsonl", ref=STATE) or ""
        return [json.loads(line) for line in text.splitlines()]

    def dashboard_checked(self, body: str) -> str:
        """The dashboard's body without its ledger anchor, once the anchor is checked: the ledger's
        last record and the state branch's head. (Their hashes depend on the order of the records,
        which a re-run may change, so bodies are compared without them.)"""
        ledger = self.ledger()
        anchor = (
            f"Ledger-Head: {len(ledger)} {ledger[-1]['hash']}\nState-Commit: {self.fake.ref_sha(REPO, STATE)}"
        )
        assert anchor in body
        body = re.sub(r"<!--\nLedger-Head: .*?-->\n", "", body, flags=re.DOTALL)
        return re.sub(r"\nAudit ledger: .*\n", "\n", body)

    def end_state(self) -> dict[str, Any]:
        repo = self.fake.repo(REPO)
        issues = [
            {
                "number": number,
                "title": issue.title,
                "state": issue.state,
                "labels": sorted(issue.labels),
                "head": issue.pull.head_ref if issue.pull else None,
                "merged": issue.pull.merged if issue.pull else None,
                "body": self.dashboard_checked(issue.body) if issue.pull is None else issue.body,
                "comments": [c.body for c in self.fake.comments(REPO, number)],
            }
            for number, issue in sorted(repo.issues.items())
        ]
        branches = {ref: self.fake.files_at(REPO, ref.removeprefix("refs/heads/")) for ref in repo.git.refs}
        state = branches[f"refs/heads/{STATE}"]
        del state["ledger.jsonl"]  # compared as events below
        del state["pulls.json"]  # commits recorded as metasup's: a re-run records the ones it writes
        events = sorted(
            json.dumps(
                {
                    "event": r["event"],
                    "subject": r["subject"],
                    "data": {k: v for k, v in r["data"].items() if k != "message_id"},
                },
                sort_keys=True,
            )
            for r in self.ledger()
        )
        return {"issues": issues, "branches": branches, "events": events, "mails": self.mails()}

    def mails(self) -> list[str]:
        """The period of each e-mail the SMTP server accepted, in order."""
        return [
            email.message_from_bytes(content, policy=email.policy.default)["X-Metasup-Period"]
            for _sender, _recipients, content in self.server.mailbox.received
        ]


def play(fleet: Fleet, cut: tuple[int, int] | None = None) -> tuple[list[int], set[str]]:
    """Run the scenario, cutting run ``cut[0]`` after its write ``cut[1]`` and re-running it on the
    same checkout; the exit codes, and the e-mail periods the cut left claimed but unrecorded."""
    codes: list[int] = []
    unrecorded: set[str] = set()
    for index, hours in enumerate(SCENARIO_HOURS):
        fleet.fake.advance(hours=hours)
        fleet.checkout()
        if cut is not None and cut[0] == index:
            fleet.cut_after_write(cut[1])
            codes.append(fleet.run(index + 1))
            fleet.fake.clear_faults()
            unrecorded = fleet.unrecorded_email_periods()
        codes.append(fleet.run(index + 1))
    return codes, unrecorded


def without_periods(state: dict[str, Any], periods: set[str]) -> dict[str, Any]:
    """``state`` without the e-mails of ``periods`` and their ``email_sent`` events."""
    events = [e for e in state["events"] if json.loads(e)["data"].get("period") not in periods]
    mails = [m for m in state["mails"] if m not in periods]
    return {**state, "events": events, "mails": mails}


@pytest.fixture
def new_fleet(
    github_openapi: OpenAPISpec,
    tmp_path: Path,
    ca: trustme.CA,
    make_server: Callable[..., Server],
    github_event_path: Callable[..., Path],
    monkeypatch: pytest.MonkeyPatch,
) -> Iterator[Callable[[], Fleet]]:
    bundle = tmp_path / "ca.pem"
    ca.cert_pem.write_to_path(str(bundle))
    monkeypatch.setenv("SSL_CERT_FILE", str(bundle))  # the action trusts the test SMTP server's CA
    server = make_server()  # one port for every fleet: metasup.yml, hence every commit, is the same
    event = github_event_path("workflow_dispatch")
    started: list[Fleet] = []

    def new() -> Fleet:
        if started:
            started[-1].fake.stop()
        started.append(Fleet(github_openapi, tmp_path, server, event))
        return started[-1]

    yield new
    if started:
        started[-1].fake.stop()


def reference_and_writes(new_fleet: Callable[[], Fleet], run_index: int) -> tuple[dict[str, Any], list[str]]:
    """The uncut scenario's end state, and the cut points of its run ``run_index``: ``k`` →
    "METHOD path" for the writes GitHub shows and the first object write after each ("" for the
    other object writes)."""
    reference = new_fleet()
    writes: list[str] = []
    for index, hours in enumerate(SCENARIO_HOURS):
        reference.fake.advance(hours=hours)
        reference.checkout()
        reference.fake.reset_log()
        assert reference.run(index + 1) == 0
        if index == run_index:
            writes = [f"{w.method} {w.path}" for w in reference.fake.writes()]
    assert reference.fake.take_errors() == []
    points = {
        k: w
        for k, w in enumerate(writes)
        if k == 0 or not w.endswith(OBJECT_WRITES) or not writes[k - 1].endswith(OBJECT_WRITES)
    }
    assert points, "the run writes nothing: nothing to cut"
    return reference.end_state(), [points.get(k, "") for k in range(max(points) + 1)]


@pytest.mark.parametrize("cut_run", range(len(SCENARIO_HOURS)))
def test_a_run_cut_off_after_any_write_then_re_run_ends_as_if_never_cut(
    new_fleet: Callable[[], Fleet], cut_run: int
) -> None:
    expected, writes = reference_and_writes(new_fleet, cut_run)
    for k in [k for k, write in enumerate(writes) if write]:
        fleet = new_fleet()
        codes, unrecorded = play(fleet, (cut_run, k))
        where = f"run {cut_run + 1} cut after write {k} ({writes[k]})"
        assert codes[cut_run] == 1, where  # the cut run fails, with its ::error::
        assert codes[:cut_run] + codes[cut_run + 1 :] == [0] * len(SCENARIO_HOURS), where
        assert "Traceback" not in fleet.log, where
        assert "Internal error" not in fleet.log, where
        got = fleet.end_state()
        assert without_periods(got, unrecorded) == without_periods(expected, unrecorded), where
        for period in unrecorded:
            assert got["mails"].count(period) <= 1, where  # never twice
            assert f"::warning::LP e-mail {period}: run {cut_run + 1} {UNRECORDED_EMAIL_WARNING}" in fleet.log
        assert fleet.fake.take_errors() == [], where


@pytest.mark.parametrize("lossy_run", range(len(SCENARIO_HOURS)))
def test_a_lost_answer_to_any_write_is_retried_and_the_run_goes_on(
    new_fleet: Callable[[], Fleet], lossy_run: int
) -> None:
    """The write happens, its answer is a 502, the network is fine again: the retry (after looking
    up whether a creating POST landed) must leave exactly what an answered write leaves."""
    expected, writes = reference_and_writes(new_fleet, lossy_run)
    for k in [k for k, write in enumerate(writes) if write]:
        fleet = new_fleet()
        codes = []
        for index, hours in enumerate(SCENARIO_HOURS):
            fleet.fake.advance(hours=hours)
            fleet.checkout()
            if index == lossy_run:
                fleet.lose_answer_of_write(k)
            codes.append(fleet.run(index + 1))
            fleet.fake.clear_faults()
        where = f"run {lossy_run + 1}, the answer to write {k} ({writes[k]}) lost"
        assert codes == [0] * len(SCENARIO_HOURS), where
        assert fleet.end_state() == expected, where
        assert fleet.fake.take_errors() == [], where


@pytest.mark.parametrize("seed", range(8))
def test_two_runs_at_once_do_nothing_twice(new_fleet: Callable[[], Fleet], seed: int) -> None:
    fleet = new_fleet()
    jitter_requests(fleet.fake, seed)
    for index, hours in enumerate(SCENARIO_HOURS):
        fleet.fake.advance(hours=hours)
        fleet.checkout()
        numbers = (10 * index + 1, 10 * index + 2)
        codes = at_once([lambda n=n: fleet.run(n) for n in numbers])
        errors = [line for line in fleet.log.splitlines() if line.startswith(("::error", "::warning"))]
        assert codes == [0, 0], f"run {index + 1}, seed {seed}: exit codes {codes}; {errors[-6:]}"

    assert "Traceback" not in fleet.log
    issues = fleet.fake.repo(REPO).issues.values()
    open_heads = Counter(i.pull.head_ref for i in issues if i.pull is not None and i.state == "open")
    assert [head for head, n in open_heads.items() if n > 1] == []
    assert [i.title for i in issues if i.pull is None] == ["Meta-Supervisor dashboard"]
    for issue in issues:
        bodies = [c.body for c in fleet.fake.comments(REPO, issue.number)]
        assert len(bodies) == len(set(bodies)), f"#{issue.number}: a comment posted twice"
    assert verify_ledger(fleet.fake.read_file(REPO, "ledger.jsonl", ref=STATE) or "") is None
    identities = Counter((r["event"], r["subject"], r["data"].get("dedupe_key")) for r in fleet.ledger())
    assert [identity for identity, n in identities.items() if n > 1] == []
    assert {r["event"] for r in fleet.ledger()} >= {"promoted", "demoted", "killed", "email_sent"}
    assert fleet.mails() == ["daily:2026-10-29"]  # the day of the prices' as-of, once
    assert fleet.fake.take_errors() == []
