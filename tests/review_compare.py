"""Reviews compared as parsed JSON, recursively: floats within 1e-9 relative, everything else equal."""

from __future__ import annotations

from typing import Any

import pytest


def assert_same(local: Any, other: Any, where: str = "review") -> None:
    if isinstance(local, dict):
        assert isinstance(other, dict), where
        assert local.keys() == other.keys(), where
        for key in local:
            assert_same(local[key], other[key], f"{where}.{key}")
    elif isinstance(local, list):
        assert isinstance(other, list), where
        assert len(local) == len(other), where
        for i, (a, b) in enumerate(zip(local, other, strict=True)):
            assert_same(a, b, f"{where}[{i}]")
    elif isinstance(local, float) and isinstance(other, float | int):
        assert other == pytest.approx(local, rel=1e-9, abs=1e-12), where
    else:
        assert local == other, where
