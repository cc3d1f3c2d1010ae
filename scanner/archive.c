// SPDX-License-Identifier: Apache-2.0
/*
 * Java archives (jar, war, ear, zip and friends) read with libarchive,
 * nested archives included.
 *
 * Every archive, on disk or nested, is opened with the seekable zip reader
 * over our own read and seek callbacks: the streaming reader rejects
 * self-executable jars and is fooled by entries that overlap.  A nested
 * archive is inflated into memory first, within two budgets: max_entry_bytes
 * for one entry, and max_archive_bytes for everything inflated from one file
 * on disk (which also bounds the memory held by the chain of open levels).
 * Only entries that an identifier asks for, and archives, are inflated; the
 * rest are skipped after a 4-byte look at their head.
 *
 * Hostile input is ordinary input: a corrupt or truncated archive, a nesting
 * deeper than max_depth, or a spent budget are logged once and counted as
 * errors, and the scan goes on with the next entry or the next file.
 *
 * XXX: entries whose data overlap (the "better zip bomb") are not detected
 * as such; libarchive reads entries sharing one offset once, and the
 * per-file budget bounds the rest, at the cost of inflating up to
 * max_archive_bytes.
 */
#include "scan.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <archive.h>
#include <archive_entry.h>

#include "log.h"
#include "log4j.h"
#include "maven.h"

#define READ_CHUNK (64 * 1024)
#define IDENT_MAX_BYTES (4u << 20)  /* classes, pom.properties, manifest */
#define EOCD_SEARCH (65535 + 22)   /* zip comment + end record */

/* What libarchive reads: the file on disk (fd >= 0) or a nested archive
 * in memory. */
struct src {
	int fd;
	const uint8_t *mem;
	uint64_t size;
	uint64_t pos;
	uint8_t *buf;
};

/* One file on disk being read, with its nested archives. */
struct arc_run {
	struct scan_ctx *ctx;
	struct scan_file *file;
	uint64_t inflated;   /* bytes inflated so far, all levels */
	bool spent;          /* max_archive_bytes reached: stop reading */
};

bool scan_is_zip_magic(const void *head, size_t len)
{
	const uint8_t *h = head;

	if (len < 4 || h[0] != 'P' || h[1] != 'K')
		return false;
	return (h[2] == 3 && h[3] == 4) || (h[2] == 5 && h[3] == 6) ||
	       (h[2] == 7 && h[3] == 8);
}

bool scan_has_archive_ext(const char *name)
{
	static const char *const exts[] = {
		".jar", ".war", ".ear", ".zip", ".jmod", ".hpi", ".jpi",
		".aar", ".sar", ".par", ".kar", NULL,
	};
	size_t n = strlen(name), i;

	for (i = 0; exts[i]; i++) {
		size_t m = strlen(exts[i]);

		if (n > m && strcasecmp(name + n - m, exts[i]) == 0)
			return true;
	}
	return false;
}

static la_ssize_t src_read(struct archive *a, void *arg, const void **out)
{
	struct src *s = arg;
	ssize_t n;

	if (s->pos >= s->size)
		return 0;
	if (s->fd < 0) {
		*out = s->mem + s->pos;
		n = (ssize_t)(s->size - s->pos);
		s->pos = s->size;
		return n;
	}
	n = pread(s->fd, s->buf, READ_CHUNK, (off_t)s->pos);
	if (n < 0) {
		archive_set_error(a, errno, "read failed: %s",
				  strerror(errno));
		return -1;
	}
	s->pos += (uint64_t)n;
	*out = s->buf;
	return n;
}

static la_int64_t src_seek(struct archive *a, void *arg, la_int64_t off,
			   int whence)
{
	struct src *s = arg;
	int64_t base = 0;

	if (whence == SEEK_CUR)
		base = (int64_t)s->pos;
	else if (whence == SEEK_END)
		base = (int64_t)s->size;
	if (base + off < 0) {
		archive_set_error(a, EINVAL, "seek before start");
		return ARCHIVE_FATAL;
	}
	s->pos = (uint64_t)(base + off);
	return (la_int64_t)s->pos;
}

