"""Numbers at the edge of float64 (SPEC §2.6: no traceback for anything a user did).

A notional of 1e308, a price of 1e-320 or a window of 1e20 seconds are valid floats, and each
once ended a run with "Internal error" (NaN in the review JSON, an infinite return in the skill
statistics, a timedelta overflow). Now a line beyond ``metasup.model.limits`` is rejected and
counted, a config value beyond them is a config error naming the key, and the limits themselves
are still accepted.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from test_bad_input import BARS, SIGNALS, write_fleet

from metasup import cli


def _strict_json(text: str) -> Any:
    """JSON as the standard has it: NaN and Infinity are not numbers there."""

    def refuse(constant: str) -> None:
        raise AssertionError(f"{constant} in the review JSON")

    return json.loads(text, parse_constant=refuse)


def _set_config(root: Path, section: str, key: str, value: object) -> None:
    config = yaml.safe_load((root / "metasup.yml").read_text())
    config[section] = {key: value}
    (root / "metasup.yml").write_text(yaml.safe_dump(config))


def _evaluate(root: Path, capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    capsys.readouterr()
    args = ["evaluate", "--config", str(root / "metasup.yml"), "--fail-on", "never"]
    code = cli.main([*args, "--json", str(root / "review.json")])
    out, err = capsys.readouterr()
    assert "Traceback" not in out + err
    assert "Internal error" not in out + err
    return code, out + err


TOO_LARGE = [
    ("windows", "window", 1e308),
    ("windows", "period", 10**20),
    ("windows", "stale_after", "999999d"),
    ("reconcile", "max_delay", 1e300),
    ("promotion", "track_record", "36601d"),
    ("demotion", "window", 2**63),
    ("reconcile", "fee_bps", 1e308),
    ("reconcile", "fee_bps", float("inf")),
    ("reconcile", "default_notional", 1e308),
    ("promotion", "min_behavioral_score", float("nan")),
    ("portfolio", "capital", float("inf")),
    ("promotion_prs", "veto_cooldown_days", 1e308),
    ("promotion_prs", "auto_merge_after_hours", 1e308),
]


AT_THE_LIMIT = [
    ("windows", "window", "36600d"),  # 100 years of 366 days
    ("reconcile", "fee_bps", 10_000),
    ("reconcile", "default_notional", 1e15),
]
CONFIG_CASES = [(*case, False) for case in TOO_LARGE] + [(*case, True) for case in AT_THE_LIMIT]


@pytest.mark.parametrize(
    ("section", "key", "value", "accepted"),
    CONFIG_CASES,
    ids=[f"{s}.{k}={v}" for s, k, v, _ in CONFIG_CASES],
)
def test_a_config_value_beyond_the_limits_is_an_error_naming_its_key(
    section: str, key: str, value: object, accepted: bool, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Beyond: exit 2, nothing written, the key named. At the limit itself: a normal run."""
    write_fleet(tmp_path)
    _set_config(tmp_path, section, key, value)
    code, text = _evaluate(tmp_path, capsys)
    if accepted:
        assert code == 0, text
        _strict_json((tmp_path / "review.json").read_text())
        return
    assert code == 2, text
    assert text.startswith("Error: ")
    assert f"{section}.{key}" in text
    assert text.count(repr(value)) <= 1, text  # the value quoted once, not "got x (got x)"
    assert not (tmp_path / "review.json").exists()


def _replace_field(path: Path, line: int, key: str, value: object) -> None:
    rows = [json.loads(text) for text in path.read_text().splitlines()]
    rows[line][key] = value
    path.write_text("".join(json.dumps(row) + "\n" for row in rows))


def _replace_price(root: Path, bar: int, value: str) -> None:
    path = root / "market" / "prices.csv"
    lines = path.read_text().splitlines()
    ts, symbol, _ = lines[bar].split(",")
    lines[bar] = f"{ts},{symbol},{value}"
    path.write_text("\n".join(lines) + "\n")


def _quality(root: Path, suffix: str) -> tuple[int, list[str]]:
    """What the review says of the file ending in ``suffix``: lines accepted, reasons rejected."""
    quality = _strict_json((root / "review.json").read_text())["data_quality"]
    (entry,) = [entry for entry in quality["files"] if entry["path"].endswith(suffix)]
    return entry["accepted"], [r["reason"] for r in quality["rejected"] if r["file"].endswith(suffix)]


@pytest.mark.parametrize(
    ("notional", "rejected"), [(1e308, True), (1e16, True), (1e15, False)], ids=["1e308", "1e16", "1e15"]
)
def test_a_notional_beyond_a_quadrillion_is_a_rejected_line(
    notional: float, rejected: bool, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write_fleet(tmp_path)
    _replace_field(tmp_path / "alpha" / "events.jsonl", 3, "notional", notional)
    code, text = _evaluate(tmp_path, capsys)
    assert code == 0, text
    accepted, reasons = _quality(tmp_path, "alpha/events.jsonl")
    assert accepted == SIGNALS - rejected
    assert reasons == ["notional above 1e15 USD"] * rejected


@pytest.mark.parametrize(
    ("price", "rejected"),
    [("1e-320", True), ("1e308", True), ("1e-13", True), ("1e-12", False), ("1e12", False)],
)
def test_a_price_outside_1e_minus_12_to_1e12_is_a_rejected_bar(
    price: str, rejected: bool, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write_fleet(tmp_path)
    for bar in (5, 30, 61):  # bars the signals enter or exit on
        _replace_price(tmp_path, bar, price)
    code, text = _evaluate(tmp_path, capsys)
    assert code == 0, text
    accepted, reasons = _quality(tmp_path, "prices.csv")
    assert accepted == BARS - 3 * rejected
    assert reasons == ["price outside [1e-12, 1e12]"] * (3 * rejected)
    capsys.readouterr()
    assert cli.main(["report", "--config", str(tmp_path / "metasup.yml")]) == 0
    assert "LP report" in capsys.readouterr().out


def test_a_cost_beyond_a_quadrillion_is_a_rejected_event(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write_fleet(tmp_path)
    _replace_field(tmp_path / "telemetry" / "events.jsonl", 0, "cost_usd", 1e308)
    code, text = _evaluate(tmp_path, capsys)
    assert code == 0, text
    assert _quality(tmp_path, "telemetry/events.jsonl")[1] == ["cost_usd above 1e15 USD"]
