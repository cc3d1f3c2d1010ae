// SPDX-License-Identifier: Apache-2.0
/*
 * The spool with a real parallax-agent: a loopback gRPC server (the
 * transport's own, standing in for the collector and deduplicating by seq
 * as the collector does) is stopped while a known workload runs, then
 * started again on the same port.
 *
 * - Within the bound, every exec of the workload arrives exactly once and
 *   the accepted batches are numbered 1, 2, 3 ... without a gap.
 * - Past the bound, the oldest spooled batches are dropped and counted in
 *   AgentHealth.spool_dropped; what arrives still arrives once and in
 *   order.  (Which execs survive depends on what else the host runs
 *   meanwhile: the agent sees every process, so that is not asserted.)
 * - An agent stopped while the collector is away keeps the batches its
 *   client held unacked (they go to the spool at exit), and the next run
 *   delivers them with the rest: every exec still arrives exactly once,
 *   and in the order of the workload.
 *
 * Like the collector, the stand-in deduplicates per (source, boot_id): a
 * new run of the agent numbers its batches from 1 again.
 */
#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <uv.h>

#include "host.h"
#include "transport.h"
#include "px_check.h"

#define MAX_EXECS 600
#define DEADLINE_NS (75 * 1000000000ull)
#define AWAY_NS (1500 * 1000000ull)

static const char *agent_path;

enum phase { PH_CONNECT, PH_AWAY, PH_RESTARTING, PH_BACK, PH_STOPPING };

#define MAX_BOOTS 4

struct spool_run {
	uv_loop_t loop;
	uv_timer_t tick;
	struct px_server *srv;
	int port;
	pid_t agent;
	int n_execs;
	char marker[64];
	char spool_dir[64];
	char target[64];
	char cfg_path[64];
	bool restart;			/* stop the agent while away */
	enum phase phase;
	uint64_t started_ns, away_ns;
	char boots[MAX_BOOTS][40];	/* boot_ids seen, with their hwm */
	uint64_t hwms[MAX_BOOTS];
	size_t n_boots;
	uint64_t accepted, duplicates;
	int newest;			/* highest exec index arrived, -1 */
	int out_of_order;		/* execs that came after a later one */
	size_t files_at_stop, files_after_stop;
	unsigned seen[MAX_EXECS];
	uint64_t spool_dropped;		/* largest AgentHealth value seen */
	size_t max_spooled_files;
	int agent_status;
	char why[512];
};

static void problem(struct spool_run *r, const char *what)
{
	if (!r->why[0])
		snprintf(r->why, sizeof(r->why), "%s", what);
}

/* Counts the workload's execs in an accepted batch. */
static void count_batch(struct spool_run *r, const Parallax__V1__Batch *b)
{
	for (size_t i = 0; i < b->n_events; i++) {
		const Parallax__V1__Event *ev = b->events[i];
		const Parallax__V1__ProcessExec *x = ev->exec;
		int idx;

		if (ev->kind_case == PARALLAX__V1__EVENT__KIND_HEALTH &&
		    ev->health->spool_dropped > r->spool_dropped)
			r->spool_dropped = ev->health->spool_dropped;
		if (ev->kind_case != PARALLAX__V1__EVENT__KIND_EXEC ||
		    x->n_argv != 3 || strcmp(x->argv[1], r->marker))
			continue;
		idx = atoi(x->argv[2]);
		if (idx < 0 || idx >= r->n_execs)
			problem(r, "exec index out of range");
		else if (++r->seen[idx] > 1)
			problem(r, "an exec arrived twice");
		/* The workload runs one exec after the other. */
		if (idx < r->newest)
			r->out_of_order++;
		else
			r->newest = idx;
	}
}

/* The high-water mark of the run (boot_id) that sent <b>. */
static uint64_t *hwm_of(struct spool_run *r, const Parallax__V1__Batch *b)
{
	size_t i;

	for (i = 0; i < r->n_boots; i++)
		if (!strcmp(r->boots[i], b->source->boot_id))
			return &r->hwms[i];
	if (i == MAX_BOOTS) {
		problem(r, "too many agent runs");
		i = 0;
	} else {
		snprintf(r->boots[i], sizeof(r->boots[i]), "%s",
			 b->source->boot_id);
		r->n_boots++;
	}
	return &r->hwms[i];
}

/* The collector's rule, per run: a batch at or below the run's
 * high-water mark is a duplicate; one above it must be the next number. */
static void on_batch(struct px_inbatch *ib, void *arg)
{
	struct spool_run *r = arg;
	const Parallax__V1__Batch *b = ib->batch;
	uint64_t *hwm = hwm_of(r, b);

	if (b->seq <= *hwm) {
		r->duplicates++;
		px_inbatch_ack(ib, PARALLAX__V1__ACK_STATUS__ACK_STATUS_DUPLICATE,
			       NULL);
		return;
	}
	if (b->seq != *hwm + 1)
		problem(r, "a batch number was skipped");
	*hwm = b->seq;
	r->accepted++;
	count_batch(r, b);
	px_inbatch_ack(ib, PARALLAX__V1__ACK_STATUS__ACK_STATUS_COMMITTED,
		       NULL);
}

