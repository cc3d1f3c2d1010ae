// SPDX-License-Identifier: Apache-2.0
/*
 * Whole-document outputs (see output.h): SARIF 2.1.0 for code-scanning
 * tools and pull-request checks, CycloneDX 1.5 JSON as an SBOM.
 *
 * SARIF: one result per CVE of a package, per secret, PII match and
 * malware hit (packages without CVEs are inventory, not results); rules
 * are the distinct rule ids, written after the results with the
 * notifications (limits hit, corrupt input) of the run's invocation.
 * Locations are relative to the scanned root and name it by uriBaseId
 * (SRCROOT, then SRCROOT2... for further roots), which the run's
 * originalUriBaseIds maps to a file:// URI, as code-scanning services
 * expect for pull-request checks.  A nested archive member is located at
 * its outermost file; its inner path is in the message and properties.
 * CycloneDX: one component per package finding, and one vulnerability per
 * CVE id with every component it affects.  What follows the streamed
 * array is kept in memory streams until the end.
 */
#include "output.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "host.h"
#include "text.h"

struct doc_rule {
	char *id;
	enum scan_severity sev;
};

/* A root the SARIF locations are relative to. */
struct doc_base {
	char *id;               /* "SRCROOT", "SRCROOT2", ... */
	char *path;             /* its file:// URI's path: "/srv/snap/" */
	char *desc;             /* what the base is, for readers */
};

struct scan_doc {
	FILE *out;
	enum scan_format fmt;
	size_t n_items;         /* results or components written */
	FILE *tail;             /* notifications / vulnerabilities */
	char *tail_buf;
	size_t tail_len, n_tail;
	struct doc_rule *rules;
	size_t n_rules, cap_rules;
	struct doc_base *bases;
	size_t n_bases;
	const struct doc_base *cur;     /* of the root being scanned */
	char *image;            /* an image root, located absolutely */
	char *prefix;           /* what paths below it start with */
};

static void jkey(FILE *out, const char *key, const char *val, bool comma)
{
	fprintf(out, "%s\"%s\":", comma ? "," : "", key);
	px_json_str(out, val ? val : "");
}

static const char *sarif_level(enum scan_severity s)
{
	if (s >= SCAN_SEV_HIGH)
		return "error";
	if (s == SCAN_SEV_MEDIUM)
		return "warning";
	return "note";
}

struct scan_doc *scan_doc_begin(FILE *out, enum scan_format fmt)
{
	struct scan_doc *d = calloc(1, sizeof(*d));
	char uuid[37];

	if (!d)
		return NULL;
	d->out = out;
	d->fmt = fmt;
	d->tail = open_memstream(&d->tail_buf, &d->tail_len);
	if (!d->tail) {
		free(d);
		return NULL;
	}
	if (fmt == SCAN_FMT_SARIF) {
		fputs("{\"$schema\":\"https://json.schemastore.org/sarif-2.1.0.json\","
		      "\"version\":\"2.1.0\",\"runs\":[{\"results\":[", out);
	} else {
		time_t now = time(NULL);
		struct tm tm;
		char ts[32];

		gmtime_r(&now, &tm);
		strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%SZ", &tm);
		px_uuid4(uuid);
		fprintf(out, "{\"bomFormat\":\"CycloneDX\",\"specVersion\":\"1.5\","
			"\"serialNumber\":\"urn:uuid:%s\",\"version\":1,"
			"\"metadata\":{\"timestamp\":\"%s\",\"tools\":{\"components\":"
			"[{\"type\":\"application\",\"name\":\"parallax-scan\","
			"\"version\":\"%s\"}]}},\"components\":[", uuid, ts,
			PX_VERSION);
	}
	return d;
}

/* Remembers rule <id> for the SARIF rules list. */
static void add_rule(struct scan_doc *d, const char *id,
		     enum scan_severity sev)
{
	struct doc_rule *r;
	size_t i;

