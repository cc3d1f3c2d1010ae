// SPDX-License-Identifier: Apache-2.0
/*
 * libbpf lifecycle for the agent: open the skeletons, load (the artifact
 * iterator with bpf_d_path first, without it when the verifier refuses),
 * attach the lifecycle tracepoints, set up the ring buffer, and run the
 * iterators on request.  libbpf's own output enters our log at debug level.
 */
#include "probe.h"

#include <errno.h>
#include <inttypes.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "artifacts.skel.h"
#include "jvm.skel.h"
#include "log.h"
#include "net.skel.h"
#include "process.skel.h"

#define MOD "probe"
#define BTF_PATH "/sys/kernel/btf/vmlinux"
#define BPF_FS_MAGIC_ 0xcafe4a11
#define TRACEFS_MAGIC_ 0x74726163

struct agent_probe {
	struct px_process *proc;
	struct px_artifacts *arts;
	struct bpf_program *files_prog;	/* the loaded file iterator */
	struct bpf_program *vmas_prog;	/* the loaded mapping iterator */
	bool has_dpath;
	struct px_jvm *jvm;		/* NULL when it did not load */
	struct px_net *net;		/* NULL when off or not loaded */
	struct bpf_link **jvm_links;	/* one per libjvm.so attached */
	size_t n_jvm_links;
	struct ring_buffer *rb;
	uint32_t wakeup_bytes;		/* see proc_ctx.bpf.h */
	bool watching;			/* sys_enter attached */
	bool allowlist;			/* see filter.bpf.h */
	bool pid_allowlist;
	struct px_suffix suffixes[PX_MAX_SUFFIXES];	/* for the iterator */
	uint32_t n_suffixes;
	agent_probe_event_fn fn;
	void *arg;
};

static int libbpf_print(enum libbpf_print_level level, const char *fmt,
			va_list ap)
{
	char line[1024];
	size_t n;

	(void)level;	/* all of libbpf's levels are our debug */
	if (!px_log_enabled(PX_LOG_DEBUG))
		return 0;
	vsnprintf(line, sizeof(line), fmt, ap);
	n = strlen(line);
	while (n && line[n - 1] == '\n')
		line[--n] = '\0';
	px_debug("libbpf", "libbpf", "text=%s",
		 px_q(strncmp(line, "libbpf: ", 8) ? line : line + 8));
	return 0;
}

/* True when the effective capability set holds <cap>. */
static bool has_cap(int cap)
{
	struct __user_cap_header_struct hdr = {
		.version = _LINUX_CAPABILITY_VERSION_3,
	};
	struct __user_cap_data_struct data[2] = {};

	if (syscall(SYS_capget, &hdr, data) < 0)
		return false;
	return data[cap / 32].effective & (1u << (cap % 32));
}

/* Mounts <fstype> on <dir> unless a file system of <magic> is there. */
static void ensure_mount(const char *dir, const char *fstype, long magic)
{
	struct statfs sf;

	if (statfs(dir, &sf) == 0 && (long)sf.f_type == magic)
		return;
	if (mount(fstype, dir, fstype, 0, NULL) < 0)
		px_warn(MOD, "mount failed", "fs=%s dir=%s err=%s", fstype,
			dir, px_q(strerror(errno)));
	else
		px_info(MOD, "mounted", "fs=%s dir=%s", fstype, dir);
}

