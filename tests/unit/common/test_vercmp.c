// SPDX-License-Identifier: Apache-2.0
/*
 * Version comparison: Debian against dpkg itself on the versions of this
 * machine's packages and on hand-picked edge cases; rpm, apk, semver,
 * PEP 440 and Maven against orderings their specifications state.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include "vercmp.h"
#include "px_check.h"

static int sgn(int v)
{
	return (v > 0) - (v < 0);
}

/* What dpkg says of a vs b: -1, 0 or 1. */
static int dpkg_says(const char *a, const char *b)
{
	char cmd[1024];
	int st;

	snprintf(cmd, sizeof(cmd), "dpkg --compare-versions '%s' lt '%s'", a, b);
	st = system(cmd);
	ck_assert(WIFEXITED(st));
	if (WEXITSTATUS(st) == 0)
		return -1;
	snprintf(cmd, sizeof(cmd), "dpkg --compare-versions '%s' gt '%s'", a, b);
	st = system(cmd);
	ck_assert(WIFEXITED(st));
	return WEXITSTATUS(st) == 0 ? 1 : 0;
}

static void check_deb(const char *a, const char *b)
{
	int want = dpkg_says(a, b);

	ck_assert_msg(sgn(px_vercmp_deb(a, b)) == want,
		      "deb %s vs %s: dpkg says %d", a, b, want);
	ck_assert_msg(sgn(px_vercmp_deb(b, a)) == -want,
		      "deb %s vs %s (reversed)", b, a);
}

START_TEST(debian_order_agrees_with_dpkg_on_edge_cases)
{
	static const char *const v[] = {
		"1.0", "1.0-1", "1.0-0", "1:0.9", "0:1.0", "1.0~rc1", "1.0~~",
		"1.0~", "1.0a", "1.0+b1", "1.0.0", "1.00", "1.0-1~bpo1",
		"2.36-9+deb12u4", "2.36-9+deb12u14", "3.0.11-1~deb12u2",
		"3.0.11-1", "1.2.3-a-b", "10", "9", "1.0-1.1", "1.0-1a",
		"7.88.1-10+deb12u5", "7.88.1-10+deb12u12", "1.0+dfsg-1",
		"1.0.dfsg-1", "0.0001", "1.0-0~", "2:1", "1.0-1+b1",
	};
	size_t i, j, n = sizeof(v) / sizeof(v[0]);

	for (i = 0; i < n; i++)
		for (j = i + 1; j < n; j += 3)
			check_deb(v[i], v[j]);
}
END_TEST

START_TEST(debian_order_agrees_with_dpkg_on_this_machines_versions)
{
	char *vers[2048], line[512];
	size_t n = 0, i;
	FILE *p = popen("dpkg-query -W -f '${Version}\\n' | sort -u", "r");

	ck_assert_ptr_nonnull(p);
	while (n < 2048 && fgets(line, sizeof(line), p)) {
		line[strcspn(line, "\n")] = '\0';
		vers[n++] = strdup(line);
	}
	ck_assert_int_eq(pclose(p), 0);
	ck_assert_uint_gt(n, 50);
	/* neighbours in a fixed shuffle: 200 pairs */
	for (i = 0; i < 200; i++)
		check_deb(vers[(i * 7919) % n], vers[(i * 104729 + 13) % n]);
	for (i = 0; i < n; i++)
		free(vers[i]);
}
END_TEST

/* Each list is strictly increasing; every pair must order the same way. */
static void check_chain(int (*cmp)(const char *, const char *),
			const char *const *v, size_t n, const char *what)
{
	size_t i, j;

	for (i = 0; i < n; i++) {
		ck_assert_msg(cmp(v[i], v[i]) == 0, "%s %s == itself", what,
			      v[i]);
		for (j = i + 1; j < n; j++) {
			ck_assert_msg(cmp(v[i], v[j]) < 0, "%s %s < %s", what,
				      v[i], v[j]);
			ck_assert_msg(cmp(v[j], v[i]) > 0, "%s %s > %s", what,
				      v[j], v[i]);
		}
	}
}

