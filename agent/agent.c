// SPDX-License-Identifier: Apache-2.0
/*
 * The agent's runtime on one libuv loop: the ring buffer's epoll descriptor
 * under uv_poll, and timers for batching, the targeted artifact passes that
 * follow each exec, the periodic full pass and the health report.  Set-up
 * and tear-down follow one ladder: probe, host facts, client, emitter,
 * tables, kernel programs, loop; SIGINT/SIGTERM unwind it, flushing the
 * client for up to five seconds.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include <uv.h>

#include "agent.h"
#include "caps.h"
#include "emit.h"
#include "hashcache.h"
#include "hashjob.h"
#include "jvm.h"
#include "log.h"
#include "memcap.h"
#include "probe.h"
#include "proctab.h"
#include "spool.h"
#include "transport.h"

#define MOD "agent"
#define PASS_TICK_MS 50
#define PASS_QUEUE_LEN 4096
#define FULL_PASS_MIN_GAP_NS 1000000000ull
#define SHUTDOWN_FLUSH_MS 5000

/* A JVM opens its classpath jars lazily: look again a little later. */
static const uint64_t exec_pass_delay_ms[] = { 250, 2000, 10000 };
#define N_EXEC_PASSES (sizeof(exec_pass_delay_ms) / sizeof(exec_pass_delay_ms[0]))

/* Targeted passes of one delay, in exec order and so in due order. */
struct pass_fifo {
	struct pending_pass {
		uint64_t due_ns;
		uint32_t pid;
		uint64_t start_time;
	} v[PASS_QUEUE_LEN];
	size_t head, count;
};

struct agent {
	struct agent_ctx ctx;
	const struct agent_options *o;
	uv_loop_t loop;
	uv_poll_t rb_poll;
	uv_timer_t batch_timer, pass_timer, rescan_timer, health_timer;
	uv_signal_t sigint, sigterm;
	struct pass_fifo fifo[N_EXEC_PASSES];
	struct px_client *client;
	struct px_spool *spool;
	uint64_t last_drops;
	uint64_t last_deferred;		/* hash_deferred at the last pass */
	uint64_t last_full_ns;
	bool full_pass_wanted;

	/* What the last health report saw, for rates. */
	uint64_t health_mono_ns, health_cpu_ns, health_events;
};

static uint64_t cpu_ns(void)
{
	struct rusage ru;

	if (getrusage(RUSAGE_SELF, &ru) < 0)
		return 0;
	return (uint64_t)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) *
		       1000000000ull +
	       (uint64_t)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) * 1000ull;
}

static uint64_t rss_bytes(void)
{
	unsigned long long size, rss;
	FILE *f = fopen("/proc/self/statm", "re");
	int n;

	if (!f)
		return 0;
	n = fscanf(f, "%llu %llu", &size, &rss);
	fclose(f);
	return n == 2 ? rss * (uint64_t)sysconf(_SC_PAGESIZE) : 0;
}

static void on_probe_event(void *arg, const struct px_proc_event *ev,
			   size_t len)
{
	switch (ev->type) {
	case PX_EV_CLASS:
		if (len >= sizeof(struct px_class_event))
			agent_jvm_event(arg, (const void *)ev);
		break;
	case PX_EV_NET:
		if (len >= sizeof(struct px_net_event))
			agent_net_event(arg, (const void *)ev);
		break;
	case PX_EV_POLICY:
		if (len >= sizeof(struct px_policy_event))
			agent_policy_event(arg, (const void *)ev,
					   ((struct agent_ctx *)arg)->watch_exe);
		break;
	default:
		agent_lifecycle_event(arg, ev, len);
		break;
	}
}

static void schedule_exec_passes(struct agent_ctx *ctx, uint32_t pid,
				 uint64_t start_time)
{
	struct agent *a = ctx->owner;
	uint64_t now = px_mono_ns();

	for (size_t i = 0; i < N_EXEC_PASSES; i++) {
		struct pass_fifo *q = &a->fifo[i];
		struct pending_pass *pp;

		if (q->count == PASS_QUEUE_LEN) {
			/* An exec storm: one full pass covers them all. */
			ctx->cnt.exec_pass_dropped++;
			a->full_pass_wanted = true;
			continue;
		}
		pp = &q->v[(q->head + q->count) % PASS_QUEUE_LEN];
		pp->due_ns = now + exec_pass_delay_ms[i] * 1000000ull;
		pp->pid = pid;
		pp->start_time = start_time;
		q->count++;
	}
}

