"""The sandbox's isolation, seen from inside: what student code can reach, read and signal."""

import os
import site
import socket
import sqlite3
import sys
import textwrap

import pytest

from graders.sandbox import check_isolation
from graders.sandbox.pool import PROJECT_ROOT
from graders.sandbox.wire import ModelRef
from tests.sandbox.conftest import PLANTED_SECRETS, run


def call(pool, body, *args):
    source = "import os, socket, signal, sys\n\ndef main(*args):\n" + textwrap.indent(
        textwrap.dedent(body), "    "
    )
    loaded, outcome = run(pool, source, "main", args)
    assert loaded.failure is None, loaded.failure
    assert outcome.failure is None, outcome.failure
    return outcome.value


def test_the_startup_check_passes(pool):
    seen = check_isolation(pool)
    assert seen["pid"] == 1
    assert seen["sockets_created"] == []


@pytest.fixture
def listener():
    server = socket.create_server(("127.0.0.1", 0))
    yield server.getsockname()[1]
    server.close()


def test_it_cannot_connect_to_a_port_on_the_host_loopback(pool, listener):
    socket.create_connection(("127.0.0.1", listener), timeout=1).close()  # reachable from outside
    error = call(
        pool,
        """
        try:
            socket.create_connection(("127.0.0.1", args[0]), timeout=1)
        except OSError as error:
            return error.errno
        return "connected"
        """,
        listener,
    )
    assert error == 1  # EPERM: the seccomp filter refuses the AF_INET socket itself


@pytest.mark.parametrize("port", [5432, 6379])
def test_it_cannot_reach_postgres_or_redis_ports(pool, port):
    assert (
        call(
            pool,
            """
        try:
            socket.create_connection(("127.0.0.1", args[0]), timeout=1)
        except OSError:
            return "blocked"
        return "connected"
        """,
            port,
        )
        == "blocked"
    )


def test_it_cannot_even_list_network_interfaces(pool):
    # Listing interfaces takes a netlink socket, which the filter denies like every family but AF_UNIX.
    assert call(
        pool,
        """
        try:
            return socket.if_nameindex()
        except OSError as error:
            return error.errno
        """,
    ) == 1


def test_it_cannot_send_to_an_outside_address(pool):
    # A documentation address (RFC 5737): the socket is refused before any route is looked up.
    assert (
        call(
            pool,
            """
        try:
            socket.create_connection(("192.0.2.1", 80), timeout=1)
        except OSError as error:
            return error.errno
        """,
        )
        == 1
    )


def test_it_cannot_see_project_files_or_the_database(pool, tmp_path):
    database = tmp_path / "attentive.sqlite3"
    sqlite3.connect(database).close()
    paths = [
        str(PROJECT_ROOT / "graders" / "code" / "grading.py"),
        str(PROJECT_ROOT),
        str(database),
        "/work",
        sys.executable,
    ]
    assert all(os.path.exists(path) for path in paths)
    listed = call(
        pool,
        "return {path: (sorted(os.listdir(path)) if os.path.isdir(path) else 'file') "
        "for path in args[0] if os.path.exists(path)}",
        paths,
    )
    # A folder on the way to an allowed mount (site-packages in a .venv inside the project, or
    # a symlink to it) exists inside, holding only the next step of that way; nothing else shows.
    site_packages = {f(path) for path in site.getsitepackages() for f in (os.path.realpath, os.path.abspath)}
    for path, entries in listed.items():
        on_the_way = [p.removeprefix(path + "/").split("/")[0] for p in site_packages if p.startswith(path + "/")]
        assert on_the_way, f"{path} is visible in the sandbox"
        assert entries == sorted(set(on_the_way)), f"{path} shows {entries}"


def test_it_cannot_read_proc_or_etc(pool):
    found = call(
        pool,
        """
        found = []
        for path in ("/proc/1/environ", "/proc/self/environ", "/etc/passwd", "/etc/shadow", "/root/.ssh"):
            try:
                open(path).read()
                found.append(path)
            except OSError:
                pass
        return found
        """,
    )
    assert found == []


def test_it_runs_as_an_unprivileged_uid_without_capabilities(pool):
    seen = call(pool, "return [os.getuid(), os.geteuid(), os.getgid(), os.getgroups()]")
    uid, euid, gid, groups = seen
    assert uid == euid != 0
    assert uid >= 200_000
    assert gid != 0
    assert groups == []
    assert check_isolation(pool)["capabilities"] == 0


def test_concurrent_sandboxes_get_distinct_uids(pool):
    source = "import os\ndef main():\n    return os.getuid()\n"
    with pool.acquire() as first, pool.acquire() as second:
        first.load(source)
        second.load(source)
        assert first.call("main").value != second.call("main").value


def test_it_cannot_signal_its_parent_or_anyone_else(pool):
    zygote = pool.zygote.pid
    results = call(
        pool,
        """
        results = {}
        for name, pid in (("parent", os.getppid()), ("all", -1), ("worker", args[0]), ("zygote", args[1])):
            try:
                os.kill(pid, signal.SIGKILL)
                results[name] = "sent"
            except OSError as error:
                results[name] = error.errno
        return results
        """,
        os.getpid(),
        zygote,
    )
    # getppid() is 0 in a new PID namespace: kill(0) reaches only the sandbox's own group.
    assert results["worker"] == 3
    assert results["zygote"] == 3
    assert pool.zygote.poll() is None
    assert check_isolation(pool)["pid"] == 1


