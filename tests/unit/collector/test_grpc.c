// SPDX-License-Identifier: Apache-2.0
/*
 * End to end over real gRPC on loopback: the collector binary (embedded
 * PostgreSQL), a scanner client and an agent client from common/transport,
 * and the parallax CLI reading the correlation back.
 */
#include <check.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "collector_proc.h"
#include "pgtmp.h"
#include "tbatch.h"
#include "transport.h"
#include "px_check.h"

#define SHA "cdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcd"
#define JAR "/srv/shop/log4j-core-2.14.1.jar"
#define EXEC_ID "grpc-host:boot:31337:1"

/* Opens a client speaking as the source of <t>. */
static struct px_client *client_for(struct tbatch *t, int port)
{
	struct px_client_config cfg = { 0 };
	char target[64], err[256];
	struct px_client *c;

	snprintf(target, sizeof(target), "127.0.0.1:%d", port);
	cfg.target = target;
	cfg.source = tb_batch(t)->source;
	c = px_client_start(&cfg, err, sizeof(err));
	ck_assert_msg(c != NULL, "client: %s", err);
	return c;
}

static void send_and_flush(struct px_client *c, struct tbatch *t)
{
	struct px_client_stats st;

	ck_assert_int_eq(px_client_send(c, tb_batch(t), NULL), 0);
	ck_assert_int_eq(px_client_flush(c, 60000), 0);
	px_client_get_stats(c, &st);
	ck_assert_uint_eq(st.acked, 1);
	ck_assert_uint_eq(st.rejected, 0);
}

static int ready_port(const char *log)
{
	static char buf[65536];
	char *p;

	cp_slurp(log, buf, sizeof(buf));
	p = strstr(buf, "collector ready");
	ck_assert_ptr_nonnull(p);
	p = strstr(p, " port=");
	ck_assert_ptr_nonnull(p);
	return atoi(p + 6);
}

START_TEST(a_finding_and_a_load_sent_over_grpc_show_up_in_parallax_loaded)
{
	char dir[] = "/tmp/pxgrpc.XXXXXX", log[] = "/tmp/pxgrpc-log.XXXXXX";
	char outp[] = "/tmp/pxgrpc-out.XXXXXX", out[65536];
	struct tbatch *s = tb_new("grpc-host", "scanner-g", "sb", 1, true);
	struct tbatch *a = tb_new("grpc-host", "agent-g", "ab", 1, false);
	struct px_client *sc, *ac;
	int port, fo, status;
	ssize_t n;
	pid_t pid, cli;

	ck_assert_ptr_nonnull(mkdtemp(dir));
	close(mkstemp(log));
	pid = cp_spawn(dir, log, NULL, NULL);
	cp_wait_ready(pid, log);
	port = ready_port(log);
	ck_assert_int_gt(port, 0);

	tb_finding(s, JAR, "", SHA, "org.apache.logging.log4j:log4j-core",
		   "2.14.1", "CVE-2021-44228");
	tb_exec(a, 31337, EXEC_ID, "/usr/bin/java", "-jar");
	tb_load(a, 31337, EXEC_ID, JAR, SHA);
	sc = client_for(s, port);
	ac = client_for(a, port);
	send_and_flush(sc, s);
	send_and_flush(ac, a);
	px_client_stop(sc);
	px_client_stop(ac);

	fo = mkstemp(outp);
	cli = fork();
	ck_assert_int_ge(cli, 0);
	if (cli == 0) {
		dup2(fo, STDOUT_FILENO);
		execl(getenv("PX_CLI_BIN"), "parallax", "--data-dir", dir,
		      "--json", "loaded", (char *)NULL);
		_exit(127);
	}
	ck_assert_int_eq(waitpid(cli, &status, 0), cli);
	n = pread(fo, out, sizeof(out) - 1, 0);
	out[n > 0 ? n : 0] = '\0';
	close(fo);
	unlink(outp);
	ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0, "cli failed");
	ck_assert_msg(strstr(out, "\"host\":\"grpc-host\"") && strstr(out, "\"pid\":31337") &&
		      strstr(out, "CVE-2021-44228") && strstr(out, JAR), "out: %s", out);

	ck_assert_int_eq(cp_stop(pid), 0);
	ck_assert_int_eq(cp_postmaster_pid(dir), 0);
	tb_free(s);
	tb_free(a);
	pgtmp_rmtree(dir);
	unlink(log);
}
END_TEST

static Suite *grpc_suite(void)
{
	Suite *s = suite_create("collector-grpc");
	TCase *tc = tcase_create("grpc");

	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, a_finding_and_a_load_sent_over_grpc_show_up_in_parallax_loaded);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return px_check_run(grpc_suite());
}
