// SPDX-License-Identifier: Apache-2.0
/*
 * Helpers shared by the scanner's unit tests (see helpers.h).
 */
#include "helpers.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <archive.h>
#include <archive_entry.h>
#include <openssl/evp.h>

int keeper_emit(void *arg, const struct scan_finding *f)
{
	struct keeper *k = arg;
	struct kept *e;
	size_t i, off = 0;

	ck_assert_uint_lt(k->n, KEPT_MAX);
	e = &k->items[k->n++];
	memset(e, 0, sizeof(*e));
	snprintf(e->path, sizeof(e->path), "%s", f->path);
	snprintf(e->inner, sizeof(e->inner), "%s", f->inner);
	snprintf(e->sha256, sizeof(e->sha256), "%s", f->sha256);
	snprintf(e->name, sizeof(e->name), "%s", f->name ? f->name : "");
	snprintf(e->version, sizeof(e->version), "%s",
		 f->version ? f->version : "");
	snprintf(e->evidence, sizeof(e->evidence), "%s",
		 f->evidence ? f->evidence : "");
	for (i = 0; i < f->n_cves; i++)
		off += (size_t)snprintf(e->cves + off, sizeof(e->cves) - off,
					"%s%s", i ? "," : "", f->cves[i].id);
	e->severity = f->severity;
	return 0;
}

void keeper_ctx(struct scan_ctx *ctx, struct keeper *k)
{
	struct scan_sink sink = { keeper_emit, k };

	memset(k, 0, sizeof(*k));
	scan_ctx_init(ctx, &sink);
}

const struct kept *keeper_find(const struct keeper *k, const char *name)
{
	size_t i;

	for (i = 0; i < k->n; i++)
		if (strcmp(k->items[i].name, name) == 0)
			return &k->items[i];
	return NULL;
}

const char *fixture_samples(void)
{
	static char path[4096];
	const char *dir = getenv("PX_FIXTURES_DIR");

	ck_assert_msg(dir && dir[0],
		      "PX_FIXTURES_DIR is not set; run through meson test");
	snprintf(path, sizeof(path), "%s/log4j-samples", dir);
	return path;
}

uint8_t *slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	uint8_t *buf;
	long n;

	ck_assert_msg(f != NULL, "cannot open %s", path);
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	fseek(f, 0, SEEK_SET);
	buf = malloc((size_t)n + 1);
	ck_assert_ptr_nonnull(buf);
	ck_assert_uint_eq(fread(buf, 1, (size_t)n, f), (size_t)n);
	fclose(f);
	*len = (size_t)n;
	return buf;
}

void spit(const char *path, const void *data, size_t len)
{
	FILE *f = fopen(path, "wb");

	ck_assert_msg(f != NULL, "cannot create %s", path);
	ck_assert_uint_eq(fwrite(data, 1, len, f), len);
	ck_assert_int_eq(fclose(f), 0);
}

void temp_dir(char *buf)
{
	strcpy(buf, "/tmp/px-scan-test-XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(buf));
}

void remove_tree(const char *dir)
{
	char cmd[256];

	ck_assert(strncmp(dir, "/tmp/px-scan-test-", 18) == 0);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	ck_assert_int_eq(run_status(cmd), 0);
}

uint8_t *zip_build(size_t n, const char *const *names,
		   const uint8_t *const *data, const size_t *lens,
		   size_t *out_len)
{
	return zip_build_as(n, names, data, lens, false, out_len);
}

uint8_t *zip_build_as(size_t n, const char *const *names,
		      const uint8_t *const *data, const size_t *lens,
		      bool store, size_t *out_len)
{
	size_t cap = 4096, used = 0, i;
	struct archive *a;
	struct archive_entry *e;
	uint8_t *buf;

	for (i = 0; i < n; i++)
		cap += lens[i] + 1024;
	buf = malloc(cap);
	ck_assert_ptr_nonnull(buf);
	a = archive_write_new();
	ck_assert_int_eq(archive_write_set_format_zip(a), ARCHIVE_OK);
	if (store)
		ck_assert_int_eq(archive_write_zip_set_compression_store(a),
				 ARCHIVE_OK);
	ck_assert_int_eq(archive_write_open_memory(a, buf, cap, &used),
			 ARCHIVE_OK);
	for (i = 0; i < n; i++) {
		e = archive_entry_new();
		archive_entry_set_pathname(e, names[i]);
		archive_entry_set_filetype(e, AE_IFREG);
		archive_entry_set_perm(e, 0644);
		archive_entry_set_size(e, (la_int64_t)lens[i]);
		ck_assert_int_eq(archive_write_header(a, e), ARCHIVE_OK);
		ck_assert_int_eq(archive_write_data(a, data[i], lens[i]),
				 (la_ssize_t)lens[i]);
		archive_entry_free(e);
	}
	ck_assert_int_eq(archive_write_close(a), ARCHIVE_OK);
	archive_write_free(a);
	*out_len = used;
	return buf;
}

uint8_t *zip_one(const char *name, const uint8_t *data, size_t len,
		 size_t *out_len)
{
	return zip_build(1, &name, &data, &len, out_len);
}

void sha256_hex_of(const void *data, size_t len, char hex[65])
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0, i;

	ck_assert_int_eq(EVP_Digest(data, len, md, &mdlen, EVP_sha256(), NULL),
			 1);
	for (i = 0; i < mdlen; i++)
		sprintf(hex + 2 * i, "%02x", md[i]);
	hex[2 * mdlen] = '\0';
}

