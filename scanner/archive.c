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
 * A nested archive STORED uncompressed (Spring Boot's BOOT-INF/lib jars) is
 * not copied: it is read in place, as a byte range of its parent, and
 * counts against neither budget.
 * Only entries that an identifier asks for, and archives, are inflated; the
 * rest are skipped after a 4-byte look at their head.
 *
 * Hostile input is ordinary input: a corrupt or truncated archive, a nesting
 * deeper than max_depth, or a spent budget are logged once and counted as
 * errors, and the scan goes on with the next entry or the next file.
 *
 * Before an archive is read, its central directory is checked on its own
 * (zip_precheck): entries whose local data overlap (the "better zip bomb")
 * make the whole archive refused, and entries whose declared inflated size
 * is more than max_ratio times their compressed size (and over 1 MiB) are
 * skipped.  Entry count (max_entries, all levels of one file) and wall time
 * per file (max_file_ms) are checked as entries are read; a nested archive
 * identical to one of its ancestors (a zip quine) is not entered.  Every
 * such decision is an event (scan_event) as well as a log line.
 */
#include "scan.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <archive.h>
#include <archive_entry.h>
#include <openssl/evp.h>

#include "host.h"
#include "log.h"
#include "log4j.h"
#include "maven.h"
#include "secrets.h"

#define READ_CHUNK (64 * 1024)
#define IDENT_MAX_BYTES (4u << 20)  /* classes, pom.properties, manifest */
#define EOCD_SEARCH (65535 + 22)   /* zip comment + end record */

/*
 * What libarchive reads: <size> bytes of the file on disk from offset
 * <base> (fd >= 0), or of memory at <mem>.  A nested archive read in
 * place is a range of its parent: the same fd with a larger base, or a
 * pointer into the parent's memory, so ranges of ranges need nothing more.
 */
struct src {
	int fd;
	uint64_t base;
	const uint8_t *mem;
	uint64_t size;
	uint64_t pos;
	uint8_t *buf;
};

#define RATIO_MIN_BYTES (1u << 20)  /* smaller entries: any ratio */
#define MAX_NESTED_CHAIN 64

/* A STORED entry of the central directory, a candidate for reading in
 * place: its local header's offset and its size. */
struct stored {
	char *name;
	uint64_t off;
	uint64_t size;
};

/* What the central directory check found: the entries it refused (names,
 * usually none), and the STORED entries sorted by name (duplicate names
 * left out). */
struct cd_notes {
	char **names;
	size_t n;
	struct stored *stored;
	size_t n_stored;
};

/* One file on disk being read, with its nested archives. */
struct arc_run {
	struct scan_ctx *ctx;
	struct scan_file *file;
	uint64_t inflated;   /* bytes inflated so far, all levels */
	uint64_t entries;    /* entries seen so far, all levels */
	bool spent;          /* a per-file limit reached: stop reading */
	/* the entry being read: what its header declares (-1: nothing),
	 * the compressed bytes libarchive had consumed at its start, and
	 * the bytes inflated from it so far, for checks while it inflates */
	int64_t entry_declared;
	int64_t entry_in0;
	uint64_t entry_out;
	/* digests of the nested archives being read, outermost first */
	uint8_t chain[MAX_NESTED_CHAIN][32];
	size_t chain_len;
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
	n = (ssize_t)(s->size - s->pos < READ_CHUNK ? s->size - s->pos :
		      READ_CHUNK);
	n = pread(s->fd, s->buf, (size_t)n, (off_t)(s->base + s->pos));
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

/* Counts and reports as an event (which logs it) a problem with an archive or one
 * of its entries; <kind> is the event's ("corrupt", "limit", ...). */
static void report_kind(struct arc_run *run, const char *kind,
			const char *inner, const char *what, const char *err)
{
	char ev[512];

	run->ctx->stats.errors++;
	snprintf(ev, sizeof(ev), "%s: %s", what, err);
	scan_event(run->ctx, kind, ev, run->file->path, inner,
		   run->file->layer_digest);
}

static void report(struct arc_run *run, const char *inner, const char *what,
		   const char *err)
{
	report_kind(run, "limit", inner, what, err);
}

static void report_corrupt(struct arc_run *run, const char *inner,
			   const char *err)
{
	run->ctx->stats.corrupt++;
	report_kind(run, "corrupt", inner, "archive unreadable", err);
}

static char *join_inner(const char *parent, const char *name);

/* ---- the central directory, checked before reading ------------------- */

static uint32_t le32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
	       (uint32_t)p[3] << 24;
}

static uint16_t le16(const uint8_t *p)
{
	return (uint16_t)(p[0] | p[1] << 8);
}

static ssize_t src_pread(const struct src *s, void *buf, size_t len,
			 uint64_t off)
{
	if (off >= s->size)
		return 0;
	if (len > s->size - off)
		len = (size_t)(s->size - off);
	if (s->fd < 0) {
		memcpy(buf, s->mem + off, len);
		return (ssize_t)len;
	}
	return pread(s->fd, buf, len, (off_t)(s->base + off));
}

struct cd_entry {
	uint64_t off, csize;
};

static int cd_cmp(const void *a, const void *b)
{
	const struct cd_entry *x = a, *y = b;

	return x->off < y->off ? -1 : x->off > y->off;
}

static void refused_free(struct cd_notes *r)
{
	size_t i;

	for (i = 0; i < r->n; i++)
		free(r->names[i]);
	free(r->names);
	for (i = 0; i < r->n_stored; i++)
		free(r->stored[i].name);
	free(r->stored);
	memset(r, 0, sizeof(*r));
}

static int stored_cmp(const void *a, const void *b)
{
	const struct stored *x = a, *y = b;

	return strcmp(x->name, y->name);
}

/* Notes the central directory record <e> (name <nl> bytes) as a STORED
 * entry when it is one: method 0, both sizes equal and known, and large
 * enough to be a zip.  Out of memory, it is simply not noted. */
static void note_stored(struct cd_notes *r, const uint8_t *e, size_t nl)
{
	uint64_t csize = le32(e + 20), usize = le32(e + 24);
	struct stored *nv;
	char *name;

	if (le16(e + 10) != 0 || csize != usize || csize == 0xffffffff ||
	    csize < 22)
		return;
	name = strndup((const char *)e + 46, nl);
	if (!name || strlen(name) != nl) {
		free(name);
		return;
	}
	nv = realloc(r->stored, (r->n_stored + 1) * sizeof(*nv));
	if (!nv) {
		free(name);
		return;
	}
	r->stored = nv;
	r->stored[r->n_stored].name = name;
	r->stored[r->n_stored].off = le32(e + 42);
	r->stored[r->n_stored++].size = csize;
}

/* Sorts the STORED entries by name and drops every name seen twice: which
 * of the two libarchive is reading cannot be told by name. */
static void stored_sort(struct cd_notes *r)
{
	size_t i, j, out = 0;

	if (r->n_stored < 2)
		return;
	qsort(r->stored, r->n_stored, sizeof(*r->stored), stored_cmp);
	for (i = 0; i < r->n_stored; i = j) {
		for (j = i + 1; j < r->n_stored &&
		     !strcmp(r->stored[i].name, r->stored[j].name); j++)
			;
		if (j - i == 1) {
			r->stored[out++] = r->stored[i];
			continue;
		}
		for (; i < j; i++)
			free(r->stored[i].name);
	}
	r->n_stored = out;
}

static const struct stored *stored_find(const struct cd_notes *r,
					const char *name)
{
	struct stored key = { .name = (char *)name };

	if (!r->n_stored)
		return NULL;
	return bsearch(&key, r->stored, r->n_stored, sizeof(*r->stored),
		       stored_cmp);
}

static bool is_refused(const struct cd_notes *r, const char *name)
{
	size_t i;

	for (i = 0; i < r->n; i++)
		if (!strcmp(r->names[i], name))
			return true;
	return false;
}

/*
 * Reads the central directory of <s> (archive <inner>): returns -EMLINK
 * when entries overlap (a zip bomb; reported), -E2BIG past max_entries
 * (reported), else 0 with the over-ratio entries in <r> (each reported).
 * An archive whose directory cannot be found is left to libarchive.
 */
static int zip_precheck(struct arc_run *run, const struct src *s,
			const char *inner, struct cd_notes *r)
{
	uint8_t tail[EOCD_SEARCH], *cd = NULL, *e;
	uint64_t tail_off = s->size > EOCD_SEARCH ? s->size - EOCD_SEARCH : 0;
	uint64_t cd_off, cd_size, i, count;
	struct cd_entry *ents = NULL;
	ssize_t n = src_pread(s, tail, sizeof(tail), tail_off);
	int ret = 0;
	char msg[128];

	for (i = n >= 22 ? (uint64_t)n - 22 + 1 : 0; i-- > 0;)
		if (!memcmp(tail + i, "PK\5\6", 4))
			break;
	if (n < 22 || i == UINT64_MAX)
		return 0;
	count = le16(tail + i + 10);
	cd_size = le32(tail + i + 12);
	cd_off = le32(tail + i + 16);
	if (count == 0xffff || cd_off == 0xffffffff || cd_size > s->size ||
	    cd_off > s->size - cd_size || cd_size > (256u << 20))
		return 0;       /* zip64 or a prefix: libarchive's job */
	if (run->entries + count > run->ctx->limits.max_entries) {
		snprintf(msg, sizeof(msg), "%" PRIu64 " entries", count);
		run->ctx->stats.limit_hits++;
		report(run, inner, "too many entries, archive skipped", msg);
		return -E2BIG;
	}
	cd = malloc(cd_size + 1);
	ents = calloc(count + 1, sizeof(*ents));
	if (!cd || !ents || src_pread(s, cd, cd_size, cd_off) != (ssize_t)cd_size)
		goto out_free;
	for (i = 0, e = cd; i < count && e + 46 <= cd + cd_size; i++) {
		uint64_t csize = le32(e + 20), usize = le32(e + 24);
		size_t nl = le16(e + 28), xl = le16(e + 30), cl = le16(e + 32);

		if (memcmp(e, "PK\1\2", 4) || e + 46 + nl > cd + cd_size)
			break;
		ents[i].off = le32(e + 42);
		ents[i].csize = csize;
		note_stored(r, e, nl);
		if (usize > RATIO_MIN_BYTES && csize != 0xffffffff &&
		    usize != 0xffffffff &&
		    usize / (csize ? csize : 1) > run->ctx->limits.max_ratio) {
			char **nv = realloc(r->names, (r->n + 1) * sizeof(*nv));
			char *name = strndup((const char *)e + 46, nl), *full;

			if (nv && name) {
				r->names = nv;
				r->names[r->n++] = name;
				full = join_inner(inner, name);
				snprintf(msg, sizeof(msg), "ratio %" PRIu64 " > max_ratio %u",
					 usize / (csize ? csize : 1),
					 run->ctx->limits.max_ratio);
				run->ctx->stats.limit_hits++;
				report(run, full ? full : name,
				       "entry compression ratio too high, skipped", msg);
				free(full);
			} else {
				free(name);
			}
		}
		e += 46 + nl + xl + cl;
	}
	stored_sort(r);
	qsort(ents, i, sizeof(*ents), cd_cmp);
	for (count = 1; count < i; count++) {
		/* a local header is 30 bytes at least, then the data */
		if (ents[count - 1].csize != 0xffffffff &&
		    ents[count - 1].off + 30 + ents[count - 1].csize >
		    ents[count].off) {
			run->ctx->stats.limit_hits++;
			report_kind(run, "bomb", inner,
				    "overlapping zip entries, archive skipped",
				    "zip bomb");
			ret = -EMLINK;
			break;
		}
	}
out_free:
	free(cd);
	free(ents);
	return ret;
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

/* Notes entry <e> of <a> as the one read_rest() reads next. */
static void entry_begin(struct arc_run *run, struct archive *a,
			struct archive_entry *e)
{
	run->entry_declared = archive_entry_size_is_set(e) ?
			      archive_entry_size(e) : -1;
	run->entry_in0 = archive_filter_bytes(a, -1);
	run->entry_out = 0;
}

/*
 * Checks the entry being inflated against what it may be, as bytes come
 * out: never more than its header declared (a header that lies about the
 * size is a bomb's), and never more than max_ratio bytes per compressed
 * byte consumed so far (the central directory's sizes, checked before
 * reading, can lie too).  0, -EOVERFLOW or -EDOM (<err> says why).
 */
static int inflate_check(struct arc_run *run, struct archive *a, char *err,
			 size_t errlen)
{
	int64_t in = archive_filter_bytes(a, -1) - run->entry_in0;
	uint64_t ratio;

	if (run->entry_declared >= 0 &&
	    run->entry_out > (uint64_t)run->entry_declared) {
		snprintf(err, errlen, "declared %" PRId64 " bytes, inflated %" PRIu64,
			 run->entry_declared, run->entry_out);
		return -EOVERFLOW;
	}
	if (run->entry_out <= RATIO_MIN_BYTES || !run->ctx->limits.max_ratio)
		return 0;
	ratio = run->entry_out / (uint64_t)(in > 0 ? in : 1);
	if (ratio <= run->ctx->limits.max_ratio)
		return 0;
	snprintf(err, errlen, "ratio %" PRIu64 " > max_ratio %u", ratio,
		 run->ctx->limits.max_ratio);
	return -EDOM;
}

/*
 * Appends the rest of the current entry to <*buf> (holding <*len> bytes
 * already), up to <cap> bytes in all.  Every byte counts towards the file's
 * budget.  Returns 0, -EFBIG when the entry is larger than <cap>,
 * -ECANCELED when the file's budget is spent, -EOVERFLOW or -EDOM when it
 * inflates past its declared size or max_ratio (inflate_check(), <err>
 * says), -ENOMEM, or -EIO with libarchive's message in <err>.
 */
static int read_rest(struct arc_run *run, struct archive *a, uint8_t **buf,
		     size_t *len, size_t cap, char *err, size_t errlen)
{
	size_t size = *len + READ_CHUNK;
	uint8_t *nb;
	la_ssize_t n;
	int ret;

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
		run->entry_out += (uint64_t)n;
		run->ctx->stats.inflated += (uint64_t)n;
		ret = inflate_check(run, a, err, errlen);
		if (ret)
			return ret;
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
	} else if (err == -EOVERFLOW) {
		st->limit_hits++;
		report_kind(run, "bomb", inner,
			    "entry inflates past its declared size, skipped", msg);
	} else if (err == -EDOM) {
		st->limit_hits++;
		report(run, inner, "entry compression ratio too high, skipped",
		       msg);
	} else if (err == -EIO) {
		/* damaged data, not a limit: a corrupt event */
		st->corrupt++;
		report_kind(run, "corrupt", inner, "entry unreadable", msg);
	} else {
		report(run, inner, "entry skipped", strerror(-err));
	}
}

static int read_level(struct arc_run *run, struct archive *a,
		      const struct src *s, const char *inner, int depth,
		      const struct cd_notes *r);

/* The sha256 of the bytes of <s>, read through it (a range on disk is read
 * in chunks into its buffer).  0 or -EIO. */
static int src_digest(const struct src *s, uint8_t digest[32])
{
	EVP_MD_CTX *md;
	uint64_t off = 0;
	ssize_t n;
	int ret = 0;

	if (s->fd < 0) {
		EVP_Digest(s->mem, s->size, digest, NULL, EVP_sha256(), NULL);
		return 0;
	}
	md = EVP_MD_CTX_new();
	if (!md || !EVP_DigestInit_ex(md, EVP_sha256(), NULL)) {
		ret = -ENOMEM;
		goto out_free;
	}
	while (off < s->size) {
		n = src_pread(s, s->buf, READ_CHUNK, off);
		if (n <= 0) {
			ret = -EIO;
			goto out_free;
		}
		EVP_DigestUpdate(md, s->buf, (size_t)n);
		off += (uint64_t)n;
	}
	EVP_DigestFinal_ex(md, digest, NULL);
out_free:
	EVP_MD_CTX_free(md);
	return ret;
}

/* Whether <s> is the file itself or an archive it is nested in: 1 when
 * it is, 0 when not (<digest> set), -EIO when it cannot be read. */
static int is_recursive(struct arc_run *run, const struct src *s,
			uint8_t digest[32])
{
	char hex[PX_SHA256_HEX_LEN + 1], top[PX_SHA256_HEX_LEN + 1];
	size_t i;
	int ret = src_digest(s, digest);

	if (ret)
		return ret;
	px_sha256_hex(digest, hex);
	for (i = 0; i < run->chain_len; i++)
		if (!memcmp(run->chain[i], digest, 32))
			return 1;
	if (s->size != run->file->size)
		return 0;
	if (!run->file->hashed) {
		if (px_sha256_fd(run->file->fd, 0, top, NULL))
			return 0;
		memcpy(run->file->sha256, top, sizeof(top));
		run->file->hashed = true;
	}
	return !strcmp(run->file->sha256, hex);
}

/* Reads the nested archive <s> (in memory or a range on disk, which gets
 * a read buffer of its own here) as level <inner> at <depth>. */
static void scan_nested(struct arc_run *run, struct src *s,
			const char *inner, int depth)
{
	struct cd_notes r = { 0 };
	struct archive *a;
	uint8_t digest[32];
	char err[256];
	int ret;

	if (s->fd >= 0) {
		s->buf = malloc(READ_CHUNK);
		if (!s->buf)
			return;
	}
	ret = is_recursive(run, s, digest);
	if (ret == -EIO) {
		report_corrupt(run, inner, "nested archive unreadable");
		goto out_buf;
	}
	if (ret < 0) {
		report(run, inner, "entry skipped", strerror(-ret));
		goto out_buf;
	}
	if (ret) {
		run->ctx->stats.limit_hits++;
		report_kind(run, "recursive", inner,
			    "archive contains itself, not entered",
			    "recursive archive");
		goto out_buf;
	}
	if (zip_precheck(run, s, inner, &r))
		goto out_notes;
	a = open_src(s, err, sizeof(err));
	if (!a) {
		report_corrupt(run, inner, err);
		goto out_notes;
	}
	if (run->chain_len < MAX_NESTED_CHAIN)
		memcpy(run->chain[run->chain_len++], digest, 32);
	read_level(run, a, s, inner, depth, &r);
	run->chain_len--;
	archive_read_free(a);
out_notes:
	refused_free(&r);
out_buf:
	free(s->buf);
	s->buf = NULL;
}

/*
 * The range of <parent> holding the data of its STORED entry <st>, checked
 * against the entry's local header (whose name and extra field lengths
 * place the data).  Returns 0 with <out> set; -EAGAIN when the local
 * header disagrees with the central directory (the entry is then inflated
 * like any other); -ERANGE when the data would lie past the end of
 * <parent>; -ENOMEM.
 */
static int stored_range(const struct src *parent, const struct stored *st,
			struct src *out)
{
	uint8_t lh[30];
	uint64_t data;
	size_t nl, xl;
	char *name;
	int ret = 0;

	if (src_pread(parent, lh, sizeof(lh), st->off) != (ssize_t)sizeof(lh) ||
	    memcmp(lh, "PK\3\4", 4) || le16(lh + 8) != 0)
		return -EAGAIN;
	nl = le16(lh + 26);
	xl = le16(lh + 28);
	if (nl != strlen(st->name))
		return -EAGAIN;
	name = malloc(nl + 1);
	if (!name)
		return -ENOMEM;
	if (src_pread(parent, name, nl, st->off + sizeof(lh)) != (ssize_t)nl ||
	    memcmp(name, st->name, nl))
		ret = -EAGAIN;
	free(name);
	if (ret)
		return ret;
	data = st->off + sizeof(lh) + nl + xl;
	if (data > parent->size || st->size > parent->size - data)
		return -ERANGE;
	*out = *parent;
	out->pos = 0;
	out->size = st->size;
	out->buf = NULL;
	if (parent->fd >= 0)
		out->base = parent->base + data;
	else
		out->mem = parent->mem + data;
	return 0;
}

/*
 * Reads the nested archive <name>, a STORED entry of <parent>, in place.
 * Returns 1 when done with it (read, skipped or reported), 0 when it is to
 * be inflated instead.
 */
static int nested_in_place(struct arc_run *run, const struct src *parent,
			   const struct stored *st, const char *inner,
			   bool named, int depth)
{
	struct src sub;
	uint8_t head[4];
	ssize_t n;
	int ret = stored_range(parent, st, &sub);

	if (ret == -ERANGE) {
		report_corrupt(run, inner,
			       "stored entry past the end of its archive");
		return 1;
	}
	if (ret) {
		px_debug("scan", "stored entry not read in place",
			 "path=%s inner=%s err=%s", px_q(run->file->path),
			 px_q(inner), px_q(strerror(-ret)));
		return 0;
	}
	n = src_pread(&sub, head, sizeof(head), 0);
	if (n < 0) {
		report_corrupt(run, inner, strerror(errno));
		return 1;
	}
	if (!named && !scan_is_zip_magic(head, (size_t)n))
		return 1;
	if (depth >= run->ctx->limits.max_depth) {
		run->ctx->stats.depth_limited++;
		report(run, inner, "archive nested too deep, skipped",
		       "max_depth");
		return 1;
	}
	run->ctx->stats.in_place++;
	scan_nested(run, &sub, inner, depth + 1);
	return 1;
}

/*
 * An entry that may be an archive: named like one, or starting with a zip
 * header.  Inflates it within the budgets and descends into it.  Returns
 * -ECANCELED when the file's budget is spent, else 0.
 */
static int maybe_nested(struct arc_run *run, struct scan_level *lvl,
			struct archive *a, struct archive_entry *e,
			const char *name, int depth, const struct src *src,
			const struct cd_notes *cd)
{
	const struct scan_limits *lim = &run->ctx->limits;
	bool named = scan_has_archive_ext(name);
	const struct stored *st;
	struct src mem = { .fd = -1 };
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
	st = stored_find(cd, name);
	if (st && nested_in_place(run, src, st, inner, named, depth)) {
		ret = 0;
		goto out;
	}
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
	if (!ret) {
		mem.mem = buf;
		mem.size = len;
		scan_nested(run, &mem, inner, depth + 1);
	}
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

/* Configuration-like entries, read for secrets and PII when asked
 * (Spring Boot's BOOT-INF/classes/application.yml and the like). */
static bool is_config_entry(const char *name)
{
	static const char *const exts[] = {
		".properties", ".yml", ".yaml", ".xml", ".json", ".conf",
		".cfg", ".ini", ".env", ".txt", ".pem", ".key", NULL,
	};
	size_t n = strlen(name), i;

	for (i = 0; exts[i]; i++) {
		size_t m = strlen(exts[i]);

		if (n > m && strcasecmp(name + n - m, exts[i]) == 0)
			return true;
	}
	return false;
}

/* Reads a configuration entry and looks for secrets and PII in it. */
static int entry_secrets(struct arc_run *run, struct scan_level *lvl,
			 struct archive *a, const char *name)
{
	struct scan_level sub = *lvl;
	uint8_t *buf = NULL;
	size_t len = 0;
	char err[256] = "", *inner = join_inner(lvl->inner, name);
	int ret;

	if (!inner)
		return 0;
	ret = read_rest(run, a, &buf, &len, IDENT_MAX_BYTES, err, sizeof(err));
	if (ret && ret != -EFBIG) {
		read_failed(run, inner, ret, err);
	} else if (!ret) {
		sub.inner = inner;
		secrets_scan_level(&sub, buf, len);
	}
	free(buf);
	free(inner);
	return run->spent ? -ECANCELED : 0;
}

/* Routes one regular entry.  -ECANCELED stops the whole file. */
static int entry(struct arc_run *run, struct scan_level *lvl,
		 struct archive *a, struct archive_entry *e, int depth,
		 const struct src *src, const struct cd_notes *cd)
{
	/* the raw name first: the UTF-8 form costs a conversion per entry,
	 * and in the C.UTF-8 locale parallax-scan sets they are the same */
	const char *name = archive_entry_pathname(e);
	bool want_data;
	size_t n;

	if (!name)
		name = archive_entry_pathname_utf8(e);
	if (!name || !name[0])
		return 0;
	entry_begin(run, a, e);
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
	if (run->ctx->secrets &&
	    (run->ctx->checks & (SCAN_CHECK_SECRETS | SCAN_CHECK_PII)) &&
	    is_config_entry(name))
		return entry_secrets(run, lvl, a, name);
	return maybe_nested(run, lvl, a, e, name, depth, src, cd);
}

/* Counts an entry and checks the per-file entry and time limits;
 * -ECANCELED (reported) when the rest of the file is to be skipped. */
static int limits_ok(struct arc_run *run, const char *inner)
{
	const struct scan_limits *lim = &run->ctx->limits;

	if (++run->entries > lim->max_entries) {
		run->ctx->stats.limit_hits++;
		report(run, inner, "too many entries, rest of file skipped",
		       "max_entries");
		run->spent = true;
		return -ECANCELED;
	}
	if (lim->max_file_ms && (run->entries & 63) == 0 &&
	    px_now_ns() - run->file->started_ns >
	    (uint64_t)lim->max_file_ms * 1000000ull) {
		run->ctx->stats.limit_hits++;
		report(run, inner, "file took too long, rest skipped",
		       "max_file_ms");
		run->spent = true;
		return -ECANCELED;
	}
	return 0;
}

/*
 * Reads every entry of <a> (read from <s>, whose central directory check
 * found <refused>), the level named <inner> at <depth>, then emits
 * what the identifiers made of it (also after an error part-way: what was
 * seen is still true).  Returns 0, -EIO on a corrupt archive, -ECANCELED
 * when the budget ran out, -ENOMEM.
 */
static int read_level(struct arc_run *run, struct archive *a,
		      const struct src *s, const char *inner, int depth,
		      const struct cd_notes *refused)
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
		ret = limits_ok(run, inner);
		if (ret)
			break;
		if (archive_entry_filetype(e) == AE_IFREG &&
		    !(refused->n && archive_entry_pathname(e) &&
		      is_refused(refused, archive_entry_pathname(e))))
			ret = entry(run, &lvl, a, e, depth, s, refused);
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
	struct arc_run *run = calloc(1, sizeof(*run));
	struct src s = { .fd = file->fd, .size = file->size };
	struct cd_notes r = { 0 };
	struct archive *a;
	char err[256];
	int ret;

	s.buf = malloc(READ_CHUNK);
	if (!s.buf || !run) {
		free(s.buf);
		free(run);
		return -ENOMEM;
	}
	run->ctx = ctx;
	run->file = file;
	if (!file->started_ns)
		file->started_ns = px_now_ns();
	ret = zip_precheck(run, &s, "", &r);
	if (ret) {
		ret = 0;        /* refused and reported */
		goto out_free;
	}
	a = open_src(&s, err, sizeof(err));
	if (!a) {
		report_corrupt(run, "", err);
		ret = -EIO;
		goto out_free;
	}
	ret = read_level(run, a, &s, "", 1, &r);
	archive_read_free(a);
out_free:
	refused_free(&r);
	free(s.buf);
	free(run);
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
	/* a jar behind a launcher script ("#!"): found by its end record */
	if (scan_is_zip_magic(head, (size_t)n) ||
	    ((named || (n >= 2 && head[0] == '#' && head[1] == '!')) &&
	     has_zip_end(file)))
		return read_file_archive(ctx, file);
	if (!named)
		return 0;
	ctx->stats.errors++;
	ctx->stats.corrupt++;
	px_warn("scan", "archive unreadable", "path=%s inner=\"\" err=%s",
		px_q(file->path), px_q("not a zip archive"));
	scan_event(ctx, "corrupt", "archive unreadable: not a zip archive",
		   file->path, "", file->layer_digest);
	return -EIO;
}
