// SPDX-License-Identifier: Apache-2.0
/* UTF-8 repair and JSON quoting shared by the agent and the scanner. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "text.h"
#include "px_check.h"

START_TEST(invalid_bytes_become_the_code_point_of_the_same_value)
{
	/* stray 0xff, valid e-acute, stray continuation, a surrogate */
	char *s = px_utf8_fix("a\377b\303\251c\200\xed\xa0\x80");

	ck_assert_str_eq(s, "a\303\277b\303\251c\302\200\303\255\302\240"
			    "\302\200");
	free(s);
	s = px_utf8_fix("plain");
	ck_assert_str_eq(s, "plain");
	free(s);
}
END_TEST

START_TEST(overlong_forms_and_code_points_past_the_range_are_invalid)
{
	ck_assert_uint_eq(px_utf8_seq_len((const unsigned char *)"\xc0\xaf"), 0);
	ck_assert_uint_eq(px_utf8_seq_len((const unsigned char *)"\xe0\x80\xaf"),
			  0);
	ck_assert_uint_eq(px_utf8_seq_len((const unsigned char *)"\xf4\x90\x80\x80"),
			  0);
	ck_assert_uint_eq(px_utf8_seq_len((const unsigned char *)"\xf0\x9f\x98\x80"),
			  4);
	ck_assert_uint_eq(px_utf8_seq_len((const unsigned char *)"\xc3"), 0);
}
END_TEST

START_TEST(json_strings_escape_quotes_controls_and_stray_bytes)
{
	char buf[128] = "";
	FILE *f = fmemopen(buf, sizeof(buf) - 1, "w");

	px_json_str(f, "a\"b\\c\nd\x01\xfe\xc3\xa9");
	fclose(f);
	ck_assert_str_eq(buf, "\"a\\\"b\\\\c\\nd\\u0001\\u00fe\xc3\xa9\"");
}
END_TEST

int main(void)
{
	Suite *s = suite_create("text");
	TCase *tc = tcase_create("text");

	tcase_add_test(tc, invalid_bytes_become_the_code_point_of_the_same_value);
	tcase_add_test(tc,
		       overlong_forms_and_code_points_past_the_range_are_invalid);
	tcase_add_test(tc, json_strings_escape_quotes_controls_and_stray_bytes);
	suite_add_tcase(s, tc);
	return px_check_run(s);
}
