#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""End-to-end tests of parallax-agent with its real eBPF programs.

Each case starts the agent in --stdout mode (events as JSON lines), runs a
known workload, and checks the events against what /proc and sha256sum say.
The agent must load its programs: when it cannot (no root, no BTF), the case
fails with the agent's own message; it is never skipped.

usage: test_agent.py --agent PATH --fixtures DIR CASE
CASE: exec | artifacts | artifacts-proc | snapshot | resync | jvm |
      unprivileged | mappings | classes | classes-late | net |
      net-old-listener | caps | config-error | filter | filter-subtree |
      watch | budget | filter-allow-pids | artifact-suffixes | net-netns |
      hash-large
"""

import argparse
import hashlib
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import uuid

AGENT_LIBJVM_GLOB = "/usr/lib/jvm/*/lib/server/libjvm.so"
JAR_REL = "log4j-samples/true-hits/log4j-core-2.14.1.jar"
ZIP_REL = "log4j-samples/true-hits/log4j-core-2.10.0.zip"


class Agent:
    """The agent under test, its JSON events collected by a reader thread."""

    def __init__(self, path, *extra):
        self.events = []
        self.arrived = []   # time.time() each event was read, by index
        self.stderr = []
        self.lock = threading.Lock()
        self.proc = subprocess.Popen(
            [path, "--stdout", *extra], stdout=subprocess.PIPE,
            stderr=subprocess.PIPE, text=True)
        self.ready = threading.Event()
        threading.Thread(target=self._read_out, daemon=True).start()
        threading.Thread(target=self._read_err, daemon=True).start()
        deadline = time.time() + 20
        while not self.ready.wait(0.1):
            if self.proc.poll() is not None or time.time() > deadline:
                time.sleep(0.2)
                self.fail("agent did not start (exit %s)" % self.proc.poll())

    def _read_out(self):
        for line in self.proc.stdout:
            ev = json.loads(line)
            with self.lock:
                self.events.append(ev)
                self.arrived.append(time.time())

    def arrival(self, ev):
        """When the reader saw <ev> (one of self.events)."""
        with self.lock:
            for e, t in zip(self.events, self.arrived):
                if e is ev:
                    return t
        raise KeyError("not an event of this agent")

    def _read_err(self):
        for line in self.proc.stderr:
            self.stderr.append(line.rstrip("\n"))
            if 'msg="running"' in line:
                self.ready.set()

    def fail(self, why):
        print("FAIL: " + why, file=sys.stderr)
        print("agent stderr:\n  " + "\n  ".join(self.stderr[-30:]),
              file=sys.stderr)
        self.kill()
        sys.exit(1)

    def matching(self, pred):
        with self.lock:
            return [e for e in self.events if pred(e)]

    def wait_for(self, what, pred, count=1, timeout=15):
        deadline = time.time() + timeout
        while time.time() < deadline:
            found = self.matching(pred)
            if len(found) >= count:
                return found
            if self.proc.poll() is not None:
                self.fail("agent exited (%s) while waiting for %s" %
                          (self.proc.returncode, what))
            time.sleep(0.05)
        self.fail("timed out after %ss waiting for %s (have %d of %d)" %
                  (timeout, what, len(self.matching(pred)), count))

    def stop(self):
        """SIGTERM must end the agent cleanly (exit 0) within 10 s."""
        self.proc.send_signal(signal.SIGTERM)
        try:
            rc = self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.fail("agent did not stop within 10 s of SIGTERM")
        time.sleep(0.1)
        if rc != 0:
            self.fail("agent exited %d after SIGTERM" % rc)

    def kill(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()


def check(agent, cond, why):
    if not cond:
        agent.fail(why)


def sha256_of(path):
    out = subprocess.run(["sha256sum", path], check=True, text=True,
                         capture_output=True).stdout
    return out.split()[0]


def fd_targets(pid):
    """Ground truth: what /proc/<pid>/fd says the process holds."""
    d = "/proc/%d/fd" % pid
    return {os.readlink(os.path.join(d, fd)) for fd in os.listdir(d)}


def host_identity():
    """Ground truth for the exec_id prefix: the agent's host_id is
    /etc/machine-id (the hostname when that is empty), its boot id the
    kernel's."""
    try:
        with open("/etc/machine-id") as f:
            host_id = f.readline().rstrip("\n")
    except FileNotFoundError:
        host_id = ""
    if not host_id:
        host_id = os.uname().nodename
    with open("/proc/sys/kernel/random/boot_id") as f:
        boot_id = f.readline().rstrip("\n")
    return host_id, boot_id


def ns_inode(pid, ns):
    return os.stat("/proc/%d/ns/%s" % (pid, ns)).st_ino


