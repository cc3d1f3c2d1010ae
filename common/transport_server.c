// SPDX-License-Identifier: Apache-2.0
/*
 * gRPC streaming server used by the collector.
 *
 * A completion-queue thread owns gRPC: it accepts streams, reads messages,
 * decodes and validates them, and appends whole batches to a queue that a
 * uv_async_t drains on the collector's loop.  The loop answers each batch
 * with px_inbatch_ack() once its rows are committed; the ack is packed there
 * and sent on the stream (one SEND_MESSAGE in flight per stream, the rest
 * queued).  A stream's status is sent only after every batch it delivered
 * has been acked, so a client that half-closes receives all its acks.
 *
 * Lifetimes: a stream lives while it has gRPC ops outstanding or batches at
 * the loop.  The server lives while its thread runs, its async handle is
 * open, or any batch is still at the loop.  One mutex (server->mu) covers
 * all of it; gRPC calls are made under it, which gRPC core allows.
 */
#include "transport.h"

#include <errno.h>
#include <limits.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <grpc/byte_buffer.h>
#include <grpc/byte_buffer_reader.h>
#include <grpc/grpc.h>
#include <grpc/grpc_security.h>
#include <grpc/slice.h>
#include <grpc/support/alloc.h>
#include <grpc/support/time.h>

#include "host.h"
#include "log.h"
#include "tls.h"

enum tag_kind {
	T_NEW,		/* a stream arrived */
	T_MD,		/* initial metadata sent */
	T_RECV,		/* a message (or the half-close) arrived */
	T_CLOSE,	/* the call is over on the server side */
	T_SEND,		/* an ack went out */
	T_STATUS,	/* the final status went out */
	T_SHUTDOWN,	/* the server finished shutting down */
	T_COUNT,
};

struct tag {
	enum tag_kind kind;
	struct px_stream *st;
};

struct ack_out {
	grpc_slice payload;
	struct ack_out *next;
};

struct px_stream {
	struct px_server *srv;
	grpc_call *call;
	gpr_timespec deadline;
	grpc_metadata_array md;
	grpc_byte_buffer *recv_bb;
	grpc_byte_buffer *send_bb;
	int cancelled;
	struct tag tags[T_COUNT];

	int ops;			/* gRPC ops outstanding */
	int at_loop;			/* batches handed over, not acked */
	bool closed;			/* RECV_CLOSE completed */
	bool reading_done;		/* half-close, error, or cancel */
	bool status_sent;
	bool parked;			/* waiting for resume to read */
	bool refused;			/* px_inbatch_fail() ran: later
					 * batches are refused too */
	bool send_in_flight;
	grpc_status_code final_code;
	char final_detail[160];
	struct ack_out *acks, *acks_tail;
	char *peer;
	uint64_t id;			/* for logs: the server's nth stream */
	char *identity;
	char **hosts;			/* NULL-terminated, see peer_hosts() */
	struct px_stream *next_parked;
};

struct px_server {
	grpc_server *server;
	grpc_completion_queue *cq;
	void *method;
	pthread_t thread;
	pthread_mutex_t mu;
	struct tag new_tag;		/* kind T_NEW; st set per request */
	struct tag shutdown_tag;
	struct px_stream *waiting;	/* the stream awaiting T_NEW */

	uv_loop_t *loop;
	uv_async_t async;
	px_server_batch_fn fn;
	void *fn_arg;
	struct px_inbatch *q_head, *q_tail;

	bool paused;
	bool stopping;
	bool thread_done;
	bool async_closed;
	struct px_stream *parked;
	int port;
	size_t max_msg;
	uint64_t next_stream_id;
	struct px_server_stats st;
};

static void maybe_free_server(struct px_server *s);

/* ---- stream helpers (all with srv->mu held) ---------------------------- */

static bool start(struct px_stream *st, grpc_op *ops, size_t n,
		  enum tag_kind kind)
{
	grpc_call_error e;

