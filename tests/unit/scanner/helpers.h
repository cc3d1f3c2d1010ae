/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Shared by the scanner's unit tests: a sink that keeps every finding, the
 * fixture directory, temporary directories, and archives built in memory
 * with libarchive's writer.
 */
#ifndef PX_TEST_SCAN_HELPERS_H
#define PX_TEST_SCAN_HELPERS_H

#include <stddef.h>
#include <stdint.h>

#include "scan.h"

#define KEPT_MAX 256

/* A finding as the collecting sink keeps it. */
struct kept {
	char path[1024];
	char inner[1024];
	char sha256[65];
	char name[128];
	char version[64];
	char cves[256];         /* ids joined by ",", sorted */
	char evidence[2048];
	enum scan_severity severity;
};

struct keeper {
	struct kept items[KEPT_MAX];
	size_t n;
};

/* A sink whose arg is a struct keeper. */
int keeper_emit(void *arg, const struct scan_finding *f);

/* A scan context that keeps findings in <k>, with default limits. */
void keeper_ctx(struct scan_ctx *ctx, struct keeper *k);

/* The first finding named <name>, or NULL. */
const struct kept *keeper_find(const struct keeper *k, const char *name);

/* $PX_FIXTURES_DIR/log4j-samples; fails the test when unset. */
const char *fixture_samples(void);

/* Reads a whole file; fails the test on error.  Free the result. */
uint8_t *slurp(const char *path, size_t *len);
void spit(const char *path, const void *data, size_t len);

/* A fresh temporary directory (path in <buf>, at least 64 bytes). */
void temp_dir(char *buf);

/* Removes a directory made by temp_dir() and everything in it. */
void remove_tree(const char *dir);

/* Writes a zip holding entries names[i] with data[i] (lens[i] bytes) into
 * a malloc'd buffer; fails the test on error. */
uint8_t *zip_build(size_t n, const char *const *names,
		   const uint8_t *const *data, const size_t *lens,
		   size_t *out_len);

/* Zip with a single entry. */
uint8_t *zip_one(const char *name, const uint8_t *data, size_t len,
		 size_t *out_len);

/* The bytes of entry <name> of the zip file <path>; fails the test when
 * absent.  Free the result. */
uint8_t *unzip_entry(const char *path, const char *name, size_t *len);

/* Runs <cmd> with sh -c; returns its exit status (-1 on a signal). */
int run_status(const char *cmd);

/* The sha256 hex of a buffer, via OpenSSL directly (not px_sha256). */
void sha256_hex_of(const void *data, size_t len, char hex[65]);

#endif
