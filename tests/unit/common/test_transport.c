// SPDX-License-Identifier: Apache-2.0
/*
 * The gRPC transport over loopback with real gRPC: every batch is acked
 * once committed, a collector restart loses and doubles nothing, bad and
 * oversized messages end only their own stream, and pausing stops reads.
 *
 * The collector side here is a libuv loop on its own thread whose batch
 * callback plays the database: it keeps a high-water mark like the real
 * collector does and acks after "committing".
 */
#include <check.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <grpc/byte_buffer.h>
#include <grpc/byte_buffer_reader.h>
#include <grpc/grpc.h>
#include <grpc/grpc_security.h>
#include <grpc/support/time.h>

#include "host.h"
#include "log.h"
#include "transport.h"
#include "px_check.h"

/* ---- a fake collector on a loop thread --------------------------------- */

#define MAX_SEQ 4096

struct fake {
	uv_loop_t loop;
	uv_async_t cmd;
	pthread_t thread;
	struct px_server *srv;
	int port;
	pthread_mutex_t mu;
	uint64_t hwm;
	int committed[MAX_SEQ + 1];	/* times each seq was committed */
	int delivered;
	int duplicates;
	bool hold;			/* keep batches unacked */
	atomic_int refuse;		/* end streams with PERMISSION_DENIED */
	int refused;
	struct px_inbatch *held[MAX_SEQ];
	int n_held;
	/* commands run on the loop thread */
	enum { CMD_NONE, CMD_STOP_SERVER, CMD_START_SERVER, CMD_PAUSE,
	       CMD_RESUME, CMD_RELEASE, CMD_QUIT } want;
	atomic_int done;
	size_t max_msg;
};

static void on_batch(struct px_inbatch *ib, void *arg)
{
	struct fake *f = arg;
	uint64_t seq = ib->batch->seq;

	pthread_mutex_lock(&f->mu);
	f->delivered++;
	if (atomic_load(&f->refuse)) {
		f->refused++;
		pthread_mutex_unlock(&f->mu);
		px_inbatch_fail(ib, GRPC_STATUS_PERMISSION_DENIED, "not allowed");
		return;
	}
	if (f->hold && f->n_held < MAX_SEQ) {
		f->held[f->n_held++] = ib;
		pthread_mutex_unlock(&f->mu);
		return;
	}
	if (seq <= f->hwm) {
		f->duplicates++;
		pthread_mutex_unlock(&f->mu);
		px_inbatch_ack(ib, PARALLAX__V1__ACK_STATUS__ACK_STATUS_DUPLICATE,
			       NULL);
		return;
	}
	ck_assert_uint_eq(seq, f->hwm + 1);	/* no gaps, in order */
	f->hwm = seq;
	if (seq <= MAX_SEQ)
		f->committed[seq]++;
	pthread_mutex_unlock(&f->mu);
	px_inbatch_ack(ib, PARALLAX__V1__ACK_STATUS__ACK_STATUS_COMMITTED, NULL);
}

static void start_server(struct fake *f)
{
	char listen[64], err[256];
	struct px_server_config cfg = { .listen = listen,
					.max_message_bytes = f->max_msg };

	snprintf(listen, sizeof(listen), "127.0.0.1:%d", f->port);
	f->srv = px_server_start(&f->loop, &cfg, on_batch, f, err, sizeof(err));
	ck_assert_msg(f->srv != NULL, "server did not start: %s", err);
	f->port = px_server_port(f->srv);
}

static void on_cmd(uv_async_t *h)
{
	struct fake *f = h->data;

	switch (f->want) {
	case CMD_STOP_SERVER:
		px_server_stop(f->srv);
		f->srv = NULL;
		break;
	case CMD_START_SERVER:
		start_server(f);
		break;
	case CMD_PAUSE:
		px_server_set_paused(f->srv, true);
		break;
	case CMD_RESUME:
		px_server_set_paused(f->srv, false);
		break;
	case CMD_RELEASE:
		/* "Commit" nothing: the held batches are acked after their
		 * server is gone, which must only free them. */
		for (int i = 0; i < f->n_held; i++)
			px_inbatch_ack(f->held[i],
				       PARALLAX__V1__ACK_STATUS__ACK_STATUS_COMMITTED,
				       NULL);
		f->n_held = 0;
		f->hold = false;
		break;
	case CMD_QUIT:
		px_server_stop(f->srv);
		f->srv = NULL;
		uv_close((uv_handle_t *)&f->cmd, NULL);
		break;
	case CMD_NONE:
		break;
	}
	f->want = CMD_NONE;
	atomic_store(&f->done, 1);
}

