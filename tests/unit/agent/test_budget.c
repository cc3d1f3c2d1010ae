// SPDX-License-Identifier: Apache-2.0
/* The hashing I/O budget: a token bucket driven by the caller's clock. */
#include <check.h>
#include <stdlib.h>

#include "budget.h"
#include "px_check.h"

#define SEC 1000000000ull

START_TEST(a_full_bucket_grants_its_burst_then_refuses)
{
	struct agent_budget b;

	agent_budget_init(&b, 1000, 4000, 0);
	ck_assert(agent_budget_take(&b, 3000, 0));
	ck_assert(agent_budget_take(&b, 1000, 0));
	ck_assert(!agent_budget_take(&b, 1, 0));
	ck_assert_uint_eq(b.deferred, 1);
	ck_assert_uint_eq(b.granted_bytes, 4000);
}
END_TEST

START_TEST(tokens_come_back_at_the_rate)
{
	struct agent_budget b;

	agent_budget_init(&b, 1000, 1000, 0);
	ck_assert(agent_budget_take(&b, 1000, 0));
	ck_assert(!agent_budget_take(&b, 600, SEC / 2));	/* 500 earned */
	ck_assert(agent_budget_take(&b, 500, SEC / 2));
	ck_assert(agent_budget_take(&b, 1000, SEC / 2 + SEC));
}
END_TEST

START_TEST(the_bucket_never_holds_more_than_the_burst)
{
	struct agent_budget b;

	agent_budget_init(&b, 1000, 2000, 0);
	ck_assert(agent_budget_take(&b, 2000, 100 * SEC));
	ck_assert(!agent_budget_take(&b, 1, 100 * SEC));
}
END_TEST

START_TEST(a_file_larger_than_the_burst_passes_once_and_leaves_a_debt)
{
	struct agent_budget b;

	agent_budget_init(&b, 1000, 1000, 0);
	ck_assert(agent_budget_take(&b, 5000, 0));	/* full bucket */
	/* 4000 bytes of debt: four seconds before the next byte. */
	ck_assert(!agent_budget_take(&b, 1, 3 * SEC));
	ck_assert(agent_budget_take(&b, 1, 4 * SEC + SEC / 100));
}
END_TEST

START_TEST(a_zero_rate_means_no_limit)
{
	struct agent_budget b;

	agent_budget_init(&b, 0, 0, 0);
	for (int i = 0; i < 100; i++)
		ck_assert(agent_budget_take(&b, 1u << 30, 0));
	ck_assert_uint_eq(b.deferred, 0);
}
END_TEST

static Suite *budget_suite(void)
{
	Suite *s = suite_create("agent-budget");
	TCase *tc = tcase_create("budget");

	tcase_add_test(tc, a_full_bucket_grants_its_burst_then_refuses);
	tcase_add_test(tc, tokens_come_back_at_the_rate);
	tcase_add_test(tc, the_bucket_never_holds_more_than_the_burst);
	tcase_add_test(tc,
		       a_file_larger_than_the_burst_passes_once_and_leaves_a_debt);
	tcase_add_test(tc, a_zero_rate_means_no_limit);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return px_check_run(budget_suite());
}
