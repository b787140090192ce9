"""Rolling mode in a repository with many pull requests: requests and time per run.

Usage:
    python tools/bench_pull_listing.py 0 3000

For each count N, creates a repository on the tests' fake GitHub (tests/fakegithub) holding the
bundled demo fleet and N pull requests of people (two in three closed), then runs rolling mode
twice, six hours apart, and prints each run's requests, list pages and wall time. The fake checks
every response against GitHub's OpenAPI description, so its times are an upper bound of its own
serving, not GitHub's. Numbers: docs/scale.md ("A repository with many pull requests").
"""

from __future__ import annotations

import argparse
import io
import json
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

from fakegithub import (  # noqa: E402
    ACTIONS_TOKEN,
    FakeGitHub,
    WebhookExamples,
    start_checked_fake,
    webhook_examples_path,
)

from metasup.action import run  # noqa: E402
from metasup.examples import EXAMPLES_DIR  # noqa: E402
from metasup.github.workflow_commands import Console  # noqa: E402

FLEET_SUFFIXES = {".yml", ".yaml", ".jsonl", ".csv"}


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("counts", nargs="+", type=int, help="pull requests of people in the repository")
    args = parser.parse_args()
    fake = start_checked_fake()
    try:
        files = {
            p.relative_to(EXAMPLES_DIR).as_posix(): p.read_text()
            for p in EXAMPLES_DIR.rglob("*")
            if p.is_file() and p.suffix in FLEET_SUFFIXES
        }
        payload = WebhookExamples.load(webhook_examples_path()).payload("workflow_dispatch")
        for count in args.counts:
            _measure(fake, files, payload, count)
    finally:
        fake.stop()
    return 0


def _measure(fake: FakeGitHub, files: dict[str, str], payload: object, count: int) -> None:
    repo = f"octo-org/fleet-{count}"
    fake.create_repo(repo, files)
    for index in range(count):
        branch = f"feature-{index}"
        fake.create_branch(repo, branch)
        pull = fake.open_pull(repo, branch, title=f"Feature {index}")
        if index % 3:
            fake.close_pull(repo, pull.number)
    tmp = Path(tempfile.mkdtemp(prefix="metasup-bench-pulls-"))
    workspace = tmp / "workspace"
    for name, text in files.items():
        (workspace / name).parent.mkdir(parents=True, exist_ok=True)
        (workspace / name).write_text(text)
    (tmp / "event.json").write_text(json.dumps(payload))
    environ = {
        "GITHUB_EVENT_NAME": "workflow_dispatch",
        "GITHUB_EVENT_PATH": str(tmp / "event.json"),
        "GITHUB_REPOSITORY": repo,
        "GITHUB_API_URL": fake.url,
        "GITHUB_WORKSPACE": str(workspace),
        "METASUP_GITHUB_TOKEN": ACTIONS_TOKEN,
        "METASUP_FAIL_ON": "never",
    }
    for run_number in (1, 2):
        fake.reset_log()
        start = time.perf_counter()
        this_run = {**environ, "GITHUB_RUN_ID": str(run_number)}
        code = run(this_run, console=Console(io.StringIO()), clock=fake.clock.now)
        wall = time.perf_counter() - start
        requests = fake.requests()
        pages = [r for r in requests if r.method == "GET" and r.path.endswith("/pulls")]
        print(
            f"{count} PRs, run {run_number}: exit {code}, {len(requests)} requests"
            f" ({len(pages)} pull-list pages), {wall:.1f} s"
        )
        fake.advance(hours=6)


if __name__ == "__main__":
    sys.exit(main())
