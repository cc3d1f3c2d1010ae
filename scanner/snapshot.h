/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The kinds of snapshot a scan root can be, recognised by content, and the
 * readers for the ones that are not a plain directory: container images
 * (docker-save tar, OCI image layout; image.c) and ext2/3/4 disk images
 * (ext4.c).  Files inside images are named by their path in the image
 * ("/usr/lib/jvm/..."), with the layer digest on each finding.
 */
#ifndef PX_SCAN_SNAPSHOT_H
#define PX_SCAN_SNAPSHOT_H

#include "scan.h"

enum scan_snapshot {
	SCAN_SNAP_DIR,
	SCAN_SNAP_FILE,
	SCAN_SNAP_DOCKER,       /* docker save: manifest.json + layer tars */
	SCAN_SNAP_OCI,          /* directory with oci-layout and index.json */
	SCAN_SNAP_EXT,          /* raw ext2/3/4 filesystem image */
};

/* What <path> is; SCAN_SNAP_FILE for any file not recognised. */
enum scan_snapshot scan_snapshot_detect(const char *path);
/* "dir", "file", "docker-archive", "oci", "ext4" (as in ScanReport). */
const char *scan_snapshot_name(enum scan_snapshot kind);

/* Scans <path> as <kind>, naming files under <display> (dir and file
 * kinds).  0, or -errno when the snapshot cannot be read at all. */
int scan_snapshot(struct scan_ctx *ctx, enum scan_snapshot kind,
		  const char *path, const char *display);

int scan_image_docker(struct scan_ctx *ctx, const char *tar_path);
int scan_image_oci(struct scan_ctx *ctx, const char *dir);
int scan_ext_image(struct scan_ctx *ctx, const char *img_path);

/*
 * Scans the <size> bytes that <fill> writes into a memory-backed file as
 * the snapshot file <path> (in an image), then drops it.  Used by the
 * image and ext4 readers, which have no file on disk to hand out.
 */
int scan_mem_file(struct scan_ctx *ctx, const char *path, uint64_t size,
		  const char *layer,
		  int (*fill)(void *arg, int fd, uint64_t size), void *arg);
/* The same for a symlink <path> naming the file <link_target>. */
int scan_mem_file_as(struct scan_ctx *ctx, const char *path, uint64_t size,
		     const char *layer, const char *link_target,
		     int (*fill)(void *arg, int fd, uint64_t size), void *arg);

/* ---- symlinks inside a snapshot --------------------------------------- */

#define SCAN_LINK_MAX 4096      /* a resolved path, bytes */
#define SCAN_LINK_HOPS 40       /* links followed resolving one link */

enum {
	SCAN_LINK_OTHER = 0,    /* a file, device, ... */
	SCAN_LINK_DIR = 1,
	SCAN_LINK_LINK = 2,
};

/* What root-relative <rel> is, not following it: SCAN_LINK_*, the link's
 * target copied to <target> (<len> bytes at most, NUL-terminated) for a
 * link; -ENOENT or another -errno when it cannot be looked up. */
typedef int (*scan_link_lookup_fn)(void *arg, const char *rel, char *target,
				   size_t len);

/*
 * Resolves the symlink at root-relative <link> (no leading '/') to a
 * root-relative path holding no links, in <out> (SCAN_LINK_MAX bytes; ""
 * for the root itself).  Targets are taken as if the root were "/": an
 * absolute one starts at the root.  -EXDEV when a ".." would leave the
 * root, -ELOOP past SCAN_LINK_HOPS links, -ENOENT or -ENOTDIR when the
 * link dangles, -ENAMETOOLONG.
 */
int scan_link_resolve(const char *link, scan_link_lookup_fn lookup,
		      void *arg, char *out, size_t out_len);

#endif
