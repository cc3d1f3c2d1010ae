// SPDX-License-Identifier: Apache-2.0
/*
 * parallax-scan in its default mode, streaming batches to a collector: a
 * fake collector (the real px_server on loopback, acking every batch) runs
 * on a loop thread while the binary scans the fixtures, and the test checks
 * what arrived: the source's identity, batch sizes, every finding, and one
 * ScanReport per root closing its scan.
 */
#include <check.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <uv.h>

#include "helpers.h"
#include "host.h"
#include "output.h"
#include "transport.h"
#include "px_check.h"

struct fake {
	uv_loop_t loop;
	uv_async_t quit;
	pthread_t thread;
	struct px_server *srv;
	int port;
	pthread_mutex_t mu;
	/* what arrived */
	int batches;
	size_t max_batch;
	uint64_t last_seq;
	bool seq_ok;
	size_t findings;
	size_t with_44228;
	int reports;
	uint64_t reported_findings;
	char roots[2][512];
	size_t events;          /* ScanEvents on the reports */
	uint64_t events_dropped;
	char event_kind[64];
	char event_path[512];
	char event_inner[512];
	char host_id[64];
	char source_id[128];
	int kind;
};

static void on_batch(struct px_inbatch *ib, void *arg)
{
	const Parallax__V1__Batch *b = ib->batch;
	struct fake *f = arg;
	size_t i;

	pthread_mutex_lock(&f->mu);
	f->batches++;
	f->seq_ok = f->seq_ok && b->seq == f->last_seq + 1;
	f->last_seq = b->seq;
	if (b->n_findings > f->max_batch)
		f->max_batch = b->n_findings;
	f->findings += b->n_findings;
	for (i = 0; i < b->n_findings; i++) {
		const Parallax__V1__Finding *pf = b->findings[i];

		if (pf->detail_case == PARALLAX__V1__FINDING__DETAIL_PACKAGE &&
		    pf->package->n_cves &&
		    strcmp(pf->package->cves[0]->id, "CVE-2021-44228") == 0)
			f->with_44228++;
	}
	if (b->scan && f->reports < 2) {
		snprintf(f->roots[f->reports], sizeof(f->roots[0]), "%s",
			 b->scan->root);
		f->reports++;
		f->reported_findings += b->scan->findings;
	}
	if (b->scan) {
		f->events += b->scan->n_events;
		f->events_dropped += b->scan->events_dropped;
		if (b->scan->n_events) {
			snprintf(f->event_kind, sizeof(f->event_kind), "%s",
				 b->scan->events[0]->kind);
			snprintf(f->event_path, sizeof(f->event_path), "%s",
				 b->scan->events[0]->path);
			snprintf(f->event_inner, sizeof(f->event_inner), "%s",
				 b->scan->events[0]->inner);
		}
	}
	snprintf(f->host_id, sizeof(f->host_id), "%s", b->source->host->host_id);
	snprintf(f->source_id, sizeof(f->source_id), "%s",
		 b->source->source_id);
	f->kind = b->source->kind;
	pthread_mutex_unlock(&f->mu);
	px_inbatch_ack(ib, PARALLAX__V1__ACK_STATUS__ACK_STATUS_COMMITTED, NULL);
}

static void on_quit(uv_async_t *h)
{
	struct fake *f = h->data;

	px_server_stop(f->srv);
	uv_close((uv_handle_t *)&f->quit, NULL);
}

static void *loop_main(void *arg)
{
	struct fake *f = arg;

	uv_run(&f->loop, UV_RUN_DEFAULT);
	return NULL;
}

static struct fake *fake_start(void)
{
	struct px_server_config cfg = { .listen = "127.0.0.1:0" };
	struct fake *f = calloc(1, sizeof(*f));
	char err[256] = "";

