/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Package inventories read from their databases at rest: dpkg (status and
 * status.d), apk (lib/apk/db/installed), rpm (the sqlite rpmdb), Python
 * (dist-info METADATA, egg-info PKG-INFO) and npm (node_modules
 * package.json).
 *
 * The parsers take the database's bytes and call back once per package;
 * they never read a file themselves, so the fuzz targets and the tests feed
 * them directly.  inventory_scan_file() picks the parser from the path of
 * a file in a snapshot and turns each package into a finding.
 */
#ifndef PX_SCAN_INVENTORY_H
#define PX_SCAN_INVENTORY_H

#include <stddef.h>

#include "scan.h"

enum inv_kind {
	INV_NONE = 0,
	INV_DPKG,       /* var/lib/dpkg/status, var/lib/dpkg/status.d/<x> */
	INV_APK,        /* lib/apk/db/installed */
	INV_RPM,        /* rpmdb.sqlite */
	INV_PYTHON,     /* *.dist-info/METADATA, *.egg-info[/PKG-INFO] */
	INV_NPM,        /* node_modules/[@scope/]name/package.json */
};

/* One package as a parser sees it; strings borrowed for the callback. */
struct inv_pkg {
	const char *ecosystem;  /* deb, apk, rpm, pypi, npm */
	const char *name;
	const char *version;    /* as the ecosystem writes it, epoch included */
	const char *arch;       /* "" when unknown */
	const char *source;     /* source package, "" when unknown */
	const char *source_version; /* "" when the same as version */
	const char *release;    /* distribution release ("12", "3.19"), or "" */
};

typedef void (*inv_pkg_cb)(void *arg, const struct inv_pkg *p);

/* The inventory a snapshot path holds, from its name alone. */
enum inv_kind inventory_kind(const char *path);

/* Each returns the number of packages reported, or -EINVAL when the input
 * is not what it claims to be at all. */
int inv_parse_dpkg(const char *data, size_t len, inv_pkg_cb cb, void *arg);
int inv_parse_apk(const char *data, size_t len, inv_pkg_cb cb, void *arg);
int inv_parse_python(const char *data, size_t len, inv_pkg_cb cb,
		     void *arg);
int inv_parse_npm(const char *data, size_t len, inv_pkg_cb cb, void *arg);
/* One rpm header blob as rpmdb stores it (no lead, no signature). */
int inv_parse_rpm_header(const void *blob, size_t len, inv_pkg_cb cb,
			 void *arg);
/* Every header of the sqlite rpmdb open as <fd> (read-only, immutable). */
int inv_parse_rpmdb_fd(int fd, inv_pkg_cb cb, void *arg);

/* Writes the package URL of <p>, percent-encoding as purl asks. */
void inv_purl(char *buf, size_t len, const struct inv_pkg *p);

/*
 * Reads <file> as the inventory <kind> and emits a package finding per
 * package (path: the database file; evidence names it).  Problems are
 * logged and counted.
 */
void inventory_scan_file(struct scan_ctx *ctx, struct scan_file *file,
			 enum inv_kind kind);

#endif
