// SPDX-License-Identifier: Apache-2.0
/*
 * gRPC streaming client used by the agent and the scanner.
 *
 * Threads: callers of px_client_send() append packed batches to the pending
 * list and, when the stream is idle, start the next SEND_MESSAGE themselves
 * (gRPC core calls are thread-safe).  A private thread owns the completion
 * queue: it opens the call, reads acks, notices a broken call, and reopens it
 * with backoff, rewinding the send cursor to the oldest unacked batch.  One
 * mutex covers the pending list, the cursor and the call pointer.
 */
#include "transport.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

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

#define BACKOFF_MIN_MS 100
#define BACKOFF_MAX_MS 5000

/* One batch waiting for its ack, in seq order. */
struct pending {
	uint64_t seq;
	grpc_slice payload;
	struct pending *next;
};

enum op_kind {
	OP_SEND_MD,
	OP_RECV,
	OP_SEND,
	OP_STATUS,
};

struct op_tag {
	enum op_kind kind;
};

/* State of one call (one connection attempt). */
struct call {
	grpc_call *call;
	int outstanding;		/* started ops not yet completed */
	bool ended;			/* status received or send failed */
	bool send_in_flight;
	bool got_md;
	grpc_metadata_array md_in;
	grpc_metadata_array trailers;
	grpc_status_code status;
	grpc_slice status_details;
	grpc_byte_buffer *recv_bb;
	grpc_byte_buffer *send_bb;
	struct op_tag tags[4];
};

struct px_client {
	char *target;
	grpc_channel_credentials *creds;
	grpc_channel *channel;
	grpc_completion_queue *cq;
	pthread_t thread;
	pthread_mutex_t mu;
	pthread_cond_t cv;		/* acks arrived, or stop requested */

	Parallax__V1__Source *source;	/* owned deep copy */
	size_t max_pending_bytes;
	size_t max_message_bytes;

	struct pending *head, *tail;	/* unacked, ascending seq */
	struct pending *cursor;		/* next to send on this call */
	struct call *cur;		/* NULL while disconnected */
	uint64_t next_seq;
	bool stopping;
	bool joined;			/* the thread is gone (drain or stop) */
	bool logged_down;		/* one warning per outage */
	struct px_client_stats st;
};

static int copy_source(struct px_client *c, const Parallax__V1__Source *src)
{
	size_t n = parallax__v1__source__get_packed_size(src);
	uint8_t *buf = malloc(n ? n : 1);

	if (buf == NULL)
		return -ENOMEM;
	parallax__v1__source__pack(src, buf);
	c->source = parallax__v1__source__unpack(NULL, n, buf);
	free(buf);
	return c->source != NULL ? 0 : -ENOMEM;
}

static grpc_channel_args *channel_args(struct px_client *c, grpc_arg *a,
				       grpc_channel_args *args)
{
	int i = 0;

	a[i++] = (grpc_arg){ GRPC_ARG_INTEGER, GRPC_ARG_KEEPALIVE_TIME_MS,
			     { .integer = 30000 } };
	a[i++] = (grpc_arg){ GRPC_ARG_INTEGER, GRPC_ARG_KEEPALIVE_TIMEOUT_MS,
			     { .integer = 10000 } };
	a[i++] = (grpc_arg){ GRPC_ARG_INTEGER,
			     GRPC_ARG_KEEPALIVE_PERMIT_WITHOUT_CALLS,
			     { .integer = 1 } };
	a[i++] = (grpc_arg){ GRPC_ARG_INTEGER,
			     GRPC_ARG_MAX_SEND_MESSAGE_LENGTH,
			     { .integer = (int)c->max_message_bytes } };
	a[i++] = (grpc_arg){ GRPC_ARG_INTEGER,
			     GRPC_ARG_INITIAL_RECONNECT_BACKOFF_MS,
			     { .integer = BACKOFF_MIN_MS } };
	a[i++] = (grpc_arg){ GRPC_ARG_INTEGER,
			     GRPC_ARG_MAX_RECONNECT_BACKOFF_MS,
			     { .integer = BACKOFF_MAX_MS } };
	args->num_args = (size_t)i;
	args->args = a;
	return args;
}

