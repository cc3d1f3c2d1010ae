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

#endif
