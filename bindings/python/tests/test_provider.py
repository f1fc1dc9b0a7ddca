"""Provider, Policy and Decision: profiles and the permission matrix."""

from __future__ import annotations

from pathlib import Path

import pytest

import scopegate
import scopegate.testing


@pytest.fixture
def yespo() -> scopegate.Provider:
    return scopegate.Provider.builtin("yespo")


def test_builtin_profiles() -> None:
    assert set(scopegate.Provider.builtin_ids()) == {"yespo", "reteno", "yotpo", "yuvo"}
    p = scopegate.Provider.builtin("yespo")
    assert (p.id, p.name, p.origin) == ("yespo", "Yespo", "builtin:yespo")
    assert p.rights == ["full_api", "events", "events_and_contacts", "messages"]
    assert ("PUT", "contact/{id}/subscriptions", p.check("PUT", "contact/1/subscriptions").group) in p.endpoints
    assert repr(p) == "Provider('yespo', origin='builtin:yespo')"


def test_check_gives_the_whole_decision(yespo: scopegate.Provider) -> None:
    allowed = yespo.check("PUT", "contact/12345/subscriptions", ["events_and_contacts"])
    assert allowed.allowed and bool(allowed)
    assert allowed.endpoint == "contact/{id}/subscriptions"
    assert allowed.reason is None and not allowed.deprecated
    assert "events_and_contacts" in allowed.needs

    denied = yespo.check("POST", "message/email", ["events_and_contacts"])
    assert not denied and denied.reason == "not_granted"
    assert denied.needs == ["full_api", "messages"]
    assert denied.endpoint == "message/email" and denied.group is not None

    unknown = yespo.check("GET", "orders/551", ["full_api"])
    assert (unknown.allowed, unknown.endpoint, unknown.reason) == (False, None, "unknown_endpoint")
    assert yespo.check("GET", "contact/../contacts", ["full_api"]).reason == "dot_segment"
    assert yespo.check("get", "contacts", ["full_api"]).reason == "method_case"
    assert yespo.check("GET", "contacts/", ["full_api"]).reason == "trailing_slash"
    assert yespo.check("GET", "contact%2F1", ["full_api"]).reason == "encoded_slash"
    # Without rights: only open groups.
    assert not yespo.check("GET", "contacts")


def test_deprecated_endpoints_say_so(yespo: scopegate.Provider) -> None:
    flags = {yespo.check(m, t.replace("{", "x").replace("}", ""), ["full_api"]).deprecated for m, t, _ in yespo.endpoints}
    assert flags == {True, False}


def test_policy_allows(yespo: scopegate.Provider) -> None:
    policy = yespo.policy(["events_and_contacts"])
    assert policy.rights == ["events_and_contacts"]
    assert policy.allows("PUT", "contact/12345/subscriptions")
    assert policy.allows("PUT", "https://yespo.io/api/v1/contact/12345/subscriptions?x=1")
    assert not policy.allows("POST", "message/email")
    assert not policy.allows("GET", "contact/../contacts")
    assert not policy.allows("FETCH", "contacts")
    assert policy.check("POST", "message/email").needs == ["full_api", "messages"]
    assert repr(policy) == "Policy(rights=['events_and_contacts'])"


def test_rights_for_is_least_privilege(yespo: scopegate.Provider) -> None:
    assert yespo.rights_for([("PUT", "contact/1/subscriptions"), ("POST", "event")]) == ["events_and_contacts"]
    assert yespo.rights_for([]) == []
    with pytest.raises(scopegate.UnknownEndpoint) as e:
        yespo.rights_for([("GET", "contacts"), ("GET", "orders/1")])
    assert e.value.kind is scopegate.ErrorKind.UNKNOWN_ENDPOINT
    with pytest.raises(scopegate.PathRejected) as r:
        yespo.rights_for([("GET", "contact/./1")])
    assert r.value.reason == "dot_segment"
    assert isinstance(r.value, scopegate.PermissionDenied)


