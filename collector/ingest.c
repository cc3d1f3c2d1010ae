// SPDX-License-Identifier: Apache-2.0
/*
 * The ingest sink (see ingest.h): a FIFO of batches, each turned at submit
 * time into a list of parameterised statements, run one transaction at a
 * time on a non-blocking connection (pgconn.c).
 *
 * Transaction of one batch, in order (statements for empty parts are left
 * out):
 *   BEGIN
 *   high-water mark      (no row: duplicate -> ROLLBACK, ack DUPLICATE)
 *   host facts
 *   exec, fork           (processes; events)
 *   artifact loads       (artifacts_loaded; correlations with findings)
 *   findings             (findings; correlations with live loads)
 *   exits                (processes end; loads and correlations leave
 *                         "loaded now")
 *   other events         (network, health, MCP, policy: events only)
 *   scan report
 *   COMMIT               (ack COMMITTED)
 * Exits come after loads and findings so that a batch holding a whole short
 * life (exec, load, exit) ends with the correct state.
 *
 * The runner takes the head of the queue.  Several batches could later share
 * one transaction by taking a run of items and checking each high-water mark
 * in turn; the item list and the outcome per item are kept apart from the
 * runner's phase for that reason.
 *
 * Errors: SQLSTATE classes 22, 23 and 54 reject the batch (see
 * coll_pg_error_is_permanent); anything else, including 42 (a statement the
 * schema does not accept: our bug, cured by an upgrade), keeps the batch and
 * retries it, so the queue stalls, intake pauses, and sources hold their data.
 *
 * XXX: one round trip per statement (about ten per batch, whatever its
 * size); pipeline mode and COPY for events come with the fleet-grade sink.
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

#include "ingest_sql.h"
#include "log.h"
#include "pgconn.h"
#include "sqlbuf.h"
#include "transport.h"

#define MAX_PARAMS 24
#define MAX_COLS 20
#define RETRY_MIN_MS 100
#define RETRY_MAX_MS 5000

enum stmt_role {
	ROLE_DATA,
	ROLE_HWM,       /* no row returned: the batch is a duplicate */
};

struct stmt {
	const char *sql;
	enum stmt_role role;
	int n;
	char *params[MAX_PARAMS];
};

struct item {
	struct item *next;
	coll_ack_fn ack;
	void *ctx;
	char label[160];        /* source/boot/seq, for logs */
	struct stmt *stmts;
	size_t n_stmts;
	size_t cap_stmts;
	bool oom;
};

enum run_phase {
	RUN_IDLE,
	RUN_BEGIN,
	RUN_STMT,
	RUN_COMMIT,
	RUN_ROLLBACK,
};

struct coll_sink {
	uv_loop_t *loop;
	struct coll_pg *pg;
	uv_timer_t retry;
	bool retry_pending;
	unsigned int backoff_ms;

	struct item *head;
	struct item *tail;
	size_t high_water;
	bool pressured;
	void (*on_pressure)(void *arg, bool high);
	void *arg;