/* Owners of listeners older than the agent (or than a drop). */
static void learn_listeners(struct agent *a)
{
	int rc = agent_probe_learn_listeners(a->ctx.probe);

	if (rc == -ENOTSUP)
		return;
	if (rc < 0)
		px_warn(MOD, "listener pass failed", "err=%s",
			px_q(strerror(-rc)));
	else
		px_debug(MOD, "listener pass", "learnt=%d", rc);
}

/* Resync the process table, then look at every process's files. */
static void full_pass(struct agent *a)
{
	agent_probe_consume(a->ctx.probe);
	agent_lifecycle_resync(&a->ctx);
	learn_listeners(a);
	agent_artifacts_pass(&a->ctx, 0);
	a->last_full_ns = px_mono_ns();
	a->full_pass_wanted = false;
}

static void on_ringbuf(uv_poll_t *h, int status, int events)
{
	struct agent *a = h->data;
	int rc;

	(void)events;
	if (status < 0)
		return;
	rc = agent_probe_consume(a->ctx.probe);
	if (rc < 0)
		px_warn(MOD, "ring buffer read failed", "err=%s",
			px_q(strerror(-rc)));
}

static void check_drops(struct agent *a)
{
	uint64_t drops = agent_probe_drops(a->ctx.probe);

	if (drops == a->last_drops)
		return;
	px_warn(MOD, "kernel events dropped, resyncing", "new=%" PRIu64
		" total=%" PRIu64, drops - a->last_drops, drops);
	a->last_drops = drops;
	a->full_pass_wanted = true;
}

/* A few chunks of the large files being digested: a step is bounded, so
 * the ring buffer is read again within a tick however big the file. */
static void step_hash_jobs(struct agent *a, uint64_t now)
{
	struct agent_hashjobs_result res = { 0 };

	if (!agent_hashjobs_count(a->ctx.jobs))
		return;
	agent_hashjobs_step(a->ctx.jobs, a->ctx.hc, &a->ctx.io, a->ctx.emit,
			    now, &res);
	a->ctx.cnt.hash_errors += res.failed;
	if (res.completed || res.failed)
		px_debug(MOD, "large artifacts digested", "done=%" PRIu64
			 " failed=%" PRIu64 " running=%zu", res.completed,
			 res.failed, agent_hashjobs_count(a->ctx.jobs));
}

static void on_pass_tick(uv_timer_t *t)
{
	struct agent *a = t->data;
	uint64_t now = px_mono_ns();

	agent_probe_consume(a->ctx.probe);
	step_hash_jobs(a, now);
	for (size_t i = 0; i < N_EXEC_PASSES; i++) {
		struct pass_fifo *q = &a->fifo[i];

		while (q->count && q->v[q->head].due_ns <= now) {
			struct pending_pass *pp = &q->v[q->head];

			if (agent_proctab_get(a->ctx.tab, pp->pid,
					      pp->start_time))
				agent_artifacts_pass(&a->ctx, pp->pid);
			q->head = (q->head + 1) % PASS_QUEUE_LEN;
			q->count--;
		}
	}
	check_drops(a);
	/* Artifacts put off by the I/O budget: look again once it refilled
	 * (at most once a second; the kernel sends only what is new). */
	if (a->ctx.cnt.hash_deferred != a->last_deferred &&
	    now - a->last_full_ns >= FULL_PASS_MIN_GAP_NS) {
		px_info(MOD, "artifacts wait for the I/O budget", "deferred=%"
			PRIu64 " rate=%" PRIu64, a->ctx.cnt.hash_deferred -
			a->last_deferred, a->o->hash_rate_bytes);
		a->last_deferred = a->ctx.cnt.hash_deferred;
		a->full_pass_wanted = true;
	}
	if (a->full_pass_wanted && now - a->last_full_ns >= FULL_PASS_MIN_GAP_NS)
		full_pass(a);
}

static void on_rescan(uv_timer_t *t)
{
	full_pass(t->data);
}

static void on_batch_timer(uv_timer_t *t)
{
	struct agent *a = t->data;

	agent_emit_flush(a->ctx.emit);
}

