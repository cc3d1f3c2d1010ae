// SPDX-License-Identifier: Apache-2.0
/*
 * Package inventories: this machine's own dpkg database against
 * dpkg-query, status.d with source names, apk, a real sqlite rpmdb built
 * here with rpm's header layout, Python and npm metadata, Java libraries
 * nested in Spring Boot and WAR archives, and ELF shared objects.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

#include "helpers.h"
#include "inventory.h"
#include "scan.h"
#include "px_check.h"

/* Sorts the lines of <text> in place order into a new string. */
static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static char *sorted_lines(char *text)
{
	char **v = NULL, *p, *save = NULL, *out;
	size_t n = 0, cap = 0, i, len = 0;

	for (p = strtok_r(text, "\n", &save); p; p = strtok_r(NULL, "\n", &save)) {
		if (n == cap) {
			cap = cap ? cap * 2 : 256;
			v = realloc(v, cap * sizeof(*v));
			ck_assert_ptr_nonnull(v);
		}
		v[n++] = p;
		len += strlen(p) + 1;
	}
	qsort(v, n, sizeof(*v), cmp_str);
	out = calloc(1, len + 1);
	ck_assert_ptr_nonnull(out);
	for (i = 0; i < n; i++) {
		strcat(out, v[i]);
		strcat(out, "\n");
	}
	free(v);
	return out;
}

/* "name version" per deb finding of <l>. */
static char *deb_pairs(const struct lines *l)
{
	char *copy = strdup(l->buf ? l->buf : ""), *p, *save = NULL;
	char *out = calloc(1, l->len + 1);
	size_t o = 0;

	ck_assert_ptr_nonnull(copy);
	ck_assert_ptr_nonnull(out);
	for (p = strtok_r(copy, "\n", &save); p; p = strtok_r(NULL, "\n", &save)) {
		char *f[6];
		int i;

		f[0] = p;
		for (i = 1; i < 6; i++) {
			f[i] = strchr(f[i - 1], '|');
			ck_assert_ptr_nonnull(f[i]);
			*f[i]++ = '\0';
		}
		if (strcmp(f[1], "deb") == 0)
			o += (size_t)sprintf(out + o, "%s %s\n", f[2], f[3]);
	}
	free(copy);
	return out;
}

START_TEST(this_machines_dpkg_inventory_equals_dpkg_query)
{
	struct scan_ctx ctx;
	struct lines l;
	char *want, *got, *ours;
	FILE *p;
	size_t n, cap = 1 << 20;

	want = calloc(1, cap);
	ck_assert_ptr_nonnull(want);
	p = popen("dpkg-query -W -f '${Package} ${Version}\\n'", "r");
	ck_assert_ptr_nonnull(p);
	n = fread(want, 1, cap - 1, p);
	ck_assert_int_eq(pclose(p), 0);
	ck_assert_uint_gt(n, 100);
	lines_ctx(&ctx, &l);
	ck_assert_int_eq(scan_walk_root(&ctx, "/var/lib/dpkg"), 0);
	ours = deb_pairs(&l);
	got = sorted_lines(ours);
	free(ours);
	ours = sorted_lines(want);
	ck_assert_str_eq(got, ours);
	ck_assert_uint_gt(lines_count(&l, "|deb|libc6|"), 0);
	free(got);
	free(ours);
	free(want);
	lines_free(&l);
}
END_TEST

/* What the scan of "/" keeps: "name version" of each deb finding read
 * from this machine's own dpkg database, nothing from elsewhere (other
 * trees on the machine, test directories among them, hold status files). */
struct root_debs {
	char *buf;
	size_t len, cap;
	size_t others;          /* deb findings from other status files */
};

