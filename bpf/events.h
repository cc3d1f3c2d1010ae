/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The records the kernel programs in bpf/ hand to the agent: ring buffer
 * events from the process lifecycle tracepoints and the fixed-size records
 * that the iterators write to their seq_file.  Shared by BPF and user space,
 * so it holds only fixed-width types, constants and plain structs.
 */
#ifndef PX_BPF_EVENTS_H
#define PX_BPF_EVENTS_H

#ifndef __VMLINUX_H__
#include <linux/types.h>
#endif

#define PX_COMM_LEN 16
#define PX_EXE_LEN 256		/* exe path as given to execve, NUL included */
#define PX_ARGS_LEN 512		/* argv bytes copied from mm->arg_start */
#define PX_PATH_LEN 256		/* artifact path from bpf_d_path */
#define PX_NAME_LEN 64		/* artifact dentry name (fallback) */
#define PX_RINGBUF_BYTES (1u << 22)

/* Ring buffer event types. */
enum px_event_type {
	PX_EV_EXEC = 1,
	PX_EV_FORK = 2,
	PX_EV_EXIT = 3,
};

/* Flags of px_proc_event.flags. */
#define PX_F_ARGS_TRUNCATED 0x1	/* argv longer than PX_ARGS_LEN */
#define PX_F_EXE_TRUNCATED 0x2	/* exe path longer than PX_EXE_LEN */

/*
 * The context of a thread group, as the kernel sees it at an event.  Times
 * are task->start_time: nanoseconds of CLOCK_MONOTONIC at fork, which is what
 * an exec_id is built from.
 */
struct px_proc_ctx {
	__u32 tgid;
	__u32 ppid;		/* real_parent's tgid */
	__u64 start_time;	/* group leader's task->start_time */
	__u64 parent_start_time;
	__u32 uid;
	__u32 euid;
	__u32 loginuid;		/* 4294967295 when unset */
	__u32 mnt_ns;
	__u32 pid_ns;
	__u32 pad;
	__u64 cgroup_id;
	char comm[PX_COMM_LEN];
};

/*
 * Every ring buffer record starts with this header.  An exec record carries
 * the exe path and argv after it (struct px_exec_event), a fork record names
 * the child in ctx and the forking process in ctx.ppid/parent_start_time, an
 * exit record carries the wait(2) status.
 */
struct px_proc_event {
	__u32 type;		/* enum px_event_type */
	__u32 flags;		/* PX_F_* */
	__u64 ts;		/* bpf_ktime_get_ns() (CLOCK_MONOTONIC) */
	struct px_proc_ctx ctx;
	__s32 exit_code;	/* PX_EV_EXIT only */
	__u32 args_len;		/* PX_EV_EXEC: bytes used in args[] */
};

struct px_exec_event {
	struct px_proc_event hdr;
	char exe[PX_EXE_LEN];
	char args[PX_ARGS_LEN];	/* NUL-separated, args_len bytes */
};

/*
 * One record of the task iterator (iter/task, thread-group leaders only):
 * the processes that were running before the agent.
 */
struct px_task_rec {
	struct px_proc_ctx ctx;
};

/* Flags of px_file_rec.flags. */
#define PX_FILE_HAS_PATH 0x1	/* path[] is bpf_d_path's full path */

/*
 * One record of the task_file iterator: an open regular file of a thread
 * group leader whose name ends in an artifact suffix (.jar .war .ear .zip
 * .so).  dev is the kernel's encoding (major << 20 | minor).
 */
struct px_file_rec {
	__u32 tgid;
	__u32 fd;
	__u64 start_time;
	__u64 dev;
	__u64 ino;
	__u64 size;
	__s64 mtime_ns;
	__u32 flags;		/* PX_FILE_* */
	__u32 pad;
	char name[PX_NAME_LEN];	/* dentry name, always set */
	char path[PX_PATH_LEN];	/* with PX_FILE_HAS_PATH */
};

#endif
