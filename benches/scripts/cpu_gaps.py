#!/usr/bin/env python3
"""cpu_gaps.py [SECONDS] [THRESHOLD_MS]: how long this machine takes a CPU
away from a thread that never sleeps.

One busy loop per CPU, each pinned to its CPU, reads the monotonic clock
back to back for SECONDS (default 10) and records every gap between two
reads longer than THRESHOLD_MS (default 0.5). A gap is time the loop did
not run: another task, an interrupt, or (on a VM) the host not running the
vCPU. Run it on an otherwise idle machine: no server can answer faster
than the worst gap, so it is the floor under any "max latency" figure
(ARCHITECTURE.md, "Latency during a save"). Prints, per CPU, the number of
gaps, their total and the worst five, and the steal time /proc/stat
counted meanwhile (a VM that does not report steal shows 0 here however
long its gaps).
"""
import os
import sys
import time


def loop(cpu, secs, threshold, wfd):
    os.sched_setaffinity(0, {cpu})
    start = time.perf_counter()
    end = start + secs
    last = start
    gaps = []
    while last < end:
        t = time.perf_counter()
        if t - last > threshold:
            gaps.append((t - last, t - start))
        last = t
    worst = sorted(gaps, reverse=True)[:5]
    line = "cpu%d: %d gaps > %.1f ms, %.1f ms in all; worst: %s\n" % (
        cpu,
        len(gaps),
        threshold * 1000,
        sum(g for g, _ in gaps) * 1000,
        ", ".join("%.2f ms at %.2f s" % (g * 1000, at) for g, at in worst),
    )
    os.write(wfd, line.encode())


def steal():
    with open("/proc/stat") as f:
        return int(f.readline().split()[8])


def main():
    secs = float(sys.argv[1]) if len(sys.argv) > 1 else 10.0
    threshold = (float(sys.argv[2]) if len(sys.argv) > 2 else 0.5) / 1000
    cpus = sorted(os.sched_getaffinity(0))
    r, w = os.pipe()
    s0 = steal()
    pids = []
    for cpu in cpus:
        pid = os.fork()
        if pid == 0:
            os.close(r)
            loop(cpu, secs, threshold, w)
            os._exit(0)
        pids.append(pid)
    os.close(w)
    for pid in pids:
        os.waitpid(pid, 0)
    with os.fdopen(r) as f:
        sys.stdout.write("".join(sorted(f.readlines())))
    ticks = os.sysconf("SC_CLK_TCK")
    print("steal counted by /proc/stat: %.0f ms" % ((steal() - s0) * 1000 / ticks))


if __name__ == "__main__":
    main()