static int root_debs_emit(void *arg, const struct scan_finding *f)
{
	struct root_debs *r = arg;
	char line[512];
	int n;

	if (f->type != SCAN_FINDING_PACKAGE || !f->ecosystem ||
	    strcmp(f->ecosystem, "deb"))
		return 0;
	if (strcmp(f->path, "/var/lib/dpkg/status") &&
	    (strncmp(f->path, "/var/lib/dpkg/status.d/", 23) ||
	     strchr(f->path + 23, '/'))) {
		r->others++;
		return 0;
	}
	n = snprintf(line, sizeof(line), "%s %s\n", f->name, f->version);
	ck_assert_int_gt(n, 0);
	ck_assert_int_lt(n, (int)sizeof(line));
	if (r->len + (size_t)n + 1 > r->cap) {
		r->cap = (r->len + (size_t)n + 1) * 2;
		r->buf = realloc(r->buf, r->cap);
		ck_assert_ptr_nonnull(r->buf);
	}
	memcpy(r->buf + r->len, line, (size_t)n + 1);
	r->len += (size_t)n;
	return 0;
}

/*
 * The test: a scan of this machine's whole "/" (packages only,
 * so files are opened only as far as telling what they are) gives the
 * same dpkg inventory as dpkg-query.
 */
START_TEST(a_scan_of_this_machines_root_lists_what_dpkg_query_lists)
{
	struct root_debs r = { 0 };
	struct scan_sink sink = { root_debs_emit, &r };
	struct scan_ctx ctx;
	char *want, *got, *ours;
	FILE *p;
	size_t n, cap = 1 << 20;

	want = calloc(1, cap);
	ck_assert_ptr_nonnull(want);
	p = popen("dpkg-query -W -f '${Package} ${Version}\\n'", "r");
	ck_assert_ptr_nonnull(p);
	n = fread(want, 1, cap - 1, p);
	ck_assert_int_eq(pclose(p), 0);
	ck_assert_uint_gt(n, 100);
	ck_assert_uint_lt(n, cap - 1);

	scan_ctx_init(&ctx, &sink);
	ctx.checks = SCAN_CHECK_PACKAGES;
	ctx.threads = 2;
	ck_assert_int_eq(scan_walk_root_as(&ctx, "/", "/"), 0);
	ck_assert_uint_gt(ctx.stats.files, 10000);
	ck_assert_ptr_nonnull(r.buf);
	got = sorted_lines(r.buf);
	ours = sorted_lines(want);
	ck_assert_str_eq(got, ours);
	ck_assert_ptr_nonnull(strstr(got, "\nlibc6 "));
	free(got);
	free(ours);
	free(want);
	free(r.buf);
}
END_TEST

START_TEST(dpkg_status_d_stanzas_carry_their_source_package)
{
	struct scan_ctx ctx;
	struct lines l;
	char dir[64];

	temp_dir(dir);
	put_text(dir, "var/lib/dpkg/status.d/libssl3",
		 "Package: libssl3\nVersion: 3.0.11-1~deb12u2\n"
		 "Architecture: amd64\nSource: openssl (3.0.11-1~deb12u2)\n"
		 "Description: ssl\n multi-line body: here\n\n");
	put_text(dir, "var/lib/dpkg/status.d/libssl3.md5sums",
		 "Package: bogus\nVersion: 1\n");
	put_text(dir, "var/lib/dpkg/status.d/base-files",
		 "Package: base-files\nVersion: 12.4+deb12u5\n"
		 "Architecture: amd64\n");
	put_text(dir, "var/lib/dpkg/status",
		 "Package: gone\nStatus: purge ok not-installed\n"
		 "Version: 1.0\n\nPackage: tzdata\n"
		 "Status: install ok installed\nVersion: 2024a-0+deb12u1\n"
		 "Architecture: all\n");
	lines_ctx(&ctx, &l);
	ck_assert_int_eq(scan_walk_root(&ctx, dir), 0);
	ck_assert_uint_eq(l.n, 3);
	ck_assert_uint_eq(lines_count(&l,
		"1|deb|libssl3|3.0.11-1~deb12u2|openssl|pkg:deb/debian/libssl3@3.0.11-1~deb12u2?arch=amd64|"), 1);
	ck_assert_uint_eq(lines_count(&l, "|deb|base-files|12.4+deb12u5||pkg:deb/debian/base-files@12.4%2Bdeb12u5?arch=amd64&distro=debian-12|"), 1);
	ck_assert_uint_eq(lines_count(&l, "|deb|tzdata|2024a-0+deb12u1|"), 1);
	ck_assert_uint_eq(lines_count(&l, "|gone|"), 0);
	ck_assert_uint_eq(lines_count(&l, "|bogus|"), 0);
	lines_free(&l);
	remove_tree(dir);
}
END_TEST

