// SPDX-License-Identifier: Apache-2.0
/*
 * The archive reader: nesting and how it is named, content-based
 * recognition, and hostile input (corrupt, truncated, too deep, too big),
 * with archives built in the test by libarchive's writer around the real
 * log4j-core 2.14.1 jar of the fixtures.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "helpers.h"
#include "scan.h"
#include "px_check.h"

#define CORE "org.apache.logging.log4j:log4j-core"
#define ALL4 "CVE-2021-44228,CVE-2021-44832,CVE-2021-45046,CVE-2021-45105"

static uint8_t *core_jar(size_t *len)
{
	char path[4096];

	snprintf(path, sizeof(path), "%s/true-hits/log4j-core-2.14.1.jar",
		 fixture_samples());
	return slurp(path, len);
}

/* Writes <data> to <dir>/<name>. */
static void put(const char *dir, const char *name, const void *data,
		size_t len)
{
	char path[4096];

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	spit(path, data, len);
}

/* outer.ear > app.war > WEB-INF/lib/log4j-core-2.14.1.jar, in memory. */
static uint8_t *nested_ear(size_t *len)
{
	size_t jlen, wlen;
	uint8_t *jar = core_jar(&jlen), *war, *ear;

	war = zip_one("WEB-INF/lib/log4j-core-2.14.1.jar", jar, jlen, &wlen);
	ear = zip_one("app.war", war, wlen, len);
	free(jar);
	free(war);
	return ear;
}

START_TEST(a_jar_in_a_war_in_an_ear_is_named_by_its_inner_path)
{
	struct scan_ctx ctx;
	static struct keeper k;
	const struct kept *f;
	char dir[64], hex[65];
	size_t len;
	uint8_t *ear = nested_ear(&len);

	temp_dir(dir);
	put(dir, "outer.ear", ear, len);
	sha256_hex_of(ear, len, hex);
	keeper_ctx(&ctx, &k);
	ck_assert_int_eq(scan_walk_root(&ctx, dir), 0);
	f = keeper_find(&k, CORE);
	ck_assert_ptr_nonnull(f);
	ck_assert_str_eq(f->inner, "app.war!/WEB-INF/lib/log4j-core-2.14.1.jar");
	ck_assert_ptr_nonnull(strstr(f->path, "/outer.ear"));
	ck_assert_str_eq(f->sha256, hex);
	ck_assert_str_eq(f->version, "2.14.1");
	ck_assert_str_eq(f->cves, ALL4);
	ck_assert_uint_eq(ctx.stats.archives, 3);
	ck_assert_uint_eq(ctx.stats.errors, 0);
	free(ear);
	remove_tree(dir);
}
END_TEST

START_TEST(archives_are_recognised_by_content_not_name)
{
	static const char prefix[] = "#!/bin/sh\nexec java -jar \"$0\"\n";
	struct scan_ctx ctx;
	static struct keeper k;
	char dir[64];
	size_t jlen, zlen, i;
	uint8_t *jar = core_jar(&jlen), *exe, *zip;

	temp_dir(dir);
	put(dir, "no-extension", jar, jlen);
	exe = malloc(sizeof(prefix) + jlen);
	ck_assert_ptr_nonnull(exe);
	memcpy(exe, prefix, sizeof(prefix) - 1);
	memcpy(exe + sizeof(prefix) - 1, jar, jlen);
	put(dir, "selfexec.jar", exe, sizeof(prefix) - 1 + jlen);
	zip = zip_one("blob.bin", jar, jlen, &zlen);
	put(dir, "holder.zip", zip, zlen);
	keeper_ctx(&ctx, &k);
	ck_assert_int_eq(scan_walk_root(&ctx, dir), 0);
	ck_assert_uint_eq(k.n, 3);
	for (i = 0; i < k.n; i++) {
		ck_assert_str_eq(k.items[i].name, CORE);
		ck_assert_str_eq(k.items[i].cves, ALL4);
		if (strstr(k.items[i].path, "holder.zip"))
			ck_assert_str_eq(k.items[i].inner, "blob.bin");
		else
			ck_assert_str_eq(k.items[i].inner, "");
	}
	ck_assert_uint_eq(ctx.stats.errors, 0);
	free(jar);
	free(exe);
	free(zip);
	remove_tree(dir);
}
END_TEST

