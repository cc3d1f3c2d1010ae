// SPDX-License-Identifier: Apache-2.0
/*
 * Package inventories (see inventory.h).  The text databases (dpkg, apk,
 * Python metadata) are all "Key: value" lines in stanzas separated by blank
 * lines; one stanza reader serves them all.  Values are cut at
 * INV_VALUE_MAX bytes, which no real name or version reaches.
 */
#include "inventory.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <json-c/json.h>

#include "log.h"

#define INV_VALUE_MAX 256
#define INV_MAX_FILE_BYTES (512u << 20)

static bool ends_with(const char *s, const char *suffix)
{
	size_t n = strlen(s), m = strlen(suffix);

	return n >= m && strcmp(s + n - m, suffix) == 0;
}

/* True when <path> ends in "/<tail>" or is <tail> itself. */
static bool path_ends(const char *path, const char *tail)
{
	size_t n = strlen(path), m = strlen(tail);

	if (n < m || strcmp(path + n - m, tail) != 0)
		return false;
	return n == m || path[n - m - 1] == '/';
}

/* node_modules/<name>/package.json or node_modules/@s/<name>/package.json */
static bool is_npm_manifest(const char *path)
{
	const char *nm = NULL, *p = path, *rest;
	int slashes = 0;

	if (!path_ends(path, "package.json"))
		return false;
	while ((p = strstr(p, "node_modules/"))) {
		if (p == path || p[-1] == '/')
			nm = p;
		p++;
	}
	if (!nm)
		return false;
	rest = nm + strlen("node_modules/");
	for (p = rest; *p; p++)
		slashes += *p == '/';
	return slashes == (rest[0] == '@' ? 2 : 1);
}

enum inv_kind inventory_kind(const char *path)
{
	const char *sd = strstr(path, "var/lib/dpkg/status.d/");

	if (path_ends(path, "var/lib/dpkg/status"))
		return INV_DPKG;
	if (sd && (sd == path || sd[-1] == '/') &&
	    !strchr(sd + strlen("var/lib/dpkg/status.d/"), '/') &&
	    !ends_with(path, ".md5sums"))
		return INV_DPKG;
	if (path_ends(path, "lib/apk/db/installed"))
		return INV_APK;
	if (path_ends(path, "rpmdb.sqlite"))
		return INV_RPM;
	if (ends_with(path, ".dist-info/METADATA") ||
	    ends_with(path, ".egg-info/PKG-INFO") || ends_with(path, ".egg-info"))
		return INV_PYTHON;
	if (is_npm_manifest(path))
		return INV_NPM;
	return INV_NONE;
}

/* ---- stanzas ---------------------------------------------------------- */

/* The fields a stanza parser wants: names and where their values go. */
struct stanza_field {
	const char *key;        /* "Package"; for apk a single letter */
	char val[INV_VALUE_MAX];
};

/*
 * Reads the stanza starting at <*pos>: "key<sep>value" lines up to a blank
 * line.  Continuation lines (starting with a space or tab) are skipped.
 * Fields in <fields> are filled (others left empty).  Returns false at the
 * end of input with nothing read.
 */
static bool next_stanza(const char *data, size_t len, size_t *pos,
			char sep, struct stanza_field *fields, size_t n)
{
	bool any = false;
	size_t i;

	for (i = 0; i < n; i++)
		fields[i].val[0] = '\0';
	while (*pos < len) {
		const char *line = data + *pos, *eol, *colon, *v;
		size_t ll, kl, vl;

		eol = memchr(line, '\n', len - *pos);
		ll = eol ? (size_t)(eol - line) : len - *pos;
		*pos += ll + (eol != NULL);
		if (ll && line[ll - 1] == '\r')
			ll--;
		if (ll == 0) {
			if (any)
				return true;
			continue;
		}
		any = true;
		if (line[0] == ' ' || line[0] == '\t')
			continue;
		colon = memchr(line, sep, ll);
		if (!colon)
			continue;
		kl = (size_t)(colon - line);
		v = colon + 1;
		while (v < line + ll && (*v == ' ' || *v == '\t'))
			v++;
		vl = (size_t)(line + ll - v);
		while (vl && (v[vl - 1] == ' ' || v[vl - 1] == '\t'))
			vl--;
		for (i = 0; i < n; i++) {
			if (strlen(fields[i].key) != kl ||
			    strncasecmp(fields[i].key, line, kl) != 0 ||
			    fields[i].val[0])
				continue;
			if (vl >= INV_VALUE_MAX)
				vl = INV_VALUE_MAX - 1;
			memcpy(fields[i].val, v, vl);
			fields[i].val[vl] = '\0';
		}
	}
	return any;
}