/* ---- the call: open, send, receive acks, end ------------------------- */

/* Starts one batch of ops on the current call; caller holds c->mu. */
static bool start_ops(struct px_client *c, grpc_op *ops, size_t n,
		      enum op_kind kind)
{
	struct call *k = c->cur;
	grpc_call_error e;

	e = grpc_call_start_batch(k->call, ops, n, &k->tags[kind], NULL);
	if (e != GRPC_CALL_OK) {
		px_error("transport", "grpc_call_start_batch failed",
			 "target=%s op=%d err=%d", c->target, kind, (int)e);
		k->ended = true;
		return false;
	}
	k->outstanding++;
	return true;
}

/* Sends the batch under the cursor if the call is idle; caller holds mu. */
static void pump_send(struct px_client *c)
{
	struct call *k = c->cur;
	grpc_op op;

	if (k == NULL || k->ended || k->send_in_flight || c->cursor == NULL)
		return;
	memset(&op, 0, sizeof(op));
	k->send_bb = grpc_raw_byte_buffer_create(&c->cursor->payload, 1);
	op.op = GRPC_OP_SEND_MESSAGE;
	op.data.send_message.send_message = k->send_bb;
	if (!start_ops(c, &op, 1, OP_SEND)) {
		grpc_byte_buffer_destroy(k->send_bb);
		k->send_bb = NULL;
		return;
	}
	k->send_in_flight = true;
	c->cursor = c->cursor->next;
}

static void arm_recv(struct px_client *c)
{
	grpc_op ops[2];
	size_t n = 0;

	memset(ops, 0, sizeof(ops));
	if (!c->cur->got_md) {
		ops[n].op = GRPC_OP_RECV_INITIAL_METADATA;
		ops[n++].data.recv_initial_metadata.recv_initial_metadata =
			&c->cur->md_in;
		c->cur->got_md = true;
	}
	ops[n].op = GRPC_OP_RECV_MESSAGE;
	ops[n++].data.recv_message.recv_message = &c->cur->recv_bb;
	start_ops(c, ops, n, OP_RECV);
}

/* Opens a new call and starts its standing ops; caller holds mu. */
static int open_call(struct px_client *c)
{
	grpc_slice method = grpc_slice_from_static_string(PX_METHOD_STREAM);
	struct call *k = calloc(1, sizeof(*k));
	grpc_op op;

	if (k == NULL)
		return -ENOMEM;
	for (int i = 0; i < 4; i++)
		k->tags[i].kind = (enum op_kind)i;
	grpc_metadata_array_init(&k->md_in);
	grpc_metadata_array_init(&k->trailers);
	k->call = grpc_channel_create_call(c->channel, NULL,
					   GRPC_PROPAGATE_DEFAULTS, c->cq,
					   method, NULL,
					   gpr_inf_future(GPR_CLOCK_REALTIME),
					   NULL);
	c->cur = k;

	memset(&op, 0, sizeof(op));
	op.op = GRPC_OP_SEND_INITIAL_METADATA;
	start_ops(c, &op, 1, OP_SEND_MD);

	memset(&op, 0, sizeof(op));
	op.op = GRPC_OP_RECV_STATUS_ON_CLIENT;
	op.data.recv_status_on_client.trailing_metadata = &k->trailers;
	op.data.recv_status_on_client.status = &k->status;
	op.data.recv_status_on_client.status_details = &k->status_details;
	start_ops(c, &op, 1, OP_STATUS);

	arm_recv(c);
	c->cursor = c->head;
	pump_send(c);
	return 0;
}

static void free_call(struct call *k)
{
	grpc_metadata_array_destroy(&k->md_in);
	grpc_metadata_array_destroy(&k->trailers);
	grpc_slice_unref(k->status_details);
	if (k->recv_bb != NULL)
		grpc_byte_buffer_destroy(k->recv_bb);
	if (k->send_bb != NULL)
		grpc_byte_buffer_destroy(k->send_bb);
	grpc_call_unref(k->call);
	free(k);
}

