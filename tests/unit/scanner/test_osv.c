// SPDX-License-Identifier: Apache-2.0
/*
 * Offline OSV matching: advisories for Maven, Debian (by source package),
 * npm, PyPI and Alpine matched against inventories of a snapshot, ranges
 * with fixed and last_affected bounds and explicit version lists, releases
 * (Debian:11 advisories do not apply to a Debian 12 snapshot), CVSS
 * severities, class-based log4j verdicts kept, and advisories loaded from
 * a directory and from a zip through the binary.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "helpers.h"
#include "osvmatch.h"
#include "scan.h"
#include "px_check.h"

static const char *const advisories[] = {
	/* Maven by GHSA id with a CVE alias and a CVSS v3 vector (10.0) */
	"{\"id\":\"GHSA-test-0001\",\"aliases\":[\"CVE-2099-0001\"],"
	"\"severity\":[{\"type\":\"CVSS_V3\",\"score\":\"CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:C/C:H/I:H/A:H\"}],"
	"\"affected\":[{\"package\":{\"ecosystem\":\"Maven\",\"name\":\"com.example:lib\"},"
	"\"ranges\":[{\"type\":\"ECOSYSTEM\",\"events\":[{\"introduced\":\"1.0\"},{\"fixed\":\"1.2.4\"}]}]}]}",
	/* Maven, not affected: fixed before our version */
	"{\"id\":\"GHSA-test-0002\",\"aliases\":[\"CVE-2099-0002\"],"
	"\"affected\":[{\"package\":{\"ecosystem\":\"Maven\",\"name\":\"com.example:lib\"},"
	"\"ranges\":[{\"type\":\"ECOSYSTEM\",\"events\":[{\"introduced\":\"0\"},{\"fixed\":\"1.2.3\"}]}]}]}",
	/* Debian by source package and source version */
	"{\"id\":\"DSA-9999-1\",\"aliases\":[\"CVE-2099-0003\"],"
	"\"affected\":[{\"package\":{\"ecosystem\":\"Debian:12\",\"name\":\"openssl\"},"
	"\"ranges\":[{\"type\":\"ECOSYSTEM\",\"events\":[{\"introduced\":\"0\"},{\"fixed\":\"3.0.11-1~deb12u3\"}]}]}]}",
	/* npm, last_affected and GHSA severity words */
	"{\"id\":\"GHSA-test-0004\",\"database_specific\":{\"severity\":\"HIGH\"},"
	"\"affected\":[{\"package\":{\"ecosystem\":\"npm\",\"name\":\"lodash\"},"
	"\"ranges\":[{\"type\":\"SEMVER\",\"events\":[{\"introduced\":\"4.0.0\"},{\"last_affected\":\"4.17.20\"}]}]}]}",
	/* PyPI, explicit versions, name in another form */
	"{\"id\":\"PYSEC-test-5\",\"aliases\":[\"CVE-2099-0005\"],"
	"\"affected\":[{\"package\":{\"ecosystem\":\"PyPI\",\"name\":\"My_Pkg\"},"
	"\"versions\":[\"1.0\",\"1.1\"]}]}",
	/* Alpine by origin */
	"{\"id\":\"ALPINE-test-6\",\"aliases\":[\"CVE-2099-0006\"],"
	"\"affected\":[{\"package\":{\"ecosystem\":\"Alpine:v3.19\",\"name\":\"openssl\"},"
	"\"ranges\":[{\"type\":\"ECOSYSTEM\",\"events\":[{\"introduced\":\"0\"},{\"fixed\":\"3.1.4-r6\"}]}]}]}",
	/* a log4j CVE the classes already judged: not repeated */
	"{\"id\":\"GHSA-jfh8-c2jp-5v3q\",\"aliases\":[\"CVE-2021-44228\"],"
	"\"affected\":[{\"package\":{\"ecosystem\":\"Maven\",\"name\":\"org.apache.logging.log4j:log4j-core\"},"
	"\"ranges\":[{\"type\":\"ECOSYSTEM\",\"events\":[{\"introduced\":\"2.0-beta9\"},{\"fixed\":\"2.15.0\"}]}]}]}",
	/* other releases than the snapshot's: not matched */
	"{\"id\":\"DSA-old-1\",\"aliases\":[\"CVE-2099-0011\"],"
	"\"affected\":[{\"package\":{\"ecosystem\":\"Debian:11\",\"name\":\"openssl\"},"
	"\"ranges\":[{\"type\":\"ECOSYSTEM\",\"events\":[{\"introduced\":\"0\"},{\"fixed\":\"9.9\"}]}]}]}",
	"{\"id\":\"ALPINE-old-2\",\"aliases\":[\"CVE-2099-0012\"],"
	"\"affected\":[{\"package\":{\"ecosystem\":\"Alpine:v3.18\",\"name\":\"openssl\"},"
	"\"ranges\":[{\"type\":\"ECOSYSTEM\",\"events\":[{\"introduced\":\"0\"},{\"fixed\":\"9.9\"}]}]}]}",
	"not json at all",
	NULL,
};

