"""The files Python needs inside a sandbox: its standard library, the shared libraries it loads, and the links to them.

Computed once in the zygote, after torch and the preloads are imported: the libraries mapped
then (from /proc/self/maps) plus the DT_NEEDED closure of the interpreter and of the standard
library's extension modules (lib-dynload: ssl, sqlite3, ctypes... load theirs only when a
submission imports them), resolved like the dynamic loader would in the standard library
directories. Everything else under /usr/lib stays out of view.
"""

from __future__ import annotations

import glob
import importlib.metadata
import os
import struct
import sys
import sysconfig

ELF_MAGIC = b"\x7fELF"
SHT_DYNAMIC = 6
DT_NEEDED, DT_RPATH, DT_RUNPATH = 1, 15, 29
MAX_LINK_HOPS = 40


def python_directories() -> list[str]:
    """The standard library and its extension modules' directory (not the whole prefix)."""
    platbase = {"platbase": sys.base_exec_prefix, "installed_platbase": sys.base_exec_prefix}
    paths = [sysconfig.get_path("stdlib"), sysconfig.get_path("platstdlib", vars=platbase), _lib_dynload()]
    return sorted({os.path.realpath(path) for path in paths if path and os.path.isdir(path)})


def _lib_dynload() -> str:
    shared = sysconfig.get_config_var("DESTSHARED")
    if shared and os.path.isdir(shared):
        return shared
    return os.path.join(sysconfig.get_path("stdlib"), "lib-dynload")


def imported_packages(site_packages: str) -> list[str]:
    """What of `site_packages` the sandbox sees: the distributions this process imported from, nothing else.

    Every top-level entry (package directory, module file, extension, `<name>.libs` directory
    of bundled shared libraries) of each distribution a module of this process came from, and
    their `.dist-info` directories (importlib.metadata reads them). Whole distributions, so that
    what torch imports lazily from its own (functorch, torchgen) is there; torch, numpy and what
    they import are in view, and scipy, scikit-learn, transformers and the rest of the
    environment are not, so no library's ready-made softmax or tokenizer is one import away.
    """
    site_packages = os.path.realpath(site_packages)
    imported = set()
    for module in list(sys.modules.values()):
        for path in _module_paths(module):
            real = os.path.realpath(path)
            if real.startswith(site_packages + "/"):
                imported.add(real[len(site_packages) + 1 :].split("/")[0].split(".")[0])
    imported.discard("__pycache__")
    owners = importlib.metadata.packages_distributions()
    distributions = {distribution for name in imported for distribution in owners.get(name, [])}
    names = imported | {name for name, owned_by in owners.items() if distributions & set(owned_by)}
    wanted = {_normalized(distribution) for distribution in distributions}
    entries = []
    for entry in os.listdir(site_packages):
        if entry.endswith(".dist-info"):
            if _normalized(entry.split("-")[0]) in wanted:
                entries.append(entry)
        elif not entry.endswith(".pth") and entry.split(".")[0] in names:
            entries.append(entry)
    return sorted(os.path.join(site_packages, entry) for entry in entries)


def _normalized(distribution: str) -> str:
    return distribution.lower().replace("-", "_").replace(".", "_")


def _module_paths(module: object) -> list[str]:
    """A module's file and package directories; modules that are not files (torch.classes...) have none."""
    paths = [getattr(module, "__file__", None)]
    package_path = getattr(module, "__path__", None)
    if type(package_path) in (list, tuple) or type(package_path).__name__ == "_NamespacePath":
        paths += list(package_path)
    return [path for path in paths if type(path) is str]


def search_directories() -> list[str]:
    """Where the dynamic loader looks for a library by name, on this machine."""
    multiarch = sysconfig.get_config_var("MULTIARCH") or ""
    candidates = [sysconfig.get_config_var("LIBDIR") or ""]
    for root in ("/lib", "/usr/lib", "/usr/local/lib"):
        candidates += [os.path.join(root, multiarch) if multiarch else "", root]
    candidates += ["/lib64", "/usr/lib64"]
    return [path for path in dict.fromkeys(candidates) if path and os.path.isdir(path)]


def mapped_files() -> list[str]:
    """Regular files mapped into this process (its executable and every loaded shared library)."""
    found = []
    with open("/proc/self/maps") as maps:
        for line in maps:
            fields = line.split(maxsplit=5)
            if len(fields) == 6 and fields[5].startswith("/"):
                path = fields[5].rstrip("\n")
                if not path.endswith(" (deleted)") and os.path.isfile(path):
                    found.append(path)
    return list(dict.fromkeys(found))