START_TEST(apk_installed_database_lists_every_package_with_origin)
{
	struct scan_ctx ctx;
	struct lines l;
	char dir[64];

	temp_dir(dir);
	put_text(dir, "lib/apk/db/installed",
		 "C:Q1abc=\nP:musl\nV:1.2.4-r2\nA:x86_64\no:musl\n"
		 "F:lib\nR:libc.musl-x86_64.so.1\n\n"
		 "C:Q1def=\nP:libcrypto3\nV:3.1.4-r5\nA:x86_64\no:openssl\n\n"
		 "P:noversion\n\n");
	lines_ctx(&ctx, &l);
	ck_assert_int_eq(scan_walk_root(&ctx, dir), 0);
	ck_assert_uint_eq(l.n, 2);
	ck_assert_uint_eq(lines_count(&l, "|apk|musl|1.2.4-r2|musl|pkg:apk/alpine/musl@1.2.4-r2?arch=x86_64|"), 1);
	ck_assert_uint_eq(lines_count(&l, "|apk|libcrypto3|3.1.4-r5|openssl|"), 1);
	lines_free(&l);
	remove_tree(dir);
}
END_TEST

/* An rpm header blob with the given string tags (and an epoch when
 * <epoch> >= 0): il, dl, index entries, then the data store. */
static size_t rpm_blob(uint8_t *out, const char *name, const char *ver,
		       const char *rel, const char *arch, const char *srpm,
		       int epoch)
{
	const char *vals[5] = { name, ver, rel, arch, srpm };
	const unsigned int tags[5] = { 1000, 1001, 1002, 1022, 1044 };
	uint8_t store[1024];
	uint32_t il = epoch >= 0 ? 6 : 5, dl = 0, i;
	uint8_t *e = out + 8;

#define PUT32(p, v) do { (p)[0] = (uint8_t)((v) >> 24); \
	(p)[1] = (uint8_t)((v) >> 16); (p)[2] = (uint8_t)((v) >> 8); \
	(p)[3] = (uint8_t)(v); } while (0)
	if (epoch >= 0) {
		PUT32(store, (uint32_t)epoch);
		PUT32(e, 1003u);
		PUT32(e + 4, 4u);
		PUT32(e + 8, 0u);
		PUT32(e + 12, 1u);
		e += 16;
		dl = 4;
	}
	for (i = 0; i < 5; i++, e += 16) {
		PUT32(e, tags[i]);
		PUT32(e + 4, 6u);
		PUT32(e + 8, dl);
		PUT32(e + 12, 1u);
		memcpy(store + dl, vals[i], strlen(vals[i]) + 1);
		dl += (uint32_t)strlen(vals[i]) + 1;
	}
	PUT32(out, il);
	PUT32(out + 4, dl);
	memcpy(out + 8 + 16 * il, store, dl);
	return 8 + 16 * il + dl;
#undef PUT32
}

