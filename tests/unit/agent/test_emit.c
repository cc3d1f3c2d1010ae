// SPDX-License-Identifier: Apache-2.0
/* Event output: the --stdout JSON lines and the bounded send queue. */
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "emit.h"
#include "transport.h"
#include "px_check.h"

static Parallax__V1__Event *exec_event(void)
{
	Parallax__V1__Event *ev = agent_ev_new(42,
					       PARALLAX__V1__EVENT__KIND_EXEC);
	Parallax__V1__ProcessExec *x;

	ck_assert_ptr_nonnull(ev);
	x = ev->exec;
	x->proc = agent_ev_ref(77, 123456789, "h:b:77:123456789");
	x->ppid = 1;
	x->exe = agent_ev_str("/bin/echo");
	x->n_argv = 2;
	x->argv = calloc(2, sizeof(char *));
	x->argv[0] = strdup("echo");
	x->argv[1] = strdup("say \"hi\"\n\\ok");
	x->comm = agent_ev_str("echo");
	x->loginuid = 4294967295u;
	return ev;
}

START_TEST(strings_from_the_kernel_go_out_as_valid_utf8)
{
	char *s = agent_ev_str("java\xfe-\xc3\xa9");

	/* The stray byte becomes U+00FE; the valid e-acute stays. */
	ck_assert_str_eq(s, "java\xc3\xbe-\xc3\xa9");
	free(s);
}
END_TEST

START_TEST(an_exec_prints_as_one_escaped_json_line)
{
	Parallax__V1__Event *ev = exec_event();
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	agent_emit_json(f, ev);
	fclose(f);
	ck_assert_ptr_nonnull(strstr(buf, "{\"type\":\"exec\",\"ts_ns\":42,"));
	ck_assert_ptr_nonnull(strstr(buf, "\"pid\":77,"));
	ck_assert_ptr_nonnull(strstr(buf, "\"start_time_ns\":123456789,"));
	ck_assert_ptr_nonnull(strstr(buf, "\"exec_id\":\"h:b:77:123456789\""));
	ck_assert_ptr_nonnull(strstr(buf, "\"exe\":\"/bin/echo\""));
	ck_assert_ptr_nonnull(
		strstr(buf, "\"argv\":[\"echo\",\"say \\\"hi\\\"\\n\\\\ok\"]"));
	ck_assert_ptr_nonnull(strstr(buf, "\"loginuid\":4294967295"));
	ck_assert_ptr_nonnull(strstr(buf, "\"from_snapshot\":false"));
	/* One line: the only newline is the last character. */
	ck_assert_ptr_eq(strchr(buf, '\n'), buf + len - 1);
	free(buf);
	agent_ev_free(ev);
}
END_TEST

START_TEST(an_artifact_prints_its_identity_and_digest)
{
	Parallax__V1__Event *ev =
		agent_ev_new(7, PARALLAX__V1__EVENT__KIND_ARTIFACT);
	Parallax__V1__ArtifactLoaded *a = ev->artifact;
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	a->proc = agent_ev_ref(5, 6, "x");
	a->path = agent_ev_str("/srv/app/log4j-core-2.14.1.jar");
	a->inode = 99;
	a->size = 1000;
	a->mtime_ns = -1;
	a->sha256 = agent_ev_str("ab");
	a->kind = PARALLAX__V1__LOAD_KIND__LOAD_KIND_OPEN_FILE;
	agent_emit_json(f, ev);
	fclose(f);
	ck_assert_ptr_nonnull(strstr(buf, "{\"type\":\"artifact\","));
	ck_assert_ptr_nonnull(strstr(buf, "\"path\":\"/srv/app/log4j-core-2.14.1.jar\""));
	ck_assert_ptr_nonnull(strstr(buf, "\"inode\":99,\"size\":1000,\"mtime_ns\":-1,"));
	ck_assert_ptr_nonnull(strstr(buf, "\"sha256\":\"ab\",\"kind\":\"OPEN_FILE\",\"error\":\"\""));
	free(buf);
	agent_ev_free(ev);
}
END_TEST

/* Each AgentHealth counter gets a distinct value, so a field printed
 * under another's name, or not at all, fails. */
