// SPDX-License-Identifier: Apache-2.0
/*
 * Snapshot kinds: a docker-save tar and an OCI layout of the same two
 * layers (whiteouts, an opaque directory, a file replaced by the upper
 * layer; each finding carrying its layer's digest), and an ext4 image
 * read with libext2fs.  The fixtures come from make_images.sh (tar, gzip,
 * mke2fs -d), run here into a temporary directory.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "helpers.h"
#include "scan.h"
#include "snapshot.h"

static char work[64];
static char digest[4][128];

/* Builds the fixtures once per test process. */
static void build(void)
{
	const char *script = getenv("PX_MAKE_IMAGES");
	char cmd[1024], path[256];
	FILE *f;

	if (work[0])
		return;
	ck_assert_msg(script && script[0], "PX_MAKE_IMAGES is not set; run through meson test");
	temp_dir(work);
	snprintf(cmd, sizeof(cmd), "sh '%s' '%s' >/dev/null", script, work);
	ck_assert_msg(run_status(cmd) == 0, "%s failed (needs tar, gzip, sha256sum, mke2fs)", script);
	snprintf(path, sizeof(path), "%s/digests", work);
	f = fopen(path, "r");
	ck_assert_ptr_nonnull(f);
	ck_assert_int_eq(fscanf(f, "%127s %127s %127s %127s", digest[0],
				digest[1], digest[2], digest[3]), 4);
	fclose(f);
}

static void scan_kind(const char *rel, enum scan_snapshot want,
		      struct scan_ctx *ctx, struct lines *l)
{
	char path[256];

	build();
	snprintf(path, sizeof(path), "%s/%s", work, rel);
	ck_assert_int_eq(scan_snapshot_detect(path), want);
	lines_ctx(ctx, l);
	ck_assert_int_eq(scan_snapshot(ctx, want, path, path), 0);
}

/* The finding of package <name> <version> in layer <d>, exactly once. */
static void expect(const struct lines *l, const char *name,
		   const char *version, const char *d)
{
	char needle[512];

	snprintf(needle, sizeof(needle), "|%s|%s||", name, version);
	ck_assert_msg(lines_count(l, needle) == 1, "%s %s not found once in:\n%s",
		      name, version, l->buf);
	snprintf(needle, sizeof(needle), "|%s|\n", d);
	ck_assert_msg(strstr(l->buf, needle) != NULL, "layer %s missing", d);
}

static void check_layers(const struct lines *l, const char *d1,
			 const char *d2)
{
	char needle[512];

	ck_assert_uint_eq(l->n, 3);
	expect(l, "a", "1.0", d1);
	expect(l, "c", "2.0", d2);
	expect(l, "e", "2.0", d2);
	/* a: first layer; c and e: second layer */
	snprintf(needle, sizeof(needle), "|pypi|a|1.0||pkg:pypi/a@1.0|||||%s|", d1);
	ck_assert_uint_eq(lines_count(l, needle), 1);
	snprintf(needle, sizeof(needle), "|npm|c|2.0||pkg:npm/c@2.0|||||%s|", d2);
	ck_assert_uint_eq(lines_count(l, needle), 1);
	snprintf(needle, sizeof(needle), "|npm|e|2.0||pkg:npm/e@2.0|||||%s|", d2);
	ck_assert_uint_eq(lines_count(l, needle), 1);
	/* whited out, hidden by the opaque directory, replaced */
	ck_assert_uint_eq(lines_count(l, "|b|"), 0);
	ck_assert_uint_eq(lines_count(l, "|d|"), 0);
	ck_assert_uint_eq(lines_count(l, "|c|1.0|"), 0);
}

START_TEST(docker_save_layers_apply_in_order_with_whiteouts)
{
	struct scan_ctx ctx;
	struct lines l;

	scan_kind("docker.tar", SCAN_SNAP_DOCKER, &ctx, &l);
	check_layers(&l, digest[0], digest[1]);
	ck_assert_uint_eq(ctx.stats.errors, 0);
	ck_assert_uint_eq(ctx.stats.files, 3);
	lines_free(&l);
}
END_TEST