START_TEST(rpm_order_follows_rpmvercmp_rules)
{
	/* tilde before the end, caret after it, numbers beat letters */
	static const char *const chain[] = {
		"1.0~rc1", "1.0~rc2", "1.0", "1.0^git1", "1.0^git2", "1.0a",
		"1.0.1", "1.1", "1.10", "2.0-1", "2.0-2", "2.0-10.el9",
		"1:0.1-1",
	};
	check_chain(px_vercmp_rpm, chain, sizeof(chain) / sizeof(chain[0]),
		    "rpm");
	ck_assert_int_eq(px_vercmp_rpm("1.0010", "1.10"), 0);
	ck_assert_int_eq(px_vercmp_rpm("1.0", "1_0"), 0);
	ck_assert_int_gt(px_vercmp_rpm("2.0.1", "2.0"), 0);
	ck_assert_int_lt(px_vercmp_rpm("2a", "2.0"), 0); /* letters lose */
	ck_assert_int_lt(px_vercmp_rpm("a", "1"), 0);
	ck_assert_int_eq(px_vercmp_rpm("0:1.0-1", "1.0-1"), 0);
	ck_assert_int_eq(px_vercmp_rpm("1.0-1", "1.0"), 0); /* no release */
	ck_assert_int_lt(px_vercmp_rpm("3.0.7-27.el9", "3.0.7-28.el9"), 0);
}
END_TEST

START_TEST(apk_order_follows_alpine_rules)
{
	static const char *const chain[] = {
		"1.2.3_alpha", "1.2.3_alpha2", "1.2.3_beta", "1.2.3_pre1",
		"1.2.3_rc1", "1.2.3", "1.2.3-r1", "1.2.3-r10", "1.2.3_p1",
		"1.2.3a", "1.2.3b", "1.2.4", "1.2.10", "1.3_git20230101",
		"2.0",
	};
	check_chain(px_vercmp_apk, chain, sizeof(chain) / sizeof(chain[0]),
		    "apk");
	ck_assert_int_lt(px_vercmp_apk("3.1.4-r4", "3.1.4-r5"), 0);
	ck_assert_int_lt(px_vercmp_apk("1.2.3", "1.2.3.1"), 0);
	ck_assert_int_lt(px_vercmp_apk("1.01", "1.1"), 0);
	ck_assert_int_eq(px_vercmp_apk("1.2.3-r0", "1.2.3"), 0);
}
END_TEST

START_TEST(semver_order_follows_the_specification)
{
	/* the example chain of semver.org section 11, then more */
	static const char *const chain[] = {
		"1.0.0-alpha", "1.0.0-alpha.1", "1.0.0-alpha.beta",
		"1.0.0-beta", "1.0.0-beta.2", "1.0.0-beta.11", "1.0.0-rc.1",
		"1.0.0", "1.0.1", "1.1.0", "1.10.0", "2.0.0", "10.0.0",
	};
	check_chain(px_vercmp_semver, chain, sizeof(chain) / sizeof(chain[0]),
		    "semver");
	ck_assert_int_eq(px_vercmp_semver("1.0.0+build.1", "1.0.0+build.2"), 0);
	ck_assert_int_eq(px_vercmp_semver("v1.2.3", "1.2.3"), 0);
	ck_assert_int_lt(px_vercmp_semver("4.17.20", "4.17.21"), 0);
	ck_assert_int_gt(px_vercmp_semver("1.0.0-rc.1+x", "1.0.0-beta"), 0);
}
END_TEST

