/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The scanner's internal interfaces: what the directory walk, the archive
 * reader, the identifiers (log4j, maven) and the outputs share.
 *
 * Flow: scan_walk_root() visits every regular file of a snapshot; a file
 * that is a zip (by content) goes to scan_archive_file(), which reads it and
 * every nested archive with libarchive's seekable zip reader.  Each archive
 * level collects what its entries reveal in a struct scan_level; when the
 * level ends, the identifiers turn that into findings and hand them to the
 * sink (JSON lines on stdout, or batches to the collector).
 *
 * Later snapshot kinds (container images, ext4 images) and identifiers
 * (dpkg, npm, pypi, secrets, malware) plug in at the same two places: a new
 * walker that feeds files, and a new identifier called per entry and per
 * level.
 */
#ifndef PX_SCAN_H
#define PX_SCAN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sha256.h"

/* Values match parallax.v1.Severity, so they convert by cast. */
enum scan_severity {
	SCAN_SEV_NONE = 0,
	SCAN_SEV_LOW = 1,
	SCAN_SEV_MEDIUM = 2,
	SCAN_SEV_HIGH = 3,
	SCAN_SEV_CRITICAL = 4,
};

/* Values match parallax.v1.FindingType. */
enum scan_finding_type {
	SCAN_FINDING_PACKAGE = 1,
	SCAN_FINDING_SECRET = 2,
	SCAN_FINDING_PII = 3,
	SCAN_FINDING_MALWARE = 4,
};

#define SCAN_MAX_CVES 8
#define SCAN_EVIDENCE_LEN 512

struct scan_cve {
	const char *id;                   /* static string, "CVE-2021-44228" */
	enum scan_severity severity;
	char evidence[SCAN_EVIDENCE_LEN];
};

/*
 * One finding as the identifiers produce it.  Every pointer is borrowed for
 * the duration of the sink call; a sink copies what it keeps.
 */
struct scan_finding {
	enum scan_finding_type type;
	const char *path;       /* outermost file on disk */
	const char *inner;      /* "a.war!/WEB-INF/lib/b.jar", "" at top */
	const char *sha256;     /* hex of the outermost file, "" if unknown */
	const char *ecosystem;
	const char *name;
	const char *version;
	const char *purl;
	const char *evidence;   /* what identified the package */
	enum scan_severity severity; /* highest of the CVEs, NONE without */
	size_t n_cves;
	struct scan_cve cves[SCAN_MAX_CVES]; /* sorted by id */
};

/* Where findings go.  emit returns 0 or -errno; an error is counted and
 * logged by the caller but does not stop the scan. */
struct scan_sink {
	int (*emit)(void *arg, const struct scan_finding *f);
	void *arg;
};

struct scan_limits {
	int max_depth;               /* archive nesting; the file is depth 1 */
	uint64_t max_entry_bytes;    /* inflated bytes read from one entry */
	uint64_t max_archive_bytes;  /* inflated bytes per file on disk,
				      * nested archives included */
};

#define SCAN_DEFAULT_MAX_DEPTH 16
#define SCAN_DEFAULT_MAX_ENTRY_BYTES (256ull << 20)
#define SCAN_DEFAULT_MAX_ARCHIVE_BYTES (2ull << 30)

struct scan_stats {
	uint64_t files;          /* regular files visited */
	uint64_t bytes;          /* their sizes on disk */
	uint64_t archives;       /* archives opened, nested ones included */
	uint64_t findings;
	uint64_t errors;         /* every problem below, plus I/O errors */
	uint64_t corrupt;        /* archives libarchive could not read */
	uint64_t depth_limited;  /* nested archives past max_depth */
	uint64_t budget_hits;    /* entries or files past a byte budget */
};

/* The state of one scan run (possibly over several roots). */
struct scan_ctx {
	struct scan_limits limits;
	struct scan_sink sink;
	struct scan_stats stats;
	enum scan_severity worst;  /* highest severity emitted */
};

void scan_ctx_init(struct scan_ctx *ctx, const struct scan_sink *sink);

/* ---- walk.c --------------------------------------------------------- */

/*
 * Scans <root>: a directory walked without following symlinks, or a single
 * regular file.  Problems below the root are logged, counted in ctx->stats
 * and skipped.  Returns 0, or -errno when the root itself cannot be opened.
 */
int scan_walk_root(struct scan_ctx *ctx, const char *root);

/* The same, naming what is found under <display> instead of <root>: "/"
 * when <root> is a host's root filesystem mounted elsewhere, so paths read
 * as the host sees them. */
int scan_walk_root_as(struct scan_ctx *ctx, const char *root,
		      const char *display);

/* ---- archive.c ------------------------------------------------------ */

/* A file on disk being scanned; its digest is computed once, on demand. */
struct scan_file {
	const char *path;
	int fd;
	uint64_t size;
	bool hashed;
	char sha256[PX_SHA256_HEX_LEN + 1];
};

/* True when the first bytes of a file or entry are a zip header. */
bool scan_is_zip_magic(const void *head, size_t len);
/* True when <name> ends in an extension of a Java or zip archive. */
bool scan_has_archive_ext(const char *name);

/*
 * Reads <file> (open, regular) as a zip archive, nested archives included,
 * and emits what it finds.  Corrupt input and exceeded limits are logged
 * and counted.  Returns 0, or -errno when the file could not be read as an
 * archive at all (already logged and counted).
 */
int scan_archive_file(struct scan_ctx *ctx, struct scan_file *file);

/* ---- per-level identification (log4j.c, maven.c) ------------------- */

struct log4j_set;
struct maven_set;

/*
 * What one archive level has revealed so far.  <inner> names the level
 * ("" for the file itself); identifiers attach their state here.
 */
struct scan_level {
	struct scan_ctx *ctx;
	struct scan_file *file;
	const char *inner;
	struct log4j_set *log4j;
	struct maven_set *maven;
};

/* Fills in path, inner and sha256 of <f> from <lvl>, hashes the file on
 * first use and passes the finding to the sink. */
void scan_emit(struct scan_level *lvl, struct scan_finding *f);

/* Sets f->severity to the highest of its CVEs and sorts them by id. */
void scan_finding_settle(struct scan_finding *f);

const char *scan_severity_name(enum scan_severity s);
/* Parses none|low|medium|high|critical; -EINVAL otherwise. */
int scan_severity_parse(const char *s, enum scan_severity *out);

#endif
