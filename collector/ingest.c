// SPDX-License-Identifier: Apache-2.0
/*
 * The ingest sink (see ingest.h).  Two connections, two stages:
 *
 *   submit -> pending --(rows or ms)--> group --state conn--> --events conn--> ack
 *
 * Batches wait in <pending> until they hold flush_rows events or the oldest
 * has waited flush_ms; then they become one group.  A group runs through
 * two transactions, in group order on each connection:
 *
 *   state  (connection S)  BEGIN; host facts; the correlation locks,
 *                          forks and execs of every batch, one statement
 *                          each; per batch, findings (with their
 *                          correlations, and the CVE findings of the
 *                          stored advisories that cover their packages);
 *                          the exits, then the loads (with theirs) of
 *                          every batch; per batch, scan report and its
 *                          events; COMMIT (enum step)
 *   events (connection E)  BEGIN; a lock per mark key (SQL_HWM_LOCK); the
 *                          group's high-water marks
 *                          (SQL_HWM_GROUP), which tell the duplicates; COPY
 *                          of the events of every batch that is not one;
 *                          COMMIT; then each batch is acked COMMITTED or
 *                          DUPLICATE
 *
 * While E commits group k, S already works on group k+1, so the two
 * transactions use both of the server's cores.  Each connection prepares
 * the statements of prepared_sql[] once per session, and S sends a group's
 * statements in libpq pipelines (one round trip up to COMMIT, or up to an
 * advisory lookup whose result decides the next statement: state_adv).  Effectively-once holds for
 * the events table because its rows and the marks commit together.  S
 * first reads the committed marks (SQL_HWM_READ) and skips the batches at
 * or below them; a replay that arrives while its first copy is still
 * between the stages runs its state statements twice, which are upserts
 * that the same rows leave unchanged.
 *
 * Errors: a database error that a retry may cure (connection lost, server
 * restart) rolls back and retries the same group with backoff, so the
 * queue stalls, intake pauses and sources keep their data.  An error no
 * retry can cure (SQLSTATE 22, 23, 54: see coll_pg_error_is_permanent)
 * splits the group into groups of one batch, and the batch that fails alone
 * is acked REJECTED with the server's message.
 *
 * XXX: a batch rejected by the events transaction keeps the state rows its
 * state transaction committed (they are valid rows; only its events failed).
 * XXX: no statement timeout: a server that accepts the connection and never
 * answers stalls the queue until TCP gives up.
 */
#include "ingest.h"

#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>

#include "advisories.h"
#include "host.h"
#include "ingest_sql.h"
#include "log.h"
#include "pgconn.h"
#include "sqlbuf.h"
#include "transport.h"

#define MAX_PARAMS 24
#define MAX_COLS 20
#define RETRY_MIN_MS 100
#define RETRY_MAX_MS 5000
#define DEFAULT_FLUSH_ROWS 10000
#define DEFAULT_FLUSH_MS 20
#define DEFAULT_GROUP_BATCHES 1024
#define MAX_PIPELINE 64         /* statements sent in one round trip */

enum stmt_role {
	ROLE_DATA,
	ROLE_HOST,      /* skipped when an earlier batch of the group has it */
	ROLE_ADV,       /* advisory candidates: its result makes a statement */
};

/*
 * The steps of a group's state transaction, in order.  The statements of
 * the merged steps (merged_sql[]) run once for the whole group: each batch
 * keeps its own (host_id first, as a scalar, then its arrays) and
 * merge_group() joins them, with the host repeated per row.  The others run
 * per batch, in group order.  Within a batch this keeps the order of
 * build_item(), except that loads come last; across batches, a step of
 * every batch comes before the next step of any.  The outcome is the one
 * the batches' own order gives:
 *   - forks and execs precede the exits and loads of their processes;
 *   - findings join the loads live before the group (and the exits that
 *     follow end those correlations), and the group's loads join every
 *     finding, the group's included, whichever batch came first;
 *   - exits precede loads, so that a process whose loads and exit arrive
 *     in one group, as short-lived ones do, has its loads and their
 *     correlations inserted already ended (SQL_ARTIFACT reads the exit)
 *     instead of inserted live and then updated by the exit: one write
 *     per row instead of two, and none into the indexes of what is loaded
 *     now.
 */
enum step {
	STEP_HOST,
	STEP_LOCKS,
	STEP_FORK,
	STEP_EXEC,
	STEP_FINDINGS,  /* with their advisory lookups */
	STEP_EXITS,
	STEP_LOADS,
	STEP_SCAN,
	N_STEPS,
};

static const char *const merged_sql[N_STEPS] = {
	[STEP_LOCKS] = SQL_LOCK_KEYS,
	[STEP_FORK] = SQL_FORK,
	[STEP_EXEC] = SQL_EXEC,
	[STEP_LOADS] = SQL_ARTIFACT,
	[STEP_EXITS] = SQL_EXIT,
};

struct stmt {
	const char *sql;
	enum stmt_role role;
	enum step step;
	size_t rows;            /* elements of each array (merged steps) */
	int n;
	char *params[MAX_PARAMS];
};

struct item {
	struct item *next;
	coll_ack_fn ack;
	void *ctx;
	char label[160];        /* host/source/boot/seq, for logs */
	char *host_id;
	char *source_id;
	char *boot_id;
	char *kind;
	char *version;
	char *peer;
	uint64_t seq;
	uint64_t sent_ns;       /* the source's clock, for lag */
	uint64_t queued_ns;     /* px_mono_ns() at submit */
	struct stmt *stmts;
	size_t n_stmts;
	size_t cap_stmts;
	struct coll_buf copy;   /* the batch's events as COPY text rows */
	size_t rows;
	bool skip_state;        /* a duplicate, as far as the state stage knows */
	bool host_first;        /* sends the group's host facts (merge_group) */
	size_t pos;             /* index in its group */
	bool dup;
	bool oom;
};

enum group_stage {
	STAGE_STATE,
	STAGE_EVENTS,
};

struct group {
	struct group *next;
	enum group_stage stage;
	struct item **items;
	size_t n;
	size_t rows;
	struct iovec *iov;      /* COPY chunks while E runs */
	struct stmt merged[N_STEPS];    /* see merge_group */
	struct item **by_key;   /* the items in key order (group_by_key) */
};

enum run_phase {
	RUN_IDLE,
	RUN_SESSION,
	RUN_PREPARE,
	RUN_STMT,
	RUN_ADV,
	RUN_HWM,
	RUN_COMMIT,
	RUN_ROLLBACK,
};

/* One connection and the transaction it runs for the group at hand. */
struct runner {
	struct coll_sink *sink;
	const char *name;       /* "state" or "events", for logs */
	struct coll_pg *pg;
	uv_timer_t retry;
	bool retry_pending;
	unsigned int backoff_ms;
	enum run_phase phase;
	struct group *g;
	enum step step;
	size_t item_idx;        /* in a merged step: 1 once it is sent */
	size_t stmt_idx;
	uint64_t began_ns;
	/* The session's prepared statements (see prepared_sql[]): valid for
	 * connection <prep_gen>, bit i set when statement i is prepared. */
	unsigned int prep_gen;
	size_t prep_idx;
	uint32_t prep_ok;
	bool adv_pending;       /* the pipeline in flight ends with ROLE_ADV */
	/* After ROLLBACK: retry, split or reject. */
	enum { AFTER_RETRY, AFTER_SPLIT, AFTER_REJECT } after;
	char detail[512];
};

struct coll_sink {
	uv_loop_t *loop;
	struct runner st;       /* state connection */
	struct runner ev;       /* events connection */
	uv_timer_t flush;
	bool flush_armed;

	/* submitted, not yet grouped */
	struct item *p_head, *p_tail;
	size_t p_rows, p_count;
	/* groups in order; those at stage STATE follow those at EVENTS */
	struct group *g_head, *g_tail;

	size_t flush_rows;
	unsigned int flush_ms;
	size_t group_batches;
	size_t high_water;
	size_t max_queued;
	bool pressured;
	void (*on_pressure)(void *arg, bool high);
	void (*on_commit)(void *arg, const struct coll_commit_info *ci);
	void *arg;
	int closed_handles;

	struct coll_sink_stats stats;
};

static void kick(struct coll_sink *s);

/* ---- building statements ---------------------------------------------- */

static struct stmt *stmt_add(struct item *it, const char *sql,
			     enum stmt_role role)
{
	struct stmt *st;

	if (it->n_stmts == it->cap_stmts) {
		size_t cap = it->cap_stmts ? 2 * it->cap_stmts : 8;
		struct stmt *p = realloc(it->stmts, cap * sizeof(*p));

		if (p == NULL) {
			it->oom = true;
			return NULL;
		}
		it->stmts = p;
		it->cap_stmts = cap;
	}
	st = &it->stmts[it->n_stmts++];
	memset(st, 0, sizeof(*st));
	st->sql = sql;
	st->role = role;
	if (role == ROLE_HOST)
		st->step = STEP_HOST;
	else if (sql == SQL_FINDING || sql == SQL_ADV_CANDIDATES)
		st->step = STEP_FINDINGS;
	else
		st->step = STEP_SCAN;
	for (int k = 0; k < N_STEPS; k++)
		if (merged_sql[k] == sql)
			st->step = (enum step)k;
	return st;
}

/* Appends a parameter, taking ownership of <v>; NULL means allocation
 * failed. */
static void param_take(struct item *it, struct stmt *st, char *v)
{
	if (st == NULL)
		return;
	if (v == NULL || st->n == MAX_PARAMS) {
		it->oom = true;
		free(v);
		return;
	}
	st->params[st->n++] = v;
}