/* Drops the acked batch <seq> from the pending list; caller holds mu. */
static void settle(struct px_client *c, const Parallax__V1__Ack *ack)
{
	struct pending **pp = &c->head, *prev = NULL;

	for (; *pp != NULL; prev = *pp, pp = &(*pp)->next) {
		struct pending *p = *pp;

		if (p->seq != ack->seq)
			continue;
		if (ack->status ==
		    PARALLAX__V1__ACK_STATUS__ACK_STATUS_REJECTED) {
			c->st.rejected++;
			px_error("transport", "collector rejected a batch",
				 "target=%s seq=%llu reason=%s", c->target,
				 (unsigned long long)p->seq,
				 px_q(ack->detail));
		} else {
			c->st.acked++;
		}
		if (c->cursor == p)
			c->cursor = p->next;
		if (c->tail == p)
			c->tail = prev;
		*pp = p->next;
		c->st.pending--;
		c->st.pending_bytes -= GRPC_SLICE_LENGTH(p->payload);
		grpc_slice_unref(p->payload);
		free(p);
		pthread_cond_broadcast(&c->cv);
		return;
	}
	px_debug("transport", "ack for unknown seq", "seq=%llu",
		 (unsigned long long)ack->seq);
}

static void on_recv(struct px_client *c, bool ok)
{
	struct call *k = c->cur;
	grpc_byte_buffer_reader rd;
	Parallax__V1__Ack *ack;
	grpc_slice s;

	if (!ok || k->recv_bb == NULL) {
		k->ended = true;	/* the server closed its side */
		return;
	}
	grpc_byte_buffer_reader_init(&rd, k->recv_bb);
	s = grpc_byte_buffer_reader_readall(&rd);
	grpc_byte_buffer_reader_destroy(&rd);
	grpc_byte_buffer_destroy(k->recv_bb);
	k->recv_bb = NULL;
	ack = parallax__v1__ack__unpack(NULL, GRPC_SLICE_LENGTH(s),
					GRPC_SLICE_START_PTR(s));
	grpc_slice_unref(s);
	if (ack == NULL) {
		px_warn("transport", "undecodable ack", "target=%s", c->target);
	} else {
		/* An ack proves the stream works end to end. */
		c->st.connected = true;
		if (c->logged_down) {
			px_info("transport", "collector reachable again",
				"target=%s pending=%llu", c->target,
				(unsigned long long)c->st.pending);
			c->logged_down = false;
		}
		settle(c, ack);
		parallax__v1__ack__free_unpacked(ack, NULL);
	}
	arm_recv(c);
}

/* Handles one completion; caller holds mu. */
static void on_event(struct px_client *c, grpc_event ev)
{
	struct op_tag *tag = ev.tag;
	struct call *k = c->cur;

	k->outstanding--;
	switch (tag->kind) {
	case OP_SEND_MD:
		if (!ev.success)
			k->ended = true;
		break;
	case OP_RECV:
		if (!k->ended)
			on_recv(c, ev.success);
		else if (k->recv_bb != NULL) {
			grpc_byte_buffer_destroy(k->recv_bb);
			k->recv_bb = NULL;
		}
		break;
	case OP_SEND:
		grpc_byte_buffer_destroy(k->send_bb);
		k->send_bb = NULL;
		k->send_in_flight = false;
		if (!ev.success)
			k->ended = true;
		else
			pump_send(c);
		break;
	case OP_STATUS:
		k->ended = true;
		break;
	}
}

