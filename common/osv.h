/* SPDX-License-Identifier: Apache-2.0 */
/*
 * OSV advisories (https://ossf.github.io/osv-schema/), one reader for the
 * whole project: the scanner matches them offline against a snapshot's
 * inventory, the collector imports them into PostgreSQL.  This module
 * turns one OSV JSON document into a struct px_osv_record, walks a
 * directory tree of *.json files or a zip of them (as osv.dev publishes
 * per ecosystem), and decides whether a version falls in an affected
 * entry's ranges, comparing versions with common/vercmp.
 *
 * Range semantics, per range of type ECOSYSTEM or SEMVER (GIT ranges name
 * commits and are never evaluated): a version is affected when some
 * "introduced" event is at or below it ("0": since the first version) and
 * the lowest closing event above that introduction does not close the
 * range first: a "fixed" at or below the version, or a "last_affected"
 * below it.  An explicit "versions" list matches by version equality.
 */
#ifndef PX_OSV_H
#define PX_OSV_H

#include <stdbool.h>
#include <stddef.h>

/* Largest single JSON document read from a file or a zip entry. */
#define PX_OSV_MAX_DOC (64u << 20)

enum px_osv_event_kind {
	PX_OSV_INTRODUCED,
	PX_OSV_FIXED,
	PX_OSV_LAST_AFFECTED,
};

enum px_osv_range_type {
	PX_OSV_RANGE_ECOSYSTEM,
	PX_OSV_RANGE_SEMVER,
	PX_OSV_RANGE_GIT,
};

/* Ordered: a higher value is worse. */
enum px_osv_severity {
	PX_OSV_SEV_UNKNOWN,
	PX_OSV_SEV_LOW,
	PX_OSV_SEV_MEDIUM,
	PX_OSV_SEV_HIGH,
	PX_OSV_SEV_CRITICAL,
};

struct px_osv_event {
	enum px_osv_event_kind kind;
	char *version;
};

/* One element of "ranges", its events in the order OSV wrote them. */
struct px_osv_range {
	enum px_osv_range_type type;
	struct px_osv_event *events;
	size_t n_events;
};

/* One element of "affected".  ecosystem and name are NULL only in entries
 * made by px_osv_affected_parse(). */
struct px_osv_affected {
	char *ecosystem;         /* as OSV writes it: "Debian:12", "PyPI" */
	char *name;
	struct px_osv_range *ranges;
	size_t n_ranges;
	char **versions;         /* the explicit "versions" list */
	size_t n_versions;
};

struct px_osv_record {
	char *id;                /* GHSA-..., CVE-..., DSA-... */
	char *cve;               /* the id when a CVE, else the first CVE
				  * alias, else the id */
	char **aliases;
	size_t n_aliases;
	char *summary;           /* "" when absent */
	char *modified;          /* RFC 3339 text; NULL when absent */
	enum px_osv_severity severity;
	struct px_osv_affected *affected;
	size_t n_affected;
};

/*
 * Parses one OSV document of <len> bytes (no NUL needed) into a new record
 * in <*out>, freed with px_osv_record_free().  A document is an OSV record
 * when it is a JSON object with a string "id"; unknown fields, affected
 * entries without a package, and non-string values are ignored.  Severity:
 * database_specific.severity (the GHSA words), else the highest CVSS v3
 * base score in "severity", else unknown.
 *
 * Returns 0, -ENOMEM, -EBADMSG when the text is not JSON, or -EINVAL when
 * it is JSON but no OSV record; for the last two <why> (may be NULL) says
 * what is wrong.
 */
int px_osv_parse(const char *json, size_t len, struct px_osv_record **out,
		 char *why, size_t whylen);
void px_osv_record_free(struct px_osv_record *rec);

/*
 * What px_osv_load() calls for every *.json document it finds, with
 * <origin> naming it (a path, or a zip entry's name).  <rec> is the parsed
 * record, now owned by the callee; or NULL when the document was skipped
 * (unreadable, too large, not JSON, not OSV), with <why> saying why.  A
 * negative return stops the walk and becomes px_osv_load()'s result.
 */
