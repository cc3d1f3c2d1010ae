// SPDX-License-Identifier: Apache-2.0
/*
 * Parsing container ids out of cgroup paths.  The runtimes differ only in
 * the prefix and suffix around the id, so each path component is stripped
 * of the known decorations and kept when what remains is 64 hex digits.
 */
#include "container.h"

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

static const char *const prefixes[] = {
	"docker-", "cri-containerd-", "crio-", "libpod-", "containerd-",
};

static bool all_hex(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!isxdigit((unsigned char)s[i]))
			return false;
	return true;
}

/* The id in the component <c> of length <n>, or NULL. */
static const char *component_id(const char *c, size_t n)
{
	static const char scope[] = ".scope";
	size_t sl = sizeof(scope) - 1;

	if (n > sl && !memcmp(c + n - sl, scope, sl))
		n -= sl;
	for (size_t i = 0; i < sizeof(prefixes) / sizeof(prefixes[0]); i++) {
		size_t pl = strlen(prefixes[i]);

		if (n > pl && !memcmp(c, prefixes[i], pl)) {
			c += pl;
			n -= pl;
			break;
		}
	}
	if (n == AGENT_CONTAINER_ID_LEN && all_hex(c, n))
		return c;
	return NULL;
}

int agent_container_id(const char *cgroup_path,
		       char out[AGENT_CONTAINER_ID_LEN + 1])
{
	const char *end = cgroup_path + strlen(cgroup_path);

	/* Walk the components from the innermost outwards. */
	while (end > cgroup_path) {
		const char *start = end, *id;

		while (start > cgroup_path && start[-1] != '/')
			start--;
		id = component_id(start, (size_t)(end - start));
		if (id) {
			for (int i = 0; i < AGENT_CONTAINER_ID_LEN; i++)
				out[i] = (char)tolower((unsigned char)id[i]);
			out[AGENT_CONTAINER_ID_LEN] = '\0';
			return 0;
		}
		end = start > cgroup_path ? start - 1 : start;
	}
	out[0] = '\0';
	return -ENOENT;
}

int agent_cgroup_path(uint32_t pid, char *buf, size_t len)
{
	char path[64], line[4096];
	FILE *f;
	int err = -ENOENT;

	snprintf(path, sizeof(path), "/proc/%" PRIu32 "/cgroup", pid);
	f = fopen(path, "re");
	if (!f)
		return -errno;
	while (fgets(line, sizeof(line), f)) {
		if (strncmp(line, "0::", 3))
			continue;
		line[strcspn(line, "\n")] = '\0';
		snprintf(buf, len, "%s", line + 3);
		err = 0;
		break;
	}
	fclose(f);
	return err;
}
