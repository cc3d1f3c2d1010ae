// SPDX-License-Identifier: Apache-2.0
/* Configuration: defaults, YAML flattening, flag overrides, clear errors. */
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "px_check.h"

static const struct px_config_key keys[] = {
	{ "collector.listen", "127.0.0.1:50551", "gRPC address" },
	{ "collector.data_dir", "/var/lib/parallax", "data directory" },
	{ "agent.watch", NULL, "suffixes" },
	{ "log_level", "info", "log level" },
	{ "retries", "3", "retries" },
	{ "verbose", "no", "more output" },
	{ NULL, NULL, NULL },
};

static char *write_tmp(const char *text)
{
	static char path[64];
	int fd;

	snprintf(path, sizeof(path), "/tmp/px-cfg-XXXXXX");
	fd = mkstemp(path);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
	return path;
}

START_TEST(defaults_apply_until_overridden)
{
	struct px_config *c = px_config_new(keys);
	char err[256];

	ck_assert_str_eq(px_config_get(c, "collector.listen"), "127.0.0.1:50551");
	ck_assert_ptr_null(px_config_get(c, "agent.watch"));
	ck_assert_int_eq(px_config_set(c, "collector.listen", "0.0.0.0:1", err,
				       sizeof(err)), 0);
	ck_assert_str_eq(px_config_get(c, "collector.listen"), "0.0.0.0:1");
	px_config_free(c);
}
END_TEST

START_TEST(nested_yaml_becomes_dotted_keys_and_lists_join)
{
	struct px_config *c = px_config_new(keys);
	char err[256];
	char *p = write_tmp("collector:\n  listen: \"10.0.0.1:9\"\n"
			    "  data_dir: /srv/px\nagent:\n  watch: [.jar, .so]\n"
			    "retries: 7\nverbose: yes\n");
	int64_t n = 0;
	bool v = false;

	ck_assert_int_eq(px_config_load_file(c, p, err, sizeof(err)), 0);
	ck_assert_str_eq(px_config_get(c, "collector.listen"), "10.0.0.1:9");
	ck_assert_str_eq(px_config_get(c, "collector.data_dir"), "/srv/px");
	ck_assert_str_eq(px_config_get(c, "agent.watch"), ".jar,.so");
	ck_assert_int_eq(px_config_get_i64(c, "retries", &n, err, sizeof(err)),
			 0);
	ck_assert_int_eq(n, 7);
	ck_assert_int_eq(px_config_get_bool(c, "verbose", &v, err, sizeof(err)),
			 0);
	ck_assert(v);
	unlink(p);
	px_config_free(c);
}
END_TEST

START_TEST(an_unknown_key_is_an_error_naming_file_line_and_key)
{
	struct px_config *c = px_config_new(keys);
	char err[256];
	char *p = write_tmp("collector:\n  listen: x\n  lisen: y\n");

	ck_assert_int_eq(px_config_load_file(c, p, err, sizeof(err)), -ENOENT);
	ck_assert_ptr_nonnull(strstr(err, p));
	ck_assert_ptr_nonnull(strstr(err, ":3:"));
	ck_assert_ptr_nonnull(strstr(err, "collector.lisen"));
	unlink(p);
	px_config_free(c);
}
END_TEST

START_TEST(broken_yaml_and_bad_numbers_are_reported)
{
	struct px_config *c = px_config_new(keys);
	char err[256];
	char *p = write_tmp("collector: [unclosed\n");
	int64_t n = 42;

	ck_assert_int_eq(px_config_load_file(c, p, err, sizeof(err)), -EINVAL);
	ck_assert_ptr_nonnull(strstr(err, p));
	unlink(p);
	ck_assert_int_eq(px_config_set(c, "retries", "3x", err, sizeof(err)), 0);
	ck_assert_int_eq(px_config_get_i64(c, "retries", &n, err, sizeof(err)),
			 -EINVAL);
	ck_assert_int_eq(n, 42);
	ck_assert_ptr_nonnull(strstr(err, "retries"));
	ck_assert_int_eq(px_config_load_file(c, "/nonexistent/px.yaml", err,
					     sizeof(err)), -ENOENT);
	ck_assert_ptr_nonnull(strstr(err, "/nonexistent/px.yaml"));
	px_config_free(c);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("config");
	TCase *tc = tcase_create("config");

	tcase_add_test(tc, defaults_apply_until_overridden);
	tcase_add_test(tc, nested_yaml_becomes_dotted_keys_and_lists_join);
	tcase_add_test(tc, an_unknown_key_is_an_error_naming_file_line_and_key);
	tcase_add_test(tc, broken_yaml_and_bad_numbers_are_reported);
	suite_add_tcase(s, tc);
	return px_check_run(s);
}
