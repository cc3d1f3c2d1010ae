// SPDX-License-Identifier: Apache-2.0
/*
 * Test harness around the ingest sink (see ingest_harness.h).
 */
#include "ingest_harness.h"

#include <check.h>
#include <stdio.h>
#include <string.h>

#include "migrate.h"

struct harness H;

void h_cluster_up(void)
{
	pgtmp_start(&H.pg);
}

void h_cluster_down(void)
{
	pgtmp_stop(&H.pg);
}

void h_setup(void)
{
	struct coll_sink_config cfg = { 0 };
	char err[512];
	int n;

	pgtmp_new_db(&H.pg, H.dsn, sizeof(H.dsn));
	H.db = pgtmp_connect(H.dsn);
	n = coll_migrate(H.db, err, sizeof(err));
	ck_assert_msg(n == (int)coll_n_migrations, "migrate: %d %s", n, err);
	ck_assert_int_eq(uv_loop_init(&H.loop), 0);
	cfg.loop = &H.loop;
	cfg.dsn = H.dsn;
	H.sink = coll_sink_new(&cfg);
	ck_assert_ptr_nonnull(H.sink);
	H.acked = 0;
}

void h_resink(size_t group_batches)
{
	struct coll_sink_config cfg = { 0 };

	coll_sink_free(H.sink);
	uv_run(&H.loop, UV_RUN_NOWAIT);
	cfg.loop = &H.loop;
	cfg.dsn = H.dsn;
	cfg.group_batches = group_batches;
	H.sink = coll_sink_new(&cfg);
	ck_assert_ptr_nonnull(H.sink);
}

void h_teardown(void)
{
	coll_sink_free(H.sink);
	H.sink = NULL;
	uv_run(&H.loop, UV_RUN_DEFAULT);
	ck_assert_int_eq(uv_loop_close(&H.loop), 0);
	PQfinish(H.db);
	H.db = NULL;
}

static void on_ack(void *ctx, Parallax__V1__AckStatus status,
		   const char *detail)
{
	struct ack_slot *s = ctx;

	s->count++;
	s->status = status;
	snprintf(s->detail, sizeof(s->detail), "%s", detail ? detail : "");
	H.acked++;
}

void h_submit(Parallax__V1__Batch *b, struct ack_slot *slot)
{
	ck_assert_int_eq(coll_sink_submit(H.sink, b, NULL, "ipv4:127.0.0.1:1",
					  on_ack, slot), 0);
}

void h_wait_acks(int n)
{
	while (H.acked < n)
		uv_run(&H.loop, UV_RUN_ONCE);
}

uint64_t h_ingest_together(struct tbatch **t, size_t n, struct ack_slot *slot)
{
	struct coll_sink_stats st;
	int base = H.acked;

	for (size_t i = 0; i < n; i++)
		h_submit(tb_batch(t[i]), &slot[i]);
	h_wait_acks(base + (int)n);
	for (size_t i = 0; i < n; i++) {
		ck_assert_int_eq(slot[i].count, 1);
		tb_free(t[i]);
	}
	coll_sink_get_stats(H.sink, &st);
	return st.groups;
}

Parallax__V1__AckStatus h_ingest(struct tbatch *t, char *detail, size_t len)
{
	struct ack_slot slot = { 0 };
	int base = H.acked;

	h_submit(tb_batch(t), &slot);
	h_wait_acks(base + 1);
	ck_assert_int_eq(slot.count, 1);
	if (detail != NULL)
		snprintf(detail, len, "%s", slot.detail);
	tb_free(t);
	return slot.status;
}

long h_num(const char *sql)
{
	return pgtmp_long(H.db, sql);
}
