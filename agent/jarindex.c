// SPDX-License-Identifier: Apache-2.0
/*
 * Central-directory lookup in a zip archive (see jarindex.h).  The end of
 * central directory record sits in the last 22 + 65535 bytes; it gives the
 * directory's offset and size, whose records each carry one entry name.
 */
#include "jarindex.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define EOCD_SIG 0x06054b50u
#define CDIR_SIG 0x02014b50u
#define EOCD_LEN 22
#define CDIR_LEN 46
#define TAIL_MAX (EOCD_LEN + 65535)
#define CDIR_MAX (64u << 20)	/* larger directories are not read */

static uint32_t le32(const unsigned char *p)
{
	return p[0] | p[1] << 8 | p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint16_t le16(const unsigned char *p)
{
	return (uint16_t)(p[0] | p[1] << 8);
}

/* Reads exactly <len> bytes at <off>; false on a short read. */
static bool read_at(int fd, void *buf, size_t len, off_t off)
{
	size_t got = 0;

	while (got < len) {
		ssize_t n = pread(fd, (char *)buf + got, len - got,
				  off + (off_t)got);

		if (n <= 0)
			return false;
		got += (size_t)n;
	}
	return true;
}

/* Finds the directory: its offset and size from the EOCD record. */
static bool find_cdir(int fd, uint64_t *off, uint32_t *size)
{
	unsigned char *tail;
	struct stat st;
	size_t len;
	bool ok = false;

	if (fstat(fd, &st) < 0 || st.st_size < EOCD_LEN)
		return false;
	len = st.st_size < TAIL_MAX ? (size_t)st.st_size : TAIL_MAX;
	tail = malloc(len);
	if (!tail)
		return false;
	if (!read_at(fd, tail, len, st.st_size - (off_t)len))
		goto out_free;
	for (size_t i = len - EOCD_LEN + 1; i-- > 0;) {
		if (le32(tail + i) != EOCD_SIG)
			continue;
		*size = le32(tail + i + 12);
		*off = le32(tail + i + 16);
		ok = *off != 0xffffffffu && *size <= CDIR_MAX &&
		     *off + *size <= (uint64_t)st.st_size;
		break;
	}
out_free:
	free(tail);
	return ok;
}

bool agent_jar_has_entry(int fd, const char *entry)
{
	size_t want = strlen(entry), pos = 0;
	unsigned char *dir;
	uint64_t off;
	uint32_t size;
	bool found = false;

	if (!find_cdir(fd, &off, &size))
		return false;
	dir = malloc(size ? size : 1);
	if (!dir)
		return false;
	if (!read_at(fd, dir, size, (off_t)off))
		goto out_free;
	while (!found && pos + CDIR_LEN <= size &&
	       le32(dir + pos) == CDIR_SIG) {
		size_t nlen = le16(dir + pos + 28);
		size_t rec = CDIR_LEN + nlen + le16(dir + pos + 30) +
			     le16(dir + pos + 32);

		if (pos + CDIR_LEN + nlen > size)
			break;
		found = nlen == want &&
			!memcmp(dir + pos + CDIR_LEN, entry, want);
		pos += rec;
	}
out_free:
	free(dir);
	return found;
}
