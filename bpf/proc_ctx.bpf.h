/* SPDX-License-Identifier: GPL-2.0-only OR Apache-2.0 */
/*
 * What every agent program that reports to user space shares: the ring
 * buffer and its per-CPU drop counter (defined in each object; the agent
 * makes the later objects reuse the process object's maps), and the
 * process context stamped on each record.  BPF side only.
 */
#ifndef PX_PROC_CTX_BPF_H
#define PX_PROC_CTX_BPF_H

#define PF_KTHREAD 0x00200000

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, PX_RINGBUF_BYTES);
} events SEC(".maps");

/* Ring buffer reservations that failed, per CPU; user space sums them. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} drops SEC(".maps");

/*
 * Records wake the agent only once this many bytes wait; below that the
 * agent's 50 ms tick collects them, so a busy host does not wake it for
 * every record.  Set by user space before load (an eighth of the ring).
 */
const volatile __u32 px_wakeup_bytes = 65536;

static __always_inline __u64 rb_flags(void)
{
	return bpf_ringbuf_query(&events, BPF_RB_AVAIL_DATA) >= px_wakeup_bytes ?
		       BPF_RB_FORCE_WAKEUP : BPF_RB_NO_WAKEUP;
}

/* Kernels before 6.7 kept loginuid only with CONFIG_AUDIT; CO-RE checks. */
static __always_inline __u32 task_loginuid(struct task_struct *t)
{
	if (!bpf_core_field_exists(t->loginuid))
		return 0xffffffffu;
	return BPF_CORE_READ(t, loginuid.val);
}

/*
 * The pid namespace the task itself lives in: the one its struct pid was
 * allocated at its deepest level in.  nsproxy->pid_ns_for_children is only
 * where future children go, which differs after unshare(CLONE_NEWPID).
 */
static __always_inline __u32 task_pid_ns(struct task_struct *t)
{
	struct pid *pid = BPF_CORE_READ(t, thread_pid);
	unsigned int level = BPF_CORE_READ(pid, level);
	struct pid_namespace *ns = NULL;

	/* pid namespaces nest at most 32 deep (MAX_PID_NS_LEVEL). */
	level &= 31;
	if (bpf_core_read(&ns, sizeof(ns), &pid->numbers[level].ns) || !ns)
		return 0;
	return BPF_CORE_READ(ns, ns.inum);
}

static __always_inline void count_drop(void)
{
	__u32 zero = 0;
	__u64 *n = bpf_map_lookup_elem(&drops, &zero);

	if (n)
		*n += 1;
}

/* Fills <c> from task <t>, which must be a thread-group leader. */
static __always_inline void fill_ctx(struct px_proc_ctx *c,
				     struct task_struct *t)
{
	struct task_struct *parent = BPF_CORE_READ(t, real_parent);

	c->tgid = BPF_CORE_READ(t, tgid);
	c->start_time = BPF_CORE_READ(t, start_time);
	c->ppid = BPF_CORE_READ(parent, tgid);
	c->parent_start_time = BPF_CORE_READ(parent, group_leader, start_time);
	c->uid = BPF_CORE_READ(t, cred, uid.val);
	c->euid = BPF_CORE_READ(t, cred, euid.val);
	c->loginuid = task_loginuid(t);
	c->mnt_ns = BPF_CORE_READ(t, nsproxy, mnt_ns, ns.inum);
	c->pid_ns = task_pid_ns(t);
	c->cgroup_id = BPF_CORE_READ(t, cgroups, dfl_cgrp, kn, id);
	BPF_CORE_READ_STR_INTO(&c->comm, t, comm);
}

static __always_inline bool is_kthread(struct task_struct *t)
{
	return BPF_CORE_READ(t, flags) & PF_KTHREAD;
}

#endif
