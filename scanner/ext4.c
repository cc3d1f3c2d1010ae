// SPDX-License-Identifier: Apache-2.0
/*
 * Raw ext2/3/4 filesystem images read with libext2fs, read-only and
 * without mounting: the directory tree from the root inode down, every
 * regular file copied to a memory-backed file and scanned as
 * "/<path in the image>".  Devices, sockets and fifos are skipped like in
 * a directory walk; a directory whose inode is already on the current path
 * (a corrupt image's loop) is not entered again.  Symlinks are resolved
 * inside the image as in the walk (scan_link_resolve()): one naming a
 * regular file is scanned under its own path, once per target inode; an
 * escaping or looping one is an event.
 */
#include "snapshot.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <ext2fs/ext2fs.h>

#include "log.h"

#define EXT_MAX_DEPTH 256
#define EXT_CHUNK (256 * 1024)

struct ext_entry {
	ext2_ino_t ino;
	char *name;
};

struct ext_list {
	struct ext_entry *v;
	size_t n, cap;
	bool nomem;
};

struct ext_walk {
	struct scan_ctx *ctx;
	ext2_filsys fs;
	const char *image;
	ext2_ino_t *linked;     /* target inodes scanned through links */
	size_t n_linked, cap_linked;
	ext2_ino_t stack[EXT_MAX_DEPTH];
	int depth;
};

static int list_entry(struct ext2_dir_entry *de, int offset, int blocksize,
		      char *buf, void *priv)
{
	struct ext_list *l = priv;
	int len = ext2fs_dirent_name_len(de);

	(void)offset;
	(void)blocksize;
	(void)buf;
	if ((len == 1 && de->name[0] == '.') ||
	    (len == 2 && de->name[0] == '.' && de->name[1] == '.'))
		return 0;
	if (l->n == l->cap) {
		struct ext_entry *nv = realloc(l->v, (l->cap ? l->cap * 2 : 32) *
					       sizeof(*nv));

		if (!nv) {
			l->nomem = true;
			return DIRENT_ABORT;
		}
		l->v = nv;
		l->cap = l->cap ? l->cap * 2 : 32;
	}
	l->v[l->n].ino = de->inode;
	l->v[l->n].name = strndup(de->name, (size_t)len);
	if (!l->v[l->n].name) {
		l->nomem = true;
		return DIRENT_ABORT;
	}
	l->n++;
	return 0;
}

struct ext_fill {
	ext2_filsys fs;
	ext2_ino_t ino;
};

static int fill_from_inode(void *arg, int fd, uint64_t size)
{
	struct ext_fill *ef = arg;
	ext2_file_t file;
	char *buf = malloc(EXT_CHUNK);
	uint64_t off = 0;
	unsigned int got;
	int err = 0;

	if (!buf)
		return -ENOMEM;
	if (ext2fs_file_open(ef->fs, ef->ino, 0, &file)) {
		free(buf);
		return -EIO;
	}
	while (off < size) {
		if (ext2fs_file_read(file, buf, EXT_CHUNK, &got)) {
			err = -EIO;
			break;
		}
		if (got == 0)
			break;
		if (pwrite(fd, buf, got, (off_t)off) != (ssize_t)got) {
			err = -errno;
			break;
		}
		off += got;
	}
	ext2fs_file_close(file);
	free(buf);
	if (!err && ftruncate(fd, (off_t)size))
		err = -errno;
	return err;
}

static void walk_dir(struct ext_walk *w, ext2_ino_t dir, const char *path);

/* The target of link inode <ino> in <buf> (<len> bytes with the NUL). */
static int read_link(ext2_filsys fs, ext2_ino_t ino,
		     struct ext2_inode *inode, char *buf, size_t len)
{
	uint64_t size = EXT2_I_SIZE(inode);
	ext2_file_t file;
	unsigned int got;
	size_t isz = 0;

	if (size >= len)
		return -ENAMETOOLONG;
	if (inode->i_flags & EXT4_INLINE_DATA_FL) {
		if (size > sizeof(inode->i_block))
			return -ENAMETOOLONG;   /* inline past i_block */
		if (ext2fs_inline_data_get(fs, ino, inode, buf, &isz))
			return -EIO;
	} else if (ext2fs_is_fast_symlink(inode)) {
		if (size > sizeof(inode->i_block))
			return -EIO;    /* a corrupt size */
		memcpy(buf, inode->i_block, (size_t)size);
	} else {
		if (ext2fs_file_open(fs, ino, 0, &file))
			return -EIO;
		if (ext2fs_file_read(file, buf, (unsigned int)size, &got) ||
		    got != size) {
			ext2fs_file_close(file);
			return -EIO;
		}
		ext2fs_file_close(file);
	}
	buf[size] = '\0';
	return 0;
}

/* scan_link_resolve() callback over the image (<arg>: the walk). */
static int ext_lookup(void *arg, const char *rel, char *target, size_t len)
{
	struct ext_walk *w = arg;
	struct ext2_inode inode;
	ext2_ino_t ino;
	int err;

	if (ext2fs_namei(w->fs, EXT2_ROOT_INO, EXT2_ROOT_INO, rel, &ino))
		return -ENOENT;
	if (ext2fs_read_inode(w->fs, ino, &inode))
		return -EIO;
	if (LINUX_S_ISDIR(inode.i_mode))
		return SCAN_LINK_DIR;
	if (!LINUX_S_ISLNK(inode.i_mode))
		return SCAN_LINK_OTHER;
	err = read_link(w->fs, ino, &inode, target, len);
	return err ? err : SCAN_LINK_LINK;
}