static la_int64_t src_skip(struct archive *a, void *arg, la_int64_t req)
{
	struct src *s = arg;
	uint64_t left = s->pos < s->size ? s->size - s->pos : 0;
	uint64_t n = req < 0 ? 0 : (uint64_t)req;

	(void)a;
	if (n > left)
		n = left;
	s->pos += n;
	return (la_int64_t)n;
}

/* libarchive's message for the last failure, never NULL. */
static const char *lib_error(struct archive *a)
{
	const char *msg = archive_error_string(a);

	return msg ? msg : "unreadable";
}

/*
 * Opens <s> with the seekable zip reader.  NULL on failure, with
 * libarchive's message copied to <err>.
 */
static struct archive *open_src(struct src *s, char *err, size_t errlen)
{
	struct archive *a = archive_read_new();
	const char *msg;

	if (!a) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	archive_read_support_format_zip_seekable(a);
	archive_read_set_read_callback(a, src_read);
	archive_read_set_seek_callback(a, src_seek);
	archive_read_set_skip_callback(a, src_skip);
	archive_read_set_callback_data(a, s);
	if (archive_read_open1(a) == ARCHIVE_OK)
		return a;
	msg = lib_error(a);
	snprintf(err, errlen, "%s", msg);
	archive_read_free(a);
	return NULL;
}

/* Logs and counts a problem with an archive or one of its entries. */
static void report(struct arc_run *run, const char *inner, const char *what,
		   const char *err)
{
	struct scan_stats *st = &run->ctx->stats;

	st->errors++;
	px_warn("scan", what, "path=%s inner=%s err=%s",
		px_q(run->file->path), px_q(inner), px_q(err));
}

static void report_corrupt(struct arc_run *run, const char *inner,
			   const char *err)
{
	run->ctx->stats.corrupt++;
	report(run, inner, "archive unreadable", err);
}

/* "<parent>!/<name>", or <name> at the top level.  NULL when out of
 * memory. */
static char *join_inner(const char *parent, const char *name)
{
	char *s;

	if (!parent[0])
		return strdup(name);
	if (asprintf(&s, "%s!/%s", parent, name) < 0)
		return NULL;
	return s;
}

/*
 * Appends the rest of the current entry to <*buf> (holding <*len> bytes
 * already), up to <cap> bytes in all.  Every byte counts towards the file's
 * budget.  Returns 0, -EFBIG when the entry is larger than <cap>,
 * -ECANCELED when the file's budget is spent, -ENOMEM, or -EIO with
 * libarchive's message in <err>.
 */
static int read_rest(struct arc_run *run, struct archive *a, uint8_t **buf,
		     size_t *len, size_t cap, char *err, size_t errlen)
{
	size_t size = *len + READ_CHUNK;
	uint8_t *nb;
	la_ssize_t n;

	for (;;) {
		if (size > cap + 1)
			size = cap + 1;
		nb = realloc(*buf, size);
		if (!nb)
			return -ENOMEM;
		*buf = nb;
		n = archive_read_data(a, nb + *len, size - *len);
		if (n < 0) {
			snprintf(err, errlen, "%s", lib_error(a));
			return -EIO;
		}
		if (n == 0)
			return 0;
		*len += (size_t)n;
		run->inflated += (uint64_t)n;
		if (run->inflated > run->ctx->limits.max_archive_bytes) {
			run->spent = true;
			return -ECANCELED;
		}
		if (*len > cap)
			return -EFBIG;
		if (*len == size)
			size *= 2;
	}
}

/* Turns a read_rest() failure into a log line and a count. */
static void read_failed(struct arc_run *run, const char *inner, int err,
			const char *msg)
{
	struct scan_stats *st = &run->ctx->stats;

	if (err == -EFBIG) {
		st->budget_hits++;
		report(run, inner, "entry over byte budget", "max_entry_bytes");
	} else if (err == -ECANCELED) {
		st->budget_hits++;
		report(run, inner, "file over byte budget, rest skipped",
		       "max_archive_bytes");
	} else if (err == -EIO) {
		report(run, inner, "entry unreadable", msg);
	} else {
		report(run, inner, "entry skipped", strerror(-err));
	}
}

