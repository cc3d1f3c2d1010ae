// SPDX-License-Identifier: Apache-2.0
/*
 * Hostile input as normal input: a compression-ratio bomb, an
 * overlapping-entry zip bomb, too many entries, a file over its time
 * budget, a jar behind a launcher script, a zip that holds itself, and
 * each limit hit reported as an event in the output.
 */
#include <check.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <zlib.h>

#include "helpers.h"
#include "host.h"
#include "scan.h"
#include "px_check.h"

struct evlog {
	char text[8192];
	int n;
};

static void ev_keep(void *arg, const struct scan_event *ev)
{
	struct evlog *l = arg;
	size_t o = strlen(l->text);

	snprintf(l->text + o, sizeof(l->text) - o, "%s|%s|%s\n", ev->kind,
		 ev->what, ev->inner);
	l->n++;
}

static void put32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
	p[2] = (uint8_t)(v >> 16);
	p[3] = (uint8_t)(v >> 24);
}

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
}

/*
 * A stored zip of one local entry "a.txt" with <n_cd> central directory
 * entries all pointing at it (n_cd > 1: overlapping entries).
 */
static size_t overlap_zip(uint8_t *out, int n_cd)
{
	const char *data = "overlapping entries share these bytes\n";
	uint32_t len = (uint32_t)strlen(data);
	uint32_t crc = (uint32_t)crc32(0, (const Bytef *)data, len);
	size_t o = 0, cd;
	int i;

	memset(out, 0, 4096);
	memcpy(out, "PK\3\4", 4);
	put16(out + 4, 20);
	put32(out + 14, crc);
	put32(out + 18, len);
	put32(out + 22, len);
	put16(out + 26, 5);
	memcpy(out + 30, "a.txt", 5);
	memcpy(out + 35, data, len);
	o = 35 + len;
	cd = o;
	for (i = 0; i < n_cd; i++) {
		uint8_t *e = out + o;

		memcpy(e, "PK\1\2", 4);
		put16(e + 4, 20);
		put16(e + 6, 20);
		put32(e + 16, crc);
		put32(e + 20, len);
		put32(e + 24, len);
		put16(e + 28, 5);
		memcpy(e + 46, "a.txt", 5);
		e[46] = (uint8_t)('a' + i);
		put32(e + 42, 0);
		o += 51;
	}
	memcpy(out + o, "PK\5\6", 4);
	put16(out + o + 8, (uint16_t)n_cd);
	put16(out + o + 10, (uint16_t)n_cd);
	put32(out + o + 12, (uint32_t)(o - cd));
	put32(out + o + 16, (uint32_t)cd);
	return o + 22;
}

START_TEST(a_compression_ratio_bomb_is_refused_before_inflating)
{
	const size_t big = 64u << 20;
	uint8_t *zeros = calloc(1, big), *zip, *outer;
	size_t zlen, olen;
	struct scan_ctx ctx;
	struct lines l;
	struct evlog ev = { 0 };
	char dir[64];

	ck_assert_ptr_nonnull(zeros);
	zip = zip_one("zeros.bin", zeros, big, &zlen);
	free(zeros);
	outer = zip_one("lib/inner.jar", zip, zlen, &olen);
	temp_dir(dir);
	put_file(dir, "bomb.zip", zip, zlen);
	put_file(dir, "nested.jar", outer, olen);
	lines_ctx(&ctx, &l);
	ctx.events = (struct scan_event_sink){ ev_keep, &ev };
	ck_assert_int_eq(scan_walk_root(&ctx, dir), 0);
	ck_assert_uint_eq(ctx.stats.limit_hits, 2);
	ck_assert_uint_eq(ctx.stats.budget_hits, 0);
	ck_assert_int_eq(ev.n, 2);
	ck_assert_ptr_nonnull(strstr(ev.text, "limit|entry compression ratio too high, skipped: ratio"));
	ck_assert_ptr_nonnull(strstr(ev.text, "|lib/inner.jar!/zeros.bin\n"));
	free(zip);
	free(outer);
	lines_free(&l);
	remove_tree(dir);
}
END_TEST

START_TEST(overlapping_entries_are_recognised_as_a_zip_bomb)
{
	uint8_t zip[4096];
	size_t len;
	struct scan_ctx ctx;
	struct lines l;
	struct evlog ev = { 0 };
	char dir[64];

	temp_dir(dir);
	len = overlap_zip(zip, 3);
	put_file(dir, "overlap.zip", zip, len);
	len = overlap_zip(zip, 1);
	put_file(dir, "single.zip", zip, len);
	lines_ctx(&ctx, &l);
	ctx.events = (struct scan_event_sink){ ev_keep, &ev };
	ck_assert_int_eq(scan_walk_root(&ctx, dir), 0);
	ck_assert_int_eq(ev.n, 1);
	ck_assert_ptr_nonnull(strstr(ev.text, "bomb|overlapping zip entries"));
	ck_assert_uint_eq(ctx.stats.archives, 1);       /* single.zip only */
	ck_assert_uint_eq(ctx.stats.corrupt, 0);
	lines_free(&l);
	remove_tree(dir);
}
END_TEST

