"""What the benchmarks share: percentiles computed one way, and free ports."""

import socket


def percentile(values: list[float], fraction: float) -> float | None:
    """Linear interpolation between closest ranks (numpy's default); None for no values."""
    if not values:
        return None
    ordered = sorted(values)
    position = (len(ordered) - 1) * fraction
    low = int(position)
    high = min(low + 1, len(ordered) - 1)
    return round(ordered[low] + (ordered[high] - ordered[low]) * (position - low), 1)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def proc_table() -> dict[int, tuple[int, str, float]]:
    """Every process: pid -> (parent pid, command name, CPU seconds of it and its reaped children)."""
    import os
    from pathlib import Path

    ticks = os.sysconf("SC_CLK_TCK")
    table = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue
        name = stat[stat.index("(") + 1 : stat.rindex(")")]
        fields = stat[stat.rindex(")") + 2:].split()
        # utime stime cutime cstime: its own time and that of the children it has waited for.
        table[int(entry)] = (int(fields[1]), name, sum(int(value) for value in fields[11:15]) / ticks)
    return table


def subtree(table: dict, root: int) -> set[int]:
    tree, frontier = {root}, [root]
    while frontier:
        parent = frontier.pop()
        children = [pid for pid, row in table.items() if row[0] == parent]
        tree.update(children)
        frontier.extend(children)
    return tree


def tree_cpu_seconds(root: int, table: dict | None = None) -> float:
    """CPU seconds used by a process and all its descendants, living or reaped.

    Each process counts its own time and that of the children it has waited for (`cutime`,
    `cstime`), so single-use processes that ended meanwhile (sandboxes) are still counted, once.
    """
    table = table if table is not None else proc_table()
    return sum(table[pid][2] for pid in subtree(table, root) if pid in table)