int agent_probe_preflight(char *err, size_t errlen)
{
	bool admin = has_cap(CAP_SYS_ADMIN);

	if (!admin && !(has_cap(CAP_BPF) && has_cap(CAP_PERFMON))) {
		snprintf(err, errlen,
			 "missing privileges: parallax-agent needs root or CAP_BPF+CAP_PERFMON+CAP_SYS_RESOURCE (e.g. sudo parallax-agent, or setcap cap_bpf,cap_perfmon,cap_sys_resource+ep on the binary)");
		return -EPERM;
	}
	if (access(BTF_PATH, R_OK) < 0) {
		snprintf(err, errlen,
			 "kernel BTF not found at %s: the kernel must be built with CONFIG_DEBUG_INFO_BTF=y (most distribution kernels since 5.8 are)",
			 BTF_PATH);
		return -ENOENT;
	}
	if (admin) {
		ensure_mount("/sys/fs/bpf", "bpf", BPF_FS_MAGIC_);
		ensure_mount("/sys/kernel/tracing", "tracefs", TRACEFS_MAGIC_);
	}
	return 0;
}

/* What to tell the user when the kernel refuses to load a program. */
static const char *load_hint(int rc)
{
	switch (rc) {
	case -EPERM:
	case -EACCES:
		return "the kernel refused BPF: run as root (or with CAP_BPF+CAP_PERFMON+CAP_SYS_RESOURCE) outside a lockdown=confidentiality kernel";
	case -ENOSYS:
		return "this kernel has no BPF system call (CONFIG_BPF_SYSCALL=y is needed)";
	case -EINVAL:
	case -ENOTSUP:
	case -ESRCH:
		return "this kernel lacks BTF-typed tracepoints or ring buffers (Linux 5.8+ with CONFIG_DEBUG_INFO_BTF=y is needed); run with --log-level debug for the verifier log";
	default:
		return "run with --log-level debug for libbpf's and the verifier's log";
	}
}

static int on_ringbuf(void *ctx, void *data, size_t len)
{
	struct agent_probe *p = ctx;

	if (len < sizeof(struct px_proc_event))
		return 0;
	p->fn(p->arg, data, len);
	return 0;
}

/* Fills the watched syscall numbers. */
static int apply_watch(struct agent_probe *p,
		       const struct agent_probe_opts *o)
{
	uint8_t one = 1;

	if (!p->watching)
		return 0;
	for (size_t i = 0; i < o->n_watch_syscalls; i++) {
		uint32_t nr = o->watch_syscalls[i];

		if (nr >= PX_MAX_SYSCALL)
			return -EINVAL;
		if (bpf_map_update_elem(bpf_map__fd(p->proc->maps.watch_syscalls),
					&nr, &one, BPF_ANY) < 0)
			return -errno;
	}
	return 0;
}

/* Fills the filter maps from <o> (before anything is attached). */
static int apply_filters(struct agent_probe *p,
			 const struct agent_probe_opts *o)
{
	int rc = 0;

	for (size_t i = 0; i < o->n_deny_pids && !rc; i++)
		rc = agent_probe_filter(p, AGENT_DENY_PID, o->deny_pids[i]);
	for (size_t i = 0; i < o->n_allow_pids && !rc; i++)
		rc = agent_probe_filter(p, AGENT_ALLOW_PID, o->allow_pids[i]);
	for (size_t i = 0; i < o->n_deny_cgroups && !rc; i++)
		rc = agent_probe_filter(p, AGENT_DENY_CGROUP,
					o->deny_cgroups[i]);
	for (size_t i = 0; i < o->n_allow_cgroups && !rc; i++)
		rc = agent_probe_filter(p, AGENT_ALLOW_CGROUP,
					o->allow_cgroups[i]);
	return rc;
}

/* Makes a later object use the process object's filter maps. */
static int share_filters(const struct agent_probe *p, struct bpf_map *pids,
			 struct bpf_map *allow_pids, struct bpf_map *deny_cg,
			 struct bpf_map *allow_cg)
{
	int rc = bpf_map__reuse_fd(pids, bpf_map__fd(p->proc->maps.deny_pids));

	if (!rc)
		rc = bpf_map__reuse_fd(allow_pids,
				       bpf_map__fd(p->proc->maps.allow_pids));
	if (!rc)
		rc = bpf_map__reuse_fd(deny_cg,
				       bpf_map__fd(p->proc->maps.deny_cgroups));
	if (!rc)
		rc = bpf_map__reuse_fd(allow_cg,
				       bpf_map__fd(p->proc->maps.allow_cgroups));
	return rc;
}