static size_t spooled_files(const char *dir)
{
	struct dirent *d;
	size_t n = 0;
	DIR *dp = opendir(dir);

	if (!dp)
		return 0;
	while ((d = readdir(dp)))
		if (strstr(d->d_name, ".rec"))
			n++;
	closedir(dp);
	return n;
}

static void run_workload(struct spool_run *r)
{
	char idx[16];
	char *argv[] = { (char *)"/bin/true", r->marker, idx, NULL };

	for (int i = 0; i < r->n_execs; i++) {
		pid_t pid;
		int st;

		snprintf(idx, sizeof(idx), "%d", i);
		ck_assert_int_eq(posix_spawn(&pid, "/bin/true", NULL, NULL,
					     argv, NULL), 0);
		ck_assert_int_eq(waitpid(pid, &st, 0), pid);
	}
}

static struct px_server *start_server(struct spool_run *r, int port)
{
	struct px_server_config sc = { 0 };
	char listen[64], err[256];
	struct px_server *s;

	snprintf(listen, sizeof(listen), "127.0.0.1:%d", port);
	sc.listen = listen;
	s = px_server_start(&r->loop, &sc, on_batch, r, err, sizeof(err));
	ck_assert_msg(s != NULL, "server on %s: %s", listen, err);
	return s;
}

static bool all_arrived(const struct spool_run *r)
{
	for (int i = 0; i < r->n_execs; i++)
		if (!r->seen[i])
			return false;
	return true;
}

static void spawn_agent(struct spool_run *r)
{
	char *argv[] = { (char *)agent_path, (char *)"--collector", r->target,
			 (char *)"--source-id", (char *)"agent:spool-test",
			 (char *)"--spool-dir", r->spool_dir,
			 (char *)"--config", r->cfg_path,
			 (char *)"--log-level", (char *)"warn", NULL };

	ck_assert_int_eq(posix_spawn(&r->agent, agent_path, NULL, NULL, argv,
				     NULL), 0);
}

/* The first agent exited while the collector was away: it must have
 * added the client's unacked batches to the spool.  The collector comes
 * back and a new agent replays the spool. */
static void restart(struct spool_run *r, int status)
{
	r->files_after_stop = spooled_files(r->spool_dir);
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
		problem(r, "the first agent did not exit 0 after SIGTERM");
	if (r->files_after_stop <= r->files_at_stop)
		problem(r, "the first agent spooled nothing at exit");
	r->srv = start_server(r, r->port);
	spawn_agent(r);
	r->phase = PH_BACK;
}

static void stop_agent(struct spool_run *r)
{
	kill(r->agent, SIGTERM);
	r->phase = PH_STOPPING;
}

static void on_tick(uv_timer_t *t)
{
	struct spool_run *r = t->data;
	uint64_t now = px_mono_ns();
	size_t files = spooled_files(r->spool_dir);
	int st;

	if (files > r->max_spooled_files)
		r->max_spooled_files = files;
	if (now - r->started_ns > DEADLINE_NS && r->phase != PH_STOPPING) {
		char why[320];
		int got = 0, top = -1;

		for (int i = 0; i < r->n_execs; i++)
			if (r->seen[i]) {
				got++;
				top = i;
			}

		snprintf(why, sizeof(why),
			 "deadline passed in phase %d: accepted=%llu spooled_files=%zu execs_seen=%d newest_seen=%d spool_dropped=%llu",
			 (int)r->phase, (unsigned long long)r->accepted, files,
			 got, top, (unsigned long long)r->spool_dropped);
		problem(r, why);
		stop_agent(r);
	}
	switch (r->phase) {
	case PH_CONNECT:	/* the start-up pass arrived: go away */
		if (!r->accepted)
			break;
		px_server_stop(r->srv);
		r->srv = NULL;
		run_workload(r);
		r->away_ns = now;
		r->phase = PH_AWAY;
		break;
	case PH_AWAY:
		if (now - r->away_ns < AWAY_NS || !files)
			break;
		if (r->restart) {
			r->files_at_stop = files;
			kill(r->agent, SIGTERM);
			r->phase = PH_RESTARTING;
			break;
		}
		r->srv = start_server(r, r->port);
		r->phase = PH_BACK;
		break;
	case PH_BACK:
		/* Done when the spool is drained and every exec is in, or
		 * the drops were reported. */
		if (!files && (r->spool_dropped || all_arrived(r)))
			stop_agent(r);
		break;
	case PH_RESTARTING:
	case PH_STOPPING:
		break;
	}
	if (waitpid(r->agent, &st, WNOHANG) == r->agent) {
		if (r->phase == PH_RESTARTING) {
			restart(r, st);
			return;
		}
		r->agent_status = st;
		px_server_stop(r->srv);
		r->srv = NULL;
		uv_close((uv_handle_t *)t, NULL);
	}
}

