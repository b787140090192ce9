"""Fuzz (SPEC §2.6): random bytes, random JSON and truncated files as each artifact and as the
config. Whatever comes in, the CLI ends with exit 0, 1 or 2, never a traceback nor a bug line, and
within a bounded time (hypothesis' per-example deadline)."""

from __future__ import annotations

import json
import re
import shutil
from datetime import timedelta
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_bad_input import write_fleet

from metasup import cli
from metasup.examples import EXAMPLES_DIR

TARGETS = ("metasup.yml", "agents.yaml", "alpha/events.jsonl", "telemetry/events.jsonl", "market/prices.csv")

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4),
    max_leaves=12,
)


@st.composite
def contents(draw: st.DrawFn, original: bytes) -> bytes:
    kind = draw(st.sampled_from(["bytes", "json", "jsonl", "truncated"]))
    if kind == "bytes":
        return draw(st.binary(max_size=300))
    if kind == "json":
        return json.dumps(draw(json_values)).encode()
    if kind == "jsonl":
        return "".join(json.dumps(v) + "\n" for v in draw(st.lists(json_values, max_size=5))).encode()
    return original[: draw(st.integers(0, len(original)))]


@pytest.fixture(scope="module")
def fleet(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("fleet")
    write_fleet(root)
    return root


@pytest.mark.slow
@settings(
    max_examples=80,
    deadline=timedelta(seconds=10),
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(data=st.data(), target=st.sampled_from(TARGETS))
def test_any_input_ends_cleanly(
    data: st.DataObject,
    target: str,
    fleet: Path,
    tmp_path_factory: pytest.TempPathFactory,
    capsys: pytest.CaptureFixture[str],
) -> None:
    root = tmp_path_factory.mktemp("ws")
    shutil.copytree(fleet, root, dirs_exist_ok=True)
    original = (fleet / target).read_bytes()
    (root / target).write_bytes(data.draw(contents(original), label=target))
    capsys.readouterr()
    code = cli.main(["evaluate", "--config", str(root / "metasup.yml"), "--json", str(root / "r.json")])
    out, err = capsys.readouterr()
    assert code in (0, 1, 2), out + err
    assert "Traceback" not in out + err
    assert "Internal error" not in err, err


FIELD_FUZZ = settings(
    max_examples=60,
    deadline=timedelta(seconds=20),
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
"""A review per example: 60 of them, each allowed 20 s on a loaded CI machine. The same 60 every
run (a fixed seed), so CI never fails on a draw no one made before; to explore, set
``derandomize=False`` here and run it a few times."""

EDGES = [1e308, -1e308, 1e300, 5e-324, 1e-320, 2**63, -(2**63) - 1, 0, -0.0, 1e15, 1e16, 1e-13, 1e13]
extreme_numbers = st.one_of(
    st.sampled_from(EDGES),
    st.sampled_from(EDGES),  # drawn as often as the two below together
    st.floats(allow_nan=False, allow_infinity=False),
    st.integers(min_value=-(2**70), max_value=2**70),
)
LINE_FIELDS = {
    "alpha/events.jsonl": ("ts", "confidence", "horizon", "notional", "direction", "signal_id"),
    "telemetry/events.jsonl": ("ts", "cost_usd", "score", "tokens", "latency_ms"),
}


def _strict(text: str) -> object:
    def refuse(constant: str) -> None:
        raise AssertionError(f"{constant} in the review JSON")

    return json.loads(text, parse_constant=refuse)


@pytest.mark.slow
@FIELD_FUZZ
@given(data=st.data())
def test_extreme_numbers_in_any_field_end_cleanly(
    data: st.DataObject,
    fleet: Path,
    tmp_path_factory: pytest.TempPathFactory,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Valid lines with float64's edges in their numeric fields: rejected or used, never a crash,
    and the review JSON stays JSON (no NaN, no Infinity). The random bytes above rarely build a
    valid line around an extreme number; this is how a 1e308 notional was found."""
    root = tmp_path_factory.mktemp("ws")
    shutil.copytree(fleet, root, dirs_exist_ok=True)
    for target, fields in LINE_FIELDS.items():
        path = root / target
        rows = [json.loads(line) for line in path.read_text().splitlines()]
        for index in data.draw(st.lists(st.integers(0, len(rows) - 1), max_size=6), label=target):
            rows[index][data.draw(st.sampled_from(fields))] = data.draw(extreme_numbers)
        path.write_text("".join(json.dumps(row) + "\n" for row in rows))
    prices = root / "market" / "prices.csv"
    lines = prices.read_text().splitlines()
    for index in data.draw(st.lists(st.integers(1, len(lines) - 1), max_size=12), label="bars"):
        ts, symbol, _ = lines[index].split(",")
        lines[index] = f"{ts},{symbol},{data.draw(extreme_numbers)!r}"
    prices.write_text("\n".join(lines) + "\n")
    capsys.readouterr()
    code = cli.main(["evaluate", "--config", str(root / "metasup.yml"), "--json", str(root / "r.json")])
    out, err = capsys.readouterr()
    assert code in (0, 1), out + err
    assert "Traceback" not in out + err
    assert "Internal error" not in err, err
    _strict((root / "r.json").read_text())


NUMERIC_SETTING = re.compile(r"^\s+(\w+):\s*(?:-?[\d.]+(?:e-?\d+)?|null)\b")


def _numeric_settings() -> list[tuple[int, str]]:
    lines = (EXAMPLES_DIR / "metasup.yml").read_text().splitlines()
    return [(i, m[1]) for i, line in enumerate(lines) if (m := NUMERIC_SETTING.match(line))]


@pytest.fixture(scope="module")
def demo_config(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("demo")
    shutil.copytree(EXAMPLES_DIR, root, dirs_exist_ok=True, ignore=shutil.ignore_patterns("*.py"))
    return root / "metasup.yml"


@pytest.mark.slow
@pytest.mark.parametrize(("index", "key"), _numeric_settings(), ids=lambda v: str(v))
@pytest.mark.parametrize("value", ["18446744073709551616", "1e300", "-1"])
def test_every_numeric_setting_at_an_extreme_ends_cleanly(
    demo_config: Path, index: int, key: str, value: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """Each number of the demo's metasup.yml at 2**64, 1e300 or -1: a config error naming the key,
    or a review; never an internal error (``promotion.trials: 2**64`` was one: found by fuzzing)."""
    lines = demo_config.read_text().splitlines()
    lines[index] = f"{lines[index].split(':')[0]}: {value}"
    config = demo_config.with_name(f"metasup-{index}.yml")
    config.write_text("\n".join(lines) + "\n")
    capsys.readouterr()
    code = cli.main(["evaluate", "--config", str(config), "--json", str(config.with_suffix(".json"))])
    out, err = capsys.readouterr()
    assert "Internal error" not in err, err
    assert "Traceback" not in out + err
    assert code in (0, 1) or (code == 2 and key in err), out + err


ODD_TEXT = [
    "",
    " ",
    "@octocat",
    "<b>x</b>",
    "a\nb",
    "\u202e",
    "x" * 300,
    "2026-02-30",
    "2026-13-01T00:00:00Z",
    "0001-01-01T00:00:00Z",
    "9999-12-31T23:59:59Z",
    "-4h",
    "0h",
    "99999999d",
    "4.5h",
    "nan",
    "1e400",
    "long",
]
odd_values = st.one_of(
    st.sampled_from(ODD_TEXT),
    st.sampled_from(EDGES),
    st.sampled_from([None, True, False, [], {}, ["trending"], {"name": "x"}]),
    st.text(max_size=8),
)
JSONL_FIELDS = {
    "alpha/events.jsonl": (
        "ts",
        "signal_id",
        "agent",
        "symbol",
        "direction",
        "confidence",
        "horizon",
        "notional",
    ),
    "telemetry/events.jsonl": ("ts", "type", "agent", "cost_usd", "score", "regime", "rule", "severity"),
}
YAML_SETTING = re.compile(r"^(\s*(?:- )?[\w]+):\s*\S")


def _set_yaml_value(lines: list[str], index: int, value: object) -> None:
    key = YAML_SETTING.match(lines[index])
    assert key is not None
    lines[index] = f"{key[1]}: {json.dumps(value)}"


@pytest.mark.slow
@FIELD_FUZZ
@given(data=st.data())
def test_any_field_of_the_demo_workspace_ends_cleanly(
    data: st.DataObject, demo_config: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """One to three fields of the demo's signals, telemetry, registry or config set to an odd value
    (a date that does not exist, a list where a name goes, 1e308): the CLI names the problem or
    reviews; never an internal error. An ad hoc fuzz of this kind found the YAML dates, the NUL
    path and the 2**64 trials; this test, on its first run, the lone surrogate escapes
    (docs/decisions.md, "Bad input")."""
    root = demo_config.parent
    originals = {name: (root / name).read_text() for name in [*JSONL_FIELDS, "agents.yaml", "metasup.yml"]}
    try:
        for _ in range(data.draw(st.integers(1, 3), label="changes")):
            name = data.draw(st.sampled_from(sorted(originals)), label="file")
            lines = (root / name).read_text().splitlines()
            if name in JSONL_FIELDS:
                index = data.draw(st.integers(0, len(lines) - 1), label="line")
                try:
                    row = json.loads(lines[index])
                except ValueError:
                    continue  # the demo's telemetry holds malformed lines on purpose
                row[data.draw(st.sampled_from(JSONL_FIELDS[name]), label="field")] = data.draw(odd_values)
                lines[index] = json.dumps(row)
            else:
                settable = [i for i, line in enumerate(lines) if YAML_SETTING.match(line)]
                _set_yaml_value(
                    lines, data.draw(st.sampled_from(settable), label="line"), data.draw(odd_values)
                )
            (root / name).write_text("\n".join(lines) + "\n")
        capsys.readouterr()
        code = cli.main(["evaluate", "--config", str(demo_config), "--json", str(root / "fuzz.json")])
        out, err = capsys.readouterr()
        assert code in (0, 1, 2), out + err
        assert "Traceback" not in out + err
        assert "Internal error" not in err, err
    finally:
        for name, text in originals.items():
            (root / name).write_text(text)