static void param_str(struct item *it, struct stmt *st, const char *v)
{
	param_take(it, st, strdup(v != NULL ? v : ""));
}

static void param_u64(struct item *it, struct stmt *st, uint64_t v)
{
	char buf[24];

	snprintf(buf, sizeof(buf), "%" PRIu64, v);
	param_str(it, st, buf);
}

struct batch_ctx {
	const Parallax__V1__Batch *b;
	const char *host_id;
	const char *source_id;
};

/* $1 host_id, and with <nhead> 2 also $2 source_id. */
static struct stmt *data_stmt(struct item *it, const struct batch_ctx *bc,
			      const char *sql, int nhead)
{
	struct stmt *st = stmt_add(it, sql, ROLE_DATA);

	param_str(it, st, bc->host_id);
	if (nhead > 1)
		param_str(it, st, bc->source_id);
	return st;
}

/* The columns of one section, each an array literal growing by one
 * element per row. */
struct section {
	size_t rows;
	int ncols;
	struct coll_arr col[MAX_COLS];
};

static void section_emit(struct item *it, const struct batch_ctx *bc,
			 struct section *sec, const char *sql, int nhead)
{
	struct stmt *st;

	if (sec->rows == 0)
		goto out_free;
	st = data_stmt(it, bc, sql, nhead);
	if (st != NULL)
		st->rows = sec->rows;
	for (int i = 0; i < sec->ncols; i++)
		param_take(it, st, coll_arr_take(&sec->col[i]));
out_free:
	for (int i = 0; i < sec->ncols; i++)
		coll_buf_free(&sec->col[i].b);
}

static const char *severity_name(Parallax__V1__Severity s)
{
	switch (s) {
	case PARALLAX__V1__SEVERITY__SEVERITY_LOW:
		return "low";
	case PARALLAX__V1__SEVERITY__SEVERITY_MEDIUM:
		return "medium";
	case PARALLAX__V1__SEVERITY__SEVERITY_HIGH:
		return "high";
	case PARALLAX__V1__SEVERITY__SEVERITY_CRITICAL:
		return "critical";
	default:
		return "unknown";
	}
}

static const char *load_kind_name(Parallax__V1__LoadKind k)
{
	switch (k) {
	case PARALLAX__V1__LOAD_KIND__LOAD_KIND_OPEN_FILE:
		return "open_file";
	case PARALLAX__V1__LOAD_KIND__LOAD_KIND_MAPPED:
		return "mapped";
	case PARALLAX__V1__LOAD_KIND__LOAD_KIND_CLASS:
		return "class";
	default:
		return "unspecified";
	}
}

static const char *net_kind_name(Parallax__V1__NetKind k)
{
	switch (k) {
	case PARALLAX__V1__NET_KIND__NET_KIND_CONNECT:
		return "connect";
	case PARALLAX__V1__NET_KIND__NET_KIND_ACCEPT:
		return "accept";
	case PARALLAX__V1__NET_KIND__NET_KIND_LISTEN:
		return "listen";
	case PARALLAX__V1__NET_KIND__NET_KIND_CLOSE:
		return "close";
	default:
		return "unspecified";
	}
}

enum { EX_TS, EX_EXEC_ID, EX_PID, EX_START, EX_PPID, EX_PARENT, EX_EXE,
       EX_ARGV, EX_TRUNC, EX_COMM, EX_UID, EX_EUID, EX_LOGINUID, EX_CGROUP,
       EX_CONTAINER, EX_MNTNS, EX_PIDNS, EX_SNAPSHOT, EX_NCOLS };

static void add_exec(struct section *sec, uint64_t ts,
		     const Parallax__V1__ProcessExec *x)
{
	struct coll_arr *c = sec->col;

	coll_arr_u64(&c[EX_TS], ts);
	coll_arr_str(&c[EX_EXEC_ID], x->proc->exec_id);
	coll_arr_u64(&c[EX_PID], x->proc->pid);
	coll_arr_u64(&c[EX_START], x->proc->start_time_ns);
	coll_arr_u64(&c[EX_PPID], x->ppid);
	coll_arr_str(&c[EX_PARENT], x->parent_exec_id);
	coll_arr_str(&c[EX_EXE], x->exe);
	coll_arr_strv(&c[EX_ARGV], x->argv, x->n_argv);
	coll_arr_bool(&c[EX_TRUNC], x->argv_truncated);
	coll_arr_str(&c[EX_COMM], x->comm);
	coll_arr_u64(&c[EX_UID], x->uid);
	coll_arr_u64(&c[EX_EUID], x->euid);
	coll_arr_u64(&c[EX_LOGINUID], x->loginuid);
	coll_arr_u64(&c[EX_CGROUP], x->cgroup_id);
	coll_arr_str(&c[EX_CONTAINER], x->container_id);
	coll_arr_u64(&c[EX_MNTNS], x->mnt_ns);
	coll_arr_u64(&c[EX_PIDNS], x->pid_ns);
	coll_arr_bool(&c[EX_SNAPSHOT], x->from_snapshot);
	sec->rows++;
}

enum { FK_TS, FK_EXEC_ID, FK_PID, FK_START, FK_PARENT, FK_PPID, FK_NCOLS };

static void add_fork(struct section *sec, uint64_t ts,
		     const Parallax__V1__ProcessFork *x)
{
	struct coll_arr *c = sec->col;

	coll_arr_u64(&c[FK_TS], ts);
	coll_arr_str(&c[FK_EXEC_ID], x->proc->exec_id);
	coll_arr_u64(&c[FK_PID], x->proc->pid);
	coll_arr_u64(&c[FK_START], x->proc->start_time_ns);
	coll_arr_str(&c[FK_PARENT], x->parent ? x->parent->exec_id : NULL);
	if (x->parent != NULL)
		coll_arr_u64(&c[FK_PPID], x->parent->pid);
	else
		coll_arr_str(&c[FK_PPID], NULL);
	sec->rows++;
}

enum { AL_TS, AL_EXEC_ID, AL_PID, AL_PATH, AL_DEV, AL_INODE, AL_SIZE,
       AL_MTIME, AL_SHA, AL_KIND, AL_ERROR, AL_CLASS, AL_NCOLS };

static void add_artifact(struct section *sec, uint64_t ts,
			 const Parallax__V1__ArtifactLoaded *x)
{
	struct coll_arr *c = sec->col;

	coll_arr_u64(&c[AL_TS], ts);
	coll_arr_str(&c[AL_EXEC_ID], x->proc->exec_id);
	coll_arr_u64(&c[AL_PID], x->proc->pid);
	coll_arr_str(&c[AL_PATH], x->path);
	coll_arr_u64(&c[AL_DEV], x->dev);
	coll_arr_u64(&c[AL_INODE], x->inode);
	coll_arr_u64(&c[AL_SIZE], x->size);
	coll_arr_i64(&c[AL_MTIME], x->mtime_ns);
	coll_arr_str(&c[AL_SHA], x->sha256);
	coll_arr_str(&c[AL_KIND], load_kind_name(x->kind));
	coll_arr_str(&c[AL_ERROR], x->error);
	coll_arr_str(&c[AL_CLASS], x->class_name);
	sec->rows++;
}

enum { XT_TS, XT_EXEC_ID, XT_PID, XT_START, XT_CODE, XT_NCOLS };

static void add_exit(struct section *sec, uint64_t ts,
		     const Parallax__V1__ProcessExit *x)
{
	struct coll_arr *c = sec->col;

	coll_arr_u64(&c[XT_TS], ts);
	coll_arr_str(&c[XT_EXEC_ID], x->proc->exec_id);
	coll_arr_u64(&c[XT_PID], x->proc->pid);
	coll_arr_u64(&c[XT_START], x->proc->start_time_ns);
	coll_arr_i64(&c[XT_CODE], x->exit_code);
	sec->rows++;
}

/* ---- event rows for COPY ---------------------------------------------- */

static void addr_json(struct coll_buf *j, const char *key,
		      const ProtobufCBinaryData *a)
{
	char text[INET6_ADDRSTRLEN];

	if (a->len == 4 && inet_ntop(AF_INET, a->data, text, sizeof(text)))
		coll_json_str(j, key, text);
	else if (a->len == 16 &&
		 inet_ntop(AF_INET6, a->data, text, sizeof(text)))
		coll_json_str(j, key, text);
	else
		coll_json_bytes(j, key, a->data, a->len);
}

static const char *process_detail(const Parallax__V1__Event *e,
				  struct coll_buf *j,
				  const Parallax__V1__ProcessRef **proc)
{
	switch (e->kind_case) {
	case PARALLAX__V1__EVENT__KIND_EXEC: {
		const Parallax__V1__ProcessExec *x = e->exec;

		*proc = x->proc;
		coll_json_str(j, "exe", x->exe);
		coll_json_strv(j, "argv", x->argv, x->n_argv);
		coll_json_u64(j, "ppid", x->ppid);
		coll_json_str(j, "parent_exec_id", x->parent_exec_id);
		coll_json_u64(j, "uid", x->uid);
		coll_json_u64(j, "euid", x->euid);
		coll_json_str(j, "comm", x->comm);
		coll_json_str(j, "container_id", x->container_id);
		if (x->from_snapshot)
			coll_json_u64(j, "from_snapshot", 1);
		return "exec";
	}
	case PARALLAX__V1__EVENT__KIND_FORK:
		*proc = e->fork->proc;
		if (e->fork->parent != NULL) {
			coll_json_u64(j, "ppid", e->fork->parent->pid);
			coll_json_str(j, "parent_exec_id",
				      e->fork->parent->exec_id);
		}
		return "fork";
	case PARALLAX__V1__EVENT__KIND_EXIT:
		*proc = e->exit->proc;
		coll_json_i64(j, "exit_code", e->exit->exit_code);
		if (e->exit->synthetic)
			coll_json_u64(j, "synthetic", 1);
		return "exit";
	default: { /* PARALLAX__V1__EVENT__KIND_ARTIFACT */
		const Parallax__V1__ArtifactLoaded *x = e->artifact;

		*proc = x->proc;
		coll_json_str(j, "path", x->path);
		coll_json_str(j, "sha256", x->sha256);
		coll_json_u64(j, "dev", x->dev);
		coll_json_u64(j, "inode", x->inode);
		coll_json_u64(j, "size", x->size);
		coll_json_str(j, "load_kind", load_kind_name(x->kind));
		coll_json_str(j, "error", x->error);
		coll_json_str(j, "class_name", x->class_name);
		return "artifact";
	}
	}
}

