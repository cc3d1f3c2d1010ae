// SPDX-License-Identifier: Apache-2.0
/*
 * JVM class loads over USDT (see jvm.h).  A libjvm.so is identified by
 * (dev, inode): the same file seen through many processes or paths is
 * attached once, and the attachment covers every process that maps it.
 */
#include "jvm.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <glob.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "agent.h"
#include "emit.h"
#include "events.h"
#include "hashcache.h"
#include "jarindex.h"
#include "log.h"
#include "probe.h"
#include "proctab.h"

#define MOD "jvm"
#define MAX_LIBJVM 64

struct agent_jvm {
	struct { uint64_t dev, ino; } attached[MAX_LIBJVM];
	size_t n_attached;
};

int agent_jvm_internal_name(const char *binary, char *out, size_t len)
{
	size_t n = strlen(binary);

	if (!n)
		return -EINVAL;
	if (n >= len)
		return -ENAMETOOLONG;
	for (size_t i = 0; i <= n; i++)
		out[i] = binary[i] == '.' ? '/' : binary[i];
	return 0;
}

static bool is_attached(const struct agent_jvm *j, uint64_t dev, uint64_t ino)
{
	for (size_t i = 0; i < j->n_attached; i++)
		if (j->attached[i].dev == dev && j->attached[i].ino == ino)
			return true;
	return false;
}

/* Attaches to the libjvm.so at <path> unless its file is attached. */
static void attach(struct agent_ctx *ctx, const char *path)
{
	struct agent_jvm *j = ctx->jvm;
	struct stat st;
	int rc;

	if (stat(path, &st) < 0 || is_attached(j, st.st_dev, st.st_ino))
		return;
	if (j->n_attached == MAX_LIBJVM) {
		px_warn(MOD, "too many distinct libjvm.so, not attached",
			"path=%s", px_q(path));
		return;
	}
	rc = agent_probe_attach_jvm(ctx->probe, path);
	if (rc < 0) {
		px_warn(MOD, "class probe not attached", "path=%s err=%s",
			px_q(path), px_q(strerror(-rc)));
		return;
	}
	j->attached[j->n_attached].dev = st.st_dev;
	j->attached[j->n_attached].ino = st.st_ino;
	j->n_attached++;
	px_info(MOD, "class probe attached", "libjvm=%s", px_q(path));
}

/* Calls <fn> for each comma-separated item of <csv>. */
static int each_item(const char *csv, int (*fn)(struct agent_ctx *ctx,
						 const char *item),
		     struct agent_ctx *ctx)
{
	char *copy = strdup(csv ? csv : ""), *save = NULL, *tok;
	int rc = 0;

	if (!copy)
		return -ENOMEM;
	for (tok = strtok_r(copy, ",", &save); tok && !rc;
	     tok = strtok_r(NULL, ",", &save)) {
		while (*tok == ' ')
			tok++;
		tok[strcspn(tok, " ")] = '\0';
		if (*tok)
			rc = fn(ctx, tok);
	}
	free(copy);
	return rc;
}

static int watch_one(struct agent_ctx *ctx, const char *name)
{
	char internal[PX_CLASS_LEN];
	int rc = agent_jvm_internal_name(name, internal, sizeof(internal));

	if (rc < 0) {
		px_error(MOD, "class name too long to watch", "class=%s",
			 px_q(name));
		return rc;
	}
	rc = agent_probe_watch_class(ctx->probe, internal);
	if (rc < 0)
		px_warn(MOD, "class not watched", "class=%s err=%s", px_q(name),
			px_q(strerror(-rc)));
	return 0;
}

static int glob_one(struct agent_ctx *ctx, const char *pattern)
{
	glob_t g;

	if (glob(pattern, 0, NULL, &g) != 0)
		return 0;
	for (size_t i = 0; i < g.gl_pathc; i++)
		attach(ctx, g.gl_pathv[i]);
	globfree(&g);
	return 0;
}

int agent_jvm_setup(struct agent_ctx *ctx, const char *watch_csv,
		    const char *libjvm_csv)
{
	int rc;

	if (!agent_probe_has_jvm(ctx->probe))
		return 0;
	ctx->jvm = calloc(1, sizeof(*ctx->jvm));
	if (!ctx->jvm)
		return -ENOMEM;
	rc = each_item(watch_csv, watch_one, ctx);
	if (rc < 0)
		return rc;
	return each_item(libjvm_csv, glob_one, ctx);
}

void agent_jvm_cleanup(struct agent_ctx *ctx)
{
	free(ctx->jvm);
	ctx->jvm = NULL;
}