/* A zip of <n> small entries. */
static uint8_t *many_entries(size_t n, size_t *len)
{
	const char **names = calloc(n, sizeof(char *));
	const uint8_t **data = calloc(n, sizeof(uint8_t *));
	size_t *lens = calloc(n, sizeof(size_t)), i;
	uint8_t *zip;

	for (i = 0; i < n; i++) {
		char *nm = malloc(32);

		snprintf(nm, 32, "e%zu.txt", i);
		names[i] = nm;
		data[i] = (const uint8_t *)"x";
		lens[i] = 1;
	}
	zip = zip_build(n, names, data, lens, len);
	for (i = 0; i < n; i++)
		free((char *)names[i]);
	free(names);
	free(data);
	free(lens);
	return zip;
}

START_TEST(too_many_entries_and_too_much_time_stop_the_file)
{
	size_t len;
	uint8_t *zip = many_entries(300, &len);
	struct scan_ctx ctx;
	struct scan_file f = { 0 };
	struct lines l;
	struct evlog ev = { 0 };
	char dir[64], path[128];

	temp_dir(dir);
	put_file(dir, "many.zip", zip, len);
	lines_ctx(&ctx, &l);
	ctx.events = (struct scan_event_sink){ ev_keep, &ev };
	ctx.limits.max_entries = 100;
	ck_assert_int_eq(scan_walk_root(&ctx, dir), 0);
	ck_assert_ptr_nonnull(strstr(ev.text, "limit|too many entries, archive skipped: 300 entries"));
	/* a file that started long ago is past any time budget */
	snprintf(path, sizeof(path), "%s/many.zip", dir);
	memset(&ev, 0, sizeof(ev));
	ctx.limits.max_entries = 1000000;
	ctx.limits.max_file_ms = 1000;
	f.path = path;
	f.fd = open(path, O_RDONLY);
	f.size = len;
	f.started_ns = px_now_ns() - 10000000000ull;
	ck_assert_int_ge(f.fd, 0);
	ck_assert_int_eq(scan_archive_file(&ctx, &f), 0);
	ck_assert_ptr_nonnull(strstr(ev.text, "limit|file took too long, rest skipped: max_file_ms"));
	close(f.fd);
	free(zip);
	lines_free(&l);
	remove_tree(dir);
}
END_TEST

START_TEST(a_jar_behind_a_launcher_script_is_read)
{
	const char *script = "#!/bin/sh\nexec java -jar \"$0\" \"$@\"\n";
	char src[4096], dir[64];
	uint8_t *jar, *both;
	size_t len, sl = strlen(script);
	struct scan_ctx ctx;
	struct lines l;

	snprintf(src, sizeof(src), "%s/true-hits/log4j-core-2.14.1.jar",
		 fixture_samples());
	jar = slurp(src, &len);
	both = malloc(len + sl);
	memcpy(both, script, sl);
	memcpy(both + sl, jar, len);
	temp_dir(dir);
	put_file(dir, "bin/app", both, len + sl);    /* no .jar name */
	lines_ctx(&ctx, &l);
	ck_assert_int_eq(scan_walk_root(&ctx, dir), 0);
	ck_assert_uint_eq(lines_count(&l, "CVE-2021-44228"), 1);
	ck_assert_uint_eq(ctx.stats.errors, 0);
	free(jar);
	free(both);
	lines_free(&l);
	remove_tree(dir);
}
END_TEST

START_TEST(limit_events_appear_in_jsonl_and_sarif_output)
{
	uint8_t zip[4096];
	size_t len;
	char dir[64], out[128], err[128], args[512];

	temp_dir(dir);
	len = overlap_zip(zip, 2);
	put_file(dir, "overlap.jar", zip, len);
	snprintf(out, sizeof(out), "%s.out", dir);
	snprintf(err, sizeof(err), "%s.err", dir);
	snprintf(args, sizeof(args), "--format jsonl '%s'", dir);
	ck_assert_int_eq(scan_bin(args, out, err), 0);
	ck_assert(file_has(out, "{\"type\":\"event\",\"event\":\"bomb\",\"what\":\"overlapping zip entries, archive skipped: zip bomb\""));
	ck_assert(file_has(err, "overlapping zip entries"));
	snprintf(args, sizeof(args), "--format sarif '%s'", dir);
	ck_assert_int_eq(scan_bin(args, out, err), 0);
	ck_assert(file_has(out, "\"toolExecutionNotifications\":[{\"level\":\"warning\",\"message\":{\"text\":\"bomb: overlapping zip entries"));
	unlink(out);
	unlink(err);
	remove_tree(dir);
}
END_TEST

