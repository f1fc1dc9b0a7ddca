"""`policy.allows` against werkzeug's routing on the batch64 requests of benches/requests.rs (every
Yespo route once plus unknown ones): the same routes (the Yespo profile's matrix) and requests.

    python bindings/python/benches/batch64.py [rounds]   # A and B alternated, ratio per round

The pytest-benchmark form is bindings/python/tests/test_bench.py.
"""

from __future__ import annotations

import re
import statistics
import sys
import time
from pathlib import Path
from typing import Callable

from werkzeug.exceptions import HTTPException
from werkzeug.routing import Map, Rule

import scopegate

ROOT = Path(__file__).resolve().parents[3]
RIGHTS = ["events_and_contacts"]


def batch64() -> list[tuple[str, str]]:
    """The (method, path) pairs of `yespo_batch64()` in benches/requests.rs."""
    text = (ROOT / "benches/requests.rs").read_text()
    body = text[text.index("fn yespo_batch64") :]
    pairs = re.findall(r'\("([A-Z]+)", "([^"]+)"\)', body)
    assert len(pairs) == 64, len(pairs)
    return pairs


def werkzeug_allows(provider: scopegate.Provider, rights: list[str]) -> Callable[[str, str], bool]:
    """werkzeug's router over the same endpoints, then the same rights test (a set lookup)."""
    rules = []
    allowed = set()
    for method, template, _group in provider.endpoints:
        names = iter(range(100))
        path = "/" + re.sub(r"\{[^}]+\}", lambda _: f"<p{next(names)}>", template)
        endpoint = f"{method} {template}"
        rules.append(Rule(path, endpoint=endpoint, methods=[method]))
        if provider.check(method, template.replace("{", "x").replace("}", ""), rights).allowed:
            allowed.add(endpoint)
    adapter = Map(rules).bind("yespo.io")

    def allows(method: str, path: str) -> bool:
        try:
            endpoint, _ = adapter.match("/" + path, method=method)
        except HTTPException:
            return False
        return endpoint in allowed

    return allows


def contenders() -> tuple[Callable[[str, str], bool], Callable[[str, str], bool], list[tuple[str, str]]]:
    provider = scopegate.Provider.builtin("yespo")
    a = provider.policy(RIGHTS).allows
    b = werkzeug_allows(provider, RIGHTS)
    requests = batch64()
    disagree = [(m, p) for m, p in requests if a(m, p) != b(m, p)]
    assert not disagree, f"scopegate and werkzeug disagree on {disagree}"
    return a, b, requests


def run(allows: Callable[[str, str], bool], requests: list[tuple[str, str]]) -> int:
    n = 0
    for m, p in requests:
        n += allows(m, p)
    return n


def per_call_ns(allows: Callable[[str, str], bool], requests: list[tuple[str, str]], loops: int) -> float:
    start = time.perf_counter_ns()
    for _ in range(loops):
        run(allows, requests)
    return (time.perf_counter_ns() - start) / (loops * len(requests))


def main(rounds: int) -> None:
    a, b, requests = contenders()
    a_ns, b_ns = [], []
    for _ in range(rounds):  # A and B alternated
        a_ns.append(per_call_ns(a, requests, 2000))
        b_ns.append(per_call_ns(b, requests, 40))
    ratios = [y / x for x, y in zip(a_ns, b_ns)]
    print(f"policy.allows: median {statistics.median(a_ns):.1f} ns/call (min {min(a_ns):.1f})")
    print(f"werkzeug:      median {statistics.median(b_ns):.1f} ns/call (min {min(b_ns):.1f})")
    print(f"ratio werkzeug/scopegate per round: median {statistics.median(ratios):.1f} (min {min(ratios):.1f}, max {max(ratios):.1f}), {rounds} rounds")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 15)
