// SPDX-License-Identifier: Apache-2.0
/*
 * Bad messages at the collector binary over real gRPC: bytes that are not a
 * Batch, a truncated Batch, an invalid one and an oversized one each end
 * their own stream with a gRPC status, a log line of their own and a count
 * in /metrics, while a well-behaved source on another stream, open all the
 * while, keeps being acked.  So does a batch holding what PostgreSQL would
 * refuse for one row (a string that is not UTF-8, a pid or seq out of
 * range), which would otherwise fail the whole group it is written with.
 */
#include <check.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <grpc/byte_buffer.h>
#include <grpc/grpc.h>
#include <grpc/grpc_security.h>

#include "collector_proc.h"
#include "pgtmp.h"
#include "tbatch.h"
#include "transport.h"
#include "px_check.h"

static struct pgtmp PG;

/* Sends <len> bytes of <msg> as the only message of a Stream call and
 * returns the final status; the details go to <detail>. */
static grpc_status_code raw_call(const char *target, const void *msg,
				 size_t len, char *detail, size_t dlen)
{
	grpc_channel_credentials *creds = grpc_insecure_credentials_create();
	grpc_channel *ch = grpc_channel_create(target, creds, NULL);
	grpc_completion_queue *cq = grpc_completion_queue_create_for_next(NULL);
	grpc_slice method = grpc_slice_from_static_string(PX_METHOD_STREAM);
	grpc_slice body = grpc_slice_from_copied_buffer(msg, len);
	grpc_byte_buffer *bb = grpc_raw_byte_buffer_create(&body, 1);
	grpc_metadata_array md_in, trailing;
	grpc_status_code status = GRPC_STATUS_OK;
	grpc_slice details = grpc_empty_slice();
	grpc_op ops[5];
	grpc_event ev;
	grpc_call *call;

	grpc_channel_credentials_release(creds);
	grpc_metadata_array_init(&md_in);
	grpc_metadata_array_init(&trailing);
	call = grpc_channel_create_call(ch, NULL, GRPC_PROPAGATE_DEFAULTS, cq,
					method, NULL,
					gpr_time_add(gpr_now(GPR_CLOCK_REALTIME),
						     gpr_time_from_seconds(60, GPR_TIMESPAN)),
					NULL);
	memset(ops, 0, sizeof(ops));
	ops[0].op = GRPC_OP_SEND_INITIAL_METADATA;
	ops[1].op = GRPC_OP_SEND_MESSAGE;
	ops[1].data.send_message.send_message = bb;
	ops[2].op = GRPC_OP_SEND_CLOSE_FROM_CLIENT;
	ops[3].op = GRPC_OP_RECV_INITIAL_METADATA;
	ops[3].data.recv_initial_metadata.recv_initial_metadata = &md_in;
	ops[4].op = GRPC_OP_RECV_STATUS_ON_CLIENT;
	ops[4].data.recv_status_on_client.status = &status;
	ops[4].data.recv_status_on_client.status_details = &details;
	ops[4].data.recv_status_on_client.trailing_metadata = &trailing;
	ck_assert_int_eq(grpc_call_start_batch(call, ops, 5, (void *)1, NULL),
			 GRPC_CALL_OK);
	ev = grpc_completion_queue_next(cq, gpr_inf_future(GPR_CLOCK_REALTIME),
					NULL);
	ck_assert_int_eq(ev.type, GRPC_OP_COMPLETE);
	snprintf(detail, dlen, "%.*s", (int)GRPC_SLICE_LENGTH(details),
		 (const char *)GRPC_SLICE_START_PTR(details));

	grpc_slice_unref(details);
	grpc_slice_unref(body);
	grpc_byte_buffer_destroy(bb);
	grpc_metadata_array_destroy(&md_in);
	grpc_metadata_array_destroy(&trailing);
	grpc_call_unref(call);
	grpc_channel_destroy(ch);
	grpc_completion_queue_shutdown(cq);
	while (grpc_completion_queue_next(cq, gpr_inf_future(GPR_CLOCK_REALTIME),
					  NULL).type != GRPC_QUEUE_SHUTDOWN)
		;
	grpc_completion_queue_destroy(cq);
	return status;
}