/* Adds <ino> to the inodes scanned through links; false when it was
 * there already (or memory ran out). */
static bool linked_add(struct ext_walk *w, ext2_ino_t ino)
{
	size_t i;

	for (i = 0; i < w->n_linked; i++)
		if (w->linked[i] == ino)
			return false;
	if (w->n_linked == w->cap_linked) {
		size_t cap = w->cap_linked ? w->cap_linked * 2 : 64;
		ext2_ino_t *nv = realloc(w->linked, cap * sizeof(*nv));

		if (!nv)
			return false;
		w->linked = nv;
		w->cap_linked = cap;
	}
	w->linked[w->n_linked++] = ino;
	return true;
}

static void scan_inode(struct ext_walk *w, ext2_ino_t ino,
		       struct ext2_inode *inode, const char *path,
		       const char *link_target);

/* Follows the symlink at <path> (absolute in the image). */
static void visit_link(struct ext_walk *w, const char *path)
{
	char target[SCAN_LINK_MAX], shown[SCAN_LINK_MAX + 1];
	struct ext2_inode inode;
	ext2_ino_t ino;
	int err;

	err = scan_link_resolve(path + 1, ext_lookup, w, target,
				sizeof(target));
	if (err == -EXDEV || err == -ELOOP) {
		w->ctx->stats.errors++;
		scan_event(w->ctx, "symlink", err == -EXDEV ?
			   "link escapes the snapshot root, not followed" :
			   "link loops, not followed", path, "", NULL);
		return;
	}
	if (err || !target[0] ||
	    ext2fs_namei(w->fs, EXT2_ROOT_INO, EXT2_ROOT_INO, target, &ino) ||
	    ext2fs_read_inode(w->fs, ino, &inode) ||
	    !LINUX_S_ISREG(inode.i_mode) || !linked_add(w, ino))
		return;         /* dangling, a directory, or seen already */
	snprintf(shown, sizeof(shown), "/%s", target);
	scan_inode(w, ino, &inode, path, shown);
}

/* Scans regular file <ino> as <path>. */
static void scan_inode(struct ext_walk *w, ext2_ino_t ino,
		       struct ext2_inode *inode, const char *path,
		       const char *link_target)
{
	struct ext_fill ef = { w->fs, ino };
	uint64_t size = EXT2_I_SIZE(inode);
	int err;

	if (size > w->ctx->limits.max_archive_bytes) {
		w->ctx->stats.budget_hits++;
		scan_event(w->ctx, "limit", "max_archive_bytes", path, "", NULL);
		return;
	}
	err = scan_mem_file_as(w->ctx, path, size, NULL, link_target,
			       fill_from_inode, &ef);
	if (err) {
		w->ctx->stats.errors++;
		scan_event(w->ctx, "corrupt", "file unreadable", path, "", NULL);
	}
}

/* One directory entry: a directory to enter or a regular file to scan. */
static void visit(struct ext_walk *w, ext2_ino_t ino, const char *path)
{
	struct ext2_inode inode;
	int i;

	if (ext2fs_read_inode(w->fs, ino, &inode)) {
		w->ctx->stats.errors++;
		scan_event(w->ctx, "corrupt", "inode unreadable", path, "", NULL);
		return;
	}
	if (LINUX_S_ISDIR(inode.i_mode)) {
		for (i = 0; i < w->depth; i++)
			if (w->stack[i] == ino)
				return;
		walk_dir(w, ino, path);
	} else if (LINUX_S_ISREG(inode.i_mode)) {
		scan_inode(w, ino, &inode, path, NULL);
	} else if (LINUX_S_ISLNK(inode.i_mode)) {
		visit_link(w, path);
	}
}

static void walk_dir(struct ext_walk *w, ext2_ino_t dir, const char *path)
{
	struct ext_list l = { 0 };
	char *sub;
	size_t i;

	if (w->depth >= EXT_MAX_DEPTH) {
		scan_event(w->ctx, "limit", "directory depth", path, "", NULL);
		return;
	}
	w->stack[w->depth++] = dir;
	if (ext2fs_dir_iterate(w->fs, dir, 0, NULL, list_entry, &l) ||
	    l.nomem) {
		w->ctx->stats.errors++;
		scan_event(w->ctx, "corrupt", "directory unreadable", path, "",
			   NULL);
	}
	for (i = 0; i < l.n; i++) {
		if (asprintf(&sub, "%s/%s", strcmp(path, "/") ? path : "",
			     l.v[i].name) >= 0) {
			visit(w, l.v[i].ino, sub);
			free(sub);
		}
		free(l.v[i].name);
	}
	free(l.v);
	w->depth--;
}

int scan_ext_image(struct scan_ctx *ctx, const char *img_path)
{
	struct ext_walk *w = calloc(1, sizeof(*w));
	errcode_t rc;

	if (!w)
		return -ENOMEM;
	w->ctx = ctx;
	w->image = img_path;
	/* no EXT2_FLAG_RW: the image is never written */
	rc = ext2fs_open(img_path, EXT2_FLAG_64BITS, 0, 0, unix_io_manager,
			 &w->fs);
	if (rc) {
		px_error("scan", "ext image unreadable", "path=%s err=%s",
			 px_q(img_path), px_q(error_message(rc)));
		free(w);
		return -EINVAL;
	}
	walk_dir(w, EXT2_ROOT_INO, "/");
	ext2fs_close_free(&w->fs);
	free(w->linked);
	free(w);
	return 0;
}