	e = grpc_call_start_batch(st->call, ops, n, &st->tags[kind], NULL);
	if (e != GRPC_CALL_OK) {
		px_error("transport", "grpc_call_start_batch failed",
			 "peer=%s op=%d err=%d", st->peer, kind, (int)e);
		return false;
	}
	st->ops++;
	return true;
}

static void arm_recv(struct px_stream *st)
{
	grpc_op op;

	if (st->reading_done || st->closed)
		return;
	if (st->srv->paused) {
		if (!st->parked) {
			st->parked = true;
			st->next_parked = st->srv->parked;
			st->srv->parked = st;
		}
		return;
	}
	memset(&op, 0, sizeof(op));
	op.op = GRPC_OP_RECV_MESSAGE;
	op.data.recv_message.recv_message = &st->recv_bb;
	if (!start(st, &op, 1, T_RECV))
		st->reading_done = true;
}

/* Sends the final status once reading is over and every ack is out. */
static void maybe_finish(struct px_stream *st)
{
	grpc_slice details;
	grpc_op op;

	if (st->srv->stopping || st->status_sent || st->closed ||
	    !st->reading_done ||
	    st->at_loop > 0 || st->acks != NULL || st->send_in_flight)
		return;
	details = grpc_slice_from_copied_string(st->final_detail);
	memset(&op, 0, sizeof(op));
	op.op = GRPC_OP_SEND_STATUS_FROM_SERVER;
	op.data.send_status_from_server.status = st->final_code;
	op.data.send_status_from_server.status_details = &details;
	st->status_sent = start(st, &op, 1, T_STATUS);
	grpc_slice_unref(details);
}

static void pump_acks(struct px_stream *st)
{
	struct ack_out *a = st->acks;
	grpc_op op;

	if (a == NULL || st->send_in_flight || st->closed || st->srv->stopping)
		return;
	st->acks = a->next;
	if (st->acks == NULL)
		st->acks_tail = NULL;
	st->send_bb = grpc_raw_byte_buffer_create(&a->payload, 1);
	grpc_slice_unref(a->payload);
	free(a);
	memset(&op, 0, sizeof(op));
	op.op = GRPC_OP_SEND_MESSAGE;
	op.data.send_message.send_message = st->send_bb;
	if (start(st, &op, 1, T_SEND)) {
		st->send_in_flight = true;
	} else {
		grpc_byte_buffer_destroy(st->send_bb);
		st->send_bb = NULL;
	}
}

static void drop_acks(struct px_stream *st)
{
	while (st->acks != NULL) {
		struct ack_out *a = st->acks;

		st->acks = a->next;
		grpc_slice_unref(a->payload);
		free(a);
	}
	st->acks_tail = NULL;
}

/* Frees the stream when nothing refers to it any more. */
static void maybe_free_stream(struct px_stream *st)
{
	if (st->ops > 0 || st->at_loop > 0)
		return;
	drop_acks(st);
	if (st->recv_bb != NULL)
		grpc_byte_buffer_destroy(st->recv_bb);
	if (st->send_bb != NULL)
		grpc_byte_buffer_destroy(st->send_bb);
	grpc_metadata_array_destroy(&st->md);
	if (st->call != NULL)
		grpc_call_unref(st->call);
	st->srv->st.streams_open--;
	gpr_free(st->peer);
	free(st->identity);
	for (char **h = st->hosts; h != NULL && *h != NULL; h++)
		free(*h);
	free(st->hosts);
	free(st);
}

/* Ends reading on <st> with an error status sent after its pending acks. */
static void fail_stream(struct px_stream *st, grpc_status_code code,
			const char *why)
{
	px_warn("transport", "stream refused a message",
		"stream=%" PRIu64 " peer=%s status=%d reason=%s", st->id,
		st->peer, (int)code, px_q(why));
	st->srv->st.bad_messages++;
	st->reading_done = true;
	st->final_code = code;
	snprintf(st->final_detail, sizeof(st->final_detail), "%s", why);
	maybe_finish(st);
}