/* The third word of a dpkg Status value ("install ok installed"). */
static bool dpkg_present(const char *status)
{
	const char *p;

	if (!status[0])
		return true;            /* status.d stanzas have none */
	p = strrchr(status, ' ');
	return strcmp(p ? p + 1 : status, "not-installed") != 0;
}

/*
 * The release a package database belongs to, from the version of the
 * package that defines it: Debian's base-files ("12.4+deb12u5" -> "12"),
 * Alpine's alpine-base ("3.19.1-r0" -> "3.19").  Empty when absent.
 */
static void release_of(const char *data, size_t len, const char *pkg_key,
		       const char *ver_key, const char *pkg, int parts,
		       char *out, size_t cap)
{
	struct stanza_field f[2] = { { "" }, { "" } };
	size_t pos = 0, n;
	int dots = 0;

	f[0].key = pkg_key;
	f[1].key = ver_key;
	out[0] = '\0';
	while (next_stanza(data, len, &pos, ':', f, 2)) {
		if (strcmp(f[0].val, pkg) != 0 || strstr(f[1].val, "ubuntu"))
			continue;
		for (n = 0; n + 1 < cap && (isdigit((unsigned char)f[1].val[n]) ||
					    (f[1].val[n] == '.' && ++dots < parts));
		     n++)
			out[n] = f[1].val[n];
		out[n] = '\0';
		if (n && out[n - 1] == '.')
			out[n - 1] = '\0';
		return;
	}
}

int inv_parse_dpkg(const char *data, size_t len, inv_pkg_cb cb, void *arg)
{
	struct stanza_field f[] = {
		{ "Package" }, { "Version" }, { "Status" }, { "Source" },
		{ "Architecture" },
	};
	size_t pos = 0;
	char release[16];
	int n = 0;

	release_of(data, len, "Package", "Version", "base-files", 1, release,
		   sizeof(release));
	while (next_stanza(data, len, &pos, ':', f, 5)) {
		struct inv_pkg p = { "deb", f[0].val, f[1].val, f[4].val, "",
				     "", release };
		char *sp, *srcver = NULL;

		if (!f[0].val[0] || !f[1].val[0] || !dpkg_present(f[2].val))
			continue;
		/* "Source: openssl (3.0.11-1~deb12u2)" */
		sp = strchr(f[3].val, ' ');
		if (sp) {
			*sp = '\0';
			srcver = strchr(sp + 1, '(');
			if (srcver) {
				srcver++;
				srcver[strcspn(srcver, ")")] = '\0';
			}
		}
		p.source = f[3].val;
		p.source_version = srcver ? srcver : "";
		cb(arg, &p);
		n++;
	}
	return n;
}

int inv_parse_apk(const char *data, size_t len, inv_pkg_cb cb, void *arg)
{
	struct stanza_field f[] = { { "P" }, { "V" }, { "A" }, { "o" } };
	size_t pos = 0;
	char release[16];
	int n = 0;

	release_of(data, len, "P", "V", "alpine-base", 2, release,
		   sizeof(release));
	while (next_stanza(data, len, &pos, ':', f, 4)) {
		struct inv_pkg p = { "apk", f[0].val, f[1].val, f[2].val,
				     f[3].val, "", release };

		if (!f[0].val[0] || !f[1].val[0])
			continue;
		cb(arg, &p);
		n++;
	}
	return n;
}