/*
 * A zip whose only entry inflates to the zip itself (make_quine.py), on
 * its own and nested in a jar: each is a "recursive" event, never entered,
 * so the scan ends at once instead of descending to max_depth.
 */
START_TEST(an_archive_holding_a_copy_of_an_ancestor_is_not_descended)
{
	const char *script = getenv("PX_MAKE_QUINE");
	char dir[64], cmd[512], path[128];
	uint8_t *quine, *outer;
	size_t qlen, olen;
	struct scan_ctx ctx;
	struct lines l;
	struct evlog ev = { 0 };

	ck_assert_msg(script && script[0],
		      "PX_MAKE_QUINE is not set; run through meson test");
	temp_dir(dir);
	snprintf(path, sizeof(path), "%s/quine.zip", dir);
	snprintf(cmd, sizeof(cmd), "python3 '%s' '%s'", script, path);
	ck_assert_msg(run_status(cmd) == 0, "%s failed", script);
	quine = slurp(path, &qlen);
	/* what the generator promises: the entry is the whole file */
	{
		size_t elen;
		uint8_t *entry = unzip_entry(path, "r.zip", &elen);

		ck_assert_uint_eq(elen, qlen);
		ck_assert_int_eq(memcmp(entry, quine, qlen), 0);
		free(entry);
	}
	outer = zip_one("lib/q.zip", quine, qlen, &olen);
	put_file(dir, "app.jar", outer, olen);
	lines_ctx(&ctx, &l);
	ctx.events = (struct scan_event_sink){ ev_keep, &ev };
	ck_assert_int_eq(scan_walk_root(&ctx, dir), 0);
	ck_assert_int_eq(ev.n, 2);
	ck_assert_ptr_nonnull(strstr(ev.text, "recursive|archive contains itself, not entered: recursive archive|r.zip\n"));
	ck_assert_ptr_nonnull(strstr(ev.text, "recursive|archive contains itself, not entered: recursive archive|lib/q.zip!/r.zip\n"));
	ck_assert_uint_eq(ctx.stats.limit_hits, 2);
	ck_assert_uint_eq(ctx.stats.depth_limited, 0);
	/* quine.zip, app.jar and lib/q.zip: nothing deeper was opened */
	ck_assert_uint_eq(ctx.stats.archives, 3);
	free(quine);
	free(outer);
	lines_free(&l);
	remove_tree(dir);
}
END_TEST

/* Builds make_lying_zips.py's zips into a fresh directory <dir>. */
static void lying_zips(char *dir)
{
	const char *script = getenv("PX_MAKE_LYING_ZIPS");
	char cmd[512];

	ck_assert_msg(script && script[0],
		      "PX_MAKE_LYING_ZIPS is not set; run through meson test");
	temp_dir(dir);
	snprintf(cmd, sizeof(cmd), "python3 '%s' '%s'", script, dir);
	ck_assert_msg(run_status(cmd) == 0, "%s failed", script);
}

/* Scans <rel> of <dir> alone, events in <ev>. */
static void scan_one(const char *dir, const char *rel, unsigned int ratio,
		     struct scan_ctx *ctx, struct lines *l, struct evlog *ev)
{
	char path[256];

	snprintf(path, sizeof(path), "%s/%s", dir, rel);
	lines_ctx(ctx, l);
	memset(ev, 0, sizeof(*ev));
	ctx->events = (struct scan_event_sink){ ev_keep, ev };
	if (ratio)
		ctx->limits.max_ratio = ratio;
	ck_assert_int_eq(scan_walk_root(ctx, path), 0);
}

/*
 * Headers that lie: 32 MiB of zeros declared as 1000 bytes stop as soon
 * as the inflated bytes pass the declared size; declared with a ratio of
 * 1 on paper, they stop once the bytes actually consumed show the ratio.
 * Either way far less than the entry is inflated.
 */
