#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
#
# The whole parallax test suite, from a fresh machine: installs what is
# needed (deploy/install-deps.sh), builds twice (an optimised build and an
# AddressSanitizer+UndefinedBehaviorSanitizer build) and runs every test in
# both: unit tests, real-eBPF integration tests, real PostgreSQL, real gRPC
# over loopback and a real JVM.  Needs root (eBPF, PostgreSQL as the
# postgres user).  Exit status 0 only when every test passed in both builds.
#
#   tests/run.sh            both builds
#   PX_BUILDS=plain tests/run.sh    only the optimised build
set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"

if [ "$(id -u)" -ne 0 ]; then
	echo "tests/run.sh: the suite loads eBPF programs and runs PostgreSQL as the postgres user: run it as root" >&2
	exit 2
fi

bash deploy/install-deps.sh

builds=${PX_BUILDS:-"plain asan"}
passed=0
failed=0
status=0

run_build() {
	local name=$1 dir=$top/build-test-$1
	shift
	if [ ! -f "$dir/build.ninja" ]; then
		meson setup "$dir" "$top" "$@"
	else
		meson configure "$dir" "$@" >/dev/null
	fi
	ninja -C "$dir"
	echo "== tests: $name build"
	set +e
	meson test -C "$dir" --print-errorlogs --num-processes 2 \
		--timeout-multiplier "${PX_TIMEOUT_MULT:-1}"
	local rc=$?
	set -e
	local ok fail
	ok=$(python3 -c 'import json,sys
n=0
for l in open(sys.argv[1]):
    r=json.loads(l); n+= r["result"]=="OK"
print(n)' "$dir/meson-logs/testlog.json")
	fail=$(python3 -c 'import json,sys
n=0
for l in open(sys.argv[1]):
    r=json.loads(l); n+= r["result"] not in ("OK","EXPECTEDFAIL")
print(n)' "$dir/meson-logs/testlog.json")
	# No test may skip here (CI has root, eBPF, PostgreSQL and a JVM): a
	# skip counts as a failure.
	[ "$fail" -eq 0 ] || status=1
	passed=$((passed + ok))
	failed=$((failed + fail))
	[ "$rc" -eq 0 ] || status=1
}

for b in $builds; do
	case "$b" in
	plain) run_build plain -Dbuildtype=debugoptimized ;;
	asan)
		export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}
		export UBSAN_OPTIONS=${UBSAN_OPTIONS:-halt_on_error=1:print_stacktrace=1}
		run_build asan -Dbuildtype=debug -Db_sanitize=address,undefined \
			-Db_lundef=false
		unset ASAN_OPTIONS UBSAN_OPTIONS
		;;
	*) echo "tests/run.sh: unknown build '$b' (plain, asan)" >&2; exit 2 ;;
	esac
done

echo "$passed passed, $failed failed"
exit "$status"
