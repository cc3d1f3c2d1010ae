// SPDX-License-Identifier: Apache-2.0
/* The agent's process table and the exec_id format. */
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proctab.h"
#include "px_check.h"

#define HOST "3d1219c7c4c5404aaa1f6d2a48adfda4"
#define BOOT "c1a15a32-ac60-41a1-99f2-340cdcd85a11"

START_TEST(exec_id_joins_host_boot_pid_and_start_time)
{
	char id[AGENT_EXEC_ID_LEN];
	int n = agent_exec_id(id, sizeof(id), HOST, BOOT, 4242,
			      18446744073709551615ull);

	ck_assert_str_eq(id, HOST ":" BOOT ":4242:18446744073709551615");
	ck_assert_int_eq(n, (int)strlen(id));
}
END_TEST

START_TEST(exec_id_reports_a_buffer_that_is_too_small)
{
	char id[16];

	ck_assert_int_eq(agent_exec_id(id, sizeof(id), HOST, BOOT, 1, 2),
			 -ENOSPC);
	ck_assert_uint_eq(strlen(id), sizeof(id) - 1);
}
END_TEST

START_TEST(upsert_creates_an_entry_once_and_finds_it_again)
{
	struct agent_proctab *t = agent_proctab_new(HOST, BOOT);
	struct agent_proc *p, *q;
	bool created = false;

	p = agent_proctab_upsert(t, 100, 5000, &created);
	ck_assert_ptr_nonnull(p);
	ck_assert(created);
	ck_assert_str_eq(p->exec_id, HOST ":" BOOT ":100:5000");
	q = agent_proctab_upsert(t, 100, 5000, &created);
	ck_assert_ptr_eq(p, q);
	ck_assert(!created);
	ck_assert_ptr_eq(agent_proctab_get(t, 100, 5000), p);
	ck_assert_ptr_null(agent_proctab_get(t, 100, 5001));
	ck_assert_ptr_null(agent_proctab_lookup(t, 101));
	ck_assert_uint_eq(agent_proctab_count(t), 1);
	agent_proctab_free(t);
}
END_TEST

START_TEST(a_reused_pid_replaces_the_old_process)
{
	struct agent_proctab *t = agent_proctab_new(HOST, BOOT);
	struct agent_proc *p;
	bool created = false;

	p = agent_proctab_upsert(t, 7, 1000, NULL);
	ck_assert(agent_proc_mark_artifact(p, 1, 2));
	p = agent_proctab_upsert(t, 7, 2000, &created);
	ck_assert(created);
	ck_assert_uint_eq(p->start_time, 2000);
	ck_assert_str_eq(p->exec_id, HOST ":" BOOT ":7:2000");
	ck_assert_uint_eq(p->n_arts, 0);
	/* The artifact is new for the new process. */
	ck_assert(agent_proc_mark_artifact(p, 1, 2));
	ck_assert_ptr_null(agent_proctab_get(t, 7, 1000));
	ck_assert_uint_eq(agent_proctab_count(t), 1);
	agent_proctab_free(t);
}
END_TEST

START_TEST(remove_needs_the_matching_start_time)
{
	struct agent_proctab *t = agent_proctab_new(HOST, BOOT);

	agent_proctab_upsert(t, 9, 10, NULL);
	ck_assert(!agent_proctab_remove(t, 9, 11));
	ck_assert_uint_eq(agent_proctab_count(t), 1);
	ck_assert(agent_proctab_remove(t, 9, 10));
	ck_assert_uint_eq(agent_proctab_count(t), 0);
	ck_assert(!agent_proctab_remove(t, 9, 10));
	agent_proctab_free(t);
}
END_TEST

START_TEST(sweep_forgets_processes_a_pass_did_not_see)
{
	struct agent_proctab *t = agent_proctab_new(HOST, BOOT);

	for (uint32_t pid = 1; pid <= 10; pid++)
		agent_proctab_upsert(t, pid, pid * 10, NULL)->seen_gen =
			pid % 2 ? 3 : 2;
	ck_assert_uint_eq(agent_proctab_sweep(t, 3), 5);
	ck_assert_uint_eq(agent_proctab_count(t), 5);
	for (uint32_t pid = 1; pid <= 10; pid++)
		ck_assert((agent_proctab_lookup(t, pid) != NULL) == (pid % 2));
	agent_proctab_free(t);
}
END_TEST

/* Bits of the pids the sweep reported gone, checked against its count. */
static void note_gone(void *arg, const struct agent_proc *p)
{
	uint32_t *mask = arg;

	char want[AGENT_EXEC_ID_LEN];

	/* Still whole when handed over: the exit names the process. */
	agent_exec_id(want, sizeof(want), HOST, BOOT, p->pid, p->start_time);
	ck_assert_str_eq(p->exec_id, want);
	*mask |= 1u << p->pid;
}

START_TEST(sweep_hands_each_forgotten_process_over_first)
{
	struct agent_proctab *t = agent_proctab_new(HOST, BOOT);
	uint32_t gone = 0;

	for (uint32_t pid = 1; pid <= 10; pid++)
		agent_proctab_upsert(t, pid, pid * 10, NULL)->seen_gen =
			pid % 3 ? 4 : 1;
	ck_assert_uint_eq(agent_proctab_sweep_each(t, 4, note_gone, &gone), 3);
	ck_assert_uint_eq(gone, 1u << 3 | 1u << 6 | 1u << 9);
	ck_assert_uint_eq(agent_proctab_count(t), 7);
	agent_proctab_free(t);
}
END_TEST

