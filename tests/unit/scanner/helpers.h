/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Shared by the scanner's unit tests: a sink that keeps every finding, the
 * fixture directory, temporary directories, and archives built in memory
 * with libarchive's writer.
 */
#ifndef PX_TEST_SCAN_HELPERS_H
#define PX_TEST_SCAN_HELPERS_H

#include <stdbool.h>
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

/*
 * A sink that appends one line per finding to a growing text, fields
 * separated by '|': type ecosystem name version source purl inner rule
 * preview keyed_hash layer_digest cves.  For tests that count many
 * findings.
 */
struct lines {
	char *buf;
	size_t len, cap;
	size_t n;
};

int lines_emit(void *arg, const struct scan_finding *f);
void lines_ctx(struct scan_ctx *ctx, struct lines *l);
void lines_free(struct lines *l);
/* How many lines contain <needle>; a line is searched with its "\n", so a
 * needle ending in "\n" matches a line's last field exactly. */
size_t lines_count(const struct lines *l, const char *needle);

/* Writes <len> bytes of <data> to <dir>/<rel>, making parent directories. */
void put_file(const char *dir, const char *rel, const void *data,
	      size_t len);
void put_text(const char *dir, const char *rel, const char *text);

/* Writes a zip holding entries names[i] with data[i] (lens[i] bytes) into
 * a malloc'd buffer; fails the test on error. */
uint8_t *zip_build(size_t n, const char *const *names,
		   const uint8_t *const *data, const size_t *lens,
		   size_t *out_len);

/* zip_build(), with every entry STORED uncompressed when <store>. */
uint8_t *zip_build_as(size_t n, const char *const *names,
		      const uint8_t *const *data, const size_t *lens,
		      bool store, size_t *out_len);

/* Zip with a single entry. */
uint8_t *zip_one(const char *name, const uint8_t *data, size_t len,
		 size_t *out_len);

/* The bytes of entry <name> of the zip file <path>; fails the test when
 * absent.  Free the result. */
uint8_t *unzip_entry(const char *path, const char *name, size_t *len);

/* Runs $PX_SCAN_BIN with <args> (shell words), stdout to <out>, stderr to
 * <err>; returns its exit status.  Fails the test when the binary is not
 * there. */
int scan_bin(const char *args, const char *out, const char *err);

/* Whether the file at <path> contains <needle> (binary-safe). */
bool file_has(const char *path, const char *needle);

/* Runs <cmd> with sh -c; returns its exit status (-1 on a signal). */
int run_status(const char *cmd);

/* The sha256 hex of a buffer, via OpenSSL directly (not px_sha256). */
void sha256_hex_of(const void *data, size_t len, char hex[65]);

#endif
