#!/usr/bin/env python3
"""Attentive's front door: `dev.py run` serves the embedded site, `dev.py test` runs the suite.

`dev.py run --lan` is classroom mode: it serves every network of this machine, finds its
address on the room's network and has the join links and QR codes carry it. `dev.py serve`
serves again at once (no install check, migration or demo setup), exactly as `run` serves:
DEBUG off unless asked for, static files collected for WhiteNoise when they changed.

Needs only Python 3.11+: it makes its own virtual environment in .venv, installs the
pinned requirements when they change, and then hands over to manage.py or pytest.
"""

import argparse
import hashlib
import ipaddress
import os
import socket
import struct
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


# -- classroom mode: serving the phones of a room from this machine ------------------------------

# Interfaces that no phone in the room can reach: containers, virtual machines, VPN tunnels.
VIRTUAL_INTERFACES = ("lo", "docker", "br-", "veth", "virbr", "vmnet", "vboxnet", "tun", "tap", "wg", "tailscale",
                      "zt", "utun")


def interface_addresses() -> list[tuple[str, str]]:
    """(interface, IPv4 address) for each interface that has one (Linux); elsewhere the host name's addresses."""
    found = []
    try:
        import fcntl

        names = [name for _index, name in socket.if_nameindex()]
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
            for name in names:
                request = struct.pack("256s", name.encode()[:15])
                try:
                    reply = fcntl.ioctl(probe.fileno(), 0x8915, request)  # SIOCGIFADDR
                except OSError:
                    continue  # no IPv4 address on this one
                found.append((name, socket.inet_ntoa(reply[20:24])))
    except (ImportError, OSError, AttributeError):
        pass
    if not found:
        try:
            infos = socket.getaddrinfo(socket.gethostname(), None, socket.AF_INET)
            found = [("", info[4][0]) for info in infos]
        except OSError:
            pass
    return found


