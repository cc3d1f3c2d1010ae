/* SPDX-License-Identifier: GPL-2.0-only OR Apache-2.0 */
/*
 * In-kernel filtering shared by every agent program: processes by pid
 * and by cgroup v2 id, each with a deny-list and an optional allow-list.
 * A deny entry always wins; with either allow-list in use a process is
 * reported when its pid or one of its cgroups is allowed (a pid entry
 * covers that process only, not its children).  The maps
 * are defined in each object and the agent makes the later objects reuse
 * the process object's, so one update applies everywhere.  A cgroup entry
 * covers its whole subtree: the check walks from the process's cgroup up
 * to the root (at most PX_CGROUP_DEPTH levels; an entry above that is not
 * seen).  BPF side only.
 */
#ifndef PX_FILTER_BPF_H
#define PX_FILTER_BPF_H

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1024);
	__type(key, __u32);
	__type(value, __u8);
} deny_pids SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1024);
	__type(key, __u32);
	__type(value, __u8);
} allow_pids SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1024);
	__type(key, __u64);
	__type(value, __u8);
} deny_cgroups SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1024);
	__type(key, __u64);
	__type(value, __u8);
} allow_cgroups SEC(".maps");

/* Set before load: only processes in allow_cgroups (or allow_pids, when
 * that is in use too) are reported. */
const volatile bool px_allowlist = false;
/* Set before load: only processes in allow_pids (or allow_cgroups, when
 * that is in use too) are reported. */
const volatile bool px_pid_allowlist = false;

#define PX_CGROUP_DEPTH 16

/*
 * True when the process <tgid> in cgroup <cg> is not to be reported: a
 * denied pid, a denied cgroup at or above <cg>, or with an allow-list
 * neither an allowed pid nor an allowed cgroup at or above <cg>.  A
 * cgroup's parent is reached through its css ("self", the first member,
 * so the pointers are the same).
 */
static __always_inline bool px_filtered(__u32 tgid, struct cgroup *cg)
{
	bool allowed = !px_allowlist && !px_pid_allowlist;

	if (bpf_map_lookup_elem(&deny_pids, &tgid))
		return true;
	if (px_pid_allowlist && bpf_map_lookup_elem(&allow_pids, &tgid))
		allowed = true;
	for (int i = 0; i < PX_CGROUP_DEPTH && cg; i++) {
		__u64 id = BPF_CORE_READ(cg, kn, id);

		if (bpf_map_lookup_elem(&deny_cgroups, &id))
			return true;
		if (!allowed && bpf_map_lookup_elem(&allow_cgroups, &id))
			allowed = true;
		cg = (struct cgroup *)BPF_CORE_READ(cg, self.parent);
	}
	return !allowed;
}

static __always_inline bool px_task_filtered(struct task_struct *t)
{
	return px_filtered(BPF_CORE_READ(t, tgid),
			   BPF_CORE_READ(t, cgroups, dfl_cgrp));
}

#endif
