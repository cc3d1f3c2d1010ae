/* SPDX-License-Identifier: GPL-2.0-only OR Apache-2.0 */
/*
 * In-kernel filtering shared by every agent program: processes by pid
 * (deny) and by cgroup v2 id (deny, and optionally allow only).  The maps
 * are defined in each object and the agent makes the later objects reuse
 * the process object's, so one update applies everywhere.  A cgroup entry
 * matches the cgroup a process is in, not its descendants.  BPF side only.
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
	__type(key, __u64);
	__type(value, __u8);
} deny_cgroups SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1024);
	__type(key, __u64);
	__type(value, __u8);
} allow_cgroups SEC(".maps");

/* Set before load: only processes in allow_cgroups are reported. */
const volatile bool px_allowlist = false;

/* True when the process <tgid> in cgroup <cgid> is not to be reported. */
static __always_inline bool px_filtered(__u32 tgid, __u64 cgid)
{
	if (bpf_map_lookup_elem(&deny_pids, &tgid))
		return true;
	if (bpf_map_lookup_elem(&deny_cgroups, &cgid))
		return true;
	return px_allowlist && !bpf_map_lookup_elem(&allow_cgroups, &cgid);
}

static __always_inline bool px_task_filtered(struct task_struct *t)
{
	return px_filtered(BPF_CORE_READ(t, tgid),
			   BPF_CORE_READ(t, cgroups, dfl_cgrp, kn, id));
}

#endif