START_TEST(pep440_order_follows_the_specification)
{
	/* the ordering example of PEP 440, "Summary of permitted suffixes" */
	static const char *const chain[] = {
		"1.dev0", "1.0.dev456", "1.0a1", "1.0a2.dev456", "1.0a12.dev456",
		"1.0a12", "1.0b1.dev456", "1.0b2", "1.0b2.post345.dev456",
		"1.0b2.post345", "1.0rc1.dev456", "1.0rc1", "1.0",
		"1.0+abc.5", "1.0+abc.7", "1.0+5", "1.0.post456.dev34",
		"1.0.post456", "1.0.15", "1.1.dev1", "1!0.1",
	};
	check_chain(px_vercmp_pep440, chain, sizeof(chain) / sizeof(chain[0]),
		    "pep440");
	ck_assert_int_eq(px_vercmp_pep440("1.0", "1.0.0"), 0);
	ck_assert_int_eq(px_vercmp_pep440("1.0alpha1", "1.0a1"), 0);
	ck_assert_int_eq(px_vercmp_pep440("1.0-1", "1.0.post1"), 0);
	ck_assert_int_eq(px_vercmp_pep440("1.0c1", "1.0rc1"), 0);
	ck_assert_int_eq(px_vercmp_pep440("v2.31.0", "2.31.0"), 0);
}
END_TEST

START_TEST(maven_order_follows_comparable_version)
{
	static const char *const chain[] = {
		"1.0-alpha-1", "1.0-alpha-2", "1.0-beta", "1.0-M1", "1.0-RC1",
		"1.0-SNAPSHOT", "1.0", "1.0-sp1", "1.0-xyz", "1.0.1", "1.1",
		"2.14.1", "2.15.0", "2.16.0", "2.17.0", "2.17.1", "2.17.2",
		"10.0",
	};
	check_chain(px_vercmp_maven, chain, sizeof(chain) / sizeof(chain[0]),
		    "maven");
	ck_assert_int_eq(px_vercmp_maven("1.0", "1.0.0"), 0);
	ck_assert_int_eq(px_vercmp_maven("1.0", "1.0-final"), 0);
	ck_assert_int_eq(px_vercmp_maven("1.0", "1.0-GA"), 0);
	ck_assert_int_eq(px_vercmp_maven("1.0-rc1", "1.0-cr1"), 0);
	ck_assert_int_eq(px_vercmp_maven("1.0a1", "1.0-alpha-1"), 0);
}
END_TEST

/* Qualifier orders, as Maven's own ComparableVersion tests list them. */
START_TEST(maven_qualifiers_order_as_in_maven)
{
	static const char *const chain[] = {
		"1-alpha2snapshot", "1-alpha2", "1-alpha-123", "1-beta-2",
		"1-beta123", "1-m2", "1-m11", "1-rc", "1-cr2", "1-rc123",
		"1-SNAPSHOT", "1", "1-sp", "1-sp2", "1-sp123", "1-abc",
		"1-def", "1-pom-1", "1-1-snapshot", "1-1", "1-2", "1-123",
	};

	check_chain(px_vercmp_maven, chain, sizeof(chain) / sizeof(chain[0]),
		    "maven");
}
END_TEST

/* Numbers, '.' against '-', and letter/digit changes as separators. */
START_TEST(maven_numbers_and_sub_lists_order_as_in_maven)
{
	static const char *const chain[] = {
		"2.0", "2-1", "2.0.a", "2.0.0.a", "2.0.2", "2.0.123", "2.1.0",
		"2.1-a", "2.1b", "2.1-c", "2.1-1", "2.1.0.1", "2.2", "2.123",
		"11.a2", "11.a11", "11.b2", "11.b11", "11.m2", "11.m11", "11",
		"11.a", "11b", "11c", "11m",
	};

	check_chain(px_vercmp_maven, chain, sizeof(chain) / sizeof(chain[0]),
		    "maven");
}
END_TEST

/* The examples of the Maven version order specification (POM
 * reference): '-' opens a sub-list, so "1-1" is below "1.1". */
