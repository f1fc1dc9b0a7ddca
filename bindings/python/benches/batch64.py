"""`policy.allows` and `policy.allows_many` against werkzeug's routing on the batch64 requests of
benches/requests.rs (every Yespo route once plus unknown ones): the same routes (the Yespo
profile's matrix) and requests; and, in the same run, Rust's `allows_many` on them (the release
build of crates/scopegate-ffi/examples/check_batch64.rs, `many` mode), when it is built.

    cargo build --release -p scopegate-ffi --example check_batch64   # for the Rust figure
    python bindings/python/benches/batch64.py [rounds]   # every side in turn each round, ratios per round

`allows` is timed one call per request (the Python loop included); `allows_many` one call per
64 requests, the answers' list included (the list of requests is built once, beforehand). The
pytest-benchmark form is bindings/python/tests/test_bench.py.
"""

from __future__ import annotations

import re
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Callable

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
    # Imported here: `batch64()` serves tests that run without werkzeug (the wheels' quick subset).
    from werkzeug.exceptions import HTTPException
    from werkzeug.routing import Map, Rule

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


def many_ns(allows_many: Callable[[list[tuple[str, str]]], list[bool]], requests: list[tuple[str, str]], loops: int) -> float:
    """ns per check of `allows_many(requests)`, the answers' list included."""
    start = time.perf_counter_ns()
    for _ in range(loops):
        allows_many(requests)
    return (time.perf_counter_ns() - start) / (loops * len(requests))


RUST = ROOT / "target/release/examples/check_batch64"


def rust_ns() -> float | None:
    """Rust's `PermissionMatrix::allows_many` on the same 64 requests, ns per check (its median of
    5 samples), or None when the example is not built."""
    if not RUST.exists():
        return None
    out = subprocess.run([str(RUST), "many", "20000", "5"], check=True, capture_output=True, text=True).stdout
    return float(out.split()[1])


def main(rounds: int) -> None:
    a, b, requests = contenders()
    policy = scopegate.Provider.builtin("yespo").policy(RIGHTS)
    assert policy.allows_many(requests) == [a(m, p) for m, p in requests]
    a_ns: list[float] = []
    m_ns: list[float] = []
    b_ns: list[float] = []
    r_ns: list[float] = []
    for _ in range(rounds):  # each side in turn
        a_ns.append(per_call_ns(a, requests, 2000))
        m_ns.append(many_ns(policy.allows_many, requests, 4000))
        b_ns.append(per_call_ns(b, requests, 40))
        r = rust_ns()
        if r is not None:
            r_ns.append(r)
    med = statistics.median
    print(f"machine: {cpu()}; Python {sys.version.split()[0]}; {rounds} rounds, every side in turn")
    print(f"policy.allows:      median {med(a_ns):.1f} ns/call (min {min(a_ns):.1f})")
    print(f"policy.allows_many: median {med(m_ns):.1f} ns/check (min {min(m_ns):.1f}), the answers' list included")
    print(f"werkzeug:           median {med(b_ns):.1f} ns/call (min {min(b_ns):.1f})")
    ratios = [y / x for x, y in zip(a_ns, b_ns)]
    print(f"ratio werkzeug/allows per round: median {med(ratios):.1f} (min {min(ratios):.1f}, max {max(ratios):.1f})")
    ratios = [y / x for x, y in zip(m_ns, b_ns)]
    print(f"ratio werkzeug/allows_many per round: median {med(ratios):.1f} (min {min(ratios):.1f}, max {max(ratios):.1f})")
    if r_ns:
        diffs = [x - y for x, y in zip(m_ns, r_ns)]
        print(f"Rust allows_many:   median {med(r_ns):.1f} ns/check (min {min(r_ns):.1f})")
        print(f"allows_many Python - Rust per round: median {med(diffs):+.1f} ns/check (min {min(diffs):+.1f}, max {max(diffs):+.1f})")
    else:
        print(f"(no Rust figure: build it with `cargo build --release -p scopegate-ffi --example check_batch64`)")


def cpu() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return "unknown cpu"


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 15)