def proc_euid(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("Uid:"):
                return int(line.split()[2])
    raise RuntimeError("no Uid line for pid %d" % pid)


def proc_loginuid(pid):
    with open("/proc/%d/loginuid" % pid) as f:
        return int(f.read())


def exec_of(agent, pid, argv):
    """The exec of pid <pid> that ran exactly <argv>."""
    return agent.wait_for("exec of %r by pid %d" % (argv, pid), lambda e:
                          e["type"] == "exec" and e["pid"] == pid and
                          e["argv"] == argv)[0]


def check_exec_context(agent):
    """The context of an exec against what the kernel shows in /proc: a
    process moved into a docker-<id>.scope cgroup, with a loginuid set,
    reports the exec_id prefix, euid, loginuid, namespaces, cgroup id and
    the container id parsed from the cgroup's name."""
    host_id, boot_id = host_identity()
    cid = uuid.uuid4().hex + uuid.uuid4().hex
    cg = os.path.join(cgroup2_root(), "docker-%s.scope" % cid)
    os.mkdir(cg)
    holder = None
    try:
        holder = subprocess.Popen(
            ["/bin/bash", "-c", 'echo 4242 > /proc/self/loginuid; '
             'echo $$ > "$0/cgroup.procs" && exec sleep 30', cg])
        x = exec_of(agent, holder.pid, ["sleep", "30"])
        pid = holder.pid
        check(agent, x["exec_id"] == "%s:%s:%d:%d" % (
            host_id, boot_id, pid, x["start_time_ns"]),
            "exec_id %r, host_id %r boot_id %r" % (x["exec_id"], host_id,
                                                   boot_id))
        check(agent, x["euid"] == proc_euid(pid), "euid %d" % x["euid"])
        check(agent, proc_loginuid(pid) == 4242, "loginuid not set")
        check(agent, x["loginuid"] == proc_loginuid(pid),
              "loginuid %d, /proc says %d" % (x["loginuid"],
                                              proc_loginuid(pid)))
        check(agent, x["mnt_ns"] == ns_inode(pid, "mnt"),
              "mnt_ns %d vs %d" % (x["mnt_ns"], ns_inode(pid, "mnt")))
        check(agent, x["pid_ns"] == ns_inode(pid, "pid"),
              "pid_ns %d vs %d" % (x["pid_ns"], ns_inode(pid, "pid")))
        check(agent, x["cgroup_id"] == os.stat(cg).st_ino,
              "cgroup_id %d, the cgroup's inode is %d" %
              (x["cgroup_id"], os.stat(cg).st_ino))
        check(agent, x["container_id"] == cid, "container_id %r, want %r" %
              (x["container_id"], cid))
    finally:
        if holder:
            holder.kill()
            holder.wait()
        os.rmdir(cg)


THREADS_EXIT = """
import os, threading
def spin():
    while True:
        pass
for _ in range(8):
    threading.Thread(target=spin, daemon=True).start()
os._exit(5)
"""


def check_threaded_exits(agent):
    """A process whose threads all leave at once (exit_group with eight
    threads spinning on both cores) is reported exited exactly once."""
    pids = []
    for _ in range(10):
        p = subprocess.Popen(["python3", "-c", THREADS_EXIT])
        p.wait()
        check(agent, p.returncode == 5, "python exited %d" % p.returncode)
        pids.append(p.pid)
    agent.wait_for("exits of the threaded processes", lambda e:
                   e["type"] == "exit" and e["pid"] in pids, count=10)
    time.sleep(0.5)
    for pid in pids:
        exits = agent.matching(lambda e: e["type"] == "exit" and
                               e["pid"] == pid)
        check(agent, len(exits) == 1 and exits[0]["exit_code"] == 5 << 8,
              "exits of threaded pid %d: %r" % (pid, exits))


def check_long_argv(agent):
    """argv of exactly PX_ARGS_LEN (512) bytes is copied whole; with two
    bytes more it is flagged truncated and its last argument loses its
    last character (and its NUL)."""
    for extra, truncated in ((0, False), (2, True)):
        marker = uuid.uuid4().hex
        # "/bin/true\0" + marker + "\0" + pad + "\0" is 512 + extra.
        pad = "x" * (512 + extra - len("/bin/true") - len(marker) - 3)
        p = subprocess.Popen(["/bin/true", marker, pad])
        p.wait()
        x = exec_of(agent, p.pid, ["/bin/true", marker, pad]) if not \
            truncated else agent.wait_for(
                "exec with a long argv", lambda e: e["type"] == "exec" and
                e["pid"] == p.pid)[0]
        check(agent, x["argv_truncated"] is truncated,
              "argv of %d bytes: truncated=%r" % (512 + extra,
                                                  x["argv_truncated"]))
        if truncated:
            check(agent, x["argv"][:2] == ["/bin/true", marker] and
                  pad.startswith(x["argv"][2]) and
                  len(x["argv"][2]) == len(pad) - 1,
                  "cut argv %r" % x["argv"][:2])


def check_pid_namespaces(agent):
    """pid_ns is the namespace a process lives in, not the one its children
    will: after `unshare --pid` (no fork) the exec'd program stays in the
    host's namespace; under `unshare --pid --fork` the child is in the
    new one."""
    marker = "px-ns-" + uuid.uuid4().hex
    argv = ["/bin/sh", "-c", "sleep 30; :", marker]
    stay = subprocess.Popen(["unshare", "--pid", *argv])
    forked = subprocess.Popen(["unshare", "--pid", "--fork", "--kill-child",
                               *argv])
    try:
        x = exec_of(agent, stay.pid, argv)
        own = ns_inode(stay.pid, "pid")
        check(agent, own != ns_inode(stay.pid, "pid_for_children"),
              "unshare --pid did not make a namespace for the children")
        check(agent, x["pid_ns"] == own, "pid_ns %d after unshare, the "
              "process lives in %d" % (x["pid_ns"], own))
        child = agent.wait_for("the exec inside the new pid namespace",
                               lambda e: e["type"] == "exec" and
                               e["ppid"] == forked.pid and
                               e["argv"] == argv)[0]
        inner = ns_inode(child["pid"], "pid")
        check(agent, inner != ns_inode(os.getpid(), "pid"),
              "the child of unshare --fork is in the host's namespace")
        check(agent, child["pid_ns"] == inner, "pid_ns %d of the child, "
              "/proc says %d" % (child["pid_ns"], inner))
    finally:
        # The sleep under forked dies with its namespace's init (killed
        # by --kill-child); the one under stay is killed by hand.
        with open("/proc/%d/task/%d/children" % (stay.pid, stay.pid)) as f:
            orphans = [int(c) for c in f.read().split()]
        for p in (stay, forked):
            p.kill()
            p.wait()
        for c in orphans:
            os.kill(c, signal.SIGKILL)


def case_exec(agent_path, fixtures):
    """N execs of /bin/true give N exec events with exe and argv, each
    with its fork and its exit (status 0), all tied by exec_id."""
    n = 40
    marker = "px-" + uuid.uuid4().hex
    agent = Agent(agent_path)
    pids = []
    for i in range(n):
        p = subprocess.Popen(["/bin/true", marker, str(i)])
        p.wait()
        pids.append(p.pid)

    execs = agent.wait_for(
        "%d exec events of /bin/true" % n,
        lambda e: e["type"] == "exec" and marker in e["argv"], count=n)
    by_pid = {e["pid"]: e for e in execs}
    check(agent, len(execs) >= n, "only %d execs" % len(execs))
    for i, pid in enumerate(pids):
        e = by_pid.get(pid)
        check(agent, e is not None, "no exec event for pid %d" % pid)
        check(agent, e["exe"] == "/bin/true", "exe is %r" % e["exe"])
        check(agent, e["argv"] == ["/bin/true", marker, str(i)],
              "argv is %r" % e["argv"])
        check(agent, e["argv_truncated"] is False, "argv truncated")
        check(agent, e["comm"] == "true", "comm is %r" % e["comm"])
        check(agent, e["ppid"] == os.getpid(),
              "ppid %d, expected %d" % (e["ppid"], os.getpid()))
        check(agent, e["from_snapshot"] is False, "exec from snapshot")
        check(agent, e["exec_id"].endswith(":%d:%d" % (
            pid, e["start_time_ns"])), "exec_id %r" % e["exec_id"])
        check(agent, e["uid"] == os.getuid(), "uid %d" % e["uid"])

    pidset = set(pids)
    forks = agent.wait_for(
        "fork events", lambda e: e["type"] == "fork" and e["pid"] in pidset,
        count=n)
    exits = agent.wait_for(
        "exit events", lambda e: e["type"] == "exit" and e["pid"] in pidset,
        count=n)
    for e in forks:
        x = by_pid[e["pid"]]
        check(agent, e["exec_id"] == x["exec_id"],
              "fork and exec disagree on exec_id")
        check(agent, e["parent_pid"] == os.getpid(), "fork parent")
        check(agent, e["parent_exec_id"] == x["parent_exec_id"],
              "fork and exec disagree on the parent")
    for e in exits:
        check(agent, e["exit_code"] == 0, "exit_code %d" % e["exit_code"])
        check(agent, e["exec_id"] == by_pid[e["pid"]]["exec_id"],
              "exit and exec disagree on exec_id")

    # A failing command reports its wait(2) status.
    p = subprocess.Popen(["/bin/sh", "-c", "exit 3", marker])
    p.wait()
    agent.wait_for("exit 3", lambda e: e["type"] == "exit" and
                   e["pid"] == p.pid and e["exit_code"] == 3 << 8)
    check_exec_context(agent)
    check_pid_namespaces(agent)
    check_threaded_exits(agent)
    check_long_argv(agent)
    agent.stop()
    print("exec: %d execs, %d forks, %d exits checked" %
          (len(execs), len(forks), len(exits)))


def is_open_file(e):
    return e["type"] == "artifact" and e["kind"] == "OPEN_FILE"


def artifact_events(agent, pid):
    return agent.matching(lambda e: is_open_file(e) and
                          e["pid"] == pid)


def check_artifact(agent, ev, pid, path):
    st = os.stat(path)
    check(agent, ev["path"] == path, "path %r, expected %r" %
          (ev["path"], path))
    check(agent, path in fd_targets(pid),
          "%s not in /proc/%d/fd" % (path, pid))
    check(agent, ev["sha256"] == sha256_of(path),
          "sha256 %r differs from sha256sum's" % ev["sha256"])
    check(agent, ev["inode"] == st.st_ino, "inode")
    check(agent, ev["dev"] == st.st_dev, "dev %d vs %d" %
          (ev["dev"], st.st_dev))
    check(agent, ev["size"] == st.st_size, "size")
    check(agent, ev["mtime_ns"] == st.st_mtime_ns, "mtime")
    check(agent, ev["kind"] == "OPEN_FILE", "kind %r" % ev["kind"])
    check(agent, ev["error"] == "", "error %r" % ev["error"])


def case_artifacts(agent_path, fixtures, *agent_args):
    """A process started after the agent holding a jar (fd 3) and a zip
    (fd 4) open: each is reported once, with the path, identity and
    sha256 of the file, found by the pass that follows its exec; a plain
    text file it holds is not reported; its exit arrives."""
    jar = os.path.realpath(os.path.join(fixtures, JAR_REL))
    zipf = os.path.realpath(os.path.join(fixtures, ZIP_REL))
    txt = os.path.realpath(os.path.join(fixtures, "log4j-samples",
                                        "EXPECTED.tsv"))
    agent = Agent(agent_path, *agent_args)  # default 30 s rescan: the
                                            # exec pass must find them
    if "--config" in agent_args:
        check(agent, any("dpath=no" in l for l in agent.stderr),
              "the /proc fallback was not used")
    holder = subprocess.Popen(
        ["/bin/bash", "-c", 'exec sleep 30 3<"$0" 4<"$1" 5<"$2"',
         jar, zipf, txt])
    pid = holder.pid
    agent.wait_for("the jar and the zip of pid %d" % pid,
                   lambda e: is_open_file(e) and e["pid"] == pid,
                   count=2, timeout=10)
    time.sleep(2.5)     # the second exec pass must not repeat them
    evs = artifact_events(agent, pid)
    paths = sorted(e["path"] for e in evs)
    check(agent, paths == sorted([jar, zipf]),
          "artifacts of pid %d: %r" % (pid, paths))
    for ev in evs:
        check_artifact(agent, ev, pid, ev["path"])
    # bash, then sleep in the same process (exec keeps the pid and the
    # start time, so both execs carry one exec_id).
    x = agent.wait_for("exec of sleep", lambda e: e["type"] == "exec"
                       and e["pid"] == pid and e["argv"] == ["sleep", "30"])
    check(agent, x[0]["exe"] == "/usr/bin/sleep", "exe %r" % x[0]["exe"])
    check(agent, evs[0]["exec_id"] == x[0]["exec_id"],
          "artifact and exec disagree on exec_id")

    holder.send_signal(signal.SIGTERM)
    holder.wait()
    agent.wait_for("exit of the holder", lambda e: e["type"] == "exit" and
                   e["pid"] == pid and e["exit_code"] == signal.SIGTERM)
    agent.stop()
    print("artifacts: %d artifacts of pid %d checked" % (len(evs), pid))


def case_snapshot(agent_path, fixtures):
    """Processes older than the agent are reported by the start-up pass
    (from_snapshot), with the jar they hold; a jar held by many processes
    is reported for each of them, with one digest."""
    jar = os.path.realpath(os.path.join(fixtures, JAR_REL))
    holders = [subprocess.Popen(["/bin/bash", "-c",
                                 'exec sleep 30 3<"$0"', jar])
               for _ in range(5)]
    time.sleep(0.3)
    want = {h.pid for h in holders}
    try:
        agent = Agent(agent_path, "--health-interval", "500")
        execs = agent.wait_for(
            "snapshot execs of the holders", lambda e: e["type"] == "exec"
            and e["pid"] in want, count=len(want))
        for e in execs:
            check(agent, e["from_snapshot"] is True, "not from snapshot")
            check(agent, e["argv"] == ["sleep", "30"], "argv %r" % e["argv"])
            check(agent, e["exe"] == "/usr/bin/sleep", "exe %r" % e["exe"])
        arts = agent.wait_for(
            "the jar in every holder", lambda e: is_open_file(e)
            and e["pid"] in want, count=len(want))
        digest = sha256_of(jar)
        for ev in arts:
            check_artifact(agent, ev, ev["pid"], jar)
            check(agent, ev["sha256"] == digest, "digest")
        health = agent.wait_for("a health report",
                                lambda e: e["type"] == "health")[0]
        check(agent, health["events_total"] >= 2 * len(want),
              "health events_total %d" % health["events_total"])
        check(agent, health["processes_tracked"] >= len(want),
              "health processes_tracked %d" % health["processes_tracked"])
        check(agent, health["ringbuf_drops"] == 0, "ring buffer drops")
        # The agent measures itself: its RSS as /proc says, a CPU share
        # and an event rate.
        check(agent, health["rss_bytes"] > 1 << 20, "health rss_bytes %d" %
              health["rss_bytes"])
        check(agent, 0 <= health["cpu_share"] <= 2.0 and
              health["events_per_s"] >= 0, "health cpu/events %r" % health)
        # The bounds derived from the default cap (48 MiB) were logged at
        # start, as information: nothing configured was lowered.  (RSS
        # itself is not held to the cap here: a sanitizer build of the same
        # agent doubles it.)
        check(agent, not any("bounds lowered" in l for l in agent.stderr),
              "default bounds reported as lowered")
        check(agent, any('msg="memory bounds"' in l and
                         "max_processes=12288" in l and
                         "queue_max_events=12288" in l
                         for l in agent.stderr),
              "the bounds derived from the memory cap were not logged")
        agent.stop()
    finally:
        for h in holders:
            h.kill()
            h.wait()
    print("snapshot: %d holders checked" % len(want))


def case_artifacts_proc(agent_path, fixtures):
    """The same with the kernel's bpf_d_path turned off: the fallback
    iterator names the file and the agent reads the path from /proc."""
    cfg = "/tmp/px-agent-nodpath-%d.yaml" % os.getpid()
    with open(cfg, "w") as f:
        f.write("agent:\n  iter_dpath: false\n")
    try:
        case_artifacts(agent_path, fixtures, "--config", cfg)
    finally:
        os.unlink(cfg)


HEALTH_COUNTERS = ["ringbuf_drops", "events_total", "hash_errors",
                   "spool_dropped", "rss_bytes", "processes_tracked",
                   "queue_dropped", "procs_refused", "exec_pass_dropped",
                   "unknown_procs", "net_unowned", "hash_deferred",
                   "synthetic_exits"]


def case_resync(agent_path, fixtures):
    """Drops are counted and repaired: with a one-page ring buffer and the
    agent stopped, a burst of execs overflows it; a jar holder started
    then is lost to the ring, yet after the agent resumes it notices the
    drops, reports them in AgentHealth and finds the holder and its jar
    by a full pass.  A process that exited while its exit record was lost
    gets one synthetic ProcessExit from that pass, counted in AgentHealth,
    so the collector can end what it held."""
    jar = os.path.realpath(os.path.join(fixtures, JAR_REL))
    cfg = "/tmp/px-agent-smallring-%d.yaml" % os.getpid()
    with open(cfg, "w") as f:
        f.write("agent:\n  ringbuf_bytes: 4096\n"
                "  health_interval_ms: 300\n")
    agent = Agent(agent_path, "--config", cfg)
    os.unlink(cfg)
    holder = None
    lost = subprocess.Popen(["/bin/sleep", "30"])
    try:
        exec_of(agent, lost.pid, ["/bin/sleep", "30"])
        agent.proc.send_signal(signal.SIGSTOP)
        for i in range(30):
            subprocess.run(["/bin/true", "burst", str(i)], check=True)
        lost.kill()         # its exit record finds the ring full
        lost.wait()
        holder = subprocess.Popen(["/bin/bash", "-c",
                                   'exec sleep 30 3<"$0"', jar])
        time.sleep(0.3)
        agent.proc.send_signal(signal.SIGCONT)

        pid = holder.pid
        x = agent.wait_for("the holder, found by the resync", lambda e:
                           e["type"] == "exec" and e["pid"] == pid,
                           timeout=10)[0]
        check(agent, x["from_snapshot"] is True,
              "the holder's exec was not lost: the ring did not overflow")
        check(agent, x["argv"] == ["sleep", "30"], "argv %r" % x["argv"])
        ev = agent.wait_for("the holder's jar", lambda e: is_open_file(e)
                            and e["pid"] == pid, timeout=10)[0]
        check_artifact(agent, ev, pid, jar)
        h = agent.wait_for("a health report with drops", lambda e:
                           e["type"] == "health" and e["ringbuf_drops"] > 0,
                           timeout=10)[0]
        check(agent, any("kernel events dropped" in l
                         for l in agent.stderr), "drops not logged")
        exits = agent.wait_for("the synthetic exit of pid %d" % lost.pid,
                               lambda e: e["type"] == "exit" and
                               e["pid"] == lost.pid, timeout=10)
        time.sleep(0.5)
        exits = agent.matching(lambda e: e["type"] == "exit" and
                               e["pid"] == lost.pid)
        check(agent, len(exits) == 1 and exits[0]["synthetic"] is True,
              "exits of the lost process: %r" % exits)
        check(agent, not any(e["synthetic"] for e in agent.matching(
            lambda e: e["type"] == "exit" and e["pid"] != lost.pid and
            os.path.exists("/proc/%d" % e["pid"]))),
              "a synthetic exit for a process that is still alive")
        h = agent.wait_for("a health report counting it", lambda e:
                           e["type"] == "health" and
                           e["synthetic_exits"] >= 1, timeout=10)[0]
        missing = [k for k in HEALTH_COUNTERS if not
                   isinstance(h.get(k), int) or h[k] < 0]
        check(agent, not missing, "health lacks %r: %r" % (missing, h))
        check(agent, h["ringbuf_drops"] > 0, "drops gone from health")
        check(agent, h["queue_dropped"] == 0, "stdout mode lost events")
        agent.stop()
    finally:
        for p in (holder, lost):
            if p and p.poll() is None:
                p.kill()
                p.wait()
    print("resync: %d drops reported, holder %d recovered, %d synthetic "
          "exits" % (h["ringbuf_drops"], pid, h["synthetic_exits"]))


def case_jvm(agent_path, fixtures):
    """A JVM started after the agent opens its classpath jar lazily, when
    it loads a class from it; one of the passes that follow the exec finds
    it (the periodic pass is 30 s away), once though the JVM holds it on
    two descriptors."""
    jar = os.path.realpath(os.path.join(fixtures, JAR_REL))
    src = os.path.join(os.path.dirname(os.path.abspath(__file__)),
                       "HoldJar.java")
    agent = Agent(agent_path)
    jvm = subprocess.Popen(
        ["java", "-cp", jar, src,
         "org.apache.logging.log4j.core.lookup.JndiLookup"],
        stdout=subprocess.PIPE, text=True)
    try:
        line = jvm.stdout.readline()
        check(agent, line.startswith("loaded"), "JVM said %r" % line)
        ev = agent.wait_for("the jar held by the JVM", lambda e:
                            is_open_file(e) and e["pid"] == jvm.pid
                            and e["path"] == jar, timeout=20)[0]
        check_artifact(agent, ev, jvm.pid, jar)
        x = agent.wait_for("exec of java", lambda e: e["type"] == "exec" and
                           e["pid"] == jvm.pid)[0]
        check(agent, x["exe"].endswith("/java"), "exe %r" % x["exe"])
        check(agent, jar in x["argv"], "argv %r" % x["argv"])
        time.sleep(0.5)
        n = len(agent.matching(lambda e: is_open_file(e) and
                               e["pid"] == jvm.pid and e["path"] == jar))
        check(agent, n == 1, "the jar was reported %d times" % n)
        agent.stop()
    finally:
        jvm.kill()
        jvm.wait()
    print("jvm: jar of pid %d reported once with its sha256" % jvm.pid)


def exec_mappings(pid):
    """Ground truth: the files /proc/<pid>/maps shows mapped executable."""
    paths = set()
    with open("/proc/%d/maps" % pid) as f:
        for line in f:
            parts = line.split(None, 5)
            if len(parts) == 6 and "x" in parts[1] and \
                    parts[5].startswith("/"):
                paths.add(parts[5].rstrip("\n"))
    return paths


def check_mappings(agent, pid):
    want = exec_mappings(pid)
    evs = agent.wait_for(
        "the %d executable mappings of pid %d" % (len(want), pid),
        lambda e: e["type"] == "artifact" and e["pid"] == pid and
        e["kind"] == "MAPPED", count=len(want), timeout=15)
    time.sleep(0.6)     # later passes must not repeat them
    evs = agent.matching(lambda e: e["type"] == "artifact" and
                         e["pid"] == pid and e["kind"] == "MAPPED")
    got = [e["path"] for e in evs]
    check(agent, sorted(got) == sorted(want),
          "mappings of pid %d: agent %r, maps %r" % (pid, sorted(got),
                                                     sorted(want)))
    for ev in evs:
        st = os.stat(ev["path"])
        check(agent, (ev["dev"], ev["inode"], ev["size"]) ==
              (st.st_dev, st.st_ino, st.st_size), "identity of %s" %
              ev["path"])
        check(agent, ev["sha256"] == sha256_of(ev["path"]),
              "sha256 of %s" % ev["path"])
    return got


def case_mappings(agent_path, fixtures):
    """The executable file mappings (program and shared libraries) of a
    process older than the agent and of one started after it are each
    reported once as MAPPED, with the identity and sha256 of the file,
    and match /proc/<pid>/maps exactly."""
    old = subprocess.Popen(["python3", "-c",
                            "import ssl, time; time.sleep(30)"])
    time.sleep(0.5)
    new = None
    try:
        agent = Agent(agent_path)
        got_old = check_mappings(agent, old.pid)
        new = subprocess.Popen(["python3", "-c",
                                "import ctypes, zlib, time; time.sleep(30)"])
        time.sleep(0.4)
        got_new = check_mappings(agent, new.pid)
        check(agent, any("libssl" in p for p in got_old),
              "libssl not among %r" % got_old)
        agent.stop()
    finally:
        for p in (old, new):
            if p:
                p.kill()
                p.wait()
    print("mappings: %d + %d mappings match /proc/<pid>/maps" %
          (len(got_old), len(got_new)))


WATCH = ["org.apache.logging.log4j.core.lookup.JndiLookup",
         "org.apache.logging.log4j.core.net.JndiManager",
         "java.lang.Object", "java.util.zip.ZipFile",
         "javax.swing.JFrame"]
JNDI = "org.apache.logging.log4j.core.lookup.JndiLookup"


def jvm_loaded_classes(log):
    """Ground truth: the class names the JVM's -Xlog:class+load lists."""
    names = set()
    with open(log) as f:
        for line in f:
            if "][class,load]" in line:
                names.add(line.split("][class,load] ", 1)[1].split()[0])
    return names


def run_class_case(agent_path, fixtures, libjvm_glob):
    jar = os.path.realpath(os.path.join(fixtures, JAR_REL))
    src = os.path.join(os.path.dirname(os.path.abspath(__file__)),
                       "HoldJar.java")
    tag = "%d-%s" % (os.getpid(), uuid.uuid4().hex[:6])
    cfg = "/tmp/px-agent-classes-%s.yaml" % tag
    log = "/tmp/px-agent-classes-%s.log" % tag
    with open(cfg, "w") as f:
        f.write("agent:\n  jvm_watch_classes: %s\n"
                "  jvm_libjvm_paths: \"%s\"\n" % (",".join(WATCH),
                                                  libjvm_glob))
    agent = Agent(agent_path, "--config", cfg)
    os.unlink(cfg)
    check_caps(agent, STRICT_CAPS | 1 << CAP_SYS_ADMIN)   # late attach on
    jvm = subprocess.Popen(
        ["java", "-Xlog:class+load:file=" + log, "-cp", jar, src, JNDI],
        stdout=subprocess.PIPE, text=True)
    try:
        line = jvm.stdout.readline()
        check(agent, line.startswith("loaded"), "JVM said %r" % line)
        loaded = jvm_loaded_classes(log)
        check(agent, JNDI in loaded, "the JVM log lacks JndiLookup")
        if libjvm_glob:
            want = sorted(c for c in WATCH if c in loaded)
        else:
            want = [JNDI]    # attached after start-up: only what follows
        ours = lambda e: (e["type"] == "artifact" and e["pid"] == jvm.pid
                          and e["kind"] == "CLASS")
        agent.wait_for("class events %r" % want, ours, count=len(want),
                       timeout=15)
        time.sleep(0.5)
        got = sorted(e["class_name"] for e in agent.matching(ours))
        if libjvm_glob:
            check(agent, got == want, "classes %r, the JVM log says %r" %
                  (got, want))
        else:
            check(agent, JNDI in got and set(got) <= set(loaded) and
                  len(got) == len(set(got)), "classes %r" % got)
            # No glob: any attachment came from a mapping pass.
            check(agent, any("class probe attached" in l
                             for l in agent.stderr),
                  "libjvm.so not attached through the mapping pass")
        ev = [e for e in agent.matching(ours) if e["class_name"] == JNDI][0]
        check(agent, ev["path"] == jar, "JndiLookup's jar %r" % ev["path"])
        check(agent, ev["sha256"] == sha256_of(jar), "jar sha256")
        check(agent, ev["inode"] == os.stat(jar).st_ino, "jar inode")
        agent.stop()
    finally:
        jvm.kill()
        jvm.wait()
        if os.path.exists(log):
            os.unlink(log)
    return got


def case_classes(agent_path, fixtures):
    """With the system's libjvm.so attached at start, the watched classes
    a JVM reports loaded in its own -Xlog:class+load output are exactly
    the CLASS events for that pid (from java.lang.Object, the first class
    a JVM defines, on), each once; JndiLookup names its jar and sha256."""
    got = run_class_case(agent_path, fixtures, AGENT_LIBJVM_GLOB)
    print("classes: %r match the JVM's class+load log" % got)


def case_classes_late(agent_path, fixtures):
    """With no libjvm.so known at start, the mapping pass after the JVM's
    exec finds libjvm.so and attaches to it (by its host path, or through
    /proc/<pid>/root for a container's), and the class loaded after that
    (JndiLookup) is reported."""
    got = run_class_case(agent_path, fixtures, "")
    print("classes-late: %r reported after a late attach" % got)


def net_of(agent, pid, kind):
    return agent.matching(lambda e: e["type"] == "net" and
                          e.get("pid") == pid and e["kind"] == kind)


SERVER = """
import socket, sys
s = socket.socket(); s.bind(("127.0.0.1", 0)); s.listen()
print(s.getsockname()[1], flush=True)
c, peer = s.accept(); print(peer[1], flush=True)
sys.stdin.readline(); c.close(); s.close()
"""
CLIENT = """
import socket, sys
c = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
print(c.getsockname()[1], flush=True); sys.stdin.readline()
"""


SERVER_AT = """
import socket, sys
s = socket.socket(); s.bind(("127.0.0.1", int(sys.argv[1]))); s.listen()
print(s.getsockname()[1], flush=True)
c, peer = s.accept(); print(peer[1], flush=True)
sys.stdin.readline(); c.close(); s.close()
"""


def case_net_netns(agent_path, fixtures):
    """Listeners on one port in two network namespaces (the host's, and
    one made for the test with only loopback up) are told apart: each
    ACCEPT names the process that listens in its own namespace, though
    the namespace's listener was opened last."""
    ns = "px-agent-%d" % os.getpid()
    subprocess.run(["ip", "netns", "add", ns], check=True)
    procs = []
    try:
        subprocess.run(["ip", "netns", "exec", ns, "ip", "link", "set", "lo",
                        "up"], check=True)
        agent = Agent(agent_path)

        def start(prefix, script, *args):
            p = subprocess.Popen(prefix + ["python3", "-c", script, *args],
                                 stdin=subprocess.PIPE,
                                 stdout=subprocess.PIPE, text=True)
            procs.append(p)
            return p
        inns = ["ip", "netns", "exec", ns]
        host_srv = start([], SERVER_AT, "0")
        port = int(host_srv.stdout.readline())
        ns_srv = start(inns, SERVER_AT, str(port))
        check(agent, int(ns_srv.stdout.readline()) == port, "ns port")
        check(agent, ns_inode(ns_srv.pid, "net") !=
              ns_inode(host_srv.pid, "net"), "the server is not in %s" % ns)
        agent.wait_for("both LISTENs", lambda e: e["type"] == "net" and
                       e["kind"] == "LISTEN" and e["local_port"] == port and
                       e.get("pid") in (host_srv.pid, ns_srv.pid), count=2)
        peers = {}
        for srv, prefix in ((host_srv, []), (ns_srv, inns)):
            cli = start(prefix, CLIENT, str(port))
            cport = int(cli.stdout.readline())
            check(agent, int(srv.stdout.readline()) == cport, "peer port")
            peers[cport] = srv.pid
        check(agent, len(peers) == 2, "both clients got port %r" % peers)
        accs = agent.wait_for("two ACCEPTs on %d" % port, lambda e:
                              e["type"] == "net" and e["kind"] == "ACCEPT"
                              and e["local_port"] == port, count=2)
        for acc in accs:
            want = peers.get(acc["remote_port"])
            check(agent, acc.get("pid") == want, "ACCEPT from port %d "
                  "named pid %r, the listener in its namespace is %r" %
                  (acc["remote_port"], acc.get("pid"), want))
        agent.stop()
    finally:
        for p in procs:
            p.kill()
            p.wait()
        subprocess.run(["ip", "netns", "del", ns], check=True)
    print("net-netns: port %d in two namespaces, each accept named right" %
          port)


def case_net(agent_path, fixtures):
    """A loopback server and client, both started after the agent: the
    server's LISTEN and ACCEPT and the client's CONNECT are reported once
    each, with the ports the sockets themselves report, then the
    listener's CLOSE; and no syscall tracepoint is attached."""
    agent = Agent(agent_path)
    srv = subprocess.Popen(["python3", "-c", SERVER], stdin=subprocess.PIPE,
                           stdout=subprocess.PIPE, text=True)
    port = int(srv.stdout.readline())
    cli = subprocess.Popen(["python3", "-c", CLIENT, str(port)],
                           stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                           text=True)
    try:
        cport = int(cli.stdout.readline())
        check(agent, int(srv.stdout.readline()) == cport, "peer port")
        listen = agent.wait_for("LISTEN", lambda e: e["type"] == "net" and
                                e.get("pid") == srv.pid and
                                e["kind"] == "LISTEN")[0]
        check(agent, listen["local_port"] == port and
              listen["local_addr"] == "127.0.0.1", "listen %r" % listen)
        conn = agent.wait_for("CONNECT", lambda e: e["type"] == "net" and
                              e.get("pid") == cli.pid and
                              e["kind"] == "CONNECT")[0]
        check(agent, (conn["local_port"], conn["remote_port"],
                      conn["remote_addr"]) == (cport, port, "127.0.0.1"),
              "connect %r" % conn)
        acc = agent.wait_for("ACCEPT", lambda e: e["type"] == "net" and
                             e.get("pid") == srv.pid and
                             e["kind"] == "ACCEPT")[0]
        check(agent, (acc["local_port"], acc["remote_port"]) ==
              (port, cport), "accept %r" % acc)
        srv.stdin.write("\n")
        srv.stdin.flush()
        srv.wait(10)
        agent.wait_for("CLOSE of the listener", lambda e: e["type"] == "net"
                       and e.get("pid") == srv.pid and e["kind"] == "CLOSE"
                       and e["local_port"] == port)
        for pid, kind in ((srv.pid, "LISTEN"), (srv.pid, "ACCEPT"),
                          (cli.pid, "CONNECT")):
            n = len(net_of(agent, pid, kind))
            check(agent, n == 1, "%s of %d reported %d times" %
                  (kind, pid, n))
        perf = subprocess.run(["bpftool", "perf", "list"],
                              capture_output=True, text=True).stdout
        ours = [l for l in perf.splitlines()
                if l.startswith("pid %d " % agent.proc.pid)]
        check(agent, any("inet_sock_set_state" in l for l in ours),
              "bpftool perf list does not show our tracepoint: %r" % ours)
        check(agent, not any("sys_enter" in l or "sys_exit" in l
                             for l in ours),
              "a syscall tracepoint is attached: %r" % ours)
        agent.stop()
    finally:
        for p in (srv, cli):
            p.kill()
            p.wait()
    print("net: listen %d, connect from %d, accept checked" % (port, cport))


def case_net_old_listener(agent_path, fixtures):
    """A loopback server that listens before the agent starts, and a
    client that connects after: the agent learns the listener's owner at
    start, so the ACCEPT names the server's pid (not only counted)."""
    srv = subprocess.Popen(["python3", "-c", SERVER], stdin=subprocess.PIPE,
                           stdout=subprocess.PIPE, text=True)
    port = int(srv.stdout.readline())
    cli = None
    try:
        agent = Agent(agent_path)
        cli = subprocess.Popen(["python3", "-c", CLIENT, str(port)],
                               stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                               text=True)
        cport = int(cli.stdout.readline())
        check(agent, int(srv.stdout.readline()) == cport, "peer port")
        acc = agent.wait_for("ACCEPT", lambda e: e["type"] == "net" and
                             e["kind"] == "ACCEPT" and
                             e["local_port"] == port)
        check(agent, len(acc) == 1 and acc[0].get("pid") == srv.pid and
              acc[0]["remote_port"] == cport,
              "accept %r, want pid %d" % (acc, srv.pid))
        check(agent, not agent.matching(lambda e: e["type"] == "net" and
                                        e["kind"] == "LISTEN" and
                                        e["local_port"] == port),
              "a LISTEN reported for a listener older than the agent")
        agent.stop()
    finally:
        for p in (srv, cli):
            if p:
                p.kill()
                p.wait()
    print("net-old-listener: accept on %d from %d names pid %d" %
          (port, cport, srv.pid))


CAP_DAC_READ_SEARCH, CAP_SYS_PTRACE, CAP_SYS_ADMIN = 2, 19, 21
CAP_PERFMON, CAP_BPF = 38, 39
STRICT_CAPS = (1 << CAP_DAC_READ_SEARCH | 1 << CAP_SYS_PTRACE |
               1 << CAP_PERFMON | 1 << CAP_BPF)


def proc_status(pid):
    out = {}
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            k, _, v = line.partition(":")
            out[k] = v.strip()
    return out


def check_caps(agent, want):
    st = proc_status(agent.proc.pid)
    for key in ("CapEff", "CapPrm", "CapBnd"):
        check(agent, int(st[key], 16) == want, "%s is %s, expected %x" %
              (key, st[key], want))
    check(agent, int(st["CapInh"], 16) == 0 and int(st["CapAmb"], 16) == 0,
          "inheritable or ambient capabilities left")
    check(agent, st["NoNewPrivs"] == "1", "no_new_privs not set")


def case_caps(agent_path, fixtures):
    """After loading, the agent keeps exactly CAP_BPF, CAP_PERFMON,
    CAP_SYS_PTRACE and CAP_DAC_READ_SEARCH (late JVM attach off), and with
    them still reports and hashes a jar that only its owner, another user,
    can read, held by that user's process."""
    tmp = "/tmp/px-caps-%d" % os.getpid()
    os.makedirs(tmp, exist_ok=True)
    os.chmod(tmp, 0o755)
    held = os.path.join(tmp, "held.jar")
    with open(os.path.join(fixtures, JAR_REL), "rb") as src, \
            open(held, "wb") as dst:
        dst.write(src.read())
    os.chown(held, 65534, 65534)
    os.chmod(held, 0o600)
    cfg = os.path.join(tmp, "agent.yaml")
    with open(cfg, "w") as f:
        f.write("agent:\n  jvm_late_attach: false\n")
    holder = None
    try:
        agent = Agent(agent_path, "--config", cfg)
        check(agent, any("capabilities dropped" in l for l in agent.stderr),
              "no drop logged")
        check_caps(agent, STRICT_CAPS)
        holder = subprocess.Popen(
            ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups",
             "/bin/bash", "-c", 'exec sleep 30 3<"$0"', held])
        ev = agent.wait_for("the jar of user 65534", lambda e:
                            is_open_file(e) and e["pid"] == holder.pid,
                            timeout=10)[0]
        check(agent, ev["path"] == held, "path %r" % ev["path"])
        check(agent, ev["sha256"] == sha256_of(held),
              "sha256 %r (error %r)" % (ev["sha256"], ev["error"]))
        maps = agent.wait_for("the holder's mappings", lambda e:
                              e["type"] == "artifact" and
                              e["kind"] == "MAPPED" and
                              e["pid"] == holder.pid, timeout=10)
        check(agent, all(m["sha256"] for m in maps), "mapping not hashed")
        agent.stop()
    finally:
        if holder:
            holder.kill()
            holder.wait()
        for name in ("held.jar", "agent.yaml"):
            os.unlink(os.path.join(tmp, name))
        os.rmdir(tmp)
    print("caps: %x kept; a 0600 jar of uid 65534 hashed" % STRICT_CAPS)


