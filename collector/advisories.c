// SPDX-License-Identifier: Apache-2.0
/*
 * OSV import and evaluation (see advisories.h).  Reading the documents and
 * the range semantics are common/osv's, shared with the scanner; this file
 * stores the records in PostgreSQL, each affected entry's ranges as the
 * JSON common/osv writes them, and evaluates the stored inventory against
 * them with the same px_osv_affects() the scanner matches with.
 */
#include "advisories.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ingest_sql.h"
#include "osv.h"
#include "sqlbuf.h"
#include "vercmp.h"

/* ---- evaluation of one affected[] entry --------------------------------- */

bool coll_adv_affected(const char *version, const char *ranges_json,
		       const char *versions_json, int scheme)
{
	struct px_osv_affected a;
	bool hit = false;

	if (px_osv_affected_parse(ranges_json, versions_json, &a) == 0)
		hit = px_osv_affects(&a, scheme, version, NULL, 0);
	px_osv_affected_release(&a);
	return hit;
}

const enum coll_adv_col coll_adv_match_cols[COLL_ADV_MATCH_COLS] = {
	COLL_ADV_ID, COLL_ADV_ECO, COLL_ADV_NAME, COLL_ADV_VERSION,
	COLL_ADV_DISTRO, COLL_ADV_HOST_OS,
};

bool coll_adv_row_matches(const PGresult *res, int row)
{
	const char *eco = PQgetvalue(res, row, COLL_ADV_ECO);
	struct px_osv_distro d;

	/* A purl that names the release wins over the host's os: an image
	 * scanned on a host of another release is still its own. */
	if (!px_osv_distro_from_purl(PQgetvalue(res, row, COLL_ADV_DISTRO), &d))
		px_osv_distro_from_os(PQgetvalue(res, row, COLL_ADV_HOST_OS),
				      &d);
	if (!px_osv_applies(PQgetvalue(res, row, COLL_ADV_THEIR_ECO), eco, &d))
		return false;
	return coll_adv_affected(PQgetvalue(res, row, COLL_ADV_VERSION),
				 PQgetvalue(res, row, COLL_ADV_RANGES),
				 PQgetvalue(res, row, COLL_ADV_VERSIONS),
				 px_ver_scheme_of(eco));
}

/* ---- storing records ---------------------------------------------------- */

static int exec_params(PGconn *c, const char *sql, int n,
		       const char *const *p, char *err, size_t errlen)
{
	PGresult *res = PQexecParams(c, sql, n, NULL, p, NULL, NULL, 0);
	ExecStatusType st = PQresultStatus(res);
	int ret = 0;

	if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) {
		snprintf(err, errlen, "%s", PQresultErrorMessage(res));
		err[strcspn(err, "\n")] = '\0';
		ret = -EIO;
	}
	PQclear(res);
	return ret;
}