	ck_assert_ptr_nonnull(f);
	f->seq_ok = true;
	pthread_mutex_init(&f->mu, NULL);
	uv_loop_init(&f->loop);
	uv_async_init(&f->loop, &f->quit, on_quit);
	f->quit.data = f;
	f->srv = px_server_start(&f->loop, &cfg, on_batch, f, err, sizeof(err));
	ck_assert_msg(f->srv != NULL, "server did not start: %s", err);
	f->port = px_server_port(f->srv);
	pthread_create(&f->thread, NULL, loop_main, f);
	return f;
}

static void fake_stop(struct fake *f)
{
	uv_async_send(&f->quit);
	pthread_join(f->thread, NULL);
	uv_loop_close(&f->loop);
	pthread_mutex_destroy(&f->mu);
	free(f);
}

START_TEST(findings_reach_the_collector_in_batches_closed_by_scan_reports)
{
	const char *s = fixture_samples();
	char cmd[8192];
	struct fake *f = fake_start();
	const char *bin = getenv("PX_SCAN_BIN");
	int st;

	ck_assert_msg(bin && bin[0], "PX_SCAN_BIN is not set");
	snprintf(cmd, sizeof(cmd),
		 "'%s' --checks packages --collector 127.0.0.1:%d --batch-size 10 --host-id snap-1 --source-id scanner:test --flush-timeout 20 '%s/true-hits' '%s/false-hits' </dev/null >/dev/null",
		 bin, f->port, s, s);
	st = run_status(cmd);
	ck_assert_int_eq(st, 0);
	pthread_mutex_lock(&f->mu);
	ck_assert(f->seq_ok);
	ck_assert_int_eq(f->reports, 2);
	ck_assert_ptr_nonnull(strstr(f->roots[0], "true-hits"));
	ck_assert_ptr_nonnull(strstr(f->roots[1], "false-hits"));
	ck_assert_uint_eq(f->reported_findings, f->findings);
	/* 16 log4j-core files in true-hits, 3 more packages in the shaded jar,
	 * 15 jars in false-hits */
	ck_assert_uint_eq(f->findings, 16 + 3 + 15);
	ck_assert_uint_eq(f->with_44228, 16);
	ck_assert_uint_le(f->max_batch, 10);
	ck_assert_int_ge(f->batches, 4);
	ck_assert_str_eq(f->host_id, "snap-1");
	ck_assert_str_eq(f->source_id, "scanner:test");
	ck_assert_int_eq(f->kind, PARALLAX__V1__SOURCE_KIND__SOURCE_KIND_SCANNER);
	pthread_mutex_unlock(&f->mu);
	fake_stop(f);
}
END_TEST

/* Emits finding number <i> with a long inner path to <b>. */
static void emit_long(struct scan_batcher *b, int i)
{
	struct scan_finding f = { 0 };
	char inner[600];

	memset(inner, 'x', sizeof(inner) - 1);
	inner[sizeof(inner) - 1] = '\0';
	snprintf(inner, 16, "entry-%d", i);
	inner[strlen(inner)] = '/';
	f.type = SCAN_FINDING_PACKAGE;
	f.path = "/snap/app.ear";
	f.inner = inner;
	f.sha256 = "";
	f.ecosystem = "maven";
	f.name = "g:a";
	f.version = "1";
	f.purl = "pkg:maven/g/a@1";
	f.evidence = "test";
	ck_assert_int_eq(scan_batcher_emit(b, &f), 0);
}