def case_config_error(agent_path, fixtures):
    """A bad configuration stops the agent with exit 2 and a message that
    names the key, before any program is loaded."""
    bad = [("agent:\n  ringbuf_bytes: 5000\n", "agent.ringbuf_bytes"),
           ("agent:\n  jvm_watch_classes: %s\n" % ("a." * 80 + "B"),
            "agent.jvm_watch_classes"),
           ("agent:\n  tls_ca: /nonexistent/ca.pem\n", "agent.tls_ca"),
           ("agent:\n  net: maybe\n", "agent.net"),
           ("agent:\n  artifact_suffixes: jar\n", "agent.artifact_suffixes"),
           ("agent:\n  allow_pids: self\n", "agent.allow_pids")]
    cfg = "/tmp/px-agent-bad-%d.yaml" % os.getpid()
    try:
        for text, key in bad:
            with open(cfg, "w") as f:
                f.write(text)
            r = subprocess.run([agent_path, "--config", cfg],
                               capture_output=True, text=True, timeout=20)
            if r.returncode != 2 or key not in r.stderr or \
                    "programs loaded" in r.stderr:
                print("FAIL: %s: exit %d, stderr %r" % (key, r.returncode,
                      r.stderr[-300:]), file=sys.stderr)
                sys.exit(1)
    finally:
        os.unlink(cfg)
    print("config-error: %d bad configs refused before loading" % len(bad))


