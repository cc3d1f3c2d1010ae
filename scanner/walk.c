// SPDX-License-Identifier: Apache-2.0
/*
 * The directory walk over a snapshot: openat() and fdopendir() from the root
 * down, so no name is ever resolved twice and a symlink planted in the
 * snapshot cannot lead the scanner out of it.  Symlinks, devices, sockets
 * and fifos are skipped without a word (they hold no artifact); a file or
 * directory that cannot be opened or read is logged, counted, and skipped.
 */
#include "scan.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "log.h"

#define WALK_MAX_DEPTH 256   /* directory nesting; each level holds an fd */

struct walk {
	struct scan_ctx *ctx;
	char *path;          /* path of the current object, NUL-terminated */
	size_t len, cap;
};

static void walk_error(struct walk *w, const char *what, int err)
{
	if (w->ctx->pool)
		scan_pool_count_error(w->ctx->pool);
	else
		w->ctx->stats.errors++;
	px_warn("scan", what, "path=%s err=%s", px_q(w->path),
		px_q(strerror(err)));
}

/* Appends "/<name>" to the current path; returns the old length to restore,
 * or -ENOMEM. */
static ssize_t path_push(struct walk *w, const char *name)
{
	size_t old = w->len, n = strlen(name), need;
	bool slash = w->len && w->path[w->len - 1] != '/';
	char *np;

	need = w->len + slash + n + 1;
	if (need > w->cap) {
		np = realloc(w->path, need * 2);
		if (!np)
			return -ENOMEM;
		w->path = np;
		w->cap = need * 2;
	}
	if (slash)
		w->path[w->len++] = '/';
	memcpy(w->path + w->len, name, n + 1);
	w->len += n;
	return (ssize_t)old;
}

static void path_pop(struct walk *w, size_t old)
{
	w->len = old;
	w->path[old] = '\0';
}

/* Scans the open regular file <fd> (taken: closed here). */
static void scan_regular(struct walk *w, int fd, const struct stat *st)
{
	struct scan_file f = { 0 };

	if (w->ctx->pool) {
		scan_pool_submit(w->ctx->pool, w->path, fd,
				 (uint64_t)st->st_size);
		return;
	}
	f.path = w->path;
	f.fd = fd;
	f.size = (uint64_t)st->st_size;
	w->ctx->stats.files++;
	w->ctx->stats.bytes += f.size;
	scan_file_run(w->ctx, &f);
	close(fd);
}

static void walk_dir(struct walk *w, int fd, int depth);

/* The type of entry <name> of <dfd>, from readdir or, when it does not
 * say, from fstatat without following links.  0 when unknown. */
static mode_t entry_type(struct walk *w, int dfd, const char *name,
			 unsigned char d_type)
{
	struct stat st;

	switch (d_type) {
	case DT_DIR:
		return S_IFDIR;
	case DT_REG:
		return S_IFREG;
	case DT_UNKNOWN:
		break;
	default:
		return 0;       /* symlink, device, socket, fifo */
	}
	if (fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0) {
		walk_error(w, "stat failed", errno);
		return 0;
	}
	return st.st_mode & S_IFMT;
}

/*
 * Opens entry <name> of <dfd> and scans it.  The type is checked again on
 * the open descriptor, since the snapshot may change under us; O_NOFOLLOW
 * refuses a symlink swapped in meanwhile and O_NONBLOCK a fifo.
 */
static void visit(struct walk *w, int dfd, const char *name,
		  unsigned char d_type, int depth)
{
	mode_t type = entry_type(w, dfd, name, d_type);
	int flags = O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY | O_NONBLOCK;
	struct stat st;
	int fd;

	if (type != S_IFDIR && type != S_IFREG)
		return;
	fd = openat(dfd, name, flags | (type == S_IFDIR ? O_DIRECTORY : 0));
	if (fd < 0) {
		if (errno != ELOOP)
			walk_error(w, type == S_IFDIR ? "directory unreadable" :
				   "file unreadable", errno);
		return;
	}
	if (fstat(fd, &st) < 0) {
		walk_error(w, "stat failed", errno);
		close(fd);
	} else if (S_ISDIR(st.st_mode)) {
		walk_dir(w, fd, depth + 1);
	} else if (S_ISREG(st.st_mode)) {
		scan_regular(w, fd, &st);
	} else {
		close(fd);
	}
}

/* Walks the directory open as <fd> (taken: closed here). */
static void walk_dir(struct walk *w, int fd, int depth)
{
	struct dirent *de;
	ssize_t old;
	DIR *d;

	if (depth > WALK_MAX_DEPTH) {
		walk_error(w, "directory nested too deep, skipped", ELOOP);
		close(fd);
		return;
	}
	d = fdopendir(fd);
	if (!d) {
		walk_error(w, "directory unreadable", errno);
		close(fd);
		return;
	}
	for (;;) {
		errno = 0;
		de = readdir(d);
		if (!de)
			break;
		if (strcmp(de->d_name, ".") == 0 ||
		    strcmp(de->d_name, "..") == 0)
			continue;
		old = path_push(w, de->d_name);
		if (old < 0)
			break;
		visit(w, dirfd(d), de->d_name, de->d_type, depth);
		path_pop(w, (size_t)old);
	}
	if (errno)
		walk_error(w, "directory read failed", errno);
	closedir(d);
}

/*
 * The root is opened as named (a symlink given on the command line is the
 * operator's choice); everything below it is opened without following.
 */
int scan_walk_root_as(struct scan_ctx *ctx, const char *root,
		      const char *display)
{
	struct walk w = { ctx, NULL, 0, 0 };
	struct stat st;
	int fd, err = 0;

	if (path_push(&w, display) < 0)
		return -ENOMEM;
	while (w.len > 1 && w.path[w.len - 1] == '/')
		w.path[--w.len] = '\0';
	fd = open(root, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (fd < 0 || fstat(fd, &st) < 0) {
		err = -errno;
		goto out_close;
	}
	if (S_ISDIR(st.st_mode)) {
		if (ctx->threads > 1 && !ctx->lock)
			ctx->pool = scan_pool_start(ctx);
		walk_dir(&w, fd, 0);
		fd = -1;
		if (ctx->pool) {
			scan_pool_finish(ctx->pool);
			ctx->pool = NULL;
		}
	} else if (S_ISREG(st.st_mode)) {
		scan_regular(&w, fd, &st);
		fd = -1;
	} else {
		err = -EINVAL;
	}
out_close:
	if (err)
		px_error("scan", "scan root unreadable", "path=%s err=%s",
			 px_q(root), px_q(err == -EINVAL ?
			 "not a directory or regular file" : strerror(-err)));
	if (fd >= 0)
		close(fd);
	free(w.path);
	return err;
}

int scan_walk_root(struct scan_ctx *ctx, const char *root)
{
	return scan_walk_root_as(ctx, root, root);
}