/* Runs one call until it ends and all its ops have completed. */
static void run_call(struct px_client *c)
{
	pthread_mutex_lock(&c->mu);
	if (open_call(c) < 0) {
		pthread_mutex_unlock(&c->mu);
		return;
	}
	while (c->cur->outstanding > 0) {
		grpc_event ev;

		if (c->cur->ended || c->stopping)
			grpc_call_cancel(c->cur->call, NULL);
		pthread_mutex_unlock(&c->mu);
		ev = grpc_completion_queue_next(
			c->cq, gpr_time_add(gpr_now(GPR_CLOCK_MONOTONIC),
					    gpr_time_from_millis(
						    500, GPR_TIMESPAN)),
			NULL);
		pthread_mutex_lock(&c->mu);
		if (ev.type != GRPC_OP_COMPLETE)
			continue;
		on_event(c, ev);
	}
	if (c->cur->status != GRPC_STATUS_OK && !c->stopping &&
	    !c->logged_down) {
		char *d = grpc_slice_to_c_string(c->cur->status_details);
		bool refused = c->cur->status == GRPC_STATUS_PERMISSION_DENIED ||
			       c->cur->status == GRPC_STATUS_UNAUTHENTICATED;

		/* A refusal needs an operator; a broken link heals itself. */
		PX_LOG(refused ? PX_LOG_ERROR : PX_LOG_WARN, "transport",
		       refused ? "collector refused this source"
			       : "stream to collector ended",
		       "target=%s status=%d detail=%s pending=%llu", c->target,
		       (int)c->cur->status, px_q(d),
		       (unsigned long long)c->st.pending);
		gpr_free(d);
		c->logged_down = true;
	}
	free_call(c->cur);
	c->cur = NULL;
	c->cursor = c->head;
	c->st.connected = false;
	pthread_mutex_unlock(&c->mu);
}

static void *client_main(void *arg)
{
	struct px_client *c = arg;
	int backoff = BACKOFF_MIN_MS;

	for (;;) {
		uint64_t acked_before;
		struct timespec until;

		pthread_mutex_lock(&c->mu);
		if (c->stopping) {
			pthread_mutex_unlock(&c->mu);
			break;
		}
		acked_before = c->st.acked + c->st.rejected;
		pthread_mutex_unlock(&c->mu);

		run_call(c);

		pthread_mutex_lock(&c->mu);
		if (c->st.acked + c->st.rejected > acked_before)
			backoff = BACKOFF_MIN_MS;	/* it was working */
		if (!c->stopping) {
			c->st.reconnects++;
			clock_gettime(CLOCK_REALTIME, &until);
			until.tv_sec += backoff / 1000;
			until.tv_nsec += (long)(backoff % 1000) * 1000000L;
			if (until.tv_nsec >= 1000000000L) {
				until.tv_sec++;
				until.tv_nsec -= 1000000000L;
			}
			pthread_cond_timedwait(&c->cv, &c->mu, &until);
			backoff = backoff * 2 > BACKOFF_MAX_MS ? BACKOFF_MAX_MS
							       : backoff * 2;
		}
		pthread_mutex_unlock(&c->mu);
	}
	return NULL;
}

/* ---- public API -------------------------------------------------------- */

