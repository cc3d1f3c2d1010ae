// SPDX-License-Identifier: Apache-2.0
/*
 * OSV advisories matched offline against a snapshot's inventory (see
 * osvmatch.h).  Reading the advisories and deciding whether a version is in an
 * affected range is common/osv's; this file indexes the records' affected
 * entries by (version scheme, package name) so that matching a package is
 * a binary search, and decides which entries may apply to a package.
 *
 * Names: deb and apk packages match by their source package (OSV's
 * Debian and Alpine records name source packages), everything else by the
 * package name; PyPI names compare in PEP 503 normal form.  deb and apk
 * advisories naming a release ("Debian:12", "Alpine:v3.19") match only
 * packages of that release when the database says which (base-files,
 * alpine-base); otherwise any release.
 */
#include "osvmatch.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "osv.h"
#include "vercmp.h"

/* One affected entry of one record, as the index holds it. */
struct osv_entry {
	int scheme;
	char *name;                          /* normalised for matching */
	const struct px_osv_record *rec;     /* borrowed from the db */
	const struct px_osv_affected *aff;   /* within rec */
};

struct osv_db {
	struct px_osv_record **recs;
	size_t n_recs, cap_recs;
	struct osv_entry *ents;
	size_t n_ents, cap_ents;
	bool sorted;
};

struct osv_db *osv_db_new(void)
{
	return calloc(1, sizeof(struct osv_db));
}

size_t osv_db_count(const struct osv_db *db)
{
	return db ? db->n_recs : 0;
}

void osv_db_free(struct osv_db *db)
{
	size_t i;

	if (!db)
		return;
	for (i = 0; i < db->n_ents; i++)
		free(db->ents[i].name);
	for (i = 0; i < db->n_recs; i++)
		px_osv_record_free(db->recs[i]);
	free(db->ents);
	free(db->recs);
	free(db);
}

/* The name as matching sees it: PyPI names in PEP 503 form. */
static char *norm_name(int scheme, const char *name)
{
	char *s = strdup(name), *p;

	if (!s || scheme != PX_VER_PEP440)
		return s;
	for (p = s; *p; p++)
		*p = (char)(*p == '_' || *p == '.' ? '-' :
			    tolower((unsigned char)*p));
	return s;
}

static int grow(void **arr, size_t *cap, size_t n, size_t size)
{
	void *p;

	if (n < *cap)
		return 0;
	p = realloc(*arr, (*cap ? *cap * 2 : 64) * size);
	if (!p)
		return -ENOMEM;
	*arr = p;
	*cap = *cap ? *cap * 2 : 64;
	return 0;
}

/* Takes <rec> into <db> (freeing it on failure) and indexes its affected
 * entries of the ecosystems we compare; the others are ignored. */
static int add_record(struct osv_db *db, struct px_osv_record *rec)
{
	size_t i;

	if (grow((void **)&db->recs, &db->cap_recs, db->n_recs,
		 sizeof(*db->recs))) {
		px_osv_record_free(rec);
		return -ENOMEM;
	}
	db->recs[db->n_recs++] = rec;
	for (i = 0; i < rec->n_affected; i++) {
		const struct px_osv_affected *a = &rec->affected[i];
		int scheme = px_ver_scheme_of(a->ecosystem);
		struct osv_entry *e;

		if (scheme < 0)
			continue;
		if (grow((void **)&db->ents, &db->cap_ents, db->n_ents,
			 sizeof(*db->ents)))
			return -ENOMEM;
		e = &db->ents[db->n_ents];
		e->scheme = scheme;
		e->rec = rec;
		e->aff = a;
		e->name = norm_name(scheme, a->name);
		if (!e->name)
			return -ENOMEM;
		db->n_ents++;
		db->sorted = false;
	}
	return 0;
}

int osv_db_add_json(struct osv_db *db, const char *json, size_t len,
		    const char *origin)
{
	struct px_osv_record *rec;
	char why[160];
	int err = px_osv_parse(json, len, &rec, why, sizeof(why));

	if (err == -EBADMSG || err == -EINVAL) {
		px_debug("scan", "not an OSV advisory, skipped",
			 "origin=%s err=%s", px_q(origin), px_q(why));
		return -EINVAL;
	}
	return err ? err : add_record(db, rec);
}

static int entry_cmp(const void *a, const void *b)
{
	const struct osv_entry *x = a, *y = b;

	if (x->scheme != y->scheme)
		return x->scheme < y->scheme ? -1 : 1;
	return strcmp(x->name, y->name);
}

