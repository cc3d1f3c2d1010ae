#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Agent overhead benchmark: each workload bare and with parallax-agent
running on its default policy, interleaved (bare, agent, bare, agent ...)
so that drift on a shared machine hits both alike; the median of each.

Workloads: an open/close loop, a fork+exec loop, and a mixed one (compile
a few hundred small C files, two at a time).  Then the agent alone while
/bin/true runs at 100 execs/s, for its CPU share at that rate.

Reported: ratio of throughput with the agent to bare (1.0 = no cost), the
agent's CPU share of one core and peak RSS, and the events it handled per
second.  The agent prints its events to a file (--stdout); sending them
to a collector costs about the same as formatting them.

usage: bench_agent.py --agent PATH --loops PATH [--reps N] [--quick]
                     [--only openclose|forkexec|mixed]
"""

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

TARGETS = {"openclose": 0.97, "forkexec": 0.95}
RSS_MAX = 50 << 20
CPU_MAX_AT_100 = 0.02


def clk_tck():
    return os.sysconf("SC_CLK_TCK")


def proc_cpu_s(pid):
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / clk_tck()


def proc_hwm(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    return 0


class Agent:
    def __init__(self, path, out):
        self.out = open(out, "w")
        self.err = tempfile.TemporaryFile(mode="w+")
        self.proc = subprocess.Popen([path, "--stdout"], stdout=self.out,
                                     stderr=self.err)
        deadline = time.time() + 30
        while time.time() < deadline:
            self.err.seek(0)
            if 'msg="running"' in self.err.read():
                break
            if self.proc.poll() is not None:
                break
            time.sleep(0.05)
        else:
            self.stop()
            sys.exit("agent did not start")
        if self.proc.poll() is not None:
            self.err.seek(0)
            sys.exit("agent exited: " + self.err.read()[-500:])
        time.sleep(0.5)     # start-up pass settles

    def cpu(self):
        return proc_cpu_s(self.proc.pid)

    def hwm(self):
        return proc_hwm(self.proc.pid)

    def stop(self):
        self.proc.terminate()
        self.proc.wait(30)
        self.out.close()


def run_loops(loops, *args):
    out = subprocess.run([loops, *args], check=True, capture_output=True,
                         text=True).stdout
    return int(out) / 1e9


def make_sources(d, n):
    for i in range(n):
        with open(os.path.join(d, "f%d.c" % i), "w") as f:
            f.write("#include <stdio.h>\n#include <string.h>\n"
                    "int f%d(const char *s) { char b[64];\n"
                    "  snprintf(b, sizeof b, \"%%s-%d\", s);\n"
                    "  return (int)strlen(b) * %d; }\n" % (i, i, i))


def compile_all(d, n):
    t0 = time.monotonic()
    procs = []
    for i in range(n):
        procs.append(subprocess.Popen(
            ["cc", "-O1", "-c", os.path.join(d, "f%d.c" % i), "-o",
             os.path.join(d, "f%d.o" % i)]))
        if len(procs) == 2:
            for p in procs:
                p.wait()
            procs = []
    for p in procs:
        p.wait()
    return time.monotonic() - t0


def count_events(path):
    n = 0
    with open(path, errors="replace") as f:
        for _ in f:
            n += 1
    return n


def measure(agent_path, work, reps, tmp):
    """Median seconds bare and with the agent, and the agent's figures."""
    bare, on, cpu_share, events, ev_rate, hwm = [], [], [], 0, [], 0
    for r in range(reps):
        bare.append(work())
        out = os.path.join(tmp, "events.jsonl")
        a = Agent(agent_path, out)
        c0, e0 = a.cpu(), count_events(out)
        t0 = time.monotonic()
        on.append(work())
        wall = time.monotonic() - t0
        time.sleep(0.3)     # let the agent drain what the work produced
        c1 = a.cpu()
        hwm = max(hwm, a.hwm())
        a.stop()
        n = count_events(out) - e0
        events += n
        cpu_share.append((c1 - c0) / wall)
        ev_rate.append(n / wall)
    return {"bare_s": statistics.median(bare),
            "agent_s": statistics.median(on),
            "agent_cpu_share": statistics.median(cpu_share),
            "events_per_s": statistics.median(ev_rate),
            "peak_rss": hwm}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--agent", required=True)
    ap.add_argument("--loops", required=True)
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--only", choices=["openclose", "forkexec", "mixed"],
                    help="run one workload (no verdict)")
    a = ap.parse_args()
    scale = 4 if a.quick else 1
    tmp = tempfile.mkdtemp(prefix="px-bench-agent-")
    n_src = 300 // scale
    make_sources(tmp, n_src)
    works = {
        "openclose": lambda: run_loops(a.loops, "openclose",
                                       str(2000000 // scale)),
        "forkexec": lambda: run_loops(a.loops, "forkexec",
                                      str(2000 // scale)),
        "mixed": lambda: compile_all(tmp, n_src),
    }
    results = {}
    try:
        for name, work in works.items():
            if a.only and name != a.only:
                continue
            r = measure(a.agent, work, a.reps, tmp)
            r["ratio"] = r["bare_s"] / r["agent_s"]
            results[name] = r
            print("%-10s bare %.3fs agent %.3fs ratio %.3f  agent cpu %.1f%%"
                  "  events/s %.0f  peak rss %.1f MB" %
                  (name, r["bare_s"], r["agent_s"], r["ratio"],
                   100 * r["agent_cpu_share"], r["events_per_s"],
                   r["peak_rss"] / 2**20), flush=True)

        if a.only:
            return
        # The agent's own cost at a steady 100 execs/s.
        out = os.path.join(tmp, "events.jsonl")
        ag = Agent(a.agent, out)
        secs = 10 // (2 if a.quick else 1)
        c0, e0 = ag.cpu(), count_events(out)
        wall = run_loops(a.loops, "rate", "100", str(secs))
        time.sleep(0.3)
        c1 = ag.cpu()
        rss = ag.hwm()
        ag.stop()
        n = count_events(out) - e0
        results["rate100"] = {"agent_cpu_share": (c1 - c0) / wall,
                              "events_per_s": n / wall, "peak_rss": rss}
        print("rate100    agent cpu %.2f%% of one core, events/s %.0f, "
              "peak rss %.1f MB" % (100 * (c1 - c0) / wall, n / wall,
                                   rss / 2**20), flush=True)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)

    verdict = []
    for name, target in TARGETS.items():
        verdict.append(("%s ratio >= %.2f" % (name, target),
                        results[name]["ratio"] >= target))
    peak = max(r["peak_rss"] for r in results.values())
    verdict.append(("peak RSS <= 50 MB", peak <= RSS_MAX))
    verdict.append(("CPU <= 2% at 100 execs/s",
                    results["rate100"]["agent_cpu_share"] <= CPU_MAX_AT_100))
    for what, ok in verdict:
        print("%-28s %s" % (what, "met" if ok else "MISSED"))
    print("JSON " + json.dumps(results))


if __name__ == "__main__":
    main()