uint8_t *unzip_entry(const char *path, const char *name, size_t *len)
{
	struct archive *a = archive_read_new();
	struct archive_entry *e;
	uint8_t *buf = NULL;
	la_ssize_t n;

	archive_read_support_format_zip_seekable(a);
	ck_assert_int_eq(archive_read_open_filename(a, path, 65536),
			 ARCHIVE_OK);
	while (archive_read_next_header(a, &e) == ARCHIVE_OK) {
		if (strcmp(archive_entry_pathname(e), name) != 0)
			continue;
		*len = (size_t)archive_entry_size(e);
		buf = malloc(*len + 1);
		ck_assert_ptr_nonnull(buf);
		n = archive_read_data(a, buf, *len);
		ck_assert_int_eq(n, (la_ssize_t)*len);
		break;
	}
	archive_read_free(a);
	ck_assert_msg(buf != NULL, "%s has no entry %s", path, name);
	return buf;
}

int run_status(const char *cmd)
{
	int st = system(cmd);

	if (st == -1 || !WIFEXITED(st))
		return -1;
	return WEXITSTATUS(st);
}

int lines_emit(void *arg, const struct scan_finding *f)
{
	struct lines *l = arg;
	char cves[4096] = "", line[16384];
	size_t i, off = 0;
	int n;

	for (i = 0; i < f->n_cves; i++)
		off += (size_t)snprintf(cves + off, sizeof(cves) - off,
					"%s%s", i ? "," : "", f->cves[i].id);
	n = snprintf(line, sizeof(line), "%d|%s|%s|%s|%s|%s|%s|%s|%s|%s|%s|%s\n",
		     (int)f->type, f->ecosystem ? f->ecosystem : "",
		     f->name ? f->name : "", f->version ? f->version : "",
		     f->source ? f->source : "", f->purl ? f->purl : "",
		     f->inner ? f->inner : "", f->rule ? f->rule : "",
		     f->preview ? f->preview : "",
		     f->keyed_hash ? f->keyed_hash : "",
		     f->layer_digest ? f->layer_digest : "", cves);
	ck_assert_int_gt(n, 0);
	if (l->len + (size_t)n + 1 > l->cap) {
		l->cap = (l->len + (size_t)n + 1) * 2;
		l->buf = realloc(l->buf, l->cap);
		ck_assert_ptr_nonnull(l->buf);
	}
	memcpy(l->buf + l->len, line, (size_t)n + 1);
	l->len += (size_t)n;
	l->n++;
	return 0;
}

void lines_ctx(struct scan_ctx *ctx, struct lines *l)
{
	struct scan_sink sink = { lines_emit, l };

	memset(l, 0, sizeof(*l));
	scan_ctx_init(ctx, &sink);
}

void lines_free(struct lines *l)
{
	free(l->buf);
	memset(l, 0, sizeof(*l));
}

size_t lines_count(const struct lines *l, const char *needle)
{
	const char *p = l->buf, *eol;
	size_t n = 0, nl = strlen(needle);

	while (p && *p) {
		eol = strchr(p, '\n');
		if (!eol)
			break;
		if (memmem(p, (size_t)(eol - p) + 1, needle, nl))
			n++;
		p = eol + 1;
	}
	return n;
}

void put_file(const char *dir, const char *rel, const void *data,
	      size_t len)
{
	char path[4096], *slash;

	mkdir(dir, 0755);
	snprintf(path, sizeof(path), "%s/%s", dir, rel);
	for (slash = path + strlen(dir) + 1; (slash = strchr(slash, '/'));
	     slash++) {
		*slash = '\0';
		mkdir(path, 0755);
		*slash = '/';
	}
	spit(path, data, len);
}

void put_text(const char *dir, const char *rel, const char *text)
{
	put_file(dir, rel, text, strlen(text));
}

int scan_bin(const char *args, const char *out, const char *err)
{
	const char *b = getenv("PX_SCAN_BIN");
	char cmd[16384];

	ck_assert_msg(b && b[0], "PX_SCAN_BIN is not set; run through meson test");
	ck_assert_msg(access(b, X_OK) == 0, "%s is not executable", b);
	snprintf(cmd, sizeof(cmd), "'%s' %s >'%s' 2>'%s' </dev/null", b, args,
		 out, err);
	return run_status(cmd);
}

bool file_has(const char *path, const char *needle)
{
	size_t len;
	uint8_t *buf = slurp(path, &len);
	bool found = memmem(buf, len, needle, strlen(needle)) != NULL;

	free(buf);
	return found;
}
