// SPDX-License-Identifier: Apache-2.0
/*
 * libFuzzer entry points, one per input parser; FUZZ_<NAME> picks which
 * this object is (see meson.build here).  Each feeds the fuzzer's bytes to
 * the same code the scanner runs: the archive walker (through a memfd, as
 * image files are), each inventory parser, the OSV parser (common/osv.c)
 * with the scanner's matcher and the collector's stored-ranges round trip,
 * and the secrets pass.  Findings go to a sink that drops them.
 */
#include <stddef.h>
#include <stdio.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "elfso.h"
#include "inventory.h"
#include "log.h"
#include "maven.h"
#include "osv.h"
#include "osvmatch.h"
#include "scan.h"
#include "secrets.h"
#include "snapshot.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static __attribute__((unused)) int drop(void *arg,
					const struct scan_finding *f)
{
	(void)arg;
	(void)f;
	return 0;
}

static __attribute__((unused)) void drop_pkg(void *arg,
					      const struct inv_pkg *p)
{
	(void)arg;
	(void)p;
}

static __attribute__((unused)) void drop_hit(void *arg,
					      const struct secret_hit *h)
{
	(void)arg;
	(void)h;
}

/* The collector's path: each affected entry's ranges stored as JSON,
 * read back and evaluated. */
static __attribute__((unused)) void osv_roundtrip(const uint8_t *data,
						  size_t size)
{
	struct px_osv_record *rec;
	size_t i;

	if (px_osv_parse((const char *)data, size, &rec, NULL, 0))
		return;
	for (i = 0; i < rec->n_affected; i++) {
		struct px_osv_affected a = { 0 };
		char *text = px_osv_ranges_json(&rec->affected[i]);

		if (text && !px_osv_affected_parse(text, NULL, &a))
			px_osv_affects(&a, 0, "1.0", NULL, 0);
		px_osv_affected_release(&a);
		free(text);
	}
	px_osv_record_free(rec);
}

static void quiet(void)
{
	static int done;

	if (!done) {
		px_log_set_level("error");
		done = 1;
	}
}

/* The fuzzer's bytes as a file, as the scanner meets image files: a memfd
 * holding <data>, or -1 when it cannot be made. */
static __attribute__((unused)) int input_fd(const uint8_t *data,
					    size_t size, const char *name)
{
	int fd = memfd_create(name, 0);

	if (fd >= 0 && write(fd, data, size) != (ssize_t)size) {
		close(fd);
		fd = -1;
	}
	return fd;
}

/* A scan context with budgets small enough for a fuzzer's pace. */
static __attribute__((unused)) void fuzz_ctx(struct scan_ctx *ctx,
					     struct scan_sink *sink)
{
	scan_ctx_init(ctx, sink);
	ctx->limits.max_entry_bytes = 1u << 20;
	ctx->limits.max_archive_bytes = 8u << 20;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	quiet();
#if defined(FUZZ_ARCHIVE)
	{
		struct scan_sink sink = { drop, NULL };
		struct scan_ctx ctx;
		struct scan_file f = { 0 };
		int fd = input_fd(data, size, "fuzz");

		if (fd < 0)
			return 0;
		fuzz_ctx(&ctx, &sink);
		f.path = "fuzz.jar";
		f.fd = fd;
		f.size = size;
		scan_file_run(&ctx, &f);
		close(fd);
	}
#elif defined(FUZZ_DPKG)
	inv_parse_dpkg((const char *)data, size, drop_pkg, NULL);
#elif defined(FUZZ_APK)
	inv_parse_apk((const char *)data, size, drop_pkg, NULL);
#elif defined(FUZZ_PYTHON)
	inv_parse_python((const char *)data, size, drop_pkg, NULL);
#elif defined(FUZZ_NPM)
	inv_parse_npm((const char *)data, size, drop_pkg, NULL);
#elif defined(FUZZ_RPM)
	inv_parse_rpm_header(data, size, drop_pkg, NULL);
#elif defined(FUZZ_OSV)
	{
		struct osv_db *db = osv_db_new();
		struct scan_finding f = { 0 };

		if (!db)
			return 0;
		osv_db_add_json(db, (const char *)data, size, "fuzz");
		osv_db_finish(db);
		f.type = SCAN_FINDING_PACKAGE;
		f.ecosystem = "maven";
		f.name = "a:b";
		f.version = "1.2.3";
		osv_match(db, &f);
		f.ecosystem = "deb";
		f.source = "a";
		f.version = "1:1.0-1";
		osv_match(db, &f);
		osv_db_free(db);
		osv_roundtrip(data, size);
	}
#elif defined(FUZZ_ELF)
	{
		char soname[256];

		elf_soname(data, size, soname, sizeof(soname));
	}
#elif defined(FUZZ_SECRETS)
	{
		static struct scan_secrets *s;
		char err[256];

		if (!s)
			s = scan_secrets_new((const uint8_t *)"fuzz-key-fuzz-key", 17,
					     err, sizeof(err));
		if (s)
			scan_secrets_buf(s, data, size,
					 SCAN_CHECK_SECRETS | SCAN_CHECK_PII,
					 drop_hit, NULL);
	}
#elif defined(FUZZ_POM) || defined(FUZZ_MANIFEST)
	{
		struct scan_sink sink = { drop, NULL };
		struct scan_file f = { .path = "fuzz.jar", .fd = -1 };
		struct scan_level lvl = { 0 };
		struct scan_ctx ctx;

		scan_ctx_init(&ctx, &sink);
		lvl.ctx = &ctx;
		lvl.file = &f;
		lvl.inner = "";
		lvl.maven = maven_set_new();
		if (!lvl.maven)
			return 0;
#if defined(FUZZ_POM)
		maven_add_pom(lvl.maven, "META-INF/maven/g/a/pom.properties",
			      (const char *)data, size);
#else
		maven_set_manifest(lvl.maven, (const char *)data, size);
#endif
		/* the report turns what was parsed into findings (the
		 * manifest fallback included) */
		maven_report(&lvl);
		maven_set_free(lvl.maven);
	}
#elif defined(FUZZ_DOCKER)
	{
		/* the input is the outer docker-save tar: its index and its
		 * manifest.json / config JSON are what this reaches */
		struct scan_sink sink = { drop, NULL };
		struct scan_ctx ctx;
		char path[64];
		int fd = input_fd(data, size, "fuzz.tar");

		if (fd < 0)
			return 0;
		fuzz_ctx(&ctx, &sink);
		snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
		scan_image_docker(&ctx, path);
		close(fd);
	}
#else
#error "define one FUZZ_<TARGET>"
#endif
	return 0;
}
