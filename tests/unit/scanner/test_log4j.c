// SPDX-License-Identifier: Apache-2.0
/*
 * log4j identification against the real jars of the public sample set
 * (fixtures/log4j-samples, listed with their expected CVEs in EXPECTED.tsv,
 * which is parsed here at run time), and against jars assembled in the test
 * from their classes: relocated, stripped of JndiLookup, or doubled.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "helpers.h"
#include "scan.h"
#include "px_check.h"

#define CORE "org.apache.logging.log4j:log4j-core"
#define CORE_PREFIX "org/apache/logging/log4j/core/"

static const char *const log4j2_cves[] = {
	"CVE-2021-44228", "CVE-2021-44832", "CVE-2021-45046",
	"CVE-2021-45105", NULL,
};

/* Adds to <out> (sorted, comma-joined) the log4j 2 CVEs listed in <list>. */
static void log4j2_subset(const char *list, char *out, size_t len)
{
	size_t off = 0, i;

	out[0] = '\0';
	for (i = 0; log4j2_cves[i]; i++)
		if (strstr(list, log4j2_cves[i]))
			off += (size_t)snprintf(out + off, len - off, "%s%s",
						off ? "," : "", log4j2_cves[i]);
}

/* The log4j 2 CVEs of all findings of one scan, sorted and joined. */
static void scan_log4j2_cves(const char *path, struct keeper *k, char *out,
			     size_t len)
{
	struct scan_ctx ctx;
	char all[4096] = "";
	size_t i;

	keeper_ctx(&ctx, k);
	ck_assert_int_eq(scan_walk_root(&ctx, path), 0);
	ck_assert_uint_eq(ctx.stats.errors, 0);
	for (i = 0; i < k->n; i++) {
		strncat(all, k->items[i].cves, sizeof(all) - strlen(all) - 2);
		strcat(all, ",");
	}
	log4j2_subset(all, out, len);
}

/* Checks one EXPECTED.tsv line: <rel> <what> <cves or "-">. */
static void check_expected(const char *rel, const char *what,
			   const char *cves)
{
	static struct keeper k;
	char path[4096], want[256], got[256];

	snprintf(path, sizeof(path), "%s/%s", fixture_samples(), rel);
	log4j2_subset(strcmp(cves, "-") == 0 ? "" : cves, want, sizeof(want));
	scan_log4j2_cves(path, &k, got, sizeof(got));
	ck_assert_msg(strcmp(got, want) == 0, "%s: got [%s], want [%s]", rel,
		      got, want);
	if (strncmp(what, "log4j-core ", 11) == 0)
		ck_assert_msg(keeper_find(&k, CORE) != NULL,
			      "%s: not identified as log4j-core", rel);
	/* EXPECTED.tsv: log4j 1.x lives in old-hits/ */
	if (strncmp(rel, "old-hits/log4j-1.", 17) == 0) {
		const struct kept *v1 = keeper_find(&k, "log4j:log4j");

		ck_assert_msg(v1 != NULL, "%s: not reported as log4j 1.x", rel);
		ck_assert_ptr_nonnull(strstr(v1->evidence, "log4j 1.x"));
		ck_assert_ptr_nonnull(strstr(v1->cves, "CVE-2019-17571"));
		ck_assert_ptr_nonnull(strstr(v1->cves, "CVE-2021-4104"));
	}
}

START_TEST(every_sample_yields_exactly_its_expected_log4j2_cves)
{
	char tsv[4096], line[1024];
	int checked = 0;
	FILE *f;

	snprintf(tsv, sizeof(tsv), "%s/EXPECTED.tsv", fixture_samples());
	f = fopen(tsv, "r");
	ck_assert_msg(f != NULL, "cannot open %s", tsv);
	while (fgets(line, sizeof(line), f)) {
		char *rel, *what, *cves, *save = NULL;

		if (line[0] == '#' || line[0] == '\n')
			continue;
		line[strcspn(line, "\r\n")] = '\0';
		rel = strtok_r(line, "\t", &save);
		what = strtok_r(NULL, "\t", &save);
		cves = strtok_r(NULL, "\t", &save);
		ck_assert_msg(rel && what && cves, "bad line in %s", tsv);
		check_expected(rel, what, cves);
		checked++;
	}
	fclose(f);
	ck_assert_int_ge(checked, 30);
}
END_TEST

