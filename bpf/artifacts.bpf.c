// SPDX-License-Identifier: GPL-2.0-only OR Apache-2.0
/*
 * "What is loaded": a task_file iterator that lists, for every process (or
 * one, when user space attaches it with a pid filter), the open regular
 * files whose name ends in an artifact suffix.  The suffix test runs in the
 * kernel, so a pass over a busy host copies out only the few files that
 * matter.  Nothing here is attached to a hook; user space runs the iterator
 * at start, shortly after each exec and periodically.
 *
 * A task_vma iterator does the same for executable file mappings (the
 * program and its shared libraries), with an LRU of (process, file) pairs
 * already reported so a periodic pass copies out only what is new.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>

#include "events.h"
#include "filter.bpf.h"

#define S_IFMT 00170000
#define S_IFREG 0100000

char LICENSE[] SEC("license") = "Dual BSD/GPL";

/* Scratch for one record: too large for the 512-byte BPF stack. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct px_file_rec);
} scratch SEC(".maps");

/* (process, file) pairs the vma pass already reported; user space deletes
 * a key when it could not use the record, so the next pass sends it again. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, PX_SEEN_ENTRIES);
	__type(key, struct px_seen_key);
	__type(value, __u8);
} seen SEC(".maps");

/* Scratch for one vma record. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct px_vma_rec);
} vma_scratch SEC(".maps");

/* Before 6.7 the inode kept its mtime as a timespec64. */
struct inode___pre67 {
	struct timespec64 i_mtime;
} __attribute__((preserve_access_index));

static __always_inline __s64 inode_mtime_ns(struct inode *ino)
{
	struct inode___pre67 *old = (void *)ino;

	if (bpf_core_field_exists(ino->i_mtime_sec))
		return BPF_CORE_READ(ino, i_mtime_sec) * 1000000000LL +
		       BPF_CORE_READ(ino, i_mtime_nsec);
	return BPF_CORE_READ(old, i_mtime.tv_sec) * 1000000000LL +
	       BPF_CORE_READ(old, i_mtime.tv_nsec);
}

/* The suffixes names are matched against; user space fills them. */
const volatile struct px_suffix px_suffixes[PX_MAX_SUFFIXES];
const volatile __u32 px_n_suffixes = 0;

/* Bytes of a name's tail looked at; a power of two, so that every index
 * into the copy is masked into bounds the verifier can see. */
#define PX_TAIL 32
#define PX_TAIL_MASK (PX_TAIL - 1)
#define PX_VERSION_PARTS 4	/* .so.1.2.3.4 at most */
#define PX_VERSION_DIGITS 6	/* per part */

/* True when suffix <i> ends the first <end> bytes of the tail <t>. */
static __always_inline bool suffix_at(const char *t, __u32 end, __u32 i)
{
	__u32 sl;

	if (i >= PX_MAX_SUFFIXES)
		return false;
	sl = px_suffixes[i].len;
	if (!sl || sl > PX_SUFFIX_LEN || sl > end)
		return false;
	for (__u32 k = 0; k < PX_SUFFIX_LEN; k++) {
		if (k >= sl)
			break;
		if (t[(end - sl + k) & PX_TAIL_MASK] != px_suffixes[i].s[k])
			return false;
	}
	return true;
}

/* The length of the first <n> bytes of <t> without trailing numeric
 * version parts (".3", ".1.2"); <n> when there are none. */
static __always_inline __u32 strip_version(const char *t, __u32 n)
{
	__u32 end = n;

	for (int part = 0; part < PX_VERSION_PARTS; part++) {
		__u32 j = end;

		for (int d = 0; d < PX_VERSION_DIGITS && j > 0; d++) {
			char c = t[(j - 1) & PX_TAIL_MASK];

			if (c < '0' || c > '9')
				break;
			j--;
		}
		if (j == end || j == 0 || t[(j - 1) & PX_TAIL_MASK] != '.')
			break;
		end = j - 1;
	}
	return end;
}

/* True when the dentry name ends in one of the configured suffixes. */
static __always_inline bool artifact_name(const unsigned char *name, __u32 len)
{
	char t[PX_TAIL] = {};
	__u32 n = len < PX_TAIL ? len : PX_TAIL_MASK;
	__u32 bare;

	/* The mask is a no-op (n < PX_TAIL) that bounds the size for the
	 * verifier whatever clang made of the comparison. */
	n &= PX_TAIL_MASK;
	if (!n || bpf_probe_read_kernel(t, n, name + len - n) < 0)
		return false;
	bare = strip_version(t, n);
	for (__u32 i = 0; i < PX_MAX_SUFFIXES; i++) {
		if (i >= px_n_suffixes)
			break;
		if (suffix_at(t, n, i))
			return true;
		if (bare != n && (px_suffixes[i].flags & PX_SUFFIX_VERSIONED) &&
		    suffix_at(t, bare, i))
			return true;
	}
	return false;
}

/*
 * Fills the per-CPU record for <file> held as <fd> by <task>; NULL when the
 * file is not one we report (not a leader, not a regular file, no artifact
 * suffix) or was reported for this process before (the LRU "seen").
 */
