// SPDX-License-Identifier: Apache-2.0
/* Logging: level filtering before argument evaluation, quoting. */
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "px_check.h"

static int evaluated;

static int costly(void)
{
	return ++evaluated;
}

/* Runs px_info/px_debug with stderr sent to a file; returns the text. */
static char *capture(void (*fn)(void))
{
	static char buf[4096];
	FILE *f = tmpfile();
	int saved = dup(2);
	size_t n;

	fflush(stderr);
	dup2(fileno(f), 2);
	fn();
	fflush(stderr);
	dup2(saved, 2);
	close(saved);
	rewind(f);
	n = fread(buf, 1, sizeof(buf) - 1, f);
	buf[n] = '\0';
	fclose(f);
	return buf;
}

static void log_some(void)
{
	px_info("test", "scan started", "root=%s n=%d", px_q("/srv/a b"), 3);
	px_debug("test", "hidden", "n=%d", costly());
	px_warn("test", "no fields");
}

START_TEST(lines_carry_level_module_message_and_fields)
{
	char *out;

	ck_assert_int_eq(px_log_set_level("info"), 0);
	evaluated = 0;
	out = capture(log_some);
	ck_assert_ptr_nonnull(strstr(out, "level=info mod=test msg=\"scan started\" root=\"/srv/a b\" n=3\n"));
	ck_assert_ptr_nonnull(strstr(out, "level=warn mod=test msg=\"no fields\"\n"));
	ck_assert_ptr_null(strstr(out, "hidden"));
	ck_assert_int_eq(evaluated, 0);	/* debug args never evaluated */
	ck_assert_int_eq(px_log_set_level("debug"), 0);
	out = capture(log_some);
	ck_assert_ptr_nonnull(strstr(out, "msg=\"hidden\" n=1"));
	ck_assert_int_eq(px_log_set_level("loud"), -EINVAL);
}
END_TEST

START_TEST(quoting_escapes_quotes_and_control_characters)
{
	ck_assert_str_eq(px_q("a\"b\\c\nd"), "\"a\\\"b\\\\c\\x0ad\"");
	ck_assert_str_eq(px_q(NULL), "\"\"");
}
END_TEST

int main(void)
{
	Suite *s = suite_create("log");
	TCase *tc = tcase_create("log");

	tcase_add_test(tc, lines_carry_level_module_message_and_fields);
	tcase_add_test(tc, quoting_escapes_quotes_and_control_characters);
	suite_add_tcase(s, tc);
	return px_check_run(s);
}