START_TEST(maven_hyphen_parts_are_sub_lists_not_flattened)
{
	ck_assert_int_lt(px_vercmp_maven("1-1", "1.1"), 0);
	ck_assert_int_gt(px_vercmp_maven("1.1", "1-1"), 0);
	ck_assert_int_lt(px_vercmp_maven("1", "1.1"), 0);
	ck_assert_int_lt(px_vercmp_maven("1-snapshot", "1"), 0);
	ck_assert_int_lt(px_vercmp_maven("1", "1-sp"), 0);
	ck_assert_int_lt(px_vercmp_maven("1-foo2", "1-foo10"), 0);
	ck_assert_int_lt(px_vercmp_maven("1-foo", "1-1"), 0);
	ck_assert_int_gt(px_vercmp_maven("1-sp", "1-ga"), 0);
	ck_assert_int_gt(px_vercmp_maven("1-sp.1", "1-ga.1"), 0);
	/* the null "ga" is dropped before the sub-list: [1, [[1]]] */
	ck_assert_int_lt(px_vercmp_maven("1-sp-1", "1-ga-1"), 0);
	ck_assert_int_eq(px_vercmp_maven("1-a1", "1-alpha-1"), 0);
	ck_assert_int_eq(px_vercmp_maven("1.0-1", "1-1"), 0);
}
END_TEST

START_TEST(maven_trailing_nulls_do_not_count)
{
	static const char *const same[] = {
		"1", "1.0", "1.0.0", "1.ga", "1-ga", "1-0", "1.final",
		"1-release", "1.", "1-", "1.0.0-0.0.0", "1-GA", "01",
	};
	size_t i;

	for (i = 0; i < sizeof(same) / sizeof(same[0]); i++)
		ck_assert_msg(px_vercmp_maven(same[i], "1") == 0 &&
			      px_vercmp_maven("1", same[i]) == 0,
			      "maven %s == 1", same[i]);
	ck_assert_int_eq(px_vercmp_maven("1.0.0-foo.0.0", "1-foo"), 0);
	ck_assert_int_eq(px_vercmp_maven("1-rc1", "1-CR1"), 0);
	ck_assert_int_eq(px_vercmp_maven("1-b2", "1-beta-2"), 0);
	ck_assert_int_eq(px_vercmp_maven("1-m3", "1-milestone-3"), 0);
	/* a, b, m not before a digit are plain qualifiers */
	ck_assert_int_gt(px_vercmp_maven("1-a", "1-alpha"), 0);
}
END_TEST

START_TEST(ecosystem_names_map_to_their_schemes)
{
	ck_assert_int_eq(px_ver_scheme_of("Debian:12"), PX_VER_DEB);
	ck_assert_int_eq(px_ver_scheme_of("deb"), PX_VER_DEB);
	ck_assert_int_eq(px_ver_scheme_of("Alpine:v3.18"), PX_VER_APK);
	ck_assert_int_eq(px_ver_scheme_of("Red Hat"), PX_VER_RPM);
	ck_assert_int_eq(px_ver_scheme_of("npm"), PX_VER_SEMVER);
	ck_assert_int_eq(px_ver_scheme_of("PyPI"), PX_VER_PEP440);
	ck_assert_int_eq(px_ver_scheme_of("Maven"), PX_VER_MAVEN);
	ck_assert_int_eq(px_ver_scheme_of("crates.io"), -1);
	ck_assert_int_eq(px_ver_scheme_of("Debianish"), -1);
	ck_assert_int_lt(px_vercmp(PX_VER_DEB, "1.0~a", "1.0"), 0);
}
END_TEST

static Suite *vercmp_suite(void)
{
	Suite *s = suite_create("common-vercmp");
	TCase *tc = tcase_create("vercmp");

	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, debian_order_agrees_with_dpkg_on_edge_cases);
	tcase_add_test(tc, debian_order_agrees_with_dpkg_on_this_machines_versions);
	tcase_add_test(tc, rpm_order_follows_rpmvercmp_rules);
	tcase_add_test(tc, apk_order_follows_alpine_rules);
	tcase_add_test(tc, semver_order_follows_the_specification);
	tcase_add_test(tc, pep440_order_follows_the_specification);
	tcase_add_test(tc, maven_order_follows_comparable_version);
	tcase_add_test(tc, maven_qualifiers_order_as_in_maven);
	tcase_add_test(tc, maven_numbers_and_sub_lists_order_as_in_maven);
	tcase_add_test(tc, maven_hyphen_parts_are_sub_lists_not_flattened);
	tcase_add_test(tc, maven_trailing_nulls_do_not_count);
	tcase_add_test(tc, ecosystem_names_map_to_their_schemes);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return px_check_run(vercmp_suite());
}
