// SPDX-License-Identifier: Apache-2.0
/*
 * OSV advisories: parsing, loading and range evaluation (see osv.h).  The
 * JSON goes through json-c once, here; the scanner and the collector only
 * ever see struct px_osv_record.
 */
#include "osv.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include <archive.h>
#include <archive_entry.h>
#include <json-c/json.h>

#include "vercmp.h"

#define OSV_JSON_DEPTH 64
#define OSV_MAX_DIR_DEPTH 8

static const char *const event_names[] = {
	[PX_OSV_INTRODUCED] = "introduced",
	[PX_OSV_FIXED] = "fixed",
	[PX_OSV_LAST_AFFECTED] = "last_affected",
};

static const char *const range_names[] = {
	[PX_OSV_RANGE_ECOSYSTEM] = "ECOSYSTEM",
	[PX_OSV_RANGE_SEMVER] = "SEMVER",
	[PX_OSV_RANGE_GIT] = "GIT",
};

const char *px_osv_severity_name(enum px_osv_severity s)
{
	static const char *const names[] = { "unknown", "low", "medium",
					     "high", "critical" };

	return (unsigned)s < 5 ? names[s] : "unknown";
}

/* ---- freeing ------------------------------------------------------------ */

static void free_strv(char **v, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

void px_osv_affected_release(struct px_osv_affected *a)
{
	size_t i, j;

	if (!a)
		return;
	for (i = 0; i < a->n_ranges; i++) {
		for (j = 0; j < a->ranges[i].n_events; j++)
			free(a->ranges[i].events[j].version);
		free(a->ranges[i].events);
	}
	free(a->ranges);
	free_strv(a->versions, a->n_versions);
	free(a->ecosystem);
	free(a->name);
	memset(a, 0, sizeof(*a));
}

void px_osv_record_free(struct px_osv_record *rec)
{
	size_t i;

	if (!rec)
		return;
	for (i = 0; i < rec->n_affected; i++)
		px_osv_affected_release(&rec->affected[i]);
	free(rec->affected);
	free_strv(rec->aliases, rec->n_aliases);
	free(rec->id);
	free(rec->cve);
	free(rec->summary);
	free(rec->modified);
	free(rec);
}

/* ---- JSON helpers ------------------------------------------------------- */

/* The string member <key> of object <o>, or NULL. */
static const char *jstr(struct json_object *o, const char *key)
{
	struct json_object *v;

	if (!json_object_is_type(o, json_type_object) ||
	    !json_object_object_get_ex(o, key, &v) ||
	    !json_object_is_type(v, json_type_string))
		return NULL;
	return json_object_get_string(v);
}

/* The array member <key> of object <o>, or NULL. */
static struct json_object *jarr(struct json_object *o, const char *key)
{
	struct json_object *v;

	if (!json_object_is_type(o, json_type_object) ||
	    !json_object_object_get_ex(o, key, &v) ||
	    !json_object_is_type(v, json_type_array))
		return NULL;
	return v;
}

/* Parses <len> bytes of JSON; NULL with the reason in <why>. */
static struct json_object *parse_text(const char *text, size_t len,
				      char *why, size_t whylen)
{
	struct json_tokener *tok;
	struct json_object *root = NULL;
	enum json_tokener_error jerr = json_tokener_error_parse_eof;

	if (len > INT32_MAX) {
		if (why)
			snprintf(why, whylen, "document too large");
		return NULL;
	}
	tok = json_tokener_new_ex(OSV_JSON_DEPTH);
	if (!tok) {
		if (why)
			snprintf(why, whylen, "out of memory");
		return NULL;
	}
	root = json_tokener_parse_ex(tok, text, (int)len);
	if (!root)
		jerr = json_tokener_get_error(tok);
	json_tokener_free(tok);
	if (!root && why) {
		/* An unfinished document reads as "continue": say so. */
		snprintf(why, whylen, "not JSON: %s",
			 jerr == json_tokener_continue ? "unexpected end" :
			 json_tokener_error_desc(jerr));
	}
	return root;
}

/* Copies the string elements of JSON array <arr> into <*out>. */
static int copy_strings(struct json_object *arr, char ***out, size_t *n)
{
	size_t i, len = arr ? json_object_array_length(arr) : 0;

	*n = 0;
	*out = calloc(len + 1, sizeof(**out));
	if (!*out)
		return -ENOMEM;
	for (i = 0; i < len; i++) {
		struct json_object *v = json_object_array_get_idx(arr, i);

		if (!json_object_is_type(v, json_type_string))
			continue;
		(*out)[*n] = strdup(json_object_get_string(v));
		if (!(*out)[(*n)++])
			return -ENOMEM;
	}
	return 0;
}

/* ---- ranges ------------------------------------------------------------- */

static int range_type(const char *s)
{
	size_t i;

	for (i = 0; s && i < sizeof(range_names) / sizeof(range_names[0]); i++)
		if (!strcmp(s, range_names[i]))
			return (int)i;
	return -1;
}

/* Appends the events of one range object; ranges of unknown types and
 * events that are none of ours are left out. */
static int add_range(struct px_osv_affected *a, struct json_object *r)
{
	struct json_object *evs = jarr(r, "events");
	int type = range_type(jstr(r, "type"));
	struct px_osv_range *nr, *rg;
	size_t i, k, n;

	if (type < 0 || !evs)
		return 0;
	nr = realloc(a->ranges, (a->n_ranges + 1) * sizeof(*nr));
	if (!nr)
		return -ENOMEM;
	a->ranges = nr;
	rg = &nr[a->n_ranges++];
	memset(rg, 0, sizeof(*rg));
	rg->type = (enum px_osv_range_type)type;
	n = json_object_array_length(evs);
	rg->events = calloc(n * 3 + 1, sizeof(*rg->events));
	if (!rg->events)
		return -ENOMEM;
	for (i = 0; i < n; i++) {
		struct json_object *ev = json_object_array_get_idx(evs, i);

		for (k = 0; k < 3; k++) {
			const char *v = jstr(ev, event_names[k]);

			if (!v)
				continue;
			rg->events[rg->n_events].kind = (enum px_osv_event_kind)k;
			rg->events[rg->n_events].version = strdup(v);
			if (!rg->events[rg->n_events++].version)
				return -ENOMEM;
		}
	}
	return 0;
}

/* Fills <a>'s ranges and versions from the JSON arrays (either NULL). */
static int fill_ranges(struct px_osv_affected *a, struct json_object *ranges,
		       struct json_object *versions)
{
	size_t i;
	int err;

	for (i = 0; ranges && i < json_object_array_length(ranges); i++) {
		err = add_range(a, json_object_array_get_idx(ranges, i));
		if (err)
			return err;
	}
	return copy_strings(versions, &a->versions, &a->n_versions);
}

int px_osv_affected_parse(const char *ranges_json, const char *versions_json,
			  struct px_osv_affected *a)
{
	struct json_object *r = NULL, *v = NULL;
	int err = -EBADMSG;

	memset(a, 0, sizeof(*a));
	if (ranges_json &&
	    !(r = parse_text(ranges_json, strlen(ranges_json), NULL, 0)))
		goto out_put;
	if (versions_json &&
	    !(v = parse_text(versions_json, strlen(versions_json), NULL, 0)))
		goto out_put;
	err = fill_ranges(a, json_object_is_type(r, json_type_array) ? r : NULL,
			  json_object_is_type(v, json_type_array) ? v : NULL);
out_put:
	json_object_put(r);
	json_object_put(v);
	return err;
}

char *px_osv_ranges_json(const struct px_osv_affected *a)
{
	struct json_object *arr = json_object_new_array();
	char *text = NULL;
	const char *s;
	size_t i, j;

	if (!arr)
		return NULL;
	for (i = 0; i < a->n_ranges; i++) {
		const struct px_osv_range *rg = &a->ranges[i];
		struct json_object *r = json_object_new_object();
		struct json_object *evs = json_object_new_array();

		if (!r || !evs || json_object_array_add(arr, r)) {
			json_object_put(r);
			json_object_put(evs);
			goto out_put;
		}
		if (json_object_object_add(r, "type", json_object_new_string(
				range_names[rg->type])) ||
		    json_object_object_add(r, "events", evs)) {
			json_object_put(evs);
			goto out_put;
		}
		for (j = 0; j < rg->n_events; j++) {
			struct json_object *ev = json_object_new_object();

			if (!ev || json_object_array_add(evs, ev)) {
				json_object_put(ev);
				goto out_put;
			}
			if (json_object_object_add(ev,
				    event_names[rg->events[j].kind],
				    json_object_new_string(rg->events[j].version)))
				goto out_put;
		}
	}
	s = json_object_to_json_string_ext(arr, JSON_C_TO_STRING_PLAIN |
					   JSON_C_TO_STRING_NOSLASHESCAPE);
	text = s ? strdup(s) : NULL;
out_put:
	json_object_put(arr);
	return text;
}

/* ---- severity ----------------------------------------------------------- */

/* <x> to the 15th power, without libm. */
static double pow15(double x)
{
	double r = 1;
	int i;

	for (i = 0; i < 15; i++)
		r *= x;
	return r;
}

/* CVSS "round up": the smallest one-decimal number at or above <x>. */
static double round_up1(double x)
{
	double t = x * 10 - 1e-9;
	long n = (long)t;

	return (double)(n < t ? n + 1 : n) / 10;
}

/* The weight the letter after "/<metric>:" in <vec> stands for. */
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

/* The CVSS v3 base score of a vector (FIRST's formula), or -1 when it is
 * not one. */
static double cvss3_score(const char *vec)
{
	static const double cia[] = { 0.56, 0.22, 0 };
	static const double av_v[] = { 0.85, 0.62, 0.55, 0.2 };
	static const double ac_v[] = { 0.77, 0.44 };
	static const double ui_v[] = { 0.85, 0.62 };
	static const double pr_u[] = { 0.85, 0.62, 0.27 };
	static const double pr_c[] = { 0.85, 0.68, 0.5 };
	bool changed = strstr(vec, "/S:C") != NULL;
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
	imp = changed ? 7.52 * (iss - 0.029) - 3.25 * pow15(iss - 0.02) :
			6.42 * iss;
	ex = 8.22 * av * ac * pr * ui;
	if (imp <= 0)
		return 0;
	base = changed ? 1.08 * (imp + ex) : imp + ex;
	if (base > 10)
		base = 10;
	return round_up1(base);
}

static enum px_osv_severity sev_of_score(double s)
{
	if (s >= 9)
		return PX_OSV_SEV_CRITICAL;
	if (s >= 7)
		return PX_OSV_SEV_HIGH;
	if (s >= 4)
		return PX_OSV_SEV_MEDIUM;
	return s > 0 ? PX_OSV_SEV_LOW : PX_OSV_SEV_UNKNOWN;
}

static enum px_osv_severity sev_of_root(struct json_object *root)
{
	struct json_object *ds, *arr = jarr(root, "severity");
	enum px_osv_severity best = PX_OSV_SEV_UNKNOWN;
	const char *w = NULL;
	size_t i;

	if (json_object_object_get_ex(root, "database_specific", &ds))
		w = jstr(ds, "severity");
	if (w && !strcasecmp(w, "critical"))
		return PX_OSV_SEV_CRITICAL;
	if (w && !strcasecmp(w, "high"))
		return PX_OSV_SEV_HIGH;
	if (w && (!strcasecmp(w, "moderate") || !strcasecmp(w, "medium")))
		return PX_OSV_SEV_MEDIUM;
	if (w && !strcasecmp(w, "low"))
		return PX_OSV_SEV_LOW;
	for (i = 0; arr && i < json_object_array_length(arr); i++) {
		const char *vec = jstr(json_object_array_get_idx(arr, i),
				       "score");
		double v = vec ? cvss3_score(vec) : -1;

		if (v >= 0 && sev_of_score(v) > best)
			best = sev_of_score(v);
	}
	return best;
}

/* ---- records ------------------------------------------------------------ */

/* One element of "affected"; left out when it names no package. */
static int add_affected(struct px_osv_record *rec, struct json_object *aff)
{
	struct json_object *pkg = NULL;
	struct px_osv_affected *a;
	const char *eco, *name;

	if (json_object_is_type(aff, json_type_object))
		json_object_object_get_ex(aff, "package", &pkg);
	eco = jstr(pkg, "ecosystem");
	name = jstr(pkg, "name");
	if (!eco || !name)
		return 0;
	a = &rec->affected[rec->n_affected++];
	a->ecosystem = strdup(eco);
	a->name = strdup(name);
	if (!a->ecosystem || !a->name)
		return -ENOMEM;
	return fill_ranges(a, jarr(aff, "ranges"), jarr(aff, "versions"));
}

/* Fills <rec> from the parsed document <root>, which has an id. */
static int fill_record(struct px_osv_record *rec, struct json_object *root)
{
	struct json_object *affected = jarr(root, "affected");
	const char *cve, *s;
	size_t i, n;
	int err;

	err = copy_strings(jarr(root, "aliases"), &rec->aliases,
			   &rec->n_aliases);
	if (err)
		return err;
	cve = rec->id;
	for (i = 0; strncmp(cve, "CVE-", 4) && i < rec->n_aliases; i++)
		if (!strncmp(rec->aliases[i], "CVE-", 4))
			cve = rec->aliases[i];
	s = jstr(root, "summary");
	rec->cve = strdup(cve);
	rec->summary = strdup(s ? s : "");
	if (!rec->cve || !rec->summary)
		return -ENOMEM;
	if ((s = jstr(root, "modified")) && !(rec->modified = strdup(s)))
		return -ENOMEM;
	rec->severity = sev_of_root(root);
	n = affected ? json_object_array_length(affected) : 0;
	rec->affected = calloc(n + 1, sizeof(*rec->affected));
	if (!rec->affected)
		return -ENOMEM;
	for (i = 0; i < n; i++) {
		err = add_affected(rec, json_object_array_get_idx(affected, i));
		if (err)
			return err;
	}
	return 0;
}

int px_osv_parse(const char *json, size_t len, struct px_osv_record **out,
		 char *why, size_t whylen)
{
	struct json_object *root = parse_text(json, len, why, whylen);
	struct px_osv_record *rec;
	const char *id = jstr(root, "id");
	int err;

	*out = NULL;
	if (!root)
		return -EBADMSG;
	if (!id) {
		if (why)
			snprintf(why, whylen, "not an OSV document (no id)");
		json_object_put(root);
		return -EINVAL;
	}
	rec = calloc(1, sizeof(*rec));
	err = -ENOMEM;
	if (rec && (rec->id = strdup(id)))
		err = fill_record(rec, root);
	json_object_put(root);
	if (err) {
		px_osv_record_free(rec);
		return err;
	}
	*out = rec;
	return 0;
}

/* ---- evaluation --------------------------------------------------------- */

/* Compares versions, "0" below everything (OSV's "since the start"). */
static int vcmp(int scheme, const char *a, const char *b)
{
	bool a0 = !strcmp(a, "0"), b0 = !strcmp(b, "0");

	if (a0 || b0)
		return b0 - a0;
	return px_vercmp((enum px_ver_scheme)scheme, a, b);
}

/* Whether <v> is in range <rg>, compared with <scheme>; see osv.h. */
static bool range_affects(const struct px_osv_range *rg, int scheme,
			  const char *v, char *why, size_t whylen)
{
	size_t i, k;

	for (i = 0; i < rg->n_events; i++) {
		const char *intro = rg->events[i].version;
		const struct px_osv_event *close = NULL;

		if (rg->events[i].kind != PX_OSV_INTRODUCED ||
		    vcmp(scheme, intro, v) > 0)
			continue;
		/* The lowest closing event above this introduction. */
		for (k = 0; k < rg->n_events; k++) {
			const struct px_osv_event *e = &rg->events[k];

			if (e->kind == PX_OSV_INTRODUCED ||
			    vcmp(scheme, e->version, intro) <= 0)
				continue;
			if (!close || vcmp(scheme, e->version,
					   close->version) < 0)
				close = e;
		}
		if (close && (close->kind == PX_OSV_FIXED ?
			      vcmp(scheme, v, close->version) >= 0 :
			      vcmp(scheme, v, close->version) > 0))
			continue;
		if (why && close)
			snprintf(why, whylen, "introduced %s %s %s", intro,
				 event_names[close->kind], close->version);
		else if (why)
			snprintf(why, whylen, "introduced %s, no fix", intro);
		return true;
	}
	return false;
}

bool px_osv_affects(const struct px_osv_affected *a, int scheme,
		    const char *version, char *why, size_t whylen)
{
	size_t i;

	if (scheme < 0 || !version)
		return false;
	for (i = 0; i < a->n_versions; i++) {
		if (!strcmp(a->versions[i], version) ||
		    !px_vercmp((enum px_ver_scheme)scheme, a->versions[i],
			       version)) {
			if (why)
				snprintf(why, whylen, "version %s listed",
					 version);
			return true;
		}
	}
	for (i = 0; i < a->n_ranges; i++) {
		const struct px_osv_range *rg = &a->ranges[i];

		if (rg->type == PX_OSV_RANGE_GIT)
			continue;
		if (range_affects(rg, rg->type == PX_OSV_RANGE_SEMVER ?
				  PX_VER_SEMVER : scheme, version, why, whylen))
			return true;
	}
	return false;
}

/* ---- which advisories apply to a package ------------------------------- */

/*
 * The distributions whose OSV ecosystems carry a release: the ecosystem's
 * name before any ':', os-release's ID, and how PRETTY_NAME begins.
 * "openSUSE" comes before "SUSE" only for readability: prefixes are
 * matched up to a ':' or the end, so neither takes the other's entries.
 */
static const struct osv_family {
	const char *osv;
	const char *id;
	const char *pretty;
} families[] = {
	{ "Debian", "debian", "Debian" },
	{ "Ubuntu", "ubuntu", "Ubuntu" },
	{ "Alpine", "alpine", "Alpine" },
	{ "Rocky Linux", "rocky", "Rocky Linux" },
	{ "AlmaLinux", "almalinux", "AlmaLinux" },
	{ "Red Hat", "rhel", "Red Hat" },
	{ "openSUSE", "opensuse", "openSUSE" },
	{ "SUSE", "sles", "SUSE" },
};

#define N_FAMILIES (sizeof(families) / sizeof(families[0]))

static const struct osv_family *family_of_eco(const char *osv_eco)
{
	size_t i, n;

	for (i = 0; i < N_FAMILIES; i++) {
		n = strlen(families[i].osv);
		if (!strncmp(osv_eco, families[i].osv, n) &&
		    (osv_eco[n] == '\0' || osv_eco[n] == ':'))
			return &families[i];
	}
	return NULL;
}

/* Copies the release at <s> ("12", "v3.19", "22.04.3 LTS"): digits and
 * dots from the first digit, a leading 'v' skipped, no trailing dot. */
static void copy_release(const char *s, char *out, size_t cap)
{
	size_t n = 0;

	if (*s == 'v')
		s++;
	while (n + 1 < cap && (isdigit((unsigned char)s[n]) ||
			       (n && s[n] == '.')))
		n++;
	memcpy(out, s, n);
	out[n] = '\0';
	if (n && out[n - 1] == '.')
		out[n - 1] = '\0';
}

/* The release an OSV ecosystem names: the first ':'-separated field after
 * the distribution's that starts with a digit ("Ubuntu:Pro:18.04:LTS"
 * names 18.04); "" when none does ("openSUSE:Leap 15.5"). */
static void eco_release(const char *osv_eco, char *out, size_t cap)
{
	const char *p = strchr(osv_eco, ':');

	out[0] = '\0';
	for (; p; p = strchr(p + 1, ':')) {
		const char *f = p + 1;

		if (isdigit((unsigned char)f[*f == 'v'])) {
			copy_release(f, out, cap);
			return;
		}
	}
}

/* Whether releases <a> and <b> agree part by part as far as both go;
 * true when either is unknown. */
static bool releases_agree(const char *a, const char *b)
{
	while (*a && *b) {
		size_t na = strcspn(a, "."), nb = strcspn(b, ".");

		if (na != nb || strncmp(a, b, na))
			return false;
		a += na + (a[na] == '.');
		b += nb + (b[nb] == '.');
	}
	return true;
}

bool px_osv_distro_from_purl(const char *q, struct px_osv_distro *d)
{
	const char *dash = NULL, *p;
	size_t n;

	d->id[0] = d->release[0] = '\0';
	if (!q)
		return false;
	/* The id ends at the last '-' that a digit follows. */
	for (p = q; (p = strchr(p, '-')); p++)
		if (isdigit((unsigned char)p[1]))
			dash = p;
	if (!dash || dash == q || (n = (size_t)(dash - q)) >= sizeof(d->id))
		return false;
	for (size_t i = 0; i < n; i++)
		d->id[i] = (char)tolower((unsigned char)q[i]);
	d->id[n] = '\0';
	copy_release(dash + 1, d->release, sizeof(d->release));
	return true;
}

bool px_osv_distro_from_os(const char *pretty, struct px_osv_distro *d)
{
	size_t i, n;

	d->id[0] = d->release[0] = '\0';
	if (!pretty)
		return false;
	for (i = 0; i < N_FAMILIES; i++) {
		const char *p = pretty;

		n = strlen(families[i].pretty);
		if (strncmp(p, families[i].pretty, n) ||
		    isalnum((unsigned char)p[n]))
			continue;
		snprintf(d->id, sizeof(d->id), "%s", families[i].id);
		/* The first number after the name, before any "(codename)". */
		for (p += n; *p && *p != '('; p++) {
			if (isdigit((unsigned char)p[*p == 'v']) &&
			    !isalnum((unsigned char)p[-1])) {
				copy_release(p, d->release,
					     sizeof(d->release));
				break;
			}
		}
		return true;
	}
	return false;
}

/* Whether os-release ID <id> is family <f>'s: "opensuse-leap" is
 * openSUSE's. */
static bool id_is(const char *id, const struct osv_family *f)
{
	size_t n = strlen(f->id);

	return !strncmp(id, f->id, n) && (id[n] == '\0' || id[n] == '-');
}

bool px_osv_applies(const char *osv_eco, const char *eco,
		    const struct px_osv_distro *d)
{
	int scheme = px_ver_scheme_of(eco);
	const struct osv_family *fam;
	const char *id = d ? d->id : "";
	char rel[32];

	if (scheme < 0 || scheme != px_ver_scheme_of(osv_eco))
		return false;
	if (scheme != PX_VER_DEB && scheme != PX_VER_APK &&
	    scheme != PX_VER_RPM)
		return true;
	if (!id[0])
		id = scheme == PX_VER_DEB ? "debian" :
		     scheme == PX_VER_APK ? "alpine" : "";
	fam = family_of_eco(osv_eco);
	if (id[0] && (!fam || !id_is(id, fam)))
		return false;
	eco_release(osv_eco, rel, sizeof(rel));
	return releases_agree(rel, d ? d->release : "");
}

/* ---- loading ------------------------------------------------------------ */

/* Parses one document and hands it, or the reason it was skipped, to
 * <visit>. */
static int visit_doc(px_osv_visit_fn visit, void *arg, const char *origin,
		     const char *text, size_t len)
{
	struct px_osv_record *rec;
	char why[160];
	int err = px_osv_parse(text, len, &rec, why, sizeof(why));

	if (err == -ENOMEM)
		return err;
	return visit(arg, origin, err ? NULL : rec, err ? why : NULL);
}

static bool is_json_name(const char *name)
{
	size_t n = strlen(name);

	return n > 5 && !strcmp(name + n - 5, ".json");
}

/* Reads the regular file <path> whole; -errno (-EFBIG past the limit). */
static int read_file(const char *path, char **buf, size_t *len)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	struct stat st;
	ssize_t n;
	int err = 0;

	*buf = NULL;
	if (fd < 0)
		return -errno;
	if (fstat(fd, &st)) {
		err = -errno;
		goto out_close;
	}
	if (!S_ISREG(st.st_mode) || st.st_size > (off_t)PX_OSV_MAX_DOC) {
		err = S_ISREG(st.st_mode) ? -EFBIG : -EINVAL;
		goto out_close;
	}
	*buf = malloc((size_t)st.st_size + 1);
	if (!*buf) {
		err = -ENOMEM;
		goto out_close;
	}
	n = pread(fd, *buf, (size_t)st.st_size, 0);
	if (n != st.st_size) {
		err = n < 0 ? -errno : -EIO;
		free(*buf);
		*buf = NULL;
		goto out_close;
	}
	*len = (size_t)n;
out_close:
	close(fd);
	return err;
}

