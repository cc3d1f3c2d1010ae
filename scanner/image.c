// SPDX-License-Identifier: Apache-2.0
/*
 * Container images: a docker-save tar (manifest.json naming the layer tars
 * and the config with their diff ids) or an OCI image layout (oci-layout,
 * index.json, blobs/<alg>/<hex>).  Nothing is extracted to disk.
 *
 * Layers are applied top-down: the last layer is read first, and a path
 * it holds (as any type) hides the same path in every lower layer, and a
 * non-directory there hides everything a lower layer has below it; its
 * whiteouts (".wh.<name>") hide <name> and ".wh..wh..opq" hides a whole
 * directory's lower contents, both for the layers below only.  A regular
 * file that survives is copied to a memory-backed file and scanned as
 * "/<path in image>", its layer's digest on each finding.  Hard links
 * and devices are not scanned (the link's target is, where it lives).
 * Symlinks are resolved in the merged tree as in a directory walk
 * (scan_link_resolve()): the first pass notes the tree, and when links
 * name regular files a second pass scans each such file once more, under
 * the first link's path; escaping and looping links are events.
 *
 * The outer docker tar is indexed by our own reader of tar headers (ustar,
 * pax and GNU long names) so each layer is read in place, at its offset,
 * by libarchive (any compression it knows).  A compressed outer tar
 * (`docker save | gzip`) is inflated once into an unnamed scratch file
 * first, within max_archive_bytes.  The index trusts no header: checksums,
 * sizes and offsets are checked, and manifest entries of the wrong JSON
 * type are events, not crashes.
 */
#include "snapshot.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <archive.h>
#include <archive_entry.h>
#include <json-c/json.h>

#include "log.h"

#define IMG_MAX_JSON (16u << 20)
#define IMG_MAX_LAYERS 512
#define IMG_CHUNK (256 * 1024)
/* members of a docker-save tar: a few per layer, IMG_MAX_LAYERS layers */
#define IMG_MAX_MEMBERS 65536

/* ---- a set of path strings ------------------------------------------- */

struct pathset {
	char **slots;
	size_t cap, n;
};

static uint64_t hash_str(const char *s, size_t n)
{
	uint64_t h = 1469598103934665603ull;
	size_t i;

	for (i = 0; i < n; i++)
		h = (h ^ (unsigned char)s[i]) * 1099511628211ull;
	return h;
}

/* The slot holding the first <n> bytes of <p>, or NULL. */
static const char *set_get_n(const struct pathset *s, const char *p, size_t n)
{
	size_t i;

	if (!s->cap)
		return NULL;
	for (i = hash_str(p, n) & (s->cap - 1); s->slots[i];
	     i = (i + 1) & (s->cap - 1))
		if (strlen(s->slots[i]) == n && !memcmp(s->slots[i], p, n))
			return s->slots[i];
	return NULL;
}

static bool set_has_n(const struct pathset *s, const char *p, size_t n)
{
	return set_get_n(s, p, n) != NULL;
}

/* The slot holding <p>, or NULL. */
static const char *set_get(const struct pathset *s, const char *p)
{
	size_t i, n = strlen(p);

	if (!s->cap)
		return NULL;
	for (i = hash_str(p, n) & (s->cap - 1); s->slots[i];
	     i = (i + 1) & (s->cap - 1))
		if (strlen(s->slots[i]) == n && !memcmp(s->slots[i], p, n))
			return s->slots[i];
	return NULL;
}

static int set_add_value(struct pathset *s, const char *p, const void *val,
			 size_t vn);

static int set_add(struct pathset *s, const char *p)
{
	return set_add_value(s, p, NULL, 0);
}

/* Adds <p> with the <vn> bytes of <val> stored after its NUL, found again
 * with set_value(); a <p> already there keeps its value. */
static int set_add_value(struct pathset *s, const char *p, const void *val,
			 size_t vn)
{
	size_t i, n = strlen(p);
	char *slot;

	if (set_has_n(s, p, n))
		return 0;
	if ((s->n + 1) * 2 > s->cap) {
		struct pathset big = { 0 };

		big.cap = s->cap ? s->cap * 2 : 1024;
		big.slots = calloc(big.cap, sizeof(char *));
		if (!big.slots)
			return -ENOMEM;
		for (i = 0; i < s->cap; i++) {
			size_t j;

			if (!s->slots[i])
				continue;
			j = hash_str(s->slots[i], strlen(s->slots[i])) &
			    (big.cap - 1);
			while (big.slots[j])
				j = (j + 1) & (big.cap - 1);
			big.slots[j] = s->slots[i];
		}
		free(s->slots);
		s->slots = big.slots;
		s->cap = big.cap;
	}
	slot = malloc(n + 1 + vn);
	if (!slot)
		return -ENOMEM;
	memcpy(slot, p, n + 1);
	if (vn)
		memcpy(slot + n + 1, val, vn);
	i = hash_str(p, n) & (s->cap - 1);
	while (s->slots[i])
		i = (i + 1) & (s->cap - 1);
	s->slots[i] = slot;
	s->n++;
	return 0;
}

