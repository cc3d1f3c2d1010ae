/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The parallax-collector binary as a child process of a test: start it with
 * its stderr in a log file, wait for its "collector ready" line, stop it with
 * SIGTERM.  The binary comes from $PX_COLLECTOR_BIN (set by meson).
 */
#ifndef PX_TEST_COLLECTOR_PROC_H
#define PX_TEST_COLLECTOR_PROC_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

const char *cp_collector_bin(void);
/* Reads at most len-1 bytes of <path> into <buf> (empty if unreadable). */
void cp_slurp(const char *path, char *buf, size_t len);
/* Starts the collector on <data_dir>, listening on 127.0.0.1:0; <extra1>
 * and <extra2> are more arguments, or NULL. */
pid_t cp_spawn(const char *data_dir, const char *log, const char *extra1,
	       const char *extra2);
/* Starts the collector with <argv> (argv[0] included, NULL-terminated)
 * and its stderr in <log>. */
pid_t cp_spawn_argv(const char *log, char *const *argv);
/* A loopback TCP port that was free a moment ago. */
int cp_free_port(void);
/* Waits for "collector ready"; fails the test if the process exits. */
void cp_wait_ready(pid_t pid, const char *log);
/* SIGTERM, wait; returns the exit code (fails on death by signal). */
int cp_stop(pid_t pid);
/* The pid in <dir>/pg/postmaster.pid, 0 when there is none. */
long cp_postmaster_pid(const char *dir);
/* True while <pid> runs (a zombie counts as gone). */
bool cp_alive(pid_t pid);

#endif
