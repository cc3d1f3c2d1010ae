// SPDX-License-Identifier: Apache-2.0
/*
 * Hostile snapshots: container images and ext4 images built wrong on
 * purpose, at test time (make_hostile_images.py, mke2fs and debugfs).
 * Each one must end in findings for what is sound and events for what is
 * not, never in a crash or a walk that does not end (Check's timeout
 * fails a hang).
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "helpers.h"
#include "scan.h"
#include "snapshot.h"
#include "px_check.h"

static char work[64];

struct evlog {
	char text[16384];
	int n;
};

static void ev_keep(void *arg, const struct scan_event *ev)
{
	struct evlog *l = arg;
	size_t o = strlen(l->text);

	snprintf(l->text + o, sizeof(l->text) - o, "%s|%s\n", ev->kind,
		 ev->what);
	l->n++;
}

/* How many lines of <l> are exactly <line> (without its "\n"). */
static int ev_count(const struct evlog *l, const char *line)
{
	const char *p = l->text;
	size_t n = strlen(line);
	int c = 0;

	while ((p = strstr(p, line))) {
		if ((p == l->text || p[-1] == '\n') && p[n] == '\n')
			c++;
		p += n;
	}
	return c;
}

static void build(void)
{
	const char *script = getenv("PX_MAKE_HOSTILE_IMAGES");
	char cmd[512];

	if (work[0])
		return;
	ck_assert_msg(script && script[0],
		      "PX_MAKE_HOSTILE_IMAGES is not set; run through meson test");
	temp_dir(work);
	snprintf(cmd, sizeof(cmd), "python3 '%s' '%s'", script, work);
	ck_assert_msg(run_status(cmd) == 0, "%s failed", script);
}

/* Scans <rel> of the work directory as a docker-save image. */
static int scan_docker(const char *rel, struct scan_ctx *ctx,
		       struct lines *l, struct evlog *ev)
{
	char path[256];

	build();
	snprintf(path, sizeof(path), "%s/%s", work, rel);
	lines_ctx(ctx, l);
	memset(ev, 0, sizeof(*ev));
	ctx->events = (struct scan_event_sink){ ev_keep, ev };
	return scan_image_docker(ctx, path);
}

START_TEST(manifest_layers_that_are_not_strings_are_events_not_a_crash)
{
	struct scan_ctx ctx;
	struct lines l;
	struct evlog ev;

	ck_assert_int_eq(scan_docker("null-layer.tar", &ctx, &l, &ev), 0);
	ck_assert_msg(ev_count(&ev, "corrupt|manifest.json layer entry is not a string") == 2,
		      "events:\n%s", ev.text);
	/* the string layer is still read */
	ck_assert_uint_eq(lines_count(&l, "|pypi|kept|1.0|"), 1);
	ck_assert_uint_eq(l.n, 1);
	lines_free(&l);
}
END_TEST

START_TEST(a_tar_member_larger_than_the_image_ends_the_index)
{
	struct scan_ctx ctx;
	struct lines l;
	struct evlog ev;

	/* manifest.json came before the bad header: still an image */
	ck_assert_int_eq(scan_docker("huge-size.tar", &ctx, &l, &ev), 0);
	ck_assert_msg(ev_count(&ev, "corrupt|tar member larger than the file") == 1,
		      "events:\n%s", ev.text);
	ck_assert_uint_eq(ctx.stats.corrupt, 1);
	lines_free(&l);
}
END_TEST

START_TEST(a_tar_header_with_a_wrong_checksum_ends_the_index)
{
	struct scan_ctx ctx;
	struct lines l;
	struct evlog ev;

	ck_assert_int_eq(scan_docker("bad-sum.tar", &ctx, &l, &ev), 0);
	ck_assert_msg(ev_count(&ev, "corrupt|tar header checksum mismatch") == 1,
		      "events:\n%s", ev.text);
	lines_free(&l);
}
END_TEST

START_TEST(a_gzipped_docker_save_is_read_as_an_image)
{
	char path[256], want[256];
	struct scan_ctx ctx;
	struct lines l;

	build();
	snprintf(path, sizeof(path), "%s/docker.tar.gz", work);
	ck_assert_int_eq(scan_snapshot_detect(path), SCAN_SNAP_DOCKER);
	lines_ctx(&ctx, &l);
	ck_assert_int_eq(scan_snapshot(&ctx, SCAN_SNAP_DOCKER, path, path), 0);
	snprintf(want, sizeof(want), "|pypi|zipped|2.0||pkg:pypi/zipped@2.0|||||sha256:%.64s|",
		 "cdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcd");
	ck_assert_msg(lines_count(&l, want) == 1, "findings:\n%s", l.buf);
	ck_assert_uint_eq(ctx.stats.errors, 0);
	lines_free(&l);
}
END_TEST

START_TEST(a_gzipped_image_past_the_byte_budget_is_a_limit_event)
{
	struct scan_ctx ctx;
	struct lines l;
	struct evlog ev;
	char path[256];

	build();
	snprintf(path, sizeof(path), "%s/docker.tar.gz", work);
	lines_ctx(&ctx, &l);
	memset(&ev, 0, sizeof(ev));
	ctx.events = (struct scan_event_sink){ ev_keep, &ev };
	ctx.limits.max_archive_bytes = 4096;
	ck_assert_int_lt(scan_image_docker(&ctx, path), 0);
	ck_assert_int_eq(ev_count(&ev, "limit|max_archive_bytes"), 1);
	ck_assert_uint_eq(l.n, 0);
	lines_free(&l);
}
END_TEST