/* Writes the detail object of any event; returns its kind name and sets
 * its process (NULL for health). */
static const char *event_detail(const Parallax__V1__Event *e,
				struct coll_buf *j,
				const Parallax__V1__ProcessRef **proc)
{
	const char *kind;

	*proc = NULL;
	coll_json_begin(j);
	switch (e->kind_case) {
	case PARALLAX__V1__EVENT__KIND_EXEC:
	case PARALLAX__V1__EVENT__KIND_FORK:
	case PARALLAX__V1__EVENT__KIND_EXIT:
	case PARALLAX__V1__EVENT__KIND_ARTIFACT:
		kind = process_detail(e, j, proc);
		break;
	case PARALLAX__V1__EVENT__KIND_NET:
		*proc = e->net->proc;
		coll_json_str(j, "kind", net_kind_name(e->net->kind));
		coll_json_u64(j, "protocol", e->net->protocol);
		addr_json(j, "local_addr", &e->net->local_addr);
		coll_json_u64(j, "local_port", e->net->local_port);
		addr_json(j, "remote_addr", &e->net->remote_addr);
		coll_json_u64(j, "remote_port", e->net->remote_port);
		kind = "net";
		break;
	case PARALLAX__V1__EVENT__KIND_HEALTH:
		coll_json_u64(j, "ringbuf_drops", e->health->ringbuf_drops);
		coll_json_u64(j, "events_total", e->health->events_total);
		coll_json_u64(j, "hash_errors", e->health->hash_errors);
		coll_json_u64(j, "spool_dropped", e->health->spool_dropped);
		coll_json_f64(j, "cpu_share", e->health->cpu_share);
		coll_json_u64(j, "rss_bytes", e->health->rss_bytes);
		coll_json_u64(j, "processes_tracked",
			      e->health->processes_tracked);
		coll_json_f64(j, "events_per_s", e->health->events_per_s);
		coll_json_u64(j, "queue_dropped", e->health->queue_dropped);
		coll_json_u64(j, "procs_refused", e->health->procs_refused);
		coll_json_u64(j, "exec_pass_dropped",
			      e->health->exec_pass_dropped);
		coll_json_u64(j, "unknown_procs", e->health->unknown_procs);
		coll_json_u64(j, "net_unowned", e->health->net_unowned);
		coll_json_u64(j, "hash_deferred", e->health->hash_deferred);
		coll_json_u64(j, "synthetic_exits", e->health->synthetic_exits);
		kind = "health";
		break;
	case PARALLAX__V1__EVENT__KIND_MCP:
		*proc = e->mcp->proc;
		coll_json_str(j, "transport", e->mcp->transport);
		coll_json_str(j, "direction", e->mcp->direction);
		coll_json_str(j, "method", e->mcp->method);
		coll_json_str(j, "tool", e->mcp->tool);
		coll_json_str(j, "json_id", e->mcp->json_id);
		coll_json_bytes(j, "body", e->mcp->body.data,
				e->mcp->body.len);
		kind = "mcp";
		break;
	default: /* PARALLAX__V1__EVENT__KIND_VIOLATION */
		*proc = e->violation->proc;
		coll_json_str(j, "policy", e->violation->policy);
		coll_json_str(j, "rule", e->violation->rule);
		coll_json_str(j, "action", e->violation->action);
		coll_json_str(j, "detail", e->violation->detail);
		kind = "violation";
		break;
	}
	coll_json_end(j);
	return kind;
}

/*
 * Event rows go to the server in COPY's binary format: per row a field
 * count, then per field its length (-1 for NULL) and its bytes in the
 * type's binary form.  Measured with one COPY of the same million event
 * rows into the same table, the server took them about 1.4 times as fast
 * as in text form, which it has to split, unescape and parse per field
 * (timestamps and integers from text, most of all).  The detail column is
 * json, whose binary form is its text: the server still checks its syntax.
 */
static const char COPY_HEADER[19] = "PGCOPY\n\377\r\n";      /* flags, ext 0 */
static const char COPY_TRAILER[2] = { '\377', '\377' };    /* int16 -1 */

#define EVENT_FIELDS 9  /* the columns of SQL_COPY_EVENTS */
#define PG_EPOCH_US 946684800000000ull  /* 2000-01-01 in Unix microseconds */

static void copy_be(struct coll_buf *b, uint64_t v, int bytes)
{
	char out[8];

	for (int i = bytes - 1; i >= 0; i--) {
		out[i] = (char)(v & 0xff);
		v >>= 8;
	}
	coll_buf_putn(b, out, (size_t)bytes);
}

static void copy_null(struct coll_buf *b)
{
	copy_be(b, UINT32_MAX, 4);
}

static void copy_bytes(struct coll_buf *b, const char *s, size_t n)
{
	copy_be(b, n, 4);
	coll_buf_putn(b, s, n);
}

/* text; NULL stays NULL.  Batches are valid UTF-8 without NUL bytes by
 * then (px_batch_invalid), so the bytes are the value. */
static void copy_str(struct coll_buf *b, const char *s)
{
	if (s == NULL)
		copy_null(b);
	else
		copy_bytes(b, s, strlen(s));
}

/* timestamptz: microseconds since 2000-01-01 UTC.  <ns> 0 means unknown,
 * and the receive time <now> stands in for it.  Any uint64 of nanoseconds
 * since 1970 falls inside the type's range (it ends in year 294276). */
static void copy_ts(struct coll_buf *b, uint64_t ns, uint64_t now)
{
	if (ns == 0)
		ns = now;
	copy_be(b, 8, 4);
	copy_be(b, ns / 1000u - PG_EPOCH_US, 8);
}

/* Appends one events row (column order of SQL_COPY_EVENTS).  The detail
 * object comes first, written in place, and its length is filled in once
 * it is known: no buffer per event. */
static void copy_event(struct item *it, const struct batch_ctx *bc,
		       const Parallax__V1__Event *e, uint64_t now)
{
	const Parallax__V1__ProcessRef *proc = NULL;
	struct coll_buf *c = &it->copy;
	const char *kind;
	size_t at, n;

	copy_be(c, EVENT_FIELDS, 2);
	at = c->len;
	copy_be(c, 0, 4);
	kind = event_detail(e, c, &proc);
	if (c->oom) {
		it->oom = true;
		return;
	}
	n = c->len - at - 4;
	for (int i = 3; i >= 0; i--) {
		c->p[at + (size_t)i] = (char)(n & 0xff);
		n >>= 8;
	}
	copy_ts(c, e->ts_ns, now);
	copy_str(c, bc->host_id);
	copy_str(c, kind);
	copy_str(c, proc != NULL ? proc->exec_id : NULL);
	if (proc != NULL) {
		copy_be(c, 4, 4);       /* integer; validated to fit */
		copy_be(c, proc->pid, 4);
	} else {
		copy_null(c);
	}
	copy_str(c, bc->source_id);
	copy_str(c, bc->b->source->boot_id);
	copy_be(c, 8, 4);               /* bigint; validated to fit */
	copy_be(c, bc->b->seq, 8);
	it->rows++;
}
enum { FN_TYPE, FN_PATH, FN_INNER, FN_SHA, FN_LAYER, FN_ECO, FN_NAME,
       FN_VERSION, FN_PURL, FN_CVE, FN_SEV, FN_EVIDENCE, FN_PRINT,
       FN_NCOLS };

/* One finding row; <cve> may be NULL (no CVE). */
static void finding_row(struct section *sec, const Parallax__V1__Finding *f,
			const char *type, const char *eco, const char *name,
			const char *version, const char *purl,
			const Parallax__V1__CveEvidence *cve,
			const char *evidence, const char *fingerprint)
{
	struct coll_arr *c = sec->col;
	Parallax__V1__Severity sev = f->severity;

	if (cve != NULL && cve->severity != PARALLAX__V1__SEVERITY__SEVERITY_UNKNOWN)
		sev = cve->severity;
	if (cve != NULL && cve->evidence != NULL && cve->evidence[0] != '\0')
		evidence = cve->evidence;
	coll_arr_str(&c[FN_TYPE], type);
	coll_arr_str(&c[FN_PATH], f->path);
	coll_arr_str(&c[FN_INNER], f->inner);
	coll_arr_str(&c[FN_SHA], f->sha256);
	coll_arr_str(&c[FN_LAYER], f->layer_digest);
	coll_arr_str(&c[FN_ECO], eco);
	coll_arr_str(&c[FN_NAME], name);
	coll_arr_str(&c[FN_VERSION], version);
	coll_arr_str(&c[FN_PURL], purl);
	coll_arr_str(&c[FN_CVE], cve != NULL ? cve->id : "");
	coll_arr_str(&c[FN_SEV], severity_name(sev));
	coll_arr_str(&c[FN_EVIDENCE], evidence != NULL ? evidence : "");
	coll_arr_str(&c[FN_PRINT], fingerprint != NULL ? fingerprint : "");
	sec->rows++;
}