/* Builds a snapshot with one package of each ecosystem in <dir>. */
static void build_snapshot(const char *dir)
{
	const char *pom = "groupId=com.example\nartifactId=lib\nversion=1.2.3\n";
	char src[4096];
	uint8_t *jar, *core;
	size_t len;

	jar = zip_one("META-INF/maven/com.example/lib/pom.properties",
		      (const uint8_t *)pom, strlen(pom), &len);
	put_file(dir, "opt/lib.jar", jar, len);
	free(jar);
	snprintf(src, sizeof(src), "%s/true-hits/log4j-core-2.14.1.jar",
		 fixture_samples());
	core = slurp(src, &len);
	put_file(dir, "opt/log4j-core.jar", core, len);
	free(core);
	put_text(dir, "var/lib/dpkg/status",
		 "Package: base-files\nStatus: install ok installed\n"
		 "Version: 12.4+deb12u5\n\n"
		 "Package: libssl3\nStatus: install ok installed\n"
		 "Version: 3.0.11-1~deb12u2\nSource: openssl\n\n"
		 "Package: openssl-fixed\nStatus: install ok installed\n"
		 "Version: 3.0.11-1~deb12u3+b1\nSource: openssl (3.0.11-1~deb12u3)\n");
	put_text(dir, "app/node_modules/lodash/package.json",
		 "{\"name\":\"lodash\",\"version\":\"4.17.20\"}");
	put_text(dir, "py/my.pkg-1.1.dist-info/METADATA",
		 "Name: my.pkg\nVersion: 1.1\n");
	put_text(dir, "lib/apk/db/installed",
		 "P:libcrypto3\nV:3.1.4-r5\no:openssl\n\nP:other\nV:1-r0\no:zlib\n\n"
		 "P:alpine-base\nV:3.19.1-r0\no:alpine-base\n");
}

START_TEST(packages_are_matched_per_ecosystem_with_ranges_and_lists)
{
	struct osv_db *db = osv_db_new();
	struct scan_ctx ctx;
	struct lines l;
	char dir[64];
	size_t i;

	ck_assert_ptr_nonnull(db);
	for (i = 0; advisories[i]; i++)
		osv_db_add_json(db, advisories[i], strlen(advisories[i]), "test");
	osv_db_finish(db);
	ck_assert_uint_eq(osv_db_count(db), 9);
	temp_dir(dir);
	build_snapshot(dir);
	lines_ctx(&ctx, &l);
	ctx.advisories = db;
	ck_assert_int_eq(scan_walk_root(&ctx, dir), 0);
	ck_assert_uint_eq(lines_count(&l, "|maven|com.example:lib|1.2.3|"), 1);
	ck_assert_uint_eq(lines_count(&l, "|maven|com.example:lib|1.2.3||pkg:maven/com.example/lib@1.2.3||||||CVE-2099-0001\n"), 1);
	ck_assert_uint_eq(lines_count(&l, "|deb|libssl3|3.0.11-1~deb12u2|openssl|"), 1);
	ck_assert_uint_eq(lines_count(&l, "|deb|libssl3|3.0.11-1~deb12u2|openssl|pkg:deb/debian/libssl3@3.0.11-1~deb12u2?distro=debian-12||||||CVE-2099-0003\n"), 1);
	ck_assert_uint_eq(lines_count(&l, "|deb|openssl-fixed|3.0.11-1~deb12u3+b1|openssl|pkg:deb/debian/openssl-fixed@3.0.11-1~deb12u3%2Bb1?distro=debian-12||||||\n"), 1);
	ck_assert_uint_eq(lines_count(&l, "|npm|lodash|4.17.20||pkg:npm/lodash@4.17.20||||||GHSA-test-0004\n"), 1);
	ck_assert_uint_eq(lines_count(&l, "|pypi|my.pkg|1.1||pkg:pypi/my-pkg@1.1||||||CVE-2099-0005\n"), 1);
	ck_assert_uint_eq(lines_count(&l, "|apk|libcrypto3|3.1.4-r5|openssl|pkg:apk/alpine/libcrypto3@3.1.4-r5?distro=alpine-3.19||||||CVE-2099-0006\n"), 1);
	ck_assert_uint_eq(lines_count(&l, "|apk|other|1-r0|zlib|pkg:apk/alpine/other@1-r0?distro=alpine-3.19||||||\n"), 1);
	/* log4j keeps its class verdicts, each CVE once */
	ck_assert_uint_eq(lines_count(&l, "CVE-2021-44228,CVE-2021-44228"), 0);
	ck_assert_uint_eq(lines_count(&l, "|log4j-core|2.14.1|"), 0);
	ck_assert_uint_eq(lines_count(&l, "CVE-2021-44228"), 1);
	ck_assert_uint_eq(lines_count(&l, "CVE-2099-0002"), 0);
	ck_assert_uint_eq(lines_count(&l, "CVE-2099-0011"), 0);
	ck_assert_uint_eq(lines_count(&l, "CVE-2099-0012"), 0);
	ck_assert_int_eq(ctx.worst, SCAN_SEV_CRITICAL);
	lines_free(&l);
	osv_db_free(db);
	remove_tree(dir);
}
END_TEST