/* Opens and loads the artifact object with one of its two file iterators:
 * the one that calls bpf_d_path, or its twin without. */
static int load_files_variant(struct agent_probe *p, bool dpath)
{
	struct bpf_program *want, *other;
	int rc;

	p->arts = px_artifacts__open();
	if (!p->arts)
		return -errno;
	want = dpath ? p->arts->progs.px_iter_files :
		       p->arts->progs.px_iter_files_noname;
	other = dpath ? p->arts->progs.px_iter_files_noname :
			p->arts->progs.px_iter_files;
	bpf_program__set_autoload(other, false);
	p->arts->rodata->px_allowlist = p->allowlist;
	memcpy((void *)p->arts->rodata->px_suffixes, p->suffixes,
	       sizeof(p->suffixes));
	p->arts->rodata->px_n_suffixes = p->n_suffixes;
	p->arts->rodata->px_pid_allowlist = p->pid_allowlist;
	rc = share_filters(p, p->arts->maps.deny_pids, p->arts->maps.allow_pids,
			   p->arts->maps.deny_cgroups,
			   p->arts->maps.allow_cgroups);
	if (!rc)
		rc = px_artifacts__load(p->arts);
	if (rc < 0) {
		px_artifacts__destroy(p->arts);
		p->arts = NULL;
		return rc;
	}
	p->files_prog = want;
	p->vmas_prog = p->arts->progs.px_iter_vmas;
	p->has_dpath = dpath;
	return 0;
}

/* Loads the artifact iterator, falling back to the variant without
 * bpf_d_path when the verifier refuses the helper. */
static int load_artifacts(struct agent_probe *p, bool try_dpath, char *err,
			  size_t errlen)
{
	int rc;

	if (try_dpath) {
		rc = load_files_variant(p, true);
		if (rc == 0)
			return 0;
		px_warn(MOD, "bpf_d_path refused in iterator, paths from /proc",
			"err=%s", px_q(strerror(-rc)));
	}
	rc = load_files_variant(p, false);
	if (rc < 0)
		snprintf(err, errlen, "loading the artifact iterator failed: %s: %s",
			 strerror(-rc), load_hint(rc));
	return rc;
}

/*
 * Loads the JVM class probe, sharing the process object's ring buffer and
 * drop counter.  Optional: without it the agent runs without class events.
 */
static void load_jvm(struct agent_probe *p)
{
	int rc;

	p->jvm = px_jvm__open();
	if (!p->jvm) {
		rc = -errno;
		goto err_warn;
	}
	p->jvm->rodata->px_wakeup_bytes = p->wakeup_bytes;
	p->jvm->rodata->px_allowlist = p->allowlist;
	p->jvm->rodata->px_pid_allowlist = p->pid_allowlist;
	rc = share_filters(p, p->jvm->maps.deny_pids, p->jvm->maps.allow_pids,
			   p->jvm->maps.deny_cgroups,
			   p->jvm->maps.allow_cgroups);
	if (!rc)
		rc = bpf_map__reuse_fd(p->jvm->maps.events,
				       bpf_map__fd(p->proc->maps.events));
	if (!rc)
		rc = bpf_map__reuse_fd(p->jvm->maps.drops,
				       bpf_map__fd(p->proc->maps.drops));
	if (!rc)
		rc = px_jvm__load(p->jvm);
	if (!rc)
		return;
	px_jvm__destroy(p->jvm);
	p->jvm = NULL;
err_warn:
	px_warn(MOD, "JVM class probe not loaded, no class events", "err=%s",
		px_q(strerror(-rc)));
}

/*
 * Loads and attaches the socket state program, sharing the ring buffer.
 * Optional: without it the agent runs without network events.
 */
