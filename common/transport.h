/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The wire transport: parallax.v1.Collector/Stream over the gRPC C core API.
 *
 * Client (agent, scanner): px_client_send() stamps the source and the next
 * sequence number on a batch, packs it and queues it; a private thread owns
 * the channel, streams queued batches, collects acks and, after any break,
 * reconnects with backoff and resends every batch not yet acked, in order.
 * Memory is bounded by max_pending_bytes: past it, send returns -ENOBUFS and
 * the caller decides (wait, spool, drop and count).
 *
 * Server (collector): a completion-queue thread accepts streams, decodes each
 * message into a Parallax__V1__Batch and hands whole batches to a libuv loop
 * through one uv_async_t; the loop commits them and calls px_inbatch_ack().
 * While paused (backpressure) the thread stops asking gRPC for more
 * messages, so HTTP/2 flow control slows the senders.
 */
#ifndef PX_TRANSPORT_H
#define PX_TRANSPORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <uv.h>

#include "parallax.pb-c.h"

#define PX_METHOD_STREAM "/parallax.v1.Collector/Stream"
#define PX_DEFAULT_PORT 50551
#define PX_DEFAULT_MAX_MESSAGE (16u << 20)
/* A client certificate names each host it may report for with a SAN URI
 * of this prefix and the host_id ("*": any host, e.g. a scanner reading
 * many hosts' snapshots); see deploy/mkcerts.sh. */
#define PX_TLS_HOST_URI "urn:parallax:host:"

/* ---- client ---------------------------------------------------------- */

struct px_client;

struct px_client_config {
	const char *target;       /* "127.0.0.1:50551", "unix:/run/px.sock" */
	const char *tls_ca;       /* PEM file paths; all NULL: plaintext */
	const char *tls_cert;
	const char *tls_key;
	/* Identity stamped on every batch; deep-copied by start. */
	const Parallax__V1__Source *source;
	size_t max_pending_bytes; /* unacked bytes held; 0: 64 MiB */
	size_t max_message_bytes; /* larger batches are refused; 0: 16 MiB */
};

struct px_client_stats {
	uint64_t sent;            /* batches accepted by px_client_send */
	uint64_t acked;           /* committed or duplicate */
	uint64_t rejected;        /* refused by the collector for good */
	uint64_t reconnects;
	uint64_t pending;         /* batches not yet acked */
	uint64_t pending_bytes;
	uint64_t last_seq;
	bool connected;
};

/* Starts the client thread.  Connection happens in the background, so a
 * collector that is down is not an error here.  NULL with a message in <err>
 * on a bad configuration (unreadable TLS files, missing source). */
struct px_client *px_client_start(const struct px_client_config *cfg,
				  char *err, size_t errlen);

/*
 * Queues <batch>.  Sets batch->source and batch->seq (and sent_ns when zero)
 * before packing; the batch itself stays the caller's and may be freed on
 * return.  Returns 0 and the sequence number in <seq_out> (may be NULL),
 * -ENOBUFS when the pending bound is reached, -EMSGSIZE when the packed batch
 * exceeds max_message_bytes, -ESHUTDOWN after stop.
 */
int px_client_send(struct px_client *c, Parallax__V1__Batch *batch,
		   uint64_t *seq_out);

/*
 * Like px_client_send() for a batch packed beforehand: <body> (borrowed for
 * the call) is a packed Parallax__V1__Batch without source, seq and
 * sent_ns; the client appends those, so a caller can pack once and send
 * many times (replaying a spool, load generators).  Same returns.
 */
int px_client_send_packed(struct px_client *c, const uint8_t *body,
			  size_t len, uint64_t *seq_out);

/* Waits until every batch queued so far is acked (or rejected), at most
 * <timeout_ms> (negative: forever).  0 or -ETIMEDOUT. */
int px_client_flush(struct px_client *c, int timeout_ms);

void px_client_get_stats(struct px_client *c, struct px_client_stats *st);

/*
 * Stops the client thread (no more sending; px_client_send then returns
 * -ESHUTDOWN) and hands each batch not yet acked to <fn>, oldest first, as
 * the packed Parallax__V1__Batch that was queued (source and seq stamped),
 * e.g. to keep it on disk for the next run.  A batch leaves the client once
 * <fn> returns 0; when <fn> returns a negative errno the drain stops there
 * and returns it, the rest staying with the client.  Returns the number of
 * batches handed over.  A batch the collector committed but whose ack was
 * still in flight is handed over too.  Call px_client_stop() afterwards.
 */
