// SPDX-License-Identifier: Apache-2.0
/*
 * The agent's batches on the wire: a real parallax-agent sends to a
 * loopback gRPC server (common/transport's own server standing in for the
 * collector) while the test runs a known workload.  The batches must carry
 * the agent's identity, numbered from 1, and hold the workload's execs; on
 * SIGTERM the agent flushes and exits 0.
 */
#include <check.h>
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

#define N_EXECS 20
#define DEADLINE_NS (40 * 1000000000ull)

static const char *agent_path;

struct wire {
	uv_loop_t loop;
	uv_timer_t tick;
	struct px_server *srv;
	pid_t agent;
	char marker[64];
	uint64_t started_ns;
	uint64_t batches, last_seq, marker_execs, snapshot_execs;
	bool workload_done, term_sent;
	int agent_status;
	char boot_id[64];
	char why[512];			/* first problem seen, if any */
};

static void problem(struct wire *w, const char *what)
{
	if (!w->why[0])
		snprintf(w->why, sizeof(w->why), "%s", what);
}

static void on_batch(struct px_inbatch *ib, void *arg)
{
	struct wire *w = arg;
	const Parallax__V1__Batch *b = ib->batch;
	const Parallax__V1__Source *src = b->source;

	if (src->kind != PARALLAX__V1__SOURCE_KIND__SOURCE_KIND_AGENT)
		problem(w, "source kind is not AGENT");
	if (strcmp(src->source_id, "agent:wire-test"))
		problem(w, "source_id is not the one given");
	if (!src->host || !src->host->host_id[0] ||
	    !src->host->kernel_boot_id[0])
		problem(w, "host facts missing");
	if (!w->boot_id[0])
		snprintf(w->boot_id, sizeof(w->boot_id), "%s", src->boot_id);
	else if (strcmp(w->boot_id, src->boot_id))
		problem(w, "boot_id changed within one run");
	if (b->seq != w->last_seq + 1)
		problem(w, "batches not numbered 1, 2, 3, ...");
	w->last_seq = b->seq;
	w->batches++;

	for (size_t i = 0; i < b->n_events; i++) {
		const Parallax__V1__Event *ev = b->events[i];
		const Parallax__V1__ProcessExec *x;

		if (ev->kind_case != PARALLAX__V1__EVENT__KIND_EXEC)
			continue;
		x = ev->exec;
		if (x->from_snapshot)
			w->snapshot_execs++;
		if (x->n_argv == 2 && !strcmp(x->argv[1], w->marker)) {
			if (strcmp(x->exe, "/bin/true"))
				problem(w, "exe of the workload is wrong");
			if (!x->proc || !strstr(x->proc->exec_id, src->host->host_id))
				problem(w, "exec_id does not name the host");
			w->marker_execs++;
		}
	}
	px_inbatch_ack(ib, PARALLAX__V1__ACK_STATUS__ACK_STATUS_COMMITTED,
		       NULL);
}

static void run_workload(struct wire *w)
{
	char *argv[] = { (char *)"/bin/true", w->marker, NULL };

	for (int i = 0; i < N_EXECS; i++) {
		pid_t pid;
		int st;

		ck_assert_int_eq(posix_spawn(&pid, "/bin/true", NULL, NULL,
					     argv, NULL), 0);
		ck_assert_int_eq(waitpid(pid, &st, 0), pid);
	}
	w->workload_done = true;
}

static void on_tick(uv_timer_t *t)
{
	struct wire *w = t->data;
	int st;

	if (px_mono_ns() - w->started_ns > DEADLINE_NS) {
		problem(w, "deadline passed");
		if (!w->term_sent)
			kill(w->agent, SIGKILL);
		w->term_sent = true;
	}
	/* The first batch (the start-up pass) means the agent is running. */
	if (w->batches && !w->workload_done)
		run_workload(w);
	if (w->workload_done && w->marker_execs >= N_EXECS && !w->term_sent) {
		kill(w->agent, SIGTERM);
		w->term_sent = true;
	}
	if (waitpid(w->agent, &st, WNOHANG) == w->agent) {
		w->agent_status = st;
		w->agent = 0;
		px_server_stop(w->srv);
		uv_close((uv_handle_t *)t, NULL);
	}
}

START_TEST(batches_carry_the_agents_identity_and_its_events)
{
	struct px_server_config sc = { .listen = "127.0.0.1:0" };
	struct wire w = { 0 };
	char err[256], target[64];
	char *argv[] = { (char *)agent_path, (char *)"--collector", target,
			 (char *)"--source-id", (char *)"agent:wire-test",
			 (char *)"--log-level", (char *)"warn",
			 (char *)"--spool-dir", (char *)"", NULL };

	snprintf(w.marker, sizeof(w.marker), "px-wire-%d", (int)getpid());
	ck_assert_int_eq(uv_loop_init(&w.loop), 0);
	w.srv = px_server_start(&w.loop, &sc, on_batch, &w, err, sizeof(err));
	ck_assert_msg(w.srv != NULL, "server: %s", err);
	snprintf(target, sizeof(target), "127.0.0.1:%d", px_server_port(w.srv));
	ck_assert_int_eq(posix_spawn(&w.agent, agent_path, NULL, NULL, argv,
				     NULL), 0);

	w.started_ns = px_mono_ns();
	uv_timer_init(&w.loop, &w.tick);
	w.tick.data = &w;
	uv_timer_start(&w.tick, on_tick, 100, 100);
	uv_run(&w.loop, UV_RUN_DEFAULT);
	uv_loop_close(&w.loop);
	fprintf(stderr, "wire: batches=%llu workload_execs=%llu snapshot_execs=%llu\n",
		(unsigned long long)w.batches,
		(unsigned long long)w.marker_execs,
		(unsigned long long)w.snapshot_execs);

	ck_assert_msg(!w.why[0], "%s", w.why);
	ck_assert_msg(WIFEXITED(w.agent_status) &&
		      WEXITSTATUS(w.agent_status) == 0,
		      "agent did not exit 0 after SIGTERM (status %#x)",
		      w.agent_status);
	ck_assert_uint_ge(w.marker_execs, N_EXECS);
	ck_assert_uint_gt(w.snapshot_execs, 0);
	ck_assert_uint_ge(w.batches, 1);
}
END_TEST

int main(int argc, char **argv)
{
	Suite *s = suite_create("agent-wire");
	TCase *tc = tcase_create("wire");

	if (argc != 2) {
		fprintf(stderr, "usage: %s PATH-TO-parallax-agent\n", argv[0]);
		return 2;
	}
	agent_path = argv[1];
	tcase_set_timeout(tc, 55);
	tcase_add_test(tc, batches_carry_the_agents_identity_and_its_events);
	suite_add_tcase(s, tc);
	return px_check_run(s);
}
