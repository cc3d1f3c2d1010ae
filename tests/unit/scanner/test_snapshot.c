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

START_TEST(ext4_images_are_read_without_mounting_and_links_resolved_inside)
{
	struct scan_ctx ctx;
	struct lines l;

	scan_kind("disk.img", SCAN_SNAP_EXT, &ctx, &l);
	ck_assert_uint_eq(l.n, 4);
	ck_assert_uint_eq(lines_count(&l, "|pypi|a|1.0|"), 1);
	/* e itself, and once through f/ or g/package.json: both name the
	 * same inode, which is not scanned twice */
	ck_assert_uint_eq(lines_count(&l, "|npm|e|2.0|"), 2);
	ck_assert_uint_eq(lines_count(&l, "|pypi|z|9|"), 1);
	ck_assert_uint_eq(ctx.stats.files, 4);     /* no fifo */
	/* srv/escape and loop; etc-link and shadow dangle in the image */
	ck_assert_uint_eq(ctx.stats.events, 2);
	ck_assert_uint_eq(ctx.stats.errors, 2);
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
	ck_assert(!file_has(out, "\"path\":\"/etc-link"));
	ck_assert(!file_has(out, "root:"));
	ck_assert(file_has(out, "\"path\":\"/srv/node_modules/f/package.json\"") !=
		  file_has(out, "\"path\":\"/srv/node_modules/g/package.json\""));
	ck_assert(file_has(out, "via symlink to /srv/node_modules/e/package.json"));
	ck_assert(file_has(out, "\"event\":\"symlink\",\"what\":\"link escapes the snapshot root, not followed\",\"path\":\"/srv/escape\""));
	ck_assert(file_has(out, "\"event\":\"symlink\",\"what\":\"link loops, not followed\",\"path\":\"/loop\""));
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

/* Scans <rel> of the work directory with --threads <n>: jsonl lines in
 * <out>, sorted. */
static void scan_sorted(const char *rel, int n, const char *out)
{
	char cmd[1024];
	const char *bin = getenv("PX_SCAN_BIN");

	ck_assert_msg(bin && bin[0], "PX_SCAN_BIN is not set");
	snprintf(cmd, sizeof(cmd),
		 "'%s' --format jsonl --checks packages,secrets --secret-key-file '%s/key' --threads %d '%s/%s' >'%s.raw' 2>/dev/null && sort '%s.raw' > '%s'",
		 bin, work, n, work, rel, out, out, out);
	ck_assert_int_eq(run_status(cmd), 0);
}

/*
 * Files of images and ext images go to the worker pool like a directory's:
 * the findings and events are the same as with one thread (in another
 * order, so compared sorted).  Symlinks in both are resolved inside the
 * image.
 */
START_TEST(images_scanned_by_many_threads_give_what_one_thread_gives)
{
	static const char *const kinds[] = { "many.img", "many.tar" };
	char cmd[4096], one[256], four[256], jar[4096];
	size_t i;

	build();
	snprintf(jar, sizeof(jar), "%s/true-hits/log4j-core-2.14.1.jar",
		 fixture_samples());
	snprintf(cmd, sizeof(cmd),
		 "set -e; cd '%s'; mkdir -p many/opt many/etc; echo 0123456789abcdef0123456789 > key; "
		 "for i in $(seq 1 60); do d=many/py/p$i-1.$i.dist-info; mkdir -p $d; "
		 "printf 'Name: p%%s\nVersion: 1.%%s\n' $i $i > $d/METADATA; done; "
		 "cp '%s' many/opt/core.jar; ln -s ../opt/core.jar many/etc/link.jar; "
		 "ln -s ../../../x many/etc/out; ln -s loop many/loop; "
		 "printf 'key = AKIAQ3EGRT5YBN7XKD2P\n' > many/etc/aws.txt; "
		 "mke2fs -q -t ext4 -d many many.img 16M; "
		 "mkdir -p mt/l; tar -C many -cf mt/l/layer.tar .; "
		 "printf '[{\"Config\":\"c.json\",\"Layers\":[\"l/layer.tar\"]}]' > mt/manifest.json; "
		 "printf '{}' > mt/c.json; tar -C mt -cf many.tar l/layer.tar c.json manifest.json",
		 work, jar);
	ck_assert_int_eq(run_status(cmd), 0);
	for (i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++) {
		snprintf(one, sizeof(one), "%s/one.%zu", work, i);
		snprintf(four, sizeof(four), "%s/four.%zu", work, i);
		scan_sorted(kinds[i], 1, one);
		scan_sorted(kinds[i], 4, four);
		snprintf(cmd, sizeof(cmd), "cmp -s '%s' '%s'", one, four);
		ck_assert_msg(run_status(cmd) == 0, "%s: --threads 4 differs",
			      kinds[i]);
		/* 60 python packages, log4j-core, the key */
		ck_assert(file_has(one, "\"name\":\"p60\""));
		ck_assert(file_has(one, "log4j-core"));
		ck_assert(file_has(one, "\"type\":\"secret\""));
		snprintf(cmd, sizeof(cmd), "test $(wc -l < '%s') -ge 62", one);
		ck_assert_int_eq(run_status(cmd), 0);
		/* links: one followed (the jar scanned as the link too), one
		 * escaping, one looping */
		ck_assert(file_has(one, "\"path\":\"/etc/link.jar\""));
		ck_assert(file_has(one, "via symlink to /opt/core.jar"));
		ck_assert(file_has(one, "\"what\":\"link escapes the snapshot root, not followed\",\"path\":\"/etc/out\""));
		ck_assert(file_has(one, "\"what\":\"link loops, not followed\",\"path\":\"/loop\""));
	}
}
END_TEST

/*
 * Links across layers: one in the upper layer names a jar of the lower
 * one (scanned under the link's path, with the jar's layer), one names a
 * jar the upper layer whites out (dangling, so nothing).
 */
START_TEST(image_links_resolve_in_the_merged_layers)
{
	char cmd[4096], jar[4096], out[256], err[256], args[512];

	build();
	snprintf(jar, sizeof(jar), "%s/true-hits/log4j-core-2.14.1.jar",
		 fixture_samples());
	snprintf(cmd, sizeof(cmd),
		 "set -e; cd '%s'; mkdir -p x1/opt x2/app x2/opt xt/l1 xt/l2; "
		 "cp '%s' x1/opt/core.jar; cp '%s' x1/opt/gone.jar; "
		 "ln -s /opt/core.jar x2/app/log4j.jar; "
		 "ln -s ../opt/gone.jar x2/app/gone.jar; : > x2/opt/.wh.gone.jar; "
		 "tar -C x1 -cf xt/l1/layer.tar .; tar -C x2 -cf xt/l2/layer.tar .; "
		 "printf '[{\"Config\":\"c.json\",\"Layers\":[\"l1/layer.tar\",\"l2/layer.tar\"]}]' > xt/manifest.json; "
		 "printf '{}' > xt/c.json; "
		 "tar -C xt -cf links.tar l1/layer.tar l2/layer.tar c.json manifest.json",
		 work, jar, jar);
	ck_assert_int_eq(run_status(cmd), 0);
	snprintf(out, sizeof(out), "%s/links.out", work);
	snprintf(err, sizeof(err), "%s/links.err", work);
	snprintf(args, sizeof(args), "--format jsonl --checks packages '%s/links.tar'",
		 work);
	ck_assert_int_eq(scan_bin(args, out, err), 0);
	ck_assert(file_has(out, "\"path\":\"/opt/core.jar\""));
	ck_assert(file_has(out, "\"path\":\"/app/log4j.jar\""));
	ck_assert(file_has(out, "via symlink to /opt/core.jar"));
	ck_assert(file_has(out, "\"layer_digest\":\"l1/layer.tar\""));
	ck_assert(!file_has(out, "\"layer_digest\":\"l2/layer.tar\""));
	ck_assert(!file_has(out, "gone.jar"));
	ck_assert(!file_has(out, "\"type\":\"event\""));
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
	tcase_add_test(tc, ext4_images_are_read_without_mounting_and_links_resolved_inside);
	tcase_add_test(tc, paths_in_images_are_paths_inside_the_image);
	tcase_add_test(tc, a_truncated_image_is_reported_not_crashed_on);
	tcase_add_test(tc,
		       images_scanned_by_many_threads_give_what_one_thread_gives);
	tcase_add_test(tc, image_links_resolve_in_the_merged_layers);
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
