// SPDX-License-Identifier: Apache-2.0
/*
 * ELF shared objects as packages: the soname from the dynamic section and
 * a version from, in order, the library's own banner for the ones that
 * matter most at rest (OpenSSL's "OpenSSL 3.0.11 ...", glibc's "release
 * version 2.36"), the file name ("libz.so.1.2.13"), or the soname.
 * Only ELF files of type ET_DYN named lib*.so* are read; 32- and 64-bit,
 * either byte order.  Everything read is bounds-checked against the file.
 */
#include "elfso.h"

#include <ctype.h>
#include <elf.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "log.h"

#define ELF_MAX_BYTES (512ull << 20)

struct elf_view {
	const uint8_t *p;
	size_t len;
	bool is64, be;
};

static uint64_t rd(const struct elf_view *v, uint64_t off, int n)
{
	uint64_t x = 0;
	int i;

	if (off > v->len || (uint64_t)n > v->len - off)
		return 0;
	for (i = 0; i < n; i++) {
		int k = v->be ? i : n - 1 - i;

		x = (x << 8) | v->p[off + (uint64_t)k];
	}
	return x;
}

/* Offset and size of section <i>'s data, and its sh_link. */
static bool section(const struct elf_view *v, uint64_t shoff, uint64_t i,
		    uint32_t *type, uint64_t *off, uint64_t *size,
		    uint32_t *link)
{
	uint64_t sh = shoff + i * (v->is64 ? 64 : 40);

	if (sh > v->len || v->len - sh < (v->is64 ? 64u : 40u))
		return false;
	*type = (uint32_t)rd(v, sh + 4, 4);
	*off = v->is64 ? rd(v, sh + 24, 8) : rd(v, sh + 16, 4);
	*size = v->is64 ? rd(v, sh + 32, 8) : rd(v, sh + 20, 4);
	*link = (uint32_t)(v->is64 ? rd(v, sh + 40, 4) : rd(v, sh + 24, 4));
	return *off <= v->len && *size <= v->len - *off;
}

int elf_soname(const void *data, size_t len, char *out, size_t cap)
{
	struct elf_view v = { data, len, false, false };
	uint64_t shoff, shnum, i, j, off, size, soff, ssize;
	uint32_t type, link, stype, slink;

	if (len < 52 || memcmp(data, ELFMAG, SELFMAG))
		return -EINVAL;
	v.is64 = v.p[EI_CLASS] == ELFCLASS64;
	v.be = v.p[EI_DATA] == ELFDATA2MSB;
	if (rd(&v, 16, 2) != ET_DYN || (v.is64 && len < 64))
		return -EINVAL;
	shoff = v.is64 ? rd(&v, 40, 8) : rd(&v, 32, 4);
	shnum = rd(&v, v.is64 ? 60 : 48, 2);
	for (i = 0; i < shnum && i < 4096; i++) {
		size_t dsz = v.is64 ? 16 : 8;

		if (!section(&v, shoff, i, &type, &off, &size, &link) ||
		    type != SHT_DYNAMIC)
			continue;
		if (!section(&v, shoff, link, &stype, &soff, &ssize, &slink))
			return -EINVAL;
		for (j = 0; j + dsz <= size; j += dsz) {
			uint64_t tag = rd(&v, off + j, (int)dsz / 2);
			uint64_t val = rd(&v, off + j + dsz / 2, (int)dsz / 2);

			if (tag == DT_NULL)
				break;
			if (tag != DT_SONAME || val >= ssize)
				continue;
			if (!memchr(v.p + soff + val, '\0', ssize - val))
				return -EINVAL;
			snprintf(out, cap, "%s", (const char *)v.p + soff + val);
			return out[0] ? 0 : -ENOENT;
		}
	}
	return -ENOENT;
}

/* Copies the version digits and dots following <at> into <out>. */
static bool version_at(const uint8_t *at, const uint8_t *end, char *out,
		       size_t cap)
{
	size_t n = 0;

	while (at + n < end && n + 1 < cap &&
	       (isdigit(at[n]) || at[n] == '.' || (n && isalpha(at[n]) &&
						   isdigit(at[n - 1]))))
		n++;
	while (n && at[n - 1] == '.')
		n--;
	if (!n || !isdigit(at[0]))
		return false;
	memcpy(out, at, n);
	out[n] = '\0';
	return true;
}

/* The banner version of OpenSSL or glibc; false when not found. */
static bool banner_version(const uint8_t *p, size_t len, const char *soname,
			   char *out, size_t cap, const char **how)
{
	const char *key = NULL;
	const uint8_t *at = p, *end = p + len;

	if (!strncmp(soname, "libcrypto.so", 12) || !strncmp(soname, "libssl.so", 9)) {
		key = "OpenSSL ";
		*how = "OpenSSL banner";
	} else if (!strncmp(soname, "libc.so", 7)) {
		key = "release version ";
		*how = "glibc banner";
	}
	if (!key)
		return false;
	while ((at = memmem(at, (size_t)(end - at), key, strlen(key)))) {
		at += strlen(key);
		if (version_at(at, end, out, cap) && strchr(out, '.'))
			return true;
	}
	return false;
}

/* "libz.so.1.2.13" -> "1.2.13"; false without digits after ".so.". */
static bool name_version(const char *name, char *out, size_t cap)
{
	const char *so = strstr(name, ".so.");

	if (!so || !isdigit((unsigned char)so[4]))
		return false;
	snprintf(out, cap, "%s", so + 4);
	return true;
}

bool elf_wants(const char *path)
{
	const char *base = strrchr(path, '/');

	base = base ? base + 1 : path;
	return !strncmp(base, "lib", 3) && strstr(base, ".so") != NULL;
}

void elf_scan_file(struct scan_ctx *ctx, struct scan_file *file)
{
	struct scan_level lvl = { ctx, file, "", NULL, NULL };
	struct scan_finding f = { 0 };
	char soname[256], version[64], purl[512], evidence[256];
	const char *how = "file name", *base;
	uint8_t head[4];
	void *map;

	if (file->size < 64 || file->size > ELF_MAX_BYTES ||
	    pread(file->fd, head, 4, 0) != 4 || memcmp(head, ELFMAG, SELFMAG))
		return;
	map = mmap(NULL, file->size, PROT_READ, MAP_PRIVATE, file->fd, 0);
	if (map == MAP_FAILED)
		return;
	if (elf_soname(map, file->size, soname, sizeof(soname)))
		goto out_unmap;
	base = strrchr(file->path, '/');
	base = base ? base + 1 : file->path;
	if (!banner_version(map, file->size, soname, version, sizeof(version),
			    &how) &&
	    !name_version(base, version, sizeof(version))) {
		how = "soname";
		if (!name_version(soname, version, sizeof(version)))
			snprintf(version, sizeof(version), "unknown");
	}
	snprintf(purl, sizeof(purl), "pkg:generic/%s@%s", soname, version);
	snprintf(evidence, sizeof(evidence), "ELF DT_SONAME; version from %s",
		 how);
	f.type = SCAN_FINDING_PACKAGE;
	f.ecosystem = "elf";
	f.name = soname;
	f.version = version;
	f.purl = purl;
	f.evidence = evidence;
	scan_emit(&lvl, &f);
out_unmap:
	munmap(map, file->size);
}
