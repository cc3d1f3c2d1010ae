// SPDX-License-Identifier: Apache-2.0
/*
 * Findings on their way out: the outermost file's digest (computed once per
 * file, on the first finding), severities, counts, and the hand-off to the
 * sink.
 */
#include "scan.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "host.h"
#include "log.h"
#include "osvmatch.h"

#define HASH_CHUNK (1u << 20)

static const char *const severity_names[] = {
	[SCAN_SEV_NONE] = "none",
	[SCAN_SEV_LOW] = "low",
	[SCAN_SEV_MEDIUM] = "medium",
	[SCAN_SEV_HIGH] = "high",
	[SCAN_SEV_CRITICAL] = "critical",
};

void scan_ctx_init(struct scan_ctx *ctx, const struct scan_sink *sink)
{
	memset(ctx, 0, sizeof(*ctx));
	ctx->limits.max_depth = SCAN_DEFAULT_MAX_DEPTH;
	ctx->limits.max_entry_bytes = SCAN_DEFAULT_MAX_ENTRY_BYTES;
	ctx->limits.max_archive_bytes = SCAN_DEFAULT_MAX_ARCHIVE_BYTES;
	ctx->limits.max_entries = SCAN_DEFAULT_MAX_ENTRIES;
	ctx->limits.max_ratio = SCAN_DEFAULT_MAX_RATIO;
	ctx->limits.max_file_ms = SCAN_DEFAULT_MAX_FILE_MS;
	ctx->checks = SCAN_CHECK_PACKAGES;
	ctx->sink = *sink;
}

const char *scan_severity_name(enum scan_severity s)
{
	if ((unsigned int)s > SCAN_SEV_CRITICAL)
		return "unknown";
	return severity_names[s];
}

int scan_severity_parse(const char *s, enum scan_severity *out)
{
	unsigned int i;

	for (i = 0; i <= SCAN_SEV_CRITICAL; i++) {
		if (strcmp(s, severity_names[i]) == 0) {
			*out = (enum scan_severity)i;
			return 0;
		}
	}
	return -EINVAL;
}

static int cve_cmp(const void *a, const void *b)
{
	const struct scan_cve *x = a, *y = b;

	return strcmp(x->id, y->id);
}

void scan_finding_settle(struct scan_finding *f)
{
	size_t i;

	qsort(f->cves, f->n_cves, sizeof(f->cves[0]), cve_cmp);
	f->severity = SCAN_SEV_NONE;
	for (i = 0; i < f->n_cves; i++)
		if (f->cves[i].severity > f->severity)
			f->severity = f->cves[i].severity;
}

/* The sha256 hex of <fd> in <hex>; -ETIMEDOUT when <deadline>
 * (px_now_ns(), 0: none) passes first. */
static int digest_until(int fd, uint64_t deadline,
			char hex[PX_SHA256_HEX_LEN + 1])
{
	struct px_sha256 *h = px_sha256_new();
	uint8_t *buf = malloc(HASH_CHUNK), d[PX_SHA256_LEN];
	uint64_t off = 0;
	ssize_t n;
	int err = 0;

	if (!h || !buf) {
		err = -ENOMEM;
		goto out_free;
	}
	while ((n = pread(fd, buf, HASH_CHUNK, (off_t)off)) > 0) {
		px_sha256_update(h, buf, (size_t)n);
		off += (uint64_t)n;
		if (deadline && px_now_ns() > deadline) {
			err = -ETIMEDOUT;
			goto out_free;
		}
	}
	if (n < 0) {
		err = -errno;
		goto out_free;
	}
	px_sha256_final(h, d);
	px_sha256_hex(d, hex);
out_free:
	px_sha256_free(h);
	free(buf);
	return err;
}

/* Digests the outermost file once; on failure the digest stays empty and
 * the error is counted once (a file past max_file_ms is an event). */
static void hash_file(struct scan_ctx *ctx, struct scan_file *file)
{
	int err;

	if (file->hashed)
		return;
	file->hashed = true;
	err = digest_until(file->fd, scan_file_deadline(ctx, file),
			   file->sha256);
	if (!err)
		return;
	if (err == -ETIMEDOUT) {
		file->sha256[0] = '\0';
		ctx->stats.limit_hits++;
		scan_event(ctx, "limit", "max_file_ms", file->path, "sha256",
			   file->layer_digest);
		return;
	}
	file->sha256[0] = '\0';
	ctx->stats.errors++;
	px_warn("scan", "file digest failed", "path=%s err=%s",
		px_q(file->path), px_q(strerror(-err)));
}

void scan_emit(struct scan_level *lvl, struct scan_finding *f)
{
	struct scan_ctx *ctx = lvl->ctx;
	char evidence[SCAN_EVIDENCE_LEN + 4096];
	int err;

	hash_file(ctx, lvl->file);
	if (lvl->file->link_target) {
		snprintf(evidence, sizeof(evidence), "%s%svia symlink to %s",
			 f->evidence ? f->evidence : "",
			 f->evidence && f->evidence[0] ? "; " : "",
			 lvl->file->link_target);
		f->evidence = evidence;
	}
	f->path = lvl->file->path;
	f->inner = lvl->inner;
	f->sha256 = lvl->file->sha256;
	f->layer_digest = lvl->file->layer_digest ? lvl->file->layer_digest : "";
	if (ctx->advisories && f->type == SCAN_FINDING_PACKAGE &&
	    osv_match(ctx->advisories, f) > 0)
		scan_finding_settle(f);
	ctx->stats.findings++;
	if (f->severity > ctx->worst)
		ctx->worst = f->severity;
	err = ctx->sink.emit(ctx->sink.arg, f);
	if (err) {
		ctx->stats.errors++;
		px_warn("scan", "finding not delivered", "path=%s err=%s",
			px_q(f->path), px_q(strerror(-err)));
	}
}
