"""The zygote: a fresh interpreter that imports torch once and forks isolated single-use sandboxes.

Started by the pool as `python -m graders.sandbox.zygote CONTROL_FD [MODULE...]` with a scrubbed
environment; it never imports Django or reads settings, so a sandbox reading its own memory (a
copy of this process) finds nothing secret. Each spawn request on the control socket carries
three descriptors (the sandbox's channel, the write end of its output pipe, the write end of its
status pipe) and is answered with a pidfd of the process that the pool ends to end the sandbox.

Process tree as root: zygote -> sandbox (forked into a new PID namespace, whose PID 1 it is;
it enters its other namespaces and drops to an unprivileged uid before it runs student code);
the zygote moves it into its cgroups, reaps it and reports its exit status, and the pool ends it
with SIGKILL through its pidfd. In a user namespace (a worker that is not root, or root in a user
namespace of its own), a keeper sits between them: zygote -> keeper (privileged in the new
namespaces, waits and reports the exit status) -> sandbox, and the pool ends the keeper with
SIGTERM, which kills the sandbox. A sandbox for a "build it yourself" rule has one more level
above: zygote -> the rule's zygote -> sandbox (or keeper).
"""

from __future__ import annotations

import collections
import ctypes
import fcntl
import gc
import io
import json
import os
import random
import select
import signal
import socket
import sys
from typing import NamedTuple

import numpy
import torch

from graders.sandbox import isolation, models, ready_made, runner, syscalls, wire

# The pool starts this interpreter with OMP/OPENBLAS/MKL_NUM_THREADS=1 so numpy and torch create
# no thread pool; main() checks that the zygote is single-threaded before it forks anything.
torch.set_num_threads(1)
torch.set_num_interop_threads(1)

CAP_SYS_ADMIN = 21
HIGH_FD = 10
MADV_COLLAPSE = 25
# Rules whose zygote is kept (the pool keeps sandboxes warm for its last 4: pool.RULES_KEPT_WARM).
RULE_ZYGOTES_KEPT = 8
# The project's own packages: the grader, and the course packs' provided code (content.<pack>.provided).
PLATFORM_PACKAGES = ("graders", "content")
RULE_ZYGOTE_ANSWER_TIMEOUT = 10.0
HUGE_PAGE = 2 * 1024 * 1024
# Whom the host's OOM killer takes first when the machine runs out of memory (oom_score_adj, from
# -1000 to 1000; the worker keeps its own, 0 by default): a sandbox, then its zygote, never the
# worker that would lose every grading in progress. The kill of a sandbox is then ours to absorb:
# its test runs again in a fresh one (graders/code.py).
ZYGOTE_OOM_SCORE_ADJ = 500
SANDBOX_OOM_SCORE_ADJ = 1000


def warm_up() -> None:
    """Run the common operations once, so their lazy initialisation is not paid per submission."""
    x = torch.randn(4, 7, requires_grad=True)
    loss = torch.nn.functional.cross_entropy(torch.softmax(x @ x.T, dim=-1), torch.tensor([0, 1, 2, 3]))
    loss.backward()
    # A backward pass from a non-scalar output (what `grad_of` runs) imports sympy on first use:
    # 0.3 s per submission if it were left to each sandbox.
    output = x.exp()
    torch.autograd.grad(output, [x], grad_outputs=torch.ones_like(output))
    numpy.exp(numpy.ones(3)).sum()


