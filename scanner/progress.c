// SPDX-License-Identifier: Apache-2.0
/*
 * The progress bar on stderr.  A snapshot reader that can tell cheaply how
 * much input there is (an image's layer bytes, an ext image's used inodes,
 * the used bytes of a mounted filesystem) sets a total, and the line shows
 * a bar and a percentage; otherwise it shows a spinner and the counts.
 * stdout carries the scan's data and is never written here.
 *
 * Every context of a run shares one bar.  While a thread pool runs, the
 * bar is only touched under the pool's lock: workers redraw after adding
 * their counts (pool.c), and a reader thread takes the lock to say how far
 * it is (scan_progress_at()).
 */
#include "scan.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "host.h"

#define BAR_WIDTH 24
/* at most ten lines a second: a terminal's scrollback is not a log */
#define BAR_INTERVAL_NS 100000000ull

struct scan_bar {
	const struct scan_stats *stats; /* the run's counters, borrowed */
	bool tty;               /* stderr is a terminal: erase, truncate */
	const char *phase;      /* "read", "walk", "links": static text */
	const char *unit;       /* of total and done; NULL for bytes */
	uint64_t total;         /* 0: unknown, a spinner instead */
	uint64_t done;
	bool follow_bytes;      /* done is stats->bytes past bytes0 */
	uint64_t bytes0;
	uint64_t drawn_ns;
	unsigned int spins;
	bool open;              /* a line is drawn and not yet ended */
};

struct scan_bar *scan_bar_new(const struct scan_stats *stats)
{
	struct scan_bar *b = calloc(1, sizeof(*b));

	if (!b)
		return NULL;
	b->stats = stats;
	b->tty = isatty(STDERR_FILENO);
	b->phase = "scan";
	return b;
}

void scan_bar_free(struct scan_bar *bar)
{
	free(bar);
}

/* Columns of the terminal, 0 when stderr is none (nothing truncated). */
static size_t term_cols(const struct scan_bar *b)
{
	struct winsize ws;

	if (!b->tty || ioctl(STDERR_FILENO, TIOCGWINSZ, &ws) || !ws.ws_col)
		return 0;
	return ws.ws_col;
}

/* "120/260 MB", "800/1200 inodes"; only what was read when <final>, as
 * an estimated total need not be what was there.  Small images in kB, so
 * the numbers move. */
static void amount(const struct scan_bar *b, uint64_t done, bool final,
		   char *buf, size_t len)
{
	bool small = b->total < (10ull << 20);
	int shift = b->unit ? 0 : small ? 10 : 20;
	const char *unit = b->unit ? b->unit : small ? "kB" : "MB";

	if (final)
		snprintf(buf, len, "%" PRIu64 " %s", done >> shift, unit);
	else
		snprintf(buf, len, "%" PRIu64 "/%" PRIu64 " %s", done >> shift,
			 b->total >> shift, unit);
}

/*
 * Writes the line.  The percentage stops at 99 until <final>: readers are
 * ahead of the workers scanning what they read, and an estimated total
 * can be passed or never reached.
 */
static void draw(struct scan_bar *b, bool final)
{
	static const char spinner[] = "|/-\\";
	const struct scan_stats *st = b->stats;
	char line[512], gauge[BAR_WIDTH + 1], howmuch[64];
	uint64_t done = b->follow_bytes ? st->bytes - b->bytes0 : b->done;
	size_t cols = term_cols(b), len;
	unsigned int pct;
	int n;

	if (b->total) {
		pct = done >= b->total ? 99 : (unsigned int)(done * 100 / b->total);
		if (final)
			pct = 100;
		memset(gauge, '#', pct * BAR_WIDTH / 100);
		memset(gauge + pct * BAR_WIDTH / 100, '-',
		       BAR_WIDTH - pct * BAR_WIDTH / 100);
		gauge[BAR_WIDTH] = '\0';
		amount(b, done, final, howmuch, sizeof(howmuch));
		n = snprintf(line, sizeof(line), "%s [%s] %3u%% %s, %" PRIu64 " files, %" PRIu64 " findings, %" PRIu64 " errors",
			     b->phase, gauge, pct, howmuch, st->files,
			     st->findings, st->errors);
	} else {
		n = snprintf(line, sizeof(line), "%s %c %" PRIu64 " files, %" PRIu64 " MB, %" PRIu64 " findings, %" PRIu64 " errors",
			     b->phase, final ? ' ' : spinner[b->spins++ % 4],
			     st->files, st->bytes >> 20, st->findings,
			     st->errors);
	}
	len = n < 0 ? 0 : (size_t)n < sizeof(line) ? (size_t)n : sizeof(line) - 1;
	/* a line wider than the terminal wraps, and \r then redraws only
	 * its last row */
	if (cols && len > cols - 1)
		len = cols - 1;
	fprintf(stderr, "\r%.*s%s", (int)len, line, b->tty ? "\033[K" : "");
	fflush(stderr);
	b->open = true;
}

/* Erases the line on a terminal, ends it elsewhere. */
static void end_line(struct scan_bar *b)
{
	if (!b->open)
		return;
	fputs(b->tty ? "\r\033[K" : "\n", stderr);
	fflush(stderr);
	b->open = false;
}

/* Draws when the last line is old enough. */
static void draw_due(struct scan_bar *b)
{
	uint64_t now = px_now_ns();

	if (b->drawn_ns && now - b->drawn_ns < BAR_INTERVAL_NS)
		return;
	b->drawn_ns = now;
	draw(b, false);
}

static void bar_lock(struct scan_ctx *ctx, bool on)
{
	if (ctx->pool)
		scan_pool_lock(ctx->pool, on);
}

void scan_progress(struct scan_ctx *ctx)
{
	if (ctx->bar)
		draw_due(ctx->bar);
}

void scan_progress_erase(struct scan_ctx *ctx)
{
	if (ctx->bar && !ctx->pool && !ctx->lock)
		end_line(ctx->bar);
}

void scan_progress_begin(struct scan_ctx *ctx, const char *phase,
			 uint64_t total, const char *unit)
{
	struct scan_bar *b = ctx->bar;

	if (!b)
		return;
	bar_lock(ctx, true);
	b->phase = phase;
	b->total = total;
	b->unit = unit;
	b->done = 0;
	b->follow_bytes = false;
	draw(b, false);
	b->drawn_ns = px_now_ns();
	bar_lock(ctx, false);
}

void scan_progress_follow_bytes(struct scan_ctx *ctx, const char *phase,
				uint64_t total)
{
	struct scan_bar *b = ctx->bar;

	if (!b)
		return;
	scan_progress_begin(ctx, phase, total, NULL);
	bar_lock(ctx, true);
	b->follow_bytes = total != 0;
	b->bytes0 = b->stats->bytes;
	bar_lock(ctx, false);
}

void scan_progress_at(struct scan_ctx *ctx, uint64_t done)
{
	struct scan_bar *b = ctx->bar;

	if (!b)
		return;
	bar_lock(ctx, true);
	b->done = done;
	draw_due(b);
	bar_lock(ctx, false);
}

void scan_progress_done(struct scan_ctx *ctx)
{
	struct scan_bar *b = ctx->bar;

	if (!b)
		return;
	draw(b, true);
	/* on a terminal the line goes away; in a file or pipe it ends, so
	 * whatever follows starts on a line of its own */
	end_line(b);
	b->drawn_ns = 0;
	b->phase = "scan";
	b->total = 0;
	b->follow_bytes = false;
}