struct px_client *px_client_start(const struct px_client_config *cfg,
				  char *err, size_t errlen)
{
	struct px_client *c;
	grpc_channel_args args;
	grpc_arg a[8];

	if (cfg->source == NULL || cfg->target == NULL) {
		snprintf(err, errlen, "client needs a target and a source");
		return NULL;
	}
	c = calloc(1, sizeof(*c));
	if (c == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	c->max_pending_bytes = cfg->max_pending_bytes ? cfg->max_pending_bytes
						      : 64u << 20;
	c->max_message_bytes = cfg->max_message_bytes ? cfg->max_message_bytes
						      : PX_DEFAULT_MAX_MESSAGE;
	c->next_seq = 1;
	c->target = strdup(cfg->target);
	if (c->target == NULL || copy_source(c, cfg->source) < 0) {
		snprintf(err, errlen, "out of memory");
		goto err_free;
	}
	grpc_init();
	c->creds = px_tls_channel_creds(cfg->tls_ca, cfg->tls_cert,
					cfg->tls_key, err, errlen);
	if (c->creds == NULL)
		goto err_grpc;
	c->channel = grpc_channel_create(c->target, c->creds,
					 channel_args(c, a, &args));
	c->cq = grpc_completion_queue_create_for_next(NULL);
	pthread_mutex_init(&c->mu, NULL);
	pthread_cond_init(&c->cv, NULL);
	if (pthread_create(&c->thread, NULL, client_main, c) != 0) {
		snprintf(err, errlen, "cannot start the client thread");
		goto err_channel;
	}
	return c;

err_channel:
	grpc_channel_destroy(c->channel);
	grpc_completion_queue_shutdown(c->cq);
	grpc_completion_queue_destroy(c->cq);
	grpc_channel_credentials_release(c->creds);
err_grpc:
	grpc_shutdown();
err_free:
	if (c->source != NULL)
		parallax__v1__source__free_unpacked(c->source, NULL);
	free(c->target);
	free(c);
	return NULL;
}

/* Appends <p> (its payload <n> bytes) to the pending list, stamped with the
 * next seq, and starts sending it.  The caller holds c->mu. */
static void queue_pending(struct px_client *c, struct pending *p, size_t n,
			  uint64_t *seq_out)
{
	p->seq = c->next_seq++;
	if (c->tail != NULL)
		c->tail->next = p;
	else
		c->head = p;
	c->tail = p;
	if (c->cursor == NULL && c->cur != NULL)
		c->cursor = p;
	c->st.sent++;
	c->st.pending++;
	c->st.pending_bytes += n;
	c->st.last_seq = p->seq;
	if (seq_out != NULL)
		*seq_out = p->seq;
	pump_send(c);
}

/* 0 when <n> more bytes fit the bounds, else -EMSGSIZE or -ENOBUFS. */
static int check_room(const struct px_client *c, size_t n)
{
	if (n > c->max_message_bytes)
		return -EMSGSIZE;
	if (c->st.pending_bytes + n > c->max_pending_bytes && c->st.pending > 0)
		return -ENOBUFS;
	return 0;
}

int px_client_send(struct px_client *c, Parallax__V1__Batch *batch,
		   uint64_t *seq_out)
{
	struct pending *p;
	size_t n;
	int err = 0;

	pthread_mutex_lock(&c->mu);
	if (c->stopping) {
		err = -ESHUTDOWN;
		goto out;
	}
	batch->source = c->source;
	batch->seq = c->next_seq;
	if (batch->sent_ns == 0)
		batch->sent_ns = px_now_ns();
	n = parallax__v1__batch__get_packed_size(batch);
	err = check_room(c, n);
	if (err < 0)
		goto out;
	p = calloc(1, sizeof(*p));
	if (p == NULL) {
		err = -ENOMEM;
		goto out;
	}
	p->payload = grpc_slice_malloc(n);
	parallax__v1__batch__pack(batch, GRPC_SLICE_START_PTR(p->payload));
	queue_pending(c, p, n, seq_out);
out:
	batch->source = NULL;	/* borrowed only for packing */
	pthread_mutex_unlock(&c->mu);
	return err;
}

/*
 * The stamp goes after the body: a protobuf parser merges concatenated
 * messages field by field and the last value of a scalar wins, so the
 * result decodes as the body's batch with this client's source, seq and
 * sent_ns, at the cost of a memcpy instead of packing every event again.
 */
int px_client_send_packed(struct px_client *c, const uint8_t *body,
			  size_t len, uint64_t *seq_out)
{
	Parallax__V1__Batch stamp = PARALLAX__V1__BATCH__INIT;
	struct pending *p;
	uint8_t *out;
	size_t n;
	int err = 0;

	pthread_mutex_lock(&c->mu);
	if (c->stopping) {
		err = -ESHUTDOWN;
		goto out;
	}
	stamp.source = c->source;
	stamp.seq = c->next_seq;
	stamp.sent_ns = px_now_ns();
	n = len + parallax__v1__batch__get_packed_size(&stamp);
	err = check_room(c, n);
	if (err < 0)
		goto out;
	p = calloc(1, sizeof(*p));
	if (p == NULL) {
		err = -ENOMEM;
		goto out;
	}
	p->payload = grpc_slice_malloc(n);
	out = GRPC_SLICE_START_PTR(p->payload);
	memcpy(out, body, len);
	parallax__v1__batch__pack(&stamp, out + len);
	queue_pending(c, p, n, seq_out);
out:
	pthread_mutex_unlock(&c->mu);
	return err;
}

int px_client_flush(struct px_client *c, int timeout_ms)
{
	struct timespec until;
	int err = 0;

	clock_gettime(CLOCK_REALTIME, &until);
	if (timeout_ms >= 0) {
		until.tv_sec += timeout_ms / 1000;
		until.tv_nsec += (long)(timeout_ms % 1000) * 1000000L;
		if (until.tv_nsec >= 1000000000L) {
			until.tv_sec++;
			until.tv_nsec -= 1000000000L;
		}
	}
	pthread_mutex_lock(&c->mu);
	while (c->head != NULL && err == 0) {
		if (timeout_ms < 0)
			pthread_cond_wait(&c->cv, &c->mu);
		else if (pthread_cond_timedwait(&c->cv, &c->mu, &until) ==
			 ETIMEDOUT)
			err = c->head != NULL ? -ETIMEDOUT : 0;
	}
	pthread_mutex_unlock(&c->mu);
	return err;
}

void px_client_get_stats(struct px_client *c, struct px_client_stats *st)
{
	pthread_mutex_lock(&c->mu);
	*st = c->st;
	pthread_mutex_unlock(&c->mu);
}

/* Ends the client thread (once); after it, send returns -ESHUTDOWN and
 * the pending list belongs to the caller alone. */
static void join_thread(struct px_client *c)
{
	if (c->joined)
		return;
	pthread_mutex_lock(&c->mu);
	c->stopping = true;
	if (c->cur != NULL)
		grpc_call_cancel(c->cur->call, NULL);
	pthread_cond_broadcast(&c->cv);
	pthread_mutex_unlock(&c->mu);
	pthread_join(c->thread, NULL);
	c->joined = true;
}

int px_client_drain(struct px_client *c,
		    int (*fn)(const uint8_t *packed, size_t len, void *arg),
		    void *arg)
{
	int n = 0, rc;

	join_thread(c);
	/* Only this caller changes the list now; the lock keeps the stats
	 * coherent for px_client_get_stats() on other threads. */
	while (c->head != NULL) {
		struct pending *p = c->head;

		rc = fn(GRPC_SLICE_START_PTR(p->payload),
			GRPC_SLICE_LENGTH(p->payload), arg);
		if (rc < 0)
			return rc;
		pthread_mutex_lock(&c->mu);
		c->head = p->next;
		if (c->head == NULL)
			c->tail = NULL;
		if (c->cursor == p)
			c->cursor = p->next;
		c->st.pending--;
		c->st.pending_bytes -= GRPC_SLICE_LENGTH(p->payload);
		pthread_mutex_unlock(&c->mu);
		grpc_slice_unref(p->payload);
		free(p);
		n++;
	}
	return n;
}

void px_client_stop(struct px_client *c)
{
	grpc_event ev;

	if (c == NULL)
		return;
	join_thread(c);

	while (c->head != NULL) {
		struct pending *p = c->head;

		c->head = p->next;
		grpc_slice_unref(p->payload);
		free(p);
	}
	grpc_channel_destroy(c->channel);
	grpc_completion_queue_shutdown(c->cq);
	do {
		ev = grpc_completion_queue_next(
			c->cq, gpr_inf_future(GPR_CLOCK_REALTIME), NULL);
	} while (ev.type != GRPC_QUEUE_SHUTDOWN);
	grpc_completion_queue_destroy(c->cq);
	grpc_channel_credentials_release(c->creds);
	parallax__v1__source__free_unpacked(c->source, NULL);
	pthread_mutex_destroy(&c->mu);
	pthread_cond_destroy(&c->cv);
	free(c->target);
	free(c);
	grpc_shutdown();
}
