/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Offline vulnerability matching against OSV advisories (JSON files as in
 * the osv.dev exports: a directory of *.json or a zip of them).  Reading
 * them and evaluating ranges is common/osv.h, the same code the collector
 * uses; this module indexes the records in memory and matches every
 * package finding against them by ecosystem and name.
 */
#ifndef PX_SCAN_OSVMATCH_H
#define PX_SCAN_OSVMATCH_H

#include <stddef.h>

#include "scan.h"

struct osv_db;

/* Loads <path>: a directory (searched recursively), one .json file or a
 * zip of OSV JSON files (see px_osv_load()).  NULL with the reason in
 * <err>. */
struct osv_db *osv_db_load(const char *path, char *err, size_t errlen);
void osv_db_free(struct osv_db *db);
size_t osv_db_count(const struct osv_db *db);

/* Loads one advisory from its JSON text; -EINVAL when it is not one. */
int osv_db_add_json(struct osv_db *db, const char *json, size_t len,
		    const char *origin);
struct osv_db *osv_db_new(void);
/* Sorts the index after osv_db_add_json() calls; osv_db_load() does it. */
void osv_db_finish(struct osv_db *db);

/* Adds to <f> a CVE for every advisory affecting its package and version
 * (ids already present, as from class-based verdicts, are kept as they
 * are).  Returns how many were added. */
int osv_match(const struct osv_db *db, struct scan_finding *f);

#endif