/* The value stored with <p> by set_add_value(), or NULL. */
static const char *set_value(const struct pathset *s, const char *p)
{
	const char *slot = set_get(s, p);

	return slot ? slot + strlen(slot) + 1 : NULL;
}

static void set_free(struct pathset *s)
{
	size_t i;

	for (i = 0; i < s->cap; i++)
		free(s->slots[i]);
	free(s->slots);
	memset(s, 0, sizeof(*s));
}

/* True when <p> or one of its parent directories is in <s>. */
static bool set_covers(const struct pathset *s, const char *p)
{
	const char *slash;

	for (slash = strchr(p, '/'); slash; slash = strchr(slash + 1, '/'))
		if (set_has_n(s, p, (size_t)(slash - p)))
			return true;
	return set_has_n(s, p, strlen(p));
}

/* ---- where blobs are: the outer tar or the layout's directory --------- */

struct tar_member {
	char *name;
	uint64_t off, size;
};

struct img_src {
	int fd;                 /* the docker tar, or -1 */
	int dirfd;              /* the OCI layout, or -1 */
	struct tar_member *m;
	size_t n, cap;
};

static uint64_t tar_octal(const char *p, size_t n)
{
	uint64_t v = 0;
	size_t i;

	if ((unsigned char)p[0] & 0x80) {       /* base-256 for big sizes */
		for (i = 1; i < n; i++)
			v = (v << 8) | (unsigned char)p[i];
		return v;
	}
	for (i = 0; i < n && p[i] == ' '; i++)
		;
	for (; i < n && p[i] >= '0' && p[i] <= '7'; i++)
		v = v * 8 + (uint64_t)(p[i] - '0');
	return v;
}

/* "path=" of a pax header block, or NULL. */
static char *pax_path(const char *buf, size_t len)
{
	size_t pos = 0;

	while (pos < len) {
		char *end;
		unsigned long rec = strtoul(buf + pos, &end, 10);
		const char *kv = end + 1;

		if (rec == 0 || pos + rec > len || *end != ' ')
			return NULL;
		if (!strncmp(kv, "path=", 5))
			return strndup(kv + 5, (size_t)(buf + pos + rec - 1 -
							 (kv + 5)));
		pos += rec;
	}
	return NULL;
}

/* Strips "./" and "/" in front. */
static const char *clean_name(const char *n)
{
	for (;;) {
		if (n[0] == '.' && n[1] == '/')
			n += 2;
		else if (n[0] == '/')
			n++;
		else
			return n;
	}
}

/* True when the checksum field of tar header <hdr> matches its bytes,
 * summed unsigned (POSIX) or signed (some old tars), the field itself
 * counted as spaces. */
static bool tar_sum_ok(const char *hdr)
{
	uint64_t want = tar_octal(hdr + 148, 8);
	int64_t sum_s = 0;
	uint64_t sum_u = 0;
	size_t i;

	if ((unsigned char)hdr[148] & 0x80)
		return false;
	for (i = 0; i < 512; i++) {
		char c = i >= 148 && i < 156 ? ' ' : hdr[i];

		sum_u += (unsigned char)c;
		sum_s += (signed char)c;
	}
	return want == sum_u || (int64_t)want == sum_s;
}

/*
 * Indexes the members of the outer tar: names and data offsets.  The
 * tar is untrusted: a header must carry a valid checksum, its size must
 * fit in the file, and each header lies past the last one, so the walk
 * ends whatever the sizes say.  The first bad header ends the index with
 * a "corrupt" event, keeping what came before it (manifest.json may be
 * among it); -errno only on allocation or read failure.
 */
