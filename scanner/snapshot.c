// SPDX-License-Identifier: Apache-2.0
/*
 * Snapshot kinds by content, and the dispatch to their readers (see
 * snapshot.h).  Also the memory-backed files the image readers use: a
 * memfd the file's bytes are copied into, so every check reads an image
 * file exactly as it reads a file on disk.
 */
#include "snapshot.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
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

int scan_snapshot(struct scan_ctx *ctx, enum scan_snapshot kind,
		  const char *path, const char *display)
{
	switch (kind) {
	case SCAN_SNAP_DOCKER:
		return scan_image_docker(ctx, path);
	case SCAN_SNAP_OCI:
		return scan_image_oci(ctx, path);
	case SCAN_SNAP_EXT:
		return scan_ext_image(ctx, path);
	default:
		return scan_walk_root_as(ctx, path, display);
	}
}

int scan_mem_file(struct scan_ctx *ctx, const char *path, uint64_t size,
		  const char *layer,
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
	f.path = path;
	f.fd = fd;
	f.size = size;
	f.layer_digest = layer;
	ctx->stats.files++;
	ctx->stats.bytes += size;
	scan_file_run(ctx, &f);
	close(fd);
	return 0;
}
