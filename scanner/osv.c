// SPDX-License-Identifier: Apache-2.0
/*
 * OSV advisories, offline (see osv.h).  Each "affected" entry of every
 * advisory becomes one index entry keyed by (version scheme, package
 * name); matching a package is a binary search plus the range walk the
 * OSV schema describes: events sorted by version, "introduced" opens an
 * affected span, "fixed" closes it at that version, "last_affected" just
 * after it.  Explicit "versions" lists match exactly.  GIT ranges are not
 * evaluated (a snapshot holds no commit ids).
 *
 * Names: deb and apk packages match by their source package (OSV's
 * Debian and Alpine records name source packages), everything else by the
 * package name; PyPI names compare in PEP 503 normal form.  deb and apk
 * advisories naming a release ("Debian:12", "Alpine:v3.19") match only
 * packages of that release when the database says which (base-files,
 * alpine-base); otherwise any release.
 */
#include "osv.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <archive.h>
#include <archive_entry.h>
#include <json-c/json.h>

#include "log.h"
#include "vercmp.h"

#define OSV_MAX_FILE_BYTES (64u << 20)

enum osv_ev_kind { EV_INTRODUCED, EV_FIXED, EV_LAST_AFFECTED };

struct osv_event {
	enum osv_ev_kind kind;
	char *version;          /* "0" for introduced: since the start */
};

struct osv_adv {
	char *id;
	char cve[SCAN_CVE_ID_LEN];   /* first CVE alias, else the id */
	enum scan_severity severity;
};

struct osv_entry {
	int scheme;
	char *eco;              /* OSV ecosystem as written */
	char *name;             /* normalised for matching */
	size_t adv;
	struct osv_event *events; /* one range after another, each sorted */
	size_t *range_end;      /* events index where each range ends */
	size_t n_events, n_ranges;
	char **versions;
	size_t n_versions;
};

struct osv_db {
	struct osv_adv *advs;
	size_t n_advs, cap_advs;
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
	return db ? db->n_advs : 0;
}

