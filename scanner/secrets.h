/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Secrets and PII in file contents: one Hyperscan pass over the bytes with
 * every rule compiled into one database, then a validator per rule (Luhn
 * for card numbers, the SSA's invalid ranges for SSNs, mod-97 for IBANs,
 * structure for JWTs and keys).  A match is reported as its rule, a masked
 * preview and an HMAC-SHA256 of the value under the run's key; the value
 * itself is never written anywhere, logs included.
 */
#ifndef PX_SCAN_SECRETS_H
#define PX_SCAN_SECRETS_H

#include <stddef.h>
#include <stdint.h>

#include "scan.h"

#define SECRETS_KEY_LEN 32

struct scan_secrets;

/* Compiles the rules.  <key> (len bytes) keys the hashes; NULL draws a
 * random per-run key.  NULL with the reason in <err>. */
struct scan_secrets *scan_secrets_new(const uint8_t *key, size_t len,
				      char *err, size_t errlen);
void scan_secrets_free(struct scan_secrets *s);
/* A copy for another thread: same rules and key, its own scratch space.
 * Free it before its origin.  NULL when out of memory. */
struct scan_secrets *scan_secrets_clone(const struct scan_secrets *s);

/* One match as the scanner reports it (strings owned by the caller's
 * buffers, valid for the callback). */
struct secret_hit {
	enum scan_finding_type type;    /* SECRET or PII */
	const char *rule;
	const char *preview;
	const char *keyed_hash;
	uint32_t line;
};

typedef void (*secret_hit_cb)(void *arg, const struct secret_hit *h);

/* Scans <data>; returns the number of hits reported, -errno on failure.
 * <checks> selects SCAN_CHECK_SECRETS and/or SCAN_CHECK_PII. */
/* scan_secrets_buf() that gives up with -ETIMEDOUT once <deadline>
 * (px_now_ns(), 0: none) has passed, checked between windows. */
int scan_secrets_buf_until(struct scan_secrets *s, const uint8_t *data,
			   size_t len, unsigned int checks, uint64_t deadline,
			   secret_hit_cb cb, void *arg);
int scan_secrets_buf(struct scan_secrets *s, const uint8_t *data,
		     size_t len, unsigned int checks, secret_hit_cb cb,
		     void *arg);

/* Scans <data>, an archive entry named by <lvl>->inner, and emits a
 * finding per hit at that level. */
void secrets_scan_level(struct scan_level *lvl, const uint8_t *data,
			size_t len);

/* Scans the whole of <file> and emits a finding per hit. */
void secrets_scan_file(struct scan_ctx *ctx, struct scan_file *file);

#endif
