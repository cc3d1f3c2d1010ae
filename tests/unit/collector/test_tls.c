// SPDX-License-Identifier: Apache-2.0
/*
 * Mutual TLS with certificates minted by deploy/mkcerts.sh, over loopback:
 * the source identity is the client certificate's CN, never the payload's;
 * the host is one the certificate is bound to, never another; a certificate
 * whose CN is not allowed is refused; a client without a certificate never
 * gets through the handshake.
 */
#include <check.h>
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

static struct pgtmp PG;

static void cluster_up(void)
{
	pgtmp_start(&PG);
}

static void cluster_down(void)
{
	pgtmp_stop(&PG);
}

static void mkcerts(const char *dir, const char *sub, const char *cn)
{
	char out[PATH_MAX];
	const char *script = getenv("PX_MKCERTS");
	int status;
	pid_t pid;

	ck_assert_msg(script != NULL, "PX_MKCERTS is not set (run through meson test)");
	snprintf(out, sizeof(out), "%s/%s", dir, sub);
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		execl("/bin/sh", "sh", script, out, "localhost", cn,
		      (char *)NULL);
		_exit(127);
	}
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0,
		      "mkcerts.sh failed");
}

/* A client with the certificate of <cn> from <sub> (plaintext when <sub>
 * is NULL), speaking for <host> with the batch <t> as its source. */
static struct px_client *client_as(const char *dir, const char *sub,
				   const char *cn, const char *target,
				   struct tbatch *t)
{
	char ca[PATH_MAX], cert[PATH_MAX], key[PATH_MAX], err[256];
	struct px_client_config cfg = { 0 };
	struct px_client *c;

	snprintf(ca, sizeof(ca), "%s/good/ca.pem", dir);
	cfg.target = target;
	cfg.source = tb_batch(t)->source;
	if (sub != NULL) {
		cfg.tls_ca = ca;
		snprintf(cert, sizeof(cert), "%s/%s/%s.pem", dir, sub, cn);
		snprintf(key, sizeof(key), "%s/%s/%s.key", dir, sub, cn);
		cfg.tls_cert = cert;
		cfg.tls_key = key;
	}
	c = px_client_start(&cfg, err, sizeof(err));
	ck_assert_msg(c != NULL, "client: %s", err);
	return c;
}

/* Sends one batch for <host> as <cn> (see client_as); returns the
 * client's stats after waiting up to <wait_ms>. */
static struct px_client_stats send_for(const char *dir, const char *sub,
				       const char *cn, const char *target,
				       const char *host, const char *claimed,
				       int wait_ms)
{
	struct tbatch *t = tb_new(host, claimed, "b1", 1, false);
	struct px_client_stats st;
	struct px_client *c;
	char exec_id[128];

	snprintf(exec_id, sizeof(exec_id), "%s:b:1", host);
	tb_net(t, 1, exec_id);
	c = client_as(dir, sub, cn, target, t);
	ck_assert_int_eq(px_client_send(c, tb_batch(t), NULL), 0);
	px_client_flush(c, wait_ms);
	px_client_get_stats(c, &st);
	px_client_stop(c);
	tb_free(t);
	return st;
}

static struct px_client_stats send_as(const char *dir, const char *sub,
				      const char *cn, const char *target,
				      const char *claimed, int wait_ms)
{
	return send_for(dir, sub, cn, target, "tls-host", claimed, wait_ms);
}

/* Starts a collector under mutual TLS with the CA and server certificate
 * of <dir>/good, allowing the CNs agent-1 and scanner-9, on a fresh
 * database (<dsn>); <target> gets its address, <log> its log file. */
static pid_t tls_collector(const char *dir, char *dsn, size_t dsnlen,
			   char *target, size_t tlen, char *log, size_t loglen)
{
	char conf[PATH_MAX], listen[32];
	FILE *f;
	pid_t pid;
	int port = cp_free_port();

	snprintf(log, loglen, "%s/collector.log", dir);
	snprintf(conf, sizeof(conf), "%s/collector.yaml", dir);
	f = fopen(conf, "w");
	ck_assert_ptr_nonnull(f);
	fprintf(f, "collector:\n  tls_ca: %s/good/ca.pem\n"
		"  tls_cert: %s/good/server.pem\n  tls_key: %s/good/server.key\n"
		"  tls_allowed_cns: \"scanner-9, agent-1\"\n", dir, dir, dir);
	fclose(f);
	pgtmp_new_db(&PG, dsn, dsnlen);
	snprintf(listen, sizeof(listen), "127.0.0.1:%d", port);
	/* An address, not a name: the certificate carries IP:127.0.0.1, and
	 * no resolver runs. */
	snprintf(target, tlen, "127.0.0.1:%d", port);
	{
		char *argv[] = { "parallax-collector", "--config", conf, "--db",
				 dsn, "--data-dir", (char *)dir, "--listen",
				 listen, NULL };

		pid = cp_spawn_argv(log, argv);
	}
	cp_wait_ready(pid, log);
	return pid;
}

