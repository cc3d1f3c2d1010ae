#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Checks `parallax-scan --format jsonl` output over fixtures/log4j-samples.

usage: check_jsonl.py OUTPUT.jsonl SAMPLES_DIR

Every line must be a JSON object with the documented fields; per file, the
log4j 2 CVEs reported must be exactly those EXPECTED.tsv lists, and the
log4j 1.x jars must be reported as log4j:log4j.  Exits non-zero with the
reason otherwise.
"""
import json
import os
import sys

LOG4J2 = {"CVE-2021-44228", "CVE-2021-45046", "CVE-2021-45105",
          "CVE-2021-44832"}
FIELDS = ("type", "path", "inner", "sha256", "ecosystem", "name", "version",
          "purl", "cves", "evidence", "severity")


def main():
    out, samples = sys.argv[1], os.path.realpath(sys.argv[2])
    found = {}
    names = {}
    with open(out, encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            d = json.loads(line)
            for k in FIELDS:
                assert k in d, "line %d lacks %s" % (n, k)
            assert d["cves"] == sorted(d["cves"]), d
            assert len(d["sha256"]) == 64, d
            rel = os.path.relpath(d["path"], samples)
            found.setdefault(rel, set()).update(set(d["cves"]) & LOG4J2)
            names.setdefault(rel, set()).add(d["name"])
    checked = 0
    with open(os.path.join(samples, "EXPECTED.tsv"), encoding="utf-8") as f:
        for line in f:
            if line.startswith("#") or not line.strip():
                continue
            rel, what, cves = line.rstrip("\n").split("\t")
            want = set() if cves == "-" else set(cves.split(","))
            got = found.get(rel, set())
            assert got == want, "%s: got %s, want %s" % (rel, got, want)
            if rel.startswith("old-hits/log4j-1."):
                assert "log4j:log4j" in names.get(rel, ()), rel
            checked += 1
    assert checked >= 30, checked
    print("checked %d files" % checked)


if __name__ == "__main__":
    main()