static int load_file(const char *path, px_osv_visit_fn visit, void *arg)
{
	size_t len = 0;
	char *buf;
	int err = read_file(path, &buf, &len);

	if (err == -ENOMEM)
		return err;
	if (err)
		return visit(arg, path, NULL, strerror(-err));
	err = visit_doc(visit, arg, path, buf, len);
	free(buf);
	return err;
}

static int load_dir(const char *dir, px_osv_visit_fn visit, void *arg,
		    int depth, char *err, size_t errlen)
{
	struct dirent **list;
	int n = scandir(dir, &list, NULL, alphasort), i, ret = 0;

	if (n < 0) {
		ret = -errno;
		snprintf(err, errlen, "cannot read %s: %s", dir, strerror(-ret));
		return ret;
	}
	for (i = 0; i < n; i++) {
		const char *name = list[i]->d_name;
		char path[4096];
		struct stat st;

		if (!ret && name[0] != '.' &&
		    (size_t)snprintf(path, sizeof(path), "%s/%s", dir, name) <
		    sizeof(path) && !lstat(path, &st)) {
			if (S_ISDIR(st.st_mode) && depth < OSV_MAX_DIR_DEPTH)
				ret = load_dir(path, visit, arg, depth + 1, err,
					       errlen);
			else if (S_ISREG(st.st_mode) && is_json_name(name))
				ret = load_file(path, visit, arg);
		}
		free(list[i]);
	}
	free(list);
	return ret;
}

