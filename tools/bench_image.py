"""Start-up of the action's image: a dry-run review of the bundled demo data, `docker run` to exit.

Usage (Docker engine and base image as in .ci/run):
    python tools/bench_image.py IMAGE [--runs 10]

Starts the tests' fake GitHub (tests/fakegithub) on the host network, opens a PR, then runs the
image N times as the runner would (dry-run, fail-on never) and prints the median and spread of
the wall time from `docker run` to exit; then the same run with `python -X importtime`, reporting
the cumulative import time of what the review imported (median of 5). Numbers: docs/performance.md.
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

from fakegithub import (  # noqa: E402
    ACTIONS_TOKEN,
    WebhookExamples,
    adjust_payload,
    start_checked_fake,
    webhook_examples_path,
)

from metasup.examples import EXAMPLES_DIR  # noqa: E402

REPO = "octo-org/fleet"


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("image")
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument(
        "--profile", type=Path, help="write the last -X importtime report (stderr) to this file"
    )
    args = parser.parse_args()
    fake = start_checked_fake()
    try:
        fake.create_repo(REPO, {"README.md": "# fleet\n"})
        fake.create_branch(REPO, "feature")
        number = fake.open_pull(REPO, "feature", title="Bench").number
        payload = adjust_payload(
            WebhookExamples.load(webhook_examples_path()).payload("pull_request.opened"), fake, REPO, number
        )
        tmp = Path(tempfile.mkdtemp(prefix="metasup-bench-image-"))
        workspace = tmp / "workspace"
        shutil.copytree(
            EXAMPLES_DIR, workspace, ignore=shutil.ignore_patterns("*.py", "__pycache__", "README.md")
        )
        (tmp / "event.json").write_text(json.dumps(payload))
        (tmp / "commands").mkdir()
        env = {
            "GITHUB_EVENT_NAME": "pull_request",
            "GITHUB_EVENT_PATH": "/github/workflow/event.json",
            "GITHUB_REPOSITORY": REPO,
            "GITHUB_API_URL": fake.url,
            "GITHUB_WORKSPACE": "/github/workspace",
            "GITHUB_OUTPUT": "/github/file_commands/output",
            "GITHUB_STEP_SUMMARY": "/github/file_commands/summary",
            "METASUP_GITHUB_TOKEN": ACTIONS_TOKEN,
            "METASUP_DRY_RUN": "true",
            "METASUP_FAIL_ON": "never",
        }
        base = [
            "docker",
            "run",
            "--rm",
            "--network",
            "host",
            "-v",
            f"{workspace}:/github/workspace",
            "-v",
            f"{tmp / 'event.json'}:/github/workflow/event.json:ro",
            "-v",
            f"{tmp / 'commands'}:/github/file_commands",
            "--workdir",
            "/github/workspace",
            *[a for k, v in env.items() for a in ("-e", f"{k}={v}")],
        ]
        walls = []
        for _ in range(args.runs):
            start = time.perf_counter()
            subprocess.run([*base, args.image], check=True, capture_output=True)
            walls.append(time.perf_counter() - start)
        imports = []
        for _ in range(5):
            run = subprocess.run(
                [
                    *base,
                    "--entrypoint",
                    "python",
                    args.image,
                    "-X",
                    "importtime",
                    "/opt/metasup/entrypoint.py",
                ],
                check=True,
                capture_output=True,
                text=True,
            )
            top = [line.split("|") for line in run.stderr.splitlines() if line.startswith("import time:")]
            imports.append(sum(int(c[1]) for c in top[1:] if not c[2].startswith("  ")) / 1e6)
            if args.profile:
                args.profile.write_text(run.stderr)
        print(
            f"docker run → exit, {args.runs} runs: median {statistics.median(walls):.2f} s, "
            f"min {min(walls):.2f}, max {max(walls):.2f}"
        )
        print(
            f"review imports (importtime, top level, 5 runs): median {statistics.median(imports):.3f} s"
            f", min {min(imports):.3f}, max {max(imports):.3f}"
        )
    finally:
        fake.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