int inv_parse_python(const char *data, size_t len, inv_pkg_cb cb, void *arg)
{
	struct stanza_field f[] = { { "Name" }, { "Version" } };
	size_t pos = 0;
	struct inv_pkg p = { "pypi", f[0].val, f[1].val, "", "", "", "" };

	/* Only the header section: the body after it is free text. */
	if (!next_stanza(data, len, &pos, ':', f, 2) || !f[0].val[0] ||
	    !f[1].val[0])
		return -EINVAL;
	cb(arg, &p);
	return 1;
}

int inv_parse_npm(const char *data, size_t len, inv_pkg_cb cb, void *arg)
{
	struct json_tokener *tok = json_tokener_new_ex(64);
	struct json_object *root, *name, *ver;
	int ret = -EINVAL;

	if (!tok)
		return -ENOMEM;
	if (len > INT32_MAX)
		goto out_tok;
	root = json_tokener_parse_ex(tok, data, (int)len);
	if (!root)
		goto out_tok;
	if (json_object_is_type(root, json_type_object) &&
	    json_object_object_get_ex(root, "name", &name) &&
	    json_object_object_get_ex(root, "version", &ver) &&
	    json_object_is_type(name, json_type_string) &&
	    json_object_is_type(ver, json_type_string) &&
	    json_object_get_string_len(name) > 0 &&
	    json_object_get_string_len(ver) > 0) {
		struct inv_pkg p = { "npm", json_object_get_string(name),
				     json_object_get_string(ver), "", "",
				     "", "" };

		cb(arg, &p);
		ret = 1;
	}
	json_object_put(root);
out_tok:
	json_tokener_free(tok);
	return ret;
}

/* ---- rpm headers ------------------------------------------------------ */

#define RPMTAG_NAME 1000
#define RPMTAG_VERSION 1001
#define RPMTAG_RELEASE 1002
#define RPMTAG_EPOCH 1003
#define RPMTAG_ARCH 1022
#define RPMTAG_SOURCERPM 1044
#define RPM_TYPE_INT32 4
#define RPM_TYPE_STRING 6
#define RPM_MAX_INDEX 100000

static uint32_t be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	       (uint32_t)p[2] << 8 | p[3];
}

/* The string of tag entry <e> in the data store, or NULL when it does not
 * fit (a string must end inside the store). */
static const char *rpm_str(const uint8_t *e, const uint8_t *store,
			   uint32_t dl)
{
	uint32_t off = be32(e + 8);

	if (be32(e + 4) != RPM_TYPE_STRING || off >= dl ||
	    !memchr(store + off, '\0', dl - off))
		return NULL;
	return (const char *)store + off;
}

/* "openssl-3.0.7-1.el9.src.rpm" -> "openssl" in <buf>. */
static void rpm_source_name(const char *srpm, char *buf, size_t len)
{
	char *dash;
	int i;

	snprintf(buf, len, "%s", srpm);
	for (i = 0; i < 2; i++) {
		dash = strrchr(buf, '-');
		if (!dash) {
			buf[0] = '\0';
			return;
		}
		*dash = '\0';
	}
}

