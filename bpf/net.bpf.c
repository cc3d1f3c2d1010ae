// SPDX-License-Identifier: GPL-2.0-only OR Apache-2.0
/*
 * TCP connects, accepts and listeners from the socket state tracepoint
 * sock:inet_sock_set_state (4.16+), which fires on state changes only:
 * nothing runs per send, receive or system call.
 *
 * A state change does not always happen in the owner's context: the
 * handshake completes in softirq.  So the owner is noted where it is known
 * (CLOSE -> SYN_SENT in connect(), -> LISTEN in listen()) and looked up
 * when the connection is established: a connect by its socket, an accept
 * by the listener's (network namespace, family, port): containers listen
 * on the same ports in their own namespaces.  With SO_REUSEPORT the last process
 * that listened on the port is named.  Listeners opened before the agent
 * are learnt by a task_file iterator (px_iter_listeners below) that user
 * space runs at start and on every resync.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>

#include "events.h"
#include "filter.bpf.h"
#include "proc_ctx.bpf.h"

#define PX_AF_INET 2
#define PX_AF_INET6 10
#define PX_IPPROTO_TCP 6
#define PX_TCP_ESTABLISHED 1
#define PX_TCP_SYN_SENT 2
#define PX_TCP_SYN_RECV 3
#define PX_TCP_CLOSE 7
#define PX_TCP_LISTEN 10
#define S_IFMT 00170000
#define S_IFSOCK 0140000

char LICENSE[] SEC("license") = "Dual BSD/GPL";

/* Sockets in SYN_SENT -> the process that called connect(). */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 16384);
	__type(key, __u64);
	__type(value, struct px_proc_ctx);
} connecting SEC(".maps");

struct listen_key {
	__u16 family;
	__u16 port;
	__u32 netns;		/* inode of the socket's network namespace */
};

/* Listening (netns, family, port) -> the process that called listen(). */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 4096);
	__type(key, struct listen_key);
	__type(value, struct px_proc_ctx);
} listeners SEC(".maps");

/* Scratch context for the current task. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct px_proc_ctx);
} ctx_buf SEC(".maps");

static __always_inline struct px_proc_ctx *current_ctx(void)
{
	struct task_struct *task = (void *)bpf_get_current_task();
	struct px_proc_ctx *c;
	__u32 zero = 0;

	c = bpf_map_lookup_elem(&ctx_buf, &zero);
	if (!c || px_task_filtered(task))
		return NULL;
	fill_ctx(c, BPF_CORE_READ(task, group_leader));
	return c;
}

static __always_inline void emit(struct trace_event_raw_inet_sock_set_state *a,
				 __u32 kind, const struct px_proc_ctx *owner)
{
	struct px_net_event *ev;

	ev = bpf_ringbuf_reserve(&events, sizeof(*ev), 0);
	if (!ev) {
		count_drop();
		return;
	}
	__builtin_memset(ev, 0, sizeof(*ev));
	ev->hdr.type = PX_EV_NET;
	ev->hdr.ts = bpf_ktime_get_ns();
	if (owner)
		ev->hdr.ctx = *owner;
	ev->kind = kind;
	ev->family = a->family;
	ev->protocol = a->protocol;
	/* The verifier refuses offset loads from a tracepoint context; the
	 * arrays are copied with the helper instead. */
	if (a->family == PX_AF_INET) {
		bpf_probe_read_kernel(ev->saddr, 4, a->saddr);
		bpf_probe_read_kernel(ev->daddr, 4, a->daddr);
	} else {
		bpf_probe_read_kernel(ev->saddr, 16, a->saddr_v6);
		bpf_probe_read_kernel(ev->daddr, 16, a->daddr_v6);
	}
	ev->sport = a->sport;
	ev->dport = a->dport;
	bpf_ringbuf_submit(ev, rb_flags());
}

/* The inode of <sk>'s network namespace; 0 without CONFIG_NET_NS. */
static __always_inline __u32 sock_netns(const struct sock *sk)
{
	return BPF_CORE_READ(sk, __sk_common.skc_net.net, ns.inum);
}