START_TEST(api_bridges_and_bindings_are_not_log4j_core)
{
	static const char *const jars[] = {
		"false-hits/log4j-api-2.14.1.jar",
		"false-hits/log4j-1.2-api-2.12.1.jar",
		"false-hits/log4j-over-slf4j-1.7.32.jar",
		"false-hits/slf4j-log4j12-1.7.32.jar", NULL,
	};
	struct scan_ctx ctx;
	static struct keeper k;
	char path[4096];
	size_t i, j;

	for (i = 0; jars[i]; i++) {
		snprintf(path, sizeof(path), "%s/%s", fixture_samples(),
			 jars[i]);
		keeper_ctx(&ctx, &k);
		ck_assert_int_eq(scan_walk_root(&ctx, path), 0);
		ck_assert_msg(k.n == 1, "%s: %zu findings", jars[i], k.n);
		for (j = 0; j < k.n; j++) {
			ck_assert_str_eq(k.items[j].cves, "");
			ck_assert_str_ne(k.items[j].name, CORE);
			ck_assert_str_ne(k.items[j].name, "log4j:log4j");
		}
	}
}
END_TEST

START_TEST(log4j_1_2_17_is_reported_as_log4j_1_with_class_based_cves)
{
	struct scan_ctx ctx;
	static struct keeper k;
	const struct kept *v1;
	char path[4096];

	snprintf(path, sizeof(path), "%s/old-hits/log4j-1.2.17.jar",
		 fixture_samples());
	keeper_ctx(&ctx, &k);
	ck_assert_int_eq(scan_walk_root(&ctx, path), 0);
	v1 = keeper_find(&k, "log4j:log4j");
	ck_assert_ptr_nonnull(v1);
	ck_assert_str_eq(v1->version, "1.2.17");
	ck_assert_str_eq(v1->cves, "CVE-2019-17571,CVE-2021-4104,"
				   "CVE-2022-23302,CVE-2022-23305,"
				   "CVE-2022-23307");
	ck_assert_int_eq(v1->severity, SCAN_SEV_CRITICAL);
}
END_TEST

/* Builds a jar of the classes <names> of the 2.14.1 sample, each stored
 * under <root> instead of org/apache/logging/log4j/, into <dir>/<file>. */
static void build_from_classes(const char *dir, const char *file,
			       const char *root, const char *const *names,
			       size_t n)
{
	char src[4096], out[4096], *paths[8];
	const uint8_t *data[8];
	size_t lens[8], zlen, i;
	uint8_t *zip;

	ck_assert_uint_le(n, 8);
	snprintf(src, sizeof(src), "%s/true-hits/log4j-core-2.14.1.jar",
		 fixture_samples());
	for (i = 0; i < n; i++) {
		char entry[512];

		snprintf(entry, sizeof(entry), "%s%s", CORE_PREFIX, names[i]);
		data[i] = unzip_entry(src, entry, &lens[i]);
		ck_assert_int_gt(asprintf(&paths[i], "%score/%s", root,
					  names[i]), 0);
	}
	zip = zip_build(n, (const char *const *)paths, data, lens, &zlen);
	snprintf(out, sizeof(out), "%s/%s", dir, file);
	spit(out, zip, zlen);
	for (i = 0; i < n; i++) {
		free(paths[i]);
		free((void *)data[i]);
	}
	free(zip);
}

static const char *const jndi_classes[] = {
	"lookup/JndiLookup.class", "net/JndiManager.class",
	"lookup/StrSubstitutor.class",
	"appender/db/jdbc/DataSourceConnectionSource.class",
};