/* Runs <cmd> on the loop thread and waits for it. */
static void run_cmd(struct fake *f, int cmd)
{
	atomic_store(&f->done, 0);
	f->want = cmd;
	uv_async_send(&f->cmd);
	while (!atomic_load(&f->done))
		usleep(1000);
}

static void *loop_main(void *arg)
{
	struct fake *f = arg;

	uv_run(&f->loop, UV_RUN_DEFAULT);
	return NULL;
}

static struct fake *fake_start(size_t max_msg)
{
	struct fake *f = calloc(1, sizeof(*f));

	pthread_mutex_init(&f->mu, NULL);
	f->max_msg = max_msg;
	uv_loop_init(&f->loop);
	uv_async_init(&f->loop, &f->cmd, on_cmd);
	f->cmd.data = f;
	start_server(f);
	pthread_create(&f->thread, NULL, loop_main, f);
	return f;
}

static void fake_stop(struct fake *f)
{
	run_cmd(f, CMD_QUIT);
	pthread_join(f->thread, NULL);
	uv_loop_close(&f->loop);
	free(f);
}

/* ---- sources ------------------------------------------------------------ */

static struct px_host host;
static Parallax__V1__HostFacts host_pb;
static Parallax__V1__Source source;

static void init_source(const char *id)
{
	static char boot[37];

	px_host_probe(&host);
	px_host_to_pb(&host, &host_pb);
	px_uuid4(boot);
	parallax__v1__source__init(&source);
	source.source_id = (char *)id;
	source.boot_id = boot;
	source.kind = PARALLAX__V1__SOURCE_KIND__SOURCE_KIND_SCANNER;
	source.host = &host_pb;
}

static struct px_client *client_for(struct fake *f)
{
	char target[64], err[256];
	struct px_client_config cfg = { .target = target, .source = &source };
	struct px_client *c;

	snprintf(target, sizeof(target), "127.0.0.1:%d", f->port);
	c = px_client_start(&cfg, err, sizeof(err));
	ck_assert_msg(c != NULL, "client did not start: %s", err);
	return c;
}

/* Sends one batch carrying a single finding named after <i>. */
static uint64_t send_one(struct px_client *c, int i)
{
	Parallax__V1__Batch b = PARALLAX__V1__BATCH__INIT;
	Parallax__V1__Finding fd = PARALLAX__V1__FINDING__INIT;
	Parallax__V1__PackageFinding pkg = PARALLAX__V1__PACKAGE_FINDING__INIT;
	Parallax__V1__Finding *fds[1] = { &fd };
	char path[64];
	uint64_t seq = 0;
	int err;

	snprintf(path, sizeof(path), "/srv/app-%d.jar", i);
	fd.type = PARALLAX__V1__FINDING_TYPE__FINDING_TYPE_PACKAGE;
	fd.path = path;
	fd.detail_case = PARALLAX__V1__FINDING__DETAIL_PACKAGE;
	fd.package = &pkg;
	pkg.name = "org.example:app";
	b.findings = fds;
	b.n_findings = 1;
	err = px_client_send(c, &b, &seq);
	ck_assert_int_eq(err, 0);
	ck_assert_ptr_null(b.source);	/* borrowed only while packing */
	return seq;
}

/* ---- tests --------------------------------------------------------------- */

START_TEST(every_batch_is_acked_after_commit)
{
	struct fake *f = fake_start(0);
	struct px_client_stats st;
	struct px_client *c;

	init_source("scanner:test-ack");
	c = client_for(f);
	for (int i = 1; i <= 300; i++)
		ck_assert_uint_eq(send_one(c, i), (uint64_t)i);
	ck_assert_int_eq(px_client_flush(c, 20000), 0);
	px_client_get_stats(c, &st);
	ck_assert_uint_eq(st.acked, 300);
	ck_assert_uint_eq(st.pending, 0);
	ck_assert_uint_eq(st.pending_bytes, 0);
	for (int i = 1; i <= 300; i++)
		ck_assert_int_eq(f->committed[i], 1);
	ck_assert_int_eq(f->duplicates, 0);
	px_client_stop(c);
	fake_stop(f);
}
END_TEST

