// SPDX-License-Identifier: Apache-2.0
/*
 * OSV import and evaluation (see advisories.h).
 *
 * OSV range semantics, per range of type ECOSYSTEM or SEMVER (GIT ranges
 * name commits and are skipped): a version is affected when some
 * "introduced" event is at or below it ("0": from the first version) and the
 * next event above that introduction does not close the range before it: a
 * "fixed" at or below the version, or a "last_affected" below it.  The
 * explicit "versions" list matches by string.
 */
#include "advisories.h"

#include <archive.h>
#include <archive_entry.h>
#include <dirent.h>
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "ingest_sql.h"
#include "sqlbuf.h"
#include "vercmp.h"

#define MAX_DOC (16u << 20)

/* ---- evaluation of one affected[] entry --------------------------------- */

static int cmp(int scheme, const char *a, const char *b)
{
	return px_vercmp((enum px_ver_scheme)scheme, a, b);
}

static bool range_affects(const char *v, json_t *events, int scheme)
{
	size_t n = json_array_size(events);

	for (size_t i = 0; i < n; i++) {
		const char *intro = json_string_value(
			json_object_get(json_array_get(events, i), "introduced"));
		const char *close = NULL;
		bool inclusive = false;

		if (intro == NULL)
			continue;
		if (strcmp(intro, "0") != 0 && cmp(scheme, v, intro) < 0)
			continue;
		/* The lowest closing event above the introduction. */
		for (size_t k = 0; k < n; k++) {
			json_t *e = json_array_get(events, k);
			const char *f = json_string_value(json_object_get(e, "fixed"));
			const char *l = json_string_value(
				json_object_get(e, "last_affected"));
			const char *c = f != NULL ? f : l;

			if (c == NULL || (strcmp(intro, "0") != 0 &&
					  cmp(scheme, c, intro) <= 0))
				continue;
			if (close == NULL || cmp(scheme, c, close) < 0) {
				close = c;
				inclusive = f == NULL;
			}
		}
		if (close == NULL)
			return true;
		if (inclusive ? cmp(scheme, v, close) <= 0 :
				cmp(scheme, v, close) < 0)
			return true;
	}
	return false;
}

bool coll_adv_affected(const char *version, const char *ranges_json,
		       const char *versions_json, int scheme)
{
	json_t *ranges = ranges_json ? json_loads(ranges_json, 0, NULL) : NULL;
	json_t *versions = versions_json ? json_loads(versions_json, 0, NULL) :
					   NULL;
	bool hit = false;
	size_t i;

	for (i = 0; !hit && i < json_array_size(versions); i++) {
		const char *s = json_string_value(json_array_get(versions, i));

		hit = s != NULL && strcmp(s, version) == 0;
	}
	for (i = 0; !hit && i < json_array_size(ranges); i++) {
		json_t *r = json_array_get(ranges, i);
		const char *type = json_string_value(json_object_get(r, "type"));

		if (type == NULL || strcmp(type, "GIT") == 0)
			continue;
		hit = range_affects(version, json_object_get(r, "events"),
				    strcmp(type, "SEMVER") == 0 ? PX_VER_SEMVER :
								  scheme);
	}
	json_decref(ranges);
	json_decref(versions);
	return hit;
}

/* ---- storing documents -------------------------------------------------- */

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

/* GHSA "CRITICAL/HIGH/MODERATE/LOW" to our names. */
static const char *severity_of(json_t *doc)
{
	const char *s = json_string_value(json_object_get(
		json_object_get(doc, "database_specific"), "severity"));

	if (s == NULL)
		return "unknown";
	if (strcasecmp(s, "critical") == 0)
		return "critical";
	if (strcasecmp(s, "high") == 0)
		return "high";
	if (strcasecmp(s, "moderate") == 0 || strcasecmp(s, "medium") == 0)
		return "medium";
	if (strcasecmp(s, "low") == 0)
		return "low";
	return "unknown";
}

/* The CVE an advisory is known by: itself, or its first CVE alias. */
static const char *cve_of(const char *id, json_t *aliases, struct coll_arr *arr)
{
	const char *cve = strncmp(id, "CVE-", 4) == 0 ? id : NULL;

	for (size_t i = 0; i < json_array_size(aliases); i++) {
		const char *a = json_string_value(json_array_get(aliases, i));

		if (a == NULL)
			continue;
		coll_arr_str(arr, a);
		if (cve == NULL && strncmp(a, "CVE-", 4) == 0)
			cve = a;
	}
	return cve != NULL ? cve : id;
}

