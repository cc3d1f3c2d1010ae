// SPDX-License-Identifier: Apache-2.0
/*
 * "What is loaded": runs the kernel's artifact file iterator and its
 * executable-mapping iterator and turns each new (process, artifact) into
 * an ArtifactLoaded event (OPEN_FILE or MAPPED) with the file's sha256.
 * The kernel already filtered (name suffix, executable mapping, filters)
 * and deduplicated (its LRU of reported pairs); here each record is tied to
 * its process entry (pid and start time must match), deduplicated per
 * process by (kind, dev, inode), and hashed through the hash cache under
 * the I/O budget: at once when small, else by a chunked job (hashjob.h)
 * whose completion sends the event, so the loop never stalls on one file.
 * A record user space cannot use now (process unknown, budget spent, no
 * job free) is handed back: the kernel forgets it and a later pass sends
 * it again.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "agent.h"
#include "emit.h"
#include "events.h"
#include "hashcache.h"
#include "hashjob.h"
#include "log.h"
#include "probe.h"
#include "proctab.h"

#define MOD "artifact"

/* The kernel's dev_t (major << 20 | minor) as stat(2) reports it. */
static uint64_t user_dev(uint64_t kdev)
{
	return makedev((unsigned int)(kdev >> 20),
		       (unsigned int)(kdev & 0xfffff));
}

/* The path of the record's file: bpf_d_path's when there is one, else the
 * /proc fd link, else the bare dentry name. */
static void record_path(const struct px_file_rec *rec, char *buf, size_t len)
{
	char link[64];
	ssize_t n;

	if (rec->flags & PX_FILE_HAS_PATH) {
		snprintf(buf, len, "%.*s", (int)sizeof(rec->path), rec->path);
		return;
	}
	snprintf(link, sizeof(link), "/proc/%" PRIu32 "/fd/%" PRIu32,
		 rec->tgid, rec->fd);
	n = readlink(link, buf, len - 1);
	if (n > 0) {
		buf[n] = '\0';
		return;
	}
	snprintf(buf, len, "%.*s", (int)sizeof(rec->name), rec->name);
}

/* True when <key> is to be read by a chunked job rather than at once. */
static bool chunked(struct agent_ctx *ctx, const struct agent_hash_key *key)
{
	return key->size > AGENT_HASH_INLINE_BYTES &&
	       agent_hashcache_needs_read(ctx->hc, key);
}

/*
 * Hands <ev> to the job for <key> (taken on success), opening the file
 * for a new job.  0, or -errno: the file could not be opened, or no job
 * could take it (-ENOSPC, -ENOMEM).
 */
static int start_job(struct agent_ctx *ctx, const struct agent_hash_key *key,
		     const char *root, const char *path, const char *alt,
		     Parallax__V1__Event *ev)
{
	int fd, rc = agent_hashjobs_add(ctx->jobs, key, -1, ev);

	if (rc != -ENOENT)
		return rc;
	fd = agent_hashcache_open(ctx->hc, key, root, path, alt);
	if (fd < 0)
		return fd;
	rc = agent_hashjobs_add(ctx->jobs, key, fd, ev);
	if (rc < 0)
		close(fd);
	return rc;
}

/*
 * Hashes the file version <key> (at <path> inside /proc/<pid>/root, else
 * through <alt>) and sends an ArtifactLoaded of <kind> for <p>; a large
 * file's event goes out when its chunked job completes.
 */
static void report(struct agent_ctx *ctx, const struct agent_proc *p,
		   const struct agent_hash_key *key, const char *path,
		   const char *alt, Parallax__V1__LoadKind kind)
{
	char hex[PX_SHA256_HEX_LEN + 1] = "", root[64];
	Parallax__V1__ArtifactLoaded *a;
	Parallax__V1__Event *ev;
	int rc = 0;

	snprintf(root, sizeof(root), "/proc/%" PRIu32 "/root", p->pid);
	ev = agent_ev_new(px_now_ns(), PARALLAX__V1__EVENT__KIND_ARTIFACT);
	if (!ev)
		return;
	a = ev->artifact;
	a->proc = agent_ev_ref(p->pid, p->start_time, p->exec_id);
	a->path = agent_ev_str(path);
	a->dev = key->dev;
	a->inode = key->ino;
	a->size = key->size;
	a->mtime_ns = key->mtime_ns;
	a->kind = kind;
	ctx->cnt.artifacts++;
	if (chunked(ctx, key)) {
		rc = start_job(ctx, key, root, path, alt, ev);
		if (rc == 0)
			return;
	}
	/* Small, cached, or no job could take it (then read at once). */
	if (rc == 0 || rc == -ENOSPC || rc == -ENOMEM)
		rc = agent_hashcache_get(ctx->hc, key, root, path, alt, hex);
	if (rc < 0) {
		ctx->cnt.hash_errors++;
		px_debug(MOD, "artifact not hashed", "pid=%" PRIu32 " path=%s err=%s",
			 p->pid, px_q(path), px_q(strerror(-rc)));
		a->error = agent_ev_str(strerror(-rc));
	} else {
		a->sha256 = agent_ev_str(hex);
	}
	agent_emit_event(ctx->emit, ev);
}

/*
 * True when the artifact <key> may be reported now: its digest is cached,
 * reading it fits the I/O budget, or (a large file) a chunked job can
 * take it.  When not, the artifact is left unmarked so a later pass
 * reports it.
 */