START_TEST(the_sqlite_rpmdb_is_read_with_epoch_release_and_source)
{
	struct scan_ctx ctx;
	struct lines l;
	char dir[64], path[256];
	sqlite3 *db;
	sqlite3_stmt *st;
	uint8_t blob[2048];
	size_t len;

	temp_dir(dir);
	put_text(dir, "var/lib/rpm/.keep", "");
	snprintf(path, sizeof(path), "%s/var/lib/rpm/rpmdb.sqlite", dir);
	ck_assert_int_eq(sqlite3_open(path, &db), SQLITE_OK);
	ck_assert_int_eq(sqlite3_exec(db,
		"CREATE TABLE Packages (hnum INTEGER PRIMARY KEY AUTOINCREMENT, blob BLOB NOT NULL)",
		NULL, NULL, NULL), SQLITE_OK);
	ck_assert_int_eq(sqlite3_prepare_v2(db,
		"INSERT INTO Packages (blob) VALUES (?)", -1, &st, NULL),
		SQLITE_OK);
	len = rpm_blob(blob, "openssl-libs", "3.0.7", "27.el9", "x86_64",
		       "openssl-3.0.7-27.el9.src.rpm", 1);
	sqlite3_bind_blob(st, 1, blob, (int)len, SQLITE_TRANSIENT);
	ck_assert_int_eq(sqlite3_step(st), SQLITE_DONE);
	sqlite3_reset(st);
	len = rpm_blob(blob, "bash", "5.1.8", "9.el9", "x86_64",
		       "bash-5.1.8-9.el9.src.rpm", -1);
	sqlite3_bind_blob(st, 1, blob, (int)len, SQLITE_TRANSIENT);
	ck_assert_int_eq(sqlite3_step(st), SQLITE_DONE);
	sqlite3_reset(st);
	sqlite3_bind_blob(st, 1, "\0\0\0\1garbage", 11, SQLITE_TRANSIENT);
	ck_assert_int_eq(sqlite3_step(st), SQLITE_DONE);
	sqlite3_finalize(st);
	ck_assert_int_eq(sqlite3_close(db), SQLITE_OK);

	lines_ctx(&ctx, &l);
	ck_assert_int_eq(scan_walk_root(&ctx, dir), 0);
	ck_assert_uint_eq(l.n, 2);
	ck_assert_uint_eq(lines_count(&l, "|rpm|openssl-libs|1:3.0.7-27.el9|openssl|pkg:rpm/openssl-libs@1%3A3.0.7-27.el9?arch=x86_64|"), 1);
	ck_assert_uint_eq(lines_count(&l, "|rpm|bash|5.1.8-9.el9|bash|"), 1);
	ck_assert_uint_eq(ctx.stats.errors, 0);
	lines_free(&l);
	remove_tree(dir);
}
END_TEST

START_TEST(python_dist_info_and_egg_info_metadata_are_read)
{
	struct scan_ctx ctx;
	struct lines l;
	char dir[64];

	temp_dir(dir);
	put_text(dir, "usr/lib/python3/dist-packages/requests-2.31.0.dist-info/METADATA",
		 "Metadata-Version: 2.1\nName: requests\nVersion: 2.31.0\n"
		 "Summary: HTTP\n\nName: not-this\nVersion: 0\n");
	put_text(dir, "usr/lib/python3/dist-packages/Jinja2-3.1.2.egg-info/PKG-INFO",
		 "Metadata-Version: 1.1\nName: Jinja2\nVersion: 3.1.2\n");
	put_text(dir, "usr/lib/python3/dist-packages/six-1.16.0.egg-info",
		 "Metadata-Version: 1.0\r\nName: six\r\nVersion: 1.16.0\r\n");
	lines_ctx(&ctx, &l);
	ck_assert_int_eq(scan_walk_root(&ctx, dir), 0);
	ck_assert_uint_eq(l.n, 3);
	ck_assert_uint_eq(lines_count(&l, "|pypi|requests|2.31.0||pkg:pypi/requests@2.31.0|"), 1);
	ck_assert_uint_eq(lines_count(&l, "|pypi|Jinja2|3.1.2||pkg:pypi/jinja2@3.1.2|"), 1);
	ck_assert_uint_eq(lines_count(&l, "|pypi|six|1.16.0|"), 1);
	lines_free(&l);
	remove_tree(dir);
}
END_TEST

