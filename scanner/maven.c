// SPDX-License-Identifier: Apache-2.0
/*
 * Maven coordinates from pom.properties and MANIFEST.MF (see maven.h).
 * Both formats are parsed leniently: what cannot be read is ignored, since
 * a missing version makes a finding less precise, never wrong.
 */
#include "maven.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"

struct maven_set *maven_set_new(void)
{
	return calloc(1, sizeof(struct maven_set));
}

void maven_set_free(struct maven_set *s)
{
	if (!s)
		return;
	free(s->poms);
	free(s);
}

static bool ends_with(const char *s, const char *suffix)
{
	size_t n = strlen(s), m = strlen(suffix);

	return n >= m && memcmp(s + n - m, suffix, m) == 0;
}

bool maven_is_pom(const char *name)
{
	return strncmp(name, "META-INF/maven/", 15) == 0 &&
	       ends_with(name, "/pom.properties");
}

bool maven_is_manifest(const char *name)
{
	return strcasecmp(name, "META-INF/MANIFEST.MF") == 0;
}

/* Copies [b, e) into <dst> (size <n>) without surrounding blanks. */
static void copy_trimmed(char *dst, size_t n, const char *b, const char *e)
{
	size_t len;

	while (b < e && isspace((unsigned char)*b))
		b++;
	while (e > b && isspace((unsigned char)e[-1]))
		e--;
	len = (size_t)(e - b);
	if (len >= n)
		len = n - 1;
	memcpy(dst, b, len);
	dst[len] = '\0';
}

/* Handles one "key=value" line of a pom.properties. */
static void pom_line(struct maven_pom *p, const char *b, const char *e)
{
	const char *sep;
	char key[32];

	while (b < e && isspace((unsigned char)*b))
		b++;
	if (b == e || *b == '#' || *b == '!')
		return;
	sep = b;
	while (sep < e && *sep != '=' && *sep != ':')
		sep++;
	if (sep == e)
		return;
	copy_trimmed(key, sizeof(key), b, sep);
	if (strcmp(key, "groupId") == 0)
		copy_trimmed(p->group, sizeof(p->group), sep + 1, e);
	else if (strcmp(key, "artifactId") == 0)
		copy_trimmed(p->artifact, sizeof(p->artifact), sep + 1, e);
	else if (strcmp(key, "version") == 0)
		copy_trimmed(p->version, sizeof(p->version), sep + 1, e);
}

static int grow(struct maven_set *s)
{
	struct maven_pom *np;
	size_t cap;

	if (s->n < s->cap)
		return 0;
	if (s->cap >= MAVEN_MAX_POMS)
		return -ENOSPC;
	cap = s->cap ? s->cap * 2 : 8;
	np = realloc(s->poms, cap * sizeof(*np));
	if (!np)
		return -ENOMEM;
	s->poms = np;
	s->cap = cap;
	return 0;
}

int maven_add_pom(struct maven_set *s, const char *name, const char *data,
		  size_t len)
{
	struct maven_pom p = { 0 };
	const char *b = data, *end = data + len, *e;
	int err;

	while (b < end) {
		e = memchr(b, '\n', (size_t)(end - b));
		if (!e)
			e = end;
		pom_line(&p, b, e);
		b = e + 1;
	}
	if (!p.group[0] || !p.artifact[0])
		return -EINVAL;
	err = grow(s);
	if (err)
		return err;
	snprintf(p.where, sizeof(p.where), "%s", name);
	s->poms[s->n++] = p;
	return 0;
}

/* Stores one unfolded "Name: value" attribute of the main section. */
static void manifest_attr(struct maven_manifest *mf, const char *line)
{
	const char *colon = strchr(line, ':');
	char key[64];
	char *semi;

	if (!colon)
		return;
	copy_trimmed(key, sizeof(key), line, colon);
	colon++;
	if (strcasecmp(key, "Implementation-Title") == 0)
		copy_trimmed(mf->title, sizeof(mf->title), colon,
			     colon + strlen(colon));
	else if (strcasecmp(key, "Implementation-Version") == 0)
		copy_trimmed(mf->version, sizeof(mf->version), colon,
			     colon + strlen(colon));
	else if (strcasecmp(key, "Bundle-Version") == 0)
		copy_trimmed(mf->bundle_version, sizeof(mf->bundle_version),
			     colon, colon + strlen(colon));
	else if (strcasecmp(key, "Bundle-SymbolicName") == 0) {
		copy_trimmed(mf->bsn, sizeof(mf->bsn), colon,
			     colon + strlen(colon));
		semi = strchr(mf->bsn, ';');
		if (semi)
			*semi = '\0';
	}
}

/* Takes what one manifest section said: everything from the main section;
 * from a later (per-entry) section only a title and version the main one
 * lacked, as log4j 1.1.3 keeps them under "Name: org/apache/log4j/". */
static void manifest_section(struct maven_manifest *mf,
			     const struct maven_manifest *sec, bool main)
{
	if (main) {
		*mf = *sec;
		return;
	}
	if (mf->title[0] || !sec->title[0])
		return;
	memcpy(mf->title, sec->title, sizeof(mf->title));
	memcpy(mf->version, sec->version, sizeof(mf->version));
}

