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
 * Every snapshot kind feeds regular files to scan_file_run(): the
 * directory walk (walk.c), container image layers (image.c) and ext
 * images (ext4.c) through memory-backed files (snapshot.c), all of them
 * optionally through a thread pool (pool.c).  Per file, scan_file_run() picks the
 * inventory parser by path (inventory.c, rpmdb.c), ELF shared objects
 * (elfso.c) or the archive reader, then the malware hashes (malware.c) and
 * the secrets and PII pass (secrets.c).  Package findings are matched
 * against OSV advisories (osvmatch.c) as they are emitted; limits hit and
 * corrupt input become events (scan_event) as well as log lines.
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

#define SCAN_MAX_CVES 48
#define SCAN_EVIDENCE_LEN 512
#define SCAN_CVE_ID_LEN 64

struct scan_cve {
	char id[SCAN_CVE_ID_LEN];         /* "CVE-2021-44228", "GHSA-..." */
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
	const char *source;     /* source package (deb, rpm, apk), or NULL */
	const char *source_version; /* its version when not <version> */
	const char *release;    /* deb, apk: distribution release, or NULL */
	const char *layer_digest; /* image layer holding the file, or "" */
	/* secret, pii, malware: what matched, never the value itself */
	const char *rule;       /* secret rule, pii kind, malware signature */
	const char *preview;    /* masked value (secret, pii) */
	const char *keyed_hash; /* HMAC-SHA256 hex of the value */
	uint32_t line;          /* 1-based line of the match, 0 if unknown */
	const char *database;   /* malware: signature file */
	const char *hash_kind;  /* malware: md5, sha1, sha256 */
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
	uint64_t max_entries;        /* entries read per file on disk */
	unsigned int max_ratio;      /* inflated / compressed, per entry */
	unsigned int max_file_ms;    /* wall time per file on disk, 0: none */
};

#define SCAN_DEFAULT_MAX_DEPTH 16
#define SCAN_DEFAULT_MAX_ENTRY_BYTES (256ull << 20)
#define SCAN_DEFAULT_MAX_ARCHIVE_BYTES (2ull << 30)
#define SCAN_DEFAULT_MAX_ENTRIES 1000000
#define SCAN_DEFAULT_MAX_RATIO 1000
#define SCAN_DEFAULT_MAX_FILE_MS 60000

struct scan_stats {
	uint64_t files;          /* regular files visited */
	uint64_t bytes;          /* their sizes on disk */
	uint64_t archives;       /* archives opened, nested ones included */
	uint64_t findings;
	uint64_t errors;         /* every problem below, plus I/O errors */
	uint64_t corrupt;        /* archives libarchive could not read */
	uint64_t depth_limited;  /* nested archives past max_depth */
	uint64_t budget_hits;    /* entries or files past a byte budget */
	uint64_t limit_hits;     /* ratio, entry count, time, zip bombs */
	uint64_t events;         /* events handed to the event sink */
	uint64_t inflated;       /* bytes read out of archive entries */
	uint64_t in_place;       /* nested STORED archives read in place */
};

/* What a scan looks for (scan_ctx.checks). */
enum scan_check {
	SCAN_CHECK_PACKAGES = 1 << 0,  /* inventories and archives */
	SCAN_CHECK_SECRETS = 1 << 1,
	SCAN_CHECK_PII = 1 << 2,
	SCAN_CHECK_MALWARE = 1 << 3,
};

/*
 * Something the scan met that is not a finding: a limit hit, a corrupt
 * archive, a recognised zip bomb.  Pointers borrowed for the call.
 */
struct scan_event {
	const char *kind;       /* "limit", "corrupt", "bomb", "recursive",
				 * "symlink" */
	const char *what;       /* the limit's name or the reason */
	const char *path;
	const char *inner;
	const char *layer_digest;
};

struct scan_event_sink {
	void (*emit)(void *arg, const struct scan_event *ev);
	void *arg;
};

struct scan_bar;
struct scan_secrets;
struct scan_malware;
struct scan_yara;
struct osv_db;

/* The state of one scan run (possibly over several roots). */
struct scan_ctx {
	struct scan_limits limits;
	struct scan_sink sink;
	struct scan_event_sink events;   /* emit NULL: logged only */
	struct scan_stats stats;
	enum scan_severity worst;  /* highest severity emitted */
	unsigned int checks;       /* enum scan_check bits */
	struct scan_secrets *secrets;    /* borrowed; NULL: none */
	struct scan_malware *malware;    /* borrowed; NULL: none */
	struct osv_db *advisories;       /* borrowed; NULL: none */
	struct scan_yara *yara;          /* borrowed; NULL: none */
	int threads;               /* files scanned in parallel */
	struct scan_bar *bar;      /* progress on stderr, shared by the
				    * run's contexts; NULL: none */
	void *lock;                /* a worker's pool (pool.c), or NULL */
	struct pool *pool;         /* the walk's or image reader's pool
				    * while threads run */
};