START_TEST(corrupt_and_truncated_archives_are_reported_and_the_walk_goes_on)
{
	static const char garbage[] = "PK\003\004 this is not a zip at all";
	struct scan_ctx ctx;
	static struct keeper k;
	const struct kept *f;
	char dir[64];
	size_t jlen, wlen;
	uint8_t *jar = core_jar(&jlen), *war;

	temp_dir(dir);
	put(dir, "a-random.jar", "\x01\x02 random bytes", 15);
	put(dir, "b-garbage.jar", garbage, sizeof(garbage));
	put(dir, "c-truncated.jar", jar, jlen / 2);
	war = zip_one("WEB-INF/lib/half.jar", jar, jlen / 2, &wlen);
	put(dir, "d-holds-truncated.war", war, wlen);
	put(dir, "e-good.jar", jar, jlen);
	keeper_ctx(&ctx, &k);
	ck_assert_int_eq(scan_walk_root(&ctx, dir), 0);
	ck_assert_uint_eq(ctx.stats.corrupt, 4);
	ck_assert_uint_ge(ctx.stats.errors, 4);
	ck_assert_uint_eq(ctx.stats.files, 5);
	ck_assert_uint_eq(k.n, 1);
	f = &k.items[0];
	ck_assert_ptr_nonnull(strstr(f->path, "/e-good.jar"));
	ck_assert_str_eq(f->cves, ALL4);
	free(jar);
	free(war);
	remove_tree(dir);
}
END_TEST

/* Wraps the jar in <levels> zips (z1.zip outermost ... so the jar sits at
 * depth levels + 1) and writes it as <dir>/deep.zip. */
static void deep_zip(const char *dir, int levels)
{
	char name[32];
	size_t len, nlen;
	uint8_t *cur = core_jar(&len), *next;
	int i;

	next = zip_one("log4j-core.jar", cur, len, &nlen);
	free(cur);
	cur = next;
	len = nlen;
	for (i = levels - 1; i >= 1; i--) {
		snprintf(name, sizeof(name), "z%d.zip", i);
		next = zip_one(name, cur, len, &nlen);
		free(cur);
		cur = next;
		len = nlen;
	}
	put(dir, "deep.zip", cur, len);
	free(cur);
}

START_TEST(nesting_within_the_depth_limit_is_followed)
{
	struct scan_ctx ctx;
	static struct keeper k;
	const struct kept *f;
	char dir[64];

	temp_dir(dir);
	deep_zip(dir, 4);    /* deep.zip > z1 > z2 > z3 > log4j-core.jar */
	keeper_ctx(&ctx, &k);
	ctx.limits.max_depth = 5;
	ck_assert_int_eq(scan_walk_root(&ctx, dir), 0);
	f = keeper_find(&k, CORE);
	ck_assert_ptr_nonnull(f);
	ck_assert_str_eq(f->inner,
			 "z1.zip!/z2.zip!/z3.zip!/log4j-core.jar");
	ck_assert_uint_eq(ctx.stats.depth_limited, 0);
	remove_tree(dir);
}
END_TEST

START_TEST(nesting_past_the_depth_limit_is_reported_not_followed)
{
	struct scan_ctx ctx;
	static struct keeper k;
	char dir[64];

	temp_dir(dir);
	deep_zip(dir, 4);
	keeper_ctx(&ctx, &k);
	ctx.limits.max_depth = 3;
	ck_assert_int_eq(scan_walk_root(&ctx, dir), 0);
	ck_assert_ptr_null(keeper_find(&k, CORE));
	ck_assert_uint_eq(ctx.stats.depth_limited, 1);
	ck_assert_uint_ge(ctx.stats.errors, 1);
	ck_assert_uint_eq(ctx.stats.archives, 3);
	remove_tree(dir);
}
END_TEST