/* <v> as compact JSON text, "[]" when absent or not an array; the
 * caller frees it. */
static char *dump_array(json_t *v)
{
	return json_is_array(v) ? json_dumps(v, JSON_COMPACT) : strdup("[]");
}

static int store_affected(PGconn *c, const char *id, json_t *aff, char *err,
			  size_t errlen)
{
	json_t *pkg = json_object_get(aff, "package");
	const char *eco = json_string_value(json_object_get(pkg, "ecosystem"));
	const char *name = json_string_value(json_object_get(pkg, "name"));
	char *ranges, *versions;
	const char *p[5];
	int ret;

	if (eco == NULL || name == NULL)
		return 0;
	ranges = dump_array(json_object_get(aff, "ranges"));
	versions = dump_array(json_object_get(aff, "versions"));
	if (ranges == NULL || versions == NULL) {
		free(ranges);
		free(versions);
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	p[0] = id;
	p[1] = eco;
	p[2] = name;
	p[3] = ranges;
	p[4] = versions;
	ret = exec_params(c, "INSERT INTO advisory_affected (advisory_id, "
			  "ecosystem, name, ranges, versions) SELECT $1, $2, "
			  "$3, $4::jsonb, coalesce(array(SELECT "
			  "jsonb_array_elements_text($5::jsonb)), '{}')",
			  5, p, err, errlen);
	free(ranges);
	free(versions);
	return ret;
}

/* Stores one OSV document; 1 when it is not an advisory (skipped). */
static int store_doc(PGconn *c, const char *where, const char *text,
		     size_t len, char *err, size_t errlen)
{
	json_error_t jerr;
	json_t *doc = json_loadb(text, len, 0, &jerr);
	struct coll_arr aliases = { 0 };
	const char *id, *p[6];
	char *alias_lit = NULL;
	json_t *affected;
	int ret;

	if (doc == NULL || !json_is_object(doc) ||
	    (id = json_string_value(json_object_get(doc, "id"))) == NULL) {
		fprintf(stderr, "parallax: skipped %s: %s\n", where,
			doc == NULL ? jerr.text : "not an OSV document (no id)");
		json_decref(doc);
		return 1;
	}
	p[0] = id;
	p[1] = cve_of(id, json_object_get(doc, "aliases"), &aliases);
	p[2] = json_string_value(json_object_get(doc, "summary"));
	if (p[2] == NULL)
		p[2] = "";
	p[3] = severity_of(doc);
	alias_lit = coll_arr_take(&aliases);
	p[4] = alias_lit;
	p[5] = json_string_value(json_object_get(doc, "modified"));
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
	affected = json_object_get(doc, "affected");
	for (size_t i = 0; ret == 0 && i < json_array_size(affected); i++)
		ret = store_affected(c, id, json_array_get(affected, i), err,
				     errlen);
	if (ret < 0) {
		char msg[512];

		snprintf(msg, sizeof(msg), "%s: %s", where, err);
		snprintf(err, errlen, "%s", msg);
	}
	free(alias_lit);
	json_decref(doc);
	return ret;
}

static int count_doc(int ret, struct coll_adv_result *r)
{
	r->files++;
	if (ret > 0)
		r->skipped++;
	else if (ret == 0)
		r->advisories++;
	return ret < 0 ? ret : 0;
}

static bool is_json(const char *name)
{
	size_t n = strlen(name);

	return n > 5 && strcmp(name + n - 5, ".json") == 0;
}

static int import_zip(PGconn *c, const char *path, struct coll_adv_result *r,
		      char *err, size_t errlen)
{
	struct archive *a = archive_read_new();
	struct archive_entry *e;
	int ret = 0;

	archive_read_support_format_zip(a);
	if (archive_read_open_filename(a, path, 1 << 16) != ARCHIVE_OK) {
		snprintf(err, errlen, "cannot open %s: %s", path,
			 archive_error_string(a));
		archive_read_free(a);
		return -EINVAL;
	}
	while (ret == 0 && archive_read_next_header(a, &e) == ARCHIVE_OK) {
		const char *name = archive_entry_pathname(e);
		la_int64_t size = archive_entry_size(e);
		char *buf;
		la_ssize_t got;

		if (name == NULL || !is_json(name) || size <= 0 ||
		    size > MAX_DOC)
			continue;
		buf = malloc((size_t)size);
		if (buf == NULL) {
			ret = -ENOMEM;
			break;
		}
		got = archive_read_data(a, buf, (size_t)size);
		if (got != size) {
			fprintf(stderr, "parallax: skipped %s!/%s: %s\n", path,
				name, archive_error_string(a));
			r->files++;
			r->skipped++;
		} else {
			ret = count_doc(store_doc(c, name, buf, (size_t)size,
						  err, errlen), r);
		}
		free(buf);
	}
	archive_read_free(a);
	return ret;
}

static int import_file(PGconn *c, const char *path, struct coll_adv_result *r,
		       char *err, size_t errlen)
{
	FILE *f = fopen(path, "rb");
	char *buf;
	size_t n;
	int ret;

	if (f == NULL) {
		fprintf(stderr, "parallax: skipped %s: %s\n", path, strerror(errno));
		r->files++;
		r->skipped++;
		return 0;
	}
	buf = malloc(MAX_DOC);
	if (buf == NULL) {
		fclose(f);
		return -ENOMEM;
	}
	n = fread(buf, 1, MAX_DOC, f);
	fclose(f);
	ret = count_doc(store_doc(c, path, buf, n, err, errlen), r);
	free(buf);
	return ret;
}

static int import_dir(PGconn *c, const char *dir, struct coll_adv_result *r,
		      char *err, size_t errlen, int depth)
{
	struct dirent **list;
	int n = scandir(dir, &list, NULL, alphasort), ret = 0;

	if (n < 0) {
		snprintf(err, errlen, "cannot read %s: %s", dir, strerror(errno));
		return -errno;
	}
	for (int i = 0; i < n; i++) {
		char path[4096];
		struct stat st;

		snprintf(path, sizeof(path), "%s/%s", dir, list[i]->d_name);
		if (ret == 0 && list[i]->d_name[0] != '.' &&
		    lstat(path, &st) == 0) {
			if (S_ISDIR(st.st_mode) && depth < 8)
				ret = import_dir(c, path, r, err, errlen,
						 depth + 1);
			else if (S_ISREG(st.st_mode) && is_json(path))
				ret = import_file(c, path, r, err, errlen);
		}
		free(list[i]);
	}
	free(list);
	return ret;
}

/* ---- re-evaluating the inventory ---------------------------------------- */

/* Finds the (advisory, package version) pairs of the inventory. */
static int find_matches(PGconn *c, struct coll_arr *col,
			struct coll_adv_result *r, char *err, size_t errlen)
{
	PGresult *res = PQexec(c,
		"SELECT a.advisory_id, f.ecosystem, f.name, f.version, "
		"a.ecosystem, a.ranges::text, array_to_json(a.versions)::text "
		"FROM (SELECT DISTINCT ecosystem, name, version FROM findings "
		"WHERE type = 'package' AND version <> '') f "
		"JOIN advisory_affected a ON lower(a.name) = lower(f.name)");

	if (PQresultStatus(res) != PGRES_TUPLES_OK) {
		snprintf(err, errlen, "%s", PQresultErrorMessage(res));
		err[strcspn(err, "\n")] = '\0';
		PQclear(res);
		return -EIO;
	}
	for (int i = 0; i < PQntuples(res); i++) {
		int ours = px_ver_scheme_of(PQgetvalue(res, i, 1));
		int theirs = px_ver_scheme_of(PQgetvalue(res, i, 4));

		if (ours < 0 || ours != theirs ||
		    !coll_adv_affected(PQgetvalue(res, i, 3),
				       PQgetvalue(res, i, 5),
				       PQgetvalue(res, i, 6), ours))
			continue;
		for (int k = 0; k < 4; k++)
			coll_arr_str(&col[k], PQgetvalue(res, i, k));
		r->matches++;
	}
	PQclear(res);
	return 0;
}

/* Replaces the matches, turns them into findings on every host holding
 * the version, and correlates those with the live loads. */
static const char SQL_APPLY_MATCHES[] =
	"WITH m AS (SELECT DISTINCT * FROM unnest($1::text[], $2::text[], "
	"$3::text[], $4::text[]) AS m(advisory_id, ecosystem, name, version)), "
	"src AS (SELECT DISTINCT ON (f.host_id, f.path, f.inner_path, "
	"f.ecosystem, f.name, f.version, a.cve) f.host_id, f.path, "
	"f.inner_path, f.ecosystem, f.name, f.version, f.sha256, "
	"f.layer_digest, f.purl, a.id AS advisory_id, a.cve, a.severity "
	"FROM findings f JOIN m ON f.type = 'package' "
	"AND f.ecosystem = m.ecosystem AND f.name = m.name "
	"AND f.version = m.version JOIN advisories a ON a.id = m.advisory_id "
	"ORDER BY f.host_id, f.path, f.inner_path, f.ecosystem, f.name, "
	"f.version, a.cve, a.id), "
	"f AS (INSERT INTO findings AS f (host_id, path, inner_path, type, "
	"ecosystem, name, version, cve, fingerprint, sha256, layer_digest, "
	"purl, severity, evidence, source_id) SELECT host_id, path, "
	"inner_path, 'package', ecosystem, name, version, cve, '', sha256, "
	"layer_digest, purl, severity, 'advisory ' || advisory_id || "
	"' (imported)', 'advisories' FROM src "
	"ON CONFLICT (host_id, path, inner_path, type, ecosystem, name, "
	"version, cve, fingerprint) DO UPDATE SET last_seen = now(), "
	"severity = CASE WHEN f.source_id = 'advisories' "
	"THEN excluded.severity ELSE f.severity END RETURNING f.*), "
	"c AS (" SQL_CORR_INSERT
	"FROM f JOIN artifacts_loaded l ON " SQL_MATCH("l", "f") " "
	"AND l.unloaded_at IS NULL "
	"LEFT JOIN processes p ON p.host_id = l.host_id "
	"AND p.exec_id = l.exec_id "
	"WHERE " SQL_RELEVANT("f") SQL_CORR_UPSERT " RETURNING 1) "
	"SELECT (SELECT count(*) FROM f), (SELECT count(*) FROM c)";

/* Findings an earlier import made that no current match supports. */
static const char SQL_DROP_STALE[] =
	"WITH gone AS (DELETE FROM findings f WHERE f.source_id = "
	"'advisories' AND NOT EXISTS (SELECT 1 FROM advisory_matches m "
	"JOIN advisories a ON a.id = m.advisory_id WHERE a.cve = f.cve "
	"AND m.ecosystem = f.ecosystem AND m.name = f.name "
	"AND m.version = f.version) RETURNING f.host_id, f.id) "
	"DELETE FROM correlations c USING gone "
	"WHERE c.finding_host_id = gone.host_id AND c.finding_id = gone.id";

static int apply(PGconn *c, struct coll_arr *col, struct coll_adv_result *r,
		 char *err, size_t errlen)
{
	char *p[4];
	PGresult *res;
	int ret = 0;

	for (int k = 0; k < 4; k++)
		p[k] = coll_arr_take(&col[k]);
	if (!p[0] || !p[1] || !p[2] || !p[3]) {
		ret = -ENOMEM;
		goto out_free;
	}
	ret = exec_params(c, "DELETE FROM advisory_matches", 0, NULL, err,
			  errlen);
	if (ret == 0)
		ret = exec_params(c, "INSERT INTO advisory_matches (advisory_id, "
				  "ecosystem, name, version) SELECT DISTINCT * "
				  "FROM unnest($1::text[], $2::text[], "
				  "$3::text[], $4::text[])", 4,
				  (const char *const *)p, err, errlen);
	if (ret == 0)
		ret = exec_params(c, SQL_DROP_STALE, 0, NULL, err, errlen);
	if (ret < 0)
		goto out_free;
	res = PQexecParams(c, SQL_APPLY_MATCHES, 4, NULL,
			   (const char *const *)p, NULL, NULL, 0);
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
	for (int k = 0; k < 4; k++)
		free(p[k]);
	return ret;
}

static int evaluate(PGconn *c, struct coll_adv_result *r, char *err,
		    size_t errlen)
{
	struct coll_arr col[4] = { 0 };
	int ret = find_matches(c, col, r, err, errlen);

	if (ret == 0)
		return apply(c, col, r, err, errlen);
	for (int k = 0; k < 4; k++)
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
	struct stat st;
	int ret;

	if (stat(path, &st) != 0) {
		snprintf(err, errlen, "cannot read %s: %s", path, strerror(errno));
		return -errno;
	}
	ret = exec_params(c, "BEGIN", 0, NULL, err, errlen);
	if (ret < 0)
		return ret;
	if (S_ISDIR(st.st_mode))
		ret = import_dir(c, path, r, err, errlen, 0);
	else if (is_json(path))
		ret = import_file(c, path, r, err, errlen);
	else
		ret = import_zip(c, path, r, err, errlen);
	if (ret == 0)
		ret = evaluate(c, r, err, errlen);
	return end_txn(c, ret, err, errlen);
}