def cgroup2_root():
    with open("/proc/mounts") as f:
        for line in f:
            parts = line.split()
            if parts[2] == "cgroup2":
                return parts[1]
    print("FAIL: no cgroup2 file system mounted", file=sys.stderr)
    sys.exit(1)


def case_filter(agent_path, fixtures):
    """In-kernel filters: a denied pid is left out of the start-up pass
    (its exec and its jar) while its twin is reported, the agent's own
    process is left out, and with a cgroup allow-list only the execs of
    processes in that cgroup are reported."""
    jar = os.path.realpath(os.path.join(fixtures, JAR_REL))
    tag = "px-filter-%d" % os.getpid()
    cg = os.path.join(cgroup2_root(), tag)
    cfg = "/tmp/%s.yaml" % tag
    holders = [subprocess.Popen(["/bin/bash", "-c", 'exec sleep 30 3<"$0"',
                                 jar]) for _ in range(2)]
    denied, kept = holders[0].pid, holders[1].pid
    os.mkdir(cg)
    time.sleep(0.3)
    try:
        with open(cfg, "w") as f:
            f.write("agent:\n  deny_pids: %d\n" % denied)
        agent = Agent(agent_path, "--config", cfg)
        agent.wait_for("the kept holder's jar", lambda e: is_open_file(e)
                       and e["pid"] == kept)
        time.sleep(0.5)
        check(agent, not agent.matching(lambda e: e.get("pid") == denied),
              "events of the denied pid %d" % denied)
        check(agent, not agent.matching(lambda e: e.get("pid") ==
                                        agent.proc.pid),
              "the agent reported itself")
        agent.stop()

        with open(cfg, "w") as f:
            f.write("agent:\n  allow_cgroups: %s\n" % cg)
        agent = Agent(agent_path, "--config", cfg)
        marker = uuid.uuid4().hex
        subprocess.run(["/bin/bash", "-c", 'echo $$ > "$0/cgroup.procs" && '
                        'exec /bin/true "$1" in', cg, marker], check=True)
        subprocess.run(["/bin/true", marker, "out"], check=True)
        agent.wait_for("the exec inside the cgroup", lambda e:
                       e["type"] == "exec" and e["argv"] == ["/bin/true",
                                                             marker, "in"])
        time.sleep(0.5)
        check(agent, not agent.matching(lambda e: e["type"] == "exec" and
                                        marker in e["argv"] and
                                        "out" in e["argv"]),
              "an exec outside the allowed cgroup was reported")
        check(agent, not agent.matching(lambda e: e.get("pid") == kept),
              "a process outside the allowed cgroup was reported")
        agent.stop()
    finally:
        for h in holders:
            h.kill()
            h.wait()
        os.unlink(cfg)
        os.rmdir(cg)
    print("filter: pid %d denied, pid %d kept, cgroup allow-list held" %
          (denied, kept))