/* ---- accepting streams -------------------------------------------------- */

static struct px_stream *new_stream(struct px_server *s)
{
	struct px_stream *st = calloc(1, sizeof(*st));

	if (st == NULL)
		return NULL;
	st->srv = s;
	for (int i = 0; i < T_COUNT; i++) {
		st->tags[i].kind = (enum tag_kind)i;
		st->tags[i].st = st;
	}
	st->final_code = GRPC_STATUS_OK;
	grpc_metadata_array_init(&st->md);
	return st;
}

/* Asks gRPC for the next incoming stream. */
static void request_stream(struct px_server *s)
{
	struct px_stream *st;
	grpc_call_error e;

	if (s->stopping)
		return;
	st = new_stream(s);
	if (st == NULL) {
		px_error("transport", "out of memory accepting a stream");
		return;
	}
	s->waiting = st;
	e = grpc_server_request_registered_call(s->server, s->method, &st->call,
						&st->deadline, &st->md, NULL,
						s->cq, s->cq, &st->tags[T_NEW]);
	if (e != GRPC_CALL_OK) {
		px_error("transport", "cannot request a call", "err=%d", (int)e);
		grpc_metadata_array_destroy(&st->md);
		free(st);
		s->waiting = NULL;
	}
}

/* The verified client certificate's common name, or NULL. */
static char *peer_identity(grpc_auth_context *ctx)
{
	grpc_auth_property_iterator it;
	const grpc_auth_property *p;

	it = grpc_auth_context_find_properties_by_name(ctx,
						       GRPC_X509_CN_PROPERTY_NAME);
	p = grpc_auth_property_iterator_next(&it);
	return p != NULL ? strndup(p->value, p->value_length) : NULL;
}

/*
 * The hosts the verified certificate may report for: the rest of each SAN
 * URI that starts with PX_TLS_HOST_URI, as a NULL-terminated array (empty
 * when it names none, so that the collector refuses every batch of it).
 * NULL only when out of memory.
 */
static char **peer_hosts(grpc_auth_context *ctx)
{
	size_t pre = strlen(PX_TLS_HOST_URI), n = 0;
	grpc_auth_property_iterator it;
	const grpc_auth_property *p;
	char **hosts = calloc(1, sizeof(*hosts));

	it = grpc_auth_context_find_properties_by_name(ctx,
						       GRPC_PEER_URI_PROPERTY_NAME);
	while (hosts != NULL && (p = grpc_auth_property_iterator_next(&it))) {
		char **more;

		if (p->value_length <= pre ||
		    strncmp(p->value, PX_TLS_HOST_URI, pre) != 0)
			continue;
		more = realloc(hosts, (n + 2) * sizeof(*hosts));
		if (more == NULL)
			break;
		hosts = more;
		hosts[n] = strndup(p->value + pre, p->value_length - pre);
		if (hosts[n] == NULL)
			break;
		hosts[++n] = NULL;
	}
	return hosts;
}

/* Fills the stream's identity and host bindings from its certificate. */
static void read_auth(struct px_stream *st)
{
	grpc_auth_context *ctx = grpc_call_auth_context(st->call);

	if (ctx == NULL)
		return;
	if (grpc_auth_context_peer_is_authenticated(ctx)) {
		st->identity = peer_identity(ctx);
		st->hosts = peer_hosts(ctx);
	}
	grpc_auth_context_release(ctx);
}

