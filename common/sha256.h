/* SPDX-License-Identifier: Apache-2.0 */
/*
 * SHA-256 through OpenSSL's EVP interface, as 64-character lowercase hex
 * wherever it leaves a module.
 */
#ifndef PX_SHA256_H
#define PX_SHA256_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define PX_SHA256_LEN 32
#define PX_SHA256_HEX_LEN 64

/* Streaming digest.  Opaque; allocate with px_sha256_new(). */
struct px_sha256;

struct px_sha256 *px_sha256_new(void);
void px_sha256_update(struct px_sha256 *h, const void *buf, size_t len);
/* Writes the digest and resets <h> for reuse. */
void px_sha256_final(struct px_sha256 *h, uint8_t out[PX_SHA256_LEN]);
void px_sha256_free(struct px_sha256 *h);

/* Formats <d> as hex into <hex> (65 bytes with the NUL). */
void px_sha256_hex(const uint8_t d[PX_SHA256_LEN],
		   char hex[PX_SHA256_HEX_LEN + 1]);

/*
 * Digests the file <path>, relative to <dirfd> (AT_FDCWD for none), reading
 * at most <max_bytes> (0: no limit; -EFBIG when the file is larger).  The
 * file is opened O_RDONLY|O_NOFOLLOW|O_CLOEXEC|O_NOCTTY and must be a regular
 * file (-EINVAL otherwise).  Returns 0 or -errno; <size_out> may be NULL.
 */
int px_sha256_file(int dirfd, const char *path, uint64_t max_bytes,
		   char hex[PX_SHA256_HEX_LEN + 1], uint64_t *size_out);

/* The same for an already open descriptor, read from offset 0 with pread. */
int px_sha256_fd(int fd, uint64_t max_bytes, char hex[PX_SHA256_HEX_LEN + 1],
		 uint64_t *size_out);

#endif
