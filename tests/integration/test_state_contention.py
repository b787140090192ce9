"""A state write retries while other runs keep winning the compare-and-swap (``rolling/state.py``):
two runs at once can each write the state branch many times in a burst."""

from __future__ import annotations

from fakegithub import ACTIONS_TOKEN, FakeGitHub, RequestInfo
from test_action_rolling import REPO, STATE

from metasup.github import connect
from metasup.rolling.state import STATE_WRITE_ATTEMPTS, record_head
from metasup.rolling.state_layout import PULLS_PATH


def test_a_record_lands_after_another_run_won_seven_races(fake_github: FakeGitHub) -> None:
    fake_github.create_repo(REPO, {"README.md": "fleet\n"})
    fake_github.create_branch(REPO, STATE)
    fake_github.commit_files(REPO, STATE, {PULLS_PATH: "{}\n"})
    won = []

    def another_run_writes_first(fake: FakeGitHub, request: RequestInfo) -> None:
        won.append(1)
        fake.commit_files(REPO, STATE, {f"other-{len(won)}.txt": "x\n"}, message="another run")

    fake_github.before_request(
        another_run_writes_first, method="PATCH", path=f"/repos/{REPO}/git/refs/heads/{STATE}", times=7
    )
    gh = connect(ACTIONS_TOKEN, fake_github.url, sleep=lambda _: None)

    heads = record_head(gh, REPO, "metasup/promote/x", "a" * 40)

    assert len(won) == 7 < STATE_WRITE_ATTEMPTS
    assert heads.recorded_for("metasup/promote/x", "a" * 40) == "a" * 40
    assert "metasup/promote/x" in fake_github.read_file(REPO, PULLS_PATH, ref=STATE)
    assert fake_github.read_file(REPO, "other-7.txt", ref=STATE) == "x\n"  # nothing of theirs lost