	for (i = 0; i < d->n_rules; i++) {
		if (!strcmp(d->rules[i].id, id)) {
			if (sev > d->rules[i].sev)
				d->rules[i].sev = sev;
			return;
		}
	}
	if (d->n_rules == d->cap_rules) {
		r = realloc(d->rules, (d->cap_rules ? d->cap_rules * 2 : 64) *
			    sizeof(*r));
		if (!r)
			return;
		d->rules = r;
		d->cap_rules = d->cap_rules ? d->cap_rules * 2 : 64;
	}
	d->rules[d->n_rules].id = strdup(id);
	d->rules[d->n_rules].sev = sev;
	if (d->rules[d->n_rules].id)
		d->n_rules++;
}

/*
 * Writes <path> percent-encoded as a URI path: every byte but unreserved
 * characters and '/', so spaces, '%', '#', '?' and ':' (a scheme, in a
 * relative reference's first segment) cannot change what it means.
 */
static void put_uri_path(FILE *out, const char *path)
{
	static const char hex[] = "0123456789ABCDEF";
	const unsigned char *p;

	for (p = (const unsigned char *)path; *p; p++) {
		if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		    (*p >= '0' && *p <= '9') || strchr("-._~/", *p))
			fputc(*p, out);
		else
			fprintf(out, "%%%c%c", hex[*p >> 4], hex[*p & 15]);
	}
}

/*
 * The artifactLocation of <path>: relative to the current root with its
 * uriBaseId, or an absolute file:// URI for what is not below it (the
 * image file itself, in an event about the image).
 */
static void artifact_location(struct scan_doc *d, FILE *out,
			      const char *path)
{
	const struct doc_base *b = d->cur;
	size_t n = b ? strlen(d->prefix) : 0;

	fputs("\"artifactLocation\":{\"uri\":\"", out);
	if (b && !strncmp(path, d->prefix, n) && path[n] &&
	    !(d->image && !strcmp(path, d->image))) {
		put_uri_path(out, path + n);
		fprintf(out, "\",\"uriBaseId\":\"%s\"}", b->id);
		return;
	}
	if (path[0] == '/')
		fputs("file://", out);
	put_uri_path(out, path);
	fputs("\"}", out);
}

static void sarif_location(struct scan_doc *d, FILE *out,
			   const struct scan_finding *f)
{
	fputs(",\"locations\":[{\"physicalLocation\":{", out);
	artifact_location(d, out, f->path);
	if (f->line)
		fprintf(out, ",\"region\":{\"startLine\":%u}", f->line);
	fputs("}}],\"properties\":{", out);
	jkey(out, "inner", f->inner, false);
	jkey(out, "sha256", f->sha256, true);
	jkey(out, "layer_digest", f->layer_digest, true);
}

static void sarif_result(struct scan_doc *d, const char *rule,
			 enum scan_severity sev, const char *msg,
			 const struct scan_finding *f)
{
	FILE *out = d->out;

	add_rule(d, rule, sev);
	fputs(d->n_items++ ? ",{" : "{", out);
	jkey(out, "ruleId", rule, false);
	jkey(out, "level", sarif_level(sev), true);
	fputs(",\"message\":{", out);
	jkey(out, "text", msg, false);
	fputc('}', out);
	sarif_location(d, out, f);
	if (f->type == SCAN_FINDING_PACKAGE) {
		jkey(out, "package", f->name, true);
		jkey(out, "version", f->version, true);
		jkey(out, "purl", f->purl, true);
	} else if (f->type != SCAN_FINDING_MALWARE) {
		jkey(out, "preview", f->preview, true);
		jkey(out, "keyed_hash", f->keyed_hash, true);
	}
	fputs("}}", out);
}

static void sarif_emit(struct scan_doc *d, const struct scan_finding *f)
{
	char msg[1024], rule[300], in[600] = "";
	size_t i;

	/* the location stops at the file on disk; say where inside it */
	if (f->inner && f->inner[0])
		snprintf(in, sizeof(in), " in %s", f->inner);
	if (f->type == SCAN_FINDING_PACKAGE) {
		for (i = 0; i < f->n_cves; i++) {
			snprintf(msg, sizeof(msg), "%s %s%s: %s (%s)", f->name,
				 f->version, in, f->cves[i].id,
				 f->cves[i].evidence);
			sarif_result(d, f->cves[i].id, f->cves[i].severity, msg,
				     f);
		}
		return;
	}
	snprintf(rule, sizeof(rule), "%s/%s",
		 f->type == SCAN_FINDING_SECRET ? "secret" :
		 f->type == SCAN_FINDING_PII ? "pii" : "malware", f->rule);
	snprintf(msg, sizeof(msg), "%s found%s: %s", rule, in,
		 f->type == SCAN_FINDING_MALWARE ? f->database : f->preview);
	sarif_result(d, rule, f->severity, msg, f);
}

