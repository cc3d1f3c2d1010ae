#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Structural checks of parallax-scan's SARIF 2.1.0 and CycloneDX 1.5 output.

usage: check_docs.py sarif|cyclonedx FILE [--resolve]

Checks what consumers rely on (no schema download is possible here):
SARIF: version, one run, a tool driver with rules, every result's ruleId
among the rules, levels from the spec's set, a location per result that
is a relative URI reference with a uriBaseId the run's originalUriBaseIds
maps to a file:// URI ending in '/' (what code-scanning services need to
place a result in a pull request); notifications located the same way or
by an absolute file:// URI.  With --resolve, every result's location must
name a file that exists once resolved against its base.
CycloneDX: bomFormat, specVersion 1.5, a urn:uuid serial number, unique
bom-refs, every vulnerability affecting existing components, severities
from the spec's set.  Prints a summary line; exits non-zero with the reason.
"""
import json
import os
import re
import sys
import urllib.parse


def check_bases(run):
    bases = run["originalUriBaseIds"]
    assert bases, "no originalUriBaseIds"
    for name, base in bases.items():
        assert re.fullmatch(r"[A-Z][A-Z0-9_]*", name), name
        assert base["uri"].startswith("file:///"), base
        assert base["uri"].endswith("/"), base
        assert base["description"]["text"], base
    return bases


def check_relative(loc, bases):
    """Returns the local path <loc> resolves to."""
    uri = loc["uri"]
    assert uri and not uri.startswith("/"), uri
    assert not urllib.parse.urlsplit(uri).scheme, uri
    assert ".." not in uri.split("/"), uri
    assert loc["uriBaseId"] in bases, loc
    full = urllib.parse.urljoin(bases[loc["uriBaseId"]]["uri"], uri)
    return urllib.parse.unquote(urllib.parse.urlsplit(full).path)


def check_sarif(d, resolve=False):
    assert d["version"] == "2.1.0", d.get("version")
    assert "sarif-2.1.0" in d["$schema"]
    assert len(d["runs"]) == 1
    run = d["runs"][0]
    driver = run["tool"]["driver"]
    assert driver["name"] == "parallax-scan"
    rules = {r["id"] for r in driver["rules"]}
    assert len(rules) == len(driver["rules"]), "duplicate rules"
    for r in driver["rules"]:
        assert r["defaultConfiguration"]["level"] in ("error", "warning", "note")
    bases = check_bases(run)
    for res in run["results"]:
        assert res["ruleId"] in rules, res["ruleId"]
        assert res["level"] in ("error", "warning", "note", "none")
        assert res["message"]["text"]
        loc = res["locations"][0]["physicalLocation"]["artifactLocation"]
        path = check_relative(loc, bases)
        if resolve:
            assert os.path.isfile(path), (loc, path)
    for n in run["invocations"][0]["toolExecutionNotifications"]:
        assert n["message"]["text"]
        loc = n["locations"][0]["physicalLocation"]["artifactLocation"]
        if "uriBaseId" in loc:
            check_relative(loc, bases)
        else:
            assert loc["uri"].startswith("file:///"), loc
    return "sarif results=%d rules=%d" % (len(run["results"]), len(rules))


def check_cdx(d):
    assert d["bomFormat"] == "CycloneDX"
    assert d["specVersion"] == "1.5"
    assert re.fullmatch(r"urn:uuid:[0-9a-f-]{36}", d["serialNumber"])
    assert d["version"] == 1
    refs = [c["bom-ref"] for c in d["components"]]
    assert len(refs) == len(set(refs)), "duplicate bom-ref"
    for c in d["components"]:
        assert c["type"] == "library" and c["name"], c
    for v in d["vulnerabilities"]:
        assert v["id"]
        for a in v["affects"]:
            assert a["ref"] in refs, a
        for r in v["ratings"]:
            assert r["severity"] in ("critical", "high", "medium", "low",
                                     "info", "none", "unknown")
    return "cyclonedx components=%d vulnerabilities=%d" % (
        len(d["components"]), len(d["vulnerabilities"]))


def main():
    kind, path = sys.argv[1], sys.argv[2]
    resolve = sys.argv[3:] == ["--resolve"]
    with open(path, encoding="utf-8") as f:
        d = json.load(f)
    print(check_sarif(d, resolve) if kind == "sarif" else check_cdx(d))


if __name__ == "__main__":
    main()