static bool budget_allows(struct agent_ctx *ctx,
			  const struct agent_hash_key *key)
{
	if (!agent_hashcache_needs_read(ctx->hc, key))
		return true;
	/* A large file takes the budget chunk by chunk, in its job. */
	if (chunked(ctx, key) && agent_hashjobs_has_room(ctx->jobs, key))
		return true;
	if (!chunked(ctx, key) &&
	    agent_budget_take(&ctx->io, key->size, px_mono_ns()))
		return true;
	ctx->cnt.hash_deferred++;
	return false;
}

static void on_file(void *arg, const struct px_file_rec *rec)
{
	struct agent_ctx *ctx = arg;
	char path[4096], fdpath[64];
	struct agent_hash_key key;
	struct agent_proc *p;

	p = agent_proctab_get(ctx->tab, rec->tgid, rec->start_time);
	if (!p) {
		/* Not ours yet: let the kernel send it again next time. */
		ctx->cnt.unknown_procs++;
		agent_probe_forget_file(ctx->probe, rec);
		return;
	}
	key.dev = user_dev(rec->dev);
	key.ino = rec->ino;
	key.size = rec->size;
	key.mtime_ns = rec->mtime_ns;
	if (agent_proc_has_loaded(p, AGENT_ART_OPEN, key.dev, key.ino))
		return;
	if (!budget_allows(ctx, &key)) {
		agent_probe_forget_file(ctx->probe, rec);
		return;
	}
	agent_proc_mark_loaded(p, AGENT_ART_OPEN, key.dev, key.ino);

	record_path(rec, path, sizeof(path));
	snprintf(fdpath, sizeof(fdpath), "/proc/%" PRIu32 "/fd/%" PRIu32,
		 rec->tgid, rec->fd);
	report(ctx, p, &key, path, fdpath,
	       PARALLAX__V1__LOAD_KIND__LOAD_KIND_OPEN_FILE);
}

/*
 * The path in /proc/<pid>/maps of the mapping at <start>-<end>; false when
 * the line is gone.  Used where map_files cannot be read (it needs
 * CAP_SYS_ADMIN or CAP_CHECKPOINT_RESTORE).
 */
static bool maps_path(uint32_t pid, uint64_t start, uint64_t end, char *buf,
		      size_t len)
{
	char maps[64], line[4352], want[64];
	bool found = false;
	size_t wl;
	FILE *f;

	snprintf(maps, sizeof(maps), "/proc/%" PRIu32 "/maps", pid);
	snprintf(want, sizeof(want), "%" PRIx64 "-%" PRIx64 " ", start, end);
	wl = strlen(want);
	f = fopen(maps, "re");
	if (!f)
		return false;
	while (!found && fgets(line, sizeof(line), f)) {
		char *slash;

		if (strncmp(line, want, wl))
			continue;
		slash = strchr(line, '/');
		if (!slash)
			break;
		slash[strcspn(slash, "\n")] = '\0';
		snprintf(buf, len, "%s", slash);
		found = true;
	}
	fclose(f);
	return found;
}

/* The path of a mapping: the map_files link, else the maps line, else the
 * bare dentry name. */
static void vma_path(const struct px_vma_rec *rec, const char *link,
		     char *buf, size_t len)
{
	ssize_t n = readlink(link, buf, len - 1);

	if (n > 0) {
		buf[n] = '\0';
		return;
	}
	if (maps_path(rec->tgid, rec->vm_start, rec->vm_end, buf, len))
		return;
	snprintf(buf, len, "%.*s", (int)sizeof(rec->name), rec->name);
}

static void on_vma(void *arg, const struct px_vma_rec *rec)
{
	struct agent_ctx *ctx = arg;
	char path[4096], link[96];
	struct agent_hash_key key;
	struct agent_proc *p;

	p = agent_proctab_get(ctx->tab, rec->tgid, rec->start_time);
	if (!p) {
		/* Not ours yet: let the kernel send it again next time. */
		ctx->cnt.unknown_procs++;
		agent_probe_forget_vma(ctx->probe, rec);
		return;
	}
	key.dev = user_dev(rec->dev);
	key.ino = rec->ino;
	key.size = rec->size;
	key.mtime_ns = rec->mtime_ns;
	snprintf(link, sizeof(link), "/proc/%" PRIu32 "/map_files/%" PRIx64
		 "-%" PRIx64, rec->tgid, (uint64_t)rec->vm_start, (uint64_t)rec->vm_end);
	vma_path(rec, link, path, sizeof(path));
	if (ctx->on_mapping)
		ctx->on_mapping(ctx, p, path, key.dev, key.ino);
	if (agent_proc_has_loaded(p, AGENT_ART_MAPPED, key.dev, key.ino))
		return;
	if (!budget_allows(ctx, &key)) {
		agent_probe_forget_vma(ctx->probe, rec);
		return;
	}
	agent_proc_mark_loaded(p, AGENT_ART_MAPPED, key.dev, key.ino);
	report(ctx, p, &key, path, link,
	       PARALLAX__V1__LOAD_KIND__LOAD_KIND_MAPPED);
}

int agent_artifacts_pass(struct agent_ctx *ctx, uint32_t pid)
{
	int rc = agent_probe_iter_files(ctx->probe, pid, on_file, ctx);

	if (rc < 0 && !(pid && rc == -ESRCH))
		px_warn(MOD, "file pass failed", "pid=%" PRIu32 " err=%s", pid,
			px_q(strerror(-rc)));
	if (rc == -ESRCH && pid)
		return rc;
	rc = agent_probe_iter_vmas(ctx->probe, pid, on_vma, ctx);
	if (rc < 0 && !(pid && rc == -ESRCH))
		px_warn(MOD, "mapping pass failed", "pid=%" PRIu32 " err=%s",
			pid, px_q(strerror(-rc)));
	return rc;
}