static void load_net(struct agent_probe *p)
{
	int rc;

	p->net = px_net__open();
	if (!p->net) {
		rc = -errno;
		goto err_warn;
	}
	p->net->rodata->px_wakeup_bytes = p->wakeup_bytes;
	p->net->rodata->px_allowlist = p->allowlist;
	p->net->rodata->px_pid_allowlist = p->pid_allowlist;
	rc = share_filters(p, p->net->maps.deny_pids, p->net->maps.allow_pids,
			   p->net->maps.deny_cgroups,
			   p->net->maps.allow_cgroups);
	if (!rc)
		rc = bpf_map__reuse_fd(p->net->maps.events,
				       bpf_map__fd(p->proc->maps.events));
	if (!rc)
		rc = bpf_map__reuse_fd(p->net->maps.drops,
				       bpf_map__fd(p->proc->maps.drops));
	/* The listener iterator runs per pass, like the artifact ones. */
	bpf_program__set_autoattach(p->net->progs.px_iter_listeners, false);
	if (!rc)
		rc = px_net__load(p->net);
	if (!rc)
		rc = px_net__attach(p->net);
	if (!rc)
		return;
	px_net__destroy(p->net);
	p->net = NULL;
err_warn:
	px_warn(MOD, "socket state program not loaded, no network events",
		"err=%s", px_q(strerror(-rc)));
}

/* Attaches exec, fork and exit; the skeleton's destroy detaches them. */
static int attach_tracepoints(struct px_process *proc)
{
	struct bpf_program *progs[] = {
		proc->progs.px_exec, proc->progs.px_fork, proc->progs.px_exit,
	};
	struct bpf_link **links[] = {
		&proc->links.px_exec, &proc->links.px_fork, &proc->links.px_exit,
	};

	for (size_t i = 0; i < sizeof(progs) / sizeof(progs[0]); i++) {
		*links[i] = bpf_program__attach(progs[i]);
		if (!*links[i])
			return -errno;
	}
	return 0;
}

