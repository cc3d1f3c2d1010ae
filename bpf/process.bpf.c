// SPDX-License-Identifier: GPL-2.0-only OR Apache-2.0
/*
 * Process lifecycle for the agent: exec, fork and exit of thread groups from
 * the sched tracepoints, plus a task iterator that lists the processes that
 * were already running when the agent started.  No syscall is traced: the
 * sched tracepoints fire once per process event, not per system call.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>

#include "events.h"
#include "filter.bpf.h"
#include "proc_ctx.bpf.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

/*
 * The watch policy: the tree of processes started from one executable
 * (px_watch_exe, as given to execve) and everything they fork, and which of
 * their syscalls to report.  Off unless user space sets px_watch_on; the
 * syscall program below is attached only then.
 */
const volatile bool px_watch_on = false;
const volatile char px_watch_exe[PX_EXE_LEN] = {};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 16384);
	__type(key, __u32);
	__type(value, __u8);
} watched SEC(".maps");

/* Syscall numbers to report (index: number, value 1). */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, PX_MAX_SYSCALL);
	__type(key, __u32);
	__type(value, __u8);
} watch_syscalls SEC(".maps");

/* (tgid << 32 | syscall) already reported. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 16384);
	__type(key, __u64);
	__type(value, __u8);
} watch_seen SEC(".maps");

/* Thread groups whose exit was reported, keyed by (tgid, start time):
 * several threads of one group can leave do_exit() at once, and each that
 * reads signal->live after the last decrement sees 0. */
struct exit_key {
	__u32 tgid;
	__u32 pad;
	__u64 start_time;
};

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 8192);
	__type(key, struct exit_key);
	__type(value, __u8);
} exits_seen SEC(".maps");

/* The argv copy below masks its size with PX_ARGS_LEN - 1. */
_Static_assert((PX_ARGS_LEN & (PX_ARGS_LEN - 1)) == 0,
	       "PX_ARGS_LEN must be a power of two");

static __always_inline bool is_watch_exe(const char *exe)
{
	for (int i = 0; i < PX_EXE_LEN; i++) {
		if (exe[i] != px_watch_exe[i])
			return false;
		if (!exe[i])
			return true;
	}
	return false;
}

/*
 * sched_process_exec fires after the new image is set up: the task is the
 * thread-group leader (de_thread ran), its mm holds the new argv, and bprm
 * names the file as given to execve.  Stable since 3.4; tp_btf gives typed
 * arguments without parsing the tracepoint format.
 */
SEC("tp_btf/sched_process_exec")
int BPF_PROG(px_exec, struct task_struct *p, pid_t old_pid,
	     struct linux_binprm *bprm)
{
	struct px_exec_event *ev;
	unsigned long start, end, len;
	long n;

	if (px_task_filtered(p))
		return 0;
	ev = bpf_ringbuf_reserve(&events, sizeof(*ev), 0);
	if (!ev) {
		count_drop();
		return 0;
	}
	ev->hdr.type = PX_EV_EXEC;
	ev->hdr.flags = 0;
	ev->hdr.ts = bpf_ktime_get_ns();
	ev->hdr.exit_code = 0;
	fill_ctx(&ev->hdr.ctx, p);

	n = bpf_probe_read_kernel_str(ev->exe, sizeof(ev->exe),
				      BPF_CORE_READ(bprm, filename));
	if (n < 0)
		ev->exe[0] = '\0';
	else if (n == sizeof(ev->exe))
		ev->hdr.flags |= PX_F_EXE_TRUNCATED;

	start = BPF_CORE_READ(p, mm, arg_start);
	end = BPF_CORE_READ(p, mm, arg_end);
	len = end > start ? end - start : 0;
	/*
	 * The copy's size must be provably within args[] whatever clang does
	 * with a clamp (it may test one register and pass a copy): a full
	 * buffer is a constant size, anything shorter is masked.
	 */
	if (len >= PX_ARGS_LEN) {
		if (len > PX_ARGS_LEN)
			ev->hdr.flags |= PX_F_ARGS_TRUNCATED;
		len = PX_ARGS_LEN;
		n = bpf_probe_read_user(ev->args, PX_ARGS_LEN, (void *)start);
	} else {
		n = bpf_probe_read_user(ev->args, len & (PX_ARGS_LEN - 1),
					(void *)start);
	}
	if (n < 0)
		len = 0;	/* user space falls back to /proc/<pid>/cmdline */
	ev->hdr.args_len = len;
	if (px_watch_on && is_watch_exe(ev->exe)) {
		__u8 one = 1;

		bpf_map_update_elem(&watched, &ev->hdr.ctx.tgid, &one, BPF_ANY);
	}

	bpf_ringbuf_submit(ev, rb_flags());
	return 0;
}

/*
 * sched_process_fork fires in the parent after the child is fully set up
 * (cgroup attached, start_time set).  Threads are skipped: only a new
 * thread group is a new process.
 */