static void add_finding(struct section *sec, const Parallax__V1__Finding *f)
{
	char ev[512];

	switch (f->detail_case) {
	case PARALLAX__V1__FINDING__DETAIL_PACKAGE: {
		const Parallax__V1__PackageFinding *p = f->package;

		if (p->n_cves == 0)
			finding_row(sec, f, "package", p->ecosystem, p->name,
				    p->version, p->purl, NULL, p->evidence,
				    NULL);
		for (size_t i = 0; i < p->n_cves; i++)
			finding_row(sec, f, "package", p->ecosystem, p->name,
				    p->version, p->purl, p->cves[i],
				    p->evidence, NULL);
		break;
	}
	case PARALLAX__V1__FINDING__DETAIL_SECRET:
		snprintf(ev, sizeof(ev), "preview=%s line=%u",
			 f->secret->preview, f->secret->line);
		finding_row(sec, f, "secret", "", f->secret->rule, "", "",
			    NULL, ev, f->secret->keyed_hash);
		break;
	case PARALLAX__V1__FINDING__DETAIL_PII:
		snprintf(ev, sizeof(ev), "preview=%s line=%u",
			 f->pii->preview, f->pii->line);
		finding_row(sec, f, "pii", "", f->pii->kind, "", "", NULL, ev,
			    f->pii->keyed_hash);
		break;
	default: /* malware; px_batch_invalid() refused anything else */
		snprintf(ev, sizeof(ev), "database=%s hash_kind=%s",
			 f->malware->database, f->malware->hash_kind);
		finding_row(sec, f, "malware", "", f->malware->signature, "",
			    "", NULL, ev, f->malware->signature);
		break;
	}
}

static void build_host(struct item *it, const struct batch_ctx *bc)
{
	const Parallax__V1__HostFacts *h = bc->b->source->host;
	struct stmt *st = stmt_add(it, SQL_HOST, ROLE_HOST);

	param_str(it, st, bc->host_id);
	param_str(it, st, h->hostname);
	param_str(it, st, h->kernel);
	param_str(it, st, h->os);
	param_str(it, st, h->arch);
	param_str(it, st, h->kernel_boot_id);
}

/* The report's events: what the scan could not read in full. */
static void build_scan_events(struct item *it, const struct batch_ctx *bc)
{
	const Parallax__V1__ScanReport *r = bc->b->scan;
	struct coll_arr col[5] = { 0 };
	struct stmt *st;

	if (r->n_events == 0)
		return;
	for (size_t i = 0; i < r->n_events; i++) {
		const Parallax__V1__ScanEvent *e = r->events[i];

		coll_arr_str(&col[0], e->kind);
		coll_arr_str(&col[1], e->path);
		coll_arr_str(&col[2], e->inner);
		coll_arr_str(&col[3], e->detail);
		coll_arr_str(&col[4], e->layer_digest);
	}
	st = stmt_add(it, SQL_SCAN_EVENTS, ROLE_DATA);
	param_str(it, st, bc->host_id);
	param_str(it, st, r->scan_id);
	param_u64(it, st, r->finished_ns);
	for (int k = 0; k < 5; k++) {
		param_take(it, st, coll_arr_take(&col[k]));
		coll_buf_free(&col[k].b);
	}
}

static void build_scan(struct item *it, const struct batch_ctx *bc)
{
	const Parallax__V1__ScanReport *r = bc->b->scan;
	struct stmt *st;

	if (r == NULL)
		return;
	st = stmt_add(it, SQL_SCAN, ROLE_DATA);
	param_str(it, st, bc->host_id);
	param_str(it, st, bc->source_id);
	param_str(it, st, r->scan_id);
	param_str(it, st, r->root);
	param_str(it, st, r->snapshot_kind);
	param_u64(it, st, r->started_ns);
	param_u64(it, st, r->finished_ns);
	param_u64(it, st, r->files);
	param_u64(it, st, r->bytes);
	param_u64(it, st, r->findings);
	param_u64(it, st, r->errors);
	param_u64(it, st, r->events_dropped);
	build_scan_events(it, bc);
}

/* The correlation keys of the batch's loads and findings (SQL_LOCK_KEYS). */
static void build_locks(struct item *it, const struct batch_ctx *bc)
{
	const Parallax__V1__Batch *b = bc->b;
	struct coll_arr sha = { 0 }, path = { 0 };
	struct stmt *st;

	for (size_t i = 0; i < b->n_events; i++) {
		const Parallax__V1__Event *e = b->events[i];

		if (e->kind_case != PARALLAX__V1__EVENT__KIND_ARTIFACT)
			continue;
		coll_arr_str(&sha, e->artifact->sha256);
		coll_arr_str(&path, e->artifact->path);
	}
	for (size_t i = 0; i < b->n_findings; i++) {
		coll_arr_str(&sha, b->findings[i]->sha256);
		coll_arr_str(&path, b->findings[i]->path);
	}
	if (path.n == 0)
		goto out_free;
	st = stmt_add(it, SQL_LOCK_KEYS, ROLE_DATA);
	if (st != NULL)
		st->rows = path.n;
	param_str(it, st, bc->host_id);
	param_take(it, st, coll_arr_take(&sha));
	param_take(it, st, coll_arr_take(&path));
out_free:
	coll_buf_free(&sha.b);
	coll_buf_free(&path.b);
}

/* The package versions the batch reports, to be checked against the stored
 * advisories (SQL_ADV_CANDIDATES) right after its findings are in. */
static void build_adv(struct item *it, const struct batch_ctx *bc)
{
	const Parallax__V1__Batch *b = bc->b;
	struct coll_arr col[4] = { 0 };
	struct stmt *st;

	for (size_t i = 0; i < b->n_findings; i++) {
		const Parallax__V1__Finding *f = b->findings[i];

		if (f->detail_case != PARALLAX__V1__FINDING__DETAIL_PACKAGE ||
		    f->package->version == NULL ||
		    f->package->version[0] == '\0')
			continue;
		coll_arr_str(&col[0], f->package->ecosystem);
		coll_arr_str(&col[1], f->package->name);
		coll_arr_str(&col[2], f->package->version);
		coll_arr_str(&col[3], f->package->purl);
	}
	if (col[0].n > 0) {
		st = stmt_add(it, SQL_ADV_CANDIDATES, ROLE_ADV);
		for (int k = 0; k < 4; k++)
			param_take(it, st, coll_arr_take(&col[k]));
		param_str(it, st, bc->host_id);
	}
	for (int k = 0; k < 4; k++)
		coll_buf_free(&col[k].b);
}

/* Turns the batch into the statements of its state transaction and the
 * COPY rows of its events. */
static void build_item(struct item *it, const struct batch_ctx *bc)
{
	const Parallax__V1__Batch *b = bc->b;
	struct section exec = { .ncols = EX_NCOLS }, fork = { .ncols = FK_NCOLS };
	struct section load = { .ncols = AL_NCOLS }, fin = { .ncols = FN_NCOLS };
	struct section exits = { .ncols = XT_NCOLS };
	uint64_t now = px_now_ns();

	build_host(it, bc);
	build_locks(it, bc);
	for (size_t i = 0; i < b->n_events; i++) {
		const Parallax__V1__Event *e = b->events[i];

		copy_event(it, bc, e, now);
		switch (e->kind_case) {
		case PARALLAX__V1__EVENT__KIND_EXEC:
			add_exec(&exec, e->ts_ns, e->exec);
			break;
		case PARALLAX__V1__EVENT__KIND_FORK:
			add_fork(&fork, e->ts_ns, e->fork);
			break;
		case PARALLAX__V1__EVENT__KIND_ARTIFACT:
			add_artifact(&load, e->ts_ns, e->artifact);
			break;
		case PARALLAX__V1__EVENT__KIND_EXIT:
			add_exit(&exits, e->ts_ns, e->exit);
			break;
		default:
			break;
		}
	}
	if (it->copy.oom)
		it->oom = true;
	for (size_t i = 0; i < b->n_findings; i++)
		add_finding(&fin, b->findings[i]);

	section_emit(it, bc, &fork, SQL_FORK, 1);
	section_emit(it, bc, &exec, SQL_EXEC, 1);
	section_emit(it, bc, &load, SQL_ARTIFACT, 1);
	section_emit(it, bc, &fin, SQL_FINDING, 2);
	build_adv(it, bc);
	section_emit(it, bc, &exits, SQL_EXIT, 1);
	build_scan(it, bc);
}

static void item_free(struct item *it)
{
	if (it == NULL)
		return;
	for (size_t i = 0; i < it->n_stmts; i++)
		for (int k = 0; k < it->stmts[i].n; k++)
			free(it->stmts[i].params[k]);
	free(it->stmts);
	coll_buf_free(&it->copy);
	free(it->host_id);
	free(it->source_id);
	free(it->boot_id);
	free(it->kind);
	free(it->version);
	free(it->peer);
	free(it);
}

static void merged_free(struct group *g)
{
	for (int k = 0; k < N_STEPS; k++) {
		for (int i = 0; i < g->merged[k].n; i++)
			free(g->merged[k].params[i]);
		g->merged[k].n = 0;
	}
}

static void group_free(struct group *g, bool with_items)
{
	if (g == NULL)
		return;
	merged_free(g);
	free(g->by_key);
	if (with_items)
		for (size_t i = 0; i < g->n; i++)
			item_free(g->items[i]);
	free(g->items);
	free(g->iov);
	free(g);
}

/* ---- grouping ----------------------------------------------------------- */