void agent_jvm_on_mapping(struct agent_ctx *ctx, const struct agent_proc *p,
			  const char *path, uint64_t dev, uint64_t ino)
{
	const char *base = strrchr(path, '/');
	char inside[4200];
	struct stat st;

	if (!ctx->jvm || !base || strcmp(base + 1, "libjvm.so") ||
	    is_attached(ctx->jvm, dev, ino))
		return;
	/* The same file on the agent's own file system is the cheaper name;
	 * else go through the process's root (a container's file). */
	if (stat(path, &st) == 0 && st.st_dev == dev && st.st_ino == ino) {
		attach(ctx, path);
		return;
	}
	snprintf(inside, sizeof(inside), "/proc/%" PRIu32 "/root%s", p->pid,
		 path);
	attach(ctx, inside);
}

/*
 * Looks through the archives <pid> holds open for the one listing
 * <entry>; on success fills <path> (as the process sees it), <fdpath> and
 * the file's identity.
 */
static bool find_jar(uint32_t pid, const char *entry, char *path, size_t len,
		     char *fdpath, size_t fdlen, struct agent_hash_key *key)
{
	char dir[64];
	struct dirent *d;
	bool found = false;
	DIR *fds;

	snprintf(dir, sizeof(dir), "/proc/%" PRIu32 "/fd", pid);
	fds = opendir(dir);
	if (!fds)
		return false;
	while (!found && (d = readdir(fds))) {
		struct stat st;
		ssize_t n;
		int fd;

		if (d->d_name[0] == '.')
			continue;
		snprintf(fdpath, fdlen, "%s/%s", dir, d->d_name);
		n = readlink(fdpath, path, len - 1);
		if (n < 5)
			continue;
		path[n] = '\0';
		if (strcmp(path + n - 4, ".jar") && strcmp(path + n - 4, ".war") &&
		    strcmp(path + n - 4, ".ear") && strcmp(path + n - 4, ".zip"))
			continue;
		fd = open(fdpath, O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			continue;
		if (fstat(fd, &st) == 0 && agent_jar_has_entry(fd, entry)) {
			key->dev = st.st_dev;
			key->ino = st.st_ino;
			key->size = (uint64_t)st.st_size;
			key->mtime_ns = (int64_t)st.st_mtim.tv_sec * 1000000000 +
					st.st_mtim.tv_nsec;
			found = true;
		}
		close(fd);
	}
	closedir(fds);
	return found;
}

void agent_jvm_event(struct agent_ctx *ctx, const struct px_class_event *ce)
{
	const struct px_proc_ctx *c = &ce->hdr.ctx;
	char name[PX_CLASS_LEN + 1], entry[PX_CLASS_LEN + 8];
	char path[4096], fdpath[300], root[64], id[AGENT_EXEC_ID_LEN];
	char hex[PX_SHA256_HEX_LEN + 1];
	Parallax__V1__ArtifactLoaded *a;
	struct agent_hash_key key;
	Parallax__V1__Event *ev;
	int rc;

	memcpy(name, ce->name, PX_CLASS_LEN);
	name[PX_CLASS_LEN] = '\0';
	snprintf(entry, sizeof(entry), "%s.class", name);
	ev = agent_ev_new(ce->hdr.ts + ctx->wall_offset_ns,
			  PARALLAX__V1__EVENT__KIND_ARTIFACT);
	if (!ev)
		return;
	a = ev->artifact;
	agent_exec_id(id, sizeof(id), ctx->host.host_id,
		      ctx->host.kernel_boot_id, c->tgid, c->start_time);
	a->proc = agent_ev_ref(c->tgid, c->start_time, id);
	a->kind = PARALLAX__V1__LOAD_KIND__LOAD_KIND_CLASS;
	for (char *s = name; *s; s++)
		if (*s == '/')
			*s = '.';
	a->class_name = agent_ev_str(name);

	if (find_jar(c->tgid, entry, path, sizeof(path), fdpath,
		     sizeof(fdpath), &key)) {
		a->path = agent_ev_str(path);
		a->dev = key.dev;
		a->inode = key.ino;
		a->size = key.size;
		a->mtime_ns = key.mtime_ns;
		snprintf(root, sizeof(root), "/proc/%" PRIu32 "/root", c->tgid);
		if (agent_hashcache_needs_read(ctx->hc, &key) &&
		    !agent_budget_take(&ctx->io, key.size, px_mono_ns())) {
			ctx->cnt.hash_deferred++;
			rc = -EAGAIN;	/* the open-file pass hashes it */
		} else {
			rc = agent_hashcache_get(ctx->hc, &key, root, path,
						 fdpath, hex);
		}
		if (rc == 0)
			a->sha256 = agent_ev_str(hex);
		else
			a->error = agent_ev_str(strerror(-rc));
	} else {
		a->error = agent_ev_str("no open archive of the process lists the class");
	}
	ctx->cnt.classes++;
	px_info(MOD, "watched class loaded", "pid=%" PRIu32 " class=%s jar=%s",
		c->tgid, px_q(name), px_q(a->path));
	agent_emit_event(ctx->emit, ev);
}