START_TEST(a_collector_restart_loses_and_doubles_nothing)
{
	struct fake *f = fake_start(0);
	struct px_client_stats st;
	struct px_client *c;
	int delivered;

	init_source("scanner:test-restart");
	c = client_for(f);
	for (int i = 1; i <= 100; i++)
		send_one(c, i);
	ck_assert_int_eq(px_client_flush(c, 20000), 0);

	/* The next batches reach the collector but are never acked: the
	 * collector dies before committing them. */
	f->hold = true;
	for (int i = 101; i <= 150; i++)
		send_one(c, i);
	for (int w = 0; w < 2000; w++) {
		pthread_mutex_lock(&f->mu);
		delivered = f->n_held;
		pthread_mutex_unlock(&f->mu);
		if (delivered == 50)
			break;
		usleep(5000);
	}
	ck_assert_int_eq(delivered, 50);
	run_cmd(f, CMD_STOP_SERVER);
	run_cmd(f, CMD_RELEASE);

	/* While it is down, more batches queue up in the client. */
	for (int i = 151; i <= 200; i++)
		send_one(c, i);
	ck_assert_int_eq(px_client_flush(c, 300), -ETIMEDOUT);

	run_cmd(f, CMD_START_SERVER);
	ck_assert_int_eq(px_client_flush(c, 30000), 0);
	px_client_get_stats(c, &st);
	ck_assert_uint_eq(st.pending, 0);
	ck_assert_uint_ge(st.reconnects, 1);
	pthread_mutex_lock(&f->mu);
	for (int i = 1; i <= 200; i++)
		ck_assert_msg(f->committed[i] == 1, "seq %d committed %d times",
			      i, f->committed[i]);
	pthread_mutex_unlock(&f->mu);
	px_client_stop(c);
	fake_stop(f);
}
END_TEST

/* A raw stream that sends <n> messages, half-closes and collects the acks
 * and the final status. */
struct raw_result {
	grpc_status_code status;
	int acks;
};

static struct raw_result raw_stream(int port, grpc_slice *msgs, int n)
{
	struct raw_result r = { GRPC_STATUS_UNKNOWN, 0 };
	grpc_completion_queue *cq = grpc_completion_queue_create_for_pluck(NULL);
	grpc_channel_credentials *cr = grpc_insecure_credentials_create();
	grpc_metadata_array md, tr;
	grpc_slice details;
	grpc_channel *ch;
	grpc_call *call;
	char target[64];
	grpc_op op[2];
	int tag = 0;

