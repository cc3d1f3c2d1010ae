// SPDX-License-Identifier: Apache-2.0
/*
 * Outputs and use: SARIF 2.1.0 and CycloneDX 1.5 documents checked by
 * check_docs.py, exit codes per --fail-on, the progress line only when
 * asked or on a terminal, and the same findings whatever --threads.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "helpers.h"
#include "px_check.h"

static char dir[64];

/* A snapshot with a vulnerable log4j, packages and a secret. */
static void build(void)
{
	char src[4096];
	uint8_t *jar;
	size_t len;
	int i;

	temp_dir(dir);
	snprintf(src, sizeof(src), "%s/true-hits/log4j-core-2.14.1.jar",
		 fixture_samples());
	jar = slurp(src, &len);
	put_file(dir, "opt/app/log4j-core.jar", jar, len);
	free(jar);
	put_text(dir, "var/lib/dpkg/status",
		 "Package: zlib1g\nStatus: install ok installed\nVersion: 1:1.2.13.dfsg-1\n\n"
		 "Package: bash\nStatus: install ok installed\nVersion: 5.2.15-2+b2\n");
	put_text(dir, "etc/app.conf", "key=AKIAQ3EGRT5YBN7XKD2P\n");
	for (i = 0; i < 40; i++) {
		char rel[64];

		snprintf(rel, sizeof(rel), "srv/n%d/node_modules/p%d/package.json", i, i);
		put_text(dir, rel, "{\"name\":\"pkg\",\"version\":\"1.0.0\"}");
	}
}

static void paths(char *out, char *err)
{
	snprintf(out, 128, "%s.out", dir);
	snprintf(err, 128, "%s.err", dir);
}

static void check_doc(const char *kind, const char *out)
{
	char cmd[1024];

	snprintf(cmd, sizeof(cmd), "python3 '%s' %s '%s' >/dev/null",
		 getenv("PX_SCAN_DOCS"), kind, out);
	ck_assert_msg(getenv("PX_SCAN_DOCS"), "PX_SCAN_DOCS is not set");
	ck_assert_msg(run_status(cmd) == 0, "%s document fails its checks: %s",
		      kind, out);
}

START_TEST(sarif_and_cyclonedx_documents_are_well_formed)
{
	char out[128], err[128], args[512];

	build();
	paths(out, err);
	snprintf(args, sizeof(args), "--format sarif '%s'", dir);
	ck_assert_int_eq(scan_bin(args, out, err), 0);
	check_doc("sarif", out);
	ck_assert(file_has(out, "\"ruleId\":\"CVE-2021-44228\",\"level\":\"error\""));
	ck_assert(file_has(out, "\"ruleId\":\"secret/aws-access-key\""));
	snprintf(args, sizeof(args), "--format cyclonedx '%s'", dir);
	ck_assert_int_eq(scan_bin(args, out, err), 0);
	check_doc("cyclonedx", out);
	ck_assert(file_has(out, "\"purl\":\"pkg:deb/debian/zlib1g@1%3A1.2.13.dfsg-1\""));
	ck_assert(file_has(out, "{\"id\":\"CVE-2021-44228\",\"ratings\":[{\"severity\":\"critical\"}]"));
	ck_assert(!file_has(out, "AKIAQ3EGRT5YBN7XKD2P"));
	unlink(out);
	unlink(err);
	remove_tree(dir);
}
END_TEST

START_TEST(exit_status_follows_fail_on)
{
	char out[128], err[128], args[512];

	build();
	paths(out, err);
	snprintf(args, sizeof(args), "--format jsonl --fail-on critical '%s'", dir);
	ck_assert_int_eq(scan_bin(args, out, err), 1);
	ck_assert(file_has(err, "fail-on"));
	snprintf(args, sizeof(args), "--format jsonl --fail-on critical --checks secrets '%s'", dir);
	ck_assert_int_eq(scan_bin(args, out, err), 0);   /* a secret is high */
	snprintf(args, sizeof(args), "--format jsonl --fail-on high --checks secrets '%s'", dir);
	ck_assert_int_eq(scan_bin(args, out, err), 1);
	snprintf(args, sizeof(args), "--format yaml '%s'", dir);
	ck_assert_int_eq(scan_bin(args, out, err), 2);
	snprintf(args, sizeof(args), "--checks viruses '%s'", dir);
	ck_assert_int_eq(scan_bin(args, out, err), 2);
	ck_assert(file_has(err, "unknown check 'viruses'"));
	unlink(out);
	unlink(err);
	remove_tree(dir);
}
END_TEST

START_TEST(progress_is_drawn_only_when_asked_or_on_a_terminal)
{
	char out[128], err[128], args[512];

	build();
	paths(out, err);
	snprintf(args, sizeof(args), "--format jsonl '%s'", dir);
	ck_assert_int_eq(scan_bin(args, out, err), 0);
	ck_assert(!file_has(err, "\r"));        /* stderr is a file here */
	snprintf(args, sizeof(args), "--format jsonl --progress always '%s'", dir);
	ck_assert_int_eq(scan_bin(args, out, err), 0);
	ck_assert(file_has(err, "\r"));
	ck_assert(file_has(err, " files, "));
	ck_assert(!file_has(out, " files, "));
	unlink(out);
	unlink(err);
	remove_tree(dir);
}
END_TEST

START_TEST(threads_change_nothing_but_speed)
{
	char out[128], err[128], args[512], cmd[1024];

	build();
	paths(out, err);
	put_text(dir, "key", "a fixed key of sixteen bytes or more");
	snprintf(args, sizeof(args), "--format jsonl --secret-key-file '%s/key' --threads 1 '%s' | sort > '%s.1'; true",
		 dir, dir, dir);
	scan_bin(args, out, err);
	snprintf(args, sizeof(args), "--format jsonl --secret-key-file '%s/key' --threads 4 '%s' | sort > '%s.4'; true",
		 dir, dir, dir);
	scan_bin(args, out, err);
	/* 40 npm, 2 deb, log4j, the secret */
	snprintf(cmd, sizeof(cmd), "test $(wc -l < '%s.1') -eq 44 && cmp '%s.1' '%s.4'",
		 dir, dir, dir);
	ck_assert_msg(run_status(cmd) == 0, "outputs differ or are short: %s.1 %s.4", dir, dir);
	snprintf(cmd, sizeof(cmd), "rm -f '%s.1' '%s.4'", dir, dir);
	run_status(cmd);
	unlink(out);
	unlink(err);
	remove_tree(dir);
}
END_TEST

static Suite *report_suite(void)
{
	Suite *s = suite_create("scanner-report");
	TCase *tc = tcase_create("report");

	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, sarif_and_cyclonedx_documents_are_well_formed);
	tcase_add_test(tc, exit_status_follows_fail_on);
	tcase_add_test(tc, progress_is_drawn_only_when_asked_or_on_a_terminal);
	tcase_add_test(tc, threads_change_nothing_but_speed);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return px_check_run(report_suite());
}