def needed_libraries(path: str) -> tuple[list[str], list[str]]:
    """(DT_NEEDED names, RPATH/RUNPATH directories with $ORIGIN expanded) of an ELF file; empty if none."""
    try:
        with open(path, "rb") as handle:
            data = handle.read()
    except OSError:
        return [], []
    # 64-bit little-endian only (x86_64, aarch64): anything else is left to the mapped files.
    if data[:4] != ELF_MAGIC or data[4] != 2 or data[5] != 1:
        return [], []
    try:
        section_offset, = struct.unpack_from("<Q", data, 0x28)
        entry_size, count = struct.unpack_from("<HH", data, 0x3A)
        sections = [struct.unpack_from("<IIQQQQIIQQ", data, section_offset + i * entry_size) for i in range(count)]
        names, directories = [], []
        for _, kind, _, _, offset, size, link, _, _, _ in sections:
            if kind != SHT_DYNAMIC:
                continue
            strings = sections[link][4]
            for position in range(offset, offset + size, 16):
                tag, value = struct.unpack_from("<qQ", data, position)
                if tag in (DT_NEEDED, DT_RPATH, DT_RUNPATH):
                    text = data[strings + value : data.index(b"\0", strings + value)].decode("utf-8", "replace")
                    if tag == DT_NEEDED:
                        names.append(text)
                    else:
                        origin = os.path.dirname(os.path.realpath(path))
                        directories += [
                            part.replace("$ORIGIN", origin).replace("${ORIGIN}", origin) for part in text.split(":")
                        ]
        return names, [d for d in directories if d]
    except (struct.error, IndexError, ValueError):
        return [], []


def library_closure(roots: list[str], directories: list[str]) -> list[str]:
    """The files of `roots` and of every library they need, transitively, as the loader would find them."""
    seen: dict[str, None] = {}
    pending = list(roots)
    while pending:
        path = pending.pop()
        if path in seen:
            continue
        seen[path] = None
        names, own_directories = needed_libraries(path)
        for name in names:
            found = _find(name, own_directories + directories)
            if found is not None and found not in seen:
                pending.append(found)
    return list(seen)


def _find(name: str, directories: list[str]) -> str | None:
    if "/" in name:
        return name if os.path.isfile(name) else None
    for directory in directories:
        candidate = os.path.join(directory, name)
        if os.path.isfile(candidate):
            return candidate
    return None


def interpreter_of(path: str) -> str | None:
    """The PT_INTERP program (the dynamic loader's path) of an ELF executable."""
    try:
        with open(path, "rb") as handle:
            data = handle.read(1 << 16)
        header_offset, = struct.unpack_from("<Q", data, 0x20)
        entry_size, count = struct.unpack_from("<HH", data, 0x36)
        for index in range(count):
            program_header = header_offset + index * entry_size
            kind, _, offset, _, _, size, _, _ = struct.unpack_from("<IIQQQQQQ", data, program_header)
            if kind == 3:  # PT_INTERP
                return data[offset : offset + size].rstrip(b"\0").decode()
    except (OSError, struct.error, UnicodeDecodeError):
        return None
    return None


def links_and_file(path: str) -> tuple[list[tuple[str, str]], str]:
    """The symlinks met on the way to `path` (each as path, target) and the real file at its end."""
    links = []
    pending = os.path.abspath(path).strip("/").split("/")
    current = "/"
    hops = 0
    while pending:
        candidate = os.path.join(current, pending.pop(0))
        if os.path.islink(candidate) and hops < MAX_LINK_HOPS:
            hops += 1
            target = os.readlink(candidate)
            links.append((candidate, target))
            resolved = os.path.normpath(os.path.join(current if not target.startswith("/") else "/", target))
            pending = resolved.strip("/").split("/") + pending
            current = "/"
        else:
            current = candidate
    return links, current


def python_files() -> tuple[list[tuple[str, str]], list[str]]:
    """(symlinks, real files) the sandbox needs besides the directories: interpreter, loader, libraries."""
    executable = getattr(sys, "_base_executable", sys.executable)  # links on the way kept, e.g. python -> python3.11
    # The zygote's own executable may be a virtual environment's copy: the base one is enough.
    running = os.path.realpath("/proc/self/exe")
    mapped = [path for path in mapped_files() if os.path.realpath(path) != running]
    directories = search_directories()
    # Tk needs a display, which a sandbox never has: its X11 libraries would be a dozen mounts for nothing.
    extensions = [
        path
        for path in glob.glob(os.path.join(_lib_dynload(), "*.so"))
        if not os.path.basename(path).startswith("_tkinter")
    ]
    wanted = [executable, *mapped, *library_closure([executable, *extensions], directories)]
    loader = interpreter_of(executable)
    if loader:
        wanted.append(loader)
    links: dict[tuple[str, str], None] = {}
    files: dict[str, None] = {}
    for path in wanted:
        on_the_way, real = links_and_file(path)
        links.update(dict.fromkeys(on_the_way))
        files[real] = None
    return list(links), list(files)