/* The Prometheus value of <metric> from GET /metrics on <port>. */
static long metric_of(int port, const char *metric)
{
	static char resp[1 << 17];
	struct sockaddr_in a = { .sin_family = AF_INET };
	const char *req = "GET /metrics HTTP/1.1\r\nHost: localhost\r\n"
			  "Connection: close\r\n\r\n";
	char key[128];
	size_t got = 0;
	ssize_t n;
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	const char *at;

	ck_assert_int_ge(fd, 0);
	a.sin_port = htons((uint16_t)port);
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	ck_assert_int_eq(connect(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	ck_assert_int_eq(write(fd, req, strlen(req)), (ssize_t)strlen(req));
	while ((n = read(fd, resp + got, sizeof(resp) - 1 - got)) > 0)
		got += (size_t)n;
	close(fd);
	resp[got] = '\0';
	snprintf(key, sizeof(key), "\n%s ", metric);
	at = strstr(resp, key);
	ck_assert_msg(at != NULL, "no %s in: %s", metric, resp);
	return atol(at + strlen(key));
}

/* One good batch on <c>, a source whose stream stays open throughout:
 * events numbered by <pid>. */
static void good_batch(struct px_client *c, uint64_t pid, uint64_t acked)
{
	struct tbatch *t = tb_new("ok-host", "ok-agent", "ok-boot", 1, false);
	struct px_client_stats st;

	tb_net(t, (uint32_t)pid, "ok-host:b:1");
	ck_assert_int_eq(px_client_send(c, tb_batch(t), NULL), 0);
	ck_assert_int_eq(px_client_flush(c, 60000), 0);
	px_client_get_stats(c, &st);
	ck_assert_uint_eq(st.acked, acked);
	ck_assert_uint_eq(st.rejected, 0);
	ck_assert_uint_eq(st.reconnects, 0);
	tb_free(t);
}

/* The log from byte <from> on must hold a refusal line naming <reason>
 * (waits up to 10 s for it); returns the log's new length. */
static size_t refusal_logged(const char *log, size_t from, int status,
			     const char *reason)
{
	static char buf[1 << 18];
	char want[32];
	const char *line = NULL;

	snprintf(want, sizeof(want), "status=%d ", status);
	for (int i = 0; i < 200; i++) {
		cp_slurp(log, buf, sizeof(buf));
		ck_assert_uint_ge(strlen(buf), from);
		line = strstr(buf + from, "stream refused a message");
		if (line != NULL && strchr(line, '\n') != NULL)
			break;
		usleep(50000);
	}
	ck_assert_msg(line != NULL, "no refusal after byte %zu: %s", from,
		      buf + from);
	ck_assert_msg(strstr(line, want) != NULL && strstr(line, reason) != NULL &&
		      strstr(line, "stream=") != NULL && strstr(line, "peer=") != NULL,
		      "want %s and %s in: %s", want, reason, line);
	return strlen(buf);
}

/* Packs <t> into <packed> and sends it: it must end with INVALID_ARGUMENT
 * and <reason> in the status details.  Returns the packed size. */
static size_t refused_call(const char *target, struct tbatch *t,
			   uint8_t *packed, const char *reason)
{
	char detail[256];
	size_t n = parallax__v1__batch__get_packed_size(tb_batch(t));

	ck_assert_uint_le(n, 4096);
	parallax__v1__batch__pack(tb_batch(t), packed);
	ck_assert_int_eq(raw_call(target, packed, n, detail, sizeof(detail)),
			 GRPC_STATUS_INVALID_ARGUMENT);
	ck_assert_msg(strstr(detail, reason) != NULL, "detail: %s", detail);
	return n;
}

START_TEST(bad_messages_end_their_own_stream_with_a_status)
{
	char dir[] = "/tmp/pxref.XXXXXX", log[PATH_MAX], dsn[512];
	char listen[32], http[32], detail[256], err[256];
	static char buf[1 << 18];
	struct tbatch *t = tb_new("bad-host", "bad-agent", "b", 1, false);
	struct tbatch *proto = tb_new("ok-host", "ok-agent", "ok-boot", 1, false);
	struct px_client_config cfg = { 0 };
	size_t n, big = PX_DEFAULT_MAX_MESSAGE + 1024, at;
	int http_port = cp_free_port();
	struct px_client *keep;
	uint8_t *packed, *huge;
	PGconn *db;
	pid_t pid;

	grpc_init();
	pgtmp_start(&PG);
	ck_assert_ptr_nonnull(mkdtemp(dir));
	snprintf(log, sizeof(log), "%s/collector.log", dir);
	pgtmp_new_db(&PG, dsn, sizeof(dsn));
	snprintf(listen, sizeof(listen), "127.0.0.1:%d", cp_free_port());
	snprintf(http, sizeof(http), "127.0.0.1:%d", http_port);
	{
		char *argv[] = { "parallax-collector", "--db", dsn, "--data-dir",
				 dir, "--listen", listen, "--http", http, NULL };

		pid = cp_spawn_argv(log, argv);
	}
	cp_wait_ready(pid, log);
	/* A well-behaved source whose one stream stays open while every bad
	 * call below is refused: each of its batches (a new seq) is acked
	 * COMMITTED on the first connection. */
	cfg.target = listen;
	cfg.source = tb_batch(proto)->source;
	keep = px_client_start(&cfg, err, sizeof(err));
	ck_assert_msg(keep != NULL, "%s", err);
	good_batch(keep, 1, 1);
	cp_slurp(log, buf, sizeof(buf));
	at = strlen(buf);
	ck_assert_msg(strstr(buf, "stream refused a message") == NULL, "log: %s", buf);

	ck_assert_int_eq(raw_call(listen, "\x0a\xff\xff\xff\xff\x0f not protobuf",
				  20, detail, sizeof(detail)),
			 GRPC_STATUS_INVALID_ARGUMENT);
	at = refusal_logged(log, at, GRPC_STATUS_INVALID_ARGUMENT,
			    "not a parallax.v1.Batch");
	good_batch(keep, 2, 2);

	tb_net(t, 7, "bad-host:b:7");
	n = parallax__v1__batch__get_packed_size(tb_batch(t));
	packed = malloc(4096);
	ck_assert_ptr_nonnull(packed);
	parallax__v1__batch__pack(tb_batch(t), packed);
	ck_assert_int_eq(raw_call(listen, packed, n / 2, detail, sizeof(detail)),
			 GRPC_STATUS_INVALID_ARGUMENT);
	at = refusal_logged(log, at, GRPC_STATUS_INVALID_ARGUMENT,
			    "not a parallax.v1.Batch");
	good_batch(keep, 3, 3);

	/* Well-formed, but seq 0 is not a valid batch. */
	tb_batch(t)->seq = 0;
	n = parallax__v1__batch__get_packed_size(tb_batch(t));
	parallax__v1__batch__pack(tb_batch(t), packed);
	ck_assert_int_eq(raw_call(listen, packed, n, detail, sizeof(detail)),
			 GRPC_STATUS_INVALID_ARGUMENT);
	ck_assert_msg(strstr(detail, "seq") != NULL, "detail: %s", detail);
	at = refusal_logged(log, at, GRPC_STATUS_INVALID_ARGUMENT, "seq");
	good_batch(keep, 4, 4);

	/* What the database would refuse for one row, failing every batch of
	 * its transaction, is refused here, batch by batch: a seq past
	 * bigint, a pid past PID_MAX_LIMIT, a string that is not UTF-8. */
	tb_batch(t)->seq = (uint64_t)INT64_MAX + 1;
	refused_call(listen, t, packed, "seq out of range");
	at = refusal_logged(log, at, GRPC_STATUS_INVALID_ARGUMENT,
			    "seq out of range");
	good_batch(keep, 5, 5);
	tb_batch(t)->seq = 1;
	tb_batch(t)->events[0]->net->proc->pid = 4194305;
	refused_call(listen, t, packed, "event pid out of range");
	at = refusal_logged(log, at, GRPC_STATUS_INVALID_ARGUMENT,
			    "event pid out of range");
	good_batch(keep, 6, 6);
	tb_batch(t)->events[0]->net->proc->pid = 7;
	tb_exec(t, 8, "bad-host:b:8", "/usr/bin/ok", "-x");
	tb_batch(t)->events[1]->exec->argv[0] = (char *)"caf\xc3\xa9 \xff\xfe";
	refused_call(listen, t, packed, "string field argv is not valid UTF-8");
	at = refusal_logged(log, at, GRPC_STATUS_INVALID_ARGUMENT,
			    "string field argv is not valid UTF-8");
	good_batch(keep, 7, 7);
	/* Valid UTF-8, multi-byte included, is stored as sent. */
	tb_batch(t)->events[1]->exec->argv[0] = (char *)"caf\xc3\xa9";
	{
		struct px_client_config bcfg = { .target = listen,
						 .source = tb_batch(t)->source };
		struct px_client *bad = px_client_start(&bcfg, err, sizeof(err));
		struct px_client_stats st;

		ck_assert_msg(bad != NULL, "%s", err);
		ck_assert_int_eq(px_client_send(bad, tb_batch(t), NULL), 0);
		ck_assert_int_eq(px_client_flush(bad, 60000), 0);
		px_client_get_stats(bad, &st);
		ck_assert_uint_eq(st.acked, 1);
		ck_assert_uint_eq(st.rejected, 0);
		px_client_stop(bad);
	}

	huge = calloc(1, big);
	ck_assert_ptr_nonnull(huge);
	ck_assert_int_eq(raw_call(listen, huge, big, detail, sizeof(detail)),
			 GRPC_STATUS_RESOURCE_EXHAUSTED);
	at = refusal_logged(log, at, GRPC_STATUS_RESOURCE_EXHAUSTED,
			    "over the limit");
	free(huge);
	free(packed);
	good_batch(keep, 8, 8);
	px_client_stop(keep);

	ck_assert_int_eq(metric_of(http_port, "parallax_grpc_bad_messages_total"), 7);
	db = pgtmp_connect(dsn);
	ck_assert_int_eq(pgtmp_long(db, "SELECT count(*) FROM events WHERE host_id = 'ok-host'"), 8);
	ck_assert_int_eq(pgtmp_long(db, "SELECT count(DISTINCT pid) FROM events WHERE host_id = 'ok-host'"), 8);
	ck_assert_int_eq(pgtmp_long(db, "SELECT seq FROM sources WHERE host_id = 'ok-host'"), 8);
	/* Only the last bad-host batch, the valid one, got in. */
	ck_assert_int_eq(pgtmp_long(db, "SELECT count(*) FROM sources WHERE host_id = 'bad-host'"), 1);
	ck_assert_int_eq(pgtmp_long(db, "SELECT count(*) FROM events WHERE host_id = 'bad-host'"), 2);
	ck_assert_int_eq(pgtmp_long(db, "SELECT count(*) FROM processes WHERE host_id = 'bad-host' AND argv[1] = 'caf\xc3\xa9' AND pid = 8"), 1);
	ck_assert_int_eq(pgtmp_long(db, "SELECT count(*) FROM events WHERE pid > 4194304"), 0);
	PQfinish(db);
	ck_assert_int_eq(cp_stop(pid), 0);
	tb_free(t);
	tb_free(proto);
	pgtmp_rmtree(dir);
	pgtmp_stop(&PG);
	grpc_shutdown();
}
END_TEST

static Suite *refuse_suite(void)
{
	Suite *s = suite_create("collector-refuse");
	TCase *tc = tcase_create("refuse");

	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, bad_messages_end_their_own_stream_with_a_status);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return px_check_run(refuse_suite());
}
