// SPDX-License-Identifier: Apache-2.0
/*
 * The parallax-scan binary as users run it (path in $PX_SCAN_BIN): JSON
 * lines over the real fixtures, checked by check_jsonl.py ($PX_SCAN_CHECK)
 * against EXPECTED.tsv; exit statuses; and the message when no collector
 * acknowledges the batches.
 */
#include <arpa/inet.h>
#include <check.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "helpers.h"
#include "px_check.h"

static const char *env_or_fail(const char *name)
{
	const char *v = getenv(name);

	ck_assert_msg(v && v[0], "%s is not set; run through meson test",
		      name);
	return v;
}

static const char *bin(void)
{
	const char *b = env_or_fail("PX_SCAN_BIN");

	ck_assert_msg(access(b, X_OK) == 0, "%s is not executable", b);
	return b;
}

/* Runs parallax-scan with <args>, stdout to <out>, stderr to <err>. */
static int scan_run(const char *args, const char *out, const char *err)
{
	char cmd[8192];

	snprintf(cmd, sizeof(cmd), "'%s' %s >'%s' 2>'%s' </dev/null", bin(),
		 args, out, err);
	return run_status(cmd);
}

static bool file_contains(const char *path, const char *needle)
{
	size_t len;
	uint8_t *buf = slurp(path, &len);
	bool found;

	buf[len] = '\0';
	found = strstr((char *)buf, needle) != NULL;
	free(buf);
	return found;
}

START_TEST(jsonl_over_the_fixtures_matches_expected_tsv)
{
	char dir[64], out[128], err[128], args[4096], cmd[8192];

	temp_dir(dir);
	snprintf(out, sizeof(out), "%s/out.jsonl", dir);
	snprintf(err, sizeof(err), "%s/err.log", dir);
	snprintf(args, sizeof(args), "--format jsonl '%s'", fixture_samples());
	ck_assert_int_eq(scan_run(args, out, err), 0);
	snprintf(cmd, sizeof(cmd), "python3 '%s' '%s' '%s'",
		 env_or_fail("PX_SCAN_CHECK"), out, fixture_samples());
	ck_assert_msg(run_status(cmd) == 0, "check_jsonl.py failed on %s",
		      out);
	remove_tree(dir);
}
END_TEST

START_TEST(fail_on_sets_exit_status_one_only_at_or_above_the_threshold)
{
	char dir[64], out[128], err[128], args[4096];
	const char *s = fixture_samples();

	temp_dir(dir);
	snprintf(out, sizeof(out), "%s/out.jsonl", dir);
	snprintf(err, sizeof(err), "%s/err.log", dir);
	snprintf(args, sizeof(args),
		 "--format jsonl --fail-on critical '%s/true-hits/log4j-core-2.14.1.jar'",
		 s);
	ck_assert_int_eq(scan_run(args, out, err), 1);
	snprintf(args, sizeof(args),
		 "--format jsonl --fail-on critical '%s/false-hits/log4j-core-2.17.0.jar'",
		 s);
	ck_assert_int_eq(scan_run(args, out, err), 0);
	snprintf(args, sizeof(args),
		 "--format jsonl --fail-on medium '%s/false-hits/log4j-core-2.17.0.jar'",
		 s);
	ck_assert_int_eq(scan_run(args, out, err), 1);
	remove_tree(dir);
}
END_TEST

START_TEST(usage_errors_and_unreadable_roots_exit_two)
{
	char dir[64], out[128], err[128];

	temp_dir(dir);
	snprintf(out, sizeof(out), "%s/out", dir);
	snprintf(err, sizeof(err), "%s/err", dir);
	ck_assert_int_eq(scan_run("--format jsonl /nonexistent/px-root", out,
				  err), 2);
	ck_assert(file_contains(err, "scan root unreadable"));
	ck_assert_int_eq(scan_run("--no-such-flag /", out, err), 2);
	ck_assert_int_eq(scan_run("--format jsonl", out, err), 2);
	ck_assert_int_eq(scan_run("--format xml /", out, err), 2);
	ck_assert_int_eq(scan_run("--max-entry-bytes lots /", out, err), 2);
	ck_assert_int_eq(scan_run("--help", out, err), 0);
	ck_assert(file_contains(out, "scanner.max_depth"));
	ck_assert_int_eq(scan_run("--version", out, err), 0);
	ck_assert(file_contains(out, "parallax-scan"));
	remove_tree(dir);
}
END_TEST

START_TEST(odd_bytes_in_paths_still_give_valid_json_lines)
{
	static const char *check =
		"python3 -c 'import json,sys\n"
		"d = [json.loads(l) for l in open(sys.argv[1], encoding=\"utf-8\")]\n"
		"assert len(d) == 1, d\n"
		"assert d[0][\"path\"].endswith(\"/q\\\"uo\\nte\\\\\\xfe.jar\"), d\n"
		"assert \"CVE-2021-44228\" in d[0][\"cves\"], d\n"
		"' ";
	char dir[64], out[128], err[128], path[256], src[4096];
	char args[256], cmd[1024];
	size_t len;
	uint8_t *jar;

	temp_dir(dir);
	snprintf(src, sizeof(src), "%s/true-hits/log4j-core-2.14.1.jar",
		 fixture_samples());
	jar = slurp(src, &len);
	snprintf(path, sizeof(path), "%s/in", dir);
	ck_assert_int_eq(mkdir(path, 0755), 0);
	snprintf(path, sizeof(path), "%s/in/q\"uo\nte\\\376.jar", dir);
	spit(path, jar, len);
	free(jar);
	snprintf(out, sizeof(out), "%s/out.jsonl", dir);
	snprintf(err, sizeof(err), "%s/err.log", dir);
	snprintf(args, sizeof(args), "--format jsonl '%s/in'", dir);
	ck_assert_int_eq(scan_run(args, out, err), 0);
	snprintf(cmd, sizeof(cmd), "%s'%s'", check, out);
	ck_assert_msg(run_status(cmd) == 0, "python3 rejected %s", out);
	remove_tree(dir);
}
END_TEST

