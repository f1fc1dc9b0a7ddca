"""Bad input raises the documented exception: never a panic, a SystemError or a crash."""

from __future__ import annotations

from typing import Callable

import pytest

import scopegate
import scopegate.testing

yespo = scopegate.Provider.builtin("yespo")

CASES: list[tuple[str, Callable[[], object], type[BaseException]]] = [
    ("provider id not a str", lambda: scopegate.Provider.builtin(42), TypeError),  # type: ignore[arg-type]
    ("toml not a str", lambda: scopegate.Provider.from_toml(b"id = 1"), TypeError),  # type: ignore[arg-type]
    ("path not a path", lambda: scopegate.Provider.from_file(3.5), TypeError),  # type: ignore[arg-type]
    ("bad profile", lambda: scopegate.Provider.from_toml("[[["), scopegate.ConfigError),
    ("unknown provider", lambda: scopegate.Client("nope", "c"), scopegate.ConfigError),
    ("provider wrong type", lambda: scopegate.Client(3, "c"), TypeError),  # type: ignore[arg-type]
    ("rights a str", lambda: yespo.policy("full_api"), TypeError),
    ("rights not strs", lambda: yespo.policy([1, 2]), TypeError),  # type: ignore[list-item]
    ("unknown right", lambda: yespo.policy(["root"]), scopegate.ConfigError),
    ("unknown right in client", lambda: scopegate.Client(yespo, "c", rights=["root"]), scopegate.ConfigError),
    ("calls not pairs", lambda: yespo.rights_for([("GET",)]), ValueError),  # type: ignore[list-item]
    ("method not a str", lambda: yespo.policy([]).allows(None, "x"), TypeError),  # type: ignore[arg-type]
    ("path not a str", lambda: yespo.policy([]).allows("GET", b"x"), TypeError),  # type: ignore[arg-type]
    ("lone surrogate", lambda: yespo.policy([]).allows("GET", "\ud800"), UnicodeEncodeError),
    ("empty client id", lambda: scopegate.Client(yespo, ""), scopegate.ConfigError),
    ("client id with a newline", lambda: scopegate.Client(yespo, "a\nb"), scopegate.ConfigError),
    ("redirect uri not a url", lambda: scopegate.Client(yespo, "c", redirect_uri="callback"), scopegate.ConfigError),
    ("redirect uri plain http", lambda: scopegate.Client(yespo, "c", redirect_uri="http://example.com/cb"), scopegate.ConfigError),
    ("non-callable transport", lambda: scopegate.Client(yespo, "c", transport=object()), TypeError),  # type: ignore[arg-type]
    ("store of the wrong type", lambda: scopegate.Client(yespo, "c", store={}), TypeError),  # type: ignore[arg-type]
    ("negative leeway", lambda: scopegate.Client(yespo, "c", leeway=-1), OverflowError),
    ("leeway not an int", lambda: scopegate.Client(yespo, "c", leeway="60"), TypeError),  # type: ignore[arg-type]
    ("sqlite store in a file's place", lambda: scopegate.SqliteStore("/dev/null/x.db"), scopegate.StoreError),
    ("token json garbage", lambda: scopegate.TokenSet.loads("{"), scopegate.SerializationError),
    ("token json newer", lambda: scopegate.TokenSet.loads('{"format":"scopegate.token_set","version":99}'), scopegate.SerializationError),
    ("request json garbage", lambda: scopegate.AuthorizationRequest.loads("[]"), scopegate.SerializationError),
    ("session now not a number", lambda: scopegate.Session(yespo, "c").poll_transmit("now"), TypeError),  # type: ignore[arg-type]
    ("sandbox consent", lambda: scopegate.testing.Sandbox(consent="maybe"), scopegate.ConfigError),
    ("sandbox provider", lambda: scopegate.testing.Sandbox().provider("github"), scopegate.ConfigError),
    ("no constructor", lambda: scopegate.TokenSet(), TypeError),  # type: ignore[call-arg]
    ("login timeout negative", lambda: scopegate.Client(yespo, "c").login(open_browser=False, timeout=-1), ValueError),
    ("login opener wrong", lambda: scopegate.Client(yespo, "c").login(open_browser="yes"), TypeError),  # type: ignore[arg-type]
    ("json not serializable", lambda: scopegate.Client(yespo, "c").request("POST", "event", json=object()), TypeError),
]


@pytest.mark.parametrize("name,call,expected", CASES, ids=[c[0] for c in CASES])
def test_bad_input(name: str, call: Callable[[], object], expected: type[BaseException]) -> None:
    with pytest.raises(BaseException) as e:
        call()
    assert type(e.value).__name__ not in ("PanicException", "SystemError"), e.value
    assert isinstance(e.value, expected), f"{name}: {type(e.value).__name__}: {e.value}"
