"""CPU time of the processes of a benchmark run, from /proc: where the machine's cores went. A
benchmark that saturates the cores is bounded by how much CPU each unit of work costs in each
process, which this states per unit (e.g. microseconds per row)."""
import os

HZ = os.sysconf("SC_CLK_TCK")


def ticks(pid):
    """User + system CPU ticks of a process (0 when it is gone)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return int(fields[11]) + int(fields[12])
    except (OSError, IndexError, ValueError):
        return 0


def children(pid):
    """The pids whose parent is `pid` (Postgres's backends and workers under its postmaster)."""
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as f:
                    if int(f.read().rsplit(")", 1)[1].split()[1]) == int(pid):
                        found.append(int(entry))
            except (OSError, IndexError, ValueError):
                continue
    return found


def snapshot(pids, postgres_pid=None):
    """{name: ticks} for each named pid, and for Postgres its server and backends together. A
    backend that exits during the run takes its ticks along: the pools keep theirs open."""
    result = {name: ticks(pid) for name, pid in pids.items()}
    if postgres_pid:
        result["postgres"] = ticks(postgres_pid) + sum(ticks(child) for child in children(postgres_pid))
    return result


def report(before, after, units, unit, seconds):
    """Prints each process's CPU seconds, its share of the cores over `seconds`, and its cost per unit."""
    used = {name: (after.get(name, 0) - before.get(name, 0)) / HZ for name in before}
    total = sum(used.values())
    cores = os.cpu_count() or 1
    print(f"CPU over {seconds:.1f} s on {cores} cores ({100 * total / (seconds * cores):.0f} % of them busy):")
    for name, value in sorted(used.items(), key=lambda item: -item[1]):
        print(f"  {name:14s} {value:7.1f} s = {value / seconds:4.2f} cores, {1e6 * value / max(units, 1):6.0f} µs per {unit}")
    print(f"  {'all':14s} {total:7.1f} s = {total / seconds:4.2f} cores, {1e6 * total / max(units, 1):6.0f} µs per {unit}")
