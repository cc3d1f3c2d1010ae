// SPDX-License-Identifier: Apache-2.0
/*
 * Micro-workloads for the agent benchmark, in C so that the loop itself
 * costs next to nothing:
 *   loops openclose N     open and close a file N times
 *   loops forkexec N      fork, exec /bin/true and wait, N times
 *   loops rate R SECS     fork+exec /bin/true at R per second for SECS
 * Prints the elapsed wall time in nanoseconds.
 */
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static int run_true(void)
{
	pid_t pid = fork();
	int st;

	if (pid < 0)
		return -1;
	if (pid == 0) {
		execl("/bin/true", "true", (char *)NULL);
		_exit(127);
	}
	return waitpid(pid, &st, 0) == pid ? 0 : -1;
}

static int open_close(long n)
{
	for (long i = 0; i < n; i++) {
		int fd = open("/etc/hostname", O_RDONLY | O_CLOEXEC);

		if (fd < 0)
			return -1;
		close(fd);
	}
	return 0;
}

static int fork_exec(long n)
{
	for (long i = 0; i < n; i++)
		if (run_true() < 0)
			return -1;
	return 0;
}

/* Paced execs: the i-th is due at start + i / rate. */
static int rate(long per_s, long secs)
{
	uint64_t start = now_ns(), step = 1000000000ull / (uint64_t)per_s;

	for (long i = 0; i < per_s * secs; i++) {
		uint64_t due = start + (uint64_t)i * step, t = now_ns();

		if (due > t) {
			struct timespec d = { 0, (long)(due - t) };

			nanosleep(&d, NULL);
		}
		if (run_true() < 0)
			return -1;
	}
	return 0;
}

int main(int argc, char **argv)
{
	uint64_t t0;
	int rc;

	if (argc < 3) {
		fprintf(stderr, "usage: loops openclose N | forkexec N | rate R SECS\n");
		return 2;
	}
	t0 = now_ns();
	if (!strcmp(argv[1], "openclose"))
		rc = open_close(atol(argv[2]));
	else if (!strcmp(argv[1], "forkexec"))
		rc = fork_exec(atol(argv[2]));
	else if (!strcmp(argv[1], "rate") && argc == 4)
		rc = rate(atol(argv[2]), atol(argv[3]));
	else
		rc = 2;
	if (rc) {
		fprintf(stderr, "loops: %s failed\n", argv[1]);
		return 1;
	}
	printf("%llu\n", (unsigned long long)(now_ns() - t0));
	return 0;
}
