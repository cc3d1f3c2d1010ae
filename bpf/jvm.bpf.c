// SPDX-License-Identifier: GPL-2.0-only OR Apache-2.0
/*
 * JVM class loads: a program for hotspot's USDT probe class__loaded, which
 * every HotSpot JVM fires (no -XX:+ExtendedDTraceProbes needed: that flag
 * gates the method, allocation and monitor probes, not the class ones).
 * The agent attaches it to each libjvm.so it knows of, for all processes
 * mapping that file.  Only classes on the watch list, filled by user space,
 * reach the ring buffer: the test is one hash lookup in the kernel.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>
#include <bpf/usdt.bpf.h>

#include "events.h"
#include "filter.bpf.h"
#include "proc_ctx.bpf.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

/* Internal class names to report (NUL-padded keys); value unused. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1024);
	__type(key, char[PX_CLASS_LEN]);
	__type(value, __u8);
} watch SEC(".maps");

/* Scratch key: too large for comfort on the BPF stack. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, char[PX_CLASS_LEN]);
} name_buf SEC(".maps");

/* Class loads seen by the probe, watched or not, per CPU. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} class_loads SEC(".maps");

/*
 * hotspot:class__loaded(char *name, int len, void *loader_data, bool
 * shared), fired by ClassLoadingService after a class is defined.  The
 * name is the Symbol's bytes, not NUL-terminated.
 */
SEC("usdt")
int BPF_USDT(px_class_loaded, const char *name, int len, void *loader,
	     int shared)
{
	struct task_struct *task = (void *)bpf_get_current_task();
	struct px_class_event *ev;
	__u32 zero = 0;
	__u64 *loads;
	char *key;

	loads = bpf_map_lookup_elem(&class_loads, &zero);
	if (loads)
		*loads += 1;
	if (px_task_filtered(task))
		return 0;
	if (len <= 0 || len >= PX_CLASS_LEN)
		return 0;
	key = bpf_map_lookup_elem(&name_buf, &zero);
	if (!key)
		return 0;
	__builtin_memset(key, 0, PX_CLASS_LEN);
	if (bpf_probe_read_user(key, len & (PX_CLASS_LEN - 1), name) < 0)
		return 0;
	if (!bpf_map_lookup_elem(&watch, key))
		return 0;

	ev = bpf_ringbuf_reserve(&events, sizeof(*ev), 0);
	if (!ev) {
		count_drop();
		return 0;
	}
	ev->hdr.type = PX_EV_CLASS;
	ev->hdr.flags = 0;
	ev->hdr.ts = bpf_ktime_get_ns();
	ev->hdr.exit_code = 0;
	ev->hdr.args_len = 0;
	fill_ctx(&ev->hdr.ctx, BPF_CORE_READ(task, group_leader));
	ev->loader = (__u64)loader;
	ev->shared = shared & 1;
	ev->pad = 0;
	__builtin_memcpy(ev->name, key, PX_CLASS_LEN);
	bpf_ringbuf_submit(ev, rb_flags());
	return 0;
}