START_TEST(the_binary_loads_advisories_from_a_directory_and_a_zip)
{
	const char *names[3];
	const uint8_t *data[3];
	size_t lens[3], zlen, i;
	char dir[64], adv[128], out[128], err[128], args[1024];
	uint8_t *zip;

	temp_dir(dir);
	build_snapshot(dir);
	snprintf(adv, sizeof(adv), "%s.adv", dir);
	for (i = 0; i < 3; i++) {
		char rel[64];

		snprintf(rel, sizeof(rel), "sub/a%zu.json", i);
		put_text(adv, rel, advisories[i]);
		names[i] = i == 0 ? "a0.json" : i == 1 ? "x/a1.json" : "a2.json";
		data[i] = (const uint8_t *)advisories[i];
		lens[i] = strlen(advisories[i]);
	}
	zip = zip_build(3, names, data, lens, &zlen);
	snprintf(out, sizeof(out), "%s.zip", dir);
	spit(out, zip, zlen);
	free(zip);
	snprintf(out, sizeof(out), "%s.out", dir);
	snprintf(err, sizeof(err), "%s.err", dir);
	snprintf(args, sizeof(args), "--format jsonl --checks packages --advisories '%s' '%s/var' '%s/opt'",
		 adv, dir, dir);
	ck_assert_int_eq(scan_bin(args, out, err), 0);
	ck_assert(file_has(out, "\"cves\":[\"CVE-2099-0001\"]"));
	ck_assert(file_has(out, "\"evidence\":\"osv:GHSA-test-0001 affected range introduced 1.0 fixed 1.2.4"));
	ck_assert(file_has(out, "\"cves\":[\"CVE-2099-0003\"]"));
	ck_assert(file_has(err, "advisories loaded"));
	snprintf(args, sizeof(args), "--format jsonl --checks packages --advisories '%s.zip' --fail-on critical '%s/opt'",
		 dir, dir);
	ck_assert_int_eq(scan_bin(args, out, err), 1);
	ck_assert(file_has(out, "\"cves\":[\"CVE-2099-0001\"]"));
	ck_assert(file_has(out, "\"severity\":\"critical\""));
	snprintf(args, sizeof(args), "--format jsonl --advisories '%s/nowhere' '%s'",
		 dir, dir);
	ck_assert_int_eq(scan_bin(args, out, err), 2);
	ck_assert(file_has(err, "nowhere"));
	remove_tree(adv);
	remove_tree(dir);
	snprintf(out, sizeof(out), "%s.zip", dir);
	unlink(out);
	snprintf(out, sizeof(out), "%s.out", dir);
	unlink(out);
	unlink(err);
}
END_TEST

static Suite *osv_suite(void)
{
	Suite *s = suite_create("scanner-osv");
	TCase *tc = tcase_create("osv");

	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, packages_are_matched_per_ecosystem_with_ranges_and_lists);
	tcase_add_test(tc, the_binary_loads_advisories_from_a_directory_and_a_zip);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return px_check_run(osv_suite());
}
