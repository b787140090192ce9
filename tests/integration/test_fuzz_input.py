"""Fuzz (SPEC §2.6): random bytes, random JSON and truncated files as each artifact and as the
config. Whatever comes in, the CLI ends with exit 0, 1 or 2, never a traceback nor a bug line, and
within a bounded time (hypothesis' per-example deadline)."""

from __future__ import annotations

import json
import shutil
from datetime import timedelta
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_bad_input import write_fleet

from metasup import cli

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
