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
#include "emit.h"
#include "hashcache.h"
#include "log.h"
#include "probe.h"
#include "proctab.h"
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
	uint64_t last_drops;
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
	agent_lifecycle_event(arg, ev, len);
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

/* Resync the process table, then look at every process's files. */
static void full_pass(struct agent *a)
{
	agent_probe_consume(a->ctx.probe);
	agent_lifecycle_resync(&a->ctx);
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

static void on_pass_tick(uv_timer_t *t)
{
	struct agent *a = t->data;
	uint64_t now = px_mono_ns();

	agent_probe_consume(a->ctx.probe);
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

static void on_health(uv_timer_t *t)
{
	struct agent *a = t->data;
	struct agent_emit_stats es;
	Parallax__V1__AgentHealth *h;
	Parallax__V1__Event *ev;
	uint64_t now = px_mono_ns(), cpu = cpu_ns();
	double secs = (double)(now - a->health_mono_ns) / 1e9;

	agent_emit_get_stats(a->ctx.emit, &es);
	ev = agent_ev_new(px_now_ns(), PARALLAX__V1__EVENT__KIND_HEALTH);
	if (ev) {
		h = ev->health;
		h->ringbuf_drops = agent_probe_drops(a->ctx.probe);
		h->events_total = es.events;
		h->hash_errors = a->ctx.cnt.hash_errors;
		h->spool_dropped = es.dropped;
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
		 PRIu64 " exec_pass_dropped=%" PRIu64 " processes=%zu",
		 es.events, es.queued, es.dropped, a->ctx.cnt.artifacts,
		 a->ctx.cnt.unknown_procs, a->ctx.cnt.exec_pass_dropped,
		 agent_proctab_count(a->ctx.tab));
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
 * time for the acks. */
static void shutdown_flush(struct agent *a)
{
	uint64_t deadline = px_mono_ns() + SHUTDOWN_FLUSH_MS * 1000000ull;

	if (!a->client) {
		agent_emit_flush(a->ctx.emit);
		return;
	}
	while (agent_emit_flush(a->ctx.emit) == -ENOBUFS &&
	       px_mono_ns() < deadline)
		usleep(20000);
	if (px_client_flush(a->client, SHUTDOWN_FLUSH_MS) < 0)
		px_warn(MOD, "collector did not ack everything before exit");
}

/* The emitter and the tables; -ENOMEM when one could not be made. */
static int open_tables(struct agent *a)
{
	const struct agent_options *o = a->o;
	struct agent_emit_config ec = { 0 };

	ec.json_out = o->to_stdout ? stdout : NULL;
	ec.client = a->client;
	ec.batch_max_events = o->batch_max_events;
	ec.queue_max_events = o->queue_max_events;
	a->ctx.emit = agent_emit_new(&ec);
	a->ctx.tab = agent_proctab_new(a->ctx.host.host_id,
				       a->ctx.host.kernel_boot_id);
	a->ctx.hc = agent_hashcache_new(o->hash_cache_entries,
					o->hash_max_bytes);
	if (!a->ctx.emit || !a->ctx.tab || !a->ctx.hc)
		return -ENOMEM;
	return 0;
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
	px_host_probe(&a->ctx.host);
	a->ctx.wall_offset_ns = (int64_t)(px_now_ns() - px_mono_ns());

	if (!o->to_stdout) {
		a->client = start_client(a);
		if (!a->client)
			goto out_free;
	}
	if (open_tables(a) < 0) {
		px_error(MOD, "out of memory");
		goto out_free_tables;
	}

	popts.try_dpath = o->iter_dpath;
	popts.ringbuf_bytes = (uint32_t)o->ringbuf_bytes;
	rc = agent_probe_open(&a->ctx.probe, &popts, on_probe_event, &a->ctx,
			      err, sizeof(err));
	if (rc < 0) {
		px_error(MOD, "cannot start", "reason=%s", px_q(err));
		goto out_free_tables;
	}
	rc = uv_loop_init(&a->loop);
	if (rc < 0) {
		px_error(MOD, "uv_loop_init failed", "err=%s",
			 px_q(uv_strerror(rc)));
		goto out_close_probe;
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
out_close_probe:
	agent_probe_close(a->ctx.probe);	/* detaches the programs */
	shutdown_flush(a);
out_free_tables:
	agent_hashcache_free(a->ctx.hc);
	agent_proctab_free(a->ctx.tab);
	agent_emit_free(a->ctx.emit);
	px_client_stop(a->client);
out_free:
	free(a);
	return ret;
}
