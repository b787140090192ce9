"""The code still produces, byte for byte, what the flat layout produced before the move to wings.

``expected/`` was written by ``outputs.py`` from the code before the move (SPEC §1.1, "no
behaviour change"), for the demo data and for a generated 60-agent fleet. A change that is meant
to change what users see rewrites ``expected/`` in the same commit, and says so.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from fleet import write_fleet
from outputs import EXPECTED, outputs

from metasup.examples import CONFIG_PATH


@pytest.fixture(scope="module")
def fleet_config(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_fleet(tmp_path_factory.mktemp("golden") / "fleet")


@pytest.mark.parametrize("name", ["demo", "fleet"])
def test_outputs__unchanged_by_the_move(name: str, fleet_config: Path) -> None:
    config = Path(CONFIG_PATH) if name == "demo" else fleet_config
    produced = outputs(config)
    for file, text in produced.items():
        expected = (EXPECTED / name / file).read_text(encoding="utf-8")
        assert text == expected, f"{name}/{file} differs from the output captured before the move"
    assert sorted(produced) == sorted(p.name for p in (EXPECTED / name).iterdir())