START_TEST(the_table_grows_and_keeps_every_entry)
{
	struct agent_proctab *t = agent_proctab_new(HOST, BOOT);
	uint32_t n = 20000;

	for (uint32_t pid = 1; pid <= n; pid++)
		ck_assert_ptr_nonnull(agent_proctab_upsert(t, pid, pid, NULL));
	ck_assert_uint_eq(agent_proctab_count(t), n);
	for (uint32_t pid = 1; pid <= n; pid++) {
		struct agent_proc *p = agent_proctab_get(t, pid, pid);

		ck_assert_ptr_nonnull(p);
		ck_assert_uint_eq(p->pid, pid);
	}
	for (uint32_t pid = 2; pid <= n; pid += 2)
		ck_assert(agent_proctab_remove(t, pid, pid));
	ck_assert_uint_eq(agent_proctab_count(t), n / 2);
	ck_assert_ptr_nonnull(agent_proctab_get(t, n - 1, n - 1));
	agent_proctab_free(t);
}
END_TEST

START_TEST(an_artifact_is_marked_once_per_process)
{
	struct agent_proctab *t = agent_proctab_new(HOST, BOOT);
	struct agent_proc *a = agent_proctab_upsert(t, 1, 1, NULL);
	struct agent_proc *b = agent_proctab_upsert(t, 2, 2, NULL);

	for (uint64_t ino = 0; ino < 50; ino++)
		ck_assert(agent_proc_mark_artifact(a, 8, ino));
	ck_assert(!agent_proc_mark_artifact(a, 8, 17));
	ck_assert(agent_proc_mark_artifact(a, 9, 17));	/* other device */
	ck_assert(agent_proc_mark_artifact(b, 8, 17));	/* other process */
	ck_assert_uint_eq(a->n_arts, 51);
	agent_proctab_free(t);
}
END_TEST

START_TEST(an_open_file_and_a_mapping_of_one_file_are_marked_apart)
{
	struct agent_proctab *t = agent_proctab_new(HOST, BOOT);
	struct agent_proc *a = agent_proctab_upsert(t, 1, 1, NULL);

	ck_assert(agent_proc_mark_loaded(a, AGENT_ART_OPEN, 8, 5));
	ck_assert(!agent_proc_has_loaded(a, AGENT_ART_MAPPED, 8, 5));
	ck_assert(agent_proc_mark_loaded(a, AGENT_ART_MAPPED, 8, 5));
	ck_assert(agent_proc_has_loaded(a, AGENT_ART_MAPPED, 8, 5));
	ck_assert(!agent_proc_mark_loaded(a, AGENT_ART_OPEN, 8, 5));
	agent_proctab_free(t);
}
END_TEST

START_TEST(a_full_table_refuses_new_processes_and_counts_them)
{
	struct agent_proctab *t = agent_proctab_new(HOST, BOOT);

	agent_proctab_set_limit(t, 3);
	for (uint32_t pid = 1; pid <= 3; pid++)
		ck_assert_ptr_nonnull(agent_proctab_upsert(t, pid, pid, NULL));
	ck_assert_ptr_null(agent_proctab_upsert(t, 4, 4, NULL));
	ck_assert_ptr_null(agent_proctab_upsert(t, 5, 5, NULL));
	/* Known processes, and pid reuse of a known slot, still work. */
	ck_assert_ptr_nonnull(agent_proctab_upsert(t, 2, 2, NULL));
	ck_assert_ptr_nonnull(agent_proctab_upsert(t, 3, 99, NULL));
	ck_assert_uint_eq(agent_proctab_refused(t), 2);
	ck_assert_uint_eq(agent_proctab_count(t), 3);
	agent_proctab_free(t);
}
END_TEST

START_TEST(artifacts_per_process_are_bounded)
{
	struct agent_proctab *t = agent_proctab_new(HOST, BOOT);
	struct agent_proc *a = agent_proctab_upsert(t, 1, 1, NULL);

	for (uint64_t ino = 0; ino < AGENT_MAX_ARTS_PER_PROC; ino++)
		ck_assert(agent_proc_mark_artifact(a, 8, ino));
	ck_assert(!agent_proc_mark_artifact(a, 8, AGENT_MAX_ARTS_PER_PROC));
	ck_assert_uint_eq(a->n_arts, AGENT_MAX_ARTS_PER_PROC);
	agent_proctab_free(t);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("agent-proctab");
	TCase *tc = tcase_create("proctab");

	tcase_add_test(tc, exec_id_joins_host_boot_pid_and_start_time);
	tcase_add_test(tc, exec_id_reports_a_buffer_that_is_too_small);
	tcase_add_test(tc, upsert_creates_an_entry_once_and_finds_it_again);
	tcase_add_test(tc, a_reused_pid_replaces_the_old_process);
	tcase_add_test(tc, remove_needs_the_matching_start_time);
	tcase_add_test(tc, sweep_forgets_processes_a_pass_did_not_see);
	tcase_add_test(tc, sweep_hands_each_forgotten_process_over_first);
	tcase_add_test(tc, the_table_grows_and_keeps_every_entry);
	tcase_add_test(tc, an_artifact_is_marked_once_per_process);
	tcase_add_test(tc,
		an_open_file_and_a_mapping_of_one_file_are_marked_apart);
	tcase_add_test(tc, a_full_table_refuses_new_processes_and_counts_them);
	tcase_add_test(tc, artifacts_per_process_are_bounded);
	suite_add_tcase(s, tc);
	return px_check_run(s);
}
