/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Maven coordinates of a Java archive level: every
 * META-INF/maven/<g>/<a>/pom.properties it holds (shaded dependencies keep
 * theirs) and the main section of its META-INF/MANIFEST.MF.  Identifiers
 * that know better (log4j.c) claim the poms they report; maven_report()
 * emits the rest as plain package findings without CVEs.
 */
#ifndef PX_SCAN_MAVEN_H
#define PX_SCAN_MAVEN_H

#include <stdbool.h>
#include <stddef.h>

#include "scan.h"

#define MAVEN_MAX_POMS 4096

struct maven_pom {
	char group[128];
	char artifact[128];
	char version[64];
	char where[256];        /* entry name of the pom.properties */
	bool claimed;           /* reported by a more specific identifier */
};

/* The main-section attributes we use; empty strings when absent. */
struct maven_manifest {
	char title[128];        /* Implementation-Title */
	char version[64];       /* Implementation-Version */
	char bsn[128];          /* Bundle-SymbolicName, without directives */
	char bundle_version[64];
	bool claimed;           /* an identifier reported what it names */
};

struct maven_set {
	struct maven_pom *poms;
	size_t n, cap;
	struct maven_manifest mf;
};

struct maven_set *maven_set_new(void);
void maven_set_free(struct maven_set *s);

bool maven_is_pom(const char *name);
bool maven_is_manifest(const char *name);

/* Parses a pom.properties body; -EINVAL when groupId or artifactId is
 * missing, -ENOSPC past MAVEN_MAX_POMS, -ENOMEM. */
int maven_add_pom(struct maven_set *s, const char *name, const char *data,
		  size_t len);
/* Parses the main section of a MANIFEST.MF body. */
void maven_set_manifest(struct maven_set *s, const char *data, size_t len);

/* The first pom with these coordinates, or NULL. */
struct maven_pom *maven_find(struct maven_set *s, const char *group,
			     const char *artifact);

/* Writes "pkg:maven/<g>/<a>@<v>" (no "@" part when <v> is empty), with
 * characters outside the purl-safe set percent-encoded. */
void maven_purl(char *buf, size_t len, const char *group,
		const char *artifact, const char *version);

/* Emits a package finding for every pom not claimed. */
void maven_report(struct scan_level *lvl);

#endif