	snprintf(target, sizeof(target), "127.0.0.1:%d", port);
	ch = grpc_channel_create(target, cr, NULL);
	call = grpc_channel_create_call(
		ch, NULL, GRPC_PROPAGATE_DEFAULTS, cq,
		grpc_slice_from_static_string(PX_METHOD_STREAM), NULL,
		gpr_inf_future(GPR_CLOCK_REALTIME), NULL);
	grpc_metadata_array_init(&md);
	grpc_metadata_array_init(&tr);
	memset(op, 0, sizeof(op));
	op[0].op = GRPC_OP_SEND_INITIAL_METADATA;
	grpc_call_start_batch(call, op, 1, &tag, NULL);
	grpc_completion_queue_pluck(cq, &tag, gpr_inf_future(GPR_CLOCK_REALTIME),
				    NULL);
	for (int i = 0; i < n; i++) {
		grpc_byte_buffer *bb = grpc_raw_byte_buffer_create(&msgs[i], 1);

		memset(op, 0, sizeof(op));
		op[0].op = GRPC_OP_SEND_MESSAGE;
		op[0].data.send_message.send_message = bb;
		grpc_call_start_batch(call, op, 1, &tag, NULL);
		grpc_completion_queue_pluck(
			cq, &tag, gpr_inf_future(GPR_CLOCK_REALTIME), NULL);
		grpc_byte_buffer_destroy(bb);
	}
	memset(op, 0, sizeof(op));
	op[0].op = GRPC_OP_SEND_CLOSE_FROM_CLIENT;
	grpc_call_start_batch(call, op, 1, &tag, NULL);
	grpc_completion_queue_pluck(cq, &tag, gpr_inf_future(GPR_CLOCK_REALTIME),
				    NULL);
	memset(op, 0, sizeof(op));
	op[0].op = GRPC_OP_RECV_INITIAL_METADATA;
	op[0].data.recv_initial_metadata.recv_initial_metadata = &md;
	grpc_call_start_batch(call, op, 1, &tag, NULL);
	grpc_completion_queue_pluck(cq, &tag, gpr_inf_future(GPR_CLOCK_REALTIME),
				    NULL);
	for (;;) {
		grpc_byte_buffer *bb = NULL;
		grpc_event ev;

		memset(op, 0, sizeof(op));
		op[0].op = GRPC_OP_RECV_MESSAGE;
		op[0].data.recv_message.recv_message = &bb;
		grpc_call_start_batch(call, op, 1, &tag, NULL);
		ev = grpc_completion_queue_pluck(
			cq, &tag, gpr_inf_future(GPR_CLOCK_REALTIME), NULL);
		if (!ev.success || bb == NULL)
			break;
		r.acks++;
		grpc_byte_buffer_destroy(bb);
	}
	memset(op, 0, sizeof(op));
	op[0].op = GRPC_OP_RECV_STATUS_ON_CLIENT;
	op[0].data.recv_status_on_client.trailing_metadata = &tr;
	op[0].data.recv_status_on_client.status = &r.status;
	op[0].data.recv_status_on_client.status_details = &details;
	grpc_call_start_batch(call, op, 1, &tag, NULL);
	grpc_completion_queue_pluck(cq, &tag, gpr_inf_future(GPR_CLOCK_REALTIME),
				    NULL);
	grpc_slice_unref(details);
	grpc_metadata_array_destroy(&md);
	grpc_metadata_array_destroy(&tr);
	grpc_call_unref(call);
	grpc_channel_destroy(ch);
	grpc_channel_credentials_release(cr);
	grpc_completion_queue_shutdown(cq);
	grpc_completion_queue_destroy(cq);
	return r;
}

static grpc_slice packed_batch(uint64_t seq)
{
	Parallax__V1__Batch b = PARALLAX__V1__BATCH__INIT;
	grpc_slice s;

	b.source = &source;
	b.seq = seq;
	s = grpc_slice_malloc(parallax__v1__batch__get_packed_size(&b));
	parallax__v1__batch__pack(&b, GRPC_SLICE_START_PTR(s));
	return s;
}

START_TEST(a_malformed_message_ends_its_stream_but_keeps_what_came_before)
{
	struct fake *f = fake_start(0);
	struct raw_result r;
	grpc_slice msgs[3];

	grpc_init();
	init_source("scanner:test-malformed");
	msgs[0] = packed_batch(1);
	msgs[1] = packed_batch(2);
	msgs[2] = grpc_slice_from_copied_string("\xff\xff\xff\xff not protobuf");
	r = raw_stream(f->port, msgs, 3);
	ck_assert_int_eq(r.status, GRPC_STATUS_INVALID_ARGUMENT);
	ck_assert_int_eq(r.acks, 2);	/* both good batches acked first */
	ck_assert_int_eq(f->committed[1], 1);
	ck_assert_int_eq(f->committed[2], 1);
	for (int i = 0; i < 3; i++)
		grpc_slice_unref(msgs[i]);
	grpc_shutdown();
	fake_stop(f);
}
END_TEST

START_TEST(an_invalid_batch_is_refused_with_invalid_argument)
{
	struct fake *f = fake_start(0);
	struct raw_result r;
	grpc_slice msg;

	grpc_init();
	init_source("scanner:test-invalid");
	msg = packed_batch(0);	/* seq must start at 1 */
	r = raw_stream(f->port, &msg, 1);
	ck_assert_int_eq(r.status, GRPC_STATUS_INVALID_ARGUMENT);
	ck_assert_int_eq(r.acks, 0);
	ck_assert_int_eq(f->delivered, 0);
	grpc_slice_unref(msg);
	grpc_shutdown();
	fake_stop(f);
}
END_TEST