def case_filter_allow_pids(agent_path, fixtures):
    """A pid allow-list in the kernel: of two jar holders older than the
    agent only the allowed one is reported (exec and jar); a process
    started later, not on the list, is not reported at all."""
    jar = os.path.realpath(os.path.join(fixtures, JAR_REL))
    cfg = "/tmp/px-allow-pids-%d.yaml" % os.getpid()
    holders = [subprocess.Popen(["/bin/bash", "-c", 'exec sleep 30 3<"$0"',
                                 jar]) for _ in range(2)]
    allowed, other = holders[0].pid, holders[1].pid
    time.sleep(0.3)
    try:
        with open(cfg, "w") as f:
            f.write("agent:\n  allow_pids: %d\n" % allowed)
        agent = Agent(agent_path, "--config", cfg)
        agent.wait_for("the allowed holder's exec", lambda e:
                       e["type"] == "exec" and e["pid"] == allowed)
        ev = agent.wait_for("the allowed holder's jar", lambda e:
                            is_open_file(e) and e["pid"] == allowed)[0]
        check_artifact(agent, ev, allowed, jar)
        marker = uuid.uuid4().hex
        late = subprocess.Popen(["/bin/bash", "-c", 'exec sleep 30 3<"$0"',
                                 jar, marker])
        time.sleep(1.0)     # past the exec pass at 250 ms
        for pid in (other, late.pid):
            got = agent.matching(lambda e: e.get("pid") == pid)
            check(agent, not got, "pid %d is not allowed, yet: %r" %
                  (pid, got[:3]))
        late.kill()
        late.wait()
        agent.stop()
    finally:
        for h in holders:
            h.kill()
            h.wait()
        os.unlink(cfg)
    print("filter-allow-pids: only pid %d reported" % allowed)