static int tar_index(struct scan_ctx *ctx, struct img_src *src,
		     const char *path)
{
	char hdr[512], *longname = NULL;
	uint64_t off = 0, size, next, fsize;
	const char *bad = NULL;
	struct stat st;
	int err = 0;

	if (fstat(src->fd, &st))
		return -errno;
	fsize = (uint64_t)st.st_size;
	while (pread(src->fd, hdr, 512, (off_t)off) == 512 && hdr[0]) {
		char type = hdr[156], name[260], *ext = NULL;

		size = tar_octal(hdr + 124, 12);
		if (!tar_sum_ok(hdr)) {
			bad = "tar header checksum mismatch";
			break;
		}
		if (size > fsize - off - 512) {
			bad = "tar member larger than the file";
			break;
		}
		/* cannot wrap: size < fsize, both far below 2^63 */
		next = off + 512 + ((size + 511) & ~511ull);
		if (next <= off) {
			bad = "tar member offsets do not increase";
			break;
		}
		if (type == 'x' || type == 'L') {
			if (size > IMG_MAX_JSON) {
				bad = "tar extended header too large";
				break;
			}
			ext = malloc(size + 1);
			if (!ext) {
				err = -ENOMEM;
				break;
			}
			if (pread(src->fd, ext, size, (off_t)off + 512) !=
			    (ssize_t)size) {
				free(ext);
				err = -EIO;
				break;
			}
			ext[size] = '\0';
			free(longname);
			longname = type == 'x' ? pax_path(ext, size) :
				   strdup(ext);
			free(ext);
		} else if (type == '0' || type == '\0') {
			if (src->n >= IMG_MAX_MEMBERS) {
				bad = "too many tar members";
				break;
			}
			if (src->n == src->cap) {
				struct tar_member *nm = realloc(src->m,
					(src->cap ? src->cap * 2 : 64) * sizeof(*nm));

				if (!nm) {
					err = -ENOMEM;
					break;
				}
				src->m = nm;
				src->cap = src->cap ? src->cap * 2 : 64;
			}
			if (hdr[345] && !longname)
				snprintf(name, sizeof(name), "%.155s/%.100s",
					 hdr + 345, hdr);
			else
				snprintf(name, sizeof(name), "%.100s", hdr);
			src->m[src->n].name = strdup(clean_name(longname ?
							       longname : name));
			src->m[src->n].off = off + 512;
			src->m[src->n].size = size;
			if (!src->m[src->n++].name) {
				err = -ENOMEM;
				break;
			}
			free(longname);
			longname = NULL;
		} else {
			free(longname);
			longname = NULL;
		}
		off = next;
	}
	free(longname);
	if (bad) {
		ctx->stats.errors++;
		ctx->stats.corrupt++;
		scan_event(ctx, "corrupt", bad, path, "", "");
	}
	return err;
}

/* Where blob <name> is: an fd (borrowed or owned in *owned), offset and
 * size.  -ENOENT when the image has no such blob. */