START_TEST(entries_that_lie_about_their_size_stop_while_inflating)
{
	struct scan_ctx ctx;
	struct lines l;
	struct evlog ev;
	char dir[64];

	lying_zips(dir);
	scan_one(dir, "lie-size.jar", 0, &ctx, &l, &ev);
	ck_assert_int_eq(ev.n, 1);
	ck_assert_msg(strstr(ev.text, "bomb|entry inflates past its declared size, skipped: declared 1000 bytes") != NULL,
		      "events:\n%s", ev.text);
	ck_assert_ptr_nonnull(strstr(ev.text, "|lib/zeros.jar\n"));
	ck_assert_uint_lt(ctx.stats.inflated, 1u << 20);
	ck_assert_uint_eq(ctx.stats.limit_hits, 1);
	lines_free(&l);

	scan_one(dir, "lie-csize.jar", 200, &ctx, &l, &ev);
	ck_assert_int_eq(ev.n, 1);
	ck_assert_msg(strstr(ev.text, "limit|entry compression ratio too high, skipped: ratio") != NULL,
		      "events:\n%s", ev.text);
	ck_assert_ptr_nonnull(strstr(ev.text, "> max_ratio 200|lib/zeros.jar\n"));
	ck_assert_uint_lt(ctx.stats.inflated, 4u << 20);
	lines_free(&l);
	remove_tree(dir);
}
END_TEST

START_TEST(a_damaged_entry_is_a_corrupt_event_not_a_limit)
{
	struct scan_ctx ctx;
	struct lines l;
	struct evlog ev;
	char dir[64];

	lying_zips(dir);
	scan_one(dir, "corrupt.jar", 0, &ctx, &l, &ev);
	ck_assert_int_eq(ev.n, 1);
	ck_assert_msg(strncmp(ev.text, "corrupt|entry unreadable: ", 26) == 0,
		      "events:\n%s", ev.text);
	ck_assert_ptr_nonnull(strstr(ev.text, "|META-INF/MANIFEST.MF\n"));
	ck_assert_uint_eq(ctx.stats.corrupt, 1);
	ck_assert_uint_eq(ctx.stats.limit_hits, 0);
	lines_free(&l);
	remove_tree(dir);
}
END_TEST

/*
 * max_file_ms holds in every loop over a file's bytes, not only between
 * archive entries: a 256 MiB file (sparse, so cheap to make) hashed for
 * malware signatures and scanned for secrets with 1 ms to spare gets a
 * limit event from each loop instead of running to its end.
 */
START_TEST(the_time_limit_holds_while_hashing_and_scanning_for_secrets)
{
	char dir[64], path[128], out[128], err[128], args[1024];
	const uint64_t size = 256ull << 20;

	temp_dir(dir);
	snprintf(path, sizeof(path), "%s/big.log", dir);
	spit(path, "", 0);
	ck_assert_int_eq(truncate(path, (off_t)size), 0);
	put_text(dir, "sigs/x.hdb",
		 "0123456789abcdef0123456789abcdef:268435456:Test.Big\n");
	put_text(dir, "key", "a fixed key of sixteen bytes or more");
	snprintf(out, sizeof(out), "%s.out", dir);
	snprintf(err, sizeof(err), "%s.err", dir);
	snprintf(args, sizeof(args),
		 "--format jsonl --checks malware,secrets --malware-sigs '%s/sigs/x.hdb' --secret-key-file '%s/key' --max-file-ms 1 '%s'",
		 dir, dir, path);
	ck_assert_int_eq(scan_bin(args, out, err), 0);
	ck_assert_msg(file_has(out, "\"event\":\"limit\",\"what\":\"max_file_ms\",\"path\":\"") &&
		      file_has(out, "\"inner\":\"malware hashes\""),
		      "no time limit event from the malware hashes");
	/* the secrets pass: the same limit on the file itself */
	snprintf(args, sizeof(args),
		 "\"what\":\"max_file_ms\",\"path\":\"%s\",\"inner\":\"\"", path);
	ck_assert_msg(file_has(out, args), "no time limit event from the secrets scan");
	ck_assert(file_has(err, "what=\"max_file_ms\""));
	unlink(out);
	unlink(err);
	remove_tree(dir);
}
END_TEST

static Suite *hostile_suite(void)
{
	Suite *s = suite_create("scanner-hostile");
	TCase *tc = tcase_create("hostile");

	tcase_set_timeout(tc, 90);
	tcase_add_test(tc, a_compression_ratio_bomb_is_refused_before_inflating);
	tcase_add_test(tc, overlapping_entries_are_recognised_as_a_zip_bomb);
	tcase_add_test(tc, too_many_entries_and_too_much_time_stop_the_file);
	tcase_add_test(tc, a_jar_behind_a_launcher_script_is_read);
	tcase_add_test(tc, limit_events_appear_in_jsonl_and_sarif_output);
	tcase_add_test(tc,
		       an_archive_holding_a_copy_of_an_ancestor_is_not_descended);
	tcase_add_test(tc, entries_that_lie_about_their_size_stop_while_inflating);
	tcase_add_test(tc, a_damaged_entry_is_a_corrupt_event_not_a_limit);
	tcase_add_test(tc,
		       the_time_limit_holds_while_hashing_and_scanning_for_secrets);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return px_check_run(hostile_suite());
}
