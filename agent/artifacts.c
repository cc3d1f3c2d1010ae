// SPDX-License-Identifier: Apache-2.0
/*
 * "What is loaded": runs the kernel's artifact file iterator and turns each
 * new (process, artifact) into an ArtifactLoaded event with the file's
 * sha256.  The kernel already filtered by name suffix; here each record is
 * tied to its process entry (pid and start time must match), deduplicated
 * per process by (dev, inode), and hashed through the hash cache.
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

static void on_file(void *arg, const struct px_file_rec *rec)
{
	struct agent_ctx *ctx = arg;
	char path[4096], root[64], fdpath[64];
	char hex[PX_SHA256_HEX_LEN + 1] = "";
	Parallax__V1__ArtifactLoaded *a;
	struct agent_hash_key key;
	Parallax__V1__Event *ev;
	struct agent_proc *p;
	int rc;

	p = agent_proctab_get(ctx->tab, rec->tgid, rec->start_time);
	if (!p) {
		ctx->cnt.unknown_procs++;
		return;
	}
	key.dev = user_dev(rec->dev);
	key.ino = rec->ino;
	key.size = rec->size;
	key.mtime_ns = rec->mtime_ns;
	if (!agent_proc_mark_artifact(p, key.dev, key.ino))
		return;

	record_path(rec, path, sizeof(path));
	snprintf(root, sizeof(root), "/proc/%" PRIu32 "/root", rec->tgid);
	snprintf(fdpath, sizeof(fdpath), "/proc/%" PRIu32 "/fd/%" PRIu32,
		 rec->tgid, rec->fd);
	rc = agent_hashcache_get(ctx->hc, &key, root, path, fdpath, hex);
	if (rc < 0) {
		ctx->cnt.hash_errors++;
		px_debug(MOD, "artifact not hashed", "pid=%" PRIu32 " path=%s err=%s",
			 rec->tgid, px_q(path), px_q(strerror(-rc)));
	}

	ev = agent_ev_new(px_now_ns(), PARALLAX__V1__EVENT__KIND_ARTIFACT);
	if (!ev)
		return;
	a = ev->artifact;
	a->proc = agent_ev_ref(p->pid, p->start_time, p->exec_id);
	a->path = agent_ev_str(path);
	a->dev = key.dev;
	a->inode = key.ino;
	a->size = key.size;
	a->mtime_ns = key.mtime_ns;
	a->kind = PARALLAX__V1__LOAD_KIND__LOAD_KIND_OPEN_FILE;
	if (rc == 0)
		a->sha256 = agent_ev_str(hex);
	else
		a->error = agent_ev_str(strerror(-rc));
	ctx->cnt.artifacts++;
	agent_emit_event(ctx->emit, ev);
}

int agent_artifacts_pass(struct agent_ctx *ctx, uint32_t pid)
{
	int rc = agent_probe_iter_files(ctx->probe, pid, on_file, ctx);

	if (rc < 0 && !(pid && rc == -ESRCH))
		px_warn(MOD, "file pass failed", "pid=%" PRIu32 " err=%s", pid,
			px_q(strerror(-rc)));
	return rc;
}
