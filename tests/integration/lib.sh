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
