# SPDX-License-Identifier: Apache-2.0
#
# Shell helpers shared by the end-to-end test and deploy/demo.sh: start the
# real collector (embedded PostgreSQL), the real agent (eBPF) and a JVM,
# wait for conditions with a deadline, and clean up only what we started.
#
# Callers set PX_BIN (the build directory holding the binaries) and PX_WORK
# (a scratch directory), then source this file.

PX_FIXTURES=${PX_FIXTURES:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../../.." && pwd)/shared/fixtures}
PX_PIDS=()

px_log() { printf '%s %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
px_die() { px_log "FAIL: $*"; exit 1; }

# Stops every process we started, newest first, by pid; then reaps them.
px_cleanup() {
	local i pid
	for ((i = ${#PX_PIDS[@]} - 1; i >= 0; i--)); do
		pid=${PX_PIDS[i]}
		[ -n "$pid" ] || continue
		kill -TERM "$pid" 2>/dev/null || true
		for _ in $(seq 1 100); do
			kill -0 "$pid" 2>/dev/null || break
			sleep 0.1
		done
		kill -KILL "$pid" 2>/dev/null || true
		wait "$pid" 2>/dev/null || true
	done
	PX_PIDS=()
}

# px_wait SECONDS DESCRIPTION CMD...: runs CMD every 0.2 s until it succeeds
# or the deadline passes (then fails, naming DESCRIPTION).
px_wait() {
	local secs=$1 what=$2 end
	shift 2
	end=$(($(date +%s%N) + secs * 1000000000))
	until "$@" >/dev/null 2>&1; do
		[ "$(date +%s%N)" -lt "$end" ] || px_die "timed out after ${secs}s waiting for $what"
		sleep 0.2
	done
}

# A free loopback TCP port.
px_free_port() {
	python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'
}

px_require_root_tools() {
	[ "$(id -u)" -eq 0 ] || px_die "must run as root (eBPF, PostgreSQL as postgres)"
	command -v java >/dev/null || px_die "java not found: apt-get install openjdk-17-jdk-headless"
	command -v javac >/dev/null || px_die "javac not found: apt-get install openjdk-17-jdk-headless"
	[ -d "$PX_FIXTURES/log4j-samples" ] || px_die "fixtures not found at $PX_FIXTURES/log4j-samples"
	for b in parallax-collector parallax-agent parallax-scan parallax; do
		[ -x "$PX_BIN/$b" ] || px_die "$PX_BIN/$b not built"
	done
}

# Paths of the four binaries inside build directory PX_BUILD.
px_bins() {
	PX_COLLECTOR=$PX_BUILD/collector/parallax-collector
	PX_AGENT=$PX_BUILD/agent/parallax-agent
	PX_SCAN=$PX_BUILD/scanner/parallax-scan
	PX_CLI=$PX_BUILD/collector/parallax
	for b in "$PX_COLLECTOR" "$PX_AGENT" "$PX_SCAN" "$PX_CLI"; do
		[ -x "$b" ] || px_die "$b is not built (run: meson setup build && ninja -C build)"
	done
}

px_require() {
	[ "$(id -u)" -eq 0 ] || px_die "must run as root (eBPF programs, PostgreSQL run as postgres)"
	command -v java >/dev/null && command -v javac >/dev/null ||
		px_die "java/javac not found: apt-get install openjdk-17-jdk-headless"
	[ -f "$PX_FIXTURES/log4j-samples/EXPECTED.tsv" ] ||
		px_die "log4j fixtures not found at $PX_FIXTURES/log4j-samples"
	px_bins
}

# Starts the collector with its embedded PostgreSQL under $PX_WORK/collector
# on a free port; sets PX_PORT and PX_DATA.
px_start_collector() {
	PX_DATA=$PX_WORK/collector
	mkdir -p "$PX_DATA"
	"$PX_COLLECTOR" --data-dir "$PX_DATA" --listen 127.0.0.1:0 \
		>"$PX_WORK/collector.log" 2>&1 &
	PX_COLLECTOR_PID=$!
	PX_PIDS+=("$PX_COLLECTOR_PID")
	px_wait 120 "the collector to be ready (see $PX_WORK/collector.log)" \
		grep -q 'msg="collector ready"' "$PX_WORK/collector.log"
	PX_PORT=$(sed -n 's/.*msg="collector ready" listen=[^ ]* port=\([0-9]*\).*/\1/p' \
		"$PX_WORK/collector.log" | head -n 1)
	[ -n "$PX_PORT" ] || px_die "no port in the collector's ready line"
}

# Starts the agent streaming to the collector; waits until it runs.
px_start_agent() {
	"$PX_AGENT" --collector "127.0.0.1:$PX_PORT" \
		--spool-dir "$PX_WORK/spool" >"$PX_WORK/agent.log" 2>&1 &
	PX_AGENT_PID=$!
	PX_PIDS+=("$PX_AGENT_PID")
	px_wait 60 "the agent to attach (see $PX_WORK/agent.log)" \
		grep -q 'msg="running"' "$PX_WORK/agent.log"
}

# A small "disk snapshot": an application directory with a vulnerable
# log4j-core and its log4j-api, plus the compiled demo program.
px_make_snapshot() {
	PX_SNAP=$PX_WORK/snapshot
	PX_LIB=$PX_SNAP/opt/shop/lib
	mkdir -p "$PX_LIB" "$PX_SNAP/opt/shop/classes"
	cp "$PX_FIXTURES/log4j-samples/true-hits/log4j-core-2.14.1.jar" "$PX_LIB/"
	cp "$PX_FIXTURES/log4j-samples/false-hits/log4j-api-2.14.1.jar" "$PX_LIB/"
	javac -d "$PX_SNAP/opt/shop/classes" -cp "$PX_LIB/log4j-api-2.14.1.jar" \
		"$(dirname "${BASH_SOURCE[0]}")/../fixtures/java/Log4jDemo.java" ||
		px_die "javac failed on Log4jDemo.java"
	PX_CORE_JAR=$PX_LIB/log4j-core-2.14.1.jar
}

# Scans the snapshot into the collector.
px_scan_snapshot() {
	"$PX_SCAN" --collector "127.0.0.1:$PX_PORT" "$PX_SNAP" \
		>"$PX_WORK/scan.log" 2>&1 ||
		px_die "parallax-scan failed (exit $?): $(tail -n 3 "$PX_WORK/scan.log")"
}

# Starts the demo JVM with the snapshot's jars on its classpath; sets
# PX_JVM_PID once it has logged through log4j.
px_start_jvm() {
	java -cp "$PX_SNAP/opt/shop/classes:$PX_CORE_JAR:$PX_LIB/log4j-api-2.14.1.jar" \
		Log4jDemo "${1:-600}" >"$PX_WORK/jvm.log" 2>&1 &
	PX_JVM_PID=$!
	PX_PIDS+=("$PX_JVM_PID")
	px_wait 60 "the JVM to start (see $PX_WORK/jvm.log)" \
		grep -q '^ready' "$PX_WORK/jvm.log"
}

px_cli() { "$PX_CLI" --data-dir "$PX_DATA" "$@"; }

# px_loaded_has PID [PATH]: succeeds when `parallax loaded` lists process
# PID (holding PATH, when given).
px_loaded_has() {
	px_cli --json loaded | python3 -c '
import json, sys
pid, path = int(sys.argv[1]), sys.argv[2] if len(sys.argv) > 2 else None
rows = json.load(sys.stdin) or []
sys.exit(0 if any(r["pid"] == pid and path in (None, r["path"])
                  for r in rows) else 1)' "$@"
}

px_jvm_loaded() { px_loaded_has "$PX_JVM_PID" "$PX_CORE_JAR"; }
px_not_loaded() { ! px_loaded_has "$@"; }

# Stops pid $1 with SIGTERM and returns its exit status.
px_stop() {
	local pid=$1 rc=0
	kill -TERM "$pid" 2>/dev/null || true
	wait "$pid" || rc=$?
	PX_PIDS=("${PX_PIDS[@]/$pid/}")
	return "$rc"
}
