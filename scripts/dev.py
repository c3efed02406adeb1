#!/usr/bin/env python3
"""Attentive's front door: `dev.py run` serves the embedded site, `dev.py test` runs the suite.

Needs only Python 3.11+: it makes its own virtual environment in .venv, installs the
pinned requirements when they change, and then hands over to manage.py or pytest.
"""

import hashlib
import os
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
VENV = ROOT / ".venv"
PYTHON = VENV / "bin" / "python"
STAMP = VENV / "requirements.sha256"


def say(message: str) -> None:
    print(f"==> {message}", flush=True)


def run(*command: str | Path, **kwargs) -> None:
    result = subprocess.run([str(part) for part in command], cwd=ROOT, **kwargs)
    if result.returncode != 0:
        sys.exit(result.returncode)


def ensure_environment(requirements: str) -> None:
    if sys.version_info < (3, 11):  # noqa: UP036 (this script may be started by an older python3)
        sys.exit(f"Attentive needs Python 3.11 or newer; this is {sys.version.split()[0]}.")
    if not PYTHON.exists():
        say(f"creating a virtual environment in {VENV}")
        try:
            venv.EnvBuilder(with_pip=True).create(VENV)
        except Exception as error:
            sys.exit(f"Could not create {VENV} ({error}). On Debian/Ubuntu: sudo apt install python3-venv")
    wanted = hashlib.sha256(
        b"".join((ROOT / name).read_bytes() for name in ("requirements.txt", requirements))
    ).hexdigest()
    if STAMP.exists() and STAMP.read_text().strip() == wanted:
        return
    say(f"installing {requirements} (the first time takes a few minutes: torch is large; pip shows its progress)")
    # Not quiet: minutes of silence look like a hang. pip names each package and draws its downloads.
    run(PYTHON, "-m", "pip", "install", "--disable-pip-version-check", "--progress-bar", "on", "-r", requirements)
    STAMP.write_text(wanted)


def serving_environment(args: list[str]) -> list[str]:
    """Serve as production does (DEBUG off: no URL list on a 404, no tracebacks) over plain HTTP
    on the LAN, with a secret key kept in var/. `--debug` (or DEBUG=true) opts in to debug."""
    if "--debug" in args:
        args = [arg for arg in args if arg != "--debug"]
        os.environ["DEBUG"] = "true"
    os.environ.setdefault("DEBUG", "false")
    os.environ.setdefault("HTTPS", "false")
    if not os.environ.get("SECRET_KEY"):
        var = Path(os.environ.get("ATTENTIVE_VAR_DIR", ROOT / "var"))
        os.environ.setdefault("SECRET_KEY_FILE", str(var / "secret-key"))  # made once by the settings
    return args


def command_run(args: list[str]) -> None:
    ensure_environment("requirements.txt")
    os.chdir(ROOT)
    args = serving_environment(args)
    run(PYTHON, "manage.py", "migrate", "--no-input", "-v", "0")
    if os.environ["DEBUG"].lower() in ("0", "false", "no", "off"):
        say("collecting static files (WhiteNoise serves them with DEBUG off)")
        run(PYTHON, "manage.py", "collectstatic", "--no-input", "-v", "0")
    run(PYTHON, "manage.py", "demo_setup")
    # Hand the terminal over, so that Ctrl-C goes straight to the server.
    os.execv(PYTHON, [str(PYTHON), "manage.py", "serve", *args])


def command_test(args: list[str]) -> None:
    ensure_environment("requirements-dev.txt")
    os.chdir(ROOT)
    os.execv(PYTHON, [str(PYTHON), "-m", "pytest", *args])


def main() -> None:
    commands = {"run": command_run, "test": command_test}
    if len(sys.argv) < 2 or sys.argv[1] not in commands:
        sys.exit("usage: scripts/dev.py run [--port N] [--debug] | test [pytest arguments]")
    try:
        commands[sys.argv[1]](sys.argv[2:])
    except KeyboardInterrupt:
        # Ctrl-C before the server started (during the install, say): stop without a traceback.
        print("\nStopped.", flush=True)
        sys.exit(130)


if __name__ == "__main__":
    main()