def test_profiles_from_toml_and_files(tmp_path: Path) -> None:
    text = 'extends = "yotpo"\n[token]\nurl = "https://example.invalid/oauth/token"\n'
    p = scopegate.Provider.from_toml(text, "mine")
    assert p.id == "yotpo" and "mine" in p.origin
    f = tmp_path / "my-yotpo.toml"
    f.write_text(text)
    assert scopegate.Provider.from_file(f).id == "yotpo"
    assert scopegate.Provider.from_file(str(f)).id == "yotpo"
    local = scopegate.Provider.builtin("yuvo").with_overrides('[api]\nbase_url = "http://127.0.0.1:1/x"\n')
    assert "overrides" in local.origin


@pytest.mark.parametrize(
    "load",
    [
        lambda: scopegate.Provider.builtin("nope"),
        lambda: scopegate.Provider.from_toml("not = [toml"),
        lambda: scopegate.Provider.from_toml('id = "x"\n'),
        lambda: scopegate.Provider.from_toml('extends = "yespo"\n[token]\nurl = "http://example.com/token"\n'),
        lambda: scopegate.Provider.from_file("/nonexistent/profile.toml"),
        lambda: scopegate.Provider.builtin("yespo").with_overrides('extends = "yuvo"\n'),
    ],
)
def test_bad_profiles_raise_config_error(load: object) -> None:
    with pytest.raises(scopegate.ConfigError) as e:
        load()  # type: ignore[operator]
    assert e.value.kind in (scopegate.ErrorKind.PROFILE, scopegate.ErrorKind.CONFIG)
    assert e.value.blame is scopegate.Blame.LOCAL
    assert isinstance(e.value, ValueError)


def test_unknown_rights_raise_config_error(yespo: scopegate.Provider) -> None:
    for call in (lambda: yespo.policy(["nope"]), lambda: yespo.check("GET", "contacts", ["admin"])):
        with pytest.raises(scopegate.ConfigError, match="unknown right"):
            call()


def test_policy_allows_takes_its_two_arguments_by_position_or_keyword() -> None:
    policy = scopegate.Provider.builtin("yespo").policy(["events_and_contacts"])
    assert policy.allows("PUT", "contact/42/subscriptions")
    assert policy.allows(method="PUT", path="contact/42/subscriptions")
    assert policy.allows("PUT", path="contact/42/subscriptions")
    assert not policy.allows("POST", "message/email")
    assert getattr(type(policy).allows, "__text_signature__") == "($self, method, path)"
    bad: list[tuple[tuple[object, ...], dict[str, object]]] = [
        (("PUT",), {}),
        (("PUT", "contact/1", "x"), {}),
        (("PUT",), {"method": "GET"}),
        ((), {"method": "PUT", "route": "contact/1"}),
        ((1, "contact/1"), {}),
        (("PUT", b"contact/1"), {}),
        (("PUT", "\ud800"), {}),
    ]
    for args, kwargs in bad:
        with pytest.raises((TypeError, UnicodeEncodeError)):
            policy.allows(*args, **kwargs)  # type: ignore[arg-type]


def test_a_profile_pointed_at_a_sandbox_has_an_id_of_its_own(sandbox: scopegate.testing.Sandbox) -> None:
    """Issue 18: the built-in id stayed, so the real provider's stored token went to the sandbox."""
    authority = sandbox.base_url.removeprefix("http://")
    for builtin in ["yespo", "reteno", "yotpo", "yuvo"]:
        assert sandbox.provider(builtin).id == f"{builtin}@{authority}"
        assert scopegate.Provider.builtin(builtin).id == builtin
    store = scopegate.MemoryStore()
    real = scopegate.TokenSet.loads(
        '{"format":"scopegate.token_set","version":1,"provider":"yuvo","identity":"user",'
        '"access_token":"REAL-ACCESS","refresh_token":"REAL-REFRESH","issued_at":1,"expires_at":4000000000}'
    )
    store.save(scopegate.testing.SANDBOX_CLIENT_ID, real, "default")
    client = scopegate.Client(
        sandbox.provider("yuvo"), scopegate.testing.SANDBOX_CLIENT_ID, scopegate.testing.SANDBOX_CLIENT_SECRET, store=store
    )
    with pytest.raises(scopegate.NotAuthorized):
        client.access_token()
    with pytest.raises(scopegate.NotAuthorized):
        client.refresh_token()
    assert sandbox.counters("yuvo")["token_requests"] == {}
    assert store.load("yuvo", scopegate.testing.SANDBOX_CLIENT_ID, "default") == real