/*
 * The memory cap: past agent.memory_max_bytes of RSS the digest cache
 * (the one structure that grows with the host's history rather than its
 * present) is cut to a quarter.  The process table and the event queue
 * are bounded by count, from the cap at start (memcap.h).
 */
static void check_memory(struct agent *a)
{
	uint64_t rss = rss_bytes();
	struct agent_hashcache_stats hs;
	size_t gone;

	if (!a->o->memory_max_bytes || rss <= a->o->memory_max_bytes)
		return;
	agent_hashcache_get_stats(a->ctx.hc, &hs);
	gone = agent_hashcache_shrink(a->ctx.hc, (size_t)hs.entries / 4);
	a->ctx.cnt.memory_cap_hits++;
	px_warn(MOD, "memory cap reached, digest cache cut", "rss=%" PRIu64
		" cap=%" PRIu64 " evicted=%zu", rss, a->o->memory_max_bytes,
		gone);
}

static void on_health(uv_timer_t *t)
{
	struct agent *a = t->data;
	struct agent_emit_stats es;
	Parallax__V1__AgentHealth *h;
	Parallax__V1__Event *ev;
	uint64_t now = px_mono_ns(), cpu = cpu_ns();
	double secs = (double)(now - a->health_mono_ns) / 1e9;

	agent_emit_get_stats(a->ctx.emit, &es);
	check_memory(a);
	ev = agent_ev_new(px_now_ns(), PARALLAX__V1__EVENT__KIND_HEALTH);
	if (ev) {
		h = ev->health;
		h->ringbuf_drops = agent_probe_drops(a->ctx.probe);
		h->events_total = es.events;
		h->hash_errors = a->ctx.cnt.hash_errors;
		/* Batches the spool lost, and events lost before reaching
		 * it (or the client): two units, two fields. */
		h->spool_dropped = es.spool_dropped;
		h->queue_dropped = es.dropped;
		h->procs_refused = agent_proctab_refused(a->ctx.tab);
		h->exec_pass_dropped = a->ctx.cnt.exec_pass_dropped;
		h->unknown_procs = a->ctx.cnt.unknown_procs;
		h->net_unowned = a->ctx.cnt.net_unowned;
		h->hash_deferred = a->ctx.cnt.hash_deferred;
		h->synthetic_exits = a->ctx.cnt.synthetic_exits;
		h->cpu_share = secs > 0 ?
			(double)(cpu - a->health_cpu_ns) / 1e9 / secs : 0;
		h->rss_bytes = rss_bytes();
		h->processes_tracked =
			(uint32_t)agent_proctab_count(a->ctx.tab);
		h->events_per_s = secs > 0 ?
			(double)(es.events - a->health_events) / secs : 0;
		agent_emit_event(a->ctx.emit, ev);
	}
	px_debug(MOD, "health", "events=%" PRIu64 " queued=%" PRIu64
		 " dropped=%" PRIu64 " artifacts=%" PRIu64 " unknown_procs=%"
		 PRIu64 " exec_pass_dropped=%" PRIu64 " processes=%zu"
		 " spooled=%" PRIu64 " replayed=%" PRIu64 " spool_dropped=%"
		 PRIu64 " classes=%" PRIu64 " net=%" PRIu64 " net_unowned=%"
		 PRIu64 " hash_deferred=%" PRIu64 " procs_refused=%" PRIu64
		 " violations=%" PRIu64, es.events, es.queued, es.dropped,
		 a->ctx.cnt.artifacts, a->ctx.cnt.unknown_procs,
		 a->ctx.cnt.exec_pass_dropped, agent_proctab_count(a->ctx.tab),
		 es.spooled, es.replayed, es.spool_dropped, a->ctx.cnt.classes,
		 a->ctx.cnt.net_events, a->ctx.cnt.net_unowned,
		 a->ctx.cnt.hash_deferred, agent_proctab_refused(a->ctx.tab),
		 a->ctx.cnt.violations);
	a->health_mono_ns = now;
	a->health_cpu_ns = cpu;
	a->health_events = es.events;
}

static void on_close_noop(uv_handle_t *h)
{
	(void)h;
}