static void on_new(struct px_server *s, struct px_stream *st, bool ok)
{
	grpc_op op;

	s->waiting = NULL;
	if (!ok) {	/* shutting down */
		grpc_metadata_array_destroy(&st->md);
		free(st);
		return;
	}
	request_stream(s);
	s->st.streams_open++;
	st->peer = grpc_call_get_peer(st->call);
	st->id = ++s->next_stream_id;
	read_auth(st);
	px_debug("transport", "stream opened", "peer=%s identity=%s", st->peer,
		 st->identity ? st->identity : "-");

	memset(&op, 0, sizeof(op));
	op.op = GRPC_OP_SEND_INITIAL_METADATA;
	start(st, &op, 1, T_MD);
	memset(&op, 0, sizeof(op));
	op.op = GRPC_OP_RECV_CLOSE_ON_SERVER;
	op.data.recv_close_on_server.cancelled = &st->cancelled;
	start(st, &op, 1, T_CLOSE);
	arm_recv(st);
	maybe_free_stream(st);
}

/* ---- receiving batches --------------------------------------------------- */

static Parallax__V1__Batch *decode(grpc_byte_buffer *bb, size_t *len)
{
	grpc_byte_buffer_reader rd;
	Parallax__V1__Batch *b;
	grpc_slice sl;

	if (!grpc_byte_buffer_reader_init(&rd, bb))
		return NULL;
	sl = grpc_byte_buffer_reader_readall(&rd);
	grpc_byte_buffer_reader_destroy(&rd);
	*len = GRPC_SLICE_LENGTH(sl);
	b = parallax__v1__batch__unpack(NULL, *len, GRPC_SLICE_START_PTR(sl));
	grpc_slice_unref(sl);
	return b;
}

/* Queues a decoded batch for the loop and wakes it. */
static void hand_over(struct px_stream *st, Parallax__V1__Batch *b, size_t len)
{
	struct px_server *s = st->srv;
	struct px_inbatch *ib = calloc(1, sizeof(*ib));

	if (ib == NULL) {
		parallax__v1__batch__free_unpacked(b, NULL);
		fail_stream(st, GRPC_STATUS_RESOURCE_EXHAUSTED, "out of memory");
		return;
	}
	ib->batch = b;
	ib->peer = st->peer;
	ib->peer_identity = st->identity;
	ib->peer_hosts = (const char *const *)st->hosts;
	ib->wire_bytes = len;
	ib->received_ns = px_mono_ns();
	ib->stream = st;
	st->at_loop++;
	if (s->q_tail != NULL)
		s->q_tail->next = ib;
	else
		s->q_head = ib;
	s->q_tail = ib;
	s->st.batches_in++;
	s->st.bytes_in += len;
	s->st.batches_queued++;
	uv_async_send(&s->async);
}

static void on_recv(struct px_stream *st, bool ok)
{
	grpc_byte_buffer *bb = st->recv_bb;
	Parallax__V1__Batch *b;
	const char *why;
	size_t len = 0;

	st->recv_bb = NULL;
	if (!ok) {
		/* The peer cancelled, the connection broke, or gRPC core
		 * refused a message past its own limit (twice ours, see
		 * server_args()); the core does not say which. */
		px_info("transport", "stream read failed",
			"stream=%" PRIu64 " peer=%s reason=%s", st->id,
			st->peer, px_q("cancelled, disconnected, or a message over the transport limit"));
		st->reading_done = true;
		return;
	}
	if (bb == NULL) {	/* the client half-closed: finish cleanly */
		st->reading_done = true;
		maybe_finish(st);
		return;
	}
	len = grpc_byte_buffer_length(bb);
	if (len > st->srv->max_msg) {
		char too_big[96];

		grpc_byte_buffer_destroy(bb);
		snprintf(too_big, sizeof(too_big),
			 "message of %zu bytes over the limit of %zu", len,
			 st->srv->max_msg);
		fail_stream(st, GRPC_STATUS_RESOURCE_EXHAUSTED, too_big);
		return;
	}
	b = decode(bb, &len);
	grpc_byte_buffer_destroy(bb);
	if (b == NULL) {
		fail_stream(st, GRPC_STATUS_INVALID_ARGUMENT,
			    "message is not a parallax.v1.Batch");
		return;
	}
	why = px_batch_invalid(b);
	if (why != NULL) {
		parallax__v1__batch__free_unpacked(b, NULL);
		fail_stream(st, GRPC_STATUS_INVALID_ARGUMENT, why);
		return;
	}
	hand_over(st, b, len);
	arm_recv(st);
}