START_TEST(a_batch_too_large_for_one_message_is_split_not_lost)
{
	Parallax__V1__ScanReport rep = PARALLAX__V1__SCAN_REPORT__INIT;
	Parallax__V1__HostFacts facts = PARALLAX__V1__HOST_FACTS__INIT;
	Parallax__V1__Source src = PARALLAX__V1__SOURCE__INIT;
	struct px_client_config cc = { 0 };
	struct scan_batcher b;
	struct px_client *c;
	struct fake *f = fake_start();
	char target[64], err[256] = "", boot[37];
	int i;

	snprintf(target, sizeof(target), "127.0.0.1:%d", f->port);
	px_uuid4(boot);
	facts.host_id = (char *)"snap-2";
	src.source_id = (char *)"scanner:split";
	src.boot_id = boot;
	src.kind = PARALLAX__V1__SOURCE_KIND__SOURCE_KIND_SCANNER;
	src.host = &facts;
	cc.target = target;
	cc.source = &src;
	cc.max_message_bytes = 4000;   /* about 5 findings per message */
	c = px_client_start(&cc, err, sizeof(err));
	ck_assert_msg(c != NULL, "client did not start: %s", err);
	ck_assert_int_eq(scan_batcher_init(&b, c, 16, 5000), 0);
	for (i = 0; i < 12; i++)
		emit_long(&b, i);
	rep.root = (char *)"/snap";
	rep.findings = 12;
	ck_assert_int_eq(scan_batcher_flush(&b, &rep), 0);
	ck_assert_int_eq(px_client_flush(c, 20000), 0);
	ck_assert_uint_eq(b.send_errors, 0);
	pthread_mutex_lock(&f->mu);
	ck_assert_uint_eq(f->findings, 12);
	ck_assert_int_ge(f->batches, 3);
	ck_assert_int_eq(f->reports, 1);
	ck_assert_str_eq(f->roots[0], "/snap");
	ck_assert(f->seq_ok);
	pthread_mutex_unlock(&f->mu);
	scan_batcher_destroy(&b);
	px_client_stop(c);
	fake_stop(f);
}
END_TEST

/*
 * A jar that holds itself is a recursive archive; the scan reports it as
 * an event, and in collector mode that event rides on the ScanReport.
 */
START_TEST(scan_events_ride_on_the_scan_report)
{
	static const uint8_t inner_data[] = "not a jar at all";
	char dir[64], cmd[8192];
	const char *bin = getenv("PX_SCAN_BIN");
	struct fake *f = fake_start();
	uint8_t *zip;
	size_t len;
	int st;

	ck_assert_msg(bin && bin[0], "PX_SCAN_BIN is not set");
	temp_dir(dir);
	/* a ".jar" entry that is not a zip is a corrupt nested archive */
	zip = zip_one("lib/broken.jar", inner_data, sizeof(inner_data), &len);
	put_file(dir, "app.jar", zip, len);
	free(zip);
	snprintf(cmd, sizeof(cmd),
		 "'%s' --checks packages --collector 127.0.0.1:%d --host-id snap-3 --flush-timeout 20 '%s' </dev/null >/dev/null 2>&1",
		 bin, f->port, dir);
	st = run_status(cmd);
	ck_assert_int_eq(st, 0);
	pthread_mutex_lock(&f->mu);
	ck_assert_int_eq(f->reports, 1);
	ck_assert_uint_eq(f->events, 1);
	ck_assert_uint_eq(f->events_dropped, 0);
	ck_assert_str_eq(f->event_kind, "corrupt");
	ck_assert_ptr_nonnull(strstr(f->event_path, "/app.jar"));
	ck_assert_str_eq(f->event_inner, "lib/broken.jar");
	pthread_mutex_unlock(&f->mu);
	fake_stop(f);
	remove_tree(dir);
}
END_TEST

/* Starts a client to the fake collector <f> as source <id>. */
static struct px_client *client_to(struct fake *f, const char *id,
				   Parallax__V1__Source *src,
				   Parallax__V1__HostFacts *facts, char *boot)
{
	static char target[64];
	struct px_client_config cc = { 0 };
	struct px_client *c;
	char err[256] = "";

	snprintf(target, sizeof(target), "127.0.0.1:%d", f->port);
	px_uuid4(boot);
	facts->host_id = (char *)"snap-4";
	src->source_id = (char *)id;
	src->boot_id = boot;
	src->kind = PARALLAX__V1__SOURCE_KIND__SOURCE_KIND_SCANNER;
	src->host = facts;
	cc.target = target;
	cc.source = src;
	c = px_client_start(&cc, err, sizeof(err));
	ck_assert_msg(c != NULL, "client did not start: %s", err);
	return c;
}

