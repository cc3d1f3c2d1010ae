// SPDX-License-Identifier: Apache-2.0
/*
 * The parallax CLI against a real database filled through the ingest sink:
 * tables and JSON for findings, loaded and correlations, the DSN file, and
 * the error when the database is not there.
 */
#include <check.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "ingest_harness.h"
#include "px_check.h"

#define SHA "abababababababababababababababababababababababababababababababab"
#define JAR "/opt/shop/lib/log4j-core-2.14.1.jar"
#define EXEC_ID "node-9:boot:777:1777"

static char out[65536], err[8192];

/* Runs the CLI with <args> (NULL-terminated); returns its exit code with
 * stdout and stderr in out/err. */
static int cli(const char *const *args)
{
	char outp[] = "/tmp/pxcli-out.XXXXXX", errp[] = "/tmp/pxcli-err.XXXXXX";
	const char *bin = getenv("PX_CLI_BIN");
	int fo = mkstemp(outp), fe = mkstemp(errp), status;
	const char *argv[16] = { "parallax" };
	ssize_t n;
	pid_t pid;

	ck_assert_msg(bin != NULL, "PX_CLI_BIN is not set (run through meson test)");
	for (int i = 0; args[i] != NULL && i < 14; i++)
		argv[i + 1] = args[i];
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		dup2(fo, STDOUT_FILENO);
		dup2(fe, STDERR_FILENO);
		execv(bin, (char *const *)argv);
		_exit(127);
	}
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	n = pread(fo, out, sizeof(out) - 1, 0);
	out[n > 0 ? n : 0] = '\0';
	n = pread(fe, err, sizeof(err) - 1, 0);
	err[n > 0 ? n : 0] = '\0';
	close(fo);
	close(fe);
	unlink(outp);
	unlink(errp);
	ck_assert(WIFEXITED(status));
	return WEXITSTATUS(status);
}

static void fill(void)
{
	struct tbatch *s = tb_new("node-9", "scanner-1", "b", 1, true);
	struct tbatch *a = tb_new("node-9", "agent-9", "b", 1, false);

	tb_finding(s, JAR, "", SHA, "org.apache.logging.log4j:log4j-core",
		   "2.14.1", "CVE-2021-44228");
	tb_finding(s, JAR, "", SHA, "org.apache.logging.log4j:log4j-core",
		   "2.14.1", "CVE-2021-45046");
	ck_assert_int_eq(h_ingest(s, NULL, 0),
			 PARALLAX__V1__ACK_STATUS__ACK_STATUS_COMMITTED);
	tb_exec(a, 777, EXEC_ID, "/usr/bin/java", "-Dshop=1");
	tb_load(a, 777, EXEC_ID, JAR, SHA);
	ck_assert_int_eq(h_ingest(a, NULL, 0),
			 PARALLAX__V1__ACK_STATUS__ACK_STATUS_COMMITTED);
}

START_TEST(loaded_prints_one_aligned_row_per_process_and_artifact)
{
	const char *args[] = { "--db", H.dsn, "loaded", NULL };
	char *second;

	fill();
	ck_assert_msg(cli(args) == 0, "stderr: %s", err);
	ck_assert_msg(strncmp(out, "HOST", 4) == 0, "out: %s", out);
	second = strchr(out, '\n');
	ck_assert_ptr_nonnull(second);
	second++;
	ck_assert_msg(strstr(second, "node-9") == second, "out: %s", out);
	ck_assert_msg(strstr(second, "/usr/bin/java -Dshop=1") && strstr(second, JAR) &&
		      strstr(second, SHA) &&
		      strstr(second, "CVE-2021-44228,CVE-2021-45046") &&
		      strstr(second, "critical"), "out: %s", out);
	/* Header and row align: the PID column starts at the same offset. */
	ck_assert_int_eq((int)(strstr(out, "PID") - out),
			 (int)(strstr(second, "777") - second));
	ck_assert_ptr_null(strchr(strchr(second, '\n') + 1, '\n'));
}
END_TEST

START_TEST(json_output_comes_from_postgresql)
{
	const char *loaded[] = { "--db", H.dsn, "--json", "loaded", NULL };
	const char *findings[] = { "--db", H.dsn, "--json", "findings", NULL };
	const char *corr[] = { "--db", H.dsn, "--json", "--host", "node-9",
			       "correlations", NULL };
	const char *other[] = { "--db", H.dsn, "--json", "--host", "nope",
				"correlations", NULL };

	fill();
	ck_assert_msg(cli(loaded) == 0, "stderr: %s", err);
	ck_assert_msg(out[0] == '[' &&
		      strstr(out, "\"cves\":[\"CVE-2021-44228\",\"CVE-2021-45046\"]") &&
		      strstr(out, "\"pid\":777") && strstr(out, "\"sha256\":\"" SHA "\""),
		      "out: %s", out);
	ck_assert_msg(cli(findings) == 0, "stderr: %s", err);
	ck_assert_msg(strstr(out, "\"loaded_now\":true") && strstr(out, "\"cve\":\"CVE-2021-45046\""),
		      "out: %s", out);
	ck_assert_msg(cli(corr) == 0, "stderr: %s", err);
	ck_assert_msg(strstr(out, "\"state\":\"loaded\"") != NULL, "out: %s", out);
	ck_assert_msg(cli(other) == 0, "stderr: %s", err);
	ck_assert_str_eq(out, "[]\n");
}
END_TEST