static int src_find(struct img_src *src, const char *name, int *fd,
		    uint64_t *off, uint64_t *size, int *owned)
{
	struct stat st;
	size_t i;

	*owned = -1;
	if (src->fd >= 0) {
		name = clean_name(name);
		for (i = 0; i < src->n; i++) {
			if (!strcmp(src->m[i].name, name)) {
				*fd = src->fd;
				*off = src->m[i].off;
				*size = src->m[i].size;
				return 0;
			}
		}
		return -ENOENT;
	}
	if (strstr(name, "..") || name[0] == '/')
		return -EINVAL;
	/* O_NONBLOCK: a fifo planted in blobs/ must not block the open; it
	 * is then refused as not a regular file */
	*owned = openat(src->dirfd, name,
			O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
	if (*owned < 0 || fstat(*owned, &st) || !S_ISREG(st.st_mode)) {
		if (*owned >= 0)
			close(*owned);
		*owned = -1;
		return -ENOENT;
	}
	*fd = *owned;
	*off = 0;
	*size = (uint64_t)st.st_size;
	return 0;
}

/* The JSON blob <name>, parsed; NULL when absent or not JSON. */
static struct json_object *src_json(struct img_src *src, const char *name)
{
	struct json_object *j = NULL;
	uint64_t off, size;
	int fd, owned;
	char *buf;

	if (src_find(src, name, &fd, &off, &size, &owned))
		return NULL;
	if (size <= IMG_MAX_JSON && (buf = malloc(size + 1))) {
		if (pread(fd, buf, size, (off_t)off) == (ssize_t)size) {
			buf[size] = '\0';
			j = json_tokener_parse(buf);
		}
		free(buf);
	}
	if (owned >= 0)
		close(owned);
	return j;
}

/* ---- reading one layer ------------------------------------------------ */

struct window {
	int fd;
	uint64_t off, size, pos;
	struct scan_ctx *ctx;   /* for the progress bar */
	uint64_t before;        /* layer bytes of the pass read before */
	uint8_t buf[IMG_CHUNK];
};

static la_ssize_t win_read(struct archive *a, void *arg, const void **out)
{
	struct window *w = arg;
	size_t want = IMG_CHUNK;
	ssize_t n;

	if (w->pos >= w->size)
		return 0;
	if (w->size - w->pos < want)
		want = (size_t)(w->size - w->pos);
	n = pread(w->fd, w->buf, want, (off_t)(w->off + w->pos));
	if (n < 0) {
		archive_set_error(a, errno, "layer read failed");
		return -1;
	}
	w->pos += (uint64_t)n;
	scan_progress_at(w->ctx, w->before + w->pos);
	*out = w->buf;
	return n;
}

/* Copies the current entry's data into the memfd. */
static int fill_from_archive(void *arg, int fd, uint64_t size)
{
	struct archive *a = arg;
	const void *buf;
	size_t len;
	la_int64_t off;
	int r;

	(void)size;
	while ((r = archive_read_data_block(a, &buf, &len, &off)) ==
	       ARCHIVE_OK) {
		if (pwrite(fd, buf, len, (off_t)off) != (ssize_t)len)
			return -errno;
	}
	if (r != ARCHIVE_EOF)
		return -EIO;
	return ftruncate(fd, (off_t)size) ? -errno : 0;
}

struct layer_state {
	struct scan_ctx *ctx;
	const char *image;      /* for messages */
	struct pathset seen;    /* paths held by upper layers */
	struct pathset hidden;  /* whited out for the layers below */
	struct pathset new_hidden;
	/* symlinks: the first pass notes the image's tree, the second scans
	 * the files that links name, under the links' paths */
	bool second;
	struct pathset files;   /* regular files of the image */
	struct pathset dirs;    /* its directories, implied ones too */
	struct pathset links;   /* symlink -> "<target>\0<layer digest>" */
	struct pathset wanted;  /* file -> the link to scan it as */
};

/* Notes path <dir> (no leading '/') of a surviving entry of type <type>
 * for resolving links; <e> gives a link's target. */
static int note_entry(struct layer_state *ls, struct archive_entry *e,
		      const char *dir, const char *digest)
{
	char parent[4096], val[SCAN_LINK_MAX + 512];
	const char *slash, *target;
	size_t tn, dn;
	int err = 0;

	snprintf(parent, sizeof(parent), "%s", dir);
	while (!err && (slash = strrchr(parent, '/'))) {
		parent[slash - parent] = '\0';
		err = set_add(&ls->dirs, parent);
	}
	if (err)
		return err;
	switch (archive_entry_filetype(e)) {
	case AE_IFDIR:
		return set_add(&ls->dirs, dir);
	case AE_IFLNK:
		target = archive_entry_symlink(e);
		if (!target || strlen(target) >= SCAN_LINK_MAX)
			return 0;
		tn = strlen(target) + 1;
		dn = strlen(digest) + 1;
		if (dn > 512)
			dn = 512;
		memcpy(val, target, tn);
		memcpy(val + tn, digest, dn);
		val[tn + dn - 1] = '\0';
		return set_add_value(&ls->links, dir, val, tn + dn);
	case AE_IFREG:
		return archive_entry_hardlink(e) ? 0 : set_add(&ls->files, dir);
	}
	return 0;
}

/*
 * True when a parent directory of <p> is, in an upper layer, something
 * else than a directory (<seen> holds "d" or "f" for each path): that
 * file or link replaced the whole lower directory, as overlayfs does.
 */
static bool under_non_dir(const struct pathset *seen, const char *p)
{
	const char *slash, *slot;

	for (slash = strchr(p, '/'); slash; slash = strchr(slash + 1, '/')) {
		slot = set_get_n(seen, p, (size_t)(slash - p));
		if (slot && slot[strlen(slot) + 1] == 'f')
			return true;
	}
	return false;
}

/* Handles one entry of a layer.  Returns -ENOMEM only. */
static int layer_entry(struct layer_state *ls, struct archive *a,
		       struct archive_entry *e, const char *digest)
{
	const char *raw = archive_entry_pathname(e), *name, *base, *link;
	char dir[4096], path[4100], shown[4100];
	int err;

	if (!raw)
		return 0;
	name = clean_name(raw);
	if (!name[0])
		return 0;
	snprintf(dir, sizeof(dir), "%s", name);
	while (strlen(dir) && dir[strlen(dir) - 1] == '/')
		dir[strlen(dir) - 1] = '\0';
	base = strrchr(dir, '/');
	base = base ? base + 1 : dir;
	if (!strncmp(base, ".wh.", 4)) {
		char target[4096];
		size_t dl = (size_t)(base - dir);

		if (!strcmp(base, ".wh..wh..opq"))
			snprintf(target, sizeof(target), "%.*s", (int)(dl ? dl - 1 : 0), dir);
		else
			snprintf(target, sizeof(target), "%.*s%s", (int)dl, dir,
				 base + 4);
		return set_add(&ls->new_hidden, target);
	}
	if (set_covers(&ls->hidden, dir) || set_has_n(&ls->seen, dir, strlen(dir)) ||
	    under_non_dir(&ls->seen, dir))
		return 0;
	err = set_add_value(&ls->seen, dir,
			    archive_entry_filetype(e) == AE_IFDIR ? "d" : "f", 1);
	if (!err && !ls->second)
		err = note_entry(ls, e, dir, digest);
	if (err || archive_entry_filetype(e) != AE_IFREG ||
	    archive_entry_hardlink(e))
		return err;
	if (ls->second) {
		/* only files a link names, as the link */
		link = set_value(&ls->wanted, dir);
		if (!link)
			return 0;
		snprintf(path, sizeof(path), "/%s", link);
		snprintf(shown, sizeof(shown), "/%s", dir);
	} else {
		snprintf(path, sizeof(path), "/%s", dir);
	}
	if (archive_entry_size(e) < 0 ||
	    (uint64_t)archive_entry_size(e) > ls->ctx->limits.max_archive_bytes) {
		ls->ctx->stats.budget_hits++;
		scan_event(ls->ctx, "limit", "max_archive_bytes", path, "", digest);
		return 0;
	}
	err = scan_mem_file_as(ls->ctx, path, (uint64_t)archive_entry_size(e),
			       digest, ls->second ? shown : NULL,
			       fill_from_archive, a);
	if (err && err != -ENOMEM) {
		ls->ctx->stats.errors++;
		scan_event(ls->ctx, "corrupt", "layer entry unreadable", path, "",
			   digest);
		return 0;
	}
	return err;
}

/* Reads the layer blob at [off, off+size) of <fd>; <before> bytes of
 * layers were read before it in this pass. */
static int read_layer(struct layer_state *ls, int fd, uint64_t off,
		      uint64_t size, uint64_t before, const char *digest)
{
	struct window *w = malloc(sizeof(*w));
	struct archive *a = archive_read_new();
	struct archive_entry *e;
	int r, err = 0;
	size_t i;

	if (!w || !a) {
		free(w);
		archive_read_free(a);
		return -ENOMEM;
	}
	*w = (struct window){ .fd = fd, .off = off, .size = size,
			      .ctx = ls->ctx, .before = before };
	archive_read_support_filter_all(a);
	archive_read_support_format_tar(a);
	if (archive_read_open(a, w, NULL, win_read, NULL) != ARCHIVE_OK) {
		err = -EIO;
		goto out_free;
	}
	while (!err && (r = archive_read_next_header(a, &e)) == ARCHIVE_OK)
		err = layer_entry(ls, a, e, digest);
	if (!err && r != ARCHIVE_EOF && !ls->second) {
		ls->ctx->stats.errors++;
		ls->ctx->stats.corrupt++;
		scan_event(ls->ctx, "corrupt", archive_error_string(a) ?
			   archive_error_string(a) : "layer unreadable",
			   ls->image, "", digest);
	}
	/* this layer's whiteouts apply to the layers below it */
	for (i = 0; i < ls->new_hidden.cap; i++)
		if (ls->new_hidden.slots[i] &&
		    set_add(&ls->hidden, ls->new_hidden.slots[i]))
			err = -ENOMEM;
	set_free(&ls->new_hidden);
out_free:
	archive_read_free(a);
	free(w);
	return err;
}

/* scan_link_resolve() callback over the image's tree (<arg>: the layer
 * state after the first pass). */
static int img_lookup(void *arg, const char *rel, char *target, size_t len)
{
	struct layer_state *ls = arg;
	const char *v = set_get(&ls->links, rel) ?
			set_value(&ls->links, rel) : NULL;

	if (v) {
		if (strlen(v) >= len)
			return -ENAMETOOLONG;
		strcpy(target, v);
		return SCAN_LINK_LINK;
	}
	if (set_get(&ls->files, rel))
		return SCAN_LINK_OTHER;
	if (set_get(&ls->dirs, rel))
		return SCAN_LINK_DIR;
	return -ENOENT;
}

/*
 * Resolves every surviving symlink of the image: one naming a regular
 * file goes in ls->wanted (the first link met per file), one escaping the
 * image or looping is an event.
 */
static int resolve_links(struct layer_state *ls)
{
	char out[SCAN_LINK_MAX], path[SCAN_LINK_MAX + 1];
	const char *link, *digest;
	size_t i;
	int err;

	for (i = 0; i < ls->links.cap; i++) {
		link = ls->links.slots[i];
		if (!link)
			continue;
		digest = set_value(&ls->links, link);
		digest += strlen(digest) + 1;
		err = scan_link_resolve(link, img_lookup, ls, out, sizeof(out));
		snprintf(path, sizeof(path), "/%s", link);
		if (err == -EXDEV || err == -ELOOP) {
			ls->ctx->stats.errors++;
			scan_event(ls->ctx, "symlink", err == -EXDEV ?
				   "link escapes the snapshot root, not followed" :
				   "link loops, not followed", path, "", digest);
			continue;
		}
		if (err || !set_get(&ls->files, out))
			continue;       /* dangling, or not a regular file */
		err = set_add_value(&ls->wanted, out, link, strlen(link) + 1);
		if (err)
			return err;
	}
	return 0;
}

/* The bytes of the layers of the image that can be found: what a pass
 * reads, for the progress bar. */
static uint64_t layers_bytes(struct img_src *src, char **blobs, size_t n)
{
	uint64_t off, size, total = 0;
	int fd, owned;
	size_t i;

	for (i = 0; i < n; i++) {
		if (src_find(src, blobs[i], &fd, &off, &size, &owned))
			continue;
		total += size;
		if (owned >= 0)
			close(owned);
	}
	return total;
}

/* Reads the <n> layers, the last one first. */
static int layers_pass(struct layer_state *ls, struct img_src *src,
		       const char *image, char **blobs, char **digests,
		       size_t n)
{
	uint64_t off, size, read = 0;
	int fd, owned, err = 0;
	size_t i;

	if (ls->ctx->bar)
		scan_progress_begin(ls->ctx, ls->second ? "links" : "layers",
				    layers_bytes(src, blobs, n), NULL);
	for (i = n; i-- > 0 && !err;) {
		if (src_find(src, blobs[i], &fd, &off, &size, &owned)) {
			if (ls->second)
				continue;       /* reported in the first */
			ls->ctx->stats.errors++;
			scan_event(ls->ctx, "corrupt", "layer missing from image",
				   image, blobs[i], digests[i]);
			continue;
		}
		px_debug("scan", "layer", "image=%s layer=%s digest=%s",
			 px_q(image), px_q(blobs[i]), px_q(digests[i]));
		err = read_layer(ls, fd, off, size, read, digests[i]);
		read += size;
		if (owned >= 0)
			close(owned);
	}
	set_free(&ls->seen);
	set_free(&ls->hidden);
	set_free(&ls->new_hidden);
	return err;
}

/*
 * Applies <n> layers (blob names and digests), the last one first; then,
 * when symlinks name files of the image, reads the layers again to scan
 * those files under the links' paths.
 */
static int apply_layers(struct scan_ctx *ctx, struct img_src *src,
			const char *image, char **blobs, char **digests,
			size_t n)
{
	struct layer_state ls = { .ctx = ctx, .image = image };
	int err;

	err = layers_pass(&ls, src, image, blobs, digests, n);
	if (!err)
		err = resolve_links(&ls);
	set_free(&ls.files);
	set_free(&ls.dirs);
	set_free(&ls.links);
	if (!err && ls.wanted.n) {
		ls.second = true;
		err = layers_pass(&ls, src, image, blobs, digests, n);
	}
	set_free(&ls.wanted);
	return err;
}

static void free_strv(char **v, size_t n)
{
	size_t i;

	for (i = 0; v && i < n; i++)
		free(v[i]);
	free(v);
}

/* Item <i> of array <arr> when it is a string, else NULL (json-c would
 * stringify a number and return NULL for a null). */
static const char *json_item_str(struct json_object *arr, size_t i)
{
	struct json_object *v;

	if (!json_object_is_type(arr, json_type_array) ||
	    i >= json_object_array_length(arr))
		return NULL;
	v = json_object_array_get_idx(arr, i);
	if (!json_object_is_type(v, json_type_string))
		return NULL;
	return json_object_get_string(v);
}

static const char *jstr(struct json_object *o, const char *key)
{
	struct json_object *v;

	if (!o || !json_object_object_get_ex(o, key, &v) ||
	    !json_object_is_type(v, json_type_string))
		return NULL;
	return json_object_get_string(v);
}

/* ---- docker save ------------------------------------------------------ */

/* A file for the decompressed outer tar: unnamed in $TMPDIR (or /tmp),
 * so a large image need not sit in memory; a memfd when that fails. */
static int scratch_fd(void)
{
	const char *dir = getenv("TMPDIR");
	int fd = open(dir && dir[0] ? dir : "/tmp",
		      O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);

	if (fd < 0)
		fd = memfd_create("px-scan-image", MFD_CLOEXEC);
	return fd < 0 ? -errno : fd;
}

/*
 * `docker save | gzip` (or any compression libarchive knows): the tar is
 * inflated once into a scratch file, at most max_archive_bytes of it, so
 * the index can read members in place as in a plain tar.  Returns the
 * new fd (the caller closes <fd>), 0 when <fd> is not compressed, or
 * -errno; a bomb past the budget is a "limit" event and -EFBIG.
 */
static int uncompress_outer(struct scan_ctx *ctx, int fd, const char *path)
{
	unsigned char head[512];
	struct archive *a;
	struct archive_entry *e;
	struct stat st;
	uint64_t total = 0;
	const void *buf;
	size_t len;
	la_int64_t at;
	int out, r, err = 0;

	if (pread(fd, head, sizeof(head), 0) == (ssize_t)sizeof(head) &&
	    !memcmp(head + 257, "ustar", 5))
		return 0;
	a = archive_read_new();
	if (!a)
		return -ENOMEM;
	archive_read_support_filter_all(a);
	archive_read_support_format_raw(a);
	if (archive_read_open_fd(a, fd, IMG_CHUNK) != ARCHIVE_OK ||
	    archive_read_next_header(a, &e) != ARCHIVE_OK ||
	    archive_filter_count(a) < 2) {
		/* not compressed: the plain reader says what is wrong */
		archive_read_free(a);
		lseek(fd, 0, SEEK_SET);
		return 0;
	}
	out = scratch_fd();
	if (out < 0) {
		archive_read_free(a);
		return out;
	}
	/* the inflated size is unknown up front; the compressed input is
	 * what this step reads */
	if (ctx->bar && !fstat(fd, &st))
		scan_progress_begin(ctx, "inflate", (uint64_t)st.st_size, NULL);
	while ((r = archive_read_data_block(a, &buf, &len, &at)) ==
	       ARCHIVE_OK) {
		scan_progress_at(ctx, (uint64_t)archive_filter_bytes(a, -1));
		total += len;
		if (total > ctx->limits.max_archive_bytes) {
			ctx->stats.budget_hits++;
			scan_event(ctx, "limit", "max_archive_bytes", path, "",
				   "");
			err = -EFBIG;
			break;
		}
		if (pwrite(out, buf, len, (off_t)at) != (ssize_t)len) {
			err = -errno;
			break;
		}
	}
	if (!err && r != ARCHIVE_EOF) {
		ctx->stats.errors++;
		ctx->stats.corrupt++;
		scan_event(ctx, "corrupt", archive_error_string(a) ?
			   archive_error_string(a) : "image decompression failed",
			   path, "", "");
		/* what was inflated before the damage is still indexed */
	}
	archive_read_free(a);
	if (err) {
		close(out);
		return err;
	}
	return out;
}

int scan_image_docker(struct scan_ctx *ctx, const char *tar_path)
{
	struct img_src src = { .fd = -1, .dirfd = -1 };
	struct json_object *man = NULL, *cfg = NULL, *layers, *diff = NULL;
	struct json_object *rootfs;
	char **blobs = NULL, **digests = NULL;
	size_t n = 0, i, m;
	int err;

	src.fd = open(tar_path, O_RDONLY | O_CLOEXEC);
	if (src.fd < 0)
		return -errno;
	err = uncompress_outer(ctx, src.fd, tar_path);
	if (err < 0)
		goto out;
	if (err > 0) {
		close(src.fd);
		src.fd = err;
	}
	err = tar_index(ctx, &src, tar_path);
	if (err)
		goto out;
	man = src_json(&src, "manifest.json");
	err = -EINVAL;
	if (!man || !json_object_is_type(man, json_type_array) ||
	    !json_object_array_length(man))
		goto out;
	/* one image per scan: the first in the archive */
	cfg = src_json(&src, jstr(json_object_array_get_idx(man, 0), "Config") ?
		       jstr(json_object_array_get_idx(man, 0), "Config") : "");
	if (cfg && json_object_object_get_ex(cfg, "rootfs", &rootfs))
		json_object_object_get_ex(rootfs, "diff_ids", &diff);
	if (!json_object_object_get_ex(json_object_array_get_idx(man, 0),
				       "Layers", &layers) ||
	    !json_object_is_type(layers, json_type_array))
		goto out;
	n = json_object_array_length(layers);
	if (n > IMG_MAX_LAYERS)
		goto out;
	blobs = calloc(n + 1, sizeof(char *));
	digests = calloc(n + 1, sizeof(char *));
	if (!blobs || !digests) {
		err = -ENOMEM;
		goto out;
	}
	if (diff && !json_object_is_type(diff, json_type_array))
		diff = NULL;
	for (i = 0, m = 0; i < n; i++) {
		const char *b = json_item_str(layers, i);
		const char *d = diff ? json_item_str(diff, i) : NULL;
		char dg[200];

		if (!b) {
			/* a null or a number cannot name a blob: this layer
			 * is lost, the others are still read */
			ctx->stats.errors++;
			ctx->stats.corrupt++;
			scan_event(ctx, "corrupt",
				   "manifest.json layer entry is not a string",
				   tar_path, "", "");
			continue;
		}
		if (!strncmp(b, "blobs/", 6) && strchr(b + 6, '/'))
			snprintf(dg, sizeof(dg), "%.*s:%s",
				 (int)(strchr(b + 6, '/') - (b + 6)), b + 6,
				 strchr(b + 6, '/') + 1);
		else
			snprintf(dg, sizeof(dg), "%s", d ? d : b);
		blobs[m] = strdup(b);
		digests[m] = strdup(dg);
		if (!blobs[m] || !digests[m++]) {
			err = -ENOMEM;
			goto out;
		}
	}
	n = m;
	err = apply_layers(ctx, &src, tar_path, blobs, digests, n);
out:
	if (err == -EINVAL)
		px_error("scan", "not a docker-save image", "path=%s err=%s",
			 px_q(tar_path), px_q("manifest.json missing or unreadable"));
	free_strv(blobs, n);
	free_strv(digests, n);
	json_object_put(man);
	json_object_put(cfg);
	for (i = 0; i < src.n; i++)
		free(src.m[i].name);
	free(src.m);
	close(src.fd);
	return err;
}

/* ---- OCI image layout ------------------------------------------------- */

/* "sha256:abc" -> "blobs/sha256/abc" */
static void blob_path(char *buf, size_t len, const char *digest)
{
	const char *colon = strchr(digest, ':');

	if (!colon)
		snprintf(buf, len, "blobs/%s", digest);
	else
		snprintf(buf, len, "blobs/%.*s/%s", (int)(colon - digest),
			 digest, colon + 1);
}

/* The image manifest the index names (following nested indexes to the
 * first manifest, linux/amd64 preferred). */
static struct json_object *oci_manifest(struct img_src *src,
					struct json_object *index, int depth)
{
	struct json_object *mans, *pick = NULL, *plat, *child;
	char path[512];
	size_t i;

	if (depth > 4 || !json_object_object_get_ex(index, "manifests", &mans) ||
	    !json_object_is_type(mans, json_type_array))
		return NULL;
	for (i = 0; i < json_object_array_length(mans); i++) {
		struct json_object *m = json_object_array_get_idx(mans, i);

		if (!pick)
			pick = m;
		if (json_object_object_get_ex(m, "platform", &plat) &&
		    jstr(plat, "architecture") &&
		    !strcmp(jstr(plat, "architecture"), "amd64")) {
			pick = m;
			break;
		}
	}
	if (!pick || !jstr(pick, "digest") || strstr(jstr(pick, "digest"), "..") ||
	    strchr(jstr(pick, "digest"), '/'))
		return NULL;
	blob_path(path, sizeof(path), jstr(pick, "digest"));
	child = src_json(src, path);
	if (child && jstr(child, "mediaType") &&
	    strstr(jstr(child, "mediaType"), "index")) {
		struct json_object *m = oci_manifest(src, child, depth + 1);

		json_object_put(child);
		return m;
	}
	return child;
}

int scan_image_oci(struct scan_ctx *ctx, const char *dir)
{
	struct img_src src = { .fd = -1, .dirfd = -1 };
	struct json_object *index = NULL, *man = NULL, *layers;
	char **blobs = NULL, **digests = NULL;
	size_t n = 0, i, m;
	int err = -EINVAL;

	src.dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (src.dirfd < 0)
		return -errno;
	index = src_json(&src, "index.json");
	if (index)
		man = oci_manifest(&src, index, 0);
	if (!man || !json_object_object_get_ex(man, "layers", &layers) ||
	    !json_object_is_type(layers, json_type_array) ||
	    (n = json_object_array_length(layers)) > IMG_MAX_LAYERS)
		goto out;
	blobs = calloc(n + 1, sizeof(char *));
	digests = calloc(n + 1, sizeof(char *));
	if (!blobs || !digests) {
		err = -ENOMEM;
		goto out;
	}
	for (i = 0, m = 0; i < n; i++) {
		const char *d = jstr(json_object_array_get_idx(layers, i),
				     "digest");
		char path[512];

		if (!d || !d[0] || strstr(d, "..") || strchr(d, '/')) {
			ctx->stats.errors++;
			ctx->stats.corrupt++;
			scan_event(ctx, "corrupt",
				   "manifest layer without a usable digest",
				   dir, "", "");
			continue;
		}
		blob_path(path, sizeof(path), d);
		blobs[m] = strdup(path);
		digests[m] = strdup(d);
		if (!blobs[m] || !digests[m++]) {
			err = -ENOMEM;
			goto out;
		}
	}
	n = m;
	err = apply_layers(ctx, &src, dir, blobs, digests, n);
out:
	if (err == -EINVAL)
		px_error("scan", "not an OCI image layout", "path=%s err=%s",
			 px_q(dir), px_q("index.json or manifest unreadable"));
	free_strv(blobs, n);
	free_strv(digests, n);
	json_object_put(index);
	json_object_put(man);
	close(src.dirfd);
	return err;
}