/*
 * Walks the manifest section by section (separated by empty lines),
 * joining continuation lines (those starting with one space) before
 * handing each attribute on.
 */
void maven_set_manifest(struct maven_set *s, const char *data, size_t len)
{
	struct maven_manifest sec = { 0 };
	bool main = true;
	char line[1024];
	size_t n = 0, i;

	for (i = 0; i <= len; i++) {
		char c = i < len ? data[i] : '\n';

		if (c == '\r')
			continue;
		if (c != '\n') {
			if (n < sizeof(line) - 1)
				line[n++] = c;
			continue;
		}
		if (i + 1 < len && data[i + 1] == ' ') {
			i++;    /* continuation: drop the newline and space */
			continue;
		}
		line[n] = '\0';
		if (n) {
			manifest_attr(&sec, line);
			n = 0;
			continue;
		}
		manifest_section(&s->mf, &sec, main);
		memset(&sec, 0, sizeof(sec));
		main = false;
	}
	manifest_section(&s->mf, &sec, main);
}

struct maven_pom *maven_find(struct maven_set *s, const char *group,
			     const char *artifact)
{
	size_t i;

	for (i = 0; i < s->n; i++)
		if (strcmp(s->poms[i].group, group) == 0 &&
		    strcmp(s->poms[i].artifact, artifact) == 0)
			return &s->poms[i];
	return NULL;
}

/* Appends <s> percent-encoded to <buf> at *<off>. */
static void purl_part(char *buf, size_t len, size_t *off, const char *s)
{
	static const char hex[] = "0123456789ABCDEF";
	unsigned char c;

	for (; *s && *off + 4 < len; s++) {
		c = (unsigned char)*s;
		if (isalnum(c) || c == '.' || c == '-' || c == '_' ||
		    c == '~') {
			buf[(*off)++] = (char)c;
			continue;
		}
		buf[(*off)++] = '%';
		buf[(*off)++] = hex[c >> 4];
		buf[(*off)++] = hex[c & 15];
	}
	buf[*off] = '\0';
}

void maven_purl(char *buf, size_t len, const char *group,
		const char *artifact, const char *version)
{
	size_t off;

	off = (size_t)snprintf(buf, len, "pkg:maven/");
	purl_part(buf, len, &off, group);
	if (off + 1 < len)
		buf[off++] = '/';
	purl_part(buf, len, &off, artifact);
	if (version[0] && off + 1 < len) {
		buf[off++] = '@';
		purl_part(buf, len, &off, version);
	}
	buf[off] = '\0';
}

static void report_pom(struct scan_level *lvl, const struct maven_pom *p)
{
	struct scan_finding f = { 0 };
	char name[260], purl[600], evidence[SCAN_EVIDENCE_LEN];

	snprintf(name, sizeof(name), "%s:%s", p->group, p->artifact);
	maven_purl(purl, sizeof(purl), p->group, p->artifact, p->version);
	snprintf(evidence, sizeof(evidence), "%s", p->where);
	f.type = SCAN_FINDING_PACKAGE;
	f.ecosystem = "maven";
	f.name = name;
	f.version = p->version;
	f.purl = purl;
	f.evidence = evidence;
	scan_emit(lvl, &f);
}

/*
 * A level without any pom.properties is named by its manifest, when that
 * gives a name and a version: Bundle-SymbolicName with Bundle-Version (or
 * Implementation-Version), else Implementation-Title with
 * Implementation-Version.  No groupId is known, so the purl is a generic
 * one and the evidence says where each part came from.
 */
static void report_manifest(struct scan_level *lvl,
			    const struct maven_manifest *mf)
{
	struct scan_finding f = { 0 };
	char purl[600], evidence[SCAN_EVIDENCE_LEN];
	const char *name, *version, *name_key, *version_key;
	size_t off;

	if (mf->bsn[0] && (mf->bundle_version[0] || mf->version[0])) {
		name = mf->bsn;
		name_key = "Bundle-SymbolicName";
		version = mf->bundle_version[0] ? mf->bundle_version : mf->version;
		version_key = mf->bundle_version[0] ? "Bundle-Version" :
			      "Implementation-Version";
	} else if (mf->title[0] && mf->version[0]) {
		name = mf->title;
		name_key = "Implementation-Title";
		version = mf->version;
		version_key = "Implementation-Version";
	} else {
		return;
	}
	off = (size_t)snprintf(purl, sizeof(purl), "pkg:generic/");
	purl_part(purl, sizeof(purl), &off, name);
	if (off + 1 < sizeof(purl))
		purl[off++] = '@';
	purl_part(purl, sizeof(purl), &off, version);
	snprintf(evidence, sizeof(evidence),
		 "META-INF/MANIFEST.MF %s and %s (no pom.properties)", name_key,
		 version_key);
	f.type = SCAN_FINDING_PACKAGE;
	f.ecosystem = "maven";
	f.name = name;
	f.version = version;
	f.purl = purl;
	f.evidence = evidence;
	scan_emit(lvl, &f);
}

void maven_report(struct scan_level *lvl)
{
	struct maven_set *s = lvl->maven;
	size_t i;

	for (i = 0; i < s->n; i++)
		if (!s->poms[i].claimed)
			report_pom(lvl, &s->poms[i]);
	if (!s->n && !s->mf.claimed)
		report_manifest(lvl, &s->mf);
}
