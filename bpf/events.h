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
	PX_EV_CLASS = 4,	/* struct px_class_event */
	PX_EV_NET = 5,		/* struct px_net_event */
	PX_EV_POLICY = 6,	/* struct px_policy_event */
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
 * The artifact suffixes the task_file iterator matches dentry names
 * against (agent.artifact_suffixes), set before load.  A suffix with
 * PX_SUFFIX_VERSIONED also matches when numeric version parts follow it,
 * as shared objects are named: ".so" matches "libssl.so.3" and
 * "libfoo.so.1.2.3".
 */
#define PX_MAX_SUFFIXES 8
#define PX_SUFFIX_LEN 8		/* bytes of one suffix, dot included */
#define PX_SUFFIX_VERSIONED 0x1

struct px_suffix {
	__u8 len;		/* 0: unused slot */
	__u8 flags;		/* PX_SUFFIX_* */
	char s[PX_SUFFIX_LEN];	/* not NUL-terminated */
};

/*
 * One record of the task_file iterator: an open regular file of a thread
 * group leader whose name ends in an artifact suffix (by default .jar .war
 * .ear .zip .so and .so.N).  dev is the kernel's encoding
 * (major << 20 | minor).
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

/*
 * One record of the task_vma iterator: an executable mapping of a regular
 * file (the program itself and its shared libraries) in a thread-group
 * leader.  [vm_start, vm_end) names the /proc/<pid>/map_files link of the
 * mapping.  The kernel reports each (process, file) once per pass and
 * remembers it (see PX_SEEN_ENTRIES), so a rescan copies out only what is
 * new.
 */
struct px_vma_rec {
	__u32 tgid;
	__u32 pad;
	__u64 start_time;
	__u64 dev;
	__u64 ino;
	__u64 size;
	__s64 mtime_ns;
	__u64 vm_start;
	__u64 vm_end;
	char name[PX_NAME_LEN];	/* dentry name (tail), always set */
};

/* Key of the kernel's LRU of (process, file) already reported. */
struct px_seen_key {
	__u32 tgid;
	__u32 kind;		/* 0: open file, 1: mapping */
	__u64 start_time;
	__u64 dev;
	__u64 ino;
};

#define PX_SEEN_ENTRIES 65536

#define PX_CLASS_LEN 128	/* JVM internal class name, NUL included */

/*
 * A watched class loaded by a JVM (hotspot USDT class__loaded).  ctx names
 * the JVM process; name is the JVM's internal form
 * ("org/apache/logging/log4j/core/lookup/JndiLookup"), NUL-padded.
 */
struct px_class_event {
	struct px_proc_event hdr;
	__u64 loader;		/* the ClassLoaderData, to tell loaders apart */
	__u32 shared;		/* from the CDS archive */
	__u32 pad;
	char name[PX_CLASS_LEN];
};

/* Kinds of px_net_event.kind; the values of parallax.v1 NetKind. */
enum px_net_kind {
	PX_NET_CONNECT = 1,
	PX_NET_ACCEPT = 2,
	PX_NET_LISTEN = 3,
	PX_NET_CLOSE = 4,
};

/*
 * A TCP connection made or accepted, or a listener opened or closed, from
 * the socket state tracepoint.  Addresses are in network order, 4 bytes
 * used for AF_INET; ports in host order.  ctx names the process that owns
 * the socket (for ACCEPT: the one that listens on the port; ctx.tgid 0
 * when unknown).
 */
struct px_net_event {
	struct px_proc_event hdr;
	__u32 kind;		/* enum px_net_kind */
	__u16 family;		/* AF_INET or AF_INET6 */
	__u16 protocol;		/* IPPROTO_TCP */
	__u8 saddr[16];
	__u8 daddr[16];
	__u16 sport;
	__u16 dport;
	__u32 pad;
};

/*
 * One record of the listener iterator (bpf/net.bpf.c): a TCP listener open
 * before the agent whose owner the kernel now knows.  Port in host order.
 */
struct px_listen_rec {
	__u32 tgid;
	__u16 family;
	__u16 port;
};

/*
 * A watched syscall made by a process in the tree of the policy's exe
 * (the only syscall tracing the agent does, and only with such a policy).
 * Each (process, syscall) is reported once.
 */
struct px_policy_event {
	struct px_proc_event hdr;
	__u32 syscall_nr;
	__u32 pad;
};

#define PX_MAX_SYSCALL 512

#endif