START_TEST(a_relocated_copy_is_found_by_its_classes_alone)
{
	struct scan_ctx ctx;
	static struct keeper k;
	char dir[64];

	temp_dir(dir);
	build_from_classes(dir, "app.jar", "com/acme/shaded/", jndi_classes,
			   4);
	keeper_ctx(&ctx, &k);
	ck_assert_int_eq(scan_walk_root(&ctx, dir), 0);
	ck_assert_uint_eq(k.n, 1);
	ck_assert_str_eq(k.items[0].name, CORE);
	ck_assert_str_eq(k.items[0].version, "");
	ck_assert_str_eq(k.items[0].cves, "CVE-2021-44228,CVE-2021-44832,"
					  "CVE-2021-45046,CVE-2021-45105");
	ck_assert_ptr_nonnull(strstr(k.items[0].evidence, "com/acme/shaded/"));
	ck_assert_int_eq(k.items[0].severity, SCAN_SEV_CRITICAL);
	remove_tree(dir);
}
END_TEST

START_TEST(removing_jndilookup_leaves_only_the_non_jndi_cves)
{
	struct scan_ctx ctx;
	static struct keeper k;
	char dir[64];

	temp_dir(dir);
	build_from_classes(dir, "mitigated.jar", "org/apache/logging/log4j/",
			   jndi_classes + 1, 3);
	keeper_ctx(&ctx, &k);
	ck_assert_int_eq(scan_walk_root(&ctx, dir), 0);
	ck_assert_uint_eq(k.n, 1);
	ck_assert_str_eq(k.items[0].cves, "CVE-2021-44832,CVE-2021-45105");
	ck_assert_int_eq(k.items[0].severity, SCAN_SEV_MEDIUM);
	remove_tree(dir);
}
END_TEST

START_TEST(two_copies_in_one_jar_are_two_findings)
{
	const char *names[8];
	struct scan_ctx ctx;
	static struct keeper k;
	char dir[64], src[4096], *paths[2];
	const uint8_t *data[2];
	size_t lens[2], zlen;
	uint8_t *zip;

	temp_dir(dir);
	snprintf(src, sizeof(src), "%s/true-hits/log4j-core-2.14.1.jar",
		 fixture_samples());
	data[0] = unzip_entry(src, CORE_PREFIX "lookup/StrSubstitutor.class",
			      &lens[0]);
	data[1] = data[0];
	lens[1] = lens[0];
	paths[0] = "a/core/lookup/StrSubstitutor.class";
	paths[1] = "b/core/lookup/StrSubstitutor.class";
	names[0] = paths[0];
	names[1] = paths[1];
	zip = zip_build(2, names, data, lens, &zlen);
	snprintf(src, sizeof(src), "%s/fat.jar", dir);
	spit(src, zip, zlen);
	keeper_ctx(&ctx, &k);
	ck_assert_int_eq(scan_walk_root(&ctx, dir), 0);
	ck_assert_uint_eq(k.n, 2);
	ck_assert_str_eq(k.items[0].cves, "CVE-2021-45105");
	ck_assert_str_eq(k.items[1].cves, "CVE-2021-45105");
	free((void *)data[0]);
	free(zip);
	remove_tree(dir);
}
END_TEST

static Suite *log4j_suite(void)
{
	Suite *s = suite_create("scanner-log4j");
	TCase *tc = tcase_create("log4j");

	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, every_sample_yields_exactly_its_expected_log4j2_cves);
	tcase_add_test(tc, api_bridges_and_bindings_are_not_log4j_core);
	tcase_add_test(tc,
		       log4j_1_2_17_is_reported_as_log4j_1_with_class_based_cves);
	tcase_add_test(tc, a_relocated_copy_is_found_by_its_classes_alone);
	tcase_add_test(tc, removing_jndilookup_leaves_only_the_non_jndi_cves);
	tcase_add_test(tc, two_copies_in_one_jar_are_two_findings);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return px_check_run(log4j_suite());
}
