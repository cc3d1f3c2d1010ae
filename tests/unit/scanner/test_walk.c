// SPDX-License-Identifier: Apache-2.0
/*
 * The directory walk: what it enters, what it refuses (fifos, sockets,
 * symlinks leaving the root or looping), how it follows symlinks inside
 * the root, how it names what it finds, and its answer for a root it
 * cannot read.
 */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "helpers.h"
#include "scan.h"
#include "px_check.h"

#define CORE "org.apache.logging.log4j:log4j-core"

/* Copies the 2.14.1 sample to <path>. */
static void put_core(const char *path)
{
	char src[4096];
	size_t len;
	uint8_t *jar;

	snprintf(src, sizeof(src), "%s/true-hits/log4j-core-2.14.1.jar",
		 fixture_samples());
	jar = slurp(src, &len);
	spit(path, jar, len);
	free(jar);
}

START_TEST(files_in_subdirectories_are_found_and_named_from_the_root)
{
	struct scan_ctx ctx;
	static struct keeper k;
	char dir[64], path[4096], root[128];

	temp_dir(dir);
	snprintf(path, sizeof(path), "%s/opt", dir);
	ck_assert_int_eq(mkdir(path, 0755), 0);
	snprintf(path, sizeof(path), "%s/opt/app", dir);
	ck_assert_int_eq(mkdir(path, 0755), 0);
	snprintf(path, sizeof(path), "%s/opt/app/log4j-core.jar", dir);
	put_core(path);
	snprintf(root, sizeof(root), "%s/", dir);   /* trailing slash */
	keeper_ctx(&ctx, &k);
	ck_assert_int_eq(scan_walk_root(&ctx, root), 0);
	ck_assert_uint_eq(k.n, 1);
	ck_assert_str_eq(k.items[0].path, path);
	ck_assert_str_eq(k.items[0].inner, "");
	ck_assert_uint_eq(ctx.stats.files, 1);
	remove_tree(dir);
}
END_TEST

START_TEST(absent_link_targets_fifos_and_sockets_are_skipped_silently)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct scan_ctx ctx;
	static struct keeper k;
	char dir[64], outside[64], path[4096], target[128];
	int sock;

	temp_dir(dir);
	temp_dir(outside);
	snprintf(path, sizeof(path), "%s/real.jar", outside);
	put_core(path);
	snprintf(path, sizeof(path), "%s/link.jar", dir);
	snprintf(target, sizeof(target), "%s/real.jar", outside);
	ck_assert_int_eq(symlink(target, path), 0);
	snprintf(path, sizeof(path), "%s/linkdir", dir);
	ck_assert_int_eq(symlink(outside, path), 0);
	snprintf(path, sizeof(path), "%s/fifo.jar", dir);
	ck_assert_int_eq(mkfifo(path, 0644), 0);
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s/sock.jar", dir);
	sock = socket(AF_UNIX, SOCK_STREAM, 0);
	ck_assert_int_ge(sock, 0);
	ck_assert_int_eq(bind(sock, (struct sockaddr *)&sa, sizeof(sa)), 0);
	keeper_ctx(&ctx, &k);
	ck_assert_int_eq(scan_walk_root(&ctx, dir), 0);
	ck_assert_uint_eq(k.n, 0);
	ck_assert_uint_eq(ctx.stats.files, 0);
	ck_assert_uint_eq(ctx.stats.errors, 0);
	close(sock);
	remove_tree(dir);
	remove_tree(outside);
}
END_TEST

/*
 * Symlinks to a fifo and to a character device (a /dev/null twin made
 * with mknod) are never opened: a writer blocked on the fifo would be
 * released by any reader's open, so it must still be waiting after the
 * scan.  The scan itself must not block (Check's timeout fails a hang).
 */