static void pressure_check(struct coll_sink *s)
{
	size_t q = s->stats.queued;

	if (!s->pressured && q >= s->high_water) {
		s->pressured = true;
		s->stats.pauses++;
		px_warn("ingest", "queue above high-water mark, pausing intake",
			"queued=%zu", q);
		if (s->on_pressure != NULL)
			s->on_pressure(s->arg, true);
	} else if (s->pressured && q <= s->high_water / 2) {
		s->pressured = false;
		px_info("ingest", "queue drained, resuming intake",
			"queued=%zu", q);
		if (s->on_pressure != NULL)
			s->on_pressure(s->arg, false);
	}
}

static void group_append(struct coll_sink *s, struct group *g)
{
	if (s->g_tail != NULL)
		s->g_tail->next = g;
	else
		s->g_head = g;
	s->g_tail = g;
}

/* Turns every pending batch into one group.  On allocation failure the
 * batches stay pending and the flush timer tries again. */
static void cut_group(struct coll_sink *s)
{
	struct group *g;
	struct item *it;
	size_t i = 0;

	if (s->p_head == NULL)
		return;
	g = calloc(1, sizeof(*g));
	if (g != NULL)
		g->items = calloc(s->p_count, sizeof(*g->items));
	if (g == NULL || g->items == NULL) {
		free(g);
		return;     /* still pending: the flush timer tries again */
	}
	for (it = s->p_head; it != NULL; it = it->next) {
		it->pos = i;
		g->items[i++] = it;
		g->rows += it->rows;
	}
	for (i = 0; i < s->p_count; i++)
		g->items[i]->next = NULL;
	g->n = s->p_count;
	g->stage = STAGE_STATE;
	s->p_head = s->p_tail = NULL;
	s->p_rows = s->p_count = 0;
	group_append(s, g);
}

static void on_flush_timer(uv_timer_t *t)
{
	struct coll_sink *s = t->data;

	s->flush_armed = false;
	cut_group(s);
	kick(s);
}

/* ---- running transactions --------------------------------------------- */

/*
 * The statements each connection prepares once it is up, so that a group
 * costs the server no parsing and analysis of these long statements (the
 * state transaction runs several per batch).  A statement the server
 * refuses to prepare is sent unprepared.
 */
static const char *const prepared_sql[] = {
	SQL_HWM_GROUP, SQL_HWM_READ, SQL_HOST, SQL_LOCK_KEYS, SQL_EXEC,
	SQL_FORK, SQL_ARTIFACT, SQL_FINDING, SQL_EXIT, SQL_SCAN,
	SQL_SCAN_EVENTS, SQL_ADV_CANDIDATES, SQL_ADV_INGEST, SQL_HWM_LOCK,
};
#define N_PREPARED (sizeof(prepared_sql) / sizeof(prepared_sql[0]))

static void on_result(void *arg, PGresult *res);
static void fail_oom(struct runner *r);

static const char *const prepared_names[] = {
	"px_ingest_0", "px_ingest_1", "px_ingest_2", "px_ingest_3",
	"px_ingest_4", "px_ingest_5", "px_ingest_6", "px_ingest_7",
	"px_ingest_8", "px_ingest_9", "px_ingest_10", "px_ingest_11",
	"px_ingest_12", "px_ingest_13",
};
_Static_assert(sizeof(prepared_names) / sizeof(prepared_names[0]) ==
	       N_PREPARED, "one name per prepared statement");

/* Fills <ps> with <sql>: by its prepared name when this session has it. */
static void stmt_set(const struct runner *r, struct coll_pg_stmt *ps,
		     const char *sql, int n, char *const *params)
{
	bool fresh = r->prep_gen == coll_pg_generation(r->pg);

	ps->name = NULL;
	ps->sql = sql;
	ps->nparams = n;
	ps->params = (const char *const *)params;
	for (size_t i = 0; fresh && i < N_PREPARED; i++)
		if (prepared_sql[i] == sql && (r->prep_ok & (1u << i)))
			ps->name = prepared_names[i];
}

/* Sends <n> statements in one round trip; the result of the last (or the
 * first error) comes back in <phase>. */
static void send_pipeline(struct runner *r, enum run_phase phase,
			  const struct coll_pg_stmt *ps, size_t n)
{
	r->phase = phase;
	if (coll_pg_pipeline(r->pg, ps, n, on_result, r) < 0)
		r->phase = RUN_IDLE; /* connection lost; ready() kicks again */
}

static void send_sql(struct runner *r, enum run_phase phase, const char *sql,
		     int n, char *const *params)
{
	struct coll_pg_stmt ps;
	int ret;

	stmt_set(r, &ps, sql, n, params);
	r->phase = phase;
	if (ps.name != NULL)
		ret = coll_pg_query_prepared(r->pg, ps.name, n, ps.params,
					     on_result, r);
	else
		ret = coll_pg_query(r->pg, sql, n, ps.params, on_result, r);
	if (ret < 0)
		r->phase = RUN_IDLE; /* connection lost; ready() kicks again */
}

/*
 * The sessions' settings, sent once per connection before the statements
 * are prepared.
 *
 * plan_cache_mode (both): every execution of the prepared
 * statements is planned for its own parameters.  A generic plan knows
 * neither the lengths of the arrays nor the host, and is costed from
 * statistics that lag the tables (autovacuum analyzes a new table a minute
 * after its first rows at the earliest, then at every 10% of growth).
 * With it, the exit statement looked the batch's processes up by host_id
 * alone and filtered the exec ids, reading every correlation and load the
 * host ever had: in the ingest benchmark the exit cost 1.75 ms a batch and
 * grew with the run, against 0.37 ms with plans for the real parameters,
 * which cost the server less than the scans they avoid (98k against 150k
 * events/s committed, same machine, same run length).
 *
 * synchronous_commit off (state only): the state transaction's COMMIT
 * returns without waiting for its WAL to reach the disk.  Nothing is acked
 * until the events transaction of the same group has committed, and that
 * one starts after the state COMMIT, so its commit record lies later in
 * the WAL: the flush that makes it durable makes the state durable too.  A
 * crash in between loses both, unacked, and the sources resend them.  The
 * state connection thus no longer waits for a disk flush per group.
 */
static const char SQL_SESSION_STATE[] =
	"SELECT set_config('plan_cache_mode', 'force_custom_plan', false), "
	"set_config('synchronous_commit', 'off', false)";
static const char SQL_SESSION_EVENTS[] =
	"SELECT set_config('plan_cache_mode', 'force_custom_plan', false)";

static void prepare_next(struct runner *r);

static void session_setup(struct runner *r)
{
	const char *sql = r == &r->sink->st ? SQL_SESSION_STATE :
			  SQL_SESSION_EVENTS;

	r->phase = RUN_SESSION;
	if (coll_pg_query(r->pg, sql, 0, NULL, on_result, r) < 0)
		r->phase = RUN_IDLE;
}

/* The outcome of the session settings: a server that refuses them
 * (plan_cache_mode came with PostgreSQL 12) still ingests, with generic
 * plans and synchronous state commits. */
static void session_done(struct runner *r, PGresult *res)
{
	const char *msg;

	if (res == NULL) {
		r->phase = RUN_IDLE;    /* reconnecting: starts over */
		return;
	}
	if (PQresultStatus(res) != PGRES_TUPLES_OK) {
		msg = PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY);
		px_warn("ingest", "session settings refused, using the defaults",
			"stage=%s err=%s", r->name, px_q(msg != NULL ? msg : "?"));
	}
	prepare_next(r);
}

/* Prepares the next statement of prepared_sql[], or, after the last,
 * lets the runner start its group. */
static void prepare_next(struct runner *r)
{
	if (r->prep_idx == N_PREPARED) {
		r->prep_gen = coll_pg_generation(r->pg);
		r->phase = RUN_IDLE;
		kick(r->sink);
		return;
	}
	r->phase = RUN_PREPARE;
	if (coll_pg_prepare(r->pg, prepared_names[r->prep_idx],
			    prepared_sql[r->prep_idx], on_result, r) < 0)
		r->phase = RUN_IDLE;
}

/* The outcome of preparing statement prep_idx. */
static void prepared(struct runner *r, PGresult *res)
{
	const char *msg;

	if (res == NULL) {
		r->phase = RUN_IDLE;    /* reconnecting: prepares again */
		return;
	}
	msg = PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY);
	if (PQresultStatus(res) == PGRES_COMMAND_OK)
		r->prep_ok |= 1u << r->prep_idx;
	else
		px_warn("ingest", "statement not prepared, sending it as text",
			"stage=%s idx=%zu err=%s", r->name, r->prep_idx,
			px_q(msg != NULL ? msg : "?"));
	r->prep_idx++;
	prepare_next(r);
}


/*
 * Builds the statements of the merged steps for the batches of <g> that
 * the state stage does not skip: each array parameter is the batches'
 * arrays end to end, and $1 repeats each batch's host_id once per row.
 * A step no batch brings gets n = 0.  -ENOMEM when an allocation failed.
 */