START_TEST(snapshot_root_reports_paths_as_the_host_sees_them)
{
	char dir[64], out[128], err[128], path[256], args[256];

	temp_dir(dir);
	snprintf(path, sizeof(path), "%s/opt", dir);
	ck_assert_int_eq(mkdir(path, 0755), 0);
	snprintf(path, sizeof(path), "%s/true-hits/log4j-core-2.14.1.jar",
		 fixture_samples());
	snprintf(args, sizeof(args), "cp '%s' '%s/opt/app.jar'", path, dir);
	ck_assert_int_eq(run_status(args), 0);
	snprintf(out, sizeof(out), "%s/out.jsonl", dir);
	snprintf(err, sizeof(err), "%s/err.log", dir);
	snprintf(args, sizeof(args), "--format jsonl --snapshot-root '%s/opt/..'",
		 dir);
	ck_assert_int_eq(scan_run(args, out, err), 0);
	ck_assert(file_contains(out, "\"path\":\"/opt/app.jar\""));
	snprintf(args, sizeof(args), "--format jsonl '%s/opt/..'", dir);
	ck_assert_int_eq(scan_run(args, out, err), 0);
	snprintf(path, sizeof(path), "\"path\":\"%s/opt/app.jar\"", dir);
	ck_assert(file_contains(out, path));
	remove_tree(dir);
}
END_TEST

/* A loopback port that nothing listens on (bound, then released). */
static int unused_port(void)
{
	struct sockaddr_in sa = { .sin_family = AF_INET };
	socklen_t len = sizeof(sa);
	int fd = socket(AF_INET, SOCK_STREAM, 0), port;

	ck_assert_int_ge(fd, 0);
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	ck_assert_int_eq(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	ck_assert_int_eq(getsockname(fd, (struct sockaddr *)&sa, &len), 0);
	port = ntohs(sa.sin_port);
	close(fd);
	return port;
}

/* stdout on /dev/full: every write fails, and the status says error
 * (2), never "findings" (1) nor success, in each output format. */
START_TEST(output_that_cannot_be_written_exits_two)
{
	static const char *const fmts[] = { "jsonl", "sarif", "cyclonedx" };
	const char *bin = getenv("PX_SCAN_BIN");
	char cmd[4096];
	size_t i;

	ck_assert_msg(bin && bin[0], "PX_SCAN_BIN is not set");
	for (i = 0; i < 3; i++) {
		snprintf(cmd, sizeof(cmd),
			 "'%s' --format %s --fail-on critical '%s/true-hits/log4j-core-2.14.1.jar' >/dev/full 2>/dev/null",
			 bin, fmts[i], fixture_samples());
		ck_assert_msg(run_status(cmd) == 2, "--format %s: exit %d",
			      fmts[i], run_status(cmd));
	}
}
END_TEST

START_TEST(an_absent_collector_is_named_and_exits_two)
{
	char dir[64], out[128], err[128], args[4096], want[128];
	int port = unused_port();

	temp_dir(dir);
	snprintf(out, sizeof(out), "%s/out", dir);
	snprintf(err, sizeof(err), "%s/err", dir);
	snprintf(args, sizeof(args),
		 "--collector 127.0.0.1:%d --flush-timeout 2 --host-id snap-1 '%s/true-hits/log4j-core-2.14.1.jar'",
		 port, fixture_samples());
	/* an error, not the findings status: the result was not delivered */
	ck_assert_int_eq(scan_run(args, out, err), 2);
	snprintf(want, sizeof(want),
		 "collector at 127.0.0.1:%d did not acknowledge 1 batches",
		 port);
	ck_assert_msg(file_contains(err, want), "stderr lacks \"%s\"", want);
	remove_tree(dir);
}
END_TEST

static Suite *cli_suite(void)
{
	Suite *s = suite_create("scanner-cli");
	TCase *tc = tcase_create("cli");

	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, jsonl_over_the_fixtures_matches_expected_tsv);
	tcase_add_test(tc,
		       fail_on_sets_exit_status_one_only_at_or_above_the_threshold);
	tcase_add_test(tc, usage_errors_and_unreadable_roots_exit_two);
	tcase_add_test(tc, odd_bytes_in_paths_still_give_valid_json_lines);
	tcase_add_test(tc, an_absent_collector_is_named_and_exits_two);
	tcase_add_test(tc, output_that_cannot_be_written_exits_two);
	tcase_add_test(tc, snapshot_root_reports_paths_as_the_host_sees_them);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return px_check_run(cli_suite());
}