START_TEST(oci_layout_layers_apply_in_order_with_whiteouts)
{
	struct scan_ctx ctx;
	struct lines l;

	scan_kind("oci", SCAN_SNAP_OCI, &ctx, &l);
	check_layers(&l, digest[2], digest[3]);
	ck_assert_uint_eq(ctx.stats.errors, 0);
	lines_free(&l);
}
END_TEST

START_TEST(ext4_images_are_read_without_mounting_and_links_not_followed)
{
	struct scan_ctx ctx;
	struct lines l;

	scan_kind("disk.img", SCAN_SNAP_EXT, &ctx, &l);
	ck_assert_uint_eq(l.n, 3);
	ck_assert_uint_eq(lines_count(&l, "|pypi|a|1.0|"), 1);
	ck_assert_uint_eq(lines_count(&l, "|npm|e|2.0|"), 1);
	ck_assert_uint_eq(lines_count(&l, "|pypi|z|9|"), 1);
	ck_assert_uint_eq(ctx.stats.files, 3);     /* no fifo, no link */
	ck_assert_uint_eq(ctx.stats.errors, 0);
	lines_free(&l);
}
END_TEST

START_TEST(paths_in_images_are_paths_inside_the_image)
{
	char out[128], err[128], args[512];

	build();
	snprintf(out, sizeof(out), "%s/out", work);
	snprintf(err, sizeof(err), "%s/err", work);
	snprintf(args, sizeof(args), "--format jsonl --checks packages '%s/docker.tar' '%s/disk.img'",
		 work, work);
	ck_assert_int_eq(scan_bin(args, out, err), 0);
	ck_assert(file_has(out, "\"path\":\"/opt/d/node_modules/e/package.json\""));
	ck_assert(file_has(out, "\"path\":\"/deep/er/still/z-9.dist-info/METADATA\""));
	ck_assert(file_has(out, digest[1]));
	ck_assert(file_has(err, "kind=docker-archive"));
	ck_assert(file_has(err, "kind=ext4"));
	ck_assert(!file_has(out, "etc-link"));
	ck_assert(!file_has(out, "root:"));
}
END_TEST

START_TEST(a_truncated_image_is_reported_not_crashed_on)
{
	char src[256], dst[256], cmd[600];
	struct scan_ctx ctx;
	struct lines l;

	build();
	snprintf(src, sizeof(src), "%s/docker.tar", work);
	snprintf(dst, sizeof(dst), "%s/cut.tar", work);
	snprintf(cmd, sizeof(cmd), "head -c 12000 '%s' > '%s'", src, dst);
	ck_assert_int_eq(run_status(cmd), 0);
	lines_ctx(&ctx, &l);
	/* manifest.json is at the end: gone, so not an image any more */
	ck_assert_int_eq(scan_snapshot_detect(dst), SCAN_SNAP_FILE);
	ck_assert_int_lt(scan_image_docker(&ctx, dst), 0);
	snprintf(src, sizeof(src), "%s/disk.img", work);
	snprintf(dst, sizeof(dst), "%s/cut.img", work);
	snprintf(cmd, sizeof(cmd), "head -c 2048 '%s' > '%s'", src, dst);
	ck_assert_int_eq(run_status(cmd), 0);
	ck_assert_int_lt(scan_ext_image(&ctx, dst), 0);
	lines_free(&l);
}
END_TEST

static void cleanup(void)
{
	if (work[0])
		remove_tree(work);
}

static Suite *snapshot_suite(void)
{
	Suite *s = suite_create("scanner-snapshot");
	TCase *tc = tcase_create("snapshot");

	tcase_set_timeout(tc, 60);
	tcase_add_unchecked_fixture(tc, NULL, cleanup);
	tcase_add_test(tc, docker_save_layers_apply_in_order_with_whiteouts);
	tcase_add_test(tc, oci_layout_layers_apply_in_order_with_whiteouts);
	tcase_add_test(tc, ext4_images_are_read_without_mounting_and_links_not_followed);
	tcase_add_test(tc, paths_in_images_are_paths_inside_the_image);
	tcase_add_test(tc, a_truncated_image_is_reported_not_crashed_on);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(snapshot_suite());
	int failed;

	srunner_set_fork_status(sr, CK_NOFORK);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