START_TEST(health_prints_every_drop_counter)
{
	Parallax__V1__Event *ev = agent_ev_new(7,
					       PARALLAX__V1__EVENT__KIND_HEALTH);
	static const char *const want[] = {
		"\"ringbuf_drops\":1,", "\"spool_dropped\":2,",
		"\"queue_dropped\":3,", "\"procs_refused\":4,",
		"\"exec_pass_dropped\":5,", "\"unknown_procs\":6,",
		"\"net_unowned\":7,", "\"hash_deferred\":8,",
		"\"synthetic_exits\":9}",
	};
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	ck_assert_ptr_nonnull(ev);
	ev->health->ringbuf_drops = 1;
	ev->health->spool_dropped = 2;
	ev->health->queue_dropped = 3;
	ev->health->procs_refused = 4;
	ev->health->exec_pass_dropped = 5;
	ev->health->unknown_procs = 6;
	ev->health->net_unowned = 7;
	ev->health->hash_deferred = 8;
	ev->health->synthetic_exits = 9;
	agent_emit_json(f, ev);
	fclose(f);
	for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++)
		ck_assert_msg(strstr(buf, want[i]), "%s missing from %s",
			      want[i], buf);
	free(buf);
	agent_ev_free(ev);
}
END_TEST

START_TEST(a_synthetic_exit_says_so)
{
	Parallax__V1__Event *ev = agent_ev_new(7,
					       PARALLAX__V1__EVENT__KIND_EXIT);
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	ck_assert_ptr_nonnull(ev);
	ev->exit->proc = agent_ev_ref(9, 10, "h:b:9:10");
	ev->exit->synthetic = true;
	agent_emit_json(f, ev);
	fclose(f);
	ck_assert_ptr_nonnull(strstr(buf, "\"exit_code\":0,\"synthetic\":true}"));
	free(buf);
	agent_ev_free(ev);
}
END_TEST

START_TEST(stdout_mode_writes_every_event_at_once)
{
	struct agent_emit_config cfg = { 0 };
	struct agent_emit_stats st;
	struct agent_emit *e;
	char *buf = NULL;
	size_t len = 0;
	int lines = 0;

	cfg.json_out = open_memstream(&buf, &len);
	e = agent_emit_new(&cfg);
	for (int i = 0; i < 3; i++)
		agent_emit_event(e, exec_event());
	ck_assert_int_eq(agent_emit_flush(e), 0);
	agent_emit_get_stats(e, &st);
	ck_assert_uint_eq(st.events, 3);
	ck_assert_uint_eq(st.queued, 0);
	agent_emit_free(e);
	fclose(cfg.json_out);
	for (char *p = buf; (p = strchr(p, '\n')); p++)
		lines++;
	ck_assert_int_eq(lines, 3);
	free(buf);
}
END_TEST

/*
 * A client whose collector never answers takes one batch, then refuses
 * with -ENOBUFS (pending bound of one byte): events queue up to the bound
 * and the ones past it are dropped and counted.
 */
START_TEST(events_queue_while_the_client_is_full_and_drop_past_the_bound)
{
	Parallax__V1__Source src = PARALLAX__V1__SOURCE__INIT;
	struct px_client_config cc = { 0 };
	struct agent_emit_config cfg = { 0 };
	struct agent_emit_stats st;
	struct px_client *c;
	struct agent_emit *e;
	char err[256];

	src.source_id = (char *)"agent:test";
	src.boot_id = (char *)"boot";
	src.kind = PARALLAX__V1__SOURCE_KIND__SOURCE_KIND_AGENT;
	cc.target = "127.0.0.1:1";
	cc.source = &src;
	cc.max_pending_bytes = 1;
	c = px_client_start(&cc, err, sizeof(err));
	ck_assert_msg(c != NULL, "client: %s", err);

	cfg.client = c;
	cfg.batch_max_events = 2;
	cfg.queue_max_events = 4;
	e = agent_emit_new(&cfg);
	for (int i = 0; i < 9; i++)
		agent_emit_event(e, exec_event());
	ck_assert_int_eq(agent_emit_flush(e), -ENOBUFS);
	agent_emit_get_stats(e, &st);
	ck_assert_uint_eq(st.events, 9);
	ck_assert_uint_eq(st.batches, 1);	/* events 1-2 */
	ck_assert_uint_eq(st.queued, 4);	/* events 3-6 */
	ck_assert_uint_eq(st.dropped, 3);	/* events 7-9 */
	agent_emit_free(e);
	px_client_stop(c);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("agent-emit");
	TCase *tc = tcase_create("emit");

	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, strings_from_the_kernel_go_out_as_valid_utf8);
	tcase_add_test(tc, an_exec_prints_as_one_escaped_json_line);
	tcase_add_test(tc, an_artifact_prints_its_identity_and_digest);
	tcase_add_test(tc, stdout_mode_writes_every_event_at_once);
	tcase_add_test(tc, health_prints_every_drop_counter);
	tcase_add_test(tc, a_synthetic_exit_says_so);
	tcase_add_test(tc,
		       events_queue_while_the_client_is_full_and_drop_past_the_bound);
	suite_add_tcase(s, tc);
	return px_check_run(s);
}