START_TEST(links_to_fifos_and_devices_are_never_opened)
{
	char dir[64], path[256], cmd[1024];
	struct scan_ctx ctx;
	struct keeper k;
	int fd;

	temp_dir(dir);
	snprintf(path, sizeof(path), "%s/fifo", dir);
	ck_assert_int_eq(mkfifo(path, 0600), 0);
	snprintf(path, sizeof(path), "%s/null", dir);
	ck_assert_int_eq(mknod(path, S_IFCHR | 0600, makedev(1, 3)), 0);
	snprintf(path, sizeof(path), "%s/to-fifo", dir);
	ck_assert_int_eq(symlink("fifo", path), 0);
	snprintf(path, sizeof(path), "%s/to-null.jar", dir);
	ck_assert_int_eq(symlink("null", path), 0);
	put_core(strcat(strcpy(path, dir), "/core.jar"));
	/* the writer's open returns only once some reader opens the fifo */
	snprintf(cmd, sizeof(cmd),
		 "timeout 30 sh -c 'echo x > \"%s/fifo\" && touch \"%s/opened\"' >/dev/null 2>&1 &",
		 dir, dir);
	ck_assert_int_eq(run_status(cmd), 0);
	usleep(200 * 1000);

	keeper_ctx(&ctx, &k);
	ck_assert_int_eq(scan_walk_root(&ctx, dir), 0);
	ck_assert_ptr_nonnull(keeper_find(&k, CORE));
	ck_assert_uint_eq(ctx.stats.errors, 0);
	usleep(300 * 1000);
	snprintf(path, sizeof(path), "%s/opened", dir);
	ck_assert_msg(access(path, F_OK) != 0,
		      "the scan opened the fifo behind a symlink");

	/* release the writer: our own open is the one it waited for */
	snprintf(path, sizeof(path), "%s/fifo", dir);
	fd = open(path, O_RDONLY | O_NONBLOCK);
	ck_assert_int_ge(fd, 0);
	snprintf(path, sizeof(path), "%s/opened", dir);
	for (int i = 0; i < 100 && access(path, F_OK) != 0; i++)
		usleep(50 * 1000);
	close(fd);
	ck_assert_msg(access(path, F_OK) == 0,
		      "the writer never saw a reader: the test proves nothing");
	remove_tree(dir);
}
END_TEST

START_TEST(a_single_file_can_be_the_root)
{
	struct scan_ctx ctx;
	static struct keeper k;
	char dir[64], path[4096];

	temp_dir(dir);
	snprintf(path, sizeof(path), "%s/one.jar", dir);
	put_core(path);
	keeper_ctx(&ctx, &k);
	ck_assert_int_eq(scan_walk_root(&ctx, path), 0);
	ck_assert_uint_eq(k.n, 1);
	ck_assert_str_eq(k.items[0].path, path);
	ck_assert_str_eq(k.items[0].name, CORE);
	remove_tree(dir);
}
END_TEST

START_TEST(a_missing_root_is_an_error_for_the_caller)
{
	struct scan_ctx ctx;
	static struct keeper k;

	keeper_ctx(&ctx, &k);
	ck_assert_int_eq(scan_walk_root(&ctx, "/nonexistent/px-scan-root"),
			 -ENOENT);
	ck_assert_uint_eq(k.n, 0);
}
END_TEST

START_TEST(a_plain_file_without_archive_name_or_magic_is_ignored)
{
	struct scan_ctx ctx;
	static struct keeper k;
	char dir[64], path[4096];

	temp_dir(dir);
	snprintf(path, sizeof(path), "%s/readme.txt", dir);
	spit(path, "hello\n", 6);
	snprintf(path, sizeof(path), "%s/empty", dir);
	spit(path, "", 0);
	keeper_ctx(&ctx, &k);
	ck_assert_int_eq(scan_walk_root(&ctx, dir), 0);
	ck_assert_uint_eq(ctx.stats.files, 2);
	ck_assert_uint_eq(ctx.stats.archives, 0);
	ck_assert_uint_eq(ctx.stats.errors, 0);
	remove_tree(dir);
}
END_TEST

/*
 * Scans <dir> in a child that cannot read what mode 000 protects (root
 * drops to nobody first), and returns its stats through a pipe.
 */