static void on_signal(uv_signal_t *s, int signum)
{
	struct agent *a = s->data;

	px_info(MOD, "stopping", "signal=%d", signum);
	uv_close((uv_handle_t *)&a->rb_poll, on_close_noop);
	uv_close((uv_handle_t *)&a->batch_timer, on_close_noop);
	uv_close((uv_handle_t *)&a->pass_timer, on_close_noop);
	uv_close((uv_handle_t *)&a->rescan_timer, on_close_noop);
	uv_close((uv_handle_t *)&a->health_timer, on_close_noop);
	uv_close((uv_handle_t *)&a->sigint, on_close_noop);
	uv_close((uv_handle_t *)&a->sigterm, on_close_noop);
}

/* Sets up the loop's handles; 0 or a libuv error. */
static int start_loop(struct agent *a)
{
	const struct agent_options *o = a->o;
	int rc;

	rc = uv_poll_init(&a->loop, &a->rb_poll,
			  agent_probe_ringbuf_fd(a->ctx.probe));
	if (rc < 0)
		return rc;
	a->rb_poll.data = a;
	uv_timer_init(&a->loop, &a->batch_timer);
	uv_timer_init(&a->loop, &a->pass_timer);
	uv_timer_init(&a->loop, &a->rescan_timer);
	uv_timer_init(&a->loop, &a->health_timer);
	uv_signal_init(&a->loop, &a->sigint);
	uv_signal_init(&a->loop, &a->sigterm);
	a->batch_timer.data = a->pass_timer.data = a->rescan_timer.data = a;
	a->health_timer.data = a->sigint.data = a->sigterm.data = a;

	uv_poll_start(&a->rb_poll, UV_READABLE, on_ringbuf);
	uv_timer_start(&a->batch_timer, on_batch_timer, o->batch_delay_ms,
		       o->batch_delay_ms);
	uv_timer_start(&a->pass_timer, on_pass_tick, PASS_TICK_MS,
		       PASS_TICK_MS);
	uv_timer_start(&a->rescan_timer, on_rescan, o->rescan_ms, o->rescan_ms);
	uv_timer_start(&a->health_timer, on_health, o->health_ms, o->health_ms);
	uv_signal_start(&a->sigint, on_signal, SIGINT);
	uv_signal_start(&a->sigterm, on_signal, SIGTERM);
	return 0;
}

static struct px_client *start_client(struct agent *a)
{
	const struct agent_options *o = a->o;
	Parallax__V1__HostFacts hf = PARALLAX__V1__HOST_FACTS__INIT;
	Parallax__V1__Source src = PARALLAX__V1__SOURCE__INIT;
	struct px_client_config cc = { 0 };
	char source_id[128], boot_id[37], err[256];
	struct px_client *c;

	if (o->source_id && *o->source_id)
		snprintf(source_id, sizeof(source_id), "%s", o->source_id);
	else
		snprintf(source_id, sizeof(source_id), "agent:%s",
			 a->ctx.host.host_id);
	px_uuid4(boot_id);
	px_host_to_pb(&a->ctx.host, &hf);
	src.source_id = source_id;
	src.boot_id = boot_id;
	src.kind = PARALLAX__V1__SOURCE_KIND__SOURCE_KIND_AGENT;
	src.host = &hf;
	src.version = (char *)PX_VERSION;

	cc.target = o->collector;
	cc.tls_ca = o->tls_ca;
	cc.tls_cert = o->tls_cert;
	cc.tls_key = o->tls_key;
	cc.source = &src;
	cc.max_pending_bytes = o->client_max_pending_bytes;
	c = px_client_start(&cc, err, sizeof(err));
	if (!c)
		px_error(MOD, "cannot start the collector client", "target=%s err=%s",
			 px_q(o->collector), px_q(err));
	else
		px_info(MOD, "sending", "collector=%s source_id=%s boot_id=%s",
			px_q(o->collector), px_q(source_id), boot_id);
	return c;
}

/* Drains what is left and hands it to the collector, waiting a bounded
 * time for the acks; what stays unacked goes to the spool, if any. */
static void shutdown_flush(struct agent *a)
{
	uint64_t deadline = px_mono_ns() + SHUTDOWN_FLUSH_MS * 1000000ull;
	int n;

	if (!a->client) {
		agent_emit_flush(a->ctx.emit);
		return;
	}
	while (agent_emit_flush(a->ctx.emit) == -ENOBUFS &&
	       px_mono_ns() < deadline)
		usleep(20000);
	if (px_client_flush(a->client, SHUTDOWN_FLUSH_MS) == 0)
		return;
	if (!a->spool) {
		px_warn(MOD, "collector did not ack everything before exit");
		return;
	}
	n = agent_emit_take_back(a->ctx.emit);
	if (n < 0)
		px_warn(MOD, "unacked batches not spooled, lost", "err=%s",
			px_q(strerror(-n)));
	else
		px_info(MOD, "unacked batches spooled for the next run",
			"batches=%d", n);
}