static void on_stream_event(struct px_stream *st, enum tag_kind kind, bool ok)
{
	st->ops--;
	switch (kind) {
	case T_RECV:
		on_recv(st, ok);
		break;
	case T_SEND:
		grpc_byte_buffer_destroy(st->send_bb);
		st->send_bb = NULL;
		st->send_in_flight = false;
		if (ok)
			pump_acks(st);
		maybe_finish(st);
		break;
	case T_CLOSE:
		st->closed = true;
		st->reading_done = true;
		if (st->cancelled)
			px_debug("transport", "stream cancelled by peer",
				 "peer=%s", st->peer);
		drop_acks(st);
		break;
	default:
		break;
	}
	maybe_free_stream(st);
}

static void *server_main(void *arg)
{
	struct px_server *s = arg;

	for (;;) {
		grpc_event ev = grpc_completion_queue_next(
			s->cq, gpr_inf_future(GPR_CLOCK_REALTIME), NULL);
		struct tag *t;

		if (ev.type == GRPC_QUEUE_SHUTDOWN)
			break;
		if (ev.type != GRPC_OP_COMPLETE)
			continue;
		t = ev.tag;
		pthread_mutex_lock(&s->mu);
		if (t->kind == T_SHUTDOWN)
			grpc_completion_queue_shutdown(s->cq);
		else if (t->kind == T_NEW)
			on_new(s, t->st, ev.success);
		else
			on_stream_event(t->st, t->kind, ev.success);
		pthread_mutex_unlock(&s->mu);
	}
	return NULL;
}

/* ---- the loop side ----------------------------------------------------- */

static void on_async(uv_async_t *h)
{
	struct px_server *s = h->data;
	struct px_inbatch *ib;

	pthread_mutex_lock(&s->mu);
	ib = s->q_head;
	s->q_head = s->q_tail = NULL;
	pthread_mutex_unlock(&s->mu);
	while (ib != NULL) {
		struct px_inbatch *next = ib->next;
		bool refused;

		ib->next = NULL;
		pthread_mutex_lock(&s->mu);
		refused = ib->stream->refused;
		pthread_mutex_unlock(&s->mu);
		/* After a refusal, a later batch of the stream must not
		 * commit: its seq would raise the source's mark past the
		 * refused one, whose replay would then count as a duplicate. */
		if (refused)
			px_inbatch_fail(ib, GRPC_STATUS_ABORTED,
					"an earlier batch was refused");
		else
			s->fn(ib, s->fn_arg);
		ib = next;
	}
}

void px_inbatch_ack(struct px_inbatch *ib, Parallax__V1__AckStatus status,
		    const char *detail)
{
	struct px_stream *st = ib->stream;
	struct px_server *s = st->srv;
	Parallax__V1__Ack ack = PARALLAX__V1__ACK__INIT;
	struct ack_out *a;

	ack.seq = ib->batch->seq;
	ack.status = status;
	ack.detail = (char *)(detail != NULL ? detail : "");
	a = calloc(1, sizeof(*a));
	if (a != NULL) {
		size_t n = parallax__v1__ack__get_packed_size(&ack);

		a->payload = grpc_slice_malloc(n);
		parallax__v1__ack__pack(&ack, GRPC_SLICE_START_PTR(a->payload));
	}
	parallax__v1__batch__free_unpacked(ib->batch, NULL);
	free(ib);

	pthread_mutex_lock(&s->mu);
	st->at_loop--;
	s->st.batches_queued--;
	if (a != NULL && !st->closed && !s->stopping) {
		if (st->acks_tail != NULL)
			st->acks_tail->next = a;
		else
			st->acks = a;
		st->acks_tail = a;
		pump_acks(st);
	} else if (a != NULL) {
		grpc_slice_unref(a->payload);
		free(a);
	}
	maybe_finish(st);
	maybe_free_stream(st);
	pthread_mutex_unlock(&s->mu);
	maybe_free_server(s);
}

