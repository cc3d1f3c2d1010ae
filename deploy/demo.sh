#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
#
# The main job on this host, from a fresh machine: installs what is needed,
# builds parallax, then runs the whole platform here and shows what it is
# for.  The collector starts with its embedded PostgreSQL, the agent loads
# its eBPF programs, the scanner reads a demo snapshot holding a vulnerable
# log4j-core, and a JVM starts with that jar on its classpath.  The
# correlated finding (host, pid, command line, jar, sha256, CVEs, loaded
# since) is printed as soon as the collector has joined the two views.
#
#   deploy/demo.sh           run, show, then stop everything cleanly
#   deploy/demo.sh --keep    leave it all running to explore with `parallax`
set -euo pipefail

keep=false
case "${1:-}" in
--keep) keep=true ;;
"") ;;
-h | --help)
	sed -n '3,15p' "$0" | sed 's/^# \{0,1\}//'
	exit 0
	;;
*)
	echo "demo.sh: unknown option '$1' (try --help)" >&2
	exit 2
	;;
esac

top=$(cd "$(dirname "$0")/.." && pwd)
if [ "$(id -u)" -ne 0 ]; then
	echo "demo.sh: run as root: the agent loads eBPF programs and the collector runs PostgreSQL as the postgres user" >&2
	exit 2
fi

bash "$top/deploy/install-deps.sh"
[ -f "$top/build/build.ninja" ] || meson setup "$top/build" "$top"
ninja -C "$top/build"

PX_BUILD=$top/build
PX_WORK=${PX_DEMO_DIR:-/tmp/parallax-demo}
if [ -d "$PX_WORK" ]; then
	[ ! -e "$PX_WORK/collector/pg/postmaster.pid" ] ||
		{ echo "demo.sh: a demo is still running in $PX_WORK (stop its parallax-collector first)" >&2; exit 1; }
	rm -rf "$PX_WORK"
fi
mkdir -p "$PX_WORK"
chmod 755 "$PX_WORK"
. "$top/tests/integration/lib.sh"
$keep || trap 'px_cleanup' EXIT
px_require

px_log "starting the collector (embedded PostgreSQL in $PX_WORK/collector)"
px_start_collector
px_log "starting the agent (eBPF) -> 127.0.0.1:$PX_PORT"
px_start_agent
px_make_snapshot
px_log "scanning the demo snapshot $PX_SNAP"
px_scan_snapshot
px_log "starting a JVM with $PX_CORE_JAR on its classpath"
px_start_jvm 3600
px_wait 30 "the correlation of the JVM with the vulnerable jar" px_jvm_loaded

echo
echo "== Found at rest by the scanner AND loaded right now by a live process:"
echo
px_cli --json loaded | python3 -c '
import json, sys
for r in json.load(sys.stdin):
    jar = r["path"] + ("!/" + r["inner"] if r["inner"] else "")
    for label, value in (("host", r["host"]), ("pid", r["pid"]),
                         ("command line", r["command"]), ("jar", jar),
                         ("sha256", r["sha256"]),
                         ("CVEs", ", ".join(r["cves"]) +
                          "  (worst: " + r["severity"] + ")"),
                         ("loaded since", r["loaded_since"])):
        print("  %-13s %s" % (label, value))
    print()'
echo "== The same from the command-line client (parallax --data-dir $PX_DATA loaded):"
px_cli loaded
echo

if $keep; then
	cat <<MSG
Everything keeps running. Try:
  $PX_CLI --data-dir $PX_DATA findings
  $PX_CLI --data-dir $PX_DATA loaded --json
  $PX_CLI --data-dir $PX_DATA correlations
Stop it with:  kill ${PX_JVM_PID} ${PX_AGENT_PID} ${PX_COLLECTOR_PID}
Logs are in $PX_WORK/*.log
MSG
	exit 0
fi

px_log "stopping the JVM: its correlation leaves 'loaded now' and stays in history"
px_stop "$PX_JVM_PID" || true
px_wait 30 "the JVM to leave loaded-now" px_not_loaded "$PX_JVM_PID"
px_cli correlations
px_stop "$PX_AGENT_PID" || true
px_stop "$PX_COLLECTOR_PID" || true
px_log "stopped; logs are in $PX_WORK (run with --keep to leave everything running)"