def case_artifact_suffixes(agent_path, fixtures):
    """agent.artifact_suffixes decides in the kernel which open files are
    artifacts: with ".tsv,.so" a holder's .tsv and versioned shared
    object (libpx.so.1.2) are reported, its jar and a name that only
    looks versioned (libpx.so.x) are not; with the defaults the jar and
    the .so.N are reported and the .tsv is not."""
    src = os.path.join(fixtures, JAR_REL)
    d = tempfile.mkdtemp(prefix="px-suffixes-")
    files = {n: os.path.join(d, n) for n in
             ("held.jar", "table.tsv", "libpx.so.1.2", "libpx.so.x")}
    for path in files.values():
        shutil.copy(src, path)
    cfg = os.path.join(d, "agent.yaml")
    holder = subprocess.Popen(
        ["/bin/bash", "-c", 'exec sleep 30 3<"$0" 4<"$1" 5<"$2" 6<"$3"',
         *files.values()])
    time.sleep(0.3)
    try:
        for suffixes, want in (
                ('".tsv,.so"', ["libpx.so.1.2", "table.tsv"]),
                (None, ["held.jar", "libpx.so.1.2"])):
            with open(cfg, "w") as f:
                f.write("agent:\n  allow_pids: %d\n" % holder.pid)
                if suffixes:
                    f.write("  artifact_suffixes: %s\n" % suffixes)
            agent = Agent(agent_path, "--config", cfg)
            agent.wait_for("%r of the holder" % want, lambda e:
                           is_open_file(e) and e["pid"] == holder.pid,
                           count=len(want))
            time.sleep(0.5)
            evs = artifact_events(agent, holder.pid)
            got = sorted(os.path.basename(e["path"]) for e in evs)
            check(agent, got == want, "suffixes %s: reported %r, want %r" %
                  (suffixes, got, want))
            for ev in evs:
                check_artifact(agent, ev, holder.pid, ev["path"])
            agent.stop()
    finally:
        holder.kill()
        holder.wait()
        shutil.rmtree(d)
    print("artifact-suffixes: configured and default suffixes held")