START_TEST(the_certificate_names_the_source_and_strangers_are_refused)
{
	char dir[] = "/tmp/pxtls.XXXXXX", log[PATH_MAX];
	char dsn[512], target[32];
	static char buf[1 << 16];
	struct px_client_stats st;
	PGconn *db;
	pid_t pid;

	ck_assert_ptr_nonnull(mkdtemp(dir));
	mkcerts(dir, "good", "agent-1@tls-host");
	mkcerts(dir, "good", "intruder@tls-host"); /* same CA, CN not allowed */
	mkcerts(dir, "other", "agent-1@tls-host"); /* another CA */
	pid = tls_collector(dir, dsn, sizeof(dsn), target, sizeof(target), log,
			    sizeof(log));

	/* The payload claims "someone-else"; the certificate says agent-1. */
	st = send_as(dir, "good", "agent-1", target, "someone-else", 60000);
	ck_assert_uint_eq(st.acked, 1);
	ck_assert_uint_eq(st.rejected, 0);
	db = pgtmp_connect(dsn);
	ck_assert_int_eq(pgtmp_long(db, "SELECT count(*) FROM sources WHERE source_id = 'agent-1'"), 1);
	ck_assert_int_eq(pgtmp_long(db, "SELECT count(*) FROM sources WHERE source_id = 'someone-else'"), 0);
	ck_assert_int_eq(pgtmp_long(db, "SELECT count(*) FROM events WHERE source_id = 'agent-1'"), 1);

	/* Signed by our CA, but not an allowed source: the stream ends with
	 * PERMISSION_DENIED and the batch stays with the source. */
	st = send_as(dir, "good", "intruder", target, "agent-1", 3000);
	ck_assert_uint_eq(st.rejected, 0);
	ck_assert_uint_eq(st.acked, 0);
	ck_assert_uint_eq(st.pending, 1);
	ck_assert_uint_ge(st.reconnects, 1);
	cp_slurp(log, buf, sizeof(buf));
	ck_assert_msg(strstr(buf, "batch from an unknown source refused") &&
		      strstr(buf, "identity=\"intruder\""), "log: %s", buf);

	/* Another CA, and plaintext: no handshake, no ack. */
	st = send_as(dir, "other", "agent-1", target, "agent-1", 2000);
	ck_assert_uint_eq(st.acked + st.rejected, 0);
	st = send_as(dir, NULL, NULL, target, "agent-1", 2000);
	ck_assert_uint_eq(st.acked + st.rejected, 0);
	ck_assert_int_eq(pgtmp_long(db, "SELECT count(*) FROM events"), 1);
	PQfinish(db);

	ck_assert_int_eq(cp_stop(pid), 0);
	pgtmp_rmtree(dir);
}
END_TEST

/*
 * A certificate bound to tls-host cannot write rows for another host: its
 * batch for victim-host ends that stream with PERMISSION_DENIED and a log
 * line, stays with the source, and stores nothing, while a stream of the
 * same certificate for its own host, open all along, keeps being acked.  A
 * certificate bound to every host ("*", a scanner) may speak for any.
 */
START_TEST(the_certificate_binds_the_host)
{
	char dir[] = "/tmp/pxtls.XXXXXX", log[PATH_MAX];
	char dsn[512], target[32];
	static char buf[1 << 16];
	struct tbatch *good = tb_new("tls-host", "agent-1", "b-own", 1, false);
	struct px_client_stats st;
	struct px_client *keep;
	const char *line;
	PGconn *db;
	pid_t pid;

	ck_assert_ptr_nonnull(mkdtemp(dir));
	mkcerts(dir, "good", "agent-1@tls-host");
	mkcerts(dir, "good", "scanner-9@*");
	pid = tls_collector(dir, dsn, sizeof(dsn), target, sizeof(target), log,
			    sizeof(log));

	tb_net(good, 1, "tls-host:b-own:1");
	keep = client_as(dir, "good", "agent-1", target, good);
	ck_assert_int_eq(px_client_send(keep, tb_batch(good), NULL), 0);
	ck_assert_int_eq(px_client_flush(keep, 60000), 0);

	st = send_for(dir, "good", "agent-1", target, "victim-host", "agent-1",
		      3000);
	ck_assert_uint_eq(st.acked + st.rejected, 0);
	ck_assert_uint_eq(st.pending, 1);
	ck_assert_uint_ge(st.reconnects, 1);
	cp_slurp(log, buf, sizeof(buf));
	line = strstr(buf, "batch for a host its certificate does not cover refused");
	ck_assert_msg(line != NULL, "log: %s", buf);
	ck_assert_msg(strstr(line, "identity=\"agent-1\"") &&
		      strstr(line, "host=\"victim-host\""), "log: %s", line);

	/* The stream kept open all along is still served. */
	ck_assert_int_eq(px_client_send(keep, tb_batch(good), NULL), 0);
	ck_assert_int_eq(px_client_flush(keep, 60000), 0);
	px_client_get_stats(keep, &st);
	ck_assert_uint_eq(st.acked, 2);
	ck_assert_uint_eq(st.reconnects, 0);
	px_client_stop(keep);

	st = send_for(dir, "good", "scanner-9", target, "snap-host", "scanner-9",
		      60000);
	ck_assert_uint_eq(st.acked, 1);

	db = pgtmp_connect(dsn);
	ck_assert_int_eq(pgtmp_long(db, "SELECT count(*) FROM events WHERE host_id = 'victim-host'"), 0);
	ck_assert_int_eq(pgtmp_long(db, "SELECT count(*) FROM sources WHERE host_id = 'victim-host'"), 0);
	ck_assert_int_eq(pgtmp_long(db, "SELECT count(*) FROM events WHERE host_id = 'tls-host'"), 2);
	ck_assert_int_eq(pgtmp_long(db, "SELECT count(*) FROM events WHERE host_id = 'snap-host' AND source_id = 'scanner-9'"), 1);
	PQfinish(db);
	ck_assert_int_eq(cp_stop(pid), 0);
	tb_free(good);
	pgtmp_rmtree(dir);
}
END_TEST

static Suite *tls_suite(void)
{
	Suite *s = suite_create("collector-tls");
	TCase *tc = tcase_create("tls");

	tcase_set_timeout(tc, 120);
	tcase_add_unchecked_fixture(tc, cluster_up, cluster_down);
	tcase_add_test(tc, the_certificate_names_the_source_and_strangers_are_refused);
	tcase_add_test(tc, the_certificate_binds_the_host);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return px_check_run(tls_suite());
}
