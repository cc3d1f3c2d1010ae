// SPDX-License-Identifier: Apache-2.0
/*
 * Batching and JSON output of the agent's events.
 *
 * The queue is a ring of event pointers bounded by queue_max_events.  A
 * flush sends batches of up to batch_max_events from its head; when the
 * client answers -ENOBUFS (the collector is slow or away) the events stay
 * where they are and later events queue behind them until the ring is full,
 * past which new events are dropped and counted.
 *
 * With a spool, a batch the client refuses with -ENOBUFS is packed onto the
 * spool instead, and from then on every batch goes there too until the
 * spool has been replayed, so the collector receives batches in the order
 * they were made.  A spooled batch leaves the spool only once the client
 * took it; from then on the client resends it until acked, and the
 * collector drops a resent one as a duplicate (by seq).  At exit, the
 * batches the client still holds unacked are taken back onto the spool
 * (agent_emit_take_back), ahead of the ones spooled before them.
 */
#include "emit.h"

#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "text.h"

#define MOD "emit"

struct agent_emit {
	struct agent_emit_config cfg;
	Parallax__V1__Event **ring;
	size_t head;			/* oldest */
	size_t count;
	struct agent_emit_stats st;
};

struct agent_emit *agent_emit_new(const struct agent_emit_config *cfg)
{
	struct agent_emit *e = calloc(1, sizeof(*e));

	if (!e)
		return NULL;
	e->cfg = *cfg;
	if (!e->cfg.batch_max_events)
		e->cfg.batch_max_events = 256;
	if (!e->cfg.queue_max_events)
		e->cfg.queue_max_events = 65536;
	if (e->cfg.queue_max_events < e->cfg.batch_max_events)
		e->cfg.queue_max_events = e->cfg.batch_max_events;
	e->ring = calloc(e->cfg.queue_max_events, sizeof(*e->ring));
	if (!e->ring) {
		free(e);
		return NULL;
	}
	return e;
}

/* Frees the <n> oldest queued events. */
static void drop_head(struct agent_emit *e, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		agent_ev_free(e->ring[e->head]);
		e->ring[e->head] = NULL;
		e->head = (e->head + 1) % e->cfg.queue_max_events;
	}
	e->count -= n;
}

void agent_emit_free(struct agent_emit *e)
{
	if (!e)
		return;
	drop_head(e, e->count);
	free(e->ring);
	free(e);
}

void agent_emit_event(struct agent_emit *e, Parallax__V1__Event *ev)
{
	size_t tail;

	if (!ev)
		return;
	e->st.events++;
	if (e->cfg.json_out) {
		/* Flushed by the batch timer: a write per event would cost
		 * more than the event. */
		agent_emit_json(e->cfg.json_out, ev);
		agent_ev_free(ev);
		return;
	}
	if (e->count == e->cfg.queue_max_events) {
		e->st.dropped++;
		agent_ev_free(ev);
		return;
	}
	tail = (e->head + e->count) % e->cfg.queue_max_events;
	e->ring[tail] = ev;
	e->count++;
	if (e->count >= e->cfg.batch_max_events)
		agent_emit_flush(e);
}

/* Sends one batch of the oldest <n> events; 0 or the client's -errno. */
static int send_batch(struct agent_emit *e, size_t n)
{
	Parallax__V1__Batch b = PARALLAX__V1__BATCH__INIT;
	Parallax__V1__Event **evs = malloc(n * sizeof(*evs));
	int rc;

	if (!evs)
		return -ENOBUFS;	/* retried at the next flush */
	for (size_t i = 0; i < n; i++)
		evs[i] = e->ring[(e->head + i) % e->cfg.queue_max_events];
	b.n_events = n;
	b.events = evs;
	rc = px_client_send(e->cfg.client, &b, NULL);
	free(evs);
	if (rc == -ENOBUFS)
		return rc;
	if (rc < 0) {
		px_warn(MOD, "batch refused by the client, events dropped",
			"events=%zu err=%s", n, px_q(strerror(-rc)));
		e->st.dropped += n;
	} else {
		e->st.batches++;
	}
	drop_head(e, n);
	return 0;
}

/* Packs the oldest <n> events as one batch onto the spool and frees
 * them; they are counted as dropped when the spool cannot take them. */