SEC("tp/sock/inet_sock_set_state")
int px_sock_state(struct trace_event_raw_inet_sock_set_state *a)
{
	struct listen_key lk = {};
	struct px_proc_ctx *c;
	__u64 sk = (__u64)a->skaddr;
	int from = a->oldstate, to = a->newstate;

	if (a->protocol != PX_IPPROTO_TCP ||
	    (a->family != PX_AF_INET && a->family != PX_AF_INET6))
		return 0;
	lk.family = a->family;
	lk.port = a->sport;
	/* An accepted socket is in its listener's namespace. */
	lk.netns = sock_netns((const struct sock *)a->skaddr);

	if (to == PX_TCP_SYN_SENT) {
		c = current_ctx();
		if (c)
			bpf_map_update_elem(&connecting, &sk, c, BPF_ANY);
	} else if (from == PX_TCP_SYN_SENT) {
		c = bpf_map_lookup_elem(&connecting, &sk);
		if (c && to == PX_TCP_ESTABLISHED)
			emit(a, PX_NET_CONNECT, c);
		bpf_map_delete_elem(&connecting, &sk);
	} else if (to == PX_TCP_ESTABLISHED && from == PX_TCP_SYN_RECV) {
		emit(a, PX_NET_ACCEPT, bpf_map_lookup_elem(&listeners, &lk));
	} else if (to == PX_TCP_LISTEN) {
		c = current_ctx();
		if (!c)
			return 0;
		bpf_map_update_elem(&listeners, &lk, c, BPF_ANY);
		emit(a, PX_NET_LISTEN, c);
	} else if (from == PX_TCP_LISTEN && to == PX_TCP_CLOSE) {
		/* (LISTEN -> SYN_RECV is a new child socket, cloned from the
		 * listener with its state.) */
		emit(a, PX_NET_CLOSE, bpf_map_lookup_elem(&listeners, &lk));
		bpf_map_delete_elem(&listeners, &lk);
	}
	return 0;
}

/*
 * Listeners that were open before the agent: for every socket file of a
 * thread-group leader that is a TCP socket in LISTEN, note the holder as
 * the owner of its (family, port), unless the LISTEN hook already named
 * one.  A socket shared by several processes (forked workers) goes to the
 * first one iterated.  Each listener learnt is written out as a
 * px_listen_rec, for user space to count.
 */
SEC("iter/task_file")
int px_iter_listeners(struct bpf_iter__task_file *ctx)
{
	struct task_struct *task = ctx->task;
	struct file *file = ctx->file;
	struct listen_key lk = {};
	struct px_listen_rec rec = {};
	struct px_proc_ctx *c;
	struct socket *sock;
	struct inode *ino;
	struct sock *sk;
	__u32 zero = 0;

	if (!task || !file || task->pid != task->tgid)
		return 0;
	ino = file->f_inode;
	if (!ino || (BPF_CORE_READ(ino, i_mode) & S_IFMT) != S_IFSOCK)
		return 0;
	/* A socket file's private_data is its struct socket. */
	sock = (struct socket *)BPF_CORE_READ(file, private_data);
	sk = BPF_CORE_READ(sock, sk);
	if (!sk || BPF_CORE_READ(sk, __sk_common.skc_state) != PX_TCP_LISTEN ||
	    BPF_CORE_READ(sk, sk_protocol) != PX_IPPROTO_TCP)
		return 0;
	lk.family = BPF_CORE_READ(sk, __sk_common.skc_family);
	if (lk.family != PX_AF_INET && lk.family != PX_AF_INET6)
		return 0;
	lk.port = BPF_CORE_READ(sk, __sk_common.skc_num);
	lk.netns = sock_netns(sk);
	if (px_task_filtered(task) || bpf_map_lookup_elem(&listeners, &lk))
		return 0;
	c = bpf_map_lookup_elem(&ctx_buf, &zero);
	if (!c)
		return 0;
	fill_ctx(c, task);
	if (bpf_map_update_elem(&listeners, &lk, c, BPF_NOEXIST))
		return 0;
	rec.tgid = c->tgid;
	rec.family = lk.family;
	rec.port = lk.port;
	bpf_seq_write(ctx->meta->seq, &rec, sizeof(rec));
	return 0;
}
