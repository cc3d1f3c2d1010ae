// SPDX-License-Identifier: Apache-2.0
/*
 * libFuzzer target: one gRPC message body as the collector receives it.
 * Decodes it as a parallax.v1.Batch (protobuf-c), validates it
 * (px_batch_invalid), and for a valid batch builds every statement and
 * COPY row the ingest sink would send (coll_batch_render), twice: with the
 * payload's source_id and with an mTLS identity.  Any crash, leak or
 * sanitizer report is a bug; the invariants below must hold.
 */
#include <assert.h>
#include <errno.h>
#include <stddef.h>
#include <stdint.h>

#include "ingest.h"
#include "parallax.pb-c.h"
#include "transport.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	Parallax__V1__Batch *b;
	size_t rows, stmts, bytes;
	int ret;

	b = parallax__v1__batch__unpack(NULL, size, data);
	if (b == NULL)
		return 0;
	ret = coll_batch_render(b, NULL, &rows, &stmts, &bytes);
	assert(ret == 0 || ret == -EINVAL || ret == -ENOMEM);
	assert((ret == -EINVAL) == (px_batch_invalid(b) != NULL));
	if (ret == 0) {
		/* One COPY row per event; one host statement at least. */
		assert(rows == b->n_events);
		assert(stmts >= 1);
		assert((rows == 0) == (bytes == 0));
		ret = coll_batch_render(b, "cn-from-certificate", &rows,
					&stmts, &bytes);
		assert(ret == 0 || ret == -ENOMEM);
	}
	parallax__v1__batch__free_unpacked(b, NULL);
	return 0;
}