/* Runs the agent with <spool_max> and <n> execs while the server is away. */
static void run(struct spool_run *r, const char *spool_max, int n)
{
	char *cfg_path = r->cfg_path;
	FILE *f;

	r->n_execs = n;
	r->newest = -1;
	snprintf(r->marker, sizeof(r->marker), "px-spool-%d", (int)getpid());
	snprintf(r->spool_dir, sizeof(r->spool_dir), "/tmp/px-spool-XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(r->spool_dir));
	snprintf(cfg_path, sizeof(r->cfg_path), "%s.yaml", r->spool_dir);
	f = fopen(cfg_path, "w");
	ck_assert_ptr_nonnull(f);
	fprintf(f, "agent:\n  spool_max_bytes: %s\n"
		"  client_max_pending_bytes: 16384\n"
		"  batch_delay_ms: 50\n  batch_max_events: 32\n"
		"  health_interval_ms: 300\n"
		"  net: false\n", spool_max);
	fclose(f);

	ck_assert_int_eq(uv_loop_init(&r->loop), 0);
	r->srv = start_server(r, 0);
	r->port = px_server_port(r->srv);
	snprintf(r->target, sizeof(r->target), "127.0.0.1:%d", r->port);
	spawn_agent(r);
	r->started_ns = px_mono_ns();
	uv_timer_init(&r->loop, &r->tick);
	r->tick.data = r;
	uv_timer_start(&r->tick, on_tick, 50, 50);
	uv_run(&r->loop, UV_RUN_DEFAULT);
	uv_loop_close(&r->loop);
	unlink(cfg_path);
	rmdir(r->spool_dir);	/* empty once drained */

	ck_assert_msg(!r->why[0], "%s", r->why);
	ck_assert_msg(WIFEXITED(r->agent_status) &&
		      WEXITSTATUS(r->agent_status) == 0,
		      "agent did not exit 0 after SIGTERM (status %#x)",
		      r->agent_status);
	ck_assert_msg(r->max_spooled_files > 0, "nothing was ever spooled");
}

START_TEST(within_the_bound_every_event_arrives_exactly_once)
{
	struct spool_run *r = calloc(1, sizeof(*r));
	int got = 0;

	ck_assert_ptr_nonnull(r);
	run(r, "268435456", 60);
	for (int i = 0; i < r->n_execs; i++)
		got += r->seen[i] == 1;
	fprintf(stderr, "spool: accepted=%llu duplicates=%llu spooled_files_max=%zu execs=%d/%d out_of_order=%d\n",
		(unsigned long long)r->accepted,
		(unsigned long long)r->duplicates, r->max_spooled_files, got,
		r->n_execs, r->out_of_order);
	ck_assert_int_eq(got, r->n_execs);
	ck_assert_int_eq(r->out_of_order, 0);
	ck_assert_uint_eq(r->spool_dropped, 0);
	free(r);
}
END_TEST

START_TEST(past_the_bound_the_oldest_are_dropped_and_counted)
{
	struct spool_run *r = calloc(1, sizeof(*r));
	int got = 0;

	ck_assert_ptr_nonnull(r);
	run(r, "65536", MAX_EXECS);
	for (int i = 0; i < r->n_execs; i++)
		got += r->seen[i] != 0;
	fprintf(stderr, "spool: accepted=%llu duplicates=%llu spool_dropped=%llu execs=%d/%d\n",
		(unsigned long long)r->accepted,
		(unsigned long long)r->duplicates,
		(unsigned long long)r->spool_dropped, got, r->n_execs);
	ck_assert_uint_gt(r->spool_dropped, 0);
	ck_assert_int_lt(got, r->n_execs);
	free(r);
}
END_TEST

START_TEST(an_agent_stopped_while_away_loses_nothing_it_held)
{
	struct spool_run *r = calloc(1, sizeof(*r));
	int got = 0;

	ck_assert_ptr_nonnull(r);
	r->restart = true;
	run(r, "268435456", 60);
	for (int i = 0; i < r->n_execs; i++)
		got += r->seen[i] == 1;
	fprintf(stderr, "spool restart: accepted=%llu duplicates=%llu runs=%zu spooled_files at stop=%zu after=%zu execs=%d/%d out_of_order=%d\n",
		(unsigned long long)r->accepted,
		(unsigned long long)r->duplicates, r->n_boots,
		r->files_at_stop, r->files_after_stop, got, r->n_execs,
		r->out_of_order);
	ck_assert_uint_eq(r->n_boots, 2);
	ck_assert_int_eq(got, r->n_execs);
	ck_assert_int_eq(r->out_of_order, 0);
	ck_assert_uint_eq(r->spool_dropped, 0);
	free(r);
}
END_TEST

int main(int argc, char **argv)
{
	Suite *s = suite_create("agent-spool");
	TCase *tc = tcase_create("spool");

	if (argc != 2) {
		fprintf(stderr, "usage: %s PATH-TO-parallax-agent\n", argv[0]);
		return 2;
	}
	agent_path = argv[1];
	tcase_set_timeout(tc, 85);
	tcase_add_test(tc, within_the_bound_every_event_arrives_exactly_once);
	tcase_add_test(tc, past_the_bound_the_oldest_are_dropped_and_counted);
	tcase_add_test(tc, an_agent_stopped_while_away_loses_nothing_it_held);
	suite_add_tcase(s, tc);
	return px_check_run(s);
}