static void spool_batch(struct agent_emit *e, size_t n)
{
	Parallax__V1__Batch b = PARALLAX__V1__BATCH__INIT;
	Parallax__V1__Event **evs = malloc(n * sizeof(*evs));
	uint8_t *buf = NULL;
	size_t len;
	int rc = -ENOMEM;

	if (evs) {
		for (size_t i = 0; i < n; i++)
			evs[i] = e->ring[(e->head + i) %
					 e->cfg.queue_max_events];
		b.n_events = n;
		b.events = evs;
		len = parallax__v1__batch__get_packed_size(&b);
		buf = malloc(len ? len : 1);
		if (buf) {
			parallax__v1__batch__pack(&b, buf);
			rc = px_spool_append(e->cfg.spool, buf, len);
		}
	}
	free(buf);
	free(evs);
	if (rc < 0) {
		px_warn(MOD, "batch not spooled, events dropped", "events=%zu err=%s",
			n, px_q(strerror(-rc)));
		e->st.dropped += n;
	} else {
		e->st.spooled++;
		e->st.spool_dropped += (uint64_t)rc;
		if (rc)
			px_warn(MOD, "spool full, oldest batches dropped",
				"batches=%d", rc);
	}
	drop_head(e, n);
}

/*
 * Hands spooled batches to the client, oldest first.  0 when the spool is
 * empty, -ENOBUFS when the client is full or still failing to deliver
 * what it holds (the rest stays spooled).
 */
static int replay(struct agent_emit *e)
{
	struct px_client_stats cs;

	/* While the client holds unacked batches and has no working stream,
	 * nothing more would leave: save the disk reads.  (With nothing
	 * pending it does not connect at all, so then one batch is tried.) */
	px_client_get_stats(e->cfg.client, &cs);
	if (!cs.connected && cs.pending)
		return px_spool_empty(e->cfg.spool) ? 0 : -ENOBUFS;
	while (!px_spool_empty(e->cfg.spool)) {
		Parallax__V1__Batch *b;
		void *data;
		size_t len;
		int rc = px_spool_peek(e->cfg.spool, &data, &len);

		if (rc < 0) {		/* unreadable: dropped by the spool */
			e->st.spool_dropped++;
			continue;
		}
		b = parallax__v1__batch__unpack(NULL, len, data);
		free(data);
		/* A batch taken back from the client at an earlier exit still
		 * names that run; the client stamps this one's. */
		if (b && b->source) {
			parallax__v1__source__free_unpacked(b->source, NULL);
			b->source = NULL;
		}
		rc = b ? px_client_send(e->cfg.client, b, NULL) : -EBADMSG;
		if (b)
			parallax__v1__batch__free_unpacked(b, NULL);
		if (rc == -ENOBUFS)
			return rc;
		if (rc < 0) {
			px_warn(MOD, "spooled batch refused, dropped", "err=%s",
				px_q(strerror(-rc)));
			e->st.spool_dropped++;
		} else {
			e->st.replayed++;
		}
		px_spool_pop(e->cfg.spool);
	}
	return 0;
}

int agent_emit_flush(struct agent_emit *e)
{
	bool to_spool = false;

	if (e->cfg.json_out) {
		fflush(e->cfg.json_out);
		return 0;
	}
	if (e->cfg.spool && replay(e) == -ENOBUFS)
		to_spool = true;
	while (e->count) {
		size_t n = e->count < e->cfg.batch_max_events ?
				   e->count : e->cfg.batch_max_events;

		if (to_spool) {
			spool_batch(e, n);
			continue;
		}
		if (send_batch(e, n) == -ENOBUFS) {
			if (!e->cfg.spool)
				return -ENOBUFS;
			to_spool = true;
		}
	}
	return 0;
}

struct take_back {
	struct agent_emit *e;
	uint64_t appended;
};

/* px_client_drain callback: one unacked batch onto the spool.  A batch
 * the spool cannot take is lost either way, so the drain goes on. */
static int spool_packed(const uint8_t *packed, size_t len, void *arg)
{
	struct take_back *tb = arg;
	struct agent_emit *e = tb->e;
	int rc = px_spool_append(e->cfg.spool, packed, len);

	if (rc < 0) {
		px_warn(MOD, "unacked batch not spooled, dropped", "err=%s",
			px_q(strerror(-rc)));
		e->st.spool_dropped++;
		return 0;
	}
	tb->appended++;
	e->st.spooled++;
	e->st.spool_dropped += (uint64_t)rc;
	return 0;
}

