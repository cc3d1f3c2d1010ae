/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Dropping privileges once the kernel programs are loaded.  The running
 * agent keeps only what its periodic work needs:
 *   CAP_BPF              run iterators, update and read its maps
 *   CAP_PERFMON          perf events for probes
 *   CAP_SYS_PTRACE       read /proc/<pid>/{root,fd,maps} of any process
 *   CAP_DAC_READ_SEARCH  read the artifacts it hashes, whoever owns them
 *   CAP_SYS_ADMIN        only with late JVM attach: on the kernels we run,
 *                        creating a uprobe perf event (the USDT class probe)
 *                        is refused with EACCES without it, even with
 *                        CAP_PERFMON; late attach (a libjvm.so first seen
 *                        after start, e.g. inside a container) needs it
 * Everything else (CAP_SYS_RESOURCE, CAP_NET_ADMIN, CAP_SETUID, ...)
 * leaves the permitted, effective, inheritable, ambient and bounding sets,
 * and no_new_privs is set.  Raw capget/capset and prctl: no libcap.
 */
#ifndef AGENT_CAPS_H
#define AGENT_CAPS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The capabilities the agent keeps, as a 64-bit mask (1 << CAP_x);
 * <late_jvm_attach> adds CAP_SYS_ADMIN. */
uint64_t agent_caps_keep_mask(bool late_jvm_attach);

/*
 * Reduces this process (all its threads must be started after, or be
 * unaffected: capabilities are per thread) to the capabilities in <keep>
 * that it holds now.  Returns 0, or -errno with the failed step in <err>.
 */
int agent_caps_drop(uint64_t keep, char *err, size_t errlen);

/* The effective set of the calling thread, or 0 when it cannot be read. */
uint64_t agent_caps_effective(void);

#endif
