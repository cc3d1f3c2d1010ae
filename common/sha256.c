// SPDX-License-Identifier: Apache-2.0
/*
 * SHA-256 over OpenSSL EVP, streaming and over whole files.
 */
#include "sha256.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/evp.h>

struct px_sha256 {
	EVP_MD_CTX *ctx;
};

struct px_sha256 *px_sha256_new(void)
{
	struct px_sha256 *h = calloc(1, sizeof(*h));

	if (h == NULL)
		return NULL;
	h->ctx = EVP_MD_CTX_new();
	if (h->ctx == NULL || !EVP_DigestInit_ex(h->ctx, EVP_sha256(), NULL)) {
		EVP_MD_CTX_free(h->ctx);
		free(h);
		return NULL;
	}
	return h;
}

void px_sha256_update(struct px_sha256 *h, const void *buf, size_t len)
{
	EVP_DigestUpdate(h->ctx, buf, len);
}

void px_sha256_final(struct px_sha256 *h, uint8_t out[PX_SHA256_LEN])
{
	unsigned int n = PX_SHA256_LEN;

	EVP_DigestFinal_ex(h->ctx, out, &n);
	EVP_DigestInit_ex(h->ctx, EVP_sha256(), NULL);
}

void px_sha256_free(struct px_sha256 *h)
{
	if (h == NULL)
		return;
	EVP_MD_CTX_free(h->ctx);
	free(h);
}

void px_sha256_hex(const uint8_t d[PX_SHA256_LEN],
		   char hex[PX_SHA256_HEX_LEN + 1])
{
	static const char digits[] = "0123456789abcdef";

	for (int i = 0; i < PX_SHA256_LEN; i++) {
		hex[2 * i] = digits[d[i] >> 4];
		hex[2 * i + 1] = digits[d[i] & 15];
	}
	hex[PX_SHA256_HEX_LEN] = '\0';
}

int px_sha256_fd(int fd, uint64_t max_bytes, char hex[PX_SHA256_HEX_LEN + 1],
		 uint64_t *size_out)
{
	static __thread unsigned char buf[1 << 16];
	struct px_sha256 *h;
	uint8_t d[PX_SHA256_LEN];
	uint64_t total = 0;
	struct stat st;
	int err = 0;

	if (fstat(fd, &st) < 0)
		return -errno;
	if (!S_ISREG(st.st_mode))
		return -EINVAL;
	if (max_bytes != 0 && (uint64_t)st.st_size > max_bytes)
		return -EFBIG;
	h = px_sha256_new();
	if (h == NULL)
		return -ENOMEM;
	for (;;) {
		ssize_t n = pread(fd, buf, sizeof(buf), (off_t)total);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			err = -errno;
			goto out;
		}
		if (n == 0)
			break;
		total += (uint64_t)n;
		if (max_bytes != 0 && total > max_bytes) {
			err = -EFBIG;	/* it grew while we read it */
			goto out;
		}
		px_sha256_update(h, buf, (size_t)n);
	}
	px_sha256_final(h, d);
	px_sha256_hex(d, hex);
	if (size_out != NULL)
		*size_out = total;
out:
	px_sha256_free(h);
	return err;
}

int px_sha256_file(int dirfd, const char *path, uint64_t max_bytes,
		   char hex[PX_SHA256_HEX_LEN + 1], uint64_t *size_out)
{
	int fd, err;

	fd = openat(dirfd, path,
		    O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (fd < 0)
		return -errno;
	err = px_sha256_fd(fd, max_bytes, hex, size_out);
	close(fd);
	return err;
}