START_TEST(npm_packages_in_node_modules_are_read_scoped_ones_too)
{
	struct scan_ctx ctx;
	struct lines l;
	char dir[64];

	temp_dir(dir);
	put_text(dir, "app/node_modules/lodash/package.json",
		 "{\"name\":\"lodash\",\"version\":\"4.17.20\",\"main\":\"x\"}");
	put_text(dir, "app/node_modules/@babel/core/package.json",
		 "{\"name\":\"@babel/core\",\"version\":\"7.22.0\"}");
	put_text(dir, "app/node_modules/lodash/fp/package.json",
		 "{\"name\":\"inner\",\"version\":\"1.0.0\"}");
	put_text(dir, "app/node_modules/broken/package.json", "{\"name\":");
	put_text(dir, "app/package.json",
		 "{\"name\":\"app\",\"version\":\"1.0.0\"}");
	lines_ctx(&ctx, &l);
	ck_assert_int_eq(scan_walk_root(&ctx, dir), 0);
	ck_assert_uint_eq(l.n, 2);
	ck_assert_uint_eq(lines_count(&l, "|npm|lodash|4.17.20||pkg:npm/lodash@4.17.20|"), 1);
	ck_assert_uint_eq(lines_count(&l, "|npm|@babel/core|7.22.0||pkg:npm/%40babel/core@7.22.0|"), 1);
	lines_free(&l);
	remove_tree(dir);
}
END_TEST

START_TEST(libraries_in_spring_boot_and_war_archives_are_found_nested)
{
	const char *pom = "groupId=com.example\nartifactId=lib\nversion=1.2.3\n";
	const char *names[2];
	const uint8_t *data[2];
	size_t lens[2], jar_len, app_len;
	uint8_t *jar, *app;
	struct scan_ctx ctx;
	struct lines l;
	char dir[64];

	temp_dir(dir);
	jar = zip_one("META-INF/maven/com.example/lib/pom.properties",
		      (const uint8_t *)pom, strlen(pom), &jar_len);
	names[0] = "BOOT-INF/lib/lib-1.2.3.jar";
	names[1] = "BOOT-INF/classes/app.properties";
	data[0] = jar;
	data[1] = (const uint8_t *)"x=1\n";
	lens[0] = jar_len;
	lens[1] = 4;
	app = zip_build(2, names, data, lens, &app_len);
	put_file(dir, "srv/app.jar", app, app_len);
	free(app);
	app = zip_one("WEB-INF/lib/lib-1.2.3.jar", jar, jar_len, &app_len);
	put_file(dir, "srv/app.war", app, app_len);
	free(app);
	free(jar);
	lines_ctx(&ctx, &l);
	ck_assert_int_eq(scan_walk_root(&ctx, dir), 0);
	ck_assert_uint_eq(l.n, 2);
	ck_assert_uint_eq(lines_count(&l, "|maven|com.example:lib|1.2.3||pkg:maven/com.example/lib@1.2.3|BOOT-INF/lib/lib-1.2.3.jar|"), 1);
	ck_assert_uint_eq(lines_count(&l, "|maven|com.example:lib|1.2.3||pkg:maven/com.example/lib@1.2.3|WEB-INF/lib/lib-1.2.3.jar|"), 1);
	lines_free(&l);
	remove_tree(dir);
}
END_TEST

START_TEST(hostile_rpm_headers_are_refused_not_read_out_of_bounds)
{
	uint8_t blob[2048];
	size_t len = rpm_blob(blob, "a", "1", "1", "x", "a-1-1.src.rpm", -1);
	size_t cut;

	for (cut = 0; cut < len; cut++)
		ck_assert_int_lt(inv_parse_rpm_header(blob, cut, NULL, NULL), 0);
	blob[11] = 0xff;        /* first index entry's type: unknown */
	ck_assert_int_lt(inv_parse_rpm_header(blob, len, NULL, NULL), 0);
}
END_TEST