int inv_parse_rpm_header(const void *blob, size_t len, inv_pkg_cb cb,
			 void *arg)
{
	const uint8_t *b = blob, *store;
	const char *name = NULL, *ver = NULL, *rel = NULL, *arch = "";
	const char *srpm = "";
	char full[3 * INV_VALUE_MAX], src[INV_VALUE_MAX];
	uint32_t il, dl, i, epoch = 0;
	bool has_epoch = false;

	if (len < 8)
		return -EINVAL;
	il = be32(b);
	dl = be32(b + 4);
	if (il == 0 || il > RPM_MAX_INDEX || dl > len ||
	    8 + 16 * (uint64_t)il + dl > len)
		return -EINVAL;
	store = b + 8 + 16 * il;
	for (i = 0; i < il; i++) {
		const uint8_t *e = b + 8 + 16 * i;
		uint32_t tag = be32(e), off = be32(e + 8);

		if (tag == RPMTAG_NAME)
			name = rpm_str(e, store, dl);
		else if (tag == RPMTAG_VERSION)
			ver = rpm_str(e, store, dl);
		else if (tag == RPMTAG_RELEASE)
			rel = rpm_str(e, store, dl);
		else if (tag == RPMTAG_ARCH && rpm_str(e, store, dl))
			arch = rpm_str(e, store, dl);
		else if (tag == RPMTAG_SOURCERPM && rpm_str(e, store, dl))
			srpm = rpm_str(e, store, dl);
		else if (tag == RPMTAG_EPOCH && be32(e + 4) == RPM_TYPE_INT32 &&
			 off <= dl - 4 && dl >= 4) {
			epoch = be32(store + off);
			has_epoch = true;
		}
	}
	if (!name || !ver || !rel || !name[0])
		return -EINVAL;
	if (has_epoch)
		snprintf(full, sizeof(full), "%u:%s-%s", epoch, ver, rel);
	else
		snprintf(full, sizeof(full), "%s-%s", ver, rel);
	rpm_source_name(srpm, src, sizeof(src));
	cb(arg, &(struct inv_pkg){ "rpm", name, full, arch, src, "", "" });
	return 1;
}

/* ---- purls ------------------------------------------------------------ */

/* Appends <s> to <buf> at <*o>, percent-encoding all but [A-Za-z0-9.-_~]
 * (and '+' for versions, which purl allows unencoded nowhere: encoded). */
static void purl_put(char *buf, size_t len, size_t *o, const char *s)
{
	for (; *s && *o + 4 < len; s++) {
		unsigned char c = (unsigned char)*s;

		if (isalnum(c) || c == '.' || c == '-' || c == '_' || c == '~')
			buf[(*o)++] = (char)c;
		else
			*o += (size_t)snprintf(buf + *o, len - *o, "%%%02X", c);
	}
	buf[*o] = '\0';
}

static void purl_lit(char *buf, size_t len, size_t *o, const char *s)
{
	size_t n = strlen(s);

	if (*o + n + 1 >= len)
		return;
	memcpy(buf + *o, s, n + 1);
	*o += n;
}

void inv_purl(char *buf, size_t len, const struct inv_pkg *p)
{
	size_t o = 0;
	char name[INV_VALUE_MAX];
	size_t i;

	buf[0] = '\0';
	if (strcmp(p->ecosystem, "deb") == 0)
		purl_lit(buf, len, &o, "pkg:deb/debian/");
	else if (strcmp(p->ecosystem, "apk") == 0)
		purl_lit(buf, len, &o, "pkg:apk/alpine/");
	else if (strcmp(p->ecosystem, "rpm") == 0)
		purl_lit(buf, len, &o, "pkg:rpm/");
	else if (strcmp(p->ecosystem, "pypi") == 0)
		purl_lit(buf, len, &o, "pkg:pypi/");
	else
		purl_lit(buf, len, &o, "pkg:npm/");
	if (strcmp(p->ecosystem, "pypi") == 0) {
		/* PEP 503 normalisation: lower case, runs of -_. as '-' */
		snprintf(name, sizeof(name), "%s", p->name);
		for (i = 0; name[i]; i++)
			name[i] = (char)(name[i] == '_' || name[i] == '.' ?
					 '-' : tolower((unsigned char)name[i]));
		purl_put(buf, len, &o, name);
	} else if (strcmp(p->ecosystem, "npm") == 0 && p->name[0] == '@' &&
		   strchr(p->name, '/')) {
		const char *slash = strchr(p->name, '/');

		snprintf(name, sizeof(name), "%.*s", (int)(slash - p->name),
			 p->name);
		purl_put(buf, len, &o, name);
		purl_lit(buf, len, &o, "/");
		purl_put(buf, len, &o, slash + 1);
	} else {
		purl_put(buf, len, &o, p->name);
	}
	purl_lit(buf, len, &o, "@");
	purl_put(buf, len, &o, p->version);
	if (p->arch && p->arch[0]) {
		purl_lit(buf, len, &o, "?arch=");
		purl_put(buf, len, &o, p->arch);
	}
	if (p->release && p->release[0]) {
		purl_lit(buf, len, &o, p->arch && p->arch[0] ? "&distro=" :
			 "?distro=");
		purl_lit(buf, len, &o, strcmp(p->ecosystem, "deb") ? "alpine-" :
			 "debian-");
		purl_put(buf, len, &o, p->release);
	}
}

