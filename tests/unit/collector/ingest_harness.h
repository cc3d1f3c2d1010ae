/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Shared by the collector's database tests: a throwaway cluster for the
 * whole test file (unchecked fixture, in the runner), and per test a fresh
 * migrated database, a libuv loop and an ingest sink whose acks land in
 * slots the test can inspect.
 */
#ifndef PX_TEST_INGEST_HARNESS_H
#define PX_TEST_INGEST_HARNESS_H

#include <stddef.h>
#include <stdint.h>

#include <libpq-fe.h>
#include <uv.h>

#include "ingest.h"
#include "pgtmp.h"
#include "tbatch.h"

struct ack_slot {
	int count;                       /* acks received for this batch */
	Parallax__V1__AckStatus status;
	char detail[512];
};

struct harness {
	struct pgtmp pg;
	char dsn[512];
	PGconn *db;                      /* for assertions */
	uv_loop_t loop;
	struct coll_sink *sink;
	int acked;                       /* acks received, all batches */
};

extern struct harness H;

void h_cluster_up(void);
void h_cluster_down(void);
void h_setup(void);
void h_teardown(void);
/* Replaces the sink by one whose groups hold at most <group_batches>. */
void h_resink(size_t group_batches);

/* Submits <b> with its ack going to <slot>. */
void h_submit(Parallax__V1__Batch *b, struct ack_slot *slot);
/* Runs the loop until <n> acks in total have arrived. */
void h_wait_acks(int n);
/* Submits the <n> batches of <t> at once, so that they share a group,
 * waits for their acks (each exactly once) into <slot>, frees them, and
 * returns the number of groups the sink has committed so far. */
uint64_t h_ingest_together(struct tbatch **t, size_t n, struct ack_slot *slot);
/* Submits, waits, and returns the status (the batch is freed). */
Parallax__V1__AckStatus h_ingest(struct tbatch *t, char *detail, size_t len);
/* SELECT returning one number. */
long h_num(const char *sql);

#endif