static void cdx_emit(struct scan_doc *d, const struct scan_finding *f)
{
	FILE *out = d->out;
	char ref[32];
	size_t i;

	if (f->type != SCAN_FINDING_PACKAGE)
		return;
	snprintf(ref, sizeof(ref), "pkg-%zu", d->n_items + 1);
	fputs(d->n_items++ ? ",{" : "{", out);
	jkey(out, "type", "library", false);
	jkey(out, "bom-ref", ref, true);
	jkey(out, "name", f->name, true);
	jkey(out, "version", f->version, true);
	if (f->purl && f->purl[0])
		jkey(out, "purl", f->purl, true);
	fputs(",\"properties\":[{", out);
	jkey(out, "name", "parallax:path", false);
	jkey(out, "value", f->path, true);
	fputs("},{", out);
	jkey(out, "name", "parallax:inner", false);
	jkey(out, "value", f->inner, true);
	fputs("},{", out);
	jkey(out, "name", "parallax:sha256", false);
	jkey(out, "value", f->sha256, true);
	fputs("},{", out);
	jkey(out, "name", "parallax:evidence", false);
	jkey(out, "value", f->evidence, true);
	if (f->layer_digest && f->layer_digest[0]) {
		fputs("},{", out);
		jkey(out, "name", "parallax:layer_digest", false);
		jkey(out, "value", f->layer_digest, true);
	}
	fputs("}]}", out);
	/* vulnerabilities: one entry per (CVE, component), merged by id is
	 * allowed to repeat in CycloneDX; kept simple and exact */
	for (i = 0; i < f->n_cves; i++) {
		fputs(d->n_tail++ ? ",{" : "{", d->tail);
		jkey(d->tail, "id", f->cves[i].id, false);
		fprintf(d->tail, ",\"ratings\":[{\"severity\":\"%s\"}]",
			scan_severity_name(f->cves[i].severity));
		jkey(d->tail, "detail", f->cves[i].evidence, true);
		fprintf(d->tail, ",\"affects\":[{\"ref\":\"%s\"}]}", ref);
	}
}

int scan_doc_emit(void *arg, const struct scan_finding *f)
{
	struct scan_doc *d = arg;

	if (d->fmt == SCAN_FMT_SARIF)
		sarif_emit(d, f);
	else
		cdx_emit(d, f);
	return ferror(d->out) ? -EIO : 0;
}

void scan_doc_event(void *arg, const struct scan_event *ev)
{
	struct scan_doc *d = arg;
	char msg[1024];

	if (d->fmt != SCAN_FMT_SARIF)
		return;
	snprintf(msg, sizeof(msg), "%s: %s", ev->kind, ev->what);
	fputs(d->n_tail++ ? ",{" : "{", d->tail);
	jkey(d->tail, "level", "warning", false);
	fputs(",\"message\":{", d->tail);
	jkey(d->tail, "text", msg, false);
	fputs("},\"locations\":[{\"physicalLocation\":{", d->tail);
	artifact_location(d, d->tail, ev->path);
	fputs("}}],\"properties\":{", d->tail);
	jkey(d->tail, "inner", ev->inner, false);
	jkey(d->tail, "layer_digest", ev->layer_digest, true);
	fputs("}}", d->tail);
}