START_TEST(an_oversized_message_is_refused_and_other_streams_go_on)
{
	struct fake *f = fake_start(64 * 1024);
	struct px_client *c;
	struct raw_result r;
	grpc_slice msg;

	grpc_init();
	init_source("scanner:test-oversized");
	c = client_for(f);
	send_one(c, 1);
	msg = grpc_slice_malloc(200 * 1024);
	memset(GRPC_SLICE_START_PTR(msg), 'x', GRPC_SLICE_LENGTH(msg));
	r = raw_stream(f->port, &msg, 1);
	ck_assert_int_eq(r.status, GRPC_STATUS_RESOURCE_EXHAUSTED);
	send_one(c, 2);
	ck_assert_int_eq(px_client_flush(c, 20000), 0);
	ck_assert_int_eq(f->committed[1], 1);
	ck_assert_int_eq(f->committed[2], 1);
	grpc_slice_unref(msg);
	px_client_stop(c);
	grpc_shutdown();
	fake_stop(f);
}
END_TEST

START_TEST(a_refused_batch_stays_with_the_source_until_accepted)
{
	struct fake *f = fake_start(0);
	struct px_client_stats st;
	struct px_client *c;

	init_source("scanner:test-refused");
	c = client_for(f);
	send_one(c, 1);
	ck_assert_int_eq(px_client_flush(c, 20000), 0);
	atomic_store(&f->refuse, 1);
	send_one(c, 2);
	ck_assert_int_eq(px_client_flush(c, 500), -ETIMEDOUT);
	px_client_get_stats(c, &st);
	ck_assert_uint_eq(st.pending, 1);
	ck_assert_uint_eq(st.rejected, 0);
	pthread_mutex_lock(&f->mu);
	ck_assert_int_ge(f->refused, 1);
	pthread_mutex_unlock(&f->mu);
	atomic_store(&f->refuse, 0);	/* the operator allows it */
	ck_assert_int_eq(px_client_flush(c, 30000), 0);
	ck_assert_int_eq(f->committed[2], 1);
	px_client_stop(c);
	fake_stop(f);
}
END_TEST

START_TEST(a_paused_server_reads_nothing_until_resumed)
{
	struct fake *f = fake_start(0);
	struct px_client *c;
	int seen;

	init_source("scanner:test-pause");
	c = client_for(f);
	send_one(c, 1);
	ck_assert_int_eq(px_client_flush(c, 20000), 0);
	run_cmd(f, CMD_PAUSE);
	for (int i = 2; i <= 20; i++)
		send_one(c, i);
	usleep(300 * 1000);
	pthread_mutex_lock(&f->mu);
	seen = f->delivered;
	pthread_mutex_unlock(&f->mu);
	/* The read armed before the pause may deliver one more batch. */
	ck_assert_int_le(seen, 2);
	run_cmd(f, CMD_RESUME);
	ck_assert_int_eq(px_client_flush(c, 20000), 0);
	ck_assert_int_eq(f->delivered, 20);
	px_client_stop(c);
	fake_stop(f);
}
END_TEST

START_TEST(batch_validation_names_the_problem)
{
	Parallax__V1__Batch b = PARALLAX__V1__BATCH__INIT;
	Parallax__V1__Finding fd = PARALLAX__V1__FINDING__INIT;
	Parallax__V1__PackageFinding pkg = PARALLAX__V1__PACKAGE_FINDING__INIT;
	Parallax__V1__Finding *fds[1] = { &fd };

	init_source("scanner:test-validate");
	ck_assert_str_eq(px_batch_invalid(&b), "batch without a source");
	b.source = &source;
	ck_assert_str_eq(px_batch_invalid(&b), "seq must start at 1");
	b.seq = 1;
	ck_assert_ptr_null(px_batch_invalid(&b));
	fd.path = "/a.jar";
	fd.sha256 = "ABC";
	fd.detail_case = PARALLAX__V1__FINDING__DETAIL_PACKAGE;
	fd.package = &pkg;
	pkg.name = "x";
	b.findings = fds;
	b.n_findings = 1;
	ck_assert_ptr_nonnull(strstr(px_batch_invalid(&b), "sha256"));
	fd.sha256 = "";
	ck_assert_ptr_null(px_batch_invalid(&b));
}
END_TEST