START_TEST(the_dsn_file_in_the_data_dir_is_used)
{
	char dir[] = "/tmp/pxcli.XXXXXX", path[PATH_MAX];
	const char *args[] = { "--data-dir", dir, "findings", NULL };
	FILE *f;

	fill();
	ck_assert_ptr_nonnull(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/collector.dsn", dir);
	f = fopen(path, "w");
	ck_assert_ptr_nonnull(f);
	fprintf(f, "%s\n", H.dsn);
	fclose(f);
	ck_assert_msg(cli(args) == 0, "stderr: %s", err);
	ck_assert_msg(strstr(out, "CVE-2021-44228") != NULL, "out: %s", out);
	unlink(path);
	rmdir(dir);
}
END_TEST

START_TEST(an_unreachable_database_is_a_clear_error)
{
	const char *args[] = { "--db", "host=/nonexistent-dir dbname=x", "loaded", NULL };
	const char *nodir[] = { "--data-dir", "/nonexistent-dir", "loaded", NULL };

	ck_assert_int_eq(cli(args), 1);
	ck_assert_msg(strstr(err, "cannot reach the database at host=/nonexistent-dir") &&
		      strstr(err, "is parallax-collector running?"), "stderr: %s", err);
	ck_assert_int_eq(cli(nodir), 1);
	ck_assert_msg(strstr(err, "/nonexistent-dir/collector.dsn") != NULL, "stderr: %s", err);
}
END_TEST

/* Counts the occurrences of <needle> in <hay>. */
static int count_of(const char *hay, const char *needle)
{
	int n = 0;

	for (const char *p = hay; (p = strstr(p, needle)) != NULL; p++)
		n++;
	return n;
}

START_TEST(timeline_takes_a_hostname_and_a_bounded_limit)
{
	const char *by_name[] = { "--db", H.dsn, "--json", "--host",
				  "shop-9.example", "timeline", NULL };
	const char *by_id[] = { "--db", H.dsn, "--json", "--host", "node-9",
				"timeline", NULL };
	const char *one[] = { "--db", H.dsn, "--json", "--host",
			      "shop-9.example", "--limit", "1", "timeline", NULL };
	const char *zero[] = { "--db", H.dsn, "--host", "node-9", "--limit",
			       "0", "timeline", NULL };
	const char *word[] = { "--db", H.dsn, "--host", "node-9", "--limit",
			       "-5", "timeline", NULL };
	const char *help[] = { "--help", NULL };
	int rows;

	fill();
	pgtmp_exec(H.db, "UPDATE hosts SET hostname = 'shop-9.example' WHERE host_id = 'node-9'");
	ck_assert_msg(cli(by_name) == 0, "stderr: %s", err);
	rows = count_of(out, "\"kind\":");
	ck_assert_msg(rows >= 2 && strstr(out, "\"kind\":\"exec\"") &&
		      count_of(out, "\"host\":\"shop-9.example\"") == rows,
		      "out: %s", out);
	/* The host_id still names it, with the same events. */
	ck_assert_msg(cli(by_id) == 0, "stderr: %s", err);
	ck_assert_int_eq(count_of(out, "\"kind\":"), rows);
	ck_assert_msg(cli(one) == 0, "stderr: %s", err);
	ck_assert_int_eq(count_of(out, "\"kind\":"), 1);

	ck_assert_int_eq(cli(zero), 2);
	ck_assert_msg(strstr(err, "--limit must be a whole number from 1") &&
		      strstr(err, "10000"), "stderr: %s", err);
	ck_assert_int_eq(cli(word), 2);
	ck_assert_msg(strstr(err, "--limit") != NULL, "stderr: %s", err);
	ck_assert_int_eq(cli(help), 0);
	ck_assert_msg(strstr(out, "at most 10000") && strstr(out, "a host_id or a hostname"),
		      "out: %s", out);
}
END_TEST

static Suite *cli_suite(void)
{
	Suite *s = suite_create("collector-cli");
	TCase *tc = tcase_create("cli");

	tcase_set_timeout(tc, 90);
	tcase_add_unchecked_fixture(tc, h_cluster_up, h_cluster_down);
	tcase_add_checked_fixture(tc, h_setup, h_teardown);
	tcase_add_test(tc, loaded_prints_one_aligned_row_per_process_and_artifact);
	tcase_add_test(tc, json_output_comes_from_postgresql);
	tcase_add_test(tc, the_dsn_file_in_the_data_dir_is_used);
	tcase_add_test(tc, an_unreachable_database_is_a_clear_error);
	tcase_add_test(tc, timeline_takes_a_hostname_and_a_bounded_limit);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return px_check_run(cli_suite());
}
