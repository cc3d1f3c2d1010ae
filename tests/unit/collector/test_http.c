// SPDX-License-Identifier: Apache-2.0
/*
 * The collector's HTTP side over loopback: /healthz, /metrics after real
 * batches went through gRPC, the JSON API of the queries, and its errors.
 */
#include <arpa/inet.h>
#include <check.h>
#include <limits.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "collector_proc.h"
#include "pgtmp.h"
#include "tbatch.h"
#include "transport.h"
#include "px_check.h"

#define SHA "abababababababababababababababababababababababababababababababab"
#define JAR "/srv/app/log4j-core-2.14.1.jar"
#define EXEC_ID "http-host:boot:777:1"

static struct pgtmp PG;
static char resp[1 << 17];

static void cluster_up(void)
{
	pgtmp_start(&PG);
}

static void cluster_down(void)
{
	pgtmp_stop(&PG);
}

/* GET <path>; returns the status code, the body in resp (after the
 * headers). */
static int get(int port, const char *path, const char **body)
{
	struct sockaddr_in a = { .sin_family = AF_INET };
	char req[512];
	size_t got = 0;
	ssize_t n;
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	char *sep;

	ck_assert_int_ge(fd, 0);
	a.sin_port = htons((uint16_t)port);
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	ck_assert_int_eq(connect(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	snprintf(req, sizeof(req), "GET %s HTTP/1.1\r\nHost: localhost\r\n"
		 "Connection: close\r\n\r\n", path);
	ck_assert_int_eq(write(fd, req, strlen(req)), (ssize_t)strlen(req));
	while ((n = read(fd, resp + got, sizeof(resp) - 1 - got)) > 0)
		got += (size_t)n;
	close(fd);
	resp[got] = '\0';
	sep = strstr(resp, "\r\n\r\n");
	ck_assert_msg(sep != NULL, "no header end: %s", resp);
	*body = sep + 4;
	ck_assert_msg(strncmp(resp, "HTTP/1.1 ", 9) == 0, "%s", resp);
	return atoi(resp + 9);
}

static void send_batch(struct tbatch *t, const char *target)
{
	struct px_client_config cfg = { 0 };
	struct px_client_stats st;
	struct px_client *c;
	char err[256];

	cfg.target = target;
	cfg.source = tb_batch(t)->source;
	c = px_client_start(&cfg, err, sizeof(err));
	ck_assert_msg(c != NULL, "%s", err);
	ck_assert_int_eq(px_client_send(c, tb_batch(t), NULL), 0);
	ck_assert_int_eq(px_client_flush(c, 60000), 0);
	px_client_get_stats(c, &st);
	ck_assert_uint_eq(st.acked, 1);
	px_client_stop(c);
	tb_free(t);
}

START_TEST(health_metrics_and_queries_are_served_over_http)
{
	char dir[] = "/tmp/pxhttp.XXXXXX", log[PATH_MAX], dsn[512];
	char listen[32], http[32], target[32];
	struct tbatch *s = tb_new("http-host", "scanner-h", "sb", 1, true);
	struct tbatch *a = tb_new("http-host", "agent-h", "ab", 1, false);
	Parallax__V1__ScanEvent sev, *sevp = &sev;
	Parallax__V1__ScanReport rep;
	const char *body;
	int gport = cp_free_port(), hport = cp_free_port();
	pid_t pid;

	ck_assert_ptr_nonnull(mkdtemp(dir));
	snprintf(log, sizeof(log), "%s/collector.log", dir);
	pgtmp_new_db(&PG, dsn, sizeof(dsn));
	snprintf(listen, sizeof(listen), "127.0.0.1:%d", gport);
	snprintf(target, sizeof(target), "127.0.0.1:%d", gport);
	snprintf(http, sizeof(http), "127.0.0.1:%d", hport);
	{
		char *argv[] = { "parallax-collector", "--db", dsn, "--data-dir",
				 dir, "--listen", listen, "--http", http, NULL };

		pid = cp_spawn_argv(log, argv);
	}
	cp_wait_ready(pid, log);

	/* The query connection may still be opening right after "ready":
	 * /healthz says 503 until it is up, then 200 for good. */
	for (int i = 0; i < 100 && get(hport, "/healthz", &body) != 200; i++)
		usleep(100 * 1000);
	ck_assert_int_eq(get(hport, "/healthz", &body), 200);
	ck_assert_str_eq(body, "ok\n");

	tb_finding(s, JAR, "", SHA, "org.apache.logging.log4j:log4j-core",
		   "2.14.1", "CVE-2021-44228");
	parallax__v1__scan_event__init(&sev);
	sev.kind = (char *)"corrupt";
	sev.path = (char *)"/srv/broken.jar";
	parallax__v1__scan_report__init(&rep);
	rep.scan_id = (char *)"scan-h";
	rep.n_events = 1;
	rep.events = &sevp;
	tb_batch(s)->scan = &rep;
	tb_exec(a, 777, EXEC_ID, "/usr/bin/java", "-jar");
	tb_load(a, 777, EXEC_ID, JAR, SHA);
	tb_net(a, 777, EXEC_ID);
	send_batch(s, target);
	send_batch(a, target);

	ck_assert_int_eq(get(hport, "/metrics", &body), 200);
	ck_assert_msg(strstr(body, "\nparallax_ingest_events_total 3\n") &&
		      strstr(body, "parallax_ingest_batches_total{status=\"committed\"} 2\n") &&
		      strstr(body, "parallax_source_last_seq{host=\"http-host\",source=\"agent-h\"} 1\n") &&
		      strstr(body, "parallax_source_last_seen_seconds{host=\"http-host\",source=\"scanner-h\"} ") &&
		      strstr(body, "parallax_source_lag_seconds{host=\"http-host\",source=\"agent-h\"} ") &&
		      strstr(body, "parallax_ingest_queue_batches 0\n") &&
		      strstr(body, "parallax_db_errors_total 0\n") &&
		      strstr(body, "parallax_ingest_commit_seconds_count "),
		      "metrics: %s", body);

	ck_assert_int_eq(get(hport, "/api/v1/loaded", &body), 200);
	ck_assert_msg(strstr(body, "\"pid\":777") && strstr(body, "CVE-2021-44228"),
		      "%s", body);
	ck_assert_int_eq(get(hport, "/api/v1/exposure?host=http-host", &body), 200);
	ck_assert_msg(strstr(body, "\"severity\":\"critical\",\"vulnerable\":1,\"loaded\":1"),
		      "%s", body);
	ck_assert_int_eq(get(hport, "/api/v1/where-loaded?sha256=" SHA, &body), 200);
	ck_assert_msg(strstr(body, "\"host\":\"http-host\",\"pid\":777"), "%s", body);
	ck_assert_int_eq(get(hport, "/api/v1/tree?exec=http-host%3Aboot%3A777%3A1", &body), 200);
	ck_assert_msg(strstr(body, "\"depth\":0"), "%s", body);
	ck_assert_int_eq(get(hport, "/api/v1/timeline?host=http-host&limit=10", &body), 200);
	ck_assert_msg(strstr(body, "\"kind\":\"net\""), "%s", body);
	ck_assert_int_eq(get(hport, "/api/v1/scan-events?host=http-host", &body), 200);
	ck_assert_msg(strstr(body, "\"scan_id\":\"scan-h\"") &&
		      strstr(body, "\"kind\":\"corrupt\",\"path\":\"/srv/broken.jar\""),
		      "%s", body);

	ck_assert_int_eq(get(hport, "/api/v1/tree", &body), 400);
	ck_assert_msg(strstr(body, "needs --exec"), "%s", body);
	ck_assert_int_eq(get(hport, "/api/v1/timeline?host=x&since=yesterday-ish", &body), 400);
	ck_assert_int_eq(get(hport, "/api/v1/nonsense", &body), 404);
	ck_assert_int_eq(get(hport, "/api/v1/loaded?color=blue", &body), 400);
	ck_assert_int_eq(get(hport, "/nowhere", &body), 404);

	ck_assert_int_eq(cp_stop(pid), 0);
	pgtmp_rmtree(dir);
}
END_TEST

static Suite *http_suite(void)
{
	Suite *s = suite_create("collector-http");
	TCase *tc = tcase_create("http");

	tcase_set_timeout(tc, 120);
	tcase_add_unchecked_fixture(tc, cluster_up, cluster_down);
	tcase_add_test(tc, health_metrics_and_queries_are_served_over_http);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return px_check_run(http_suite());
}