SEC("tp_btf/sched_process_fork")
int BPF_PROG(px_fork, struct task_struct *parent, struct task_struct *child)
{
	struct px_proc_event *ev;

	if (BPF_CORE_READ(child, pid) != BPF_CORE_READ(child, tgid))
		return 0;
	if (is_kthread(child) || px_task_filtered(child))
		return 0;
	if (px_watch_on) {
		__u32 ptgid = BPF_CORE_READ(parent, tgid);
		__u32 ctgid = BPF_CORE_READ(child, tgid);
		__u8 one = 1;

		if (bpf_map_lookup_elem(&watched, &ptgid))
			bpf_map_update_elem(&watched, &ctgid, &one, BPF_ANY);
	}

	ev = bpf_ringbuf_reserve(&events, sizeof(*ev), 0);
	if (!ev) {
		count_drop();
		return 0;
	}
	ev->type = PX_EV_FORK;
	ev->flags = 0;
	ev->ts = bpf_ktime_get_ns();
	ev->exit_code = 0;
	ev->args_len = 0;
	fill_ctx(&ev->ctx, child);
	bpf_ringbuf_submit(ev, rb_flags());
	return 0;
}

/*
 * sched_process_exit fires in do_exit() for every exiting thread, after
 * signal->live was decremented and before namespaces and files are
 * released.  The process is gone when the last thread leaves (live == 0),
 * which need not be the leader; the event names the group by its leader.
 * Threads leaving together may all see live == 0: exits_seen lets only
 * the first of them report.
 */
SEC("tp_btf/sched_process_exit")
int BPF_PROG(px_exit, struct task_struct *p)
{
	struct exit_key ek = {};
	struct task_struct *leader;
	struct px_proc_event *ev;
	__u8 one = 1;
	int code;

	if (BPF_CORE_READ(p, signal, live.counter) != 0)
		return 0;
	if (is_kthread(p) || px_task_filtered(p))
		return 0;
	leader = BPF_CORE_READ(p, group_leader);
	ek.tgid = BPF_CORE_READ(p, tgid);
	ek.start_time = BPF_CORE_READ(leader, start_time);
	if (bpf_map_update_elem(&exits_seen, &ek, &one, BPF_NOEXIST))
		return 0;	/* another thread of the group reported it */
	if (px_watch_on) {
		__u32 tgid = BPF_CORE_READ(p, tgid);

		bpf_map_delete_elem(&watched, &tgid);
	}

	ev = bpf_ringbuf_reserve(&events, sizeof(*ev), 0);
	if (!ev) {
		count_drop();
		return 0;
	}
	ev->type = PX_EV_EXIT;
	ev->flags = 0;
	ev->ts = bpf_ktime_get_ns();
	ev->args_len = 0;
	fill_ctx(&ev->ctx, leader);
	code = BPF_CORE_READ(p, exit_code);
	if (!code)
		code = BPF_CORE_READ(p, signal, group_exit_code);
	ev->exit_code = code;
	bpf_ringbuf_submit(ev, rb_flags());
	return 0;
}

/*
 * Every syscall entry of every task: the costly hook (an open/close loop
 * runs at about 0.8x with it attached, even when it returns at once), so
 * user space attaches it only when a watch policy is configured.  The
 * first test is the cheapest: is the calling process in the watched tree?
 */
SEC("tp/raw_syscalls/sys_enter")
int px_watch_syscall(struct trace_event_raw_sys_enter *ctx)
{
	__u32 tgid = bpf_get_current_pid_tgid() >> 32, nr;
	struct task_struct *task;
	struct px_policy_event *ev;
	__u64 key;
	__u8 *want, one = 1;

	if (!bpf_map_lookup_elem(&watched, &tgid))
		return 0;
	nr = (__u32)ctx->id;
	want = bpf_map_lookup_elem(&watch_syscalls, &nr);
	if (!want || !*want)
		return 0;
	key = (__u64)tgid << 32 | nr;
	if (bpf_map_lookup_elem(&watch_seen, &key))
		return 0;
	bpf_map_update_elem(&watch_seen, &key, &one, BPF_ANY);

	ev = bpf_ringbuf_reserve(&events, sizeof(*ev), 0);
	if (!ev) {
		count_drop();
		return 0;
	}
	task = (void *)bpf_get_current_task();
	ev->hdr.type = PX_EV_POLICY;
	ev->hdr.flags = 0;
	ev->hdr.ts = bpf_ktime_get_ns();
	ev->hdr.exit_code = 0;
	ev->hdr.args_len = 0;
	fill_ctx(&ev->hdr.ctx, BPF_CORE_READ(task, group_leader));
	ev->syscall_nr = nr;
	ev->pad = 0;
	bpf_ringbuf_submit(ev, rb_flags());
	return 0;
}

/*
 * A pass over all tasks, leaders only, that user space runs at start and
 * after drops to learn the processes it has no exec event for.  The exact
 * task->start_time comes from here: /proc/<pid>/stat only has clock ticks
 * of another clock.  Iterators load wherever BTF does (5.8+).
 */
SEC("iter/task")
int px_iter_tasks(struct bpf_iter__task *ctx)
{
	struct task_struct *t = ctx->task;
	struct px_task_rec rec = {};

	if (!t)
		return 0;
	if (t->pid != t->tgid || (t->flags & PF_KTHREAD) ||
	    px_task_filtered(t))
		return 0;
	fill_ctx(&rec.ctx, t);
	bpf_seq_write(ctx->meta->seq, &rec, sizeof(rec));
	return 0;
}