static int read_level(struct arc_run *run, struct archive *a,
		      const char *inner, int depth);

/* Reads the nested archive <buf> as level <inner> at <depth>. */
static void scan_nested(struct arc_run *run, const uint8_t *buf, size_t len,
			const char *inner, int depth)
{
	struct src s = { .fd = -1, .mem = buf, .size = len };
	struct archive *a;
	char err[256];

	a = open_src(&s, err, sizeof(err));
	if (!a) {
		report_corrupt(run, inner, err);
		return;
	}
	read_level(run, a, inner, depth);
	archive_read_free(a);
}

/*
 * An entry that may be an archive: named like one, or starting with a zip
 * header.  Inflates it within the budgets and descends into it.  Returns
 * -ECANCELED when the file's budget is spent, else 0.
 */
static int maybe_nested(struct arc_run *run, struct scan_level *lvl,
			struct archive *a, struct archive_entry *e,
			const char *name, int depth)
{
	const struct scan_limits *lim = &run->ctx->limits;
	bool named = scan_has_archive_ext(name);
	uint8_t *buf = NULL;
	size_t len = 0;
	char err[256] = "", *inner;
	int ret;

	if (!named && archive_entry_size_is_set(e) &&
	    archive_entry_size(e) < 22)
		return 0;
	inner = join_inner(lvl->inner, name);
	if (!inner)
		return 0;
	ret = read_rest(run, a, &buf, &len, 4, err, sizeof(err));
	if (ret == -EFBIG)
		ret = 0;        /* only the head was asked for */
	if (ret || (!named && !scan_is_zip_magic(buf, len)))
		goto out;
	if (depth >= lim->max_depth) {
		run->ctx->stats.depth_limited++;
		report(run, inner, "archive nested too deep, skipped",
		       "max_depth");
		goto out;
	}
	if (archive_entry_size_is_set(e) &&
	    (uint64_t)archive_entry_size(e) > lim->max_entry_bytes)
		ret = -EFBIG;
	else
		ret = read_rest(run, a, &buf, &len, lim->max_entry_bytes, err,
				sizeof(err));
	if (!ret)
		scan_nested(run, buf, len, inner, depth + 1);
out:
	if (ret)
		read_failed(run, inner, ret, err);
	free(buf);
	free(inner);
	return run->spent ? -ECANCELED : 0;
}

/* Which identifier wants an entry's bytes. */
enum ident {
	IDENT_LOG4J,
	IDENT_POM,
	IDENT_MANIFEST,
};

/* Hands an entry an identifier asked for to that identifier. */
static int identify(struct arc_run *run, struct scan_level *lvl,
		    struct archive *a, const char *name, enum ident what)
{
	uint8_t *buf = NULL;
	size_t len = 0;
	char err[256] = "", *inner;
	int ret;

	ret = read_rest(run, a, &buf, &len, IDENT_MAX_BYTES, err, sizeof(err));
	if (ret) {
		inner = join_inner(lvl->inner, name);
		read_failed(run, inner ? inner : name, ret, err);
		free(inner);
	} else if (what == IDENT_LOG4J) {
		log4j_feed(lvl->log4j, name, buf, len);
	} else if (what == IDENT_POM) {
		maven_add_pom(lvl->maven, name, (const char *)buf, len);
	} else {
		maven_set_manifest(lvl->maven, (const char *)buf, len);
	}
	free(buf);
	return run->spent ? -ECANCELED : 0;
}

/* Routes one regular entry.  -ECANCELED stops the whole file. */
static int entry(struct arc_run *run, struct scan_level *lvl,
		 struct archive *a, struct archive_entry *e, int depth)
{
	const char *name = archive_entry_pathname_utf8(e);
	bool want_data;
	size_t n;

	if (!name)
		name = archive_entry_pathname(e);
	if (!name || !name[0])
		return 0;
	if (log4j_wants(name, &want_data)) {
		if (want_data)
			return identify(run, lvl, a, name, IDENT_LOG4J);
		log4j_feed(lvl->log4j, name, NULL, 0);
		return 0;
	}
	if (maven_is_pom(name))
		return identify(run, lvl, a, name, IDENT_POM);
	if (maven_is_manifest(name))
		return identify(run, lvl, a, name, IDENT_MANIFEST);
	n = strlen(name);
	if (n > 6 && strcmp(name + n - 6, ".class") == 0)
		return 0;
	return maybe_nested(run, lvl, a, e, name, depth);
}

