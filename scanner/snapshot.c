// SPDX-License-Identifier: Apache-2.0
/*
 * Snapshot kinds by content, and the dispatch to their readers (see
 * snapshot.h).  Also the memory-backed files the image readers use: a
 * memfd the file's bytes are copied into, so every check reads an image
 * file exactly as it reads a file on disk, and a worker thread can take
 * it over while the reader goes on (--threads).
 */
#include "snapshot.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <archive.h>
#include <archive_entry.h>

#include "log.h"

/* True when the tar at <path> holds a manifest.json (docker save). */
static bool is_docker_tar(const char *path)
{
	struct archive *a = archive_read_new();
	struct archive_entry *e;
	bool found = false;
	int n = 0;

	if (!a)
		return false;
	archive_read_support_format_tar(a);
	archive_read_support_filter_all(a);
	if (archive_read_open_filename(a, path, 1 << 16) == ARCHIVE_OK) {
		while (!found && n++ < 100000 &&
		       archive_read_next_header(a, &e) == ARCHIVE_OK) {
			const char *name = archive_entry_pathname(e);

			found = name && (!strcmp(name, "manifest.json") ||
					 !strcmp(name, "./manifest.json"));
		}
	}
	archive_read_free(a);
	return found;
}

enum scan_snapshot scan_snapshot_detect(const char *path)
{
	unsigned char sb[2], head[262];
	char sub[4096];
	struct stat st;
	int fd;
	ssize_t n;

	if (stat(path, &st))
		return SCAN_SNAP_FILE;
	if (S_ISDIR(st.st_mode)) {
		snprintf(sub, sizeof(sub), "%s/oci-layout", path);
		if (access(sub, R_OK) == 0) {
			snprintf(sub, sizeof(sub), "%s/index.json", path);
			if (access(sub, R_OK) == 0)
				return SCAN_SNAP_OCI;
		}
		return SCAN_SNAP_DIR;
	}
	if (!S_ISREG(st.st_mode))
		return SCAN_SNAP_FILE;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return SCAN_SNAP_FILE;
	/* ext superblock magic 0xEF53 at byte 1024 + 56 */
	n = pread(fd, sb, 2, 1080);
	if (n == 2 && sb[0] == 0x53 && sb[1] == 0xef) {
		close(fd);
		return SCAN_SNAP_EXT;
	}
	n = pread(fd, head, sizeof(head), 0);
	close(fd);
	/* a tar ("ustar" at 257) or compressed data that may be one */
	if ((n == (ssize_t)sizeof(head) && !memcmp(head + 257, "ustar", 5)) ||
	    (n >= 2 && head[0] == 0x1f && head[1] == 0x8b))
		return is_docker_tar(path) ? SCAN_SNAP_DOCKER : SCAN_SNAP_FILE;
	return SCAN_SNAP_FILE;
}

const char *scan_snapshot_name(enum scan_snapshot kind)
{
	switch (kind) {
	case SCAN_SNAP_DIR:
		return "dir";
	case SCAN_SNAP_FILE:
		return "file";
	case SCAN_SNAP_DOCKER:
		return "docker-archive";
	case SCAN_SNAP_OCI:
		return "oci";
	case SCAN_SNAP_EXT:
		return "ext4";
	}
	return "unknown";
}

static int read_image(struct scan_ctx *ctx, enum scan_snapshot kind,
		      const char *path)
{
	switch (kind) {
	case SCAN_SNAP_DOCKER:
		return scan_image_docker(ctx, path);
	case SCAN_SNAP_OCI:
		return scan_image_oci(ctx, path);
	default:
		return scan_ext_image(ctx, path);
	}
}

static void add_stats(struct scan_stats *to, const struct scan_stats *from)
{
	uint64_t *t = (uint64_t *)to;
	const uint64_t *f = (const uint64_t *)from;
	size_t i;

	for (i = 0; i < sizeof(*to) / sizeof(uint64_t); i++)
		t[i] += f[i];
}

/*
 * An image read by the calling thread while workers scan its files
 * (scan_mem_file_as() hands them to the pool).  The reader counts on a
 * context of its own, added to the run's when the workers are done, and
 * reports its events through the pool's lock.
 */
static int read_image_pooled(struct scan_ctx *ctx, enum scan_snapshot kind,
			     const char *path)
{
	struct scan_ctx rd = *ctx;
	int err;

	ctx->pool = scan_pool_start(ctx);
	if (!ctx->pool)
		return read_image(ctx, kind, path);
	memset(&rd.stats, 0, sizeof(rd.stats));
	rd.pool = ctx->pool;
	rd.events = scan_pool_event_sink(ctx->pool);
	/* rd.bar stays: the reader says how far it is, under the lock */
	err = read_image(&rd, kind, path);
	scan_pool_finish(ctx->pool);
	ctx->pool = NULL;
	add_stats(&ctx->stats, &rd.stats);
	if (rd.worst > ctx->worst)
		ctx->worst = rd.worst;
	return err;
}

/*
 * What a directory's progress is measured against: the used bytes of its
 * filesystem when it is the root of one (a mounted disk snapshot), which
 * statvfs() gives for free; else nothing, and the bar is a spinner.  A
 * first pass over the tree would give a true total, at the price of
 * reading every directory twice.  A single file's total is its size.
 */
