/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Container identity from a process's cgroup v2 path, as container runtimes
 * name their cgroups: docker ("/system.slice/docker-<id>.scope",
 * "/docker/<id>"), containerd ("cri-containerd-<id>.scope"), CRI-O
 * ("crio-<id>.scope"), podman ("libpod-<id>.scope") and kubelet's cgroupfs
 * layout ("/kubepods/<qos>/pod<uid>/<id>").
 */
#ifndef AGENT_CONTAINER_H
#define AGENT_CONTAINER_H

#include <stddef.h>
#include <stdint.h>

#define AGENT_CONTAINER_ID_LEN 64

/*
 * Finds the innermost path component that names a 64-hex container id and
 * writes the id (lowercase, NUL-terminated) to <out>.  Returns 0, or -ENOENT
 * when the path names no container (a process on the host).
 */
int agent_container_id(const char *cgroup_path,
		       char out[AGENT_CONTAINER_ID_LEN + 1]);

/*
 * The cgroup v2 path of <pid> from /proc/<pid>/cgroup (its "0::" line) into
 * <buf>.  Returns 0 or -errno (-ENOENT when the process is gone).
 */
int agent_cgroup_path(uint32_t pid, char *buf, size_t len);

#endif