/* Moves the <n> oldest records behind the others, one at a time. */
static void spool_rotate(struct agent_emit *e, uint64_t n)
{
	for (uint64_t i = 0; i < n && !px_spool_empty(e->cfg.spool); i++) {
		void *data;
		size_t len;
		int rc = px_spool_peek(e->cfg.spool, &data, &len);

		if (rc < 0) {		/* unreadable: dropped by the spool */
			e->st.spool_dropped++;
			continue;
		}
		px_spool_pop(e->cfg.spool);
		rc = px_spool_append(e->cfg.spool, data, len);
		free(data);
		if (rc < 0) {
			px_warn(MOD, "spooled batch lost while reordering",
				"err=%s", px_q(strerror(-rc)));
			e->st.spool_dropped++;
		} else {
			e->st.spool_dropped += (uint64_t)rc;
		}
	}
}

int agent_emit_take_back(struct agent_emit *e)
{
	struct take_back tb = { e, 0 };
	struct px_spool_stats ss;
	uint64_t newer;
	int n;

	if (!e->cfg.client || !e->cfg.spool)
		return 0;
	n = px_client_drain(e->cfg.client, spool_packed, &tb);
	if (n <= 0)
		return n;
	/* What the spool held before is newer than what the client held
	 * (batches go to the spool only once the client is full, and leave
	 * it oldest first): move it behind, so the next run replays in the
	 * order the batches were made. */
	px_spool_get_stats(e->cfg.spool, &ss);
	newer = ss.records > tb.appended ? ss.records - tb.appended : 0;
	spool_rotate(e, newer);
	return n;
}

void agent_emit_get_stats(const struct agent_emit *e,
			  struct agent_emit_stats *st)
{
	*st = e->st;
	st->queued = e->count;
}

/* ---- JSON --------------------------------------------------------------- */

/* Prints ,"<key>":"<value>" */
static void kv_str(FILE *f, const char *key, const char *val)
{
	fprintf(f, ",\"%s\":", key);
	px_json_str(f, val);
}

static void kv_u64(FILE *f, const char *key, uint64_t v)
{
	fprintf(f, ",\"%s\":%" PRIu64, key, v);
}

static void kv_i64(FILE *f, const char *key, int64_t v)
{
	fprintf(f, ",\"%s\":%" PRId64, key, v);
}

static void kv_bool(FILE *f, const char *key, bool v)
{
	fprintf(f, ",\"%s\":%s", key, v ? "true" : "false");
}

static void json_ref(FILE *f, const char *prefix,
		     const Parallax__V1__ProcessRef *r)
{
	char key[32];

	if (!r)
		return;
	snprintf(key, sizeof(key), "%spid", prefix);
	kv_u64(f, key, r->pid);
	snprintf(key, sizeof(key), "%sstart_time_ns", prefix);
	kv_u64(f, key, r->start_time_ns);
	snprintf(key, sizeof(key), "%sexec_id", prefix);
	kv_str(f, key, r->exec_id);
}

static void json_exec(FILE *f, const Parallax__V1__ProcessExec *x)
{
	json_ref(f, "", x->proc);
	kv_u64(f, "ppid", x->ppid);
	kv_str(f, "parent_exec_id", x->parent_exec_id);
	kv_str(f, "exe", x->exe);
	fputs(",\"argv\":[", f);
	for (size_t i = 0; i < x->n_argv; i++) {
		if (i)
			fputc(',', f);
		px_json_str(f, x->argv[i]);
	}
	fputc(']', f);
	kv_bool(f, "argv_truncated", x->argv_truncated);
	kv_str(f, "comm", x->comm);
	kv_u64(f, "uid", x->uid);
	kv_u64(f, "euid", x->euid);
	kv_u64(f, "loginuid", x->loginuid);
	kv_u64(f, "cgroup_id", x->cgroup_id);
	kv_str(f, "container_id", x->container_id);
	kv_u64(f, "mnt_ns", x->mnt_ns);
	kv_u64(f, "pid_ns", x->pid_ns);
	kv_bool(f, "from_snapshot", x->from_snapshot);
}

/* The proto name of enum value <v> without its <prefix> ("LOAD_KIND_"), as
 * protobuf-c's descriptor knows it. */