/* Reads the current zip entry whole, whether or not the zip says its
 * size; -EFBIG past the limit, -EIO with the reason in archive_error. */
static int read_entry(struct archive *a, char **buf, size_t *len)
{
	size_t cap = 0;
	la_ssize_t n;
	char *p;

	*buf = NULL;
	*len = 0;
	for (;;) {
		if (*len == cap) {
			if (cap >= PX_OSV_MAX_DOC)
				return -EFBIG;
			cap = cap ? cap * 2 : 1 << 16;
			p = realloc(*buf, cap);
			if (!p)
				return -ENOMEM;
			*buf = p;
		}
		n = archive_read_data(a, *buf + *len, cap - *len);
		if (n < 0)
			return -EIO;
		if (n == 0)
			return 0;
		*len += (size_t)n;
	}
}

static int load_zip(const char *path, px_osv_visit_fn visit, void *arg,
		    char *err, size_t errlen)
{
	struct archive *a = archive_read_new();
	struct archive_entry *e;
	int r = ARCHIVE_OK, ret = 0;

	if (!a)
		return -ENOMEM;
	archive_read_support_format_zip(a);
	if (archive_read_open_filename(a, path, 1 << 16) != ARCHIVE_OK) {
		snprintf(err, errlen, "cannot open %s: %s", path,
			 archive_error_string(a));
		ret = -EINVAL;
		goto out_free;
	}
	while (!ret && (r = archive_read_next_header(a, &e)) == ARCHIVE_OK) {
		const char *name = archive_entry_pathname(e);
		size_t len;
		char *buf;

		if (!name || !is_json_name(name) ||
		    archive_entry_filetype(e) != AE_IFREG)
			continue;
		ret = read_entry(a, &buf, &len);
		if (ret == -EIO || ret == -EFBIG)
			ret = visit(arg, name, NULL, ret == -EIO ?
				    archive_error_string(a) : strerror(EFBIG));
		else if (!ret)
			ret = visit_doc(visit, arg, name, buf, len);
		free(buf);
	}
	if (!ret && r != ARCHIVE_EOF) {
		snprintf(err, errlen, "cannot read %s: %s", path,
			 archive_error_string(a));
		ret = -EIO;
	}
out_free:
	archive_read_free(a);
	return ret;
}

int px_osv_load(const char *path, px_osv_visit_fn visit, void *arg,
		char *err, size_t errlen)
{
	struct stat st;
	int ret;

	if (stat(path, &st)) {
		ret = -errno;
		snprintf(err, errlen, "cannot read %s: %s", path,
			 strerror(-ret));
		return ret;
	}
	if (S_ISDIR(st.st_mode))
		return load_dir(path, visit, arg, 0, err, errlen);
	if (is_json_name(path))
		return load_file(path, visit, arg);
	return load_zip(path, visit, arg, err, errlen);
}
