// SPDX-License-Identifier: Apache-2.0
/*
 * Runs the parallax-collector binary for tests (see collector_proc.h).
 */
#include "collector_proc.h"

#include <check.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#define WAIT_STEP_US 100000
#define WAIT_STEPS 1200   /* hang guard only: two minutes */

const char *cp_collector_bin(void)
{
	const char *bin = getenv("PX_COLLECTOR_BIN");

	ck_assert_msg(bin != NULL, "PX_COLLECTOR_BIN is not set (run through meson test)");
	return bin;
}

void cp_slurp(const char *path, char *buf, size_t len)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n = fd >= 0 ? read(fd, buf, len - 1) : -1;

	buf[n > 0 ? n : 0] = '\0';
	if (fd >= 0)
		close(fd);
}

/* Starts the collector with its stderr in <log>; extra args may be NULL. */
pid_t cp_spawn(const char *data_dir, const char *log, const char *extra1,
		   const char *extra2)
{
	/* Truncated here, not in the child, so that no read sees the
	 * previous run's lines. */
	int fd = open(log, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	pid_t pid;

	ck_assert_int_ge(fd, 0);
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		if (dup2(fd, STDERR_FILENO) < 0)
			_exit(126);
		execl(cp_collector_bin(), "parallax-collector", "--data-dir",
		      data_dir, "--listen", "127.0.0.1:0", "--log-level", "info",
		      extra1, extra2, (char *)NULL);
		_exit(127);
	}
	close(fd);
	return pid;
}

pid_t cp_spawn_argv(const char *log, char *const *argv)
{
	int fd = open(log, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	pid_t pid;

	ck_assert_int_ge(fd, 0);
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		if (dup2(fd, STDERR_FILENO) < 0)
			_exit(126);
		execv(cp_collector_bin(), argv);
		_exit(127);
	}
	close(fd);
	return pid;
}

int cp_free_port(void)
{
	struct sockaddr_in a = { .sin_family = AF_INET };
	socklen_t len = sizeof(a);
	int fd = socket(AF_INET, SOCK_STREAM, 0), port;

	ck_assert_int_ge(fd, 0);
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	ck_assert_int_eq(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	ck_assert_int_eq(getsockname(fd, (struct sockaddr *)&a, &len), 0);
	port = ntohs(a.sin_port);
	close(fd);
	return port;
}

/* Waits for "collector ready" in the log; fails if the process exits. */
void cp_wait_ready(pid_t pid, const char *log)
{
	static char buf[65536];
	int status;

	for (int i = 0; i < WAIT_STEPS; i++) {
		cp_slurp(log, buf, sizeof(buf));
		if (strstr(buf, "collector ready") != NULL)
			return;
		if (waitpid(pid, &status, WNOHANG) == pid)
			ck_abort_msg("collector exited (status %d) before it was ready:\n%s",
				     status, buf);
		usleep(WAIT_STEP_US);
	}
	kill(pid, SIGKILL);
	ck_abort_msg("collector not ready:\n%s", buf);
}

int cp_stop(pid_t pid)
{
	int status;

	ck_assert_int_eq(kill(pid, SIGTERM), 0);
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	ck_assert_msg(WIFEXITED(status), "collector died of signal %d",
		      WTERMSIG(status));
	return WEXITSTATUS(status);
}

long cp_postmaster_pid(const char *dir)
{
	char path[PATH_MAX], buf[64];

	snprintf(path, sizeof(path), "%s/pg/postmaster.pid", dir);
	cp_slurp(path, buf, sizeof(buf));
	return strtol(buf, NULL, 10);
}

/* True while <pid> runs.  A dead orphan may stay a zombie for a while
 * when PID 1 of a container does not reap; that counts as gone. */
bool cp_alive(pid_t pid)
{
	char path[64], buf[512], *close_paren;

	if (kill(pid, 0) != 0)
		return false;
	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	cp_slurp(path, buf, sizeof(buf));
	close_paren = strrchr(buf, ')');
	return close_paren == NULL || close_paren[1] == '\0' ||
	       close_paren[2] != 'Z';
}

