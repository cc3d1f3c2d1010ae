// SPDX-License-Identifier: Apache-2.0
/*
 * The directory walk over a snapshot: openat() and fdopendir() from the root
 * down, so no name is ever resolved twice and a symlink planted in the
 * snapshot cannot lead the scanner out of it.  Devices, sockets and fifos
 * are skipped without a word (they hold no artifact); a file or directory
 * that cannot be opened or read is logged, counted, and skipped.
 *
 * Symlinks are resolved by hand, one component at a time, as if the root
 * were "/": an absolute target starts at the root, a ".." above the root
 * escapes it.  A link that resolves to a regular file inside the root has
 * that file scanned under the link's own path (a JVM may load it by that
 * name), once per target file; the file is opened component by component
 * with O_NOFOLLOW, so a link swapped in meanwhile cannot redirect it.
 * Links to directories are not followed: the directory is walked under
 * its own path already.  Escaping and looping links are events.
 */
#include "snapshot.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "log.h"

#define WALK_MAX_DEPTH 256   /* directory nesting; each level holds an fd */

/* (device, inode) pairs of the files scanned through links. */
struct idset {
	uint64_t (*slots)[2];   /* { dev, ino + 1 }; ino + 1 == 0: free */
	size_t cap, n;
};

struct walk {
	struct scan_ctx *ctx;
	char *path;          /* path of the current object, NUL-terminated */
	size_t len, cap;
	size_t root_len;     /* bytes of <path> naming the root */
	int rootfd;          /* the root directory, or -1 */
	struct idset linked;
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

/* Scans the open regular file <fd> (taken: closed here), named by the
 * current path; <target> as in scan_file.link_target. */
static void scan_regular(struct walk *w, int fd, const struct stat *st,
			 const char *target)
{
	struct scan_file f = { 0 };

	if (w->ctx->pool) {
		scan_pool_submit(w->ctx->pool, w->path, fd,
				 (uint64_t)st->st_size, target, NULL, false);
		return;
	}
	f.path = w->path;
	f.fd = fd;
	f.size = (uint64_t)st->st_size;
	f.link_target = target;
	w->ctx->stats.files++;
	w->ctx->stats.bytes += f.size;
	scan_file_run(w->ctx, &f);
	close(fd);
}

static void walk_dir(struct walk *w, int fd, int depth);

/* ---- symlinks --------------------------------------------------------- */

static uint64_t id_hash(uint64_t dev, uint64_t ino)
{
	uint64_t h = (dev * 0x9e3779b97f4a7c15ull) ^ ino;

	h ^= h >> 31;
	return h * 0xbf58476d1ce4e5b9ull;
}

/* Adds (dev, ino); 1 when it was new, 0 when already there, -ENOMEM. */
static int idset_add(struct idset *s, uint64_t dev, uint64_t ino)
{
	size_t i, mask;

	if ((s->n + 1) * 2 > s->cap) {
		struct idset big = { 0 };

		big.cap = s->cap ? s->cap * 2 : 64;
		big.slots = calloc(big.cap, sizeof(*big.slots));
		if (!big.slots)
			return -ENOMEM;
		for (i = 0; i < s->cap; i++)
			if (s->slots[i][1])
				idset_add(&big, s->slots[i][0],
					  s->slots[i][1] - 1);
		free(s->slots);
		*s = big;
	}
	mask = s->cap - 1;
	for (i = id_hash(dev, ino) & mask; s->slots[i][1]; i = (i + 1) & mask)
		if (s->slots[i][0] == dev && s->slots[i][1] == ino + 1)
			return 0;
	s->slots[i][0] = dev;
	s->slots[i][1] = ino + 1;
	s->n++;
	return 1;
}

/* scan_link_resolve() callback over the real directory <arg> (an fd). */
static int dir_lookup(void *arg, const char *rel, char *target, size_t len)
{
	int rootfd = *(int *)arg;
	struct stat st;
	ssize_t n;

	if (fstatat(rootfd, rel, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return -errno;
	if (S_ISDIR(st.st_mode))
		return SCAN_LINK_DIR;
	if (!S_ISLNK(st.st_mode))
		return SCAN_LINK_OTHER;
	n = readlinkat(rootfd, rel, target, len - 1);
	if (n < 0)
		return -errno;
	target[n] = '\0';
	return SCAN_LINK_LINK;
}

/*
 * Opens entry <name> of <dfd> for reading only when it is a regular file,
 * -EINVAL (nothing opened) otherwise.  The open of a device can act on it
 * (a tape rewinds, a watchdog arms) and a fifo's has its writer go on, so
 * the entry is first opened with O_PATH, which touches neither, checked
 * with fstat, and only then reopened through /proc/self/fd.  Without
 * /proc the check is fstatat before a non-blocking open and fstat after.
 */
static int open_regular_at(int dfd, const char *name)
{
	const int flags = O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY |
			  O_NONBLOCK;
	struct stat st, again;
	char proc[64];
	int pfd, fd;

	pfd = openat(dfd, name, O_PATH | O_NOFOLLOW | O_CLOEXEC);
	if (pfd < 0)
		return -errno;
	if (fstat(pfd, &st) < 0) {
		fd = -errno;
		close(pfd);
		return fd;
	}
	if (!S_ISREG(st.st_mode)) {
		close(pfd);
		return -EINVAL;
	}
	snprintf(proc, sizeof(proc), "/proc/self/fd/%d", pfd);
	fd = open(proc, flags & ~O_NOFOLLOW);
	close(pfd);
	if (fd >= 0)
		return fd;
	if (errno != ENOENT)
		return -errno;
	fd = openat(dfd, name, flags);
	if (fd < 0)
		return -errno;
	/* the entry may have been swapped between the two calls */
	if (fstat(fd, &again) < 0 || !S_ISREG(again.st_mode) ||
	    again.st_dev != st.st_dev || again.st_ino != st.st_ino) {
		close(fd);
		return -EINVAL;
	}
	return fd;
}

/* Opens root-relative <rel> (no links in it) below <rootfd> one component
 * at a time, refusing any symlink, and the last one only when it is a
 * regular file; an fd or -errno. */
static int open_beneath(int rootfd, const char *rel)
{
	char comp[256];
	const char *p = rel;
	int dfd = rootfd, fd;
	size_t c;

	for (;;) {
		c = strcspn(p, "/");
		if (!c || c >= sizeof(comp)) {
			fd = -EINVAL;
			break;
		}
		memcpy(comp, p, c);
		comp[c] = '\0';
		p += c;
		while (*p == '/')
			p++;
		if (*p) {
			fd = openat(dfd, comp, O_RDONLY | O_NOFOLLOW |
				    O_CLOEXEC | O_DIRECTORY);
			if (fd < 0)
				fd = -errno;
		} else {
			fd = open_regular_at(dfd, comp);
		}
		if (dfd != rootfd)
			close(dfd);
		if (fd < 0 || !*p)
			break;
		dfd = fd;
	}
	return fd;
}

/* Follows the symlink that is the current path (entry of the walk). */
static void visit_link(struct walk *w)
{
	const char *rel = w->path + w->root_len;
	char target[SCAN_LINK_MAX], shown[SCAN_LINK_MAX + 1];
	struct stat st;
	int fd, err;

	while (*rel == '/')
		rel++;
	if (w->rootfd < 0)
		return;
	err = scan_link_resolve(rel, dir_lookup, &w->rootfd, target,
				sizeof(target));
	if (err == -EXDEV || err == -ELOOP) {
		if (w->ctx->pool)
			scan_pool_lock(w->ctx->pool, true);
		w->ctx->stats.errors++;
		scan_event(w->ctx, "symlink", err == -EXDEV ?
			   "link escapes the snapshot root, not followed" :
			   "link loops, not followed", w->path, "", NULL);
		if (w->ctx->pool)
			scan_pool_lock(w->ctx->pool, false);
		return;
	}
	if (err || !target[0]) {
		px_debug("scan", "symlink not followed", "path=%s err=%s",
			 px_q(w->path), px_q(err ? strerror(-err) :
					     "names the root"));
		return;
	}
	fd = open_beneath(w->rootfd, target);
	if (fd < 0) {
		px_debug("scan", "symlink target unreadable", "path=%s err=%s",
			 px_q(w->path), px_q(strerror(-fd)));
		return;
	}
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) ||
	    idset_add(&w->linked, (uint64_t)st.st_dev,
		      (uint64_t)st.st_ino) != 1) {
		close(fd);      /* a directory, device, or scanned already */
		return;
	}
	snprintf(shown, sizeof(shown), "/%s", target);
	scan_regular(w, fd, &st, shown);
}

/* ---- the walk --------------------------------------------------------- */

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
	case DT_LNK:
		return S_IFLNK;
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
 * refuses a symlink swapped in meanwhile and open_regular_at() a device
 * or fifo.
 */
static void visit(struct walk *w, int dfd, const char *name,
		  unsigned char d_type, int depth)
{
	mode_t type = entry_type(w, dfd, name, d_type);
	int flags = O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY | O_NONBLOCK;
	struct stat st;
	int fd;

	if (type == S_IFLNK) {
		visit_link(w);
		return;
	}
	if (type != S_IFDIR && type != S_IFREG)
		return;
	if (type == S_IFDIR) {
		fd = openat(dfd, name, flags | O_DIRECTORY);
		if (fd < 0)
			fd = -errno;
	} else {
		fd = open_regular_at(dfd, name);
	}
	if (fd < 0) {
		/* ELOOP: now a symlink; EINVAL: no longer a regular file */
		if (fd != -ELOOP && fd != -EINVAL)
			walk_error(w, type == S_IFDIR ? "directory unreadable" :
				   "file unreadable", -fd);
		return;
	}
	if (fstat(fd, &st) < 0) {
		walk_error(w, "stat failed", errno);
		close(fd);
	} else if (S_ISDIR(st.st_mode)) {
		walk_dir(w, fd, depth + 1);
	} else if (S_ISREG(st.st_mode)) {
		scan_regular(w, fd, &st, NULL);
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
	struct walk w = { .ctx = ctx, .rootfd = -1 };
	struct stat st;
	int fd, err = 0;

	if (path_push(&w, display) < 0)
		return -ENOMEM;
	while (w.len > 1 && w.path[w.len - 1] == '/')
		w.path[--w.len] = '\0';
	w.root_len = w.len;
	fd = open(root, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (fd < 0 || fstat(fd, &st) < 0) {
		err = -errno;
		goto out_close;
	}
	if (S_ISDIR(st.st_mode)) {
		if (ctx->threads > 1 && !ctx->lock)
			ctx->pool = scan_pool_start(ctx);
		w.rootfd = dup(fd);
		walk_dir(&w, fd, 0);
		fd = -1;
		if (ctx->pool) {
			scan_pool_finish(ctx->pool);
			ctx->pool = NULL;
		}
	} else if (S_ISREG(st.st_mode)) {
		scan_regular(&w, fd, &st, NULL);
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
	if (w.rootfd >= 0)
		close(w.rootfd);
	free(w.linked.slots);
	free(w.path);
	return err;
}

int scan_walk_root(struct scan_ctx *ctx, const char *root)
{
	return scan_walk_root_as(ctx, root, root);
}