def collapse_into_huge_pages() -> int:
    """Back the zygote's private anonymous memory (heap and arenas) with 2 MB pages; bytes collapsed.

    Each sandbox costs two forks of this process and two exits, and their cost is in the page
    tables: 180 MB of small pages are 45,000 entries to copy per fork and to tear down per exit
    (25 ms of CPU for a fork, a nested fork and their exits, measured). Huge pages cut that to
    about 8 ms. A write in a sandbox still copies only the 4 KB page it touches (the kernel splits
    a shared huge page's mapping first), and pages faulted in later are not huge (MADV_COLLAPSE
    collapses what is there without asking for more, whatever the machine's THP setting), so a
    sandbox's memory use is what it was. Where the kernel cannot (before 6.1, THP off), nothing
    changes.
    """
    collapsed = 0
    with open("/proc/self/maps") as maps:
        regions = [line.split() for line in maps]
    for fields in regions:
        path = fields[5] if len(fields) > 5 else ""
        if not fields[1].startswith("rw") or path not in ("", "[heap]"):
            continue
        low, high = (int(bound, 16) for bound in fields[0].split("-"))
        start, end = -(-low // HUGE_PAGE) * HUGE_PAGE, high // HUGE_PAGE * HUGE_PAGE
        if end > start and isolation.libc.madvise(start, end - start, MADV_COLLAPSE) == 0:
            collapsed += end - start
    return collapsed


def forget_platform_modules() -> None:
    """Drop the platform's own modules from sys.modules, once for every sandbox to come.

    Their files are not in a sandbox's filesystem view, so once forgotten they cannot be imported
    by a submission (the objects stay alive where the zygote holds them). Done here rather than
    in each sandbox before it loads a submission: there it cost 4.5-9 ms per verdict, mostly in
    copies of the pages those deletions wrote.
    """
    for name in [name for name in sys.modules if name.partition(".")[0] in PLATFORM_PACKAGES]:
        del sys.modules[name]


def memory_size() -> int:
    with open("/proc/self/status") as handle:
        for line in handle:
            if line.startswith("VmSize:"):
                return int(line.split()[1]) * 1024
    raise isolation.SandboxUnavailable("cannot read VmSize from /proc/self/status")


def isolation_mode() -> str:
    """`root` when we may create namespaces and switch uid directly, else `userns`."""
    if os.geteuid() == 0 and isolation.effective_capabilities() & (1 << CAP_SYS_ADMIN):
        return "root"
    return "userns"


# fork(2) called with the GIL held, as os.fork calls it (PyDLL, unlike CDLL, keeps the GIL).
_fork = ctypes.PyDLL(None, use_errno=True).fork


def fork_bare() -> int:
    """fork(2) without Python's work around it: for the keeper and its sandbox, forked per submission.

    os.fork runs, in the child, the interpreter's after-fork repairs and every hook registered with
    os.register_at_fork (threading's, logging's, random's, torch's): they exist for threads that
    may hold locks at the fork, and a zygote and a keeper have none (main() and
    become_rule_zygote check it). Each write they make copies a page shared with the zygote: 377
    page faults before the child's first line of Python, against 44 for fork(2) alone, twice per
    sandbox. What of them a sandbox needs, it does itself (become_sandbox). Measured per sandbox
    (CPU of the zygote's whole tree, alternated with os.fork, 120 each): made, loaded and ended
    26.1-27.1 -> 23.1-24.3 ms; a whole softmax grading, within the machine's noise.
    """
    pid = _fork()
    if pid < 0:
        error = ctypes.get_errno()
        raise OSError(error, os.strerror(error))
    return pid


class Child(NamedTuple):
    """A child of a zygote: its pid, and for a sandbox it keeps, the pipes to the pool and to the sandbox."""

    pid: int
    status: int = -1
    parent_alive: int = -1

    def close(self, pidfd: int) -> None:
        """Let go of the child's pidfd and of the pipes this process holds for it."""
        for fd in (pidfd, self.status, self.parent_alive):
            if fd >= 0:
                os.close(fd)


def own_pid_namespace() -> int:
    """A descriptor of this process's PID namespace, if it may make it its children's again; else -1."""
    fd = os.open("/proc/self/ns/pid", os.O_RDONLY | os.O_CLOEXEC)
    try:
        isolation.setns(fd, isolation.CLONE_NEWPID, "CLONE_NEWPID, its own")
    except isolation.SandboxUnavailable:
        os.close(fd)
        return -1
    return fd


def set_oom_score_adj(value: int) -> None:
    """Raise this process's oom_score_adj (raising needs no privilege); best effort."""
    try:
        with open("/proc/self/oom_score_adj", "w") as handle:
            handle.write(str(value))
    except OSError:
        pass


def main() -> None:
    control = socket.socket(fileno=int(sys.argv[1]))
    set_oom_score_adj(ZYGOTE_OOM_SCORE_ADJ)
    try:
        warm_up()
        preloaded = models.import_model_modules(sys.argv[2:])
        ready_made.prepare()
        view = isolation.root_view(sys.path)
        syscall_filter = syscalls.build_filter()
        limits_filter = syscalls.build_limits_filter()
        exec_filter = syscalls.build_exec_filter()
        forget_platform_modules()
        baseline = memory_size()
        mode = isolation_mode()
        # As root, the sandboxes' root is built once here; a keeper in a user namespace builds its own.
        template = isolation.build_root_template(view) if mode == "root" else None
        threads = len(os.listdir("/proc/self/task"))
        if threads != 1:
            raise isolation.SandboxUnavailable(
                f"the zygote has {threads} threads after warm-up; forking is unsafe"
            )
    except Exception as error:  # reported to the pool, which fails closed
        control.send(json.dumps({"error": f"{type(error).__name__}: {error}"}).encode())
        return
    control.send(json.dumps({"ready": True, "mode": mode, "preloaded": preloaded}).encode())
    # Everything imported so far lives as long as the zygote: freeze it out of the collector.
    # A full collection in a fresh fork would otherwise walk (and so copy, page by page) the
    # whole torch heap: half a second of CPU and 180 MB per sandbox, measured under load.
    gc.collect()
    gc.freeze()
    collapse_into_huge_pages()
    Zygote(control, view, mode, baseline, (syscall_filter, limits_filter, exec_filter), template=template).serve()


class Zygote:
    """Answers spawn requests on `control`: forks a keeper per sandbox, or has a rule's zygote fork it.

    A sandbox for a "build it yourself" rule needs torch's pieces taken away (ready_made.py):
    about 10-20 ms of CPU in a fresh fork, most of it copying the pages it writes. So the zygote
    does that once per rule, in a child of its own (a rule's zygote: this same loop with
    `taken_away` set), and passes that rule's spawn requests on to it; its sandboxes then start
    with the pieces already gone, in memory they share with it. The pool sees no difference.
    """

    def __init__(
        self,
        control: socket.socket,
        view: isolation.RootView,
        mode: str,
        baseline: int,
        filters: tuple[bytes, bytes, bytes],
        taken_away: str = "",
        template: isolation.RootTemplate | None = None,
    ) -> None:
        self.control = control
        self.view = view
        self.template = template
        self.mode = mode
        self.baseline = baseline
        self.filters = filters
        # The rule (as its key) whose pieces this process took away; "" for the zygote itself.
        self.taken_away = taken_away
        # Rule's key -> control socket of that rule's zygote, the most recently used last.
        self.rule_zygotes: collections.OrderedDict[str, socket.socket] = collections.OrderedDict()
        # This process's children (sandboxes, keepers, rules' zygotes), by a pidfd of each: reaped
        # here when they end, a sandbox's end reported to the pool on its status pipe.
        self.children: dict[int, Child] = {}
        # As root, a sandbox is this process's own child, forked into a new PID namespace: the
        # namespace for children is set before the fork and set back to this one after it. Root
        # in a user namespace of its own may not set it back (the PID namespace belongs to the
        # host's user namespace): its sandboxes have keepers, as a user namespace's do.
        self.pid_namespace = own_pid_namespace() if mode == "root" else -1

    def serve(self) -> None:
        while True:
            ready, _, _ = select.select([self.control, *self.children], [], [])
            for pidfd in ready:
                if pidfd in self.children:
                    self.reap(pidfd)
            if self.control not in ready:
                continue
            message, fds, _, _ = socket.recv_fds(self.control, 65536, 3)
            if not message:
                return
            request = json.loads(message)
            if len(fds) != 3:
                for fd in fds:
                    os.close(fd)
                self.control.send(json.dumps({"error": "a spawn request needs three descriptors"}).encode())
                continue
            rule = rule_key(request.get("unavailable"))
            if rule != self.taken_away and not self.taken_away:
                self.pass_on(rule, request, message, fds)
            elif rule != self.taken_away:  # a rule's zygote serves its own rule only
                for fd in fds:
                    os.close(fd)
                self.control.send(json.dumps({"error": "a spawn request for another rule"}).encode())
            else:
                self.spawn(request, fds)

    def spawn(self, request: dict, fds: list[int]) -> None:
        """Fork a keeper, which forks the sandbox (in a user namespace); as root, the sandbox itself."""
        if self.pid_namespace >= 0:
            self.spawn_direct(request, fds)
            return
        # Objects the zygote made since the last fork are frozen too (see main).
        gc.freeze()
        pid = fork_bare()
        if pid == 0:
            # The keeper never leaves keep_sandbox alive: an interpreter shutdown would run
            # torch's finalizers, tens of milliseconds of CPU for nothing.
            try:
                self.close_sockets()
                keep_sandbox(
                    request, fds, self.view, self.mode, self.baseline, self.filters, bool(self.taken_away),
                    self.template,
                )
            finally:
                os._exit(1)
        for fd in fds:
            os.close(fd)
        pidfd = os.pidfd_open(pid)
        self.children[pidfd] = Child(pid)
        socket.send_fds(self.control, [json.dumps({"pid": pid}).encode()], [pidfd])

    def spawn_direct(self, request: dict, fds: list[int]) -> None:
        """As root: fork the sandbox itself, as PID 1 of a new PID namespace; this process is its keeper.

        One fork and one exit of this 280 MB process per sandbox instead of two (a keeper forked
        here, which forked the sandbox): a fifth to two fifths less CPU per sandbox made and ended
        (bench/verdict_cpu.py; docs/benchmarks.md). What the keeper did before its fork, the
        sandbox does for itself before it drops its privileges; what it did after, this process
        does: move the sandbox into its cgroups before it goes on, reap it, report how it ended. The pool ends such a
        sandbox with SIGKILL through its pidfd (a PID namespace's init takes no other signal from
        outside), and its parent-death signal, which student code may not clear
        (syscalls.build_filter), ends it with this process.
        """
        channel, output, status = fds
        try:
            # Opened while the host's /sys is in view (a sandbox holding one could move processes).
            cgroups = [os.open(path, os.O_WRONLY | os.O_CLOEXEC) for path in request.get("cgroup_procs", [])]
        except OSError as error:
            _report_setup_failure(channel, error)
            for fd in fds:
                os.close(fd)
            self.control.send(json.dumps({"error": f"opening the sandbox's cgroup failed: {error}"}).encode())
            return
        parent_alive_read, parent_alive_write = os.pipe()
        # Objects the zygote made since the last fork are frozen too (see main).
        gc.freeze()
        isolation.unshare(isolation.CLONE_NEWPID, "CLONE_NEWPID")
        try:
            pid = fork_bare()
        except BaseException:
            self.own_pid_namespace_for_children()
            raise
        if pid == 0:
            try:
                self.close_sockets()
                os.close(parent_alive_write)
                os.close(status)
                for fd in cgroups:
                    os.close(fd)
                set_oom_score_adj(SANDBOX_OOM_SCORE_ADJ)
                isolation.enter_namespaces(False, pid=False)
                isolation.cap_ipc_namespace()
                isolation.build_root(self.view, (request["uid"], request["gid"]), self.template)
            except BaseException as error:  # fail closed, with the reason
                _report_setup_failure(channel, error)
                os._exit(1)
            become_sandbox(request, channel, output, parent_alive_read, self.mode, self.baseline, self.filters,
                           bool(self.taken_away))
        self.own_pid_namespace_for_children()
        pidfd = os.pidfd_open(pid)
        _move_into_cgroups(pid, cgroups, parent_alive_write)
        for fd in (parent_alive_read, channel, output):
            os.close(fd)
        self.children[pidfd] = Child(pid, status, parent_alive_write)
        socket.send_fds(self.control, [json.dumps({"pid": pid, "direct": True}).encode()], [pidfd])

    def own_pid_namespace_for_children(self) -> None:
        """Children forked from now on are in this process's PID namespace again (not a sandbox's)."""
        isolation.setns(self.pid_namespace, isolation.CLONE_NEWPID, "CLONE_NEWPID, back to the zygote's")

    def reap(self, pidfd: int) -> None:
        """A child ended: collect it; for a sandbox of this process, report how it ended."""
        child = self.children.pop(pidfd)
        _, wait_status, usage = os.wait4(child.pid, 0)
        if child.status >= 0:
            try:
                os.write(child.status, wire.EXIT_STATUS.pack(wait_status, usage.ru_utime + usage.ru_stime))
            except OSError:  # the pool let go of it already
                pass
        child.close(pidfd)

    def pass_on(self, rule: str, request: dict, message: bytes, fds: list[int]) -> None:
        """Have the rule's zygote (started if need be) answer this request, and relay its answer."""
        reply, reply_fds = b"", []
        try:
            rule_zygote = self.rule_zygotes.get(rule)
            if rule_zygote is not None:
                try:
                    socket.send_fds(rule_zygote, [message], fds)
                except OSError:  # it ended since the last request: a new one takes its place
                    self.drop_rule_zygote(rule)
                    rule_zygote = None
            if rule_zygote is None:
                rule_zygote = self.start_rule_zygote(rule, request["unavailable"], fds)
                socket.send_fds(rule_zygote, [message], fds)
            self.rule_zygotes.move_to_end(rule)
            reply, reply_fds, _, _ = socket.recv_fds(rule_zygote, 4096, 1)
        except (OSError, isolation.SandboxUnavailable) as error:
            reply = json.dumps({"error": f"the zygote of a rule failed: {error}"}).encode()
        finally:
            for fd in fds:
                os.close(fd)
        if not reply.startswith(b'{"pid"'):
            # Hung or broken: closing its socket ends it, and the next request starts a new one.
            self.drop_rule_zygote(rule)
            reply = reply or json.dumps({"error": "the zygote of a rule stopped answering"}).encode()
        socket.send_fds(self.control, [reply], reply_fds)
        for fd in reply_fds:
            os.close(fd)

    def drop_rule_zygote(self, rule: str) -> None:
        dropped = self.rule_zygotes.pop(rule, None)
        if dropped is not None:
            dropped.close()

    def start_rule_zygote(self, rule: str, unavailable: dict, pending: list[int]) -> socket.socket:
        """Fork the rule's zygote. `pending`: the descriptors of the request being answered, which it
        must not keep (a sandbox's pool sees it end by the end of its channel and pipes)."""
        while len(self.rule_zygotes) >= RULE_ZYGOTES_KEPT:
            self.rule_zygotes.popitem(last=False)[1].close()
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        gc.freeze()
        pid = os.fork()
        if pid == 0:
            try:
                ours.close()
                self.close_sockets()
                for fd in pending:
                    os.close(fd)
                become_rule_zygote(theirs, self, rule, unavailable)
            finally:
                os._exit(1)
        theirs.close()
        self.children[os.pidfd_open(pid)] = Child(pid)
        ours.settimeout(RULE_ZYGOTE_ANSWER_TIMEOUT)
        try:
            first = json.loads(ours.recv(65536) or b"{}")
        except (OSError, ValueError):
            first = {}
        if first.get("ready") is not True:
            ours.close()
            raise isolation.SandboxUnavailable(first.get("error") or "it did not start")
        self.rule_zygotes[rule] = ours
        return ours

    def close_sockets(self) -> None:
        """In a child: let go of every control socket, so each zygote sees its master hang up."""
        self.control.close()
        for rule_zygote in self.rule_zygotes.values():
            rule_zygote.close()
        self.rule_zygotes.clear()
        for pidfd, child in self.children.items():
            child.close(pidfd)
        self.children.clear()
        if self.pid_namespace >= 0:
            os.close(self.pid_namespace)
            self.pid_namespace = -1


def rule_key(unavailable: object) -> str:
    """What identifies a rule's zygote: the rule as the pool sends it, or "" for none."""
    return json.dumps(unavailable, sort_keys=True) if unavailable else ""


def become_rule_zygote(control: socket.socket, zygote: Zygote, rule: str, unavailable: dict) -> None:
    """A rule's zygote: take the rule's pieces away once, then fork that rule's sandboxes; never returns."""
    try:
        # Ends with the zygote (which the pool may kill when it hangs); its keepers then end their sandboxes.
        isolation.prctl(isolation.PR_SET_PDEATHSIG, signal.SIGKILL, "PR_SET_PDEATHSIG")
        ready_made.make_unavailable(unavailable["operators"], unavailable["words"])
        threads = len(os.listdir("/proc/self/task"))
        if threads != 1:
            raise isolation.SandboxUnavailable(f"the zygote of a rule has {threads} threads; forking is unsafe")
    except Exception as error:
        control.send(json.dumps({"error": f"{type(error).__name__}: {error}"}).encode())
        return
    control.send(json.dumps({"ready": True}).encode())
    gc.collect()
    gc.freeze()
    # Taking the pieces away wrote a few bytes in nearly every 2 MB of the memory shared with the
    # zygote, and the kernel split each of those huge pages into 512 small ones for this process:
    # without collapsing them again, each of the rule's sandboxes copied and tore down 45,000
    # page-table entries twice (4-5 ms more CPU than a plain sandbox, measured). The price is
    # memory: the collapsed pages are this zygote's own, about 140 MB no longer shared with the
    # zygote, once per rule kept (RULE_ZYGOTES_KEPT).
    collapse_into_huge_pages()
    Zygote(control, zygote.view, zygote.mode, zygote.baseline, zygote.filters, taken_away=rule,
           template=zygote.template).serve()


def keep_sandbox(
    request: dict,
    fds: list[int],
    view: isolation.RootView,
    mode: str,
    baseline: int,
    filters: tuple[bytes, bytes, bytes],
    taken_away: bool = False,
    template: isolation.RootTemplate | None = None,
) -> None:
    """The keeper: enter the namespaces, fork the sandbox as their PID 1, report how it ended.

    `taken_away`: this process already took away the pieces of the request's rule (a rule's zygote).
    `template`: the root the zygote built (isolation.build_root_template), or None to build one here.
    """
    channel, output, status = fds
    try:
        # Before the namespaces, while /proc is the host's; the sandbox inherits it.
        set_oom_score_adj(SANDBOX_OOM_SCORE_ADJ)
        signal.signal(signal.SIGCHLD, signal.SIG_DFL)
        # SIGTERM, not SIGKILL: when the zygote dies, the handler below still kills the sandbox
        # (whose own parent-death signal student code can clear).
        isolation.prctl(isolation.PR_SET_PDEATHSIG, signal.SIGTERM, "PR_SET_PDEATHSIG")
        in_user_namespace = mode == "userns"
        # Opened while the host's /sys is in view; written once the sandbox has a pid.
        cgroups = [os.open(path, os.O_WRONLY | os.O_CLOEXEC) for path in request.get("cgroup_procs", [])]
        isolation.enter_namespaces(in_user_namespace)
        isolation.cap_ipc_namespace()
        owner = (0, 0) if in_user_namespace else (request["uid"], request["gid"])
        isolation.build_root(view, owner, template)
        parent_alive_read, parent_alive_write = os.pipe()
        pid = fork_bare()
    except BaseException as error:  # fail closed, with the reason
        _report_setup_failure(channel, error)
        os._exit(1)
    if pid == 0:
        os.close(parent_alive_write)
        os.close(status)
        for fd in cgroups:  # opened by root: a sandbox holding one could move processes around
            os.close(fd)
        become_sandbox(request, channel, output, parent_alive_read, mode, baseline, filters, taken_away)
    _move_into_cgroups(pid, cgroups, parent_alive_write)
    os.close(parent_alive_read)
    os.close(channel)
    os.close(output)
    # The pool ends a sandbox with SIGTERM to the keeper, which kills the sandbox for certain:
    # student code can clear its own parent-death signal, so that is only the fallback.
    # The SIGTERM often comes after the sandbox was reaped (the pool closes every sandbox when
    # done with it): nothing to kill then, and through a pidfd no other process that got its pid.
    sandbox = os.pidfd_open(pid)
    signal.signal(signal.SIGTERM, lambda *_: _kill_quietly(sandbox))
    _, wait_status, usage = os.wait4(pid, 0)
    os.write(status, wire.EXIT_STATUS.pack(wait_status, usage.ru_utime + usage.ru_stime))
    os._exit(0)


def _move_into_cgroups(pid: int, cgroups: list[int], go: int) -> None:
    """Put the sandbox in its cgroups, then let it go on ("+"), or tell it why not ("-" and why).

    Closes the cgroups' descriptors either way (a zygote, unlike a keeper, lives on)."""
    try:
        for fd in cgroups:
            os.write(fd, str(pid).encode())
    except OSError as error:
        os.write(go, f"-moving the sandbox into its cgroup failed: {error}".encode()[:512])
        return
    finally:
        for fd in cgroups:
            os.close(fd)
    os.write(go, b"+")


def _kill_quietly(pidfd: int) -> None:
    try:
        signal.pidfd_send_signal(pidfd, signal.SIGKILL)
    except ProcessLookupError:
        pass


def become_sandbox(
    request: dict,
    channel: int,
    output: int,
    parent_alive: int,
    mode: str,
    baseline: int,
    filters: tuple[bytes, bytes, bytes],
    taken_away: bool = False,
) -> None:
    """Drop everything the student must not have, then serve requests; never returns.

    `filters`: the seccomp filter installed here, the one the runner stacks once it has set the
    exercise's rlimits (syscalls.build_limits_filter), and the one a rule's sandbox adds.
    """
    syscall_filter, limits_filter, exec_filter = filters
    try:
        # What os.fork's hooks would have done here that a submission can see (fork_bare): its
        # own random numbers, not the zygote's sequence, and torch's threads set up for this process.
        random.seed()
        torch.get_num_threads()
        # Wait until the keeper has put this process in its cgroups (if any).
        go = os.read(parent_alive, 512)
        if go != b"+":
            reason = go[1:].decode("utf-8", "replace") or "the keeper ended before the sandbox could start"
            raise isolation.SandboxUnavailable(reason)
        os.setsid()
        moved = [fcntl.fcntl(fd, fcntl.F_DUPFD_CLOEXEC, HIGH_FD) for fd in (channel, output, parent_alive)]
        null = os.open("/dev/null", os.O_RDWR)
        os.dup2(null, 0)
        os.dup2(moved[1], 1)
        os.dup2(moved[1], 2)
        os.dup2(moved[0], runner.CHANNEL_FD)
        os.dup2(moved[2], 4)
        os.closerange(5, 1 << 20)
        ceiling = request["limits"]
        isolation.set_limits(
            cpu_seconds=ceiling["cpu_seconds"],
            memory_bytes=baseline + ceiling["memory_mb"] * 1024 * 1024,
            processes=ceiling["processes"],
            file_size_bytes=ceiling["file_size_mb"] * 1024 * 1024,
            open_files=ceiling["open_files"],
        )
        isolation.drop_privileges(request["uid"], request["gid"], in_user_namespace=mode == "userns")
        # After the privileges are dropped (a change of uid clears the parent-death signal),
        # before the filter, which denies setting it.
        isolation.die_with_parent(4)
        # After no_new_privs (set by drop_privileges), before anything the student controls.
        syscalls.install_filter(syscall_filter)
        os.environ.clear()
        os.environ.update(isolation.scrubbed_environment())
        os.chdir(isolation.WORK_DIR)
        # A write past the file size limit then fails with EFBIG instead of killing the process.
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        sys.stdin = open(0, closefd=False)  # fd 0 is /dev/null, open for good
        sys.stdout = _unbuffered_text(1)
        sys.stderr = _unbuffered_text(2)
        unavailable = request.get("unavailable")
        if unavailable:
            # A sandbox for a "build it yourself" test: torch's ready-made pieces are taken away
            # (by its rule's zygote, or else here), on the pool's refill path, in memory its
            # threads and children share; a program exec'd afresh would have them, so it may
            # exec none.
            if not taken_away:
                ready_made.make_unavailable(unavailable["operators"], unavailable["words"])
            syscalls.install_filter(exec_filter)
    except BaseException as error:  # fail closed, with the reason
        _report_setup_failure(runner.CHANNEL_FD if "moved" in locals() else channel, error)
        os._exit(1)
    runner.start(runner.CHANNEL_FD, baseline, limits_filter)


def _unbuffered_text(fd: int) -> io.TextIOWrapper:
    # Unbuffered, so what a student prints reaches the output pipe before the reply does.
    raw = io.FileIO(fd, "w", closefd=False)
    return io.TextIOWrapper(raw, encoding="utf-8", errors="backslashreplace", write_through=True)


def _report_setup_failure(channel: int, error: BaseException) -> None:
    try:
        os.write(channel, runner.setup_failure_frame(error))
    except OSError:
        pass


if __name__ == "__main__":
    main()
