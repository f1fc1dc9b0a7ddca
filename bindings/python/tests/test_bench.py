"""pytest-benchmark: `policy.allows` against werkzeug's `Map.bind(...).match` on the batch64
requests (a measurement, not a timed assert; scripts/test runs it once, with the benchmarks
disabled). Figures and the command: bindings/python/README.md."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benches"))

# werkzeug and pytest-benchmark: not in the quick subset (bindings/python/README.md, Tests).
pytestmark = pytest.mark.full


def test_batch64_scopegate(benchmark: Any) -> None:
    import batch64  # imports werkzeug

    allows, _, requests = batch64.contenders()
    assert benchmark(batch64.run, allows, requests) == batch64.run(allows, requests)


def test_batch64_werkzeug(benchmark: Any) -> None:
    import batch64

    _, allows, requests = batch64.contenders()
    assert benchmark(batch64.run, allows, requests) == batch64.run(allows, requests)


def test_batch64_scopegate_many(benchmark: Any) -> None:
    import batch64

    allows, _, requests = batch64.contenders()
    policy = batch64.scopegate.Provider.builtin("yespo").policy(batch64.RIGHTS)
    assert benchmark(policy.allows_many, requests) == [allows(m, p) for m, p in requests]