/* ---- findings --------------------------------------------------------- */

struct inv_emit {
	struct scan_level lvl;
	const char *what;       /* evidence prefix: "dpkg status" */
};

static void emit_pkg(void *arg, const struct inv_pkg *p)
{
	struct inv_emit *ie = arg;
	struct scan_finding f = { 0 };
	char purl[1024], evidence[SCAN_EVIDENCE_LEN];

	inv_purl(purl, sizeof(purl), p);
	if (p->source[0])
		snprintf(evidence, sizeof(evidence), "%s; source %s%s%s", ie->what,
			 p->source, p->source_version[0] ? " " : "",
			 p->source_version);
	else
		snprintf(evidence, sizeof(evidence), "%s", ie->what);
	f.type = SCAN_FINDING_PACKAGE;
	f.ecosystem = p->ecosystem;
	f.name = p->name;
	f.version = p->version;
	f.purl = purl;
	f.evidence = evidence;
	f.source = p->source[0] ? p->source : NULL;
	f.source_version = p->source_version[0] ? p->source_version : NULL;
	f.release = p->release && p->release[0] ? p->release : NULL;
	scan_emit(&ie->lvl, &f);
}

/* Reads the whole of <file>; NULL with errno set on failure. */
static char *read_all(struct scan_file *file, size_t *len)
{
	size_t got = 0;
	char *buf;
	ssize_t n;

	if (file->size > INV_MAX_FILE_BYTES) {
		errno = EFBIG;
		return NULL;
	}
	buf = malloc(file->size + 1);
	if (!buf)
		return NULL;
	while (got < file->size) {
		n = pread(file->fd, buf + got, file->size - got, (off_t)got);
		if (n < 0) {
			free(buf);
			return NULL;
		}
		if (n == 0)
			break;
		got += (size_t)n;
	}
	buf[got] = '\0';
	*len = got;
	return buf;
}

void inventory_scan_file(struct scan_ctx *ctx, struct scan_file *file,
			 enum inv_kind kind)
{
	static const char *const what[] = {
		[INV_DPKG] = "dpkg status", [INV_APK] = "apk installed db",
		[INV_RPM] = "rpmdb (sqlite)", [INV_PYTHON] = "python metadata",
		[INV_NPM] = "npm package.json",
	};
	struct inv_emit ie = { { ctx, file, "", NULL, NULL }, what[kind] };
	char *data;
	size_t len = 0;
	int n;

	if (kind == INV_RPM) {
		n = inv_parse_rpmdb_fd(file->fd, emit_pkg, &ie);
		goto out;
	}
	data = read_all(file, &len);
	if (!data) {
		n = -errno;
		goto out;
	}
	if (kind == INV_DPKG)
		n = inv_parse_dpkg(data, len, emit_pkg, &ie);
	else if (kind == INV_APK)
		n = inv_parse_apk(data, len, emit_pkg, &ie);
	else if (kind == INV_PYTHON)
		n = inv_parse_python(data, len, emit_pkg, &ie);
	else
		n = inv_parse_npm(data, len, emit_pkg, &ie);
	free(data);
out:
	if (n < 0 && !(kind == INV_NPM && n == -EINVAL)) {
		ctx->stats.errors++;
		px_warn("scan", "package database unreadable", "path=%s kind=%s err=%s",
			px_q(file->path), px_q(what[kind]), px_q(strerror(-n)));
	} else {
		px_debug("scan", "package database read", "path=%s kind=%s packages=%d",
			 px_q(file->path), px_q(what[kind]), n);
	}
}
