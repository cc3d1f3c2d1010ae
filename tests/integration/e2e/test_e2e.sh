#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
#
# The foundation's end-to-end path with every part real: the collector and
# its embedded PostgreSQL, the agent with its eBPF programs, the scanner over
# a snapshot holding log4j-core 2.14.1, and a JVM with that jar on its
# classpath.  Asserts that the correlation appears with the right pid, path,
# sha256 and CVEs, that it leaves "loaded now" when the JVM exits and stays in
# history, and that everything shuts down cleanly.
#
# usage: test_e2e.sh BUILD_DIR [FIXTURES_DIR]
set -euo pipefail

PX_BUILD=$(cd "$1" && pwd)
[ $# -ge 2 ] && PX_FIXTURES=$2
PX_WORK=$(mktemp -d /tmp/px-e2e.XXXXXX)
chmod 755 "$PX_WORK"
. "$(dirname "$0")/../lib.sh"
trap 'px_cleanup; rm -rf "$PX_WORK"' EXIT
px_require

px_start_collector
px_log "collector ready on port $PX_PORT"
px_start_agent
px_log "agent running"
px_make_snapshot
px_scan_snapshot
px_log "snapshot scanned"

# The scanner's verdict is stored before any process loads the jar.
px_cli --json findings | python3 -c '
import json, sys
rows = [r for r in json.load(sys.stdin) if r["path"] == sys.argv[1]]
cves = sorted(r["cve"] for r in rows)
want = ["CVE-2021-44228", "CVE-2021-44832", "CVE-2021-45046", "CVE-2021-45105"]
assert cves == want, f"findings for the jar: {cves}"
' "$PX_CORE_JAR" || px_die "findings for $PX_CORE_JAR are wrong"
# Nothing holds our copy open yet.  (Another process on this host holding
# the same bytes elsewhere would rightly correlate with the finding by
# sha256, so only our path is checked.)
px_cli --json loaded | python3 -c '
import json, sys
assert not any(r["path"] == sys.argv[1] for r in json.load(sys.stdin))
' "$PX_CORE_JAR" || px_die "$PX_CORE_JAR is loaded before any JVM ran"

# A command line that is not UTF-8 (any bytes are legal in argv) must reach
# the database like any other; the error check at the end catches a batch
# the collector had to refuse.
/bin/true $'\xfe\xff-not-utf8' || true

started=$(date +%s%N)
px_start_jvm 600
px_wait 30 "a correlation for JVM pid $PX_JVM_PID" px_jvm_loaded
px_log "correlation visible $(( ($(date +%s%N) - started) / 1000000 )) ms after the JVM started"

want_sha=$(sha256sum "$PX_CORE_JAR" | cut -d' ' -f1)
px_cli --host "$(hostname)" --json loaded | python3 -c '
import json, socket, sys
pid, path, sha = int(sys.argv[1]), sys.argv[2], sys.argv[3]
rows = json.load(sys.stdin)
mine = [r for r in rows if r["pid"] == pid]
assert len(mine) == 1, f"expected one loaded artifact for pid {pid}: {mine}"
r = mine[0]
assert r["path"] == path, r["path"]
assert r["inner"] == "", r["inner"]
assert r["sha256"] == sha, (r["sha256"], sha)
assert r["cves"] == ["CVE-2021-44228", "CVE-2021-44832", "CVE-2021-45046",
                     "CVE-2021-45105"], r["cves"]
assert r["severity"] == "critical", r["severity"]
assert "Log4jDemo" in r["command"], r["command"]
assert r["host"] == socket.gethostname(), (r["host"], socket.gethostname())
assert r["loaded_since"], r
# log4j-api carries no CVE: it is open in the JVM but must not correlate.
assert not any("log4j-api" in x["path"] for x in rows), rows
' "$PX_JVM_PID" "$PX_CORE_JAR" "$want_sha" || px_die "loaded row is wrong"
px_log "correlated finding:"
px_cli loaded >&2

# The JVM exits: the row leaves "loaded now" and stays in history.
jvm=$PX_JVM_PID
px_stop "$jvm" || true
px_wait 30 "pid $jvm to leave loaded-now" px_not_loaded "$jvm"
px_cli --json correlations | python3 -c '
import json, sys
pid = int(sys.argv[1])
rows = [r for r in json.load(sys.stdin) if r["pid"] == pid]
assert len(rows) == 4, f"expected 4 CVE correlations in history: {rows}"
for r in rows:
    assert r["state"] == "ended" and r["ended_at"], r
' "$jvm" || px_die "history after exit is wrong"
px_log "after exit: ended, kept in history"

# Clean shutdown: both exit 0 and the embedded PostgreSQL is stopped.
px_stop "$PX_AGENT_PID" || px_die "agent exited with $? on SIGTERM"
px_stop "$PX_COLLECTOR_PID" || px_die "collector exited with $? on SIGTERM"
[ ! -e "$PX_DATA/pg/postmaster.pid" ] || px_die "embedded PostgreSQL still running"
grep -q 'level=error' "$PX_WORK/collector.log" &&
	px_die "collector logged errors: $(grep 'level=error' "$PX_WORK/collector.log" | head -3)"
echo "e2e: 1 passed, 0 failed"
