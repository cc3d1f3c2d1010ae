// SPDX-License-Identifier: Apache-2.0
/* The bounded on-disk spool: order, the byte bound, reopen, bad input. */
#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "spool.h"
#include "px_check.h"

static char dir[64];

static void make_dir(void)
{
	snprintf(dir, sizeof(dir), "/tmp/px-test-spool-XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(dir));
}

/* Removes the test's own mkdtemp directory and its files. */
static void remove_dir(void)
{
	char path[512];
	struct dirent *d;
	DIR *dp = opendir(dir);

	ck_assert_ptr_nonnull(dp);
	while ((d = readdir(dp))) {
		if (d->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, d->d_name);
		unlink(path);
	}
	closedir(dp);
	ck_assert_int_eq(rmdir(dir), 0);
}

static struct px_spool *open_spool(uint64_t max)
{
	char err[256] = "";
	struct px_spool *sp = px_spool_open(dir, max, err, sizeof(err));

	ck_assert_msg(sp != NULL, "open failed: %s", err);
	return sp;
}

/* Appends a 100-byte record whose bytes are all <tag>. */
static int append_tagged(struct px_spool *sp, int tag)
{
	char buf[100];

	memset(buf, tag, sizeof(buf));
	return px_spool_append(sp, buf, sizeof(buf));
}

/* Takes the oldest record and returns its tag. */
static int take_tag(struct px_spool *sp)
{
	void *data = NULL;
	size_t len = 0;
	int tag;

	ck_assert_int_eq(px_spool_peek(sp, &data, &len), 0);
	ck_assert_uint_eq(len, 100);
	tag = ((unsigned char *)data)[0];
	ck_assert_int_eq(((unsigned char *)data)[99], tag);
	free(data);
	ck_assert_int_eq(px_spool_pop(sp), 0);
	return tag;
}

START_TEST(records_come_back_in_append_order)
{
	struct px_spool *sp;

	make_dir();
	sp = open_spool(1 << 20);
	for (int i = 1; i <= 20; i++)
		ck_assert_int_eq(append_tagged(sp, i), 0);
	for (int i = 1; i <= 20; i++)
		ck_assert_int_eq(take_tag(sp), i);
	ck_assert(px_spool_empty(sp));
	px_spool_close(sp);
	remove_dir();
}
END_TEST

START_TEST(a_full_spool_drops_the_oldest_and_counts_them)
{
	struct px_spool_stats st;
	struct px_spool *sp;
	int dropped = 0;

	make_dir();
	sp = open_spool(350);	/* room for three records */
	for (int i = 1; i <= 10; i++) {
		int rc = append_tagged(sp, i);

		ck_assert_int_ge(rc, 0);
		dropped += rc;
	}
	px_spool_get_stats(sp, &st);
	ck_assert_int_eq(dropped, 7);
	ck_assert_uint_eq(st.dropped, 7);
	ck_assert_uint_eq(st.dropped_bytes, 700);
	ck_assert_uint_eq(st.records, 3);
	ck_assert_uint_le(st.bytes, 350);
	for (int i = 8; i <= 10; i++)
		ck_assert_int_eq(take_tag(sp), i);
	px_spool_close(sp);
	remove_dir();
}
END_TEST

START_TEST(records_survive_a_reopen_in_order)
{
	struct px_spool *sp;

	make_dir();
	sp = open_spool(1 << 20);
	for (int i = 1; i <= 5; i++)
		append_tagged(sp, i);
	ck_assert_int_eq(take_tag(sp), 1);
	px_spool_close(sp);

	sp = open_spool(1 << 20);
	append_tagged(sp, 6);		/* goes after what was left */
	for (int i = 2; i <= 6; i++)
		ck_assert_int_eq(take_tag(sp), i);
	ck_assert(px_spool_empty(sp));
	px_spool_close(sp);
	remove_dir();
}
END_TEST

START_TEST(a_reopen_with_a_smaller_bound_drops_the_oldest)
{
	struct px_spool_stats st;
	struct px_spool *sp;

	make_dir();
	sp = open_spool(1 << 20);
	for (int i = 1; i <= 5; i++)
		append_tagged(sp, i);
	px_spool_close(sp);
	sp = open_spool(200);
	px_spool_get_stats(sp, &st);
	ck_assert_uint_eq(st.dropped, 3);
	ck_assert_int_eq(take_tag(sp), 4);
	ck_assert_int_eq(take_tag(sp), 5);
	px_spool_close(sp);
	remove_dir();
}
END_TEST

START_TEST(half_written_records_are_removed_on_open)
{
	struct px_spool *sp;
	char path[128];
	int fd;

	make_dir();
	snprintf(path, sizeof(path), "%s/0000000000000007.tmp", dir);
	fd = open(path, O_WRONLY | O_CREAT, 0600);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(write(fd, "partial", 7), 7);
	close(fd);
	sp = open_spool(1 << 20);
	ck_assert(px_spool_empty(sp));
	ck_assert_int_ne(access(path, F_OK), 0);
	px_spool_close(sp);
	remove_dir();
}
END_TEST

/* What a crash on a file system that kept the rename but not the data
 * leaves: a whole-named, empty record.  It is dropped and counted. */
START_TEST(an_empty_record_is_dropped_on_open_not_replayed)
{
	struct px_spool_stats st;
	struct px_spool *sp;
	char path[128];
	int fd;

	make_dir();
	sp = open_spool(1 << 20);
	ck_assert_int_eq(append_tagged(sp, 'a'), 0);
	px_spool_close(sp);
	snprintf(path, sizeof(path), "%s/0000000000000009.rec", dir);
	fd = open(path, O_WRONLY | O_CREAT, 0600);
	ck_assert_int_ge(fd, 0);
	close(fd);
	sp = open_spool(1 << 20);
	px_spool_get_stats(sp, &st);
	ck_assert_uint_eq(st.records, 1);
	ck_assert_uint_eq(st.dropped, 1);
	ck_assert_int_ne(access(path, F_OK), 0);
	ck_assert_int_eq(take_tag(sp), 'a');
	ck_assert(px_spool_empty(sp));
	px_spool_close(sp);
	remove_dir();
}
END_TEST

START_TEST(a_record_larger_than_the_bound_is_refused)
{
	struct px_spool_stats st;
	struct px_spool *sp;

	make_dir();
	sp = open_spool(50);
	ck_assert_int_eq(append_tagged(sp, 1), -EMSGSIZE);
	px_spool_get_stats(sp, &st);
	ck_assert_uint_eq(st.records, 0);
	px_spool_close(sp);
	remove_dir();
}
END_TEST

START_TEST(an_empty_spool_has_nothing_to_give)
{
	struct px_spool *sp;
	void *data = NULL;
	size_t len;

	make_dir();
	sp = open_spool(1000);
	ck_assert_int_eq(px_spool_peek(sp, &data, &len), -ENOENT);
	ck_assert_int_eq(px_spool_pop(sp), -ENOENT);
	ck_assert_ptr_null(data);
	px_spool_close(sp);
	remove_dir();
}
END_TEST

START_TEST(a_directory_that_cannot_be_made_is_reported)
{
	char err[256] = "";

	ck_assert_ptr_null(px_spool_open("/proc/px-no-such/spool", 1000, err,
					 sizeof(err)));
	ck_assert_ptr_nonnull(strstr(err, "/proc/px-no-such/spool"));
}
END_TEST

static Suite *spool_suite(void)
{
	Suite *s = suite_create("common-spool");
	TCase *tc = tcase_create("spool");

	tcase_add_test(tc, records_come_back_in_append_order);
	tcase_add_test(tc, a_full_spool_drops_the_oldest_and_counts_them);
	tcase_add_test(tc, records_survive_a_reopen_in_order);
	tcase_add_test(tc, a_reopen_with_a_smaller_bound_drops_the_oldest);
	tcase_add_test(tc, half_written_records_are_removed_on_open);
	tcase_add_test(tc, an_empty_record_is_dropped_on_open_not_replayed);
	tcase_add_test(tc, a_record_larger_than_the_bound_is_refused);
	tcase_add_test(tc, an_empty_spool_has_nothing_to_give);
	tcase_add_test(tc, a_directory_that_cannot_be_made_is_reported);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return px_check_run(spool_suite());
}
