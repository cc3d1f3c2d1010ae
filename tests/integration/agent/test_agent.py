#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""End-to-end tests of parallax-agent with its real eBPF programs.

Each case starts the agent in --stdout mode (events as JSON lines), runs a
known workload, and checks the events against what /proc and sha256sum say.
The agent must load its programs: when it cannot (no root, no BTF), the case
fails with the agent's own message; it is never skipped.

usage: test_agent.py --agent PATH --fixtures DIR CASE
CASE: exec | artifacts | artifacts-proc | snapshot | resync | jvm |
      unprivileged
"""

import argparse
import hashlib
import json
import os
import signal
import subprocess
import sys
import threading
import time
import uuid

JAR_REL = "log4j-samples/true-hits/log4j-core-2.14.1.jar"
ZIP_REL = "log4j-samples/true-hits/log4j-core-2.10.0.zip"


class Agent:
    """The agent under test, its JSON events collected by a reader thread."""

    def __init__(self, path, *extra):
        self.events = []
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
    agent.stop()
    print("exec: %d execs, %d forks, %d exits checked" %
          (len(execs), len(forks), len(exits)))


def artifact_events(agent, pid):
    return agent.matching(lambda e: e["type"] == "artifact" and
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
                   lambda e: e["type"] == "artifact" and e["pid"] == pid,
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
            "the jar in every holder", lambda e: e["type"] == "artifact"
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


def case_resync(agent_path, fixtures):
    """Drops are counted and repaired: with a one-page ring buffer and the
    agent stopped, a burst of execs overflows it; a jar holder started
    then is lost to the ring, yet after the agent resumes it notices the
    drops, reports them in AgentHealth and finds the holder and its jar
    by a full pass."""
    jar = os.path.realpath(os.path.join(fixtures, JAR_REL))
    cfg = "/tmp/px-agent-smallring-%d.yaml" % os.getpid()
    with open(cfg, "w") as f:
        f.write("agent:\n  ringbuf_bytes: 4096\n"
                "  health_interval_ms: 300\n")
    agent = Agent(agent_path, "--config", cfg)
    os.unlink(cfg)
    holder = None
    try:
        agent.proc.send_signal(signal.SIGSTOP)
        for i in range(30):
            subprocess.run(["/bin/true", "burst", str(i)], check=True)
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
        ev = agent.wait_for("the holder's jar", lambda e: e["type"] ==
                            "artifact" and e["pid"] == pid, timeout=10)[0]
        check_artifact(agent, ev, pid, jar)
        h = agent.wait_for("a health report with drops", lambda e:
                           e["type"] == "health" and e["ringbuf_drops"] > 0,
                           timeout=10)[0]
        check(agent, any("kernel events dropped" in l
                         for l in agent.stderr), "drops not logged")
        agent.stop()
    finally:
        if holder:
            holder.kill()
            holder.wait()
    print("resync: %d drops reported, holder %d recovered" %
          (h["ringbuf_drops"], pid))


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
                            e["type"] == "artifact" and e["pid"] == jvm.pid
                            and e["path"] == jar, timeout=20)[0]
        check_artifact(agent, ev, jvm.pid, jar)
        x = agent.wait_for("exec of java", lambda e: e["type"] == "exec" and
                           e["pid"] == jvm.pid)[0]
        check(agent, x["exe"].endswith("/java"), "exe %r" % x["exe"])
        check(agent, jar in x["argv"], "argv %r" % x["argv"])
        time.sleep(0.5)
        n = len(agent.matching(lambda e: e["type"] == "artifact" and
                               e["pid"] == jvm.pid and e["path"] == jar))
        check(agent, n == 1, "the jar was reported %d times" % n)
        agent.stop()
    finally:
        jvm.kill()
        jvm.wait()
    print("jvm: jar of pid %d reported once with its sha256" % jvm.pid)


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
                                     "unprivileged"])
    a = ap.parse_args()
    jar = os.path.join(a.fixtures, JAR_REL)
    if not os.path.isfile(jar):
        print("FAIL: fixture %s is missing" % jar, file=sys.stderr)
        sys.exit(1)
    {"exec": case_exec, "artifacts": case_artifacts,
     "artifacts-proc": case_artifacts_proc,
     "snapshot": case_snapshot, "resync": case_resync, "jvm": case_jvm,
     "unprivileged": case_unprivileged}[a.case](a.agent, a.fixtures)
    print("1 passed, 0 failed")


if __name__ == "__main__":
    main()