def exec_in_cgroup(cg, *argv):
    """Runs argv in cgroup directory <cg> (moved there before the exec)."""
    subprocess.run(["/bin/bash", "-c", 'echo $$ > "$0/cgroup.procs" && '
                    'exec "$@"', cg, *argv], check=True)


def case_filter_subtree(agent_path, fixtures):
    """A cgroup filter covers the cgroup's whole subtree: with the parent
    on the allow-list an exec in its child cgroup is reported and one
    outside is not; with the parent on the deny-list an exec in the child
    is left out and one outside is reported."""
    tag = "px-subtree-%d" % os.getpid()
    parent = os.path.join(cgroup2_root(), tag)
    child = os.path.join(parent, "child", "grandchild")
    cfg = "/tmp/%s.yaml" % tag
    os.makedirs(child)
    try:
        marker = uuid.uuid4().hex
        with open(cfg, "w") as f:
            f.write("agent:\n  allow_cgroups: %s\n" % parent)
        agent = Agent(agent_path, "--config", cfg)
        subprocess.run(["/bin/true", marker, "out"], check=True)
        exec_in_cgroup(child, "/bin/true", marker, "in")
        agent.wait_for("the exec in the allowed cgroup's grandchild",
                       lambda e: e["type"] == "exec" and
                       e["argv"] == ["/bin/true", marker, "in"])
        time.sleep(0.5)
        check(agent, not agent.matching(lambda e: e["type"] == "exec" and
                                        e["argv"] == ["/bin/true", marker,
                                                      "out"]),
              "an exec outside the allowed subtree was reported")
        agent.stop()

        marker = uuid.uuid4().hex
        with open(cfg, "w") as f:
            f.write("agent:\n  deny_cgroups: %s\n" % parent)
        agent = Agent(agent_path, "--config", cfg)
        exec_in_cgroup(child, "/bin/true", marker, "in")
        subprocess.run(["/bin/true", marker, "out"], check=True)
        agent.wait_for("the exec outside the denied subtree",
                       lambda e: e["type"] == "exec" and
                       e["argv"] == ["/bin/true", marker, "out"])
        time.sleep(0.5)
        check(agent, not agent.matching(lambda e: e["type"] == "exec" and
                                        e["argv"] == ["/bin/true", marker,
                                                      "in"]),
              "an exec in the denied cgroup's grandchild was reported")
        agent.stop()
    finally:
        os.unlink(cfg)
        os.rmdir(child)
        os.rmdir(os.path.dirname(child))
        os.rmdir(parent)
    print("filter-subtree: allow and deny of %s cover its grandchild" % tag)


SYS_MKDIR = 83     # x86_64