static void scan_unprivileged(const char *dir, struct scan_stats *out)
{
	struct scan_ctx ctx;
	static struct keeper k;
	int fds[2], st;
	pid_t pid;

	ck_assert_int_eq(pipe(fds), 0);
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		if (geteuid() == 0 &&
		    (setgid(65534) != 0 || setuid(65534) != 0))
			_exit(3);
		keeper_ctx(&ctx, &k);
		if (scan_walk_root(&ctx, dir) != 0)
			_exit(4);
		ctx.stats.findings = k.n;
		if (write(fds[1], &ctx.stats, sizeof(ctx.stats)) !=
		    (ssize_t)sizeof(ctx.stats))
			_exit(5);
		_exit(0);
	}
	close(fds[1]);
	ck_assert_int_eq(read(fds[0], out, sizeof(*out)), sizeof(*out));
	close(fds[0]);
	ck_assert_int_eq(waitpid(pid, &st, 0), pid);
	ck_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0);
}

START_TEST(unreadable_files_and_directories_are_counted_and_skipped)
{
	struct scan_stats stats;
	char dir[64], path[4096];

	temp_dir(dir);
	ck_assert_int_eq(chmod(dir, 0755), 0);
	snprintf(path, sizeof(path), "%s/locked.jar", dir);
	put_core(path);
	ck_assert_int_eq(chmod(path, 0), 0);
	snprintf(path, sizeof(path), "%s/locked-dir", dir);
	ck_assert_int_eq(mkdir(path, 0), 0);
	snprintf(path, sizeof(path), "%s/open.jar", dir);
	put_core(path);
	scan_unprivileged(dir, &stats);
	ck_assert_uint_eq(stats.errors, 2);
	ck_assert_uint_eq(stats.files, 1);
	ck_assert_uint_eq(stats.findings, 1);
	remove_tree(dir);
}
END_TEST

/* Makes <dir>/<rel> a symlink to <target>. */
static void put_link(const char *dir, const char *rel, const char *target)
{
	char path[4096];

	snprintf(path, sizeof(path), "%s/%s", dir, rel);
	ck_assert_msg(symlink(target, path) == 0, "symlink %s: %s", path,
		      strerror(errno));
}

static void mkdir_in(const char *dir, const char *rel)
{
	char path[4096];

	snprintf(path, sizeof(path), "%s/%s", dir, rel);
	ck_assert_int_eq(mkdir(path, 0755), 0);
}

struct event_tally {
	size_t escapes, loops, other;
	char last_path[4096];
};

static void tally_event(void *arg, const struct scan_event *ev)
{
	struct event_tally *t = arg;

	if (strcmp(ev->kind, "symlink"))
		t->other++;
	else if (strstr(ev->what, "escapes"))
		t->escapes++;
	else if (strstr(ev->what, "loops"))
		t->loops++;
	else
		t->other++;
	snprintf(t->last_path, sizeof(t->last_path), "%s", ev->path);
}

/* Scans <dir> with <threads> and checks what the links inside it gave. */
static void check_links_inside(const char *dir, int threads)
{
	struct scan_ctx ctx;
	static struct keeper k;
	struct event_tally t = { 0 };
	char real[4096], l1[4096], l2[4096], l3[4096];
	const struct kept *via = NULL;
	size_t i;

	memset(&k, 0, sizeof(k));
	keeper_ctx(&ctx, &k);
	ctx.threads = threads;
	ctx.events = (struct scan_event_sink){ tally_event, &t };
	ck_assert_int_eq(scan_walk_root(&ctx, dir), 0);
	snprintf(real, sizeof(real), "%s/lib/real.jar", dir);
	snprintf(l1, sizeof(l1), "%s/app/log4j.jar", dir);
	snprintf(l2, sizeof(l2), "%s/abs.jar", dir);
	snprintf(l3, sizeof(l3), "%s/chain.jar", dir);
	/* the file itself, and one link to it: three links name it */
	ck_assert_uint_eq(k.n, 2);
	for (i = 0; i < k.n; i++) {
		if (!strcmp(k.items[i].path, real)) {
			ck_assert_ptr_null(strstr(k.items[i].evidence,
						  "symlink"));
			continue;
		}
		via = &k.items[i];
	}
	ck_assert_ptr_nonnull(via);
	ck_assert_msg(!strcmp(via->path, l1) || !strcmp(via->path, l2) ||
		      !strcmp(via->path, l3), "finding at %s", via->path);
	ck_assert_ptr_nonnull(strstr(via->evidence,
				     "via symlink to /lib/real.jar"));
	ck_assert_uint_eq(ctx.stats.files, 2);
	ck_assert_uint_eq(ctx.stats.errors, 0);
	ck_assert_uint_eq(t.escapes + t.loops + t.other, 0);
}