/*
 * Reads every entry of <a>, the level named <inner> at <depth>, then emits
 * what the identifiers made of it (also after an error part-way: what was
 * seen is still true).  Returns 0, -EIO on a corrupt archive, -ECANCELED
 * when the budget ran out, -ENOMEM.
 */
static int read_level(struct arc_run *run, struct archive *a,
		      const char *inner, int depth)
{
	struct scan_level lvl = { run->ctx, run->file, inner, NULL, NULL };
	struct archive_entry *e;
	int r, ret = 0;

	run->ctx->stats.archives++;
	lvl.log4j = log4j_set_new();
	lvl.maven = maven_set_new();
	if (!lvl.log4j || !lvl.maven) {
		ret = -ENOMEM;
		goto out_free;
	}
	while (!ret) {
		r = archive_read_next_header(a, &e);
		if (r == ARCHIVE_EOF)
			break;
		if (r == ARCHIVE_FATAL) {
			report_corrupt(run, inner, lib_error(a));
			ret = -EIO;
			break;
		}
		if (r == ARCHIVE_RETRY)
			continue;
		if (archive_entry_filetype(e) == AE_IFREG)
			ret = entry(run, &lvl, a, e, depth);
	}
	log4j_report(&lvl);
	maven_report(&lvl);
out_free:
	log4j_set_free(lvl.log4j);
	maven_set_free(lvl.maven);
	return ret;
}

/* True when the last bytes of the file hold a zip end record (a jar with
 * a launcher script in front of it). */
static bool has_zip_end(const struct scan_file *file)
{
	static const uint8_t eocd[4] = { 'P', 'K', 5, 6 };
	size_t n = file->size < EOCD_SEARCH ? file->size : EOCD_SEARCH;
	uint8_t *buf = malloc(n ? n : 1);
	bool found = false;
	ssize_t got;

	if (!buf)
		return false;
	got = pread(file->fd, buf, n, (off_t)(file->size - n));
	if (got == (ssize_t)n && n >= 22)
		found = memmem(buf, n, eocd, sizeof(eocd)) != NULL;
	free(buf);
	return found;
}

/* Reads <file> as the top level of an archive. */
static int read_file_archive(struct scan_ctx *ctx, struct scan_file *file)
{
	struct arc_run run = { ctx, file, 0, false };
	struct src s = { .fd = file->fd, .size = file->size };
	struct archive *a;
	char err[256];
	int ret;

	s.buf = malloc(READ_CHUNK);
	if (!s.buf)
		return -ENOMEM;
	a = open_src(&s, err, sizeof(err));
	if (!a) {
		report_corrupt(&run, "", err);
		free(s.buf);
		return -EIO;
	}
	ret = read_level(&run, a, "", 1);
	archive_read_free(a);
	free(s.buf);
	return ret == -ECANCELED ? 0 : ret;
}

int scan_archive_file(struct scan_ctx *ctx, struct scan_file *file)
{
	uint8_t head[4];
	ssize_t n;
	bool named = scan_has_archive_ext(file->path);

	if (file->size < 22 && !named)
		return 0;       /* smaller than any zip; also spares /proc */
	n = pread(file->fd, head, sizeof(head), 0);
	if (n < 0) {
		int err = errno;

		ctx->stats.errors++;
		px_warn("scan", "file unreadable", "path=%s err=%s",
			px_q(file->path), px_q(strerror(err)));
		return -err;
	}
	if (scan_is_zip_magic(head, (size_t)n) ||
	    (named && has_zip_end(file)))
		return read_file_archive(ctx, file);
	if (!named)
		return 0;
	ctx->stats.errors++;
	ctx->stats.corrupt++;
	px_warn("scan", "archive unreadable", "path=%s inner=\"\" err=%s",
		px_q(file->path), px_q("not a zip archive"));
	return -EIO;
}