static void sarif_end(struct scan_doc *d)
{
	FILE *out = d->out;
	size_t i;

	fputs("],\"tool\":{\"driver\":{\"name\":\"parallax-scan\",", out);
	fprintf(out, "\"version\":\"%s\",\"informationUri\":"
		"\"https://github.com/parallax/parallax\",\"rules\":[", PX_VERSION);
	for (i = 0; i < d->n_rules; i++) {
		fputs(i ? ",{" : "{", out);
		jkey(out, "id", d->rules[i].id, false);
		fputs(",\"shortDescription\":{", out);
		jkey(out, "text", d->rules[i].id, false);
		fprintf(out, "},\"defaultConfiguration\":{\"level\":\"%s\"}}",
			sarif_level(d->rules[i].sev));
		free(d->rules[i].id);
	}
	fputs("]}},\"invocations\":[{\"executionSuccessful\":true,"
	      "\"toolExecutionNotifications\":[", out);
	fwrite(d->tail_buf, 1, d->tail_len, out);
	fputs("]}],\"originalUriBaseIds\":{", out);
	for (i = 0; i < d->n_bases; i++) {
		fprintf(out, "%s\"%s\":{\"uri\":\"file://", i ? "," : "",
			d->bases[i].id);
		put_uri_path(out, d->bases[i].path);
		fputs("\",\"description\":{", out);
		jkey(out, "text", d->bases[i].desc, false);
		fputs("}}", out);
	}
	fputs("}}]}\n", out);
}

/* The base of file:// URI path <path>; one per distinct path, so a root
 * scanned twice keeps its id. */
static const struct doc_base *add_base(struct scan_doc *d, const char *path,
				       const char *desc)
{
	struct doc_base *b;
	char id[32];
	size_t i;

	for (i = 0; i < d->n_bases; i++)
		if (!strcmp(d->bases[i].path, path))
			return &d->bases[i];
	b = realloc(d->bases, (d->n_bases + 1) * sizeof(*b));
	if (!b)
		return NULL;
	d->bases = b;
	b += d->n_bases;
	if (d->n_bases)
		snprintf(id, sizeof(id), "SRCROOT%zu", d->n_bases + 1);
	else
		snprintf(id, sizeof(id), "SRCROOT");
	b->id = strdup(id);
	b->path = strdup(path);
	b->desc = strdup(desc);
	if (!b->id || !b->path || !b->desc) {
		free(b->id);
		free(b->path);
		free(b->desc);
		return NULL;
	}
	d->n_bases++;
	return b;
}

int scan_doc_root(struct scan_doc *d, const char *root,
		  enum scan_doc_root kind)
{
	char *base, desc[4200];
	const char *slash;
	int n;

	d->cur = NULL;
	free(d->image);
	free(d->prefix);
	d->image = NULL;
	d->prefix = NULL;
	if (d->fmt != SCAN_FMT_SARIF || root[0] != '/')
		return 0;
	if (kind == SCAN_DOC_FILE) {
		/* a single file is located in its directory */
		slash = strrchr(root, '/');
		n = asprintf(&base, "%.*s/", (int)(slash - root), root);
		snprintf(desc, sizeof(desc), "the directory of %s", root);
	} else if (kind == SCAN_DOC_IMAGE) {
		/* paths in an image start at its root: the image names it */
		n = asprintf(&base, "%s/", root);
		snprintf(desc, sizeof(desc), "the root filesystem of the image %s",
			 root);
	} else {
		n = asprintf(&base, "%s%s", root,
			     root[strlen(root) - 1] == '/' ? "" : "/");
		snprintf(desc, sizeof(desc), "the scanned directory %s", root);
	}
	if (n < 0)
		return -ENOMEM;
	if (kind == SCAN_DOC_IMAGE)
		d->image = strdup(root);
	d->prefix = strdup(kind == SCAN_DOC_IMAGE ? "/" : base);
	d->cur = add_base(d, base, desc);
	free(base);
	if (!d->cur || !d->prefix || (kind == SCAN_DOC_IMAGE && !d->image)) {
		d->cur = NULL;  /* absolute URIs, then */
		return -ENOMEM;
	}
	return 0;
}

int scan_doc_end(struct scan_doc *d)
{
	size_t i;
	int err;

	fflush(d->tail);
	if (d->fmt == SCAN_FMT_SARIF) {
		sarif_end(d);
	} else {
		fputs("],\"vulnerabilities\":[", d->out);
		fwrite(d->tail_buf, 1, d->tail_len, d->out);
		fputs("]}\n", d->out);
	}
	err = fflush(d->out) == EOF || ferror(d->out) ? -EIO : 0;
	fclose(d->tail);
	free(d->tail_buf);
	free(d->rules);
	for (i = 0; i < d->n_bases; i++) {
		free(d->bases[i].id);
		free(d->bases[i].path);
		free(d->bases[i].desc);
	}
	free(d->bases);
	free(d->image);
	free(d->prefix);
	free(d);
	return err;
}