def case_watch(agent_path, fixtures):
    """A watch policy on one executable: the syscall tracepoint is attached
    (only then: see the net case), a watched syscall made anywhere in that
    executable's process tree (itself, a forked child, what they exec) is
    reported once per process as a violation, and the same syscall
    outside the tree is not."""
    d = tempfile.mkdtemp(prefix="px-watch-")
    shell = os.path.join(d, "watched-sh")
    shutil.copy("/bin/bash", shell)
    cfg = os.path.join(d, "agent.yaml")
    with open(cfg, "w") as f:
        f.write("agent:\n  watch_exe: %s\n  watch_syscalls: %d\n" %
                (shell, SYS_MKDIR))
    try:
        agent = Agent(agent_path, "--config", cfg)
        perf = subprocess.run(["bpftool", "perf", "list"],
                              capture_output=True, text=True).stdout
        check(agent, any(l.startswith("pid %d " % agent.proc.pid) and
                         "sys_enter" in l for l in perf.splitlines()),
              "the syscall tracepoint is not attached")
        tree = subprocess.Popen(
            [shell, "-c", 'mkdir "$0/a"; /bin/mkdir "$0/b"; echo $$', d],
            stdout=subprocess.PIPE, text=True)
        top = int(tree.stdout.read())
        tree.wait()
        subprocess.run(["/bin/mkdir", os.path.join(d, "c")], check=True)
        vs = agent.wait_for("mkdir in the parent and in its child",
                            lambda e: e["type"] == "violation" and
                            e["rule"] == "syscall:%d" % SYS_MKDIR,
                            count=2)
        time.sleep(0.5)
        vs = agent.matching(lambda e: e["type"] == "violation")
        pids = sorted(v["pid"] for v in vs)
        check(agent, len(set(pids)) == 2, "violations of pids %r" % pids)
        for pid in pids:    # both mkdirs are children of the watched shell
            x = agent.wait_for("exec of %d" % pid, lambda e:
                               e["type"] == "exec" and e["pid"] == pid)[0]
            check(agent, x["ppid"] == top and x["exe"].endswith("mkdir"),
                  "violation by pid %d, not a mkdir child of %d: %r" %
                  (pid, top, x))
        for v in vs:
            check(agent, v["policy"] == "watch:" + shell and
                  v["action"] == "alert", "violation %r" % v)
        agent.stop()
    finally:
        shutil.rmtree(d)
    print("watch: mkdir of pids %r reported, none outside the tree" % pids)


def case_budget(agent_path, fixtures):
    """Hashing stays within the I/O budget: with 2 MiB/s and three fresh
    copies of a 1.7 MB jar held open, the agent defers what does not fit
    (and says so), then reports every jar, hashed, as the budget refills.
    A cgroup allow-list keeps the rest of the host out of the budget."""
    src = os.path.join(fixtures, JAR_REL)
    tag = "px-budget-%d" % os.getpid()
    cg = os.path.join(cgroup2_root(), tag)
    d = tempfile.mkdtemp(prefix=tag)
    jars = []
    for i in range(3):
        jars.append(os.path.join(d, "copy%d.jar" % i))
        shutil.copy(src, jars[-1])
    cfg = os.path.join(d, "agent.yaml")
    with open(cfg, "w") as f:
        f.write("agent:\n  allow_cgroups: %s\n  hash_rate_bytes: 2097152\n"
                "  hash_burst_bytes: 2097152\n" % cg)
    os.mkdir(cg)
    holder = None
    try:
        agent = Agent(agent_path, "--config", cfg)
        holder = subprocess.Popen(
            ["/bin/bash", "-c", 'echo $$ > "$0/cgroup.procs" && '
             'exec sleep 30 3<"$1" 4<"$2" 5<"$3"', cg, *jars])
        evs = agent.wait_for("the three jars", lambda e: is_open_file(e) and
                             e["pid"] == holder.pid, count=3, timeout=20)
        check(agent, sorted(e["path"] for e in evs) == sorted(jars),
              "jars %r" % [e["path"] for e in evs])
        digest = sha256_of(src)
        check(agent, all(e["sha256"] == digest for e in evs),
              "a jar reported without its digest")
        check(agent, any("wait for the I/O budget" in l
                         for l in agent.stderr),
              "nothing was deferred: the budget was not applied")
        agent.stop()
    finally:
        if holder:
            holder.kill()
            holder.wait()
        os.rmdir(cg)
        shutil.rmtree(d)
    print("budget: 3 jars reported within a 2 MiB/s budget")


def case_hash_large(agent_path, fixtures):
    """A large artifact (256 MiB) is digested a chunk at a time between
    turns of the loop: execs made while it is read are reported at once
    (each within half a second, several before the artifact), and the
    artifact then arrives with the digest sha256sum computes."""
    d = tempfile.mkdtemp(prefix="px-hash-large-")
    big = os.path.join(d, "big.jar")
    with open(big, "wb") as f:
        f.truncate(256 << 20)
        f.seek(12345)
        f.write(b"not only zeros")
    cfg = os.path.join(d, "agent.yaml")
    with open(cfg, "w") as f:
        f.write("agent:\n  hash_rate_bytes: 0\n")
    holder = None
    try:
        agent = Agent(agent_path, "--config", cfg)
        holder = subprocess.Popen(["/bin/bash", "-c",
                                   'exec sleep 30 3<"$0"', big])
        exec_of(agent, holder.pid, ["sleep", "30"])
        time.sleep(0.3)     # the exec pass (250 ms) has started the job
        marker = uuid.uuid4().hex
        spawned = {}
        for i in range(10):
            spawned[str(i)] = time.time()
            subprocess.run(["/bin/true", marker, str(i)], check=True)
            time.sleep(0.1)
        art = agent.wait_for("the big jar", lambda e: is_open_file(e) and
                             e["pid"] == holder.pid, timeout=30)[0]
        execs = agent.wait_for("the execs", lambda e: e["type"] == "exec"
                               and marker in e["argv"], count=10)
        late = [e["argv"][2] for e in execs
                if agent.arrival(e) - spawned[e["argv"][2]] > 0.5]
        check(agent, not late, "execs %r reported over 0.5 s late: the "
              "loop stalled" % late)
        before = [e for e in execs if agent.arrival(e) < agent.arrival(art)]
        check(agent, len(before) >= 3, "only %d execs reported while the "
              "jar was read: it was not read in chunks" % len(before))
        check_artifact(agent, art, holder.pid, big)
        agent.stop()
    finally:
        if holder:
            holder.kill()
            holder.wait()
        shutil.rmtree(d)
    print("hash-large: %d of 10 execs reported while 256 MiB were read" %
          len(before))


def case_unprivileged(agent_path, fixtures):
    """Without privileges the agent exits 1 with one message that says
    what it needs; it does not half-start."""
    r = subprocess.run(
        ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups",
         agent_path, "--stdout"], capture_output=True, text=True, timeout=20)
    if r.returncode != 1:
        print("FAIL: exit %d, expected 1; stderr: %s" % (r.returncode,
              r.stderr), file=sys.stderr)
        sys.exit(1)
    if "needs root or CAP_BPF+CAP_PERFMON+CAP_SYS_RESOURCE" not in r.stderr:
        print("FAIL: message does not say what is missing: %s" % r.stderr,
              file=sys.stderr)
        sys.exit(1)
    if r.stdout:
        print("FAIL: events printed: %s" % r.stdout[:200], file=sys.stderr)
        sys.exit(1)
    print("unprivileged: refused with %r" % r.stderr.strip()[-90:])


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--agent", required=True)
    ap.add_argument("--fixtures", required=True)
    ap.add_argument("case", choices=["exec", "artifacts", "artifacts-proc",
                                     "snapshot", "resync", "jvm",
                                     "unprivileged", "mappings", "classes",
                                     "classes-late", "net",
                                     "net-old-listener", "caps",
                                     "config-error", "filter",
                                     "filter-subtree", "watch", "budget",
                                     "filter-allow-pids", "net-netns",
                                     "hash-large",
                                     "artifact-suffixes"])
    a = ap.parse_args()
    jar = os.path.join(a.fixtures, JAR_REL)
    if not os.path.isfile(jar):
        print("FAIL: fixture %s is missing" % jar, file=sys.stderr)
        sys.exit(1)
    {"exec": case_exec, "artifacts": case_artifacts,
     "artifacts-proc": case_artifacts_proc,
     "snapshot": case_snapshot, "resync": case_resync, "jvm": case_jvm,
     "unprivileged": case_unprivileged, "mappings": case_mappings,
     "classes": case_classes, "classes-late": case_classes_late,
     "net": case_net, "net-old-listener": case_net_old_listener,
     "caps": case_caps, "config-error": case_config_error,
     "filter": case_filter, "filter-subtree": case_filter_subtree,
     "watch": case_watch, "budget": case_budget,
     "filter-allow-pids": case_filter_allow_pids,
     "net-netns": case_net_netns, "hash-large": case_hash_large,
     "artifact-suffixes": case_artifact_suffixes}[a.case](a.agent,
                                                          a.fixtures)
    print("1 passed, 0 failed")


if __name__ == "__main__":
    main()