int agent_probe_open(struct agent_probe **out,
		     const struct agent_probe_opts *opts,
		     agent_probe_event_fn fn, void *arg, char *err,
		     size_t errlen)
{
	struct agent_probe *p;
	int rc;

	libbpf_set_print(libbpf_print);
	p = calloc(1, sizeof(*p));
	if (!p) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	p->fn = fn;
	p->arg = arg;

	/* Open and load: the verifier runs here. */
	p->proc = px_process__open();
	if (!p->proc) {
		rc = -errno;
		snprintf(err, errlen, "opening the process programs failed: %s",
			 strerror(-rc));
		goto err_free;
	}
	if (opts->ringbuf_bytes)
		bpf_map__set_max_entries(p->proc->maps.events,
					 opts->ringbuf_bytes);
	p->wakeup_bytes = (opts->ringbuf_bytes ? opts->ringbuf_bytes :
						 PX_RINGBUF_BYTES) / 8;
	p->proc->rodata->px_wakeup_bytes = p->wakeup_bytes;
	p->allowlist = opts->cgroup_allowlist;
	p->proc->rodata->px_allowlist = p->allowlist;
	p->pid_allowlist = opts->n_allow_pids > 0;
	p->n_suffixes = (uint32_t)(opts->n_suffixes < PX_MAX_SUFFIXES ?
				   opts->n_suffixes : PX_MAX_SUFFIXES);
	memcpy(p->suffixes, opts->suffixes,
	       p->n_suffixes * sizeof(p->suffixes[0]));
	p->proc->rodata->px_pid_allowlist = p->pid_allowlist;
	if (opts->watch_exe && *opts->watch_exe) {
		p->watching = true;
		p->proc->rodata->px_watch_on = true;
		snprintf((char *)p->proc->rodata->px_watch_exe,
			 sizeof(p->proc->rodata->px_watch_exe), "%s",
			 opts->watch_exe);
	} else {
		/* Never loaded, so never attached. */
		bpf_program__set_autoload(p->proc->progs.px_watch_syscall,
					  false);
	}
	rc = px_process__load(p->proc);
	if (rc < 0) {
		snprintf(err, errlen, "loading the process programs failed: %s: %s",
			 strerror(-rc), load_hint(rc));
		goto err_destroy_proc;
	}
	rc = apply_watch(p, opts);
	if (!rc)
		rc = apply_filters(p, opts);
	if (rc < 0) {
		snprintf(err, errlen, "filling the filter maps failed: %s",
			 strerror(-rc));
		goto err_destroy_proc;
	}
	rc = load_artifacts(p, opts->try_dpath, err, errlen);
	if (rc < 0)
		goto err_destroy_arts;
	load_jvm(p);

	/* Attach the tracepoints; the iterators attach per pass. */
	rc = attach_tracepoints(p->proc);
	if (!rc && p->watching) {
		p->proc->links.px_watch_syscall =
			bpf_program__attach(p->proc->progs.px_watch_syscall);
		if (!p->proc->links.px_watch_syscall)
			rc = -errno;
	}
	if (rc < 0) {
		snprintf(err, errlen,
			 "attaching the sched tracepoints failed: %s: %s",
			 strerror(-rc), load_hint(rc));
		goto err_destroy_arts;
	}

	p->rb = ring_buffer__new(bpf_map__fd(p->proc->maps.events), on_ringbuf,
				 p, NULL);
	if (!p->rb) {
		rc = -errno;
		snprintf(err, errlen, "creating the ring buffer failed: %s",
			 strerror(-rc));
		goto err_destroy_arts;
	}
	if (opts->net)
		load_net(p);
	px_info(MOD, "programs loaded", "dpath=%s jvm=%s net=%s syscalls=%s",
		p->has_dpath ? "yes" : "no", p->jvm ? "yes" : "no",
		p->net ? "yes" : "no", p->watching ? "watched tree" : "none");
	*out = p;
	return 0;

err_destroy_arts:
	px_jvm__destroy(p->jvm);
	px_artifacts__destroy(p->arts);
err_destroy_proc:
	px_process__destroy(p->proc);
err_free:
	free(p);
	return rc;
}

void agent_probe_close(struct agent_probe *p)
{
	if (!p)
		return;
	ring_buffer__free(p->rb);
	for (size_t i = 0; i < p->n_jvm_links; i++)
		bpf_link__destroy(p->jvm_links[i]);
	free(p->jvm_links);
	px_jvm__destroy(p->jvm);
	px_net__destroy(p->net);
	px_artifacts__destroy(p->arts);
	px_process__destroy(p->proc);
	free(p);
}

int agent_probe_ringbuf_fd(const struct agent_probe *p)
{
	return ring_buffer__epoll_fd(p->rb);
}

int agent_probe_consume(struct agent_probe *p)
{
	return ring_buffer__consume(p->rb);
}

uint64_t agent_probe_drops(const struct agent_probe *p)
{
	int ncpu = libbpf_num_possible_cpus();
	uint64_t *vals, sum = 0;
	uint32_t zero = 0;

	if (ncpu <= 0)
		return 0;
	vals = calloc((size_t)ncpu, sizeof(*vals));
	if (!vals)
		return 0;
	if (bpf_map_lookup_elem(bpf_map__fd(p->proc->maps.drops), &zero,
				vals) == 0)
		for (int i = 0; i < ncpu; i++)
			sum += vals[i];
	free(vals);
	return sum;
}

bool agent_probe_has_dpath(const struct agent_probe *p)
{
	return p->has_dpath;
}

/*
 * Attaches <prog> as an iterator (limited to <pid> when non-zero), reads
 * the whole pass and hands each <recsize> record to <each>.
 */