void osv_db_free(struct osv_db *db)
{
	size_t i, j;

	if (!db)
		return;
	for (i = 0; i < db->n_ents; i++) {
		struct osv_entry *e = &db->ents[i];

		for (j = 0; j < e->n_events; j++)
			free(e->events[j].version);
		for (j = 0; j < e->n_versions; j++)
			free(e->versions[j]);
		free(e->events);
		free(e->range_end);
		free(e->versions);
		free(e->eco);
		free(e->name);
	}
	for (i = 0; i < db->n_advs; i++)
		free(db->advs[i].id);
	free(db->ents);
	free(db->advs);
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

/* ---- severity --------------------------------------------------------- */

static double cvss_pick(const char *vec, const char *metric,
			const char *letters, const double *values)
{
	char key[8];
	const char *p;
	int i;

	snprintf(key, sizeof(key), "/%s:", metric);
	p = strstr(vec, key);
	if (!p)
		return -1;
	p += strlen(key);
	for (i = 0; letters[i]; i++)
		if (*p == letters[i])
			return values[i];
	return -1;
}

/* The CVSS v3 base score of a vector, or -1 when it is not one. */
static double cvss3_score(const char *vec)
{
	static const double cia[] = { 0.56, 0.22, 0 };
	static const double av_v[] = { 0.85, 0.62, 0.55, 0.2 };
	static const double ac_v[] = { 0.77, 0.44 };
	static const double ui_v[] = { 0.85, 0.62 };
	bool changed = strstr(vec, "/S:C") != NULL;
	const double pr_u[] = { 0.85, 0.62, 0.27 }, pr_c[] = { 0.85, 0.68, 0.5 };
	double c, i, a, av, ac, pr, ui, iss, imp, ex, base;

	if (strncmp(vec, "CVSS:3", 6) != 0)
		return -1;
	c = cvss_pick(vec, "C", "HLN", cia);
	i = cvss_pick(vec, "I", "HLN", cia);
	a = cvss_pick(vec, "A", "HLN", cia);
	av = cvss_pick(vec, "AV", "NALP", av_v);
	ac = cvss_pick(vec, "AC", "LH", ac_v);
	pr = cvss_pick(vec, "PR", "NLH", changed ? pr_c : pr_u);
	ui = cvss_pick(vec, "UI", "NR", ui_v);
	if (c < 0 || i < 0 || a < 0 || av < 0 || ac < 0 || pr < 0 || ui < 0)
		return -1;
	iss = 1 - (1 - c) * (1 - i) * (1 - a);
	imp = changed ? 7.52 * (iss - 0.029) - 3.25 * pow(iss - 0.02, 15) :
			6.42 * iss;
	ex = 8.22 * av * ac * pr * ui;
	if (imp <= 0)
		return 0;
	base = changed ? 1.08 * (imp + ex) : imp + ex;
	if (base > 10)
		base = 10;
	return ceil(base * 10 - 1e-9) / 10;
}

static enum scan_severity sev_of_score(double s)
{
	if (s >= 9)
		return SCAN_SEV_CRITICAL;
	if (s >= 7)
		return SCAN_SEV_HIGH;
	if (s >= 4)
		return SCAN_SEV_MEDIUM;
	return s > 0 ? SCAN_SEV_LOW : SCAN_SEV_NONE;
}

/* database_specific.severity (GHSA words), else the highest CVSS v3
 * score, else medium: an advisory with no severity is still one. */
static enum scan_severity adv_severity(struct json_object *root)
{
	struct json_object *ds, *s, *arr, *it, *score;
	enum scan_severity best = SCAN_SEV_NONE;
	size_t i;

	if (json_object_object_get_ex(root, "database_specific", &ds) &&
	    json_object_object_get_ex(ds, "severity", &s) &&
	    json_object_is_type(s, json_type_string)) {
		const char *w = json_object_get_string(s);

		if (!strcasecmp(w, "critical"))
			return SCAN_SEV_CRITICAL;
		if (!strcasecmp(w, "high"))
			return SCAN_SEV_HIGH;
		if (!strcasecmp(w, "moderate") || !strcasecmp(w, "medium"))
			return SCAN_SEV_MEDIUM;
		if (!strcasecmp(w, "low"))
			return SCAN_SEV_LOW;
	}
	if (json_object_object_get_ex(root, "severity", &arr) &&
	    json_object_is_type(arr, json_type_array)) {
		for (i = 0; i < json_object_array_length(arr); i++) {
			it = json_object_array_get_idx(arr, i);
			if (json_object_object_get_ex(it, "score", &score) &&
			    json_object_is_type(score, json_type_string)) {
				double v = cvss3_score(json_object_get_string(score));

				if (v >= 0 && sev_of_score(v) > best)
					best = sev_of_score(v);
			}
		}
	}
	return best ? best : SCAN_SEV_MEDIUM;
}

/* ---- loading ---------------------------------------------------------- */

static const char *jstr(struct json_object *o, const char *key)
{
	struct json_object *v;

	if (!o || !json_object_object_get_ex(o, key, &v) ||
	    !json_object_is_type(v, json_type_string))
		return NULL;
	return json_object_get_string(v);
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

static int event_cmp_scheme;

static int event_cmp(const void *a, const void *b)
{
	const struct osv_event *x = a, *y = b;

	if (x->kind == EV_INTRODUCED && strcmp(x->version, "0") == 0)
		return y->kind == EV_INTRODUCED && strcmp(y->version, "0") == 0 ?
		       0 : -1;
	if (y->kind == EV_INTRODUCED && strcmp(y->version, "0") == 0)
		return 1;
	return px_vercmp((enum px_ver_scheme)event_cmp_scheme, x->version,
			 y->version);
}

/* Adds the ranges of one "affected" object to <e>. */
static int add_ranges(struct osv_entry *e, struct json_object *ranges)
{
	static const char *const kinds[] = { "introduced", "fixed",
					     "last_affected" };
	size_t i, j, k, start;

	for (i = 0; i < json_object_array_length(ranges); i++) {
		struct json_object *r = json_object_array_get_idx(ranges, i);
		struct json_object *evs;
		const char *type = jstr(r, "type");
		size_t *re;

		if (!type || !strcmp(type, "GIT") ||
		    !json_object_object_get_ex(r, "events", &evs) ||
		    !json_object_is_type(evs, json_type_array))
			continue;
		start = e->n_events;
		for (j = 0; j < json_object_array_length(evs); j++) {
			struct json_object *ev = json_object_array_get_idx(evs, j);
			struct osv_event *ne;

			for (k = 0; k < 3; k++) {
				const char *v = jstr(ev, kinds[k]);

				if (!v)
					continue;
				ne = realloc(e->events, (e->n_events + 1) *
					     sizeof(*ne));
				if (!ne)
					return -ENOMEM;
				e->events = ne;
				ne[e->n_events].kind = (enum osv_ev_kind)k;
				ne[e->n_events].version = strdup(v);
				if (!ne[e->n_events++].version)
					return -ENOMEM;
			}
		}
		event_cmp_scheme = e->scheme;
		if (e->n_events > start)
			qsort(e->events + start, e->n_events - start,
			      sizeof(*e->events), event_cmp);
		re = realloc(e->range_end, (e->n_ranges + 1) * sizeof(*re));
		if (!re)
			return -ENOMEM;
		e->range_end = re;
		re[e->n_ranges++] = e->n_events;
	}
	return 0;
}

static int add_versions(struct osv_entry *e, struct json_object *vers)
{
	size_t i, n = json_object_array_length(vers);

	e->versions = calloc(n + 1, sizeof(*e->versions));
	if (!e->versions)
		return -ENOMEM;
	for (i = 0; i < n; i++) {
		struct json_object *v = json_object_array_get_idx(vers, i);

		if (!json_object_is_type(v, json_type_string))
			continue;
		e->versions[e->n_versions] = strdup(json_object_get_string(v));
		if (!e->versions[e->n_versions++])
			return -ENOMEM;
	}
	return 0;
}

/* One element of "affected": an index entry when its ecosystem is one we
 * compare; others are ignored. */
static int add_affected(struct osv_db *db, struct json_object *aff)
{
	struct json_object *pkg, *ranges, *vers;
	const char *eco, *name;
	struct osv_entry *e;
	int scheme, err;

	if (!json_object_object_get_ex(aff, "package", &pkg))
		return 0;
	eco = jstr(pkg, "ecosystem");
	name = jstr(pkg, "name");
	if (!eco || !name || (scheme = px_ver_scheme_of(eco)) < 0)
		return 0;
	if (grow((void **)&db->ents, &db->cap_ents, db->n_ents,
		 sizeof(*db->ents)))
		return -ENOMEM;
	e = &db->ents[db->n_ents++];
	memset(e, 0, sizeof(*e));
	e->scheme = scheme;
	e->adv = db->n_advs;
	e->eco = strdup(eco);
	e->name = norm_name(scheme, name);
	if (!e->eco || !e->name)
		return -ENOMEM;
	if (json_object_object_get_ex(aff, "ranges", &ranges) &&
	    json_object_is_type(ranges, json_type_array) &&
	    (err = add_ranges(e, ranges)))
		return err;
	if (json_object_object_get_ex(aff, "versions", &vers) &&
	    json_object_is_type(vers, json_type_array) &&
	    (err = add_versions(e, vers)))
		return err;
	return 0;
}

/* The first "CVE-" alias of the advisory (or its own id when it is one). */
static void adv_cve(struct json_object *root, const char *id, char *out)
{
	struct json_object *al;
	size_t i;

	snprintf(out, SCAN_CVE_ID_LEN, "%s", id);
	if (!strncmp(id, "CVE-", 4) ||
	    !json_object_object_get_ex(root, "aliases", &al) ||
	    !json_object_is_type(al, json_type_array))
		return;
	for (i = 0; i < json_object_array_length(al); i++) {
		struct json_object *a = json_object_array_get_idx(al, i);
		const char *s = json_object_get_string(a);

		if (json_object_is_type(a, json_type_string) &&
		    !strncmp(s, "CVE-", 4)) {
			snprintf(out, SCAN_CVE_ID_LEN, "%s", s);
			return;
		}
	}
}

int osv_db_add_json(struct osv_db *db, const char *json, size_t len,
		    const char *origin)
{
	struct json_tokener *tok = json_tokener_new_ex(64);
	struct json_object *root = NULL, *affected;
	const char *id;
	size_t i, before = db->n_ents;
	int err = -EINVAL;

	if (!tok)
		return -ENOMEM;
	if (len <= INT32_MAX)
		root = json_tokener_parse_ex(tok, json, (int)len);
	json_tokener_free(tok);
	id = jstr(root, "id");
	if (!root || !id || !json_object_object_get_ex(root, "affected",
						       &affected) ||
	    !json_object_is_type(affected, json_type_array))
		goto out_put;
	if (grow((void **)&db->advs, &db->cap_advs, db->n_advs,
		 sizeof(*db->advs))) {
		err = -ENOMEM;
		goto out_put;
	}
	db->advs[db->n_advs].id = strdup(id);
	if (!db->advs[db->n_advs].id) {
		err = -ENOMEM;
		goto out_put;
	}
	adv_cve(root, id, db->advs[db->n_advs].cve);
	db->advs[db->n_advs].severity = adv_severity(root);
	for (i = 0; i < json_object_array_length(affected); i++) {
		err = add_affected(db, json_object_array_get_idx(affected, i));
		if (err)
			break;
	}
	db->n_advs++;
	if (db->n_ents != before)
		db->sorted = false;
out_put:
	if (err == -EINVAL)
		px_debug("scan", "not an OSV advisory, skipped", "origin=%s",
			 px_q(origin));
	json_object_put(root);
	return err;
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

static int load_file(struct osv_db *db, int dfd, const char *name,
		     const char *path)
{
	int fd = openat(dfd, name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	struct stat st;
	char *buf = NULL;
	ssize_t n;
	int err = -EIO;

	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) || st.st_size > OSV_MAX_FILE_BYTES)
		goto out_close;
	buf = malloc((size_t)st.st_size + 1);
	if (!buf) {
		err = -ENOMEM;
		goto out_close;
	}
	n = pread(fd, buf, (size_t)st.st_size, 0);
	if (n == st.st_size) {
		err = osv_db_add_json(db, buf, (size_t)n, path);
		if (err == -EINVAL)
			err = 0;
	}
out_close:
	free(buf);
	close(fd);
	return err;
}

static int load_dir(struct osv_db *db, int fd, const char *path, int depth)
{
	DIR *d = fdopendir(fd);
	struct dirent *de;
	char sub[4096];
	int err = 0;

	if (!d) {
		close(fd);
		return -errno;
	}
	while (!err && (de = readdir(d))) {
		size_t n = strlen(de->d_name);

		if (de->d_name[0] == '.')
			continue;
		snprintf(sub, sizeof(sub), "%s/%s", path, de->d_name);
		if (de->d_type == DT_DIR && depth < 8) {
			int cfd = openat(dirfd(d), de->d_name, O_RDONLY |
					 O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);

			if (cfd >= 0)
				err = load_dir(db, cfd, sub, depth + 1);
		} else if (n > 5 && !strcmp(de->d_name + n - 5, ".json")) {
			err = load_file(db, dirfd(d), de->d_name, sub);
		}
	}
	closedir(d);
	return err;
}

static int load_zip(struct osv_db *db, const char *path, char *err,
		    size_t errlen)
{
	struct archive *a = archive_read_new();
	struct archive_entry *e;
	char *buf = NULL;
	int r, ret = 0;

	if (!a)
		return -ENOMEM;
	archive_read_support_format_zip(a);
	if (archive_read_open_filename(a, path, 1 << 16) != ARCHIVE_OK) {
		snprintf(err, errlen, "%s: %s", path, archive_error_string(a));
		ret = -EINVAL;
		goto out_free;
	}
	while (!ret && (r = archive_read_next_header(a, &e)) == ARCHIVE_OK) {
		la_int64_t size = archive_entry_size(e);
		const char *name = archive_entry_pathname(e);
		la_ssize_t n;

		if (!name || size <= 0 || size > OSV_MAX_FILE_BYTES)
			continue;
		buf = malloc((size_t)size);
		if (!buf) {
			ret = -ENOMEM;
			break;
		}
		n = archive_read_data(a, buf, (size_t)size);
		if (n == size && osv_db_add_json(db, buf, (size_t)n, name) ==
		    -ENOMEM)
			ret = -ENOMEM;
		free(buf);
		buf = NULL;
	}
	if (!ret && r != ARCHIVE_EOF) {
		snprintf(err, errlen, "%s: %s", path, archive_error_string(a));
		ret = -EINVAL;
	}
out_free:
	archive_read_free(a);
	return ret;
}

struct osv_db *osv_db_load(const char *path, char *err, size_t errlen)
{
	struct osv_db *db = osv_db_new();
	struct stat st;
	int ret, fd;

	if (!db) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	if (stat(path, &st)) {
		snprintf(err, errlen, "advisories %s: %s", path, strerror(errno));
		goto err_free;
	}
	if (S_ISDIR(st.st_mode)) {
		fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		ret = fd < 0 ? -errno : load_dir(db, fd, path, 0);
		if (ret)
			snprintf(err, errlen, "advisories %s: %s", path,
				 strerror(-ret));
	} else {
		ret = load_zip(db, path, err, errlen);
	}
	if (ret)
		goto err_free;
	osv_db_finish(db);
	return db;
err_free:
	osv_db_free(db);
	return NULL;
}

/* ---- matching --------------------------------------------------------- */

/* Whether <v> falls in range [ev, end) of the sorted events; on a hit,
 * writes the range's bounds to <why>. */
static bool in_range(int scheme, const struct osv_event *ev, size_t n,
		     const char *v, char *why, size_t whylen)
{
	const char *intro = NULL, *upper = NULL, *kind = "fixed";
	bool affected = false;
	size_t i;
	int d;

	for (i = 0; i < n; i++) {
		bool zero = ev[i].kind == EV_INTRODUCED &&
			    !strcmp(ev[i].version, "0");

		d = zero ? -1 : px_vercmp((enum px_ver_scheme)scheme,
					  ev[i].version, v);
		if (ev[i].kind == EV_INTRODUCED && d <= 0) {
			affected = true;
			intro = ev[i].version;
			upper = NULL;
		} else if (ev[i].kind == EV_FIXED && d <= 0) {
			affected = false;
		} else if (ev[i].kind == EV_LAST_AFFECTED && d < 0) {
			affected = false;
		} else if (affected && !upper && ev[i].kind != EV_INTRODUCED) {
			upper = ev[i].version;
			kind = ev[i].kind == EV_FIXED ? "fixed" :
			       "last_affected";
		}
	}
	if (affected && upper)
		snprintf(why, whylen, "introduced %s %s %s", intro, kind, upper);
	else if (affected)
		snprintf(why, whylen, "introduced %s, no fix", intro);
	return affected;
}

/* Whether entry <e> affects version <v>; <why> says by which rule. */
static bool entry_affects(const struct osv_entry *e, const char *v,
			  char *why, size_t whylen)
{
	size_t r, start = 0, i;

	for (i = 0; i < e->n_versions; i++) {
		if (px_vercmp((enum px_ver_scheme)e->scheme, e->versions[i],
			      v) == 0) {
			snprintf(why, whylen, "version %s listed", v);
			return true;
		}
	}
	for (r = 0; r < e->n_ranges; r++) {
		if (in_range(e->scheme, e->events + start,
			     e->range_end[r] - start, v, why, whylen))
			return true;
		start = e->range_end[r];
	}
	return false;
}

/* Whether the release an OSV ecosystem names ("Debian:12",
 * "Alpine:v3.19") is <release>; true when either is unknown. */
static bool release_matches(const char *osv_eco, const char *release)
{
	const char *colon = strchr(osv_eco, ':');

	if (!colon || !release)
		return true;
	colon++;
	if (*colon == 'v')
		colon++;
	return !strcmp(colon, release);
}

/* Whether finding <f> may match an advisory for OSV ecosystem <osv_eco>:
 * deb and apk ones for their distribution and release only. */
static bool eco_matches(const struct scan_finding *f, const char *osv_eco)
{
	const char *eco = f->ecosystem;

	if (!strcmp(eco, "deb"))
		return !strncmp(osv_eco, "Debian", 6) &&
		       release_matches(osv_eco, f->release);
	if (!strcmp(eco, "apk"))
		return !strncmp(osv_eco, "Alpine", 6) &&
		       release_matches(osv_eco, f->release);
	if (!strcmp(eco, "rpm"))
		return px_ver_scheme_of(osv_eco) == PX_VER_RPM;
	return px_ver_scheme_of(eco) == px_ver_scheme_of(osv_eco);
}

static bool has_cve(const struct scan_finding *f, const char *id)
{
	size_t i;

	for (i = 0; i < f->n_cves; i++)
		if (!strcmp(f->cves[i].id, id))
			return true;
	return false;
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
		const struct osv_adv *adv = &db->advs[e->adv];
		struct scan_cve *c;

		if (!eco_matches(f, e->eco) ||
		    has_cve(f, adv->cve) || f->n_cves == SCAN_MAX_CVES ||
		    !entry_affects(e, version, why, sizeof(why)))
			continue;
		c = &f->cves[f->n_cves++];
		snprintf(c->id, sizeof(c->id), "%s", adv->cve);
		c->severity = adv->severity;
		snprintf(c->evidence, sizeof(c->evidence),
			 "osv:%s affected range %s (%s %s %s)", adv->id, why,
			 e->eco, e->name, version);
		added++;
	}
	free(name);
	return added;
}
