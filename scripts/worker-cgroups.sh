#!/bin/sh
# The grading worker's entrypoint in docker-compose.yml: memory and pids cgroups for its sandboxes.
#
# In its own cgroup namespace (Docker's default on cgroup v2 hosts), a container's cgroup is the
# root of /sys/fs/cgroup, mounted read-only. cgroup v2 turns controllers on for the children of
# a cgroup only if it holds no process (the real root aside). So, as root with CAP_SYS_ADMIN
# (docker-compose.yml gives the worker both): remount it writable, move every process into a
# leaf, `worker`, and turn memory and pids on at the container's root. The pool
# (graders/sandbox/cgroups.py) then makes its sandboxes' cgroups beside `worker`, under every
# limit Docker sets on the container. Anything else (cgroup v1, the host's cgroup namespace) is
# left alone: the pool then says at start that it runs without cgroups, one process per sandbox.
#
#     sh scripts/worker-cgroups.sh celery -A attentive worker ...
#
# CGROUP_ROOT and CGROUP_SELF are for tests only (a stand-in hierarchy).
set -u
root="${CGROUP_ROOT:-/sys/fs/cgroup}"
self="${CGROUP_SELF:-/proc/self/cgroup}"

say() { echo "worker-cgroups: $*" >&2; }

if [ "$(cat "$self")" != "0::/" ] || [ ! -f "$root/cgroup.controllers" ]; then
  say "not at the root of a cgroup v2 namespace; sandboxes will run without cgroups (see docs/security.md)"
elif ! grep -qw memory "$root/cgroup.controllers" || ! grep -qw pids "$root/cgroup.controllers"; then
  say "the memory and pids controllers are not delegated to this container; sandboxes will run without cgroups"
else
  if awk -v root="$root" '$2 == root && $4 ~ /(^|,)ro(,|$)/ { found = 1 } END { exit !found }' /proc/mounts; then
    mount -o remount,rw "$root" || say "could not remount $root writable (is CAP_SYS_ADMIN granted?)"
  fi
  mkdir -p "$root/worker" 2>/dev/null
  # Every process of the container's root into the leaf (a process may exit meanwhile).
  for pid in $(cat "$root/cgroup.procs"); do
    echo "$pid" > "$root/worker/cgroup.procs" 2>/dev/null || true
  done
  if echo "+memory +pids" > "$root/cgroup.subtree_control" 2>/dev/null; then
    say "memory and pids cgroups are ready for the sandboxes"
  else
    say "could not turn on memory and pids below $root; sandboxes will run without cgroups"
  fi
fi
exec "$@"
