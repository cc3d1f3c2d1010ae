// SPDX-License-Identifier: Apache-2.0
/*
 * The user-space half of JVM class evidence: class names turned into the
 * JVM's internal form for the kernel's watch list, and the zip central
 * directory lookup that ties a loaded class to its jar (run against the
 * real log4j-core jar of the shared fixtures, given as argv[1]).
 */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "events.h"
#include "jarindex.h"
#include "jvm.h"
#include "px_check.h"

#define JNDI "org/apache/logging/log4j/core/lookup/JndiLookup.class"

static const char *fixtures;

static int open_jar(void)
{
	char path[4096];
	int fd;

	snprintf(path, sizeof(path),
		 "%s/log4j-samples/true-hits/log4j-core-2.14.1.jar", fixtures);
	fd = open(path, O_RDONLY);
	ck_assert_msg(fd >= 0, "fixture %s missing", path);
	return fd;
}

/* A temporary file holding <len> bytes of <data>; returns its fd. */
static int temp_with(const void *data, size_t len)
{
	char path[] = "/tmp/px-test-jvm-XXXXXX";
	int fd = mkstemp(path);

	ck_assert_int_ge(fd, 0);
	unlink(path);
	ck_assert_int_eq(write(fd, data, len), (ssize_t)len);
	return fd;
}

START_TEST(a_class_in_the_jar_is_found)
{
	int fd = open_jar();

	ck_assert(agent_jar_has_entry(fd, JNDI));
	ck_assert(agent_jar_has_entry(fd, "META-INF/MANIFEST.MF"));
	close(fd);
}
END_TEST

START_TEST(a_class_not_in_the_jar_is_not_found)
{
	int fd = open_jar();

	ck_assert(!agent_jar_has_entry(fd, "org/example/Missing.class"));
	/* A prefix of a name is not a match. */
	ck_assert(!agent_jar_has_entry(fd,
		"org/apache/logging/log4j/core/lookup/JndiLookup"));
	close(fd);
}
END_TEST

START_TEST(a_file_that_is_not_a_zip_lists_nothing)
{
	static const char text[] = "just some text, no zip in here\n";
	int fd = temp_with(text, sizeof(text) - 1);

	ck_assert(!agent_jar_has_entry(fd, JNDI));
	close(fd);
}
END_TEST

START_TEST(a_truncated_jar_lists_nothing)
{
	int fd = open_jar(), part;
	off_t size = lseek(fd, 0, SEEK_END);
	char *buf = malloc((size_t)size / 2);

	ck_assert_ptr_nonnull(buf);
	ck_assert_int_eq(pread(fd, buf, (size_t)size / 2, 0), size / 2);
	part = temp_with(buf, (size_t)size / 2);
	ck_assert(!agent_jar_has_entry(part, JNDI));
	free(buf);
	close(part);
	close(fd);
}
END_TEST

START_TEST(binary_names_become_internal_names)
{
	char out[PX_CLASS_LEN];

	ck_assert_int_eq(agent_jvm_internal_name("a.b.C$D", out, sizeof(out)),
			 0);
	ck_assert_str_eq(out, "a/b/C$D");
	ck_assert_int_eq(agent_jvm_internal_name("x/y/Z", out, sizeof(out)), 0);
	ck_assert_str_eq(out, "x/y/Z");
}
END_TEST

START_TEST(names_too_long_or_empty_are_refused)
{
	char out[PX_CLASS_LEN], big[PX_CLASS_LEN + 1];

	memset(big, 'a', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	ck_assert_int_eq(agent_jvm_internal_name(big, out, sizeof(out)),
			 -ENAMETOOLONG);
	ck_assert_int_eq(agent_jvm_internal_name("", out, sizeof(out)),
			 -EINVAL);
}
END_TEST

static Suite *jvm_suite(void)
{
	Suite *s = suite_create("agent-jvm");
	TCase *tc = tcase_create("jvm");

	tcase_add_test(tc, a_class_in_the_jar_is_found);
	tcase_add_test(tc, a_class_not_in_the_jar_is_not_found);
	tcase_add_test(tc, a_file_that_is_not_a_zip_lists_nothing);
	tcase_add_test(tc, a_truncated_jar_lists_nothing);
	tcase_add_test(tc, binary_names_become_internal_names);
	tcase_add_test(tc, names_too_long_or_empty_are_refused);
	suite_add_tcase(s, tc);
	return s;
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		fprintf(stderr, "usage: test_jvm FIXTURES_DIR\n");
		return 1;
	}
	fixtures = argv[1];
	return px_check_run(jvm_suite());
}
