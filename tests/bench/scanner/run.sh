#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# Scanner benchmark (not a timed test: it reports ratios measured in one
# run, never asserts absolute times).
#   tests/bench/scanner/run.sh PARALLAX_SCAN [WORK_DIR] [SCALE]
# Generates the corpus (gen_corpus.py), warms the page cache, then times in
# the same run: cat of every file to /dev/null, sha256sum of every file,
# parallax-scan inventory only (--checks packages), parallax-scan full
# (packages, secrets, PII, malware by the corpus's hash signatures), and
# clamscan with the same .hdb/.hsb signatures; plus the image tar and ext4
# image.  Prints MB/s and files/s per row and the ratios the issue targets:
# the full scan against sha256sum run with the scanner's parallelism (one
# process per core, as the scanner's default --threads) and against one
# sha256sum process, each labelled.  clamscan is a required baseline
# (deploy/install-deps.sh installs it): without it the run fails.  It reads
# only the corpus's own .hdb/.hsb files (-d), so no freshclam database is
# ever needed.  SCALE may be fractional (0.05) for a quick smoke run.
set -eu
SCAN=$(readlink -f "$1")
W=${2:-/tmp/px-bench-scan}
SCALE=${3:-1}
HERE=$(cd "$(dirname "$0")" && pwd)
FIX=$HERE/../../../../shared/fixtures/log4j-samples

for tool in clamscan bc python3 sha256sum; do
	if ! command -v "$tool" > /dev/null; then
		echo "run.sh: $tool not found: it is a required baseline or tool; run deploy/install-deps.sh" >&2
		exit 1
	fi
done

# the corpus is deterministic: generated once per work dir and scale
if [ ! -f "$W/done-$SCALE" ]; then
	python3 "$HERE/gen_corpus.py" "$W" "$SCALE" "$FIX"
	touch "$W/done-$SCALE"
fi
T=$W/tree
FILES=$(find "$T" -type f | wc -l)
BYTES=$(find "$T" -type f -printf '%s\n' | awk '{s+=$1} END {print s}')
find "$T" -type f -print0 | xargs -0 cat > /dev/null      # warm the cache
cat "$W/image.tar" "$W/disk.img" > /dev/null

now() { date +%s.%N; }
# row NAME SECONDS BYTES FILES
row() {
	awk -v n="$1" -v s="$2" -v b="$3" -v f="$4" 'BEGIN {
		printf "%-34s %7.2f s %9.1f MB/s %9.0f files/s\n", n, s, b / s / 1048576, f / s }'
}
# the best of $REPEAT runs (default 3), baselines and scanner alike, so
# load from elsewhere on the machine skews the ratios less
REPEAT=${REPEAT:-3}
timeit() {
	best=""
	for _ in $(seq "$REPEAT"); do
		t0=$(now)
		sh -c "$1" > "$W/last.out" 2> "$W/last.err" || true
		t1=$(now)
		t=$(echo "$t1 - $t0" | bc)
		if [ -z "$best" ] || [ "$(echo "$t < $best" | bc)" = 1 ]; then
			best=$t
		fi
	done
	echo "$best"
}

echo "corpus: $FILES files, $(echo "$BYTES / 1048576" | bc) MB; image.tar $(du -m "$W/image.tar" | cut -f1) MB; disk.img $(du -m "$W/disk.img" | cut -f1) MB; $(nproc) cores"
CAT=$(timeit "find '$T' -type f -print0 | xargs -0 cat > /dev/null")
SHA=$(timeit "find '$T' -type f -print0 | xargs -0 sha256sum > /dev/null")
SHAP=$(timeit "find '$T' -type f -print0 | xargs -0 -P $(nproc) -n 64 sha256sum > /dev/null")
INV=$(timeit "'$SCAN' --format jsonl --checks packages '$T'")
INV_N=$(wc -l < "$W/last.out")
FULL=$(timeit "'$SCAN' --format jsonl --malware-sigs '$W/sigs' '$T'")
FULL_N=$(wc -l < "$W/last.out")
MAL_N=$(grep -c '"type":"malware"' "$W/last.out" || true)
SEC_N=$(grep -c '"type":"secret"\|"type":"pii"' "$W/last.out" || true)
FULL1=$(timeit "'$SCAN' --format jsonl --threads 1 --malware-sigs '$W/sigs' '$T'")
IMG=$(timeit "'$SCAN' --format jsonl --malware-sigs '$W/sigs' '$W/image.tar'")
IMG_N=$(wc -l < "$W/last.out")
EXT=$(timeit "'$SCAN' --format jsonl --malware-sigs '$W/sigs' '$W/disk.img'")
EXT_N=$(wc -l < "$W/last.out")
# -d names the only databases: clamscan never looks for freshclam's
CLAM=$(REPEAT=1 timeit "clamscan --no-summary -r -d '$W/sigs/sigs.hdb' -d '$W/sigs/sigs.hsb' '$T'")
CLAM_N=$(grep -c 'FOUND$' "$W/last.out" || true)
if [ "$CLAM_N" -eq 0 ]; then
	echo "run.sh: clamscan found nothing with the corpus's signatures; its output:" >&2
	cat "$W/last.err" >&2
	exit 1
fi

echo
row "cat (read speed)" "$CAT" "$BYTES" "$FILES"
row "sha256sum (1 process)" "$SHA" "$BYTES" "$FILES"
row "sha256sum (xargs -P $(nproc))" "$SHAP" "$BYTES" "$FILES"
row "parallax-scan inventory only" "$INV" "$BYTES" "$FILES"
row "parallax-scan full" "$FULL" "$BYTES" "$FILES"
row "parallax-scan full, --threads 1" "$FULL1" "$BYTES" "$FILES"
row "clamscan (same hash sigs)" "$CLAM" "$BYTES" "$FILES"
IB=$(stat -c %s "$W/image.tar")
EB=$(stat -c %s "$W/disk.img")
row "parallax-scan full, image.tar" "$IMG" "$IB" 1
row "parallax-scan full, disk.img" "$EXT" "$EB" 1
echo
echo "findings: inventory $INV_N; full $FULL_N (malware $MAL_N, secrets+pii $SEC_N); image $IMG_N; ext4 $EXT_N; clamscan $CLAM_N FOUND"
awk -v c="$CAT" -v s="$SHA" -v sp="$SHAP" -v i="$INV" -v f="$FULL" -v k="$CLAM" -v n="$(nproc)" 'BEGIN {
	printf "inventory / read speed                     = %.2fx (target >= 0.8)\n", c / i
	printf "full scan / sha256sum, same parallelism (%d) = %.2fx (target >= 0.5)\n", n, sp / f
	printf "full scan / sha256sum, 1 process           = %.2fx (for reference)\n", s / f
	printf "full scan vs clamscan                      = %.2fx faster (target > 1)\n", k / f
}'