static const char *enum_name(const ProtobufCEnumDescriptor *d, int v,
			     const char *prefix)
{
	const ProtobufCEnumValue *ev = protobuf_c_enum_descriptor_get_value(d, v);
	size_t n = strlen(prefix);

	if (ev == NULL)
		return "UNSPECIFIED";
	return strncmp(ev->name, prefix, n) == 0 ? ev->name + n : ev->name;
}

static void json_artifact(FILE *f, const Parallax__V1__ArtifactLoaded *a)
{
	json_ref(f, "", a->proc);
	kv_str(f, "path", a->path);
	kv_u64(f, "dev", a->dev);
	kv_u64(f, "inode", a->inode);
	kv_u64(f, "size", a->size);
	kv_i64(f, "mtime_ns", a->mtime_ns);
	kv_str(f, "sha256", a->sha256);
	kv_str(f, "kind", enum_name(&parallax__v1__load_kind__descriptor,
					    a->kind, "LOAD_KIND_"));
	kv_str(f, "error", a->error);
	if (a->class_name && *a->class_name)
		kv_str(f, "class_name", a->class_name);
}

/* Prints ,"<key>":"<address>" for a 4- or 16-byte address ("" else). */
static void kv_addr(FILE *f, const char *key, const ProtobufCBinaryData *b)
{
	char text[INET6_ADDRSTRLEN] = "";

	if (b->len == 4)
		inet_ntop(AF_INET, b->data, text, sizeof(text));
	else if (b->len == 16)
		inet_ntop(AF_INET6, b->data, text, sizeof(text));
	kv_str(f, key, text);
}

static void json_net(FILE *f, const Parallax__V1__NetworkEvent *n)
{
	json_ref(f, "", n->proc);
	kv_str(f, "kind", enum_name(&parallax__v1__net_kind__descriptor,
					    n->kind, "NET_KIND_"));
	kv_u64(f, "protocol", n->protocol);
	kv_addr(f, "local_addr", &n->local_addr);
	kv_u64(f, "local_port", n->local_port);
	kv_addr(f, "remote_addr", &n->remote_addr);
	kv_u64(f, "remote_port", n->remote_port);
}

static void json_health(FILE *f, const Parallax__V1__AgentHealth *h)
{
	kv_u64(f, "ringbuf_drops", h->ringbuf_drops);
	kv_u64(f, "events_total", h->events_total);
	kv_u64(f, "hash_errors", h->hash_errors);
	kv_u64(f, "spool_dropped", h->spool_dropped);
	fprintf(f, ",\"cpu_share\":%.4f", h->cpu_share);
	kv_u64(f, "rss_bytes", h->rss_bytes);
	kv_u64(f, "processes_tracked", h->processes_tracked);
	fprintf(f, ",\"events_per_s\":%.2f", h->events_per_s);
	kv_u64(f, "queue_dropped", h->queue_dropped);
	kv_u64(f, "procs_refused", h->procs_refused);
	kv_u64(f, "exec_pass_dropped", h->exec_pass_dropped);
	kv_u64(f, "unknown_procs", h->unknown_procs);
	kv_u64(f, "net_unowned", h->net_unowned);
	kv_u64(f, "hash_deferred", h->hash_deferred);
	kv_u64(f, "synthetic_exits", h->synthetic_exits);
}