static int merge_group(struct group *g)
{
	/* Host facts: once per host, from its first batch not skipped. */
	for (size_t a = 0, b; a < g->n; a = b) {
		struct item *first = NULL;

		for (b = a; b < g->n && strcmp(g->by_key[b]->host_id,
					       g->by_key[a]->host_id) == 0; b++) {
			struct item *it = g->by_key[b];

			it->host_first = false;
			if (!it->skip_state &&
			    (first == NULL || it->pos < first->pos))
				first = it;
		}
		if (first != NULL)
			first->host_first = true;
	}
	merged_free(g);
	for (int k = 0; k < N_STEPS; k++) {
		struct coll_arr col[MAX_PARAMS] = { 0 };
		struct stmt *m = &g->merged[k];
		int ncols = 0;
		bool ok = true;

		if (merged_sql[k] == NULL)
			continue;
		for (size_t i = 0; i < g->n; i++) {
			const struct item *it = g->items[i];

			if (it->skip_state)
				continue;
			for (size_t j = 0; j < it->n_stmts; j++) {
				const struct stmt *st = &it->stmts[j];

				if (st->step != (enum step)k || st->n == 0)
					continue;
				ncols = st->n;
				coll_arr_repeat(&col[0], st->params[0],
						st->rows);
				for (int c = 1; c < st->n; c++)
					coll_arr_cat(&col[c], st->params[c],
						     st->rows);
			}
		}
		m->sql = merged_sql[k];
		for (int c = 0; c < ncols; c++) {
			m->params[c] = coll_arr_take(&col[c]);
			ok = ok && m->params[c] != NULL;
		}
		for (int c = ncols; c < MAX_PARAMS; c++)
			coll_buf_free(&col[c].b);
		m->n = ncols;
		if (!ok)
			return -ENOMEM;
	}
	return 0;
}

/*
 * State stage: sends the next statements in one pipeline, up to COMMIT
 * after the last, or up to an advisory lookup, whose result decides what
 * follows (state_adv).
 */
static void state_next(struct runner *r)
{
	struct coll_pg_stmt ps[MAX_PIPELINE];
	enum run_phase phase = RUN_STMT;
	struct group *g = r->g;
	size_t n = 0;

	r->adv_pending = false;
	for (; r->step < N_STEPS;
	     r->step++, r->item_idx = 0, r->stmt_idx = 0) {
		if (merged_sql[r->step] != NULL) {
			struct stmt *st = &g->merged[r->step];

			if (r->item_idx > 0 || st->n == 0)
				continue;
			r->item_idx = 1;
			stmt_set(r, &ps[n++], st->sql, st->n, st->params);
			if (n == MAX_PIPELINE - 1)
				goto out_send;
			continue;
		}
		for (; r->item_idx < g->n; r->item_idx++, r->stmt_idx = 0) {
			struct item *it = g->items[r->item_idx];

			if (it->skip_state)
				continue;
			while (r->stmt_idx < it->n_stmts) {
				struct stmt *st = &it->stmts[r->stmt_idx++];

				if (st->step != r->step ||
				    (st->role == ROLE_HOST && !it->host_first))
					continue;
				stmt_set(r, &ps[n++], st->sql, st->n,
					 st->params);
				if (st->role == ROLE_ADV) {
					r->adv_pending = true;
					goto out_send;
				}
				if (n == MAX_PIPELINE - 1)
					goto out_send;
			}
		}
	}
	stmt_set(r, &ps[n++], "COMMIT", 0, NULL);
	phase = RUN_COMMIT;
out_send:
	send_pipeline(r, phase, ps, n);
}

/*
 * The result of SQL_ADV_CANDIDATES for the item at hand: decides each
 * candidate by the release it was found on and the ecosystem's own version
 * order (coll_adv_row_matches, the scanner's rule) and
 * sends SQL_ADV_INGEST for the hits, in the same transaction, so that the
 * batch's package findings come with their advisories' CVE findings and
 * correlations; or goes on with the next statement when nothing matches.
 */
static void state_adv(struct runner *r, PGresult *res)
{
	struct item *it = r->g->items[r->item_idx];
	struct coll_arr col[COLL_ADV_MATCH_COLS] = { 0 };
	char *m[COLL_ADV_MATCH_COLS] = { NULL };
	char *params[7];
	size_t hits = 0;
	bool ok = true;

	for (int i = 0; i < PQntuples(res); i++) {
		if (!coll_adv_row_matches(res, i))
			continue;
		for (int k = 0; k < COLL_ADV_MATCH_COLS; k++)
			coll_arr_str(&col[k],
				     PQgetvalue(res, i, coll_adv_match_cols[k]));
		hits++;
	}
	for (int k = 0; k < COLL_ADV_MATCH_COLS; k++) {
		m[k] = coll_arr_take(&col[k]);
		ok = ok && m[k] != NULL;
	}
	/* SQL_ADV_INGEST: $1..$4, $6, $7 the matches, $5 the host. */
	params[0] = m[0];
	params[1] = m[1];
	params[2] = m[2];
	params[3] = m[3];
	params[4] = it->host_id;
	params[5] = m[4];
	params[6] = m[5];
	if (hits == 0)
		state_next(r);
	else if (!ok)
		r->phase = RUN_IDLE;    /* out of memory: the kick retries */
	else
		send_sql(r, RUN_ADV, SQL_ADV_INGEST, 7, params);
	if (hits > 0)
		px_debug("ingest", "advisories matched ingested packages",
			 "batch=%s matches=%zu", px_q(it->label), hits);
	for (int k = 0; k < COLL_ADV_MATCH_COLS; k++)
		free(m[k]);
}

/* Orders (host, source, boot) mark keys. */
static int key_cmp(const char *h1, const char *s1, const char *b1,
		   const char *h2, const char *s2, const char *b2)
{
	int c = strcmp(h1, h2);

	if (c == 0)
		c = strcmp(s1, s2);
	return c != 0 ? c : strcmp(b1, b2);
}

static int item_key_cmp(const void *a, const void *b)
{
	const struct item *x = *(struct item *const *)a;
	const struct item *y = *(struct item *const *)b;
	int c = key_cmp(x->host_id, x->source_id, x->boot_id, y->host_id,
			y->source_id, y->boot_id);

	return c != 0 ? c : (x->pos > y->pos) - (x->pos < y->pos);
}

/*
 * Sorts the group's items by mark key, each key's batches in group order,
 * once per group: the marks, the duplicates and the host facts are then
 * decided key by key in one pass, where comparing every batch with every
 * other cost a group of a thousand small batches a million string
 * comparisons, three times.  -ENOMEM when out of memory.
 */
static int group_by_key(struct group *g)
{
	if (g->by_key != NULL)
		return 0;
	g->by_key = malloc(g->n * sizeof(*g->by_key));
	if (g->by_key == NULL)
		return -ENOMEM;
	memcpy(g->by_key, g->items, g->n * sizeof(*g->by_key));
	qsort(g->by_key, g->n, sizeof(*g->by_key), item_key_cmp);
	return 0;
}

/* The end of the run of <g>->by_key that starts at <a>: the batches of
 * one key. */
static size_t key_run(const struct group *g, size_t a)
{
	const struct item *k = g->by_key[a];
	size_t b = a + 1;

	while (b < g->n && key_cmp(g->by_key[b]->host_id,
				   g->by_key[b]->source_id,
				   g->by_key[b]->boot_id, k->host_id,
				   k->source_id, k->boot_id) == 0)
		b++;
	return b;
}

/*
 * Sends <sql> with the group's distinct (host, source, boot) keys as
 * arrays, in key order: $1..$3, and with <ncols> 7 also $4 the highest seq
 * of the key in the group, $5 kind, $6 version, $7 peer (of the key's
 * first batch).
 */
static void send_keys(struct runner *r, enum run_phase phase, const char *sql,
		      int ncols)
{
	struct group *g = r->g;
	struct coll_arr col[7] = { 0 };
	char *params[7] = { NULL };
	bool ok = group_by_key(g) == 0;

	for (size_t a = 0, b; ok && a < g->n; a = b) {
		struct item *it = g->by_key[a];
		uint64_t max = it->seq;

		b = key_run(g, a);
		for (size_t k = a + 1; k < b; k++)
			if (g->by_key[k]->seq > max)
				max = g->by_key[k]->seq;
		coll_arr_str(&col[0], it->host_id);
		coll_arr_str(&col[1], it->source_id);
		coll_arr_str(&col[2], it->boot_id);
		coll_arr_u64(&col[3], max);
		coll_arr_str(&col[4], it->kind);
		coll_arr_str(&col[5], it->version);
		coll_arr_str(&col[6], it->peer);
	}
	for (int c = 0; c < 7; c++) {
		params[c] = coll_arr_take(&col[c]);
		ok = ok && params[c] != NULL;
	}
	if (ok) {
		struct coll_pg_stmt ps[3];
		size_t n = 0;

		stmt_set(r, &ps[n++], "BEGIN", 0, NULL);
		/* The events stage decides duplicates: serialise it per key
		 * among collectors first (SQL_HWM_LOCK). */
		if (sql == SQL_HWM_GROUP)
			stmt_set(r, &ps[n++], SQL_HWM_LOCK, 3, params);
		stmt_set(r, &ps[n++], sql, ncols, params);
		send_pipeline(r, phase, ps, n);
	} else
		r->phase = RUN_IDLE;    /* out of memory: the kick retries */
	for (int c = 0; c < 7; c++)
		free(params[c]);
}

/* One row of a marks result. */
struct mark_row {
	const char *host, *source, *boot;
	uint64_t mark;
};

static int mark_row_cmp(const void *a, const void *b)
{
	const struct mark_row *x = a, *y = b;

	return key_cmp(x->host, x->source, x->boot, y->host, y->source,
		       y->boot);
}

/*
 * Decides which batches of the group are duplicates, from <res> (rows of
 * host_id, source_id, boot_id, mark: one per key of the group) and from
 * the batches before them in the group; sets it->dup (events stage) or
 * it->skip_state.  Both lists are walked in key order: a key's mark is the
 * committed one, raised by each batch of the group that is not a
 * duplicate.  -ENOMEM when out of memory (nothing is decided).
 */