static int run_iter(struct bpf_program *prog, uint32_t pid, size_t recsize,
		    void (*each)(void *ctx, const void *rec), void *ctx)
{
	DECLARE_LIBBPF_OPTS(bpf_iter_attach_opts, opts);
	union bpf_iter_link_info linfo = {};
	struct bpf_link *link;
	char *buf;
	size_t have = 0, cap = recsize * 64;
	int fd, rc = 0;

	if (pid) {
		linfo.task.pid = pid;
		opts.link_info = &linfo;
		opts.link_info_len = sizeof(linfo);
	}
	link = bpf_program__attach_iter(prog, pid ? &opts : NULL);
	if (!link)
		return -errno;
	fd = bpf_iter_create(bpf_link__fd(link));
	if (fd < 0) {
		rc = -errno;
		goto err_destroy_link;
	}
	buf = malloc(cap);
	if (!buf) {
		rc = -ENOMEM;
		goto err_close_fd;
	}

	/* Records may straddle read() boundaries; keep the remainder. */
	for (;;) {
		ssize_t n = read(fd, buf + have, cap - have);
		size_t off = 0;

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			rc = -errno;
			break;
		}
		if (n == 0)
			break;
		have += (size_t)n;
		for (; have - off >= recsize; off += recsize)
			each(ctx, buf + off);
		memmove(buf, buf + off, have - off);
		have -= off;
	}
	free(buf);
err_close_fd:
	close(fd);
err_destroy_link:
	bpf_link__destroy(link);
	return rc;
}

struct task_cb {
	agent_probe_task_fn fn;
	void *arg;
};

static void each_task(void *ctx, const void *rec)
{
	struct task_cb *cb = ctx;

	cb->fn(cb->arg, rec);
}

int agent_probe_iter_tasks(struct agent_probe *p, agent_probe_task_fn fn,
			   void *arg)
{
	struct task_cb cb = { fn, arg };

	return run_iter(p->proc->progs.px_iter_tasks, 0,
			sizeof(struct px_task_rec), each_task, &cb);
}

struct file_cb {
	agent_probe_file_fn fn;
	void *arg;
};

static void each_file(void *ctx, const void *rec)
{
	struct file_cb *cb = ctx;

	cb->fn(cb->arg, rec);
}

int agent_probe_iter_files(struct agent_probe *p, uint32_t pid,
			   agent_probe_file_fn fn, void *arg)
{
	struct file_cb cb = { fn, arg };

	return run_iter(p->files_prog, pid, sizeof(struct px_file_rec),
			each_file, &cb);
}

struct vma_cb {
	agent_probe_vma_fn fn;
	void *arg;
};

static void each_vma(void *ctx, const void *rec)
{
	struct vma_cb *cb = ctx;

	cb->fn(cb->arg, rec);
}

int agent_probe_iter_vmas(struct agent_probe *p, uint32_t pid,
			  agent_probe_vma_fn fn, void *arg)
{
	struct vma_cb cb = { fn, arg };

	return run_iter(p->vmas_prog, pid, sizeof(struct px_vma_rec),
			each_vma, &cb);
}

/* Counts the listeners one pass learnt. */
static void each_listener(void *ctx, const void *rec)
{
	const struct px_listen_rec *l = rec;
	size_t *n = ctx;

	px_debug(MOD, "listener owner learnt", "pid=%" PRIu32 " port=%u",
		 l->tgid, (unsigned)l->port);
	(*n)++;
}

int agent_probe_learn_listeners(struct agent_probe *p)
{
	size_t n = 0;
	int rc;

	if (!p->net)
		return -ENOTSUP;
	rc = run_iter(p->net->progs.px_iter_listeners, 0,
		      sizeof(struct px_listen_rec), each_listener, &n);
	return rc < 0 ? rc : (int)n;
}