void px_inbatch_fail(struct px_inbatch *ib, int code, const char *detail)
{
	struct px_stream *st = ib->stream;
	struct px_server *s = st->srv;

	parallax__v1__batch__free_unpacked(ib->batch, NULL);
	free(ib);

	pthread_mutex_lock(&s->mu);
	st->at_loop--;
	s->st.batches_queued--;
	st->refused = true;
	if (!st->reading_done || st->final_code == GRPC_STATUS_OK) {
		st->reading_done = true;
		st->final_code = (grpc_status_code)code;
		snprintf(st->final_detail, sizeof(st->final_detail), "%s",
			 detail != NULL ? detail : "refused");
	}
	maybe_finish(st);
	maybe_free_stream(st);
	pthread_mutex_unlock(&s->mu);
	maybe_free_server(s);
}

void px_server_set_paused(struct px_server *s, bool paused)
{
	pthread_mutex_lock(&s->mu);
	s->paused = paused;
	if (!paused) {
		struct px_stream *st = s->parked;

		s->parked = NULL;
		while (st != NULL) {
			struct px_stream *next = st->next_parked;

			st->parked = false;
			arm_recv(st);
			maybe_finish(st);
			maybe_free_stream(st);
			st = next;
		}
	}
	pthread_mutex_unlock(&s->mu);
}

/* ---- start and stop ------------------------------------------------------ */

static grpc_channel_args *server_args(struct px_server *s, grpc_arg *a,
				      grpc_channel_args *args)
{
	int i = 0;

	/* gRPC core refuses an oversized message without telling us, so
	 * its bound is twice ours: on_recv() refuses, logs and counts the
	 * ones in between.  Past the core's bound only "stream read failed"
	 * is logged. */
	a[i++] = (grpc_arg){ GRPC_ARG_INTEGER,
			     GRPC_ARG_MAX_RECEIVE_MESSAGE_LENGTH,
			     { .integer = s->max_msg > INT_MAX / 2 ? INT_MAX :
					  (int)(2 * s->max_msg) } };
	a[i++] = (grpc_arg){ GRPC_ARG_INTEGER,
			     GRPC_ARG_KEEPALIVE_PERMIT_WITHOUT_CALLS,
			     { .integer = 1 } };
	/* Agents ping every 30 s; accept pings down to every 10 s instead
	 * of the 5-minute default that would answer them with GOAWAY. */
	a[i++] = (grpc_arg){ GRPC_ARG_INTEGER,
			     GRPC_ARG_HTTP2_MIN_RECV_PING_INTERVAL_WITHOUT_DATA_MS,
			     { .integer = 10000 } };
	a[i++] = (grpc_arg){ GRPC_ARG_INTEGER, GRPC_ARG_KEEPALIVE_TIME_MS,
			     { .integer = 60000 } };
	args->num_args = (size_t)i;
	args->args = a;
	return args;
}