int px_client_drain(struct px_client *c,
		    int (*fn)(const uint8_t *packed, size_t len, void *arg),
		    void *arg);

/* Stops the thread and frees the client; unacked batches are discarded, so
 * call px_client_flush() or px_client_drain() first when they matter.
 * Accepts NULL. */
void px_client_stop(struct px_client *c);

/* ---- server ---------------------------------------------------------- */

struct px_server;
struct px_stream;

struct px_server_config {
	const char *listen;       /* "127.0.0.1:50551"; port 0 picks one */
	const char *tls_ca;       /* all three set: mutual TLS required */
	const char *tls_cert;
	const char *tls_key;
	size_t max_message_bytes; /* 0: PX_DEFAULT_MAX_MESSAGE */
};

/* One received batch, owned by the loop until px_inbatch_ack(). */
struct px_inbatch {
	Parallax__V1__Batch *batch;  /* decoded and validated */
	const char *peer;            /* "ipv4:127.0.0.1:41234" */
	const char *peer_identity;   /* client certificate CN under mTLS,
				      * else NULL; when set, it replaces
				      * batch->source->source_id */
	/* Under mTLS, the host ids the client certificate is bound to (its
	 * SAN URIs PX_TLS_HOST_URI "<host_id>", "*" for any host), NULL-
	 * terminated; NULL without TLS.  Owned by the stream. */
	const char *const *peer_hosts;
	size_t wire_bytes;
	uint64_t received_ns;        /* px_mono_ns() at decode */
	struct px_stream *stream;    /* private */
	struct px_inbatch *next;     /* private */
};

/* Called on the loop thread for every batch, in arrival order per stream. */
typedef void (*px_server_batch_fn)(struct px_inbatch *ib, void *arg);

/*
 * Binds and starts serving; batches arrive through <fn> on <loop>.  NULL with
 * a message in <err> when the address cannot be bound or TLS files cannot be
 * read.
 */
struct px_server *px_server_start(uv_loop_t *loop,
				  const struct px_server_config *cfg,
				  px_server_batch_fn fn, void *arg, char *err,
				  size_t errlen);

/* The port actually bound (useful with port 0). */
int px_server_port(const struct px_server *s);

/*
 * Answers the batch with <status> (<detail> may be NULL; copied) and frees
 * <ib> and its decoded batch.  Call on the loop thread, once per batch, after
 * the batch's rows are committed (or found to be duplicates).
 */
void px_inbatch_ack(struct px_inbatch *ib, Parallax__V1__AckStatus status,
		    const char *detail);

/*
 * Refuses the batch without an ack and ends its stream with <code> (e.g.
 * GRPC_STATUS_PERMISSION_DENIED as an int) and <detail>, once the acks the
 * stream already owes are sent.  The source keeps the batch and retries
 * after a backoff, so nothing is lost while an operator fixes the cause.
 * The stream's later batches already decoded are refused the same way,
 * never handed to the batch callback.  Frees <ib>; loop thread only.
 */
void px_inbatch_fail(struct px_inbatch *ib, int code, const char *detail);

/* Backpressure: while paused no stream reads its next message. */
void px_server_set_paused(struct px_server *s, bool paused);

struct px_server_stats {
	uint64_t streams_open;
	uint64_t batches_in;
	uint64_t bytes_in;
	uint64_t bad_messages;    /* undecodable, invalid or oversized,
				   * stream ended */
	uint64_t batches_queued;  /* handed to the loop, not yet acked */
};
void px_server_get_stats(struct px_server *s, struct px_server_stats *st);

/* Stops accepting, cancels open streams, joins the thread and frees the
 * server.  Batches still unacknowledged are freed without an ack; their
 * sources resend them.  Call on the loop thread.  Accepts NULL. */
void px_server_stop(struct px_server *s);

/*
 * Checks the parts of a batch that every consumer relies on: a source with
 * source_id and boot_id, a known kind, seq > 0, and for every finding a path
 * and a 64-hex sha256 (or empty).  Refuses, too, what the database would
 * refuse row by row, failing every batch of the transaction: a string
 * anywhere that is not valid UTF-8, a pid or ppid above Linux's
 * PID_MAX_LIMIT, and a seq, time, size or counter above INT64_MAX.  Returns
 * NULL when valid, else a string naming the first problem, static or
 * valid until the calling thread's next call.
 */
const char *px_batch_invalid(const Parallax__V1__Batch *b);

#endif
