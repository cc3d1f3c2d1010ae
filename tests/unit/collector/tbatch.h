/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Hand-built Parallax__V1__Batch messages for the collector's tests, as the
 * gRPC server would hand them over after decoding.  Strings are copied;
 * tb_free() releases everything.
 */
#ifndef PX_TEST_TBATCH_H
#define PX_TEST_TBATCH_H

#include <stdbool.h>
#include <stdint.h>

#include "parallax.pb-c.h"

struct tbatch;

struct tbatch *tb_new(const char *host_id, const char *source_id,
		      const char *boot_id, uint64_t seq, bool scanner);
void tb_exec(struct tbatch *t, uint32_t pid, const char *exec_id,
	     const char *exe, const char *arg1);
void tb_load(struct tbatch *t, uint32_t pid, const char *exec_id,
	     const char *path, const char *sha256);
void tb_exit(struct tbatch *t, uint32_t pid, const char *exec_id, int code);
void tb_net(struct tbatch *t, uint32_t pid, const char *exec_id);
/* A package finding; <cve> NULL for none. */
void tb_finding(struct tbatch *t, const char *path, const char *inner,
		const char *sha256, const char *name, const char *version,
		const char *cve);
Parallax__V1__Batch *tb_batch(struct tbatch *t);
void tb_free(struct tbatch *t);

#endif