struct px_server *px_server_start(uv_loop_t *loop,
				  const struct px_server_config *cfg,
				  px_server_batch_fn fn, void *arg, char *err,
				  size_t errlen)
{
	struct px_server *s = calloc(1, sizeof(*s));
	grpc_server_credentials *creds;
	grpc_channel_args args;
	grpc_arg a[8];

	if (s == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	s->loop = loop;
	s->fn = fn;
	s->fn_arg = arg;
	s->max_msg = cfg->max_message_bytes ? cfg->max_message_bytes
					    : PX_DEFAULT_MAX_MESSAGE;
	s->new_tag.kind = T_NEW;
	s->shutdown_tag.kind = T_SHUTDOWN;
	pthread_mutex_init(&s->mu, NULL);
	grpc_init();
	creds = px_tls_server_creds(cfg->tls_ca, cfg->tls_cert, cfg->tls_key,
				    err, errlen);
	if (creds == NULL)
		goto err_grpc;
	s->server = grpc_server_create(server_args(s, a, &args), NULL);
	s->method = grpc_server_register_method(s->server, PX_METHOD_STREAM,
						NULL,
						GRPC_SRM_PAYLOAD_NONE, 0);
	s->cq = grpc_completion_queue_create_for_next(NULL);
	grpc_server_register_completion_queue(s->server, s->cq, NULL);
	s->port = grpc_server_add_http2_port(s->server, cfg->listen, creds);
	grpc_server_credentials_release(creds);
	if (s->port == 0) {
		snprintf(err, errlen,
			 "cannot listen on %s (address in use, or not an address)",
			 cfg->listen);
		goto err_server;
	}
	grpc_server_start(s->server);
	uv_async_init(loop, &s->async, on_async);
	s->async.data = s;
	pthread_mutex_lock(&s->mu);
	request_stream(s);
	pthread_mutex_unlock(&s->mu);
	if (pthread_create(&s->thread, NULL, server_main, s) != 0) {
		snprintf(err, errlen, "cannot start the server thread");
		/* XXX: the server would need a full shutdown here; this only
		 * happens when the process is out of threads. */
		abort();
	}
	return s;

err_server:
	grpc_server_destroy(s->server);
	grpc_completion_queue_shutdown(s->cq);
	grpc_completion_queue_destroy(s->cq);
err_grpc:
	grpc_shutdown();
	pthread_mutex_destroy(&s->mu);
	free(s);
	return NULL;
}

int px_server_port(const struct px_server *s)
{
	return s->port;
}

void px_server_get_stats(struct px_server *s, struct px_server_stats *st)
{
	pthread_mutex_lock(&s->mu);
	*st = s->st;
	pthread_mutex_unlock(&s->mu);
}

static void maybe_free_server(struct px_server *s)
{
	bool done;

	pthread_mutex_lock(&s->mu);
	done = s->thread_done && s->async_closed && s->st.batches_queued == 0;
	pthread_mutex_unlock(&s->mu);
	if (!done)
		return;
	pthread_mutex_destroy(&s->mu);
	free(s);
	grpc_shutdown();
}

static void on_async_closed(uv_handle_t *h)
{
	struct px_server *s = h->data;

	pthread_mutex_lock(&s->mu);
	s->async_closed = true;
	pthread_mutex_unlock(&s->mu);
	maybe_free_server(s);
}

void px_server_stop(struct px_server *s)
{
	struct px_inbatch *ib;

	if (s == NULL)
		return;
	pthread_mutex_lock(&s->mu);
	s->stopping = true;
	grpc_server_shutdown_and_notify(s->server, s->cq, &s->shutdown_tag);
	grpc_server_cancel_all_calls(s->server);
	pthread_mutex_unlock(&s->mu);
	pthread_join(s->thread, NULL);
	grpc_server_destroy(s->server);
	grpc_completion_queue_destroy(s->cq);

	/* Batches decoded but never delivered: their sources resend them. */
	pthread_mutex_lock(&s->mu);
	ib = s->q_head;
	s->q_head = s->q_tail = NULL;
	s->thread_done = true;
	pthread_mutex_unlock(&s->mu);
	while (ib != NULL) {
		struct px_inbatch *next = ib->next;

		px_inbatch_ack(ib, PARALLAX__V1__ACK_STATUS__ACK_STATUS_REJECTED,
			       NULL);
		ib = next;
	}
	uv_close((uv_handle_t *)&s->async, on_async_closed);
}
