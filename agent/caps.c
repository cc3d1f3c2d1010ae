// SPDX-License-Identifier: Apache-2.0
/*
 * Capability drop (see caps.h).  Order matters: the bounding set is
 * trimmed first (it needs CAP_SETPCAP, which the capset below removes;
 * without it the step is skipped),
 * then ambient capabilities are cleared, then capset narrows permitted,
 * effective and inheritable in one call.
 */
#include "caps.h"

#include <errno.h>
#include <linux/capability.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#ifndef CAP_PERFMON
#define CAP_PERFMON 38
#endif
#ifndef CAP_BPF
#define CAP_BPF 39
#endif

uint64_t agent_caps_keep_mask(bool late_jvm_attach)
{
	uint64_t m = 1ull << CAP_BPF | 1ull << CAP_PERFMON |
		     1ull << CAP_SYS_PTRACE | 1ull << CAP_DAC_READ_SEARCH;

	return late_jvm_attach ? m | 1ull << CAP_SYS_ADMIN : m;
}

static int cap_get(struct __user_cap_data_struct data[2])
{
	struct __user_cap_header_struct hdr = {
		.version = _LINUX_CAPABILITY_VERSION_3,
	};

	return (int)syscall(SYS_capget, &hdr, data);
}

uint64_t agent_caps_effective(void)
{
	struct __user_cap_data_struct data[2] = { 0 };

	if (cap_get(data) < 0)
		return 0;
	return (uint64_t)data[1].effective << 32 | data[0].effective;
}

/* The highest capability number the kernel knows. */
static int last_cap(void)
{
	FILE *f = fopen("/proc/sys/kernel/cap_last_cap", "re");
	int n = 40;

	if (f) {
		if (fscanf(f, "%d", &n) != 1)
			n = 40;
		fclose(f);
	}
	return n < 63 ? n : 63;
}

int agent_caps_drop(uint64_t keep, char *err, size_t errlen)
{
	struct __user_cap_header_struct hdr = {
		.version = _LINUX_CAPABILITY_VERSION_3,
	};
	struct __user_cap_data_struct data[2] = { 0 };
	uint64_t have;
	int top = last_cap();

	if (cap_get(data) < 0)
		goto err_step;
	have = (uint64_t)data[1].permitted << 32 | data[0].permitted;
	keep &= have;

	/* Without CAP_SETPCAP the bounding set is whatever our launcher
	 * (systemd, the container runtime) left, and stays so. */
	for (int c = 0; c <= top && (data[0].effective & 1u << CAP_SETPCAP);
	     c++) {
		if (keep & 1ull << c)
			continue;
		if (prctl(PR_CAPBSET_DROP, c, 0, 0, 0) < 0 && errno != EINVAL) {
			snprintf(err, errlen, "prctl(PR_CAPBSET_DROP, %d): %s", c,
				 strerror(errno));
			return -errno;
		}
	}
	if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) < 0 &&
	    errno != EINVAL) {
		snprintf(err, errlen, "clearing ambient capabilities: %s",
			 strerror(errno));
		return -errno;
	}
	data[0].permitted = data[0].effective = (uint32_t)keep;
	data[1].permitted = data[1].effective = (uint32_t)(keep >> 32);
	data[0].inheritable = data[1].inheritable = 0;
	if (syscall(SYS_capset, &hdr, data) < 0)
		goto err_step;
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0) {
		snprintf(err, errlen, "prctl(PR_SET_NO_NEW_PRIVS): %s",
			 strerror(errno));
		return -errno;
	}
	return 0;

err_step:
	snprintf(err, errlen, "capget/capset: %s", strerror(errno));
	return -errno;
}