START_TEST(a_file_or_link_replacing_a_directory_hides_what_was_below)
{
	struct scan_ctx ctx;
	struct lines l;
	struct evlog ev;

	ck_assert_int_eq(scan_docker("replaced.tar", &ctx, &l, &ev), 0);
	ck_assert_msg(lines_count(&l, "|kept|1.0|") == 1, "findings:\n%s", l.buf);
	ck_assert_msg(lines_count(&l, "|under-file|") == 0, "findings:\n%s", l.buf);
	ck_assert_msg(lines_count(&l, "|under-link|") == 0, "findings:\n%s", l.buf);
	ck_assert_uint_eq(l.n, 1);
	lines_free(&l);
}
END_TEST

/*
 * An ext4 image whose directories n0..n23 each hold two hard links (a, b)
 * to the next one: 2^24 paths lead to n24 and its package.  Each
 * directory is entered once; the second link to it is an event.
 */
START_TEST(directories_linked_twice_are_walked_once)
{
	char root[256], img[256], cmds[256], cmd[1024];
	struct scan_ctx ctx;
	struct lines l;
	struct evlog ev;
	FILE *f;
	int i;

	build();
	snprintf(root, sizeof(root), "%s/tree", work);
	snprintf(img, sizeof(img), "%s/doubled.img", work);
	snprintf(cmds, sizeof(cmds), "%s/debugfs.cmds", work);
	for (i = 0; i <= 24; i++) {
		snprintf(cmd, sizeof(cmd), "mkdir -p '%s/n%d'", root, i);
		ck_assert_int_eq(run_status(cmd), 0);
	}
	put_text(root, "n24/z-9.dist-info/METADATA", "Name: z\nVersion: 9\n");
	f = fopen(cmds, "w");
	ck_assert_ptr_nonnull(f);
	for (i = 0; i < 24; i++)
		fprintf(f, "ln n%d n%d/a\nln n%d n%d/b\n", i + 1, i, i + 1, i);
	ck_assert_int_eq(fclose(f), 0);
	snprintf(cmd, sizeof(cmd),
		 "mke2fs -q -t ext4 -d '%s' '%s' 8M && debugfs -w -f '%s' '%s' >/dev/null 2>&1",
		 root, img, cmds, img);
	ck_assert_msg(run_status(cmd) == 0, "mke2fs or debugfs failed: %s", cmd);
	/* debugfs made the links: the image really has them */
	snprintf(cmd, sizeof(cmd),
		 "debugfs -R 'ls -l n0/a/b/a' '%s' 2>/dev/null | grep -q ' a$'", img);
	ck_assert_msg(run_status(cmd) == 0, "debugfs did not link n0/a/b/a");

	lines_ctx(&ctx, &l);
	memset(&ev, 0, sizeof(ev));
	ctx.events = (struct scan_event_sink){ ev_keep, &ev };
	ck_assert_int_eq(scan_ext_image(&ctx, img), 0);
	ck_assert_msg(lines_count(&l, "|pypi|z|9|") == 1, "findings:\n%s", l.buf);
	/* 25 directories, 25 + 48 entries naming them */
	ck_assert_msg(ev_count(&ev, "corrupt|directory linked twice, entered once") == 48,
		      "events:\n%s", ev.text);
	lines_free(&l);
}
END_TEST

START_TEST(an_ext4_walk_past_max_entries_stops_with_an_event)
{
	char root[256], img[256], cmd[1024];
	struct scan_ctx ctx;
	struct lines l;
	struct evlog ev;
	int i;

	build();
	snprintf(root, sizeof(root), "%s/many", work);
	snprintf(img, sizeof(img), "%s/many.img", work);
	for (i = 0; i < 40; i++) {
		char rel[64];

		snprintf(rel, sizeof(rel), "d%d/f", i);
		put_text(root, rel, "x\n");
	}
	snprintf(cmd, sizeof(cmd), "mke2fs -q -t ext4 -d '%s' '%s' 8M", root,
		 img);
	ck_assert_int_eq(run_status(cmd), 0);
	lines_ctx(&ctx, &l);
	memset(&ev, 0, sizeof(ev));
	ctx.events = (struct scan_event_sink){ ev_keep, &ev };
	ctx.limits.max_entries = 20;
	ck_assert_int_eq(scan_ext_image(&ctx, img), 0);
	ck_assert_msg(ev_count(&ev, "limit|max_entries") >= 1, "events:\n%s",
		      ev.text);
	ck_assert_uint_le(ctx.stats.files, 20);
	lines_free(&l);
}
END_TEST

/* Runs in each test's own process, after it (Check's fork mode). */
static void remove_work(void)
{
	if (work[0])
		remove_tree(work);
}

static Suite *hostile_images_suite(void)
{
	Suite *s = suite_create("scanner-hostile-images");
	TCase *tc = tcase_create("hostile-images");

	tcase_set_timeout(tc, 60);
	tcase_add_checked_fixture(tc, NULL, remove_work);
	tcase_add_test(tc, manifest_layers_that_are_not_strings_are_events_not_a_crash);
	tcase_add_test(tc, a_tar_member_larger_than_the_image_ends_the_index);
	tcase_add_test(tc, a_tar_header_with_a_wrong_checksum_ends_the_index);
	tcase_add_test(tc, a_gzipped_docker_save_is_read_as_an_image);
	tcase_add_test(tc, a_gzipped_image_past_the_byte_budget_is_a_limit_event);
	tcase_add_test(tc, a_file_or_link_replacing_a_directory_hides_what_was_below);
	tcase_add_test(tc, directories_linked_twice_are_walked_once);
	tcase_add_test(tc, an_ext4_walk_past_max_entries_stops_with_an_event);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return px_check_run(hostile_images_suite());
}
