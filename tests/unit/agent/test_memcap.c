// SPDX-License-Identifier: Apache-2.0
/* The memory cap turned into bounds on the process table and the queue. */
#include <check.h>

#include "memcap.h"
#include "px_check.h"

#define MIB (1024ull * 1024)

START_TEST(large_configured_bounds_are_lowered_to_fit_the_default_cap)
{
	struct agent_mem_bounds mb;

	/* 48 MiB, the default cap, with the uncapped defaults configured. */
	agent_mem_bounds(48 * MIB, 131072, 65536, &mb);
	ck_assert(mb.clamped_processes && mb.clamped_queue);
	ck_assert_uint_le(mb.max_processes * AGENT_PROC_COST_BYTES, 12 * MIB);
	ck_assert_uint_le(mb.queue_max_events * AGENT_EVENT_COST_BYTES,
			  12 * MIB);
	/* Both together stay within half the cap. */
	ck_assert_uint_le(mb.max_processes * AGENT_PROC_COST_BYTES +
			  mb.queue_max_events * AGENT_EVENT_COST_BYTES,
			  24 * MIB);
	ck_assert_uint_eq(mb.max_processes, 12 * MIB / AGENT_PROC_COST_BYTES);
}
END_TEST

START_TEST(a_bound_already_below_the_cap_is_kept)
{
	struct agent_mem_bounds mb;

	agent_mem_bounds(1024 * MIB, 5000, 2000, &mb);
	ck_assert(!mb.clamped_processes && !mb.clamped_queue);
	ck_assert_uint_eq(mb.max_processes, 5000);
	ck_assert_uint_eq(mb.queue_max_events, 2000);
}
END_TEST

START_TEST(no_cap_leaves_the_configured_bounds)
{
	struct agent_mem_bounds mb;

	agent_mem_bounds(0, 131072, 65536, &mb);
	ck_assert(!mb.clamped_processes && !mb.clamped_queue);
	ck_assert_uint_eq(mb.max_processes, 131072);
	ck_assert_uint_eq(mb.queue_max_events, 65536);
}
END_TEST

START_TEST(an_unbounded_table_gets_the_derived_bound)
{
	struct agent_mem_bounds mb;

	agent_mem_bounds(64 * MIB, 0, 0, &mb);
	/* Derived, not lowered from anything configured: nothing to warn of. */
	ck_assert(!mb.clamped_processes && !mb.clamped_queue);
	ck_assert_uint_eq(mb.max_processes, 16 * MIB / AGENT_PROC_COST_BYTES);
	ck_assert_uint_eq(mb.queue_max_events,
			  16 * MIB / AGENT_EVENT_COST_BYTES);
}
END_TEST

START_TEST(no_cap_and_no_bound_gives_the_uncapped_defaults)
{
	struct agent_mem_bounds mb;

	agent_mem_bounds(0, 0, 0, &mb);
	ck_assert(!mb.clamped_processes && !mb.clamped_queue);
	ck_assert_uint_eq(mb.max_processes, AGENT_UNCAPPED_PROCESSES);
	ck_assert_uint_eq(mb.queue_max_events, AGENT_UNCAPPED_QUEUE_EVENTS);
}
END_TEST

START_TEST(a_tiny_cap_still_leaves_the_floors)
{
	struct agent_mem_bounds mb;

	agent_mem_bounds(1 * MIB, 131072, 65536, &mb);
	ck_assert_uint_eq(mb.max_processes, AGENT_MIN_PROCESSES);
	ck_assert_uint_eq(mb.queue_max_events, AGENT_MIN_QUEUE_EVENTS);
}
END_TEST

static Suite *memcap_suite(void)
{
	Suite *s = suite_create("memcap");
	TCase *tc = tcase_create("bounds");

	tcase_add_test(tc, large_configured_bounds_are_lowered_to_fit_the_default_cap);
	tcase_add_test(tc, no_cap_and_no_bound_gives_the_uncapped_defaults);
	tcase_add_test(tc, a_bound_already_below_the_cap_is_kept);
	tcase_add_test(tc, no_cap_leaves_the_configured_bounds);
	tcase_add_test(tc, an_unbounded_table_gets_the_derived_bound);
	tcase_add_test(tc, a_tiny_cap_still_leaves_the_floors);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return px_check_run(memcap_suite());
}