void agent_emit_json(FILE *f, const Parallax__V1__Event *ev)
{
	switch (ev->kind_case) {
	case PARALLAX__V1__EVENT__KIND_EXEC:
		fprintf(f, "{\"type\":\"exec\",\"ts_ns\":%" PRIu64, ev->ts_ns);
		json_exec(f, ev->exec);
		break;
	case PARALLAX__V1__EVENT__KIND_FORK:
		fprintf(f, "{\"type\":\"fork\",\"ts_ns\":%" PRIu64, ev->ts_ns);
		json_ref(f, "", ev->fork->proc);
		json_ref(f, "parent_", ev->fork->parent);
		break;
	case PARALLAX__V1__EVENT__KIND_EXIT:
		fprintf(f, "{\"type\":\"exit\",\"ts_ns\":%" PRIu64, ev->ts_ns);
		json_ref(f, "", ev->exit->proc);
		kv_i64(f, "exit_code", ev->exit->exit_code);
		kv_bool(f, "synthetic", ev->exit->synthetic);
		break;
	case PARALLAX__V1__EVENT__KIND_ARTIFACT:
		fprintf(f, "{\"type\":\"artifact\",\"ts_ns\":%" PRIu64,
			ev->ts_ns);
		json_artifact(f, ev->artifact);
		break;
	case PARALLAX__V1__EVENT__KIND_NET:
		fprintf(f, "{\"type\":\"net\",\"ts_ns\":%" PRIu64, ev->ts_ns);
		json_net(f, ev->net);
		break;
	case PARALLAX__V1__EVENT__KIND_VIOLATION:
		fprintf(f, "{\"type\":\"violation\",\"ts_ns\":%" PRIu64,
			ev->ts_ns);
		json_ref(f, "", ev->violation->proc);
		kv_str(f, "policy", ev->violation->policy);
		kv_str(f, "rule", ev->violation->rule);
		kv_str(f, "action", ev->violation->action);
		kv_str(f, "detail", ev->violation->detail);
		break;
	case PARALLAX__V1__EVENT__KIND_HEALTH:
		fprintf(f, "{\"type\":\"health\",\"ts_ns\":%" PRIu64,
			ev->ts_ns);
		json_health(f, ev->health);
		break;
	default:
		fprintf(f, "{\"type\":\"other\",\"ts_ns\":%" PRIu64, ev->ts_ns);
		break;
	}
	fputs("}\n", f);
}

/* ---- building events ---------------------------------------------------- */

Parallax__V1__Event *agent_ev_new(uint64_t ts_ns,
				  Parallax__V1__Event__KindCase kind)
{
	Parallax__V1__Event *ev = malloc(sizeof(*ev));
	void *inner;

	if (!ev)
		return NULL;
	parallax__v1__event__init(ev);
	ev->ts_ns = ts_ns;

#define INNER(type, init, field)                                              \
	do {                                                                  \
		type *m = malloc(sizeof(*m));                                 \
		if (m)                                                        \
			init(m);                                              \
		ev->field = m;                                                \
		inner = m;                                                    \
	} while (0)

	switch (kind) {
	case PARALLAX__V1__EVENT__KIND_EXEC:
		INNER(Parallax__V1__ProcessExec,
		      parallax__v1__process_exec__init, exec);
		break;
	case PARALLAX__V1__EVENT__KIND_FORK:
		INNER(Parallax__V1__ProcessFork,
		      parallax__v1__process_fork__init, fork);
		break;
	case PARALLAX__V1__EVENT__KIND_EXIT:
		INNER(Parallax__V1__ProcessExit,
		      parallax__v1__process_exit__init, exit);
		break;
	case PARALLAX__V1__EVENT__KIND_ARTIFACT:
		INNER(Parallax__V1__ArtifactLoaded,
		      parallax__v1__artifact_loaded__init, artifact);
		break;
	case PARALLAX__V1__EVENT__KIND_NET:
		INNER(Parallax__V1__NetworkEvent,
		      parallax__v1__network_event__init, net);
		break;
	case PARALLAX__V1__EVENT__KIND_VIOLATION:
		INNER(Parallax__V1__PolicyViolation,
		      parallax__v1__policy_violation__init, violation);
		break;
	case PARALLAX__V1__EVENT__KIND_HEALTH:
		INNER(Parallax__V1__AgentHealth,
		      parallax__v1__agent_health__init, health);
		break;
	default:
		inner = NULL;
		break;
	}
#undef INNER

	if (!inner) {
		free(ev);
		return NULL;
	}
	ev->kind_case = kind;
	return ev;
}

Parallax__V1__ProcessRef *agent_ev_ref(uint32_t pid, uint64_t start_time,
				       const char *exec_id)
{
	Parallax__V1__ProcessRef *r = malloc(sizeof(*r));

	if (!r)
		return NULL;
	parallax__v1__process_ref__init(r);
	r->pid = pid;
	r->start_time_ns = start_time;
	r->exec_id = agent_ev_str(exec_id);
	return r;
}

/* Strings from the kernel and /proc are bytes: the wire wants UTF-8. */
char *agent_ev_str(const char *s)
{
	char *d = px_utf8_fix(s ? s : "");

	return d ? d : (char *)protobuf_c_empty_string;
}

void agent_ev_free(Parallax__V1__Event *ev)
{
	if (ev)
		protobuf_c_message_free_unpacked(&ev->base, NULL);
}