static void forget(struct agent_probe *p, uint32_t kind, uint32_t tgid,
		   uint64_t start_time, uint64_t dev, uint64_t ino)
{
	struct px_seen_key key = {
		.tgid = tgid,
		.kind = kind,
		.start_time = start_time,
		.dev = dev,
		.ino = ino,
	};

	bpf_map_delete_elem(bpf_map__fd(p->arts->maps.seen), &key);
}

void agent_probe_forget_vma(struct agent_probe *p,
			    const struct px_vma_rec *rec)
{
	forget(p, 1, rec->tgid, rec->start_time, rec->dev, rec->ino);
}

void agent_probe_forget_file(struct agent_probe *p,
			     const struct px_file_rec *rec)
{
	forget(p, 0, rec->tgid, rec->start_time, rec->dev, rec->ino);
}

bool agent_probe_has_jvm(const struct agent_probe *p)
{
	return p->jvm != NULL;
}

int agent_probe_watch_class(struct agent_probe *p, const char *name)
{
	char key[PX_CLASS_LEN] = { 0 };
	uint8_t one = 1;
	size_t len = strlen(name);

	if (!p->jvm)
		return -ENOTSUP;
	if (!len || len >= sizeof(key))
		return -ENAMETOOLONG;
	memcpy(key, name, len);
	if (bpf_map_update_elem(bpf_map__fd(p->jvm->maps.watch), key, &one,
				BPF_ANY) < 0)
		return -errno;
	return 0;
}

int agent_probe_attach_jvm(struct agent_probe *p, const char *libjvm)
{
	struct bpf_link *link, **nl;

	if (!p->jvm)
		return -ENOTSUP;
	nl = realloc(p->jvm_links, (p->n_jvm_links + 1) * sizeof(*nl));
	if (!nl)
		return -ENOMEM;
	p->jvm_links = nl;
	link = bpf_program__attach_usdt(p->jvm->progs.px_class_loaded, -1,
					libjvm, "hotspot", "class__loaded",
					NULL);
	if (!link)
		return -errno;
	p->jvm_links[p->n_jvm_links++] = link;
	return 0;
}

uint64_t agent_probe_class_loads(const struct agent_probe *p)
{
	int ncpu = libbpf_num_possible_cpus();
	uint64_t *vals, sum = 0;
	uint32_t zero = 0;

	if (!p->jvm || ncpu <= 0)
		return 0;
	vals = calloc((size_t)ncpu, sizeof(*vals));
	if (!vals)
		return 0;
	if (bpf_map_lookup_elem(bpf_map__fd(p->jvm->maps.class_loads), &zero,
				vals) == 0)
		for (int i = 0; i < ncpu; i++)
			sum += vals[i];
	free(vals);
	return sum;
}

int agent_probe_filter(struct agent_probe *p, enum agent_filter what,
		       uint64_t id)
{
	uint32_t pid = (uint32_t)id;
	uint8_t one = 1;
	int fd, rc;

	switch (what) {
	case AGENT_DENY_PID:
		fd = bpf_map__fd(p->proc->maps.deny_pids);
		rc = bpf_map_update_elem(fd, &pid, &one, BPF_ANY);
		break;
	case AGENT_ALLOW_PID:
		fd = bpf_map__fd(p->proc->maps.allow_pids);
		rc = bpf_map_update_elem(fd, &pid, &one, BPF_ANY);
		break;
	case AGENT_DENY_CGROUP:
		fd = bpf_map__fd(p->proc->maps.deny_cgroups);
		rc = bpf_map_update_elem(fd, &id, &one, BPF_ANY);
		break;
	case AGENT_ALLOW_CGROUP:
		fd = bpf_map__fd(p->proc->maps.allow_cgroups);
		rc = bpf_map_update_elem(fd, &id, &one, BPF_ANY);
		break;
	default:
		return -EINVAL;
	}
	return rc < 0 ? -errno : 0;
}

bool agent_probe_watching(const struct agent_probe *p)
{
	return p->watching;
}