def test_its_environment_is_scrubbed(pool):
    environment = call(pool, "return dict(os.environ)")
    assert not set(environment) & set(PLANTED_SECRETS)
    assert "planted" not in repr(environment)


def test_the_zygote_it_forks_from_never_saw_the_secrets(pool):
    with open(f"/proc/{pool.zygote.pid}/environ", "rb") as handle:
        environ = handle.read().decode()
    assert "planted" not in environ
    with open(f"/proc/{pool.zygote.pid}/cmdline", "rb") as handle:
        assert b"django" not in handle.read().lower()


def test_the_zygote_never_imported_django(pool):
    source = "import sys\ndef main():\n    return sorted(name for name in sys.modules if 'django' in name)\n"
    assert run(pool, source)[1].value == []


def test_a_submission_finds_none_of_the_platforms_modules_to_import(pool):
    # The zygote imported them (the models' registries); it forgets them before any sandbox forks.
    source = (
        "import sys\n"
        "names = sorted(name for name in sys.modules if name.split('.')[0] in ('graders', 'content'))\n"
        "def main():\n"
        "    return names + sorted(name for name in sys.modules if name.split('.')[0] in ('graders', 'content'))\n"
    )
    assert run(pool, source)[1].value == []


def test_of_the_course_pack_a_submission_gets_the_provided_model_and_sees_no_file(pool):
    # content/nlp2llm/provided reaches student code only as objects the zygote imported (the toy
    # translator, built by name); no file of the pack is mounted: no solution.py, no tests.py.
    pack = PROJECT_ROOT / "content" / "nlp2llm"
    exercise = pack / "lessons" / "01-transformers" / "exercises" / "08-attention"
    paths = [exercise / "solution.py", exercise / "tests.py", pack / "provided" / "__init__.py", pack]
    assert all(path.exists() for path in paths)
    source = (
        "import os\n"
        "def main(model, paths):\n"
        "    try:\n"
        "        import content.nlp2llm.provided\n"
        "        imported = True\n"
        "    except ImportError:\n"
        "        imported = False\n"
        "    return [type(model).__name__, imported, [path for path in paths if os.path.lexists(path)]]\n"
    )
    _loaded, outcome = run(pool, source, args=[ModelRef("toy_translator"), [str(path) for path in paths]])
    assert outcome.failure is None, outcome.failure
    assert outcome.value == ["ToyTranslator", False, []]


def test_only_the_work_dir_is_writable(pool):
    results = call(
        pool,
        """
        import torch
        results = {}
        for path in ("/x", os.path.dirname(torch.__file__) + "/x", "/home/student/x"):
            try:
                with open(path, "w") as handle:
                    handle.write("x")
                results[path] = "written"
            except OSError as error:
                results[path] = error.errno
        return results
        """,
    )
    assert list(results.values()) == [30, 30, "written"]  # EROFS twice


def test_only_the_protocol_channel_is_left_open(pool):
    source = (
        "import os\ndef main():\n    return sorted(fd for fd in range(64) if _is_open(fd))\n"
        + textwrap.dedent(
            """
        def _is_open(fd):
            try:
                os.fstat(fd)
                return True
            except OSError:
                return False
        """
        )
    )
    assert run(pool, source)[1].value == [0, 1, 2, 3]


def test_it_sits_in_its_own_uts_and_pid_namespaces(pool):
    assert call(pool, "return [socket.gethostname(), os.getpid()]") == ["sandbox", 1]


def test_only_what_python_needs_is_mounted_not_the_systems_programs_and_libraries(pool):
    outside = ["/usr/bin/ls", "/bin/sh", "/usr/lib/postgresql", "/usr/lib/x86_64-linux-gnu/libX11.so.6"]
    present = [path for path in outside if os.path.exists(path)]
    assert "/usr/bin/ls" in present  # on the host
    assert call(pool, "return [path for path in args[0] if os.path.lexists(path)]", present) == []


def test_the_standard_librarys_extension_modules_load_their_libraries_inside(pool):
    body = """
    import ctypes, ssl, sqlite3, lzma, bz2, zlib, uuid, numpy, torch
    context = ssl.create_default_context()
    rows = sqlite3.connect(":memory:").execute("select 6 * 7").fetchall()
    packed = lzma.decompress(lzma.compress(b"x" * 100)) + bz2.decompress(bz2.compress(b"y"))
    return [context.protocol.name, rows[0][0], len(packed), zlib.crc32(b"a"), ctypes.sizeof(ctypes.c_long),
            float(torch.tensor(numpy.ones(3)).sum())]
    """
    assert call(pool, body) == ["PROTOCOL_TLS_CLIENT", 42, 101, 3904355907, 8, 3.0]


def test_only_torch_numpy_and_what_they_import_are_in_view_not_the_rest_of_the_environment(pool):
    # scipy.special.softmax, scikit-learn's, transformers' tokenizers: none one import away.
    source = (
        "import importlib\n"
        "def main(names):\n"
        "    found = {}\n"
        "    for name in names:\n"
        "        try:\n"
        "            importlib.import_module(name)\n"
        "            found[name] = True\n"
        "        except ImportError:\n"
        "            found[name] = False\n"
        "    return found\n"
    )
    absent = ["scipy", "sklearn", "transformers", "tokenizers", "sentence_transformers", "django", "celery", "redis"]
    present = ["torch", "numpy", "sympy", "functorch", "torch.nn.attention.flex_attention"]
    _loaded, outcome = run(pool, source, args=[absent + present])
    assert outcome.value == {**dict.fromkeys(absent, False), **dict.fromkeys(present, True)}
