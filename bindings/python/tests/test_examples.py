"""examples/python: the token file they write is the user's alone from the moment it exists
(issue 18: `write_text` then `chmod` left a window in which the token set was readable by
others under the usual umask 022)."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import ROOT

# Runs an example with an audit hook watching the token file: every time it is opened for
# writing or its mode is changed, it must not be readable or writable by group or others while
# it holds anything. The hook sees the file as it is at that moment, before the call runs.
WATCH = r"""
import os, runpy, stat, sys
example, tokens = os.path.abspath(sys.argv[1]), os.path.abspath(os.environ["YESPO_SESSION_TOKENS"])
exposed = []

def watched(p):
    # The token file, or a file beside it named after it (a temporary file moved over it).
    try:
        p = os.path.abspath(os.fsdecode(p))
    except TypeError:
        return None
    same_dir = os.path.dirname(p) == os.path.dirname(tokens)
    return p if same_dir and os.path.basename(p).startswith(os.path.basename(tokens)) else None

def check(event, path):
    try:
        st = os.stat(path)
    except FileNotFoundError:
        return
    if st.st_size > 0 and st.st_mode & 0o077:
        exposed.append(f"{event} {os.path.basename(path)}: {stat.filemode(st.st_mode)}, {st.st_size} bytes")

def hook(event, args):
    path = watched(args[0]) if args else None
    if path is None:
        return
    if event == "open" and isinstance(args[2], int) and args[2] & (os.O_WRONLY | os.O_RDWR):
        check("open for writing", path)
    elif event in ("os.chmod", "os.rename"):
        check(event, path)

sys.addaudithook(hook)
sys.argv = [example, *sys.argv[2:]]
runpy.run_path(example, run_name="__main__")
check("at the end", tokens)
if exposed:
    print("token file readable by others:", "; ".join(exposed), file=sys.stderr)
    sys.exit(3)
"""


def run_under_umask_022(example: Path, tokens: Path, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "YESPO_SESSION_TOKENS": str(tokens)}
    return subprocess.run(
        [sys.executable, "-c", WATCH, str(example), "--sandbox"],
        cwd=cwd, env=env, capture_output=True, text=True, timeout=120,
        preexec_fn=lambda: os.umask(0o022),  # noqa: PLW1509 - the umask is what is tested
    )


@pytest.mark.full  # the example needs httpx
def test_async_httpx_creates_its_token_file_0600(tmp_path: Path) -> None:
    tokens = tmp_path / "yespo-session-tokens.json"
    r = run_under_umask_022(ROOT / "examples/python/async_httpx.py", tokens, tmp_path)
    assert r.returncode == 0, r.stderr
    assert stat.S_IMODE(tokens.stat().st_mode) == 0o600
    assert tokens.stat().st_size > 0


@pytest.mark.full  # the example needs httpx
def test_an_existing_token_file_is_made_private_before_it_is_written(tmp_path: Path) -> None:
    tokens = tmp_path / "yespo-session-tokens.json"
    tokens.write_text("{}")
    tokens.chmod(0o644)  # left by an older version, or made by hand
    r = run_under_umask_022(ROOT / "examples/python/async_httpx.py", tokens, tmp_path)
    assert r.returncode == 0, r.stderr
    assert stat.S_IMODE(tokens.stat().st_mode) == 0o600
