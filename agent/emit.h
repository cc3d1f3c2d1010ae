/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Where the agent's events go: into Parallax__V1__Batch messages for the
 * collector (by count or when the batch timer fires), or, in --stdout mode,
 * one JSON object per line on a stdio stream.  Events are protobuf-c
 * messages whose every pointer is malloc'd, so one free releases them.
 *
 * The JSON lines (field names follow parallax.proto; "pid", "start_time_ns"
 * and "exec_id" are the event's ProcessRef; times are ns):
 *   {"type":"exec","ts_ns":..,"pid":..,"start_time_ns":..,"exec_id":"..",
 *    "ppid":..,"parent_exec_id":"..","exe":"..","argv":[".."],
 *    "argv_truncated":false,"comm":"..","uid":..,"euid":..,"loginuid":..,
 *    "cgroup_id":..,"container_id":"..","mnt_ns":..,"pid_ns":..,
 *    "from_snapshot":false}
 *   {"type":"fork","ts_ns":..,"pid":..,"start_time_ns":..,"exec_id":"..",
 *    "parent_pid":..,"parent_start_time_ns":..,"parent_exec_id":".."}
 *   {"type":"exit","ts_ns":..,"pid":..,"start_time_ns":..,"exec_id":"..",
 *    "exit_code":..,"synthetic":false}
 *    (synthetic: made up for a process a task pass found gone)
 *   {"type":"artifact","ts_ns":..,"pid":..,"start_time_ns":..,
 *    "exec_id":"..","path":"..","dev":..,"inode":..,"size":..,
 *    "mtime_ns":..,"sha256":"..","kind":"OPEN_FILE","error":""}
 *    (kind MAPPED: an executable mapping; kind CLASS adds "class_name",
 *    the path naming the open archive that lists the class, if any)
 *   {"type":"net","ts_ns":..,"pid":..,"start_time_ns":..,"exec_id":"..",
 *    "kind":"CONNECT|ACCEPT|LISTEN|CLOSE","protocol":6,
 *    "local_addr":"127.0.0.1","local_port":..,"remote_addr":"..",
 *    "remote_port":..}
 *   {"type":"violation","ts_ns":..,"pid":..,"start_time_ns":..,
 *    "exec_id":"..","policy":"watch:<exe>","rule":"syscall:<nr>",
 *    "action":"alert","detail":".."}
 *   {"type":"health","ts_ns":..,"ringbuf_drops":..,"events_total":..,
 *    "hash_errors":..,"spool_dropped":..,"cpu_share":..,"rss_bytes":..,
 *    "processes_tracked":..,"events_per_s":..,"queue_dropped":..,
 *    "procs_refused":..,"exec_pass_dropped":..,"unknown_procs":..,
 *    "net_unowned":..,"hash_deferred":..,"synthetic_exits":..}
 *    (the counters are AgentHealth's, documented in parallax.proto)
 */
#ifndef AGENT_EMIT_H
#define AGENT_EMIT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "parallax.pb-c.h"
#include "spool.h"
#include "transport.h"

struct agent_emit_config {
	FILE *json_out;			/* set: JSON lines, nothing sent */
	struct px_client *client;	/* borrowed; used without json_out */
	size_t batch_max_events;	/* 0: 256 */
	size_t queue_max_events;	/* held while the client is full;
					 * 0: 65536 */
	/* Borrowed; may be NULL.  When set, batches the client cannot take
	 * go to the spool, and spooled batches are handed to the client,
	 * oldest first, before any newer one. */
	struct px_spool *spool;
};

struct agent_emit_stats {
	uint64_t events;		/* accepted by agent_emit_event */
	uint64_t batches;		/* batches the client took */
	uint64_t dropped;		/* events lost to a full queue or a
					 * batch the client refused */
	uint64_t queued;		/* events waiting now */
	uint64_t spooled;		/* batches written to the spool */
	uint64_t replayed;		/* spooled batches the client took */
	uint64_t spool_dropped;		/* spooled batches lost: the spool
					 * was full, a record unreadable, or
					 * refused on replay (batches, not
					 * events: see AgentHealth) */
};

struct agent_emit;

/* NULL when out of memory.  The config is copied. */
struct agent_emit *agent_emit_new(const struct agent_emit_config *cfg);

/* Frees the emitter and any events still queued (flush first).  Accepts
 * NULL. */
void agent_emit_free(struct agent_emit *e);

/*
 * Takes <ev> (even on failure).  In JSON mode it is printed at once;
 * otherwise queued, and a full batch is sent.  When the queue is full the
 * event is dropped and counted.
 */
void agent_emit_event(struct agent_emit *e, Parallax__V1__Event *ev);

/*
 * Sends queued events in batches, after any spooled ones.  Returns 0 when
 * the queue is empty (sent, or spooled), -ENOBUFS when the client's
 * pending bound was reached and there is no spool (the rest stays queued
 * for the next flush).
 */
int agent_emit_flush(struct agent_emit *e);

/*
 * At exit, with a client and a spool: stops the client and moves the
 * batches it has not had acked onto the spool, ordered before the records
 * already there, so that the next run replays them (as new batches of that
 * run).  Returns how many were moved, or -errno.  The client may only be
 * stopped after this.  Rewrites the spool's records once when it held
 * any: shutdown I/O bounded by the spool's size.
 */
int agent_emit_take_back(struct agent_emit *e);

void agent_emit_get_stats(const struct agent_emit *e,
			  struct agent_emit_stats *st);

/* Writes <ev> as one JSON line (newline included) to <f>. */
void agent_emit_json(FILE *f, const Parallax__V1__Event *ev);

/* ---- building events ------------------------------------------------ */

/* A new event of <kind> with its inner message allocated and initialised;
 * NULL when out of memory. */
Parallax__V1__Event *agent_ev_new(uint64_t ts_ns,
				  Parallax__V1__Event__KindCase kind);

/* A process reference; NULL when out of memory (the field is then left
 * out of the event). */
Parallax__V1__ProcessRef *agent_ev_ref(uint32_t pid, uint64_t start_time,
				       const char *exec_id);

/* A malloc'd copy of <s> for a string field; when out of memory the
 * field's empty default, which the free below leaves alone.  Not for the
 * elements of a repeated field: those are all freed. */
char *agent_ev_str(const char *s);

/* Frees <ev> and everything it points to.  Accepts NULL. */
void agent_ev_free(Parallax__V1__Event *ev);

#endif