	enum run_phase phase;
	size_t idx;                       /* statement of the head item */
	bool retry_after_rollback;
	Parallax__V1__AckStatus outcome;  /* after ROLLBACK, when no retry */
	char detail[512];

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

/* $1..$<nhead> of a data statement: host_id, source_id, boot_id, seq. */
static struct stmt *data_stmt(struct item *it, const struct batch_ctx *bc,
			      const char *sql, int nhead)
{
	struct stmt *st = stmt_add(it, sql, ROLE_DATA);

	param_str(it, st, bc->host_id);
	param_str(it, st, bc->source_id);
	if (nhead > 2) {
		param_str(it, st, bc->b->source->boot_id);
		param_u64(it, st, bc->b->seq);
	}
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

enum { OT_TS, OT_KIND, OT_EXEC_ID, OT_PID, OT_DETAIL, OT_NCOLS };

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

/* Writes the detail of an event that only goes to the event log; returns
 * its kind name and process (NULL for health). */
static const char *other_detail(const Parallax__V1__Event *e,
				struct coll_buf *j,
				const Parallax__V1__ProcessRef **proc)
{
	coll_json_begin(j);
	switch (e->kind_case) {
	case PARALLAX__V1__EVENT__KIND_NET:
		*proc = e->net->proc;
		coll_json_str(j, "kind", net_kind_name(e->net->kind));
		coll_json_u64(j, "protocol", e->net->protocol);
		addr_json(j, "local_addr", &e->net->local_addr);
		coll_json_u64(j, "local_port", e->net->local_port);
		addr_json(j, "remote_addr", &e->net->remote_addr);
		coll_json_u64(j, "remote_port", e->net->remote_port);
		coll_json_end(j);
		return "net";
	case PARALLAX__V1__EVENT__KIND_HEALTH:
		*proc = NULL;
		coll_json_u64(j, "ringbuf_drops", e->health->ringbuf_drops);
		coll_json_u64(j, "events_total", e->health->events_total);
		coll_json_u64(j, "hash_errors", e->health->hash_errors);
		coll_json_u64(j, "spool_dropped", e->health->spool_dropped);
		coll_json_f64(j, "cpu_share", e->health->cpu_share);
		coll_json_u64(j, "rss_bytes", e->health->rss_bytes);
		coll_json_u64(j, "processes_tracked",
			      e->health->processes_tracked);
		coll_json_f64(j, "events_per_s", e->health->events_per_s);
		coll_json_end(j);
		return "health";
	case PARALLAX__V1__EVENT__KIND_MCP:
		*proc = e->mcp->proc;
		coll_json_str(j, "transport", e->mcp->transport);
		coll_json_str(j, "direction", e->mcp->direction);
		coll_json_str(j, "method", e->mcp->method);
		coll_json_str(j, "tool", e->mcp->tool);
		coll_json_str(j, "json_id", e->mcp->json_id);
		coll_json_bytes(j, "body", e->mcp->body.data,
				e->mcp->body.len);
		coll_json_end(j);
		return "mcp";
	default: /* PARALLAX__V1__EVENT__KIND_VIOLATION */
		*proc = e->violation->proc;
		coll_json_str(j, "policy", e->violation->policy);
		coll_json_str(j, "rule", e->violation->rule);
		coll_json_str(j, "action", e->violation->action);
		coll_json_str(j, "detail", e->violation->detail);
		coll_json_end(j);
		return "violation";
	}
}

static void add_other(struct section *sec, const Parallax__V1__Event *e)
{
	const Parallax__V1__ProcessRef *proc = NULL;
	struct coll_buf j = { 0 };
	struct coll_arr *c = sec->col;
	const char *kind = other_detail(e, &j, &proc);
	char *detail = coll_buf_take(&j);

	coll_arr_u64(&c[OT_TS], e->ts_ns);
	coll_arr_str(&c[OT_KIND], kind);
	coll_arr_str(&c[OT_EXEC_ID], proc ? proc->exec_id : NULL);
	if (proc != NULL)
		coll_arr_u64(&c[OT_PID], proc->pid);
	else
		coll_arr_str(&c[OT_PID], NULL);
	if (detail == NULL)
		c[OT_DETAIL].b.oom = true;
	coll_arr_str(&c[OT_DETAIL], detail != NULL ? detail : "{}");
	free(detail);
	sec->rows++;
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

static void build_header(struct item *it, const struct batch_ctx *bc,
			 const char *peer)
{
	const Parallax__V1__Source *src = bc->b->source;
	const Parallax__V1__HostFacts *h = src->host;
	struct stmt *st;

	st = stmt_add(it, SQL_HWM, ROLE_HWM);
	param_str(it, st, bc->host_id);
	param_str(it, st, bc->source_id);
	param_str(it, st, src->boot_id);
	param_u64(it, st, bc->b->seq);
	param_str(it, st, src->kind == PARALLAX__V1__SOURCE_KIND__SOURCE_KIND_AGENT ?
			  "agent" : "scanner");
	param_str(it, st, src->version);
	param_str(it, st, peer);

	st = stmt_add(it, SQL_HOST, ROLE_DATA);
	param_str(it, st, bc->host_id);
	param_str(it, st, h->hostname);
	param_str(it, st, h->kernel);
	param_str(it, st, h->os);
	param_str(it, st, h->arch);
	param_str(it, st, h->kernel_boot_id);
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
}

/* Turns the batch into the statements of its transaction. */
static void build_item(struct item *it, const struct batch_ctx *bc,
		       const char *peer)
{
	const Parallax__V1__Batch *b = bc->b;
	struct section exec = { .ncols = EX_NCOLS }, fork = { .ncols = FK_NCOLS };
	struct section load = { .ncols = AL_NCOLS }, fin = { .ncols = FN_NCOLS };
	struct section exits = { .ncols = XT_NCOLS };
	struct section other = { .ncols = OT_NCOLS };

	build_header(it, bc, peer);
	for (size_t i = 0; i < b->n_events; i++) {
		const Parallax__V1__Event *e = b->events[i];

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
			add_other(&other, e);
			break;
		}
	}
	for (size_t i = 0; i < b->n_findings; i++)
		add_finding(&fin, b->findings[i]);

	section_emit(it, bc, &fork, SQL_FORK, 4);
	section_emit(it, bc, &exec, SQL_EXEC, 4);
	section_emit(it, bc, &load, SQL_ARTIFACT, 4);
	section_emit(it, bc, &fin, SQL_FINDING, 2);
	section_emit(it, bc, &exits, SQL_EXIT, 4);
	section_emit(it, bc, &other, SQL_OTHER, 4);
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
	free(it);
}

/* ---- running transactions --------------------------------------------- */

static void on_result(void *arg, PGresult *res);

static void send_sql(struct coll_sink *s, enum run_phase phase,
		     const char *sql, int n, char *const *params)
{
	s->phase = phase;
	if (coll_pg_query(s->pg, sql, n, (const char *const *)params,
			  on_result, s) < 0)
		s->phase = RUN_IDLE; /* connection lost; ready() kicks again */
}

static void run_stmt(struct coll_sink *s)
{
	struct stmt *st = &s->head->stmts[s->idx];

	send_sql(s, RUN_STMT, st->sql, st->n, st->params);
}

static void pressure_check(struct coll_sink *s)
{
	size_t q = s->stats.queued;

	if (!s->pressured && q >= s->high_water) {
		s->pressured = true;
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

/* Removes the head item and acks it. */
static void finish(struct coll_sink *s, Parallax__V1__AckStatus status,
		   const char *detail)
{
	struct item *it = s->head;

	s->head = it->next;
	if (s->head == NULL)
		s->tail = NULL;
	s->stats.queued--;
	s->phase = RUN_IDLE;
	switch (status) {
	case PARALLAX__V1__ACK_STATUS__ACK_STATUS_COMMITTED:
		s->stats.committed++;
		s->backoff_ms = RETRY_MIN_MS;
		px_debug("ingest", "batch committed", "batch=%s",
			 px_q(it->label));
		break;
	case PARALLAX__V1__ACK_STATUS__ACK_STATUS_DUPLICATE:
		s->stats.duplicates++;
		px_info("ingest", "duplicate batch dropped", "batch=%s",
			px_q(it->label));
		break;
	default:
		s->stats.rejected++;
		break;
	}
	it->ack(it->ctx, status, detail);
	item_free(it);
	pressure_check(s);
	kick(s);
}

static void on_retry_timer(uv_timer_t *t)
{
	struct coll_sink *s = t->data;

	s->retry_pending = false;
	kick(s);
}

/* An error ended the statement: roll back, then reject or retry. */
static void fail(struct coll_sink *s, PGresult *res)
{
	const char *state = PQresultErrorField(res, PG_DIAG_SQLSTATE);
	const char *msg = PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY);

	if (msg == NULL)
		msg = coll_pg_error(s->pg);
	if (coll_pg_error_is_permanent(res)) {
		s->retry_after_rollback = false;
		s->outcome = PARALLAX__V1__ACK_STATUS__ACK_STATUS_REJECTED;
		snprintf(s->detail, sizeof(s->detail),
			 "database refused the batch: %s (SQLSTATE %s)", msg,
			 state != NULL ? state : "?");
		px_error("ingest", "batch rejected", "batch=%s err=%s",
			 px_q(s->head->label), px_q(s->detail));
	} else {
		s->retry_after_rollback = true;
		px_error("ingest", "batch not committed, will retry",
			 "batch=%s sqlstate=%s err=%s retry_ms=%u",
			 px_q(s->head->label), state != NULL ? state : "?",
			 px_q(msg), s->backoff_ms);
	}
	send_sql(s, RUN_ROLLBACK, "ROLLBACK", 0, NULL);
}

/* Ends the transaction; the batch is then acked with <outcome>. */
static void rollback(struct coll_sink *s, Parallax__V1__AckStatus outcome)
{
	s->retry_after_rollback = false;
	s->outcome = outcome;
	s->detail[0] = '\0';
	send_sql(s, RUN_ROLLBACK, "ROLLBACK", 0, NULL);
}

static void schedule_retry(struct coll_sink *s)
{
	s->phase = RUN_IDLE;
	s->stats.retries++;
	s->retry_pending = true;
	uv_timer_start(&s->retry, on_retry_timer, s->backoff_ms, 0);
	s->backoff_ms = s->backoff_ms * 2 > RETRY_MAX_MS ? RETRY_MAX_MS :
			s->backoff_ms * 2;
}

static bool result_ok(PGresult *res)
{
	ExecStatusType st = PQresultStatus(res);

	return st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK;
}

static void on_result(void *arg, PGresult *res)
{
	struct coll_sink *s = arg;
	struct item *it = s->head;

	if (res == NULL) {
		/* Connection lost mid-transaction: the server rolled it back
		 * (or, during COMMIT, maybe not: the high-water mark tells
		 * on the retry).  Start over once reconnected. */
		s->phase = RUN_IDLE;
		s->stats.retries++;
		px_warn("ingest", "connection lost during batch, will retry",
			"batch=%s", px_q(it->label));
		return;
	}
	switch (s->phase) {
	case RUN_BEGIN:
		if (!result_ok(res)) {
			fail(s, res);
		} else {
			s->idx = 0;
			run_stmt(s);
		}
		break;
	case RUN_STMT:
		if (!result_ok(res))
			fail(s, res);
		else if (it->stmts[s->idx].role == ROLE_HWM &&
			 PQntuples(res) == 0)
			rollback(s, PARALLAX__V1__ACK_STATUS__ACK_STATUS_DUPLICATE);
		else if (++s->idx < it->n_stmts)
			run_stmt(s);
		else
			send_sql(s, RUN_COMMIT, "COMMIT", 0, NULL);
		break;
	case RUN_COMMIT:
		if (!result_ok(res))
			fail(s, res);
		else
			finish(s, PARALLAX__V1__ACK_STATUS__ACK_STATUS_COMMITTED,
			       NULL);
		break;
	case RUN_ROLLBACK:
		if (!s->retry_after_rollback)
			finish(s, s->outcome, s->detail[0] ? s->detail : NULL);
		else
			schedule_retry(s);
		break;
	default:
		break;
	}
}

static void kick(struct coll_sink *s)
{
	if (s->phase != RUN_IDLE || s->head == NULL || s->retry_pending ||
	    !coll_pg_ready(s->pg))
		return;
	send_sql(s, RUN_BEGIN, "BEGIN", 0, NULL);
}

static void on_ready(void *arg)
{
	kick(arg);
}

/* ---- API --------------------------------------------------------------- */

static void on_sink_closed(uv_handle_t *h)
{
	free(h->data);
}

struct coll_sink *coll_sink_new(const struct coll_sink_config *cfg)
{
	struct coll_sink *s = calloc(1, sizeof(*s));

	if (s == NULL)
		return NULL;
	s->loop = cfg->loop;
	s->high_water = cfg->high_water ? cfg->high_water : 256;
	s->on_pressure = cfg->on_pressure;
	s->arg = cfg->arg;
	s->backoff_ms = RETRY_MIN_MS;
	uv_timer_init(cfg->loop, &s->retry);
	s->retry.data = s;
	s->pg = coll_pg_new(cfg->loop, cfg->dsn, on_ready, s);
	if (s->pg == NULL) {
		uv_close((uv_handle_t *)&s->retry, on_sink_closed);
		return NULL;
	}
	return s;
}

int coll_sink_submit(struct coll_sink *s, const Parallax__V1__Batch *batch,
		     const char *source_id, const char *peer, coll_ack_fn ack,
		     void *ctx)
{
	const char *why = px_batch_invalid(batch);
	struct batch_ctx bc;
	struct item *it;

	if (why != NULL) {
		px_warn("ingest", "invalid batch rejected", "reason=%s seq=%" PRIu64,
			px_q(why), batch->seq);
		s->stats.rejected++;
		ack(ctx, PARALLAX__V1__ACK_STATUS__ACK_STATUS_REJECTED, why);
		return 0;
	}
	it = calloc(1, sizeof(*it));
	if (it == NULL)
		return -ENOMEM;
	bc.b = batch;
	bc.host_id = batch->source->host->host_id;
	bc.source_id = source_id != NULL ? source_id : batch->source->source_id;
	snprintf(it->label, sizeof(it->label), "%s/%s/%s/%" PRIu64,
		 bc.host_id, bc.source_id, batch->source->boot_id, batch->seq);
	build_item(it, &bc, peer);
	if (it->oom) {
		item_free(it);
		return -ENOMEM;
	}
	it->ack = ack;
	it->ctx = ctx;
	if (s->tail != NULL)
		s->tail->next = it;
	else
		s->head = it;
	s->tail = it;
	s->stats.queued++;
	pressure_check(s);
	kick(s);
	return 0;
}

void coll_sink_get_stats(const struct coll_sink *s, struct coll_sink_stats *st)
{
	*st = s->stats;
}

void coll_sink_free(struct coll_sink *s)
{
	struct item *it, *next;

	if (s == NULL)
		return;
	for (it = s->head; it != NULL; it = next) {
		next = it->next;
		item_free(it);
	}
	coll_pg_free(s->pg);
	uv_timer_stop(&s->retry);
	uv_close((uv_handle_t *)&s->retry, on_sink_closed);
}