/* ---- pool.c --------------------------------------------------------- */

struct pool;

/* Starts ctx->threads workers; NULL when none could start (the caller
 * scans inline).  The sinks of <ctx> are called under the pool's lock. */
struct pool *scan_pool_start(struct scan_ctx *ctx);
/* Queues an open regular file (fd taken) for a worker; blocks while the
 * queue is full.  <link_target> and <layer> as in struct scan_file
 * (copied), or NULL.  <in_memory>: the file is a memfd holding its bytes,
 * so queued ones are bounded in bytes too (POOL_MAX_QUEUED_BYTES). */
void scan_pool_submit(struct pool *p, const char *path, int fd,
		      uint64_t size, const char *link_target,
		      const char *layer, bool in_memory);
/* An event sink that hands events to the run's sink under the lock. */
struct scan_event_sink scan_pool_event_sink(struct pool *p);
/* Takes (<on>) or releases the lock over the run's sinks and counters,
 * for the submitting thread to report an event while workers run. */
void scan_pool_lock(struct pool *p, bool on);
/* Counts an error of the walking thread while workers run. */
void scan_pool_count_error(struct pool *p);
/* Waits for every queued file, adds the workers' counts to the run's and
 * frees the pool. */
void scan_pool_finish(struct pool *p);

/* ---- progress.c ----------------------------------------------------- */

/* A progress bar on stderr drawing the counters <stats> (borrowed for its
 * life); NULL when out of memory.  Every function below does nothing when
 * ctx->bar is NULL. */
struct scan_bar *scan_bar_new(const struct scan_stats *stats);
void scan_bar_free(struct scan_bar *bar);
/* Redraws when due (at most ten times a second).  Under the pool's lock
 * while a pool runs, as every bar function. */
void scan_progress(struct scan_ctx *ctx);
/* Starts <phase> (static text) of the current root: <total> of <unit>
 * ("inodes"; NULL for bytes) to go through, 0 when unknown (a spinner).
 * Takes the pool's lock when ctx->pool is set, as do the two below. */
void scan_progress_begin(struct scan_ctx *ctx, const char *phase,
			 uint64_t total, const char *unit);
/* The same, with the bytes of the files scanned from now on as progress
 * towards <total> bytes (an estimate: a directory's filesystem). */
void scan_progress_follow_bytes(struct scan_ctx *ctx, const char *phase,
				uint64_t total);
/* How far the current phase is, in its unit (a reader of images). */
void scan_progress_at(struct scan_ctx *ctx, uint64_t done);
/* Gets the line out of the way of a log line that follows.  Only in a
 * scan without a pool: with one, the log line can land after the bar's
 * text (see file.c, scan_event()). */
void scan_progress_erase(struct scan_ctx *ctx);
/* Draws the root's last line (100% when a total was known), then erases
 * it on a terminal or ends it elsewhere.  Called with no pool running. */
void scan_progress_done(struct scan_ctx *ctx);

void scan_ctx_init(struct scan_ctx *ctx, const struct scan_sink *sink);

/* ---- walk.c --------------------------------------------------------- */

/*
 * Scans <root>: a directory, or a single regular file.  A symlink below
 * the root is resolved inside the root only (an absolute target is taken
 * from the root, a ".." above the root escapes it): one naming a regular
 * file in the root has that file scanned under the link's path (once per
 * target file); an escaping, looping or dangling link is skipped, and the
 * first two are "symlink" events.  Problems below the root are logged, counted in ctx->stats
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
	const char *layer_digest;  /* image layer, NULL outside images */
	const char *link_target;   /* <path> is a symlink to this snapshot
				    * path (noted in evidence), or NULL */
	uint64_t started_ns;       /* for max_file_ms */
	bool hashed;
	char sha256[PX_SHA256_HEX_LEN + 1];
};

/*
 * Everything a scan does with one regular file, whatever snapshot it comes
 * from (directory, image layer, ext4 image): inventories chosen by path,
 * archives by content, secrets, PII and malware when asked.  <file> is
 * borrowed; its fd stays open.
 */
void scan_file_run(struct scan_ctx *ctx, struct scan_file *file);

/* When <file> runs out of its max_file_ms (px_now_ns() clock), 0 for
 * never.  Every loop over a file's bytes checks it. */
uint64_t scan_file_deadline(const struct scan_ctx *ctx,
			    const struct scan_file *file);

/* Reports a non-finding event: logged, counted, passed to the event sink. */
void scan_event(struct scan_ctx *ctx, const char *kind, const char *what,
		const char *path, const char *inner, const char *layer);

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