void osv_db_finish(struct osv_db *db)
{
	if (db->n_ents)
		qsort(db->ents, db->n_ents, sizeof(*db->ents), entry_cmp);
	db->sorted = true;
}

/* px_osv_load()'s visitor: every record into the db, skips logged. */
static int load_one(void *arg, const char *origin, struct px_osv_record *rec,
		    const char *why)
{
	if (!rec) {
		px_debug("scan", "advisory skipped", "origin=%s err=%s",
			 px_q(origin), px_q(why));
		return 0;
	}
	return add_record(arg, rec);
}

struct osv_db *osv_db_load(const char *path, char *err, size_t errlen)
{
	struct osv_db *db = osv_db_new();
	int ret;

	if (!db) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	err[0] = '\0';
	ret = px_osv_load(path, load_one, db, err, errlen);
	if (ret) {
		if (!err[0])
			snprintf(err, errlen, "advisories %s: %s", path,
				 strerror(-ret));
		osv_db_free(db);
		return NULL;
	}
	osv_db_finish(db);
	return db;
}

/* ---- matching --------------------------------------------------------- */

/* Whether finding <f> may match an advisory for OSV ecosystem <osv_eco>:
 * common/osv's rule, the collector's too.  The inventory knows the release
 * of deb and apk databases only (from base-files, alpine-base), and only
 * Debian's and Alpine's: an unknown distribution counts as theirs. */
static bool eco_matches(const struct scan_finding *f, const char *osv_eco)
{
	struct px_osv_distro d = { "", "" };

	if (f->release)
		snprintf(d.release, sizeof(d.release), "%s", f->release);
	return px_osv_applies(osv_eco, f->ecosystem, &d);
}

static bool has_cve(const struct scan_finding *f, const char *id)
{
	size_t i;

	for (i = 0; i < f->n_cves; i++)
		if (!strcmp(f->cves[i].id, id))
			return true;
	return false;
}

/* OSV's severity on our scale: an advisory with none is still one. */
static enum scan_severity severity_of(enum px_osv_severity s)
{
	switch (s) {
	case PX_OSV_SEV_CRITICAL:
		return SCAN_SEV_CRITICAL;
	case PX_OSV_SEV_HIGH:
		return SCAN_SEV_HIGH;
	case PX_OSV_SEV_LOW:
		return SCAN_SEV_LOW;
	default:
		return SCAN_SEV_MEDIUM;
	}
}

int osv_match(const struct osv_db *db, struct scan_finding *f)
{
	struct osv_entry key = { 0 };
	const char *version = f->version;
	const struct osv_entry *e;
	char why[300], *name;
	size_t lo, hi, mid;
	int scheme, added = 0;

	if (!db || !db->sorted || !db->n_ents || !f->ecosystem || !f->name ||
	    !f->version || (scheme = px_ver_scheme_of(f->ecosystem)) < 0)
		return 0;
	if ((!strcmp(f->ecosystem, "deb") || !strcmp(f->ecosystem, "apk")) &&
	    f->source) {
		name = norm_name(scheme, f->source);
		if (f->source_version)
			version = f->source_version;
	} else {
		name = norm_name(scheme, f->name);
	}
	if (!name)
		return 0;
	key.scheme = scheme;
	key.name = name;
	lo = 0;
	hi = db->n_ents;
	while (lo < hi) {
		mid = (lo + hi) / 2;
		if (entry_cmp(&db->ents[mid], &key) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	for (e = db->ents + lo; e < db->ents + db->n_ents &&
	     !entry_cmp(e, &key); e++) {
		const struct px_osv_record *rec = e->rec;
		char cve[SCAN_CVE_ID_LEN];
		struct scan_cve *c;

		/* Compared as stored: cut to the finding's id length. */
		snprintf(cve, sizeof(cve), "%s", rec->cve);
		if (!eco_matches(f, e->aff->ecosystem) ||
		    has_cve(f, cve) || f->n_cves == SCAN_MAX_CVES ||
		    !px_osv_affects(e->aff, e->scheme, version, why,
				    sizeof(why)))
			continue;
		c = &f->cves[f->n_cves++];
		memcpy(c->id, cve, sizeof(c->id));
		c->severity = severity_of(rec->severity);
		snprintf(c->evidence, sizeof(c->evidence),
			 "osv:%s affected range %s (%s %s %s)", rec->id, why,
			 e->aff->ecosystem, e->name, version);
		added++;
	}
	free(name);
	return added;
}