/* The upstream part of an installed package's version ("2.36-9" -> "2.36"). */
static void upstream_of(const char *pkg, char *out, size_t cap)
{
	char cmd[256];
	FILE *p;

	snprintf(cmd, sizeof(cmd), "dpkg-query -W -f '${Version}' %s", pkg);
	p = popen(cmd, "r");
	ck_assert_ptr_nonnull(p);
	ck_assert_ptr_nonnull(fgets(out, (int)cap, p));
	pclose(p);
	out[strcspn(out, "-+~")] = '\0';
	if (strchr(out, ':'))
		memmove(out, strchr(out, ':') + 1, strlen(strchr(out, ':')));
}

START_TEST(shared_objects_report_soname_and_version_openssl_and_glibc_too)
{
	const char *lib = "/usr/lib/x86_64-linux-gnu";
	char dir[64], cmd[1024], libc[64], ssl[64], needle[256];
	struct scan_ctx ctx;
	struct lines l;

	temp_dir(dir);
	snprintf(cmd, sizeof(cmd), "mkdir -p '%s/lib' && cp %s/libc.so.6 %s/libcrypto.so.3 %s/libz.so.1.* '%s/lib/'",
		 dir, lib, lib, lib, dir);
	ck_assert_int_eq(run_status(cmd), 0);
	put_text(dir, "lib/libfake.so.1", "not an ELF file at all, just text\n");
	upstream_of("libc6", libc, sizeof(libc));
	upstream_of("libssl3", ssl, sizeof(ssl));
	lines_ctx(&ctx, &l);
	ck_assert_int_eq(scan_walk_root(&ctx, dir), 0);
	ck_assert_uint_eq(l.n, 3);
	snprintf(needle, sizeof(needle), "|elf|libc.so.6|%s||pkg:generic/libc.so.6@%s|", libc, libc);
	ck_assert_msg(lines_count(&l, needle) == 1, "%s not in\n%s", needle, l.buf);
	snprintf(needle, sizeof(needle), "|elf|libcrypto.so.3|%s|", ssl);
	ck_assert_msg(lines_count(&l, needle) == 1, "%s not in\n%s", needle, l.buf);
	ck_assert_uint_eq(lines_count(&l, "|elf|libz.so.1|1."), 1);
	lines_free(&l);
	remove_tree(dir);
}
END_TEST

static Suite *inventory_suite(void)
{
	Suite *s = suite_create("scanner-inventory");
	TCase *tc = tcase_create("inventory"), *root;

	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, this_machines_dpkg_inventory_equals_dpkg_query);
	tcase_add_test(tc, dpkg_status_d_stanzas_carry_their_source_package);
	tcase_add_test(tc, apk_installed_database_lists_every_package_with_origin);
	tcase_add_test(tc, the_sqlite_rpmdb_is_read_with_epoch_release_and_source);
	tcase_add_test(tc, python_dist_info_and_egg_info_metadata_are_read);
	tcase_add_test(tc, npm_packages_in_node_modules_are_read_scoped_ones_too);
	tcase_add_test(tc,
		       libraries_in_spring_boot_and_war_archives_are_found_nested);
	tcase_add_test(tc, hostile_rpm_headers_are_refused_not_read_out_of_bounds);
	tcase_add_test(tc,
		       shared_objects_report_soname_and_version_openssl_and_glibc_too);
	suite_add_tcase(s, tc);
	/* the whole machine: as slow as its disk, so a budget of its own */
	root = tcase_create("root");
	tcase_set_timeout(root, 540);
	tcase_add_test(root, a_scan_of_this_machines_root_lists_what_dpkg_query_lists);
	suite_add_tcase(s, root);
	return s;
}

int main(void)
{
	return px_check_run(inventory_suite());
}