def default_route_address() -> str | None:
    """The address this machine's traffic leaves from (no packet is sent: a UDP socket only picks a route)."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        try:
            probe.connect(("198.51.100.1", 9))
            return probe.getsockname()[0]
        except OSError:
            return None  # no default route: a network without internet


def lan_candidates(interfaces: list[tuple[str, str]], via_default_route: str | None) -> list[str]:
    """Addresses phones on the same network may reach, the likeliest first.

    The address of the default route comes first (the Wi-Fi or cable the laptop is on), then
    private addresses (192.168.x, 10.x, 172.16-31.x), then any other; loopback, link-local
    and the interfaces of containers, virtual machines and VPNs never.
    """
    usable, unreachable = [], set()
    for name, address in interfaces:
        ip = ipaddress.ip_address(address)
        if ip.is_loopback or ip.is_link_local or ip.is_unspecified or name.startswith(VIRTUAL_INTERFACES):
            unreachable.add(address)
        else:
            usable.append(address)
    if via_default_route and via_default_route not in unreachable and via_default_route not in usable:
        usable.append(via_default_route)  # the interfaces could not be listed here
    return sorted(dict.fromkeys(usable), key=lambda address: (address != via_default_route,
                                                              not ipaddress.ip_address(address).is_private))


def classroom_url(requested: str | None, port: int) -> tuple[str, list[str]]:
    """The address to give the class (http://ADDRESS:PORT) and the other addresses that might do."""
    candidates = lan_candidates(interface_addresses(), default_route_address())
    if requested:
        try:
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
                probe.bind((requested, 0))
        except OSError:
            known = ", ".join(candidates) or "none found"
            sys.exit(f"{requested} is not an address of this machine (its addresses on a network: {known}). "
                     "Run `make run LAN=1` to pick one, or give one of those.")
        chosen = requested
    elif candidates:
        chosen = candidates[0]
    else:
        sys.exit("This machine is on no network that phones could reach (only loopback, containers or VPNs). "
                 "Join the room's Wi-Fi, or start a hotspot on a phone and join that, then run this again.")
    return f"http://{chosen}:{port}", [address for address in candidates if address != chosen]


def announce_classroom(url: str, others: list[str]) -> None:
    say("classroom mode: serving every network of this machine")
    say(f"students join at   {url}/play/   (the QR code on the projector says the same)")
    say(f"you sign in at     {url}/   (or http://127.0.0.1:{url.rsplit(':', 1)[1]}/ on this machine)")
    if others:
        say(f"phones cannot reach it? This machine also has {', '.join(others)}: make run LAN=<one of them>")
    say("still nothing? See the README, \"Running a class from a laptop\" (firewall, client isolation, hotspot).")


def serve(args: list[str]) -> None:
    """Hand the terminal over to `manage.py serve`, so that Ctrl-C goes straight to the server."""
    parser = argparse.ArgumentParser(prog="scripts/dev.py run", add_help=False)
    parser.add_argument("--lan", action="store_true")
    parser.add_argument("--lan-address")
    parser.add_argument("--port", type=int, default=8000)
    options, rest = parser.parse_known_args(args)
    host = "127.0.0.1"
    if options.lan or options.lan_address:
        url, others = classroom_url(options.lan_address, options.port)
        # attentive/settings.py derives ALLOWED_HOSTS, CSRF_TRUSTED_ORIGINS and SITE_URL from it.
        os.environ["LAN_URL"] = url
        announce_classroom(url, others)
        host = "0.0.0.0"  # noqa: S104 (classroom mode: the point is to be reachable from the room)
    os.execv(PYTHON, [str(PYTHON), "manage.py", "serve", "--host", host, "--port", str(options.port), *rest])


def static_sources() -> list[Path]:
    """The folders collectstatic gathers from that can change here: the site's and each app's."""
    return [ROOT / "static", *ROOT.glob("*/static")]


def static_files_stale() -> bool:
    """Whether the collected files (their manifest) are missing or older than a source file."""
    var = Path(os.environ.get("ATTENTIVE_VAR_DIR", ROOT / "var"))
    manifest = Path(os.environ.get("STATIC_ROOT") or var / "staticfiles") / "staticfiles.json"
    if not manifest.exists():
        return True
    collected = manifest.stat().st_mtime
    return any(path.stat().st_mtime > collected
               for folder in static_sources() for path in folder.rglob("*") if path.is_file())


def collect_static_files(*, always: bool) -> None:
    """With DEBUG off, WhiteNoise serves only collected files (by their hashed names). `serve`
    collects them only when a source changed: collectstatic takes seconds."""
    if os.environ["DEBUG"].lower() in ("0", "false", "no", "off") and (always or static_files_stale()):
        say("collecting static files (WhiteNoise serves them with DEBUG off)")
        run(PYTHON, "manage.py", "collectstatic", "--no-input", "-v", "0")


def command_run(args: list[str]) -> None:
    ensure_environment("requirements.txt")
    os.chdir(ROOT)
    args = serving_environment(args)
    run(PYTHON, "manage.py", "migrate", "--no-input", "-v", "0")
    collect_static_files(always=True)  # after an install, a package's own files may have changed
    # Published demo password on 127.0.0.1 only; open to the room, a fresh one (printed here).
    classroom = any(arg == "--lan" or arg.startswith("--lan-address") for arg in args)
    run(PYTHON, "manage.py", "demo_setup", "--classroom" if classroom else "--local")
    serve(args)


def command_serve(args: list[str]) -> None:
    """Serve again at once, as `run` serves: no install check, migration or demo setup (`run` must
    have run once), but the same environment (DEBUG off) and the static files it needs."""
    if not PYTHON.exists():
        sys.exit(f"{VENV} does not exist yet: run `scripts/dev.py run` (or `make run`) first.")
    os.chdir(ROOT)
    args = serving_environment(args)
    collect_static_files(always=False)
    serve(args)


def command_test(args: list[str]) -> None:
    ensure_environment("requirements-dev.txt")
    os.chdir(ROOT)
    os.execv(PYTHON, [str(PYTHON), "-m", "pytest", *args])


def main() -> None:
    commands = {"run": command_run, "serve": command_serve, "test": command_test}
    if len(sys.argv) < 2 or sys.argv[1] not in commands:
        sys.exit("usage: scripts/dev.py run [--port N] [--debug] [--lan | --lan-address ADDRESS] | serve [the same] "
                 "| test [pytest arguments]")
    try:
        commands[sys.argv[1]](sys.argv[2:])
    except KeyboardInterrupt:
        # Ctrl-C before the server started (during the install, say): stop without a traceback.
        print("\nStopped.", flush=True)
        sys.exit(130)


if __name__ == "__main__":
    main()
