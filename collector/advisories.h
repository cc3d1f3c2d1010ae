/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Offline advisories: OSV JSON documents (a directory tree of *.json, or a
 * zip of them as osv.dev publishes per ecosystem) imported into PostgreSQL,
 * and the stored package inventory re-evaluated against them without any
 * rescan.  Reading OSV and evaluating its ranges is common/osv (shared with
 * the scanner), comparing versions with common/vercmp, per ecosystem.
 *
 * A match becomes a package finding with the advisory's CVE (source_id
 * "advisories") on every host holding that package version, correlated at
 * once with the processes that have the artifact loaded, so that the
 * findings, loaded and exposure queries show a new CVE immediately.  A
 * package finding ingested later gets the same treatment for its host
 * inside its own ingest transaction (ingest.c: state_adv, with
 * coll_adv_affected() and SQL_ADV_CANDIDATES / SQL_ADV_INGEST).
 *
 * Blocking libpq: this runs in the parallax CLI.
 */
#ifndef COLL_ADVISORIES_H
#define COLL_ADVISORIES_H

#include <stdbool.h>
#include <stddef.h>

#include <libpq-fe.h>

struct coll_adv_result {
	size_t files;            /* JSON documents read */
	size_t skipped;          /* unreadable or not OSV (each logged) */
	size_t advisories;       /* stored */
	size_t matches;          /* (advisory, package version) pairs */
	long findings;           /* finding rows written */
	long correlations;       /* correlations written */
};

/* Imports <path> (a directory, a .json file or a .zip; see px_osv_load()),
 * then evaluates.  0, or -errno
 * with the reason in <err>. */
int coll_adv_import(PGconn *c, const char *path, struct coll_adv_result *r,
		    char *err, size_t errlen);

/* Re-evaluates the stored inventory against the stored advisories. */
int coll_adv_evaluate(PGconn *c, struct coll_adv_result *r, char *err,
		      size_t errlen);

/*
 * Whether <version> is affected by one OSV affected[] entry: its "ranges"
 * array and "versions" array, as JSON text (either may be NULL), as stored
 * by the import; px_osv_affects() decides.  <scheme> is an enum
 * px_ver_scheme for ECOSYSTEM ranges; SEMVER ranges use semver.
 */
bool coll_adv_affected(const char *version, const char *ranges_json,
		       const char *versions_json, int scheme);

/* Columns of a candidate row: find_matches() and SQL_ADV_CANDIDATES. */
enum coll_adv_col {
	COLL_ADV_ID,             /* advisory id */
	COLL_ADV_ECO,            /* our ecosystem, name and version */
	COLL_ADV_NAME,
	COLL_ADV_VERSION,
	COLL_ADV_THEIR_ECO,      /* the OSV ecosystem: "Debian:12" */
	COLL_ADV_RANGES,
	COLL_ADV_VERSIONS,
	COLL_ADV_DISTRO,         /* purl distro qualifier, '' when none */
	COLL_ADV_HOST_OS,        /* the host's PRETTY_NAME, '' when unknown */
};

/* How many of those columns a match keeps (advisory_matches' key, in
 * this order): id, ecosystem, name, version, distro, host_os. */
#define COLL_ADV_MATCH_COLS 6
extern const enum coll_adv_col coll_adv_match_cols[COLL_ADV_MATCH_COLS];

/*
 * Whether candidate row <row> of <res> is a match: the OSV ecosystem
 * applies where the package was found (px_osv_applies: the purl's distro
 * qualifier, else the host's os), and the version is in the entry's
 * ranges (coll_adv_affected).  The same rule as the scanner's.
 */
bool coll_adv_row_matches(const PGresult *res, int row);

#endif