/* The emitter and the tables, bounded to fit the memory cap; -ENOMEM
 * when one could not be made. */
static int open_tables(struct agent *a)
{
	const struct agent_options *o = a->o;
	struct agent_emit_config ec = { 0 };
	struct agent_mem_bounds mb;

	agent_mem_bounds(o->memory_max_bytes, o->max_processes,
			 o->queue_max_events, &mb);
	if (mb.clamped_processes || mb.clamped_queue)
		px_warn(MOD, "bounds lowered to fit the memory cap", "cap=%"
			PRIu64 " max_processes=%" PRIu64 " queue_max_events=%"
			PRIu64 " configured_processes=%" PRIu64
			" configured_queue=%" PRIu64, o->memory_max_bytes,
			mb.max_processes, mb.queue_max_events,
			o->max_processes, o->queue_max_events);
	else
		px_info(MOD, "memory bounds", "cap=%" PRIu64 " max_processes=%"
			PRIu64 " queue_max_events=%" PRIu64,
			o->memory_max_bytes, mb.max_processes,
			mb.queue_max_events);

	ec.json_out = o->to_stdout ? stdout : NULL;
	ec.client = a->client;
	ec.batch_max_events = o->batch_max_events;
	ec.queue_max_events = mb.queue_max_events;
	ec.spool = a->spool;
	a->ctx.emit = agent_emit_new(&ec);
	a->ctx.tab = agent_proctab_new(a->ctx.host.host_id,
				       a->ctx.host.kernel_boot_id);
	a->ctx.hc = agent_hashcache_new(o->hash_cache_entries,
					o->hash_max_bytes);
	a->ctx.jobs = agent_hashjobs_new();
	if (a->ctx.tab)
		agent_proctab_set_limit(a->ctx.tab, mb.max_processes);
	agent_budget_init(&a->ctx.io, o->hash_rate_bytes, o->hash_burst_bytes,
			  px_mono_ns());
	if (!a->ctx.emit || !a->ctx.tab || !a->ctx.hc || !a->ctx.jobs)
		return -ENOMEM;
	return 0;
}

/* What an earlier run left in the spool, and what opening it dropped
 * (records past the bound, empty ones a crash left): never silent. */
static void spool_report_open(const struct px_spool *sp, const char *dir)
{
	struct px_spool_stats ss;

	px_spool_get_stats(sp, &ss);
	if (ss.dropped)
		px_warn(MOD, "spool records dropped at open", "dir=%s dropped=%"
			PRIu64 " kept=%" PRIu64, px_q(dir), ss.dropped,
			ss.records);
	else if (ss.records)
		px_info(MOD, "spool holds batches of an earlier run", "dir=%s"
			" records=%" PRIu64, px_q(dir), ss.records);
}

