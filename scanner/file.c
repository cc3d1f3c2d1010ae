// SPDX-License-Identifier: Apache-2.0
/*
 * One regular file of a snapshot, whatever the snapshot: the checks run in
 * a fixed order (inventory or archive, then malware hashes and YARA rules,
 * then secrets and PII), each reading the file through its descriptor.  Also the event
 * path for what is not a finding (limits, corrupt input).
 */
#include "scan.h"

#include "elfso.h"
#include "host.h"
#include "inventory.h"
#include "log.h"
#include "malware.h"
#include "secrets.h"
#include "yara_rules.h"

void scan_event(struct scan_ctx *ctx, const char *kind, const char *what,
		const char *path, const char *inner, const char *layer)
{
	struct scan_event ev = { kind, what, path, inner ? inner : "",
				 layer ? layer : "" };

	ctx->stats.events++;
	/* XXX: with --threads above 1 the line is not erased first (the
	 * callers differ in holding the pool's lock), so on a terminal this
	 * warning can start after the bar's text; the next draw starts a
	 * fresh line. */
	scan_progress_erase(ctx);
	px_warn("scan", "scan event", "kind=%s what=%s path=%s inner=%s",
		kind, px_q(what), px_q(path), px_q(inner ? inner : ""));
	if (ctx->events.emit)
		ctx->events.emit(ctx->events.arg, &ev);
}

uint64_t scan_file_deadline(const struct scan_ctx *ctx,
			    const struct scan_file *file)
{
	if (!ctx->limits.max_file_ms || !file->started_ns)
		return 0;
	return file->started_ns + (uint64_t)ctx->limits.max_file_ms * 1000000ull;
}

void scan_file_run(struct scan_ctx *ctx, struct scan_file *file)
{
	enum inv_kind kind;

	file->started_ns = px_now_ns();
	if (ctx->checks & SCAN_CHECK_PACKAGES) {
		kind = inventory_kind(file->path);
		if (kind != INV_NONE)
			inventory_scan_file(ctx, file, kind);
		else if (elf_wants(file->path))
			elf_scan_file(ctx, file);
		else
			scan_archive_file(ctx, file);
	}
	if ((ctx->checks & SCAN_CHECK_MALWARE) && ctx->malware)
		malware_scan_file(ctx, file);
	if ((ctx->checks & SCAN_CHECK_MALWARE) && ctx->yara)
		yara_scan_file(ctx, file);
	if ((ctx->checks & (SCAN_CHECK_SECRETS | SCAN_CHECK_PII)) &&
	    ctx->secrets)
		secrets_scan_file(ctx, file);
	scan_progress(ctx);
}