static void progress_begin_walk(struct scan_ctx *ctx, const char *path)
{
	char parent[PATH_MAX + 4];
	struct stat st, up;
	struct statvfs vfs;

	if (!ctx->bar || stat(path, &st))
		return;
	if (S_ISREG(st.st_mode)) {
		scan_progress_follow_bytes(ctx, "scan", (uint64_t)st.st_size);
		return;
	}
	snprintf(parent, sizeof(parent), "%s/..", path);
	/* a mount point: its parent is on another device, or is itself
	 * (the root of the namespace) */
	if (!stat(parent, &up) &&
	    (up.st_dev != st.st_dev || up.st_ino == st.st_ino) &&
	    !statvfs(path, &vfs) && vfs.f_blocks >= vfs.f_bfree) {
		scan_progress_follow_bytes(ctx, "walk",
					   (uint64_t)(vfs.f_blocks - vfs.f_bfree) *
					   vfs.f_frsize);
		return;
	}
	scan_progress_begin(ctx, "walk", 0, NULL);
}

int scan_snapshot(struct scan_ctx *ctx, enum scan_snapshot kind,
		  const char *path, const char *display)
{
	switch (kind) {
	case SCAN_SNAP_DOCKER:
	case SCAN_SNAP_OCI:
	case SCAN_SNAP_EXT:
		if (ctx->threads > 1 && !ctx->lock && !ctx->pool)
			return read_image_pooled(ctx, kind, path);
		return read_image(ctx, kind, path);
	default:
		progress_begin_walk(ctx, path);
		return scan_walk_root_as(ctx, path, display);
	}
}

int scan_mem_file(struct scan_ctx *ctx, const char *path, uint64_t size,
		  const char *layer,
		  int (*fill)(void *arg, int fd, uint64_t size), void *arg)
{
	return scan_mem_file_as(ctx, path, size, layer, NULL, fill, arg);
}

int scan_mem_file_as(struct scan_ctx *ctx, const char *path, uint64_t size,
		     const char *layer, const char *link_target,
		     int (*fill)(void *arg, int fd, uint64_t size), void *arg)
{
	struct scan_file f = { 0 };
	int fd, err;

	fd = memfd_create("px-scan", MFD_CLOEXEC);
	if (fd < 0)
		return -errno;
	err = fill(arg, fd, size);
	if (err) {
		close(fd);
		return err;
	}
	if (ctx->pool) {
		scan_pool_submit(ctx->pool, path, fd, size, link_target, layer,
				 true);
		return 0;
	}
	f.path = path;
	f.fd = fd;
	f.size = size;
	f.layer_digest = layer;
	f.link_target = link_target;
	ctx->stats.files++;
	ctx->stats.bytes += size;
	scan_file_run(ctx, &f);
	close(fd);
	return 0;
}

/*
 * Resolves the link at <link> by hand, one component at a time; <lookup>
 * says what each prefix is.  The only state is the path resolved so far,
 * so a ".." can be checked against the root before it is applied.
 */
int scan_link_resolve(const char *link, scan_link_lookup_fn lookup,
		      void *arg, char *out, size_t out_len)
{
	char todo[SCAN_LINK_MAX * 2], tgt[SCAN_LINK_MAX], *rest;
	size_t len = 0, c;
	int hops = 0, kind;
	size_t n;

	if (out_len < SCAN_LINK_MAX || strlen(link) >= SCAN_LINK_MAX)
		return -ENAMETOOLONG;
	/* the link itself is read first, from its own directory */
	out[0] = '\0';
	rest = strrchr(link, '/');
	if (rest) {
		len = (size_t)(rest - link);
		memcpy(out, link, len);
		out[len] = '\0';
	}
	kind = lookup(arg, link, tgt, sizeof(tgt));
	if (kind < 0)
		return kind;
	if (kind != SCAN_LINK_LINK)
		return -EINVAL;
	for (;;) {
		if (tgt[0] == '/')
			len = 0;
		out[len] = '\0';
		/* the remaining components: the new target, then what the
		 * previous one still had to go */
		if (snprintf(todo, sizeof(todo), "%s", tgt) >=
		    (int)sizeof(todo))
			return -ENAMETOOLONG;
		rest = todo;
		for (;;) {
			while (*rest == '/')
				rest++;
			if (!*rest)
				return 0;
			c = strcspn(rest, "/");
			if (c == 1 && rest[0] == '.') {
				rest += c;
				continue;
			}
			if (c == 2 && rest[0] == '.' && rest[1] == '.') {
				if (!len)
					return -EXDEV;
				while (len && out[len - 1] != '/')
					len--;
				if (len)
					len--;
				out[len] = '\0';
				rest += c;
				continue;
			}
			if (len + 1 + c + 1 > SCAN_LINK_MAX)
				return -ENAMETOOLONG;
			if (len)
				out[len++] = '/';
			memcpy(out + len, rest, c);
			len += c;
			out[len] = '\0';
			rest += c;
			kind = lookup(arg, out, tgt, sizeof(tgt));
			if (kind < 0)
				return kind;
			if (kind == SCAN_LINK_LINK)
				break;
			if (kind != SCAN_LINK_DIR && rest[strspn(rest, "/")])
				return -ENOTDIR;
		}
		/* <out> is a link: splice its target in front of <rest> */
		if (++hops > SCAN_LINK_HOPS)
			return -ELOOP;
		n = strlen(tgt);
		if (n + strlen(rest) + 1 >= sizeof(tgt))
			return -ENAMETOOLONG;
		strcat(tgt, rest);
		while (len && out[len - 1] != '/')
			len--;
		if (len)
			len--;
	}
}
