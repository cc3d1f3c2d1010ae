// SPDX-License-Identifier: Apache-2.0
/*
 * Raw ext2/3/4 filesystem images read with libext2fs, read-only and
 * without mounting: the directory tree from the root inode down, every
 * regular file copied to a memory-backed file and scanned as
 * "/<path in the image>".  Devices, sockets and fifos are skipped like in
 * a directory walk.  A directory inode is entered once: a corrupt image
 * whose directories are hard-linked into each other (a loop, or a chain
 * that doubles the tree at each level) gets an event instead of a walk
 * that never ends.  The walk itself is a file on disk's work: its
 * directory entries count against max_entries and the time it spends
 * outside the files it scans against max_file_ms.  Symlinks are resolved
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

#include "host.h"
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
	size_t max;             /* entries kept at most (max_entries) */
	bool nomem, over;
};

struct ext_walk {
	struct scan_ctx *ctx;
	ext2_filsys fs;
	const char *image;
	ext2fs_inode_bitmap linked;  /* target inodes scanned through links */
	ext2fs_inode_bitmap entered; /* directories walked */
	int depth;
	uint64_t started_ns;    /* of the walk */
	uint64_t scanning_ns;   /* spent scanning files, not walking */
	uint64_t entries;       /* directory entries met */
	bool stopped;           /* a walk limit was hit */
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
	if (l->max && l->n >= l->max) {
		l->over = true;
		return DIRENT_ABORT;
	}
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

/* Marks <ino> in <map>; false when it was marked already or is out of
 * the bitmap's range (a corrupt entry). */
static bool inode_mark(ext2fs_inode_bitmap map, ext2_ino_t ino)
{
	if (ino < 1 || ino > ext2fs_get_inode_bitmap_end2(map) ||
	    ext2fs_test_inode_bitmap2(map, ino))
		return false;
	ext2fs_mark_inode_bitmap2(map, ino);
	return true;
}

/* True, with a "limit" event once, when the walk has met more entries
 * than max_entries or spent more than max_file_ms of its own. */
static bool walk_over(struct ext_walk *w)
{
	const struct scan_limits *lim = &w->ctx->limits;
	const char *what = NULL;

	if (w->stopped)
		return true;
	if (lim->max_entries && w->entries > lim->max_entries)
		what = "max_entries";
	else if (lim->max_file_ms && (w->entries & 63) == 0 &&
		 px_now_ns() - w->started_ns - w->scanning_ns >
		 (uint64_t)lim->max_file_ms * 1000000ull)
		what = "max_file_ms";
	if (!what)
		return false;
	w->stopped = true;
	w->ctx->stats.limit_hits++;
	scan_event(w->ctx, "limit", what, w->image, "", NULL);
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
	    !LINUX_S_ISREG(inode.i_mode) || !inode_mark(w->linked, ino))
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
	uint64_t size = EXT2_I_SIZE(inode), t0;
	int err;

	if (size > w->ctx->limits.max_archive_bytes) {
		w->ctx->stats.budget_hits++;
		scan_event(w->ctx, "limit", "max_archive_bytes", path, "", NULL);
		return;
	}
	t0 = px_now_ns();
	err = scan_mem_file_as(w->ctx, path, size, NULL, link_target,
			       fill_from_inode, &ef);
	w->scanning_ns += px_now_ns() - t0;
	if (err) {
		w->ctx->stats.errors++;
		scan_event(w->ctx, "corrupt", "file unreadable", path, "", NULL);
	}
}

/* One directory entry: a directory to enter or a regular file to scan. */
static void visit(struct ext_walk *w, ext2_ino_t ino, const char *path)
{
	struct ext2_inode inode;

	w->entries++;
	scan_progress_at(w->ctx, w->entries);
	if (walk_over(w))
		return;
	if (ext2fs_read_inode(w->fs, ino, &inode)) {
		w->ctx->stats.errors++;
		scan_event(w->ctx, "corrupt", "inode unreadable", path, "", NULL);
		return;
	}
	if (LINUX_S_ISDIR(inode.i_mode)) {
		if (!inode_mark(w->entered, ino)) {
			w->ctx->stats.errors++;
			w->ctx->stats.corrupt++;
			scan_event(w->ctx, "corrupt",
				   "directory linked twice, entered once",
				   path, "", NULL);
			return;
		}
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
	errcode_t rc;
	char *sub;
	size_t i;

	if (w->depth >= EXT_MAX_DEPTH) {
		scan_event(w->ctx, "limit", "directory depth", path, "", NULL);
		return;
	}
	w->depth++;
	l.max = (size_t)w->ctx->limits.max_entries;
	rc = ext2fs_dir_iterate(w->fs, dir, 0, NULL, list_entry, &l);
	if (l.over) {
		/* what was listed is still walked */
		w->ctx->stats.limit_hits++;
		scan_event(w->ctx, "limit", "max_entries", path, "", NULL);
	} else if (rc || l.nomem) {
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

/*
 * The directory entries the walk should meet, from the superblock's
 * counts: every inode in use but the reserved ones, which no directory
 * names (lost+found, the first unreserved one, is named).  The count can
 * be stale or lie in a damaged image; it only scales the bar.
 */
static uint64_t used_inodes(ext2_filsys fs)
{
	uint64_t used, reserved = EXT2_FIRST_INODE(fs->super) - 1;

	if (fs->super->s_free_inodes_count > fs->super->s_inodes_count)
		return 0;
	used = fs->super->s_inodes_count - fs->super->s_free_inodes_count;
	return used > reserved ? used - reserved : 0;
}

int scan_ext_image(struct scan_ctx *ctx, const char *img_path)
{
	struct ext_walk *w = calloc(1, sizeof(*w));
	errcode_t rc;
	int err = 0;

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
	rc = ext2fs_allocate_inode_bitmap(w->fs, "linked", &w->linked);
	if (!rc)
		rc = ext2fs_allocate_inode_bitmap(w->fs, "entered", &w->entered);
	if (rc) {
		px_error("scan", "ext image walk failed", "path=%s err=%s",
			 px_q(img_path), px_q(error_message(rc)));
		err = -ENOMEM;
		goto out_close;
	}
	w->started_ns = px_now_ns();
	scan_progress_begin(ctx, "inodes", used_inodes(w->fs), "inodes");
	inode_mark(w->entered, EXT2_ROOT_INO);
	walk_dir(w, EXT2_ROOT_INO, "/");
out_close:
	if (w->linked)
		ext2fs_free_inode_bitmap(w->linked);
	if (w->entered)
		ext2fs_free_inode_bitmap(w->entered);
	ext2fs_close_free(&w->fs);
	free(w);
	return err;
}