static int mark_dups(struct group *g, PGresult *res, bool events)
{
	int nrows = PQntuples(res);
	struct mark_row *rows = malloc(((size_t)nrows + 1) * sizeof(*rows));
	int row = 0;

	if (rows == NULL || group_by_key(g) < 0) {
		free(rows);
		return -ENOMEM;
	}
	for (int i = 0; i < nrows; i++) {
		rows[i].host = PQgetvalue(res, i, 0);
		rows[i].source = PQgetvalue(res, i, 1);
		rows[i].boot = PQgetvalue(res, i, 2);
		rows[i].mark = strtoull(PQgetvalue(res, i, 3), NULL, 10);
	}
	qsort(rows, (size_t)nrows, sizeof(*rows), mark_row_cmp);
	for (size_t a = 0, b; a < g->n; a = b) {
		const struct item *k = g->by_key[a];
		uint64_t mark = 0;
		int c = 1;

		b = key_run(g, a);
		while (row < nrows &&
		       (c = key_cmp(rows[row].host, rows[row].source,
				    rows[row].boot, k->host_id, k->source_id,
				    k->boot_id)) < 0)
			row++;
		if (row < nrows && c == 0)
			mark = rows[row].mark;
		for (size_t i = a; i < b; i++) {
			struct item *it = g->by_key[i];
			bool dup = it->seq <= mark;

			if (!dup)
				mark = it->seq;
			if (events)
				it->dup = dup;
			else
				it->skip_state = dup;
		}
	}
	free(rows);
	return 0;
}

/* Sends the COPY of every batch that is not a duplicate (or COMMIT when
 * no row is left). */
static void events_copy(struct runner *r, PGresult *res)
{
	struct group *g = r->g;
	size_t n = 0;

	if (mark_dups(g, res, true) < 0) {
		fail_oom(r);
		return;
	}
	g->iov[n].iov_base = (void *)COPY_HEADER;
	g->iov[n].iov_len = sizeof(COPY_HEADER);
	n++;
	for (size_t i = 0; i < g->n; i++) {
		struct item *it = g->items[i];

		if (!it->dup && it->copy.len > 0) {
			g->iov[n].iov_base = it->copy.p;
			g->iov[n].iov_len = it->copy.len;
			n++;
		}
	}
	if (n == 1) {
		send_sql(r, RUN_COMMIT, "COMMIT", 0, NULL);
		return;
	}
	g->iov[n].iov_base = (void *)COPY_TRAILER;
	g->iov[n].iov_len = sizeof(COPY_TRAILER);
	n++;
	r->phase = RUN_COMMIT;  /* SQL_COPY_EVENTS ends with COMMIT */
	if (coll_pg_copy(r->pg, SQL_COPY_EVENTS, g->iov, n, on_result, r) < 0)
		r->phase = RUN_IDLE;
}

/* Removes the head group (the events stage is done) and acks its items. */
static void events_done(struct runner *r)
{
	struct coll_sink *s = r->sink;
	struct group *g = r->g;
	uint64_t now = px_mono_ns();
	struct coll_commit_info ci;

	s->g_head = g->next;
	if (s->g_head == NULL)
		s->g_tail = NULL;
	r->g = NULL;
	r->phase = RUN_IDLE;
	r->backoff_ms = RETRY_MIN_MS;
	s->stats.groups++;
	s->stats.commit_ns_last = now - r->began_ns;
	px_debug("ingest", "group events committed", "batches=%zu rows=%zu ms=%.1f",
		 g->n, g->rows, s->stats.commit_ns_last / 1e6);
	s->stats.commit_ns_total += s->stats.commit_ns_last;
	/* The next group first: the server would otherwise wait for every
	 * ack below to be handed to gRPC. */
	kick(s);
	for (size_t i = 0; i < g->n; i++) {
		struct item *it = g->items[i];

		s->stats.queued--;
		if (it->dup) {
			s->stats.duplicates++;
			px_info("ingest", "duplicate batch dropped", "batch=%s",
				px_q(it->label));
		} else {
			s->stats.committed++;
			s->stats.rows_committed += it->rows;
		}
		if (s->on_commit != NULL) {
			ci.host_id = it->host_id;
			ci.source_id = it->source_id;
			ci.seq = it->seq;
			ci.sent_ns = it->sent_ns;
			ci.rows = it->dup ? 0 : it->rows;
			ci.wait_ns = now - it->queued_ns;
			ci.duplicate = it->dup;
			s->on_commit(s->arg, &ci);
		}
		it->ack(it->ctx, it->dup ?
			PARALLAX__V1__ACK_STATUS__ACK_STATUS_DUPLICATE :
			PARALLAX__V1__ACK_STATUS__ACK_STATUS_COMMITTED, NULL);
	}
	group_free(g, true);
	pressure_check(s);
	kick(s);
}

/* Replaces <g> (a group of several batches) by groups of one, in place. */
static int split(struct coll_sink *s, struct group *g)
{
	struct group **solo = calloc(g->n, sizeof(*solo));
	size_t i;

	if (solo == NULL)
		return -ENOMEM;
	for (i = 0; i < g->n; i++) {
		solo[i] = calloc(1, sizeof(*solo[i]));
		if (solo[i] != NULL)
			solo[i]->items = calloc(1, sizeof(struct item *));
		if (solo[i] == NULL || solo[i]->items == NULL)
			goto err_free;
		solo[i]->items[0] = g->items[i];
		solo[i]->n = 1;
		solo[i]->rows = g->items[i]->rows;
		solo[i]->stage = g->stage;
		solo[i]->next = i + 1 < g->n ? NULL : g->next;
	}
	for (i = 0; i + 1 < g->n; i++)
		solo[i]->next = solo[i + 1];
	/* Relink: <g> is replaced by solo[0] .. solo[n-1]. */
	if (s->g_head == g) {
		s->g_head = solo[0];
	} else {
		struct group *p = s->g_head;

		while (p->next != g)
			p = p->next;
		p->next = solo[0];
	}
	if (s->g_tail == g)
		s->g_tail = solo[g->n - 1];
	group_free(g, false);
	free(solo);
	return 0;

err_free:
	for (size_t k = 0; k <= i && k < g->n; k++)
		group_free(solo[k], false);
	free(solo);
	return -ENOMEM;
}

/* Acks the only batch of <g> REJECTED and removes the group. */
static void reject(struct runner *r)
{
	struct coll_sink *s = r->sink;
	struct group *g = r->g;
	struct item *it = g->items[0];

	if (s->g_head == g) {
		s->g_head = g->next;
	} else {
		struct group *p = s->g_head;

		while (p->next != g)
			p = p->next;
		p->next = g->next;
	}
	if (s->g_tail == g) {
		s->g_tail = s->g_head;
		while (s->g_tail != NULL && s->g_tail->next != NULL)
			s->g_tail = s->g_tail->next;
	}
	r->g = NULL;
	r->phase = RUN_IDLE;
	s->stats.queued--;
	s->stats.rejected++;
	px_error("ingest", "batch rejected", "batch=%s stage=%s err=%s",
		 px_q(it->label), r->name, px_q(r->detail));
	it->ack(it->ctx, PARALLAX__V1__ACK_STATUS__ACK_STATUS_REJECTED,
		r->detail);
	group_free(g, true);
	pressure_check(s);
	kick(s);
}

static void on_retry_timer(uv_timer_t *t)
{
	struct runner *r = t->data;

	r->retry_pending = false;
	kick(r->sink);
}

static void schedule_retry(struct runner *r)
{
	r->phase = RUN_IDLE;
	r->g = NULL;
	r->sink->stats.retries++;
	r->retry_pending = true;
	uv_timer_start(&r->retry, on_retry_timer, r->backoff_ms, 0);
	r->backoff_ms = r->backoff_ms * 2 > RETRY_MAX_MS ? RETRY_MAX_MS :
			r->backoff_ms * 2;
}

/* An error ended a statement: roll back, then retry, split or reject. */
static void fail(struct runner *r, PGresult *res)
{
	const char *state = PQresultErrorField(res, PG_DIAG_SQLSTATE);
	const char *msg = PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY);

	if (msg == NULL)
		msg = coll_pg_error(r->pg);
	r->sink->stats.db_errors++;
	if (coll_pg_error_is_permanent(res)) {
		r->after = r->g->n > 1 ? AFTER_SPLIT : AFTER_REJECT;
		snprintf(r->detail, sizeof(r->detail),
			 "database refused the batch: %s (SQLSTATE %s)", msg,
			 state != NULL ? state : "?");
		if (r->after == AFTER_SPLIT)
			px_warn("ingest", "group refused, retrying its batches one by one",
				"stage=%s batches=%zu err=%s", r->name, r->g->n,
				px_q(r->detail));
	} else {
		r->after = AFTER_RETRY;
		px_error("ingest", "group not committed, will retry",
			 "stage=%s batches=%zu sqlstate=%s err=%s retry_ms=%u",
			 r->name, r->g->n, state != NULL ? state : "?",
			 px_q(msg), r->backoff_ms);
	}
	send_sql(r, RUN_ROLLBACK, "ROLLBACK", 0, NULL);
}

/* Out of memory inside the group's transaction: nothing of it may
 * commit, so roll back and run the group again after the backoff. */
static void fail_oom(struct runner *r)
{
	r->sink->stats.retries++;
	r->after = AFTER_RETRY;
	px_error("ingest", "out of memory in a group, will retry",
		 "stage=%s batches=%zu retry_ms=%u", r->name, r->g->n,
		 r->backoff_ms);
	send_sql(r, RUN_ROLLBACK, "ROLLBACK", 0, NULL);
}

static void after_rollback(struct runner *r)
{
	switch (r->after) {
	case AFTER_REJECT:
		reject(r);
		break;
	case AFTER_SPLIT:
		if (split(r->sink, r->g) < 0) {
			schedule_retry(r);
			break;
		}
		r->g = NULL;
		r->phase = RUN_IDLE;
		kick(r->sink);
		break;
	default:
		schedule_retry(r);
		break;
	}
}