START_TEST(an_entry_over_the_byte_budget_is_reported_and_skipped)
{
	struct scan_ctx ctx;
	static struct keeper k;
	char dir[64];
	size_t jlen, wlen;
	uint8_t *jar = core_jar(&jlen), *war;

	temp_dir(dir);
	war = zip_one("WEB-INF/lib/log4j-core.jar", jar, jlen, &wlen);
	put(dir, "app.war", war, wlen);
	put(dir, "plain.jar", jar, jlen);
	keeper_ctx(&ctx, &k);
	ctx.limits.max_entry_bytes = 256 * 1024;
	ck_assert_int_eq(scan_walk_root(&ctx, dir), 0);
	ck_assert_uint_eq(ctx.stats.budget_hits, 1);
	ck_assert_uint_ge(ctx.stats.errors, 1);
	/* the jar on disk is read in place, so it is still found */
	ck_assert_uint_eq(k.n, 1);
	ck_assert_ptr_nonnull(strstr(k.items[0].path, "/plain.jar"));
	free(jar);
	free(war);
	remove_tree(dir);
}
END_TEST

START_TEST(a_bomb_is_stopped_by_the_per_file_budget)
{
	const size_t big = 64u << 20;   /* inflates to 64 MiB per entry */
	const char *names[3] = { "a.jar", "b.jar", "c.jar" };
	const uint8_t *data[3];
	size_t lens[3], zlen;
	struct scan_ctx ctx;
	static struct keeper k;
	char dir[64];
	uint8_t *zeros = calloc(1, big), *zip;

	ck_assert_ptr_nonnull(zeros);
	data[0] = data[1] = data[2] = zeros;
	lens[0] = lens[1] = lens[2] = big;
	zip = zip_build(3, names, data, lens, &zlen);
	free(zeros);
	ck_assert_uint_lt(zlen, big / 64);
	temp_dir(dir);
	put(dir, "bomb.zip", zip, zlen);
	keeper_ctx(&ctx, &k);
	ctx.limits.max_archive_bytes = 100u << 20;
	ctx.limits.max_ratio = 1000000;  /* the ratio check would stop it first */
	ck_assert_int_eq(scan_walk_root(&ctx, dir), 0);
	ck_assert_uint_eq(ctx.stats.budget_hits, 1);
	ck_assert_uint_eq(k.n, 0);
	free(zip);
	remove_tree(dir);
}
END_TEST

/* Bytes inflated when the plain log4j-core jar alone is scanned: what any
 * archive holding it in place must add to its own inflated bytes. */
static uint64_t core_inflated(void)
{
	struct scan_ctx ctx;
	static struct keeper k;
	char dir[64];
	size_t jlen;
	uint8_t *jar = core_jar(&jlen);

	temp_dir(dir);
	put(dir, "core.jar", jar, jlen);
	keeper_ctx(&ctx, &k);
	ck_assert_int_eq(scan_walk_root(&ctx, dir), 0);
	ck_assert_uint_eq(k.n, 1);
	ck_assert_uint_eq(ctx.stats.in_place, 0);
	ck_assert_uint_gt(ctx.stats.inflated, 0);
	free(jar);
	remove_tree(dir);
	return ctx.stats.inflated;
}

#define MANIFEST "Manifest-Version: 1.0\r\n" \
	"Main-Class: org.springframework.boot.loader.JarLauncher\r\n"

/* A Spring Boot-like fat jar: a manifest and the log4j-core jar under
 * BOOT-INF/lib, every entry STORED when <store>. */
static uint8_t *fat_jar(bool store, size_t *len)
{
	static const char mf[] = MANIFEST;
	const char *names[2] = {
		"META-INF/MANIFEST.MF", "BOOT-INF/lib/log4j-core-2.14.1.jar",
	};
	const uint8_t *data[2];
	size_t lens[2];
	uint8_t *jar = core_jar(&lens[1]), *fat;

	data[0] = (const uint8_t *)mf;
	lens[0] = sizeof(mf) - 1;
	data[1] = jar;
	fat = zip_build_as(2, names, data, lens, store, len);
	free(jar);
	return fat;
}

