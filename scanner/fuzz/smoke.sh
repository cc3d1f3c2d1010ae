#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# Builds the fuzz targets with clang outside meson (for trees configured
# without -Dfuzz=true) and runs each for $2 seconds (default 20).
#   scanner/fuzz/smoke.sh BUILD_DIR [SECONDS]
# BUILD_DIR is any configured build of the project (for the generated
# parallax.pb-c.h and libpxcommon.a).  Exits non-zero on the first crash.
set -eu
B=$(cd "$1" && pwd)
T=${2:-20}
S=$(cd "$(dirname "$0")/.." && pwd)
O=$B/fuzz-smoke
mkdir -p "$O"
PKGS="libarchive json-c sqlite3 libhs ext2fs com_err libcrypto libprotobuf-c"
CF="-g -O1 -D_GNU_SOURCE -std=gnu17 -fsanitize=fuzzer-no-link,address,undefined \
 -I$S -I$S/../common -I$B/proto $(pkg-config --cflags $PKGS)"
LIBS="$(pkg-config --libs $PKGS grpc gpr yaml-0.1 libuv) -lm -lpthread"
SRCS="walk archive log4j maven finding output file inventory rpmdb osvmatch \
 snapshot report image ext4 secrets malware pool elfso yara progress"
for f in $SRCS; do clang $CF -c "$S/$f.c" -o "$O/$f.o"; done
for f in vercmp osv; do clang $CF -c "$S/../common/$f.c" -o "$O/c_$f.o"; done
for t in archive dpkg apk python npm rpm osv elf secrets pom manifest docker; do
	U=$(echo $t | tr a-z A-Z)
	clang $CF -DFUZZ_$U "$S/fuzz/fuzz_targets.c" "$O"/*.o \
		"$B/common/libpxcommon.a" -fsanitize=fuzzer,address,undefined $LIBS -o "$O/fuzz-$t"
	mkdir -p "$O/corpus-$t"
	# seeds: the smallest jars of the shared fixtures, when present
	if [ $t = archive ] && [ -d "$S/../../shared/fixtures/log4j-samples" ]; then
		find "$S/../../shared/fixtures/log4j-samples" -name '*.jar' -size -300k |
			head -5 | while read -r j; do cp "$j" "$O/corpus-$t/"; done
	fi
	# seeds: the hostile images the unit tests build (valid tars, odd JSON)
	if [ $t = docker ]; then
		python3 "$S/../tests/unit/scanner/make_hostile_images.py" "$O/corpus-$t"
	fi
	"$O/fuzz-$t" -max_total_time="$T" -rss_limit_mb=2048 \
		-print_final_stats=1 "$O/corpus-$t" 2>"$O/fuzz-$t.log" ||
		{ tail -30 "$O/fuzz-$t.log"; exit 1; }
	echo "fuzz-$t: $(grep -E 'stat::number_of_executed_units' "$O/fuzz-$t.log" | awk '{print $2}') runs, no crash"
done