static __always_inline struct px_file_rec *
file_record(struct task_struct *task, __u32 fd, struct file *file)
{
	struct px_seen_key key = {};
	const unsigned char *name;
	struct px_file_rec *rec;
	struct inode *ino;
	__u32 zero = 0, len, off;
	__u8 one = 1;

	if (!task || !file || task->pid != task->tgid ||
	    px_task_filtered(task))
		return NULL;
	ino = file->f_inode;
	if (!ino || (BPF_CORE_READ(ino, i_mode) & S_IFMT) != S_IFREG)
		return NULL;
	name = BPF_CORE_READ(file, f_path.dentry, d_name.name);
	len = BPF_CORE_READ(file, f_path.dentry, d_name.len);
	if (!artifact_name(name, len))
		return NULL;

	/* Reported for this process before: nothing to copy out. */
	key.tgid = task->tgid;
	key.kind = 0;
	key.start_time = task->start_time;
	key.dev = BPF_CORE_READ(ino, i_sb, s_dev);
	key.ino = BPF_CORE_READ(ino, i_ino);
	if (bpf_map_lookup_elem(&seen, &key))
		return NULL;
	rec = bpf_map_lookup_elem(&scratch, &zero);
	if (!rec)
		return NULL;
	bpf_map_update_elem(&seen, &key, &one, BPF_ANY);
	rec->tgid = task->tgid;
	rec->fd = fd;
	rec->start_time = task->start_time;
	rec->dev = BPF_CORE_READ(ino, i_sb, s_dev);
	rec->ino = BPF_CORE_READ(ino, i_ino);
	rec->size = BPF_CORE_READ(ino, i_size);
	rec->mtime_ns = inode_mtime_ns(ino);
	rec->flags = 0;
	rec->path[0] = '\0';
	/* Keep the tail of a long name: the suffix is what identifies it. */
	off = len > PX_NAME_LEN - 1 ? len - (PX_NAME_LEN - 1) : 0;
	if (bpf_probe_read_kernel_str(rec->name, sizeof(rec->name),
				      name + off) < 0)
		rec->name[0] = '\0';
	return rec;
}

/*
 * The full path comes from bpf_d_path, which iterator programs may call
 * (5.10+).  Where the verifier refuses it, user space loads the twin below
 * instead and reads the path from /proc/<pid>/fd/<fd>.
 */
SEC("iter/task_file")
int px_iter_files(struct bpf_iter__task_file *ctx)
{
	struct px_file_rec *rec;
	struct file *file = ctx->file;
	long n;

	rec = file_record(ctx->task, ctx->fd, file);
	if (!rec)
		return 0;
	/* f_path is const in recent kernels; bpf_d_path only reads it. */
	n = bpf_d_path((struct path *)&file->f_path, rec->path, sizeof(rec->path));
	if (n > 0)
		rec->flags |= PX_FILE_HAS_PATH;
	bpf_seq_write(ctx->meta->seq, rec, sizeof(*rec));
	return 0;
}

/* The same pass without bpf_d_path; not loaded unless the one above fails. */
SEC("iter/task_file")
int px_iter_files_noname(struct bpf_iter__task_file *ctx)
{
	struct px_file_rec *rec;

	rec = file_record(ctx->task, ctx->fd, ctx->file);
	if (!rec)
		return 0;
	bpf_seq_write(ctx->meta->seq, rec, sizeof(*rec));
	return 0;
}

#define VM_EXEC 0x00000004

/*
 * Fills the per-CPU record for mapping <vma> of <task>; NULL when it is not
 * one we report (not a leader, not executable, not a regular file) or was
 * reported before for this process.
 */
static __always_inline struct px_vma_rec *
vma_record(struct task_struct *task, struct vm_area_struct *vma)
{
	struct px_seen_key key = {};
	const unsigned char *name;
	struct px_vma_rec *rec;
	struct inode *ino;
	struct file *file;
	__u32 zero = 0, len, off;
	__u8 one = 1;

	if (!task || !vma || task->pid != task->tgid ||
	    px_task_filtered(task))
		return NULL;
	if (!(vma->vm_flags & VM_EXEC))
		return NULL;
	file = vma->vm_file;
	if (!file)
		return NULL;
	ino = BPF_CORE_READ(file, f_inode);
	if (!ino || (BPF_CORE_READ(ino, i_mode) & S_IFMT) != S_IFREG)
		return NULL;

	key.tgid = task->tgid;
	key.kind = 1;
	key.start_time = task->start_time;
	key.dev = BPF_CORE_READ(ino, i_sb, s_dev);
	key.ino = BPF_CORE_READ(ino, i_ino);
	if (bpf_map_lookup_elem(&seen, &key))
		return NULL;
	rec = bpf_map_lookup_elem(&vma_scratch, &zero);
	if (!rec)
		return NULL;
	bpf_map_update_elem(&seen, &key, &one, BPF_ANY);

	rec->tgid = key.tgid;
	rec->pad = 0;
	rec->start_time = key.start_time;
	rec->dev = key.dev;
	rec->ino = key.ino;
	rec->size = BPF_CORE_READ(ino, i_size);
	rec->mtime_ns = inode_mtime_ns(ino);
	rec->vm_start = vma->vm_start;
	rec->vm_end = vma->vm_end;
	name = BPF_CORE_READ(file, f_path.dentry, d_name.name);
	len = BPF_CORE_READ(file, f_path.dentry, d_name.len);
	off = len > PX_NAME_LEN - 1 ? len - (PX_NAME_LEN - 1) : 0;
	if (bpf_probe_read_kernel_str(rec->name, sizeof(rec->name),
				      name + off) < 0)
		rec->name[0] = '\0';
	return rec;
}

/*
 * Executable file mappings of every process (5.12+ for iter/task_vma).
 * No bpf_d_path here: the verifier only accepts it on trusted pointers,
 * and vma->vm_file is not one, so user space names the file through
 * /proc/<pid>/map_files.
 */
SEC("iter/task_vma")
int px_iter_vmas(struct bpf_iter__task_vma *ctx)
{
	struct px_vma_rec *rec;

	rec = vma_record(ctx->task, ctx->vma);
	if (!rec)
		return 0;
	bpf_seq_write(ctx->meta->seq, rec, sizeof(*rec));
	return 0;
}