int agent_run(const struct agent_options *o)
{
	struct agent_probe_opts popts = { 0 };
	char err[512];
	struct agent *a;
	int rc, ret = 1;

	if (agent_probe_preflight(err, sizeof(err)) < 0) {
		px_error(MOD, "cannot start", "reason=%s", px_q(err));
		return 1;
	}
	a = calloc(1, sizeof(*a));
	if (!a)
		return 1;
	a->o = o;
	a->ctx.owner = a;
	a->ctx.on_exec = schedule_exec_passes;
	if (o->jvm_late_attach)
		a->ctx.on_mapping = agent_jvm_on_mapping;
	px_host_probe(&a->ctx.host);
	a->ctx.wall_offset_ns = (int64_t)(px_now_ns() - px_mono_ns());

	if (!o->to_stdout && o->spool_dir && *o->spool_dir) {
		a->spool = px_spool_open(o->spool_dir, o->spool_max_bytes, err,
					 sizeof(err));
		if (!a->spool) {
			px_error(MOD, "cannot open the spool", "reason=%s hint=%s",
				 px_q(err),
				 px_q("set agent.spool_dir to a writable directory, or to \"\" for no spool"));
			goto out_free;
		}
		spool_report_open(a->spool, o->spool_dir);
	}
	/* Load and attach everything, then give up what is no longer
	 * needed, before any other thread (gRPC's) exists. */
	popts.try_dpath = o->iter_dpath;
	popts.net = o->net;
	popts.ringbuf_bytes = (uint32_t)o->ringbuf_bytes;
	popts.cgroup_allowlist = o->n_allow_cgroups > 0;
	popts.watch_exe = o->watch_exe;
	popts.watch_syscalls = o->watch_syscalls;
	popts.n_watch_syscalls = o->n_watch_syscalls;
	a->ctx.watch_exe = o->watch_exe;
	popts.deny_pids = o->deny_pids;
	popts.n_deny_pids = o->n_deny_pids;
	popts.allow_pids = o->allow_pids;
	popts.n_allow_pids = o->n_allow_pids;
	popts.suffixes = o->suffixes;
	popts.n_suffixes = o->n_suffixes;
	popts.deny_cgroups = o->deny_cgroups;
	popts.n_deny_cgroups = o->n_deny_cgroups;
	popts.allow_cgroups = o->allow_cgroups;
	popts.n_allow_cgroups = o->n_allow_cgroups;
	rc = agent_probe_open(&a->ctx.probe, &popts, on_probe_event, &a->ctx,
			      err, sizeof(err));
	if (rc < 0) {
		px_error(MOD, "cannot start", "reason=%s", px_q(err));
		goto out_close_spool;
	}
	rc = agent_jvm_setup(&a->ctx, o->jvm_watch, o->jvm_libjvm);
	if (rc < 0) {
		px_error(MOD, "cannot set up the JVM class probe", "err=%s",
			 px_q(strerror(-rc)));
		goto out_close_probe;
	}
	if (o->drop_caps) {
		rc = agent_caps_drop(agent_caps_keep_mask(o->jvm_late_attach),
				     err, sizeof(err));
		if (rc < 0) {
			px_error(MOD, "cannot drop capabilities", "reason=%s",
				 px_q(err));
			goto out_close_probe;
		}
		px_info(MOD, "capabilities dropped", "effective=%#" PRIx64,
			agent_caps_effective());
	}

	if (!o->to_stdout) {
		a->client = start_client(a);
		if (!a->client)
			goto out_close_probe;
	}
	if (open_tables(a) < 0) {
		px_error(MOD, "out of memory");
		goto out_free_tables;
	}
	rc = uv_loop_init(&a->loop);
	if (rc < 0) {
		px_error(MOD, "uv_loop_init failed", "err=%s",
			 px_q(uv_strerror(rc)));
		goto out_detach;
	}
	rc = start_loop(a);
	if (rc < 0) {
		px_error(MOD, "uv_poll_init failed on the ring buffer", "err=%s",
			 px_q(uv_strerror(rc)));
		goto out_close_loop;
	}

	/* What ran before us, and what it holds open. */
	full_pass(a);
	a->health_mono_ns = px_mono_ns();
	a->health_cpu_ns = cpu_ns();
	px_info(MOD, "running", "processes=%zu rescan_ms=%" PRIu64,
		agent_proctab_count(a->ctx.tab), o->rescan_ms);

	uv_run(&a->loop, UV_RUN_DEFAULT);
	agent_probe_consume(a->ctx.probe);	/* what came before detach */
	ret = 0;

out_close_loop:
	uv_run(&a->loop, UV_RUN_NOWAIT);	/* completes pending closes */
	if (uv_loop_close(&a->loop) < 0)
		px_warn(MOD, "loop closed with open handles");
out_detach:
	agent_probe_close(a->ctx.probe);	/* detaches the programs */
	a->ctx.probe = NULL;
	shutdown_flush(a);
out_free_tables:
	agent_hashjobs_free(a->ctx.jobs);	/* unfinished: sent by no one */
	agent_hashcache_free(a->ctx.hc);
	agent_proctab_free(a->ctx.tab);
	agent_emit_free(a->ctx.emit);
	px_client_stop(a->client);
out_close_probe:
	agent_probe_close(a->ctx.probe);
	agent_jvm_cleanup(&a->ctx);
out_close_spool:
	px_spool_close(a->spool);
out_free:
	free(a);
	return ret;
}