START_TEST(a_stored_jar_in_a_fat_jar_is_read_in_place_not_inflated)
{
	struct scan_ctx ctx;
	static struct keeper k;
	const struct kept *f;
	char dir[64];
	size_t len, jlen, mflen = strlen(MANIFEST);
	uint64_t base = core_inflated();
	uint8_t *fat = fat_jar(true, &len), *jar = core_jar(&jlen);

	temp_dir(dir);
	put(dir, "app.jar", fat, len);
	keeper_ctx(&ctx, &k);
	ck_assert_int_eq(scan_walk_root(&ctx, dir), 0);
	f = keeper_find(&k, CORE);
	ck_assert_ptr_nonnull(f);
	ck_assert_str_eq(f->inner, "BOOT-INF/lib/log4j-core-2.14.1.jar");
	ck_assert_str_eq(f->version, "2.14.1");
	ck_assert_str_eq(f->cves, ALL4);
	ck_assert_uint_eq(ctx.stats.errors, 0);
	ck_assert_uint_eq(ctx.stats.archives, 2);
	ck_assert_uint_eq(ctx.stats.in_place, 1);
	/* the manifest only: the nested jar itself added nothing */
	ck_assert_uint_eq(ctx.stats.inflated, base + mflen);
	free(fat);
	remove_tree(dir);

	/* the same jar deflated is inflated into memory, as before */
	fat = fat_jar(false, &len);
	temp_dir(dir);
	put(dir, "app.jar", fat, len);
	keeper_ctx(&ctx, &k);
	ck_assert_int_eq(scan_walk_root(&ctx, dir), 0);
	f = keeper_find(&k, CORE);
	ck_assert_ptr_nonnull(f);
	ck_assert_str_eq(f->inner, "BOOT-INF/lib/log4j-core-2.14.1.jar");
	ck_assert_str_eq(f->cves, ALL4);
	ck_assert_uint_eq(ctx.stats.in_place, 0);
	ck_assert_uint_eq(ctx.stats.inflated, base + mflen + jlen);
	free(fat);
	free(jar);
	remove_tree(dir);
}
END_TEST

START_TEST(stored_jars_nested_two_levels_are_ranges_of_ranges)
{
	struct scan_ctx ctx;
	static struct keeper k;
	const struct kept *f;
	const char *name = "BOOT-INF/lib/app-lib.jar";
	char dir[64];
	size_t jlen, mlen, len;
	uint64_t base = core_inflated();
	uint8_t *jar = core_jar(&jlen), *mid, *outer;
	const uint8_t *data;
	const char *jname = "lib/log4j-core-2.14.1.jar";

	data = jar;
	mid = zip_build_as(1, &jname, &data, &jlen, true, &mlen);
	data = mid;
	outer = zip_build_as(1, &name, &data, &mlen, true, &len);
	temp_dir(dir);
	put(dir, "outer.jar", outer, len);
	keeper_ctx(&ctx, &k);
	ck_assert_int_eq(scan_walk_root(&ctx, dir), 0);
	f = keeper_find(&k, CORE);
	ck_assert_ptr_nonnull(f);
	ck_assert_str_eq(f->inner,
			 "BOOT-INF/lib/app-lib.jar!/lib/log4j-core-2.14.1.jar");
	ck_assert_str_eq(f->cves, ALL4);
	ck_assert_uint_eq(ctx.stats.errors, 0);
	ck_assert_uint_eq(ctx.stats.archives, 3);
	ck_assert_uint_eq(ctx.stats.in_place, 2);
	ck_assert_uint_eq(ctx.stats.inflated, base);
	free(outer);
	remove_tree(dir);

	/* deflated outside, STORED inside: a range of memory */
	outer = zip_build_as(1, &name, &data, &mlen, false, &len);
	temp_dir(dir);
	put(dir, "outer.jar", outer, len);
	keeper_ctx(&ctx, &k);
	ck_assert_int_eq(scan_walk_root(&ctx, dir), 0);
	f = keeper_find(&k, CORE);
	ck_assert_ptr_nonnull(f);
	ck_assert_str_eq(f->inner,
			 "BOOT-INF/lib/app-lib.jar!/lib/log4j-core-2.14.1.jar");
	ck_assert_uint_eq(ctx.stats.errors, 0);
	ck_assert_uint_eq(ctx.stats.in_place, 1);
	ck_assert_uint_eq(ctx.stats.inflated, base + mlen);
	free(outer);
	free(mid);
	free(jar);
	remove_tree(dir);
}
END_TEST

static void put_le32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
	p[2] = (uint8_t)(v >> 16);
	p[3] = (uint8_t)(v >> 24);
}

