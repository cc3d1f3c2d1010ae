// SPDX-License-Identifier: Apache-2.0
/* The artifact digest cache: one read per file version, identity checks,
 * reads confined to a process's root, and eviction. */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "hashcache.h"
#include "px_check.h"

static char dir[] = "/tmp/px-hc-XXXXXX";

static void setup(void)
{
	strcpy(dir, "/tmp/px-hc-XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(dir));
}

static void teardown(void)
{
	char cmd[64];

	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	ck_assert_int_eq(system(cmd), 0);
}

static void write_file(const char *path, const char *content)
{
	FILE *f = fopen(path, "w");

	ck_assert_ptr_nonnull(f);
	ck_assert_int_eq(fputs(content, f) >= 0, 1);
	fclose(f);
}

static void key_of(const char *path, struct agent_hash_key *k)
{
	struct stat st;

	ck_assert_int_eq(stat(path, &st), 0);
	k->dev = st.st_dev;
	k->ino = st.st_ino;
	k->size = (uint64_t)st.st_size;
	k->mtime_ns = (int64_t)st.st_mtim.tv_sec * 1000000000LL +
		      st.st_mtim.tv_nsec;
}

/* What sha256sum(1) says about <path>. */
static void sha256sum(const char *path, char want[65])
{
	char cmd[PATH_MAX + 16];
	FILE *p;

	snprintf(cmd, sizeof(cmd), "sha256sum %s", path);
	p = popen(cmd, "r");
	ck_assert_ptr_nonnull(p);
	ck_assert_int_eq(fscanf(p, "%64s", want), 1);
	pclose(p);
}

START_TEST(the_same_file_version_is_read_once)
{
	struct agent_hashcache *hc = agent_hashcache_new(16, 0);
	struct agent_hashcache_stats st;
	struct agent_hash_key k;
	char path[PATH_MAX], hex[65], want[65];

	snprintf(path, sizeof(path), "%s/a.jar", dir);
	write_file(path, "PK\3\4 not really a jar");
	key_of(path, &k);
	sha256sum(path, want);
	for (int i = 0; i < 50; i++) {
		memset(hex, 0, sizeof(hex));
		ck_assert_int_eq(agent_hashcache_get(hc, &k, "/", path, NULL,
						     hex), 0);
		ck_assert_str_eq(hex, want);
	}
	agent_hashcache_get_stats(hc, &st);
	ck_assert_uint_eq(st.computed, 1);
	ck_assert_uint_eq(st.hits, 49);
	ck_assert_uint_eq(st.entries, 1);
	agent_hashcache_free(hc);
}
END_TEST

START_TEST(a_changed_mtime_is_read_again)
{
	struct agent_hashcache *hc = agent_hashcache_new(16, 0);
	struct timespec ts[2] = { { 1000, 0 }, { 2000, 0 } };
	struct agent_hashcache_stats st;
	struct agent_hash_key k1, k2;
	char path[PATH_MAX], hex1[65], hex2[65], want[65];

	snprintf(path, sizeof(path), "%s/b.jar", dir);
	write_file(path, "version one");
	ck_assert_int_eq(utimensat(AT_FDCWD, path, ts, 0), 0);
	key_of(path, &k1);
	ck_assert_int_eq(agent_hashcache_get(hc, &k1, "/", path, NULL, hex1),
			 0);

	/* Same size, same inode, new content and mtime. */
	write_file(path, "version two");
	ts[1].tv_sec = 3000;
	ck_assert_int_eq(utimensat(AT_FDCWD, path, ts, 0), 0);
	key_of(path, &k2);
	ck_assert_uint_eq(k1.ino, k2.ino);
	ck_assert_uint_eq(k1.size, k2.size);
	ck_assert_int_eq(agent_hashcache_get(hc, &k2, "/", path, NULL, hex2),
			 0);
	sha256sum(path, want);
	ck_assert_str_eq(hex2, want);
	ck_assert_str_ne(hex1, hex2);
	agent_hashcache_get_stats(hc, &st);
	ck_assert_uint_eq(st.computed, 2);
	ck_assert_uint_eq(st.hits, 0);
	agent_hashcache_free(hc);
}
END_TEST

START_TEST(a_replaced_path_falls_back_to_the_open_descriptor)
{
	struct agent_hashcache *hc = agent_hashcache_new(16, 0);
	char path[PATH_MAX], fdpath[64], hex[65], want[65];
	struct agent_hash_key k;
	int fd;

	snprintf(path, sizeof(path), "%s/c.jar", dir);
	write_file(path, "the original");
	sha256sum(path, want);
	key_of(path, &k);
	fd = open(path, O_RDONLY);
	ck_assert_int_ge(fd, 0);
	/* The path now names another file; the descriptor still holds the
	 * original, as a process holding the jar open would. */
	ck_assert_int_eq(unlink(path), 0);
	write_file(path, "a replacement");
	snprintf(fdpath, sizeof(fdpath), "/proc/self/fd/%d", fd);

	ck_assert_int_eq(agent_hashcache_get(hc, &k, "/", path, NULL, hex),
			 -ESTALE);
	ck_assert_int_eq(agent_hashcache_get(hc, &k, "/", path, fdpath, hex),
			 0);
	ck_assert_str_eq(hex, want);
	close(fd);
	agent_hashcache_free(hc);
}
END_TEST

START_TEST(an_unreadable_file_is_an_error_and_is_tried_again)
{
	struct agent_hashcache *hc = agent_hashcache_new(16, 0);
	struct agent_hash_key k = { 1, 2, 3, 4 };
	struct agent_hashcache_stats st;
	char path[PATH_MAX], hex[65];

	snprintf(path, sizeof(path), "%s/missing.jar", dir);
	ck_assert_int_eq(agent_hashcache_get(hc, &k, "/", path, NULL, hex),
			 -ENOENT);
	ck_assert_int_eq(agent_hashcache_get(hc, &k, "/", path,
					     "/proc/self/fd/9999", hex),
			 -ENOENT);
	agent_hashcache_get_stats(hc, &st);
	ck_assert_uint_eq(st.errors, 2);
	ck_assert_uint_eq(st.entries, 0);
	agent_hashcache_free(hc);
}
END_TEST

START_TEST(files_over_the_byte_limit_are_not_read)
{
	struct agent_hashcache *hc = agent_hashcache_new(16, 8);
	char path[PATH_MAX], hex[65];
	struct agent_hash_key k;

	snprintf(path, sizeof(path), "%s/big.jar", dir);
	write_file(path, "more than eight bytes");
	key_of(path, &k);
	ck_assert_int_eq(agent_hashcache_get(hc, &k, "/", path, NULL, hex),
			 -EFBIG);
	agent_hashcache_free(hc);
}
END_TEST

START_TEST(absolute_symlinks_resolve_inside_the_given_root)
{
	struct agent_hashcache *hc = agent_hashcache_new(16, 0);
	char path[PATH_MAX], link[PATH_MAX], hex[65], want[65];
	struct agent_hash_key k;

	/* <dir>/app/lib.jar and <dir>/current -> /app: inside the root
	 * <dir>, "/current/lib.jar" is <dir>/app/lib.jar even though /app
	 * does not exist on the host. */
	snprintf(path, sizeof(path), "%s/app", dir);
	ck_assert_int_eq(mkdir(path, 0755), 0);
	snprintf(path, sizeof(path), "%s/app/lib.jar", dir);
	write_file(path, "inside the container");
	key_of(path, &k);
	sha256sum(path, want);
	snprintf(link, sizeof(link), "%s/current", dir);
	ck_assert_int_eq(symlink("/app", link), 0);

	ck_assert_int_eq(agent_hashcache_get(hc, &k, dir, "/current/lib.jar",
					     NULL, hex), 0);
	ck_assert_str_eq(hex, want);
	agent_hashcache_free(hc);
}
END_TEST

START_TEST(the_oldest_entries_are_evicted_past_the_limit)
{
	struct agent_hashcache *hc = agent_hashcache_new(2, 0);
	struct agent_hashcache_stats st;
	struct agent_hash_key k[3];
	char path[PATH_MAX], hex[65];

	for (int i = 0; i < 3; i++) {
		snprintf(path, sizeof(path), "%s/%d.jar", dir, i);
		write_file(path, i == 0 ? "zero" : i == 1 ? "one" : "two");
		key_of(path, &k[i]);
		ck_assert_int_eq(agent_hashcache_get(hc, &k[i], "/", path,
						     NULL, hex), 0);
	}
	agent_hashcache_get_stats(hc, &st);
	ck_assert_uint_eq(st.entries, 2);
	ck_assert_uint_eq(st.evicted, 1);

	/* 1 and 2 are cached, 0 must be read again. */
	snprintf(path, sizeof(path), "%s/2.jar", dir);
	ck_assert_int_eq(agent_hashcache_get(hc, &k[2], "/", path, NULL, hex),
			 0);
	snprintf(path, sizeof(path), "%s/0.jar", dir);
	ck_assert_int_eq(agent_hashcache_get(hc, &k[0], "/", path, NULL, hex),
			 0);
	agent_hashcache_get_stats(hc, &st);
	ck_assert_uint_eq(st.hits, 1);
	ck_assert_uint_eq(st.computed, 4);
	agent_hashcache_free(hc);
}
END_TEST

START_TEST(shrinking_keeps_the_newest_and_says_what_must_be_read)
{
	struct agent_hashcache *hc = agent_hashcache_new(16, 0);
	struct agent_hashcache_stats st;
	struct agent_hash_key k[4];
	char path[PATH_MAX], hex[65];

	for (int i = 0; i < 4; i++) {
		snprintf(path, sizeof(path), "%s/s%d.jar", dir, i);
		write_file(path, i % 2 ? "odd" : "even one");
		key_of(path, &k[i]);
		ck_assert(agent_hashcache_needs_read(hc, &k[i]));
		ck_assert_int_eq(agent_hashcache_get(hc, &k[i], "/", path,
						     NULL, hex), 0);
		ck_assert(!agent_hashcache_needs_read(hc, &k[i]));
	}
	ck_assert_uint_eq(agent_hashcache_shrink(hc, 1), 3);
	agent_hashcache_get_stats(hc, &st);
	ck_assert_uint_eq(st.entries, 1);
	ck_assert(agent_hashcache_needs_read(hc, &k[0]));
	ck_assert(!agent_hashcache_needs_read(hc, &k[3]));
	ck_assert_uint_eq(agent_hashcache_shrink(hc, 5), 0);
	agent_hashcache_free(hc);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("agent-hashcache");
	TCase *tc = tcase_create("hashcache");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, the_same_file_version_is_read_once);
	tcase_add_test(tc, a_changed_mtime_is_read_again);
	tcase_add_test(tc, a_replaced_path_falls_back_to_the_open_descriptor);
	tcase_add_test(tc, an_unreadable_file_is_an_error_and_is_tried_again);
	tcase_add_test(tc, files_over_the_byte_limit_are_not_read);
	tcase_add_test(tc, absolute_symlinks_resolve_inside_the_given_root);
	tcase_add_test(tc, the_oldest_entries_are_evicted_past_the_limit);
	tcase_add_test(tc,
		shrinking_keeps_the_newest_and_says_what_must_be_read);
	suite_add_tcase(s, tc);
	return px_check_run(s);
}