START_TEST(events_past_the_report_bound_are_counted_as_dropped)
{
	Parallax__V1__ScanReport rep = PARALLAX__V1__SCAN_REPORT__INIT;
	Parallax__V1__HostFacts facts = PARALLAX__V1__HOST_FACTS__INIT;
	Parallax__V1__Source src = PARALLAX__V1__SOURCE__INIT;
	struct fake *f = fake_start();
	struct scan_batcher b;
	struct px_client *c;
	struct scan_event ev = { "limit", "archive nested too deep: max_depth",
				 "/snap/a.jar", "b.jar", "" };
	char boot[37];
	int i, extra = 7;

	c = client_to(f, "scanner:events", &src, &facts, boot);
	ck_assert_int_eq(scan_batcher_init(&b, c, 16, 5000), 0);
	for (i = 0; i < SCAN_REPORT_MAX_EVENTS + extra; i++)
		scan_batcher_event(&b, &ev);
	rep.root = (char *)"/snap";
	ck_assert_int_eq(scan_batcher_flush(&b, &rep), 0);
	/* the next report starts empty */
	ck_assert_uint_eq(b.n_events, 0);
	ck_assert_uint_eq(b.events_dropped, 0);
	ck_assert_int_eq(px_client_flush(c, 20000), 0);
	pthread_mutex_lock(&f->mu);
	ck_assert_int_eq(f->reports, 1);
	ck_assert_uint_eq(f->events, SCAN_REPORT_MAX_EVENTS);
	ck_assert_uint_eq(f->events_dropped, (uint64_t)extra);
	ck_assert_str_eq(f->event_kind, "depth-limit");
	ck_assert_str_eq(f->event_inner, "b.jar");
	pthread_mutex_unlock(&f->mu);
	scan_batcher_destroy(&b);
	px_client_stop(c);
	fake_stop(f);
}
END_TEST

START_TEST(event_kinds_map_to_the_wire_vocabulary)
{
	static const struct {
		const char *kind, *what, *want;
	} cases[] = {
		{ "limit", "archive nested too deep, skipped: max_depth",
		  "depth-limit" },
		{ "limit", "entry over byte budget: max_entry_bytes",
		  "byte-budget" },
		{ "limit", "max_archive_bytes", "byte-budget" },
		{ "limit", "x: max_ratio", "ratio-limit" },
		{ "limit", "too many entries, archive skipped: max_entries",
		  "entry-limit" },
		{ "limit", "file took too long, rest skipped: max_file_ms",
		  "time-limit" },
		{ "bomb", "overlapping entries", "zip-bomb" },
		{ "recursive", "archive contains itself", "recursive" },
		{ "corrupt", "archive unreadable", "corrupt" },
		{ "symlink", "link escapes the snapshot root", "symlink" },
	};
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct scan_event ev = { cases[i].kind, cases[i].what, "/p",
					 "", "" };

		ck_assert_str_eq(scan_event_pb_kind(&ev), cases[i].want);
	}
}
END_TEST

static Suite *collector_suite(void)
{
	Suite *s = suite_create("scanner-collector");
	TCase *tc = tcase_create("collector");

	tcase_set_timeout(tc, 90);
	tcase_add_test(tc,
		       findings_reach_the_collector_in_batches_closed_by_scan_reports);
	tcase_add_test(tc, a_batch_too_large_for_one_message_is_split_not_lost);
	tcase_add_test(tc, scan_events_ride_on_the_scan_report);
	tcase_add_test(tc, events_past_the_report_bound_are_counted_as_dropped);
	tcase_add_test(tc, event_kinds_map_to_the_wire_vocabulary);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return px_check_run(collector_suite());
}