START_TEST(a_stored_entry_whose_data_lies_past_the_end_is_reported_corrupt)
{
	struct scan_ctx ctx;
	static struct keeper k;
	const char *name = "BOOT-INF/lib/log4j-core-2.14.1.jar";
	char dir[64];
	size_t jlen, len;
	uint8_t *jar = core_jar(&jlen), *fat;
	const uint8_t *data = jar;

	uint8_t *cd;
	uint32_t big = (uint32_t)jlen + (1u << 20);

	fat = zip_build_as(1, &name, &data, &jlen, true, &len);
	temp_dir(dir);
	/* the only entry's local header is at 0: make it and the central
	 * directory claim 1 MiB more data than the archive holds */
	ck_assert_int_eq(memcmp(fat, "PK\003\004", 4), 0);
	ck_assert_int_eq(fat[26] | fat[27] << 8, (int)strlen(name));
	/* the outer directory, from the end record (no comment): the jar
	 * inside holds directory records of its own */
	ck_assert_int_eq(memcmp(fat + len - 22, "PK\005\006", 4), 0);
	cd = fat + (fat[len - 6] | fat[len - 5] << 8 | fat[len - 4] << 16 |
		    (uint32_t)fat[len - 3] << 24);
	ck_assert_int_eq(memcmp(cd, "PK\001\002", 4), 0);
	put_le32(fat + 18, big);
	put_le32(fat + 22, big);
	put_le32(cd + 20, big);
	put_le32(cd + 24, big);
	put(dir, "a-sizes.jar", fat, len);
	/* or claim a 64 KiB extra field, which pushes the data past it */
	put_le32(fat + 18, (uint32_t)jlen);
	put_le32(fat + 22, (uint32_t)jlen);
	put_le32(cd + 20, (uint32_t)jlen);
	put_le32(cd + 24, (uint32_t)jlen);
	fat[28] = 0xff;
	fat[29] = 0xff;
	put(dir, "b-extra.jar", fat, len);
	put(dir, "good.jar", jar, jlen);
	keeper_ctx(&ctx, &k);
	ck_assert_int_eq(scan_walk_root(&ctx, dir), 0);
	ck_assert_uint_ge(ctx.stats.corrupt, 2);
	ck_assert_uint_eq(ctx.stats.in_place, 0);
	ck_assert_uint_eq(k.n, 1);
	ck_assert_ptr_nonnull(strstr(k.items[0].path, "/good.jar"));
	free(fat);
	free(jar);
	remove_tree(dir);
}
END_TEST

START_TEST(a_stored_entry_whose_local_header_disagrees_is_inflated_instead)
{
	struct scan_ctx ctx;
	static struct keeper k;
	const struct kept *f;
	const char *name = "BOOT-INF/lib/log4j-core-2.14.1.jar";
	char dir[64];
	size_t jlen, len;
	uint64_t base = core_inflated();
	uint8_t *jar = core_jar(&jlen), *fat;
	const uint8_t *data = jar;

	fat = zip_build_as(1, &name, &data, &jlen, true, &len);
	/* the local header's name is no longer the directory's */
	ck_assert_int_eq(memcmp(fat + 30, name, strlen(name)), 0);
	fat[30] = 'b';
	temp_dir(dir);
	put(dir, "app.jar", fat, len);
	keeper_ctx(&ctx, &k);
	ck_assert_int_eq(scan_walk_root(&ctx, dir), 0);
	ck_assert_uint_eq(ctx.stats.in_place, 0);
	f = keeper_find(&k, CORE);
	ck_assert_ptr_nonnull(f);
	ck_assert_str_eq(f->cves, ALL4);
	ck_assert_uint_eq(ctx.stats.inflated, base + jlen);
	free(fat);
	free(jar);
	remove_tree(dir);
}
END_TEST

/* Scans a jar of <n> entries written to <dir>/<rel>, findings in <k>. */
static void scan_jar(const char *dir, const char *rel, size_t n,
		     const char *const *names, const char *const *texts,
		     struct keeper *k)
{
	const uint8_t *data[4];
	size_t lens[4], len, i;
	struct scan_ctx ctx;
	char path[256];
	uint8_t *zip;

