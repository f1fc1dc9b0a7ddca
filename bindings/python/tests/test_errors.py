"""The exception hierarchy and the error kinds."""

from __future__ import annotations

import scopegate
from scopegate import _native, errors


def test_error_kinds_are_the_cores() -> None:
    native = _native.error_kinds()
    assert [(k.value, k.name.lower()) for k in scopegate.ErrorKind] == [(code, name) for code, name, _ in native]
    for code, _, blame in native:
        assert errors.default_blame(scopegate.ErrorKind(code)).value == blame


def test_hierarchy() -> None:
    for name in errors.__all__:
        cls = getattr(scopegate, name)
        if isinstance(cls, type) and issubclass(cls, BaseException):
            assert issubclass(cls, scopegate.Error), name
    assert issubclass(scopegate.StateMismatch, scopegate.CallbackError)
    assert issubclass(scopegate.ReinstallRequired, scopegate.ReauthorizationRequired)
    assert issubclass(scopegate.ProtocolError, scopegate.TokenEndpointError)
    assert issubclass(scopegate.PathRejected, scopegate.PermissionDenied)
    assert issubclass(scopegate.ConfigError, ValueError)


def test_users_can_raise_them_too() -> None:
    e = scopegate.TokenEndpointError("refused", error="invalid_grant", status=400)
    assert (e.kind, e.blame, e.error, e.status, e.description) == (
        scopegate.ErrorKind.TOKEN_REFUSED, scopegate.Blame.REMOTE, "invalid_grant", 400, None
    )
    r = scopegate.ReauthorizationRequired("again", reason="no_refresh_token", kind=7, blame="remote")
    assert r.reason == "no_refresh_token" and r.message == "again" and str(r) == "again"
    assert scopegate.TransportError("x").blame is scopegate.Blame.ENVIRONMENT


def test_the_stub_spells_the_table_out() -> None:
    """errors.pyi lists ErrorKind's members for type checkers; the module builds them from the
    core's table. Both must say the same."""
    import ast
    from pathlib import Path

    stub = ast.parse((Path(errors.__file__).with_suffix(".pyi")).read_text())
    cls = next(n for n in stub.body if isinstance(n, ast.ClassDef) and n.name == "ErrorKind")
    members = [
        (t.id, v.value)
        for a in cls.body
        if isinstance(a, ast.Assign)
        for t, v in [(a.targets[0], a.value)]
        if isinstance(t, ast.Name) and isinstance(v, ast.Constant)
    ]
    assert members == [(name.upper(), code) for code, name, _ in _native.error_kinds()]


def test_the_sandbox_is_test_tooling_in_scopegate_testing() -> None:
    """Issue 19: the sandbox is not part of the top-level API; scopegate.testing has it."""
    import scopegate.testing

    for name in ("Sandbox", "SANDBOX_CLIENT_ID", "SANDBOX_CLIENT_SECRET", "connect_sandbox"):
        assert name not in scopegate.__all__ and not hasattr(scopegate, name), name
        assert not hasattr(scopegate._native, name), name
        assert name in scopegate.testing.__all__ and hasattr(scopegate.testing, name), name
    assert scopegate.testing.Sandbox.__module__ == "scopegate_testing._native"


def test_the_testing_extra_pins_this_version() -> None:
    """`pip install 'scopegate[testing]'` brings the scopegate-testing of this very version."""
    from importlib.metadata import requires, version

    assert version("scopegate") == scopegate.__version__
    extra = [r for r in requires("scopegate") or [] if r.replace('"', "'").endswith("extra == 'testing'")]
    assert extra and extra[0].startswith(f"scopegate-testing=={scopegate.__version__}"), extra
    assert version("scopegate-testing") == scopegate.__version__
    assert f"scopegate=={scopegate.__version__}" in (requires("scopegate-testing") or [])