static bool result_ok(PGresult *res)
{
	ExecStatusType st = PQresultStatus(res);

	return st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK;
}

static void state_done(struct runner *r)
{
	px_debug("ingest", "group state committed", "batches=%zu ms=%.1f",
		 r->g->n, (px_mono_ns() - r->began_ns) / 1e6);
	r->g->stage = STAGE_EVENTS;
	r->g = NULL;
	r->phase = RUN_IDLE;
	r->backoff_ms = RETRY_MIN_MS;
	kick(r->sink);
}

static void on_result(void *arg, PGresult *res)
{
	struct runner *r = arg;
	bool is_state = r == &r->sink->st;

	if (r->phase == RUN_SESSION) {
		session_done(r, res);
		return;
	}
	if (r->phase == RUN_PREPARE) {
		prepared(r, res);
		return;
	}
	if (res == NULL) {
		/* Connection lost mid-transaction: the server rolled it back
		 * (or, during COMMIT, maybe not: the marks tell on the
		 * retry).  Start over once reconnected. */
		px_warn("ingest", "connection lost during a group, will retry",
			"stage=%s batches=%zu", r->name, r->g->n);
		r->sink->stats.retries++;
		r->sink->stats.db_errors++;
		r->phase = RUN_IDLE;
		r->g = NULL;
		return;
	}
	if (r->phase == RUN_ROLLBACK) {
		after_rollback(r);
		return;
	}
	if (!result_ok(res)) {
		fail(r, res);
		return;
	}
	switch (r->phase) {
	case RUN_STMT:
		if (r->adv_pending)
			state_adv(r, res);
		else
			state_next(r);
		break;
	case RUN_ADV:
		state_next(r);
		break;
	case RUN_HWM:
		if (is_state) {
			r->step = 0;
			r->item_idx = 0;
			r->stmt_idx = 0;
			if (mark_dups(r->g, res, false) < 0 ||
			    merge_group(r->g) < 0)
				fail_oom(r);
			else
				state_next(r);
		} else {
			events_copy(r, res);
		}
		break;
	case RUN_COMMIT:
		if (is_state)
			state_done(r);
		else
			events_done(r);
		break;
	default:
		break;
	}
}

/* Starts <r> on <g> when both are free. */
static void runner_start(struct runner *r, struct group *g)
{
	if (r->phase != RUN_IDLE || r->retry_pending || g == NULL ||
	    !coll_pg_ready(r->pg))
		return;
	if (r->prep_gen != coll_pg_generation(r->pg)) {
		r->prep_idx = 0;
		r->prep_ok = 0;
		session_setup(r);
		return;
	}
	if (r == &r->sink->ev && g->iov == NULL) {
		g->iov = calloc(g->n + 2, sizeof(*g->iov));
		if (g->iov == NULL)
			return;
	}
	r->g = g;
	r->began_ns = px_mono_ns();
	if (r == &r->sink->st)
		send_keys(r, RUN_HWM, SQL_HWM_READ, 3);
	else
		send_keys(r, RUN_HWM, SQL_HWM_GROUP, 7);
	if (r->phase == RUN_IDLE)
		r->g = NULL;
}

static void kick(struct coll_sink *s)
{
	struct group *g;

	if (s->p_head != NULL &&
	    (s->p_rows >= s->flush_rows || s->p_count >= s->group_batches))
		cut_group(s);
	if (s->p_head != NULL && !s->flush_armed) {
		s->flush_armed = true;
		uv_timer_start(&s->flush, on_flush_timer, s->flush_ms, 0);
	}
	/* The events stage takes the head group once its state is in. */
	if (s->g_head != NULL && s->g_head->stage == STAGE_EVENTS)
		runner_start(&s->ev, s->g_head);
	for (g = s->g_head; g != NULL && g->stage != STAGE_STATE; g = g->next)
		;
	runner_start(&s->st, g);
}

static void on_ready(void *arg)
{
	struct runner *r = arg;

	kick(r->sink);
}

/* ---- API --------------------------------------------------------------- */

static void on_handle_closed(uv_handle_t *h)
{
	struct coll_sink *s = h->data;

	if (++s->closed_handles == 3)
		free(s);
}

static void runner_prepare(struct coll_sink *s, struct runner *r,
			   const char *name)
{
	r->sink = s;
	r->name = name;
	r->backoff_ms = RETRY_MIN_MS;
	uv_timer_init(s->loop, &r->retry);
	r->retry.data = r;
}

static int runner_init(struct coll_sink *s, struct runner *r,
		       const char *dsn)
{
	r->pg = coll_pg_new(s->loop, dsn, on_ready, r);
	return r->pg != NULL ? 0 : -ENOMEM;
}

struct coll_sink *coll_sink_new(const struct coll_sink_config *cfg)
{
	struct coll_sink *s = calloc(1, sizeof(*s));

	if (s == NULL)
		return NULL;
	s->loop = cfg->loop;
	s->high_water = cfg->high_water ? cfg->high_water : 256;
	s->flush_rows = cfg->flush_rows ? cfg->flush_rows : DEFAULT_FLUSH_ROWS;
	s->flush_ms = cfg->flush_ms ? cfg->flush_ms : DEFAULT_FLUSH_MS;
	s->group_batches = cfg->group_batches ? cfg->group_batches :
			   DEFAULT_GROUP_BATCHES;
	s->max_queued = cfg->max_queued;
	s->on_pressure = cfg->on_pressure;
	s->on_commit = cfg->on_commit;
	s->arg = cfg->arg;
	uv_timer_init(cfg->loop, &s->flush);
	s->flush.data = s;
	runner_prepare(s, &s->st, "state");
	runner_prepare(s, &s->ev, "events");
	if (runner_init(s, &s->st, cfg->dsn) < 0 ||
	    runner_init(s, &s->ev, cfg->dsn) < 0) {
		coll_sink_free(s);
		return NULL;
	}
	return s;
}

int coll_sink_submit(struct coll_sink *s, const Parallax__V1__Batch *batch,
		     const char *source_id, const char *peer, coll_ack_fn ack,
		     void *ctx)
{
	const Parallax__V1__Source *src;
	struct batch_ctx bc;
	struct item *it;

	if (s->max_queued > 0 && s->stats.queued >= s->max_queued) {
		s->stats.refused++;
		return -ENOBUFS;
	}
	it = calloc(1, sizeof(*it));
	if (it == NULL) {
		s->stats.refused++;
		return -ENOMEM;
	}
	src = batch->source;
	bc.b = batch;
	bc.host_id = src->host->host_id;
	bc.source_id = source_id != NULL ? source_id : src->source_id;
	snprintf(it->label, sizeof(it->label), "%s/%s/%s/%" PRIu64,
		 bc.host_id, bc.source_id, src->boot_id, batch->seq);
	it->host_id = strdup(bc.host_id);
	it->source_id = strdup(bc.source_id);
	it->boot_id = strdup(src->boot_id);
	it->kind = strdup(src->kind == PARALLAX__V1__SOURCE_KIND__SOURCE_KIND_AGENT ?
			  "agent" : "scanner");
	it->version = strdup(src->version != NULL ? src->version : "");
	it->peer = strdup(peer != NULL ? peer : "");
	it->seq = batch->seq;
	it->sent_ns = batch->sent_ns;
	it->queued_ns = px_mono_ns();
	if (it->host_id == NULL || it->source_id == NULL ||
	    it->boot_id == NULL || it->kind == NULL || it->version == NULL ||
	    it->peer == NULL)
		it->oom = true;
	else
		build_item(it, &bc);
	if (it->oom) {
		item_free(it);
		s->stats.refused++;
		return -ENOMEM;
	}
	it->ack = ack;
	it->ctx = ctx;
	if (s->p_tail != NULL)
		s->p_tail->next = it;
	else
		s->p_head = it;
	s->p_tail = it;
	s->p_rows += it->rows;
	s->p_count++;
	s->stats.queued++;
	pressure_check(s);
	kick(s);
	return 0;
}

int coll_batch_render(const Parallax__V1__Batch *batch, const char *source_id,
		      size_t *rows, size_t *stmts, size_t *copy_bytes)
{
	struct batch_ctx bc;
	struct item *it;

	if (px_batch_invalid(batch) != NULL)
		return -EINVAL;
	it = calloc(1, sizeof(*it));
	if (it == NULL)
		return -ENOMEM;
	bc.b = batch;
	bc.host_id = batch->source->host->host_id;
	bc.source_id = source_id != NULL ? source_id : batch->source->source_id;
	build_item(it, &bc);
	*rows = it->rows;
	*stmts = it->n_stmts;
	*copy_bytes = it->copy.len;
	if (it->oom) {
		item_free(it);
		return -ENOMEM;
	}
	item_free(it);
	return 0;
}

void coll_sink_get_stats(const struct coll_sink *s, struct coll_sink_stats *st)
{
	*st = s->stats;
}

static void runner_close(struct runner *r)
{
	coll_pg_free(r->pg);
	r->pg = NULL;
	uv_timer_stop(&r->retry);
	uv_close((uv_handle_t *)&r->retry, on_handle_closed);
}

void coll_sink_free(struct coll_sink *s)
{
	struct item *it, *next;
	struct group *g, *gn;

	if (s == NULL)
		return;
	for (it = s->p_head; it != NULL; it = next) {
		next = it->next;
		item_free(it);
	}
	for (g = s->g_head; g != NULL; g = gn) {
		gn = g->next;
		group_free(g, true);
	}
	s->st.retry.data = s;
	s->ev.retry.data = s;
	runner_close(&s->st);
	runner_close(&s->ev);
	uv_timer_stop(&s->flush);
	uv_close((uv_handle_t *)&s->flush, on_handle_closed);
}
