// SPDX-License-Identifier: Apache-2.0
/*
 * libbpf lifecycle for the agent: open the skeletons, load (the artifact
 * iterator with bpf_d_path first, without it when the verifier refuses),
 * attach the lifecycle tracepoints, set up the ring buffer, and run the
 * iterators on request.  libbpf's own output enters our log at debug level.
 */
#include "probe.h"

#include <errno.h>
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
#include "log.h"
#include "process.skel.h"

#define MOD "probe"
#define BTF_PATH "/sys/kernel/btf/vmlinux"
#define BPF_FS_MAGIC_ 0xcafe4a11
#define TRACEFS_MAGIC_ 0x74726163

struct agent_probe {
	struct px_process *proc;
	struct px_artifacts *arts;
	struct bpf_program *files_prog;	/* the loaded file iterator */
	bool has_dpath;
	struct ring_buffer *rb;
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
	rc = px_artifacts__load(p->arts);
	if (rc < 0) {
		px_artifacts__destroy(p->arts);
		p->arts = NULL;
		return rc;
	}
	p->files_prog = want;
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
	rc = px_process__load(p->proc);
	if (rc < 0) {
		snprintf(err, errlen, "loading the process programs failed: %s: %s",
			 strerror(-rc), load_hint(rc));
		goto err_destroy_proc;
	}
	rc = load_artifacts(p, opts->try_dpath, err, errlen);
	if (rc < 0)
		goto err_destroy_arts;

	/* Attach the tracepoints; the iterators attach per pass. */
	rc = attach_tracepoints(p->proc);
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
	px_info(MOD, "programs loaded", "dpath=%s",
		p->has_dpath ? "yes" : "no");
	*out = p;
	return 0;

err_destroy_arts:
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