static int store_affected(PGconn *c, const char *id,
			  const struct px_osv_affected *a, char *err,
			  size_t errlen)
{
	struct coll_arr vers = { 0 };
	char *ranges = px_osv_ranges_json(a), *versions;
	const char *p[5];
	int ret;

	for (size_t i = 0; i < a->n_versions; i++)
		coll_arr_str(&vers, a->versions[i]);
	versions = coll_arr_take(&vers);
	if (ranges == NULL || versions == NULL) {
		free(ranges);
		free(versions);
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	p[0] = id;
	p[1] = a->ecosystem;
	p[2] = a->name;
	p[3] = ranges;
	p[4] = versions;
	ret = exec_params(c, "INSERT INTO advisory_affected (advisory_id, "
			  "ecosystem, name, ranges, versions) VALUES ($1, $2, "
			  "$3, $4::jsonb, $5::text[])", 5, p, err, errlen);
	free(ranges);
	free(versions);
	return ret;
}

/* Stores one record: the advisory row (replaced when the id is known) and
 * its affected entries. */
static int store_record(PGconn *c, const char *where,
			const struct px_osv_record *rec, char *err,
			size_t errlen)
{
	struct coll_arr aliases = { 0 };
	char *alias_lit;
	const char *p[6];
	int ret;

	for (size_t i = 0; i < rec->n_aliases; i++)
		coll_arr_str(&aliases, rec->aliases[i]);
	alias_lit = coll_arr_take(&aliases);
	if (alias_lit == NULL) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	p[0] = rec->id;
	p[1] = rec->cve;
	p[2] = rec->summary;
	p[3] = px_osv_severity_name(rec->severity);
	p[4] = alias_lit;
	p[5] = rec->modified;
	ret = exec_params(c, "INSERT INTO advisories AS a (id, cve, summary, "
			  "severity, aliases, modified) VALUES ($1, $2, $3, $4, "
			  "$5::text[], $6::timestamptz) ON CONFLICT (id) DO UPDATE "
			  "SET cve = excluded.cve, summary = excluded.summary, "
			  "severity = excluded.severity, aliases = excluded.aliases, "
			  "modified = excluded.modified, imported_at = now()",
			  6, p, err, errlen);
	if (ret == 0)
		ret = exec_params(c, "DELETE FROM advisory_affected "
				  "WHERE advisory_id = $1", 1, p, err, errlen);
	for (size_t i = 0; ret == 0 && i < rec->n_affected; i++)
		ret = store_affected(c, rec->id, &rec->affected[i], err, errlen);
	if (ret < 0) {
		char msg[512];

		snprintf(msg, sizeof(msg), "%s: %s", where, err);
		snprintf(err, errlen, "%s", msg);
	}
	free(alias_lit);
	return ret;
}

struct import {
	PGconn *c;
	struct coll_adv_result *r;
	char *err;
	size_t errlen;
};

/* px_osv_load()'s visitor: stores each record, counts and reports skips. */
static int import_one(void *arg, const char *origin,
		      struct px_osv_record *rec, const char *why)
{
	struct import *im = arg;
	int ret;

	im->r->files++;
	if (rec == NULL) {
		fprintf(stderr, "parallax: skipped %s: %s\n", origin, why);
		im->r->skipped++;
		return 0;
	}
	ret = store_record(im->c, origin, rec, im->err, im->errlen);
	px_osv_record_free(rec);
	if (ret == 0)
		im->r->advisories++;
	return ret;
}

/* ---- re-evaluating the inventory ---------------------------------------- */

/* Finds the (advisory, package version, distro, host os) matches of the
 * inventory, into the COLL_ADV_MATCH_COLS arrays <col>. */
static int find_matches(PGconn *c, struct coll_arr *col,
			struct coll_adv_result *r, char *err, size_t errlen)
{
	PGresult *res = PQexec(c,
		"SELECT a.advisory_id, f.ecosystem, f.name, f.version, "
		"a.ecosystem, a.ranges::text, array_to_json(a.versions)::text, "
		"f.distro, f.host_os "
		"FROM (SELECT DISTINCT f.ecosystem, f.name, f.version, "
		SQL_PURL_DISTRO("f.purl") " AS distro, coalesce(h.os, '') "
		"AS host_os FROM findings f LEFT JOIN hosts h "
		"ON h.host_id = f.host_id "
		"WHERE f.type = 'package' AND f.version <> '') f "
		"JOIN advisory_affected a ON lower(a.name) = lower(f.name)");

	if (PQresultStatus(res) != PGRES_TUPLES_OK) {
		snprintf(err, errlen, "%s", PQresultErrorMessage(res));
		err[strcspn(err, "\n")] = '\0';
		PQclear(res);
		return -EIO;
	}
	for (int i = 0; i < PQntuples(res); i++) {
		if (!coll_adv_row_matches(res, i))
			continue;
		for (int k = 0; k < COLL_ADV_MATCH_COLS; k++)
			coll_arr_str(&col[k],
				     PQgetvalue(res, i, coll_adv_match_cols[k]));
		r->matches++;
	}
	PQclear(res);
	return 0;
}

/* Findings an earlier import made that no current match supports, for
 * their host's release as well as their version. */
static const char SQL_DROP_STALE[] =
	"WITH gone AS (DELETE FROM findings f WHERE f.source_id = "
	"'advisories' AND NOT EXISTS (SELECT 1 FROM advisory_matches m "
	"JOIN advisories a ON a.id = m.advisory_id WHERE a.cve = f.cve "
	"AND m.ecosystem = f.ecosystem AND m.name = f.name "
	"AND m.version = f.version "
	"AND m.distro = " SQL_PURL_DISTRO("f.purl") " "
	"AND m.host_os = " SQL_HOST_OS("f.host_id") ") "
	"RETURNING f.host_id, f.id) "
	"DELETE FROM correlations c USING gone "
	"WHERE c.finding_host_id = gone.host_id AND c.finding_id = gone.id";

static int apply(PGconn *c, struct coll_arr *col, struct coll_adv_result *r,
		 char *err, size_t errlen)
{
	char *m[COLL_ADV_MATCH_COLS] = { NULL };
	const char *p[7];
	PGresult *res;
	int ret = 0;

	for (int k = 0; k < COLL_ADV_MATCH_COLS; k++) {
		m[k] = coll_arr_take(&col[k]);
		if (m[k] == NULL)
			ret = -ENOMEM;
	}
	if (ret < 0)
		goto out_free;
	ret = exec_params(c, "DELETE FROM advisory_matches", 0, NULL, err,
			  errlen);
	if (ret == 0)
		ret = exec_params(c, "INSERT INTO advisory_matches (advisory_id, "
				  "ecosystem, name, version, distro, host_os) "
				  "SELECT DISTINCT * FROM unnest($1::text[], "
				  "$2::text[], $3::text[], $4::text[], "
				  "$5::text[], $6::text[])", 6,
				  (const char *const *)m, err, errlen);
	if (ret == 0)
		ret = exec_params(c, SQL_DROP_STALE, 0, NULL, err, errlen);
	if (ret < 0)
		goto out_free;
	/* SQL_ADV_APPLY: $1..$4, $6, $7 the matches; $5, the host filter,
	 * NULL: every host. */
	p[0] = m[0];
	p[1] = m[1];
	p[2] = m[2];
	p[3] = m[3];
	p[4] = NULL;
	p[5] = m[4];
	p[6] = m[5];
	res = PQexecParams(c, SQL_ADV_APPLY, 7, NULL, p, NULL, NULL, 0);
	if (PQresultStatus(res) == PGRES_TUPLES_OK) {
		r->findings = strtol(PQgetvalue(res, 0, 0), NULL, 10);
		r->correlations = strtol(PQgetvalue(res, 0, 1), NULL, 10);
	} else {
		snprintf(err, errlen, "%s", PQresultErrorMessage(res));
		err[strcspn(err, "\n")] = '\0';
		ret = -EIO;
	}
	PQclear(res);
out_free:
	if (ret == -ENOMEM)
		snprintf(err, errlen, "out of memory");
	for (int k = 0; k < COLL_ADV_MATCH_COLS; k++)
		free(m[k]);
	return ret;
}

static int evaluate(PGconn *c, struct coll_adv_result *r, char *err,
		    size_t errlen)
{
	struct coll_arr col[COLL_ADV_MATCH_COLS] = { 0 };
	int ret = find_matches(c, col, r, err, errlen);

	if (ret == 0)
		return apply(c, col, r, err, errlen);
	for (int k = 0; k < COLL_ADV_MATCH_COLS; k++)
		coll_buf_free(&col[k].b);
	return ret;
}

/* Ends the transaction begun by the caller: COMMIT when <ret> is 0, else
 * ROLLBACK; returns <ret> or the COMMIT's failure. */
static int end_txn(PGconn *c, int ret, char *err, size_t errlen)
{
	PGresult *res = PQexec(c, ret == 0 ? "COMMIT" : "ROLLBACK");

	if (ret == 0 && PQresultStatus(res) != PGRES_COMMAND_OK) {
		snprintf(err, errlen, "%s", PQresultErrorMessage(res));
		ret = -EIO;
	}
	PQclear(res);
	return ret;
}

int coll_adv_evaluate(PGconn *c, struct coll_adv_result *r, char *err,
		      size_t errlen)
{
	int ret = exec_params(c, "BEGIN", 0, NULL, err, errlen);

	if (ret < 0)
		return ret;
	return end_txn(c, evaluate(c, r, err, errlen), err, errlen);
}

int coll_adv_import(PGconn *c, const char *path, struct coll_adv_result *r,
		    char *err, size_t errlen)
{
	struct import im = { c, r, err, errlen };
	int ret = exec_params(c, "BEGIN", 0, NULL, err, errlen);

	if (ret < 0)
		return ret;
	err[0] = '\0';
	ret = px_osv_load(path, import_one, &im, err, errlen);
	if (ret < 0 && err[0] == '\0')
		snprintf(err, errlen, "%s: %s", path, strerror(-ret));
	if (ret == 0)
		ret = evaluate(c, r, err, errlen);
	return end_txn(c, ret, err, errlen);
}