typedef int (*px_osv_visit_fn)(void *arg, const char *origin,
			       struct px_osv_record *rec, const char *why);

/*
 * Reads <path>: a directory (searched recursively, 8 levels, in name
 * order, dot files and symbolic links skipped), a single file whose name
 * ends in ".json", or else a zip; every *.json document goes to <visit>.
 * Returns 0, the visitor's negative value, or -errno with the reason in
 * <err> when <path> itself cannot be read.
 */
int px_osv_load(const char *path, px_osv_visit_fn visit, void *arg,
		char *err, size_t errlen);

/*
 * Whether <version> falls in affected entry <a>: its versions list, or one
 * of its ECOSYSTEM ranges compared with <scheme> (an enum px_ver_scheme;
 * SEMVER ranges always compare as semver).  On a hit, <why> (may be NULL)
 * gets the rule: "version 1.1 listed", "introduced 1.0 fixed 1.2.4",
 * "introduced 0 last_affected 4.17.20" or "introduced 2.0, no fix".
 */
bool px_osv_affects(const struct px_osv_affected *a, int scheme,
		    const char *version, char *why, size_t whylen);

/*
 * Where a package is installed, as far as choosing advisories needs it:
 * the distribution as os-release's ID names it ("debian", "ubuntu",
 * "alpine", "rocky") and its release ("12", "22.04", "3.19"); each "" when
 * unknown.
 */
struct px_osv_distro {
	char id[32];
	char release[32];
};

/*
 * Fills <d> from the value of a purl's "distro" qualifier, as the scanner
 * writes it ("debian-12", "alpine-3.19"; also "ubuntu-22.04",
 * "opensuse-leap-15.5").  False, and <d> all "", when <q> is NULL, empty,
 * or names no release (a bare codename such as "bookworm").
 */
bool px_osv_distro_from_purl(const char *q, struct px_osv_distro *d);

/*
 * Fills <d> from os-release's PRETTY_NAME, as host facts carry it
 * ("Debian GNU/Linux 12 (bookworm)", "Ubuntu 22.04.3 LTS", "Alpine Linux
 * v3.19").  False, and <d> all "", when the distribution is not one whose
 * advisories OSV publishes; the release stays "" when the name has none
 * ("Debian GNU/Linux trixie/sid").
 */
bool px_osv_distro_from_os(const char *pretty, struct px_osv_distro *d);

/*
 * Whether an affected entry of OSV ecosystem <osv_eco> ("Debian:12",
 * "Ubuntu:22.04:LTS", "Alpine:v3.19", "Maven") may apply to a package of
 * our ecosystem <eco> ("deb", "apk", "rpm", "maven", ...) installed on <d>
 * (NULL: unknown).  The version schemes must agree.  For OS packages the
 * distribution must be the entry's (unknown: Debian for deb, Alpine for
 * apk, any for rpm), and the releases must agree where both are known,
 * compared by dot-separated parts as far as the shorter goes ("9" is
 * "9.3", "3.19" is not "3.18").  The scanner and the collector both match
 * with this rule.
 */
bool px_osv_applies(const char *osv_eco, const char *eco,
		    const struct px_osv_distro *d);

/*
 * <a>'s ranges as compact OSV JSON (an array, "[]" when none), for storing
 * them as OSV wrote them; the caller frees the text.  NULL on -ENOMEM.
 */
char *px_osv_ranges_json(const struct px_osv_affected *a);

/*
 * Rebuilds the ranges and versions of an affected entry from JSON text (an
 * OSV "ranges" array and a "versions" array; either may be NULL), as
 * stored from px_osv_ranges_json().  Elements that are not what OSV says
 * are ignored.  0, -ENOMEM, or -EBADMSG when a text is not JSON; release
 * <a> with px_osv_affected_release() in every case.
 */
int px_osv_affected_parse(const char *ranges_json, const char *versions_json,
			  struct px_osv_affected *a);
/* Frees what <a> holds (not <a> itself) and zeroes it. */
void px_osv_affected_release(struct px_osv_affected *a);

/* "unknown", "low", "medium", "high" or "critical". */
const char *px_osv_severity_name(enum px_osv_severity s);

#endif