/*
 * Links that stay inside the root are followed: relative, absolute (from
 * the root, not the host's /) and through another link.  The target is
 * scanned once under a link's path, besides its own.
 */
START_TEST(links_inside_the_root_are_followed_once_under_their_own_path)
{
	char dir[64];

	temp_dir(dir);
	mkdir_in(dir, "lib");
	mkdir_in(dir, "app");
	{
		char path[4096];

		snprintf(path, sizeof(path), "%s/lib/real.jar", dir);
		put_core(path);
	}
	put_link(dir, "app/log4j.jar", "../lib/./real.jar");
	put_link(dir, "abs.jar", "/lib/real.jar");
	put_link(dir, "chain.jar", "app/log4j.jar");
	put_link(dir, "libdir", "lib");         /* directories: not walked */
	put_link(dir, "dangling.jar", "lib/missing.jar");
	check_links_inside(dir, 1);
	check_links_inside(dir, 2);
	remove_tree(dir);
}
END_TEST

/*
 * Links leaving the root (by "..", directly or through another link) and
 * links that loop are events; nothing outside the root is read, and an
 * absolute target never means the host's file.
 */
START_TEST(escaping_and_looping_links_are_events_and_never_read)
{
	struct scan_ctx ctx;
	static struct keeper k;
	struct event_tally t = { 0 };
	char dir[64], outside[64], path[4096], target[4200];

	temp_dir(dir);
	temp_dir(outside);
	snprintf(path, sizeof(path), "%s/real.jar", outside);
	put_core(path);
	mkdir_in(dir, "a");
	put_link(dir, "a/passwd.jar", "../../etc/passwd");
	/* names the outside jar relative to the root's parent */
	snprintf(target, sizeof(target), "../%s/real.jar",
		 strrchr(outside, '/') + 1);
	put_link(dir, "sibling.jar", target);
	put_link(dir, "up", "..");
	snprintf(target, sizeof(target), "up/%s/real.jar",
		 strrchr(outside, '/') + 1);
	put_link(dir, "through.jar", target);
	/* absolute: the root's own /etc/shadow, which does not exist */
	put_link(dir, "shadow.jar", "/etc/shadow");
	put_link(dir, "loop1", "loop2");
	put_link(dir, "loop2", "loop1");
	put_link(dir, "self.jar", "./self.jar");
	keeper_ctx(&ctx, &k);
	ctx.events = (struct scan_event_sink){ tally_event, &t };
	ck_assert_int_eq(scan_walk_root(&ctx, dir), 0);
	ck_assert_uint_eq(k.n, 0);
	ck_assert_uint_eq(ctx.stats.files, 0);
	/* a/passwd.jar, sibling.jar, up, through.jar */
	ck_assert_uint_eq(t.escapes, 4);
	ck_assert_uint_eq(t.loops, 3);
	ck_assert_uint_eq(t.other, 0);
	ck_assert_uint_eq(ctx.stats.events, 7);
	ck_assert_uint_eq(ctx.stats.errors, 7);
	remove_tree(dir);
	remove_tree(outside);
}
END_TEST

static Suite *walk_suite(void)
{
	Suite *s = suite_create("scanner-walk");
	TCase *tc = tcase_create("walk");

	tcase_add_test(tc,
		       files_in_subdirectories_are_found_and_named_from_the_root);
	tcase_add_test(tc, absent_link_targets_fifos_and_sockets_are_skipped_silently);
	tcase_add_test(tc,
		       links_inside_the_root_are_followed_once_under_their_own_path);
	tcase_add_test(tc, escaping_and_looping_links_are_events_and_never_read);
	tcase_add_test(tc, links_to_fifos_and_devices_are_never_opened);
	tcase_add_test(tc, a_single_file_can_be_the_root);
	tcase_add_test(tc, a_missing_root_is_an_error_for_the_caller);
	tcase_add_test(tc, a_plain_file_without_archive_name_or_magic_is_ignored);
	tcase_add_test(tc,
		       unreadable_files_and_directories_are_counted_and_skipped);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return px_check_run(walk_suite());
}
