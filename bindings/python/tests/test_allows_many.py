"""`Policy.allows_many`: the same answers as `Policy.allows` one by one, in order, for any
sequence of (method, path) tuples; a TypeError that names the item for anything else."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

import scopegate

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benches"))

import batch64  # noqa: E402

ODD = [
    ("get", "version"),
    ("FETCH", "contacts"),
    ("", "version"),
    ("GET", ""),
    ("GET", "contact/../contacts"),
    ("PUT", "contact/12345/"),
    ("PUT", "https://yespo.io/api/v1/contact/12345/subscriptions?x=1"),
    ("PUT", "https://evil.example/api/v1/contact/12345/subscriptions"),
    ("GET", "contact/\u00e9"),
    ("GET", "contact/%C3%A9"),
    ("GET", "contact/%2e%2e"),
    ("GET", "contact/1?q=\u00e9"),
    ("GET", "contact/1\x00"),
]


class Text(str):
    """A str subclass: still a str."""


@pytest.mark.parametrize("rights", [[], ["events_and_contacts"], ["full_api"], ["messages", "events"]])
def test_the_same_answers_as_allows_one_by_one(rights: list[str]) -> None:
    policy = scopegate.Provider.builtin("yespo").policy(rights)
    calls = batch64.batch64() + ODD
    want = [policy.allows(m, p) for m, p in calls]
    assert policy.allows_many(calls) == want
    assert policy.allows_many(tuple(calls)) == want
    assert policy.allows_many(iter(calls)) == want  # any iterable
    assert policy.allows_many([(Text(m), Text(p)) for m, p in calls]) == want
    # Many times over (the method objects are the same interned strings): still in order.
    assert policy.allows_many(calls * 50) == want * 50
    # Methods built at run time are other objects with the same text.
    assert policy.allows_many([("".join(m), "".join(p)) for m, p in calls]) == want
    if rights == ["events_and_contacts"]:
        assert any(want) and not all(want)


def test_an_empty_batch() -> None:
    policy = scopegate.Provider.builtin("yespo").policy(["events_and_contacts"])
    assert policy.allows_many([]) == []
    assert policy.allows_many(()) == []


@pytest.mark.parametrize(
    ("calls", "message"),
    [
        ([("GET", "version"), ["GET", "version"]], "calls[1] must be a (method, path) tuple, not list"),
        ([("GET", "version", "x")], "calls[0] must be a (method, path) tuple, not a tuple of 3 items"),
        ([("GET",)], "calls[0] must be a (method, path) tuple, not a tuple of 1 items"),
        ([("GET", b"version")], "calls[0]: the path must be str, not bytes"),
        ([("GET", "version"), ("GET", "x"), (None, "version")], "calls[2]: the method must be str, not NoneType"),
        (42, "calls must be a sequence of (method, path) tuples, not int"),
        ("GET", "calls[0] must be a (method, path) tuple, not str"),
    ],
)
def test_bad_calls_are_a_type_error_naming_the_item(calls: object, message: str) -> None:
    policy = scopegate.Provider.builtin("yespo").policy(["events_and_contacts"])
    with pytest.raises(TypeError) as e:
        policy.allows_many(calls)  # type: ignore[arg-type]
    assert str(e.value) == message


def test_a_lone_surrogate_fails_as_in_allows() -> None:
    policy = scopegate.Provider.builtin("yespo").policy(["events_and_contacts"])
    with pytest.raises(UnicodeEncodeError):
        policy.allows("GET", "contact/\ud800")
    with pytest.raises(UnicodeEncodeError):
        policy.allows_many([("GET", "version"), ("GET", "contact/\ud800")])