/* Drain callback: checks that batches come oldest first, unpacked as
 * sent, and refuses the one numbered <refuse_at>. */
struct drained {
	uint64_t next_seq;
	uint64_t refuse_at;
	int taken;
};

static int take_batch(const uint8_t *packed, size_t len, void *arg)
{
	struct drained *d = arg;
	Parallax__V1__Batch *b;
	char path[64];

	b = parallax__v1__batch__unpack(NULL, len, packed);
	ck_assert_ptr_nonnull(b);
	ck_assert_uint_eq(b->seq, d->next_seq);
	ck_assert_ptr_nonnull(b->source);
	ck_assert_str_eq(b->source->source_id, "scanner:test-drain");
	ck_assert_uint_eq(b->n_findings, 1);
	snprintf(path, sizeof(path), "/srv/app-%d.jar", (int)b->seq);
	ck_assert_str_eq(b->findings[0]->path, path);
	parallax__v1__batch__free_unpacked(b, NULL);
	if (d->next_seq == d->refuse_at)
		return -EIO;
	d->next_seq++;
	d->taken++;
	return 0;
}

START_TEST(a_drain_hands_back_the_unacked_batches_oldest_first)
{
	struct px_client_config cfg = { .target = "127.0.0.1:1",
					.source = &source };
	struct drained d = { .next_seq = 1, .refuse_at = 3 };
	Parallax__V1__Batch b = PARALLAX__V1__BATCH__INIT;
	struct px_client_stats st;
	struct px_client *c;
	char err[256];

	/* Nothing listens on port 1: every batch stays pending. */
	init_source("scanner:test-drain");
	c = px_client_start(&cfg, err, sizeof(err));
	ck_assert_msg(c != NULL, "client did not start: %s", err);
	for (int i = 1; i <= 5; i++)
		send_one(c, i);

	/* A refusal stops the drain there and keeps the rest. */
	ck_assert_int_eq(px_client_drain(c, take_batch, &d), -EIO);
	ck_assert_int_eq(d.taken, 2);
	px_client_get_stats(c, &st);
	ck_assert_uint_eq(st.pending, 3);
	ck_assert_uint_eq(st.acked, 0);

	d.refuse_at = 0;
	ck_assert_int_eq(px_client_drain(c, take_batch, &d), 3);
	ck_assert_int_eq(d.taken, 5);
	px_client_get_stats(c, &st);
	ck_assert_uint_eq(st.pending, 0);
	ck_assert_uint_eq(st.pending_bytes, 0);
	ck_assert_int_eq(px_client_drain(c, take_batch, &d), 0);
	ck_assert_int_eq(px_client_send(c, &b, NULL), -ESHUTDOWN);
	px_client_stop(c);
}
END_TEST

static Suite *transport_suite(void)
{
	Suite *s = suite_create("transport");
	TCase *tc = tcase_create("loopback");

	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, every_batch_is_acked_after_commit);
	tcase_add_test(tc, a_collector_restart_loses_and_doubles_nothing);
	tcase_add_test(tc,
		       a_malformed_message_ends_its_stream_but_keeps_what_came_before);
	tcase_add_test(tc, an_invalid_batch_is_refused_with_invalid_argument);
	tcase_add_test(tc, an_oversized_message_is_refused_and_other_streams_go_on);
	tcase_add_test(tc, a_refused_batch_stays_with_the_source_until_accepted);
	tcase_add_test(tc, a_paused_server_reads_nothing_until_resumed);
	tcase_add_test(tc, batch_validation_names_the_problem);
	tcase_add_test(tc, a_drain_hands_back_the_unacked_batches_oldest_first);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return px_check_run(transport_suite());
	px_log_set_level(getenv("PX_TEST_LOG") ? getenv("PX_TEST_LOG") : "error");
}