	ck_assert_uint_le(n, 4);
	for (i = 0; i < n; i++) {
		data[i] = (const uint8_t *)texts[i];
		lens[i] = strlen(texts[i]);
	}
	zip = zip_build(n, names, data, lens, &len);
	put_file(dir, rel, zip, len);
	free(zip);
	keeper_ctx(&ctx, k);
	ctx.checks = SCAN_CHECK_PACKAGES;
	snprintf(path, sizeof(path), "%s/%s", dir, rel);
	ck_assert_int_eq(scan_walk_root(&ctx, path), 0);
}

/*
 * A jar without pom.properties is named by its manifest: the OSGi
 * Bundle-SymbolicName and Bundle-Version first, else Implementation-Title
 * and -Version; the evidence says so.  With a pom.properties the pom
 * alone names it, and a manifest without a version names nothing.
 */
START_TEST(a_jar_with_only_a_manifest_is_named_by_it)
{
	const char *mf[] = { "META-INF/MANIFEST.MF" };
	const char *both[] = { "META-INF/MANIFEST.MF",
			       "META-INF/maven/org.ex/lib/pom.properties" };
	struct keeper k;
	const struct kept *f;
	char dir[64];

	temp_dir(dir);
	scan_jar(dir, "osgi.jar", 1, mf, (const char *[]){
		"Manifest-Version: 1.0\r\nBundle-SymbolicName: org.ex.osgi;singleton:=true\r\n"
		"Bundle-Version: 3.2.1\r\nImplementation-Version: 9\r\n" }, &k);
	ck_assert_uint_eq(k.n, 1);
	f = keeper_find(&k, "org.ex.osgi");
	ck_assert_ptr_nonnull(f);
	ck_assert_str_eq(f->version, "3.2.1");
	ck_assert_str_eq(f->inner, "");
	ck_assert_ptr_nonnull(strstr(f->evidence, "MANIFEST.MF Bundle-SymbolicName and Bundle-Version"));

	scan_jar(dir, "impl.jar", 1, mf, (const char *[]){
		"Manifest-Version: 1.0\nImplementation-Title: ex-impl\n"
		"Implementation-Version: 0.7\n" }, &k);
	ck_assert_uint_eq(k.n, 1);
	f = keeper_find(&k, "ex-impl");
	ck_assert_ptr_nonnull(f);
	ck_assert_str_eq(f->version, "0.7");
	ck_assert_ptr_nonnull(strstr(f->evidence, "Implementation-Title and Implementation-Version (no pom.properties)"));

	scan_jar(dir, "pom.jar", 2, both, (const char *[]){
		"Implementation-Title: ex-impl\nImplementation-Version: 0.7\n",
		"groupId=org.ex\nartifactId=lib\nversion=1.5\n" }, &k);
	ck_assert_uint_eq(k.n, 1);
	ck_assert_ptr_nonnull(keeper_find(&k, "org.ex:lib"));

	scan_jar(dir, "bare.jar", 1, mf, (const char *[]){
		"Manifest-Version: 1.0\nImplementation-Title: no version\n" }, &k);
	ck_assert_uint_eq(k.n, 0);
	remove_tree(dir);
}
END_TEST

static Suite *archive_suite(void)
{
	Suite *s = suite_create("scanner-archive");
	TCase *tc = tcase_create("archive");

	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, a_jar_in_a_war_in_an_ear_is_named_by_its_inner_path);
	tcase_add_test(tc, archives_are_recognised_by_content_not_name);
	tcase_add_test(tc,
		       corrupt_and_truncated_archives_are_reported_and_the_walk_goes_on);
	tcase_add_test(tc, nesting_within_the_depth_limit_is_followed);
	tcase_add_test(tc, nesting_past_the_depth_limit_is_reported_not_followed);
	tcase_add_test(tc, an_entry_over_the_byte_budget_is_reported_and_skipped);
	tcase_add_test(tc, a_bomb_is_stopped_by_the_per_file_budget);
	tcase_add_test(tc,
		       a_stored_jar_in_a_fat_jar_is_read_in_place_not_inflated);
	tcase_add_test(tc, stored_jars_nested_two_levels_are_ranges_of_ranges);
	tcase_add_test(tc, a_jar_with_only_a_manifest_is_named_by_it);
	tcase_add_test(tc,
		       a_stored_entry_whose_data_lies_past_the_end_is_reported_corrupt);
	tcase_add_test(tc,
		       a_stored_entry_whose_local_header_disagrees_is_inflated_instead);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return px_check_run(archive_suite());
}
