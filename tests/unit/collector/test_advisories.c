// SPDX-License-Identifier: Apache-2.0
/*
 * Offline advisories: ranges evaluated from their stored form, and an
 * import (directory, then zip through the CLI) that re-evaluates the stored
 * inventory without any rescan: the new CVE shows which hosts hold the
 * package and which have it loaded now.  Parsing OSV and the range rules
 * are common/osv's (tests/unit/common/test_osv.c).  OS advisories keep to
 * their release: a Debian:12 one reaches Debian 12 packages only.
 */
#include <archive.h>
#include <archive_entry.h>
#include <check.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "advisories.h"
#include "ingest_harness.h"
#include "vercmp.h"
#include "px_check.h"

#define ACK_COMMITTED PARALLAX__V1__ACK_STATUS__ACK_STATUS_COMMITTED
#define SHA_OLD "6f0a1b7c33a2b6d6c1fb56ba3e4e3d8e8b4ef1f6a9d5d3c2b1a0f9e8d7c6b5a4"
#define SHA_NEW "3333333333333333333333333333333333333333333333333333333333333333"
#define JAR "/opt/app/lib/log4j-core.jar"
#define JVM "app-1:boot:42:1"
#define LOG4J "org.apache.logging.log4j:log4j-core"

static const char MAVEN_RANGES[] =
	"[{\"type\":\"ECOSYSTEM\",\"events\":[{\"introduced\":\"2.0-beta9\"},"
	"{\"fixed\":\"2.15.0\"}]}]";

static const char GHSA_LOG4J[] =
	"{\"id\":\"GHSA-jfh8-c2jp-5v3q\",\"modified\":\"2024-01-01T00:00:00Z\","
	"\"aliases\":[\"CVE-2021-44228\"],\"summary\":\"Remote code injection "
	"in Log4j\",\"database_specific\":{\"severity\":\"CRITICAL\"},"
	"\"affected\":[{\"package\":{\"ecosystem\":\"Maven\",\"name\":\"" LOG4J
	"\"},\"ranges\":[{\"type\":\"ECOSYSTEM\",\"events\":[{\"introduced\":"
	"\"2.0-beta9\"},{\"fixed\":\"2.15.0\"}]}]}]}";

static const char DSA_OPENSSL[] =
	"{\"id\":\"DSA-9999-1\",\"aliases\":[\"CVE-2099-0001\"],"
	"\"affected\":[{\"package\":{\"ecosystem\":\"Debian:12\",\"name\":"
	"\"openssl\"},\"ranges\":[{\"type\":\"ECOSYSTEM\",\"events\":["
	"{\"introduced\":\"0\"},{\"fixed\":\"3.0.11-1~deb12u2\"}]}]}]}";

static void write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	ck_assert_ptr_nonnull(f);
	fputs(text, f);
	fclose(f);
}

/* The stored forms: ranges as the import writes them (jsonb) and versions
 * as array_to_json() of the text[] column.  The range semantics
 * themselves are common/osv's, tested in tests/unit/common/test_osv.c. */
START_TEST(stored_ranges_and_versions_are_evaluated_as_imported)
{
	ck_assert(coll_adv_affected("2.14.1", MAVEN_RANGES, "[]", PX_VER_MAVEN));
	ck_assert(!coll_adv_affected("2.15.0", MAVEN_RANGES, "[]", PX_VER_MAVEN));
	ck_assert(coll_adv_affected("0.9", "[]", "[\"0.8\",\"0.9\"]",
				    PX_VER_PEP440));
	ck_assert(!coll_adv_affected("1.0", "[]", "[\"0.8\",\"0.9\"]",
				     PX_VER_PEP440));
	/* A damaged row matches nothing rather than everything. */
	ck_assert(!coll_adv_affected("2.14.1", "[{", NULL, PX_VER_MAVEN));
}
END_TEST

/* app-1 runs log4j 2.14.1 (loaded by a JVM); app-2 holds 2.17.1 at rest;
 * db-1 holds 2.14.1 at rest and openssl 3.0.11-1~deb12u1. */
static void inventory(void)
{
	struct tbatch *s = tb_new("app-1", "scanner-1", "sb", 1, true);
	struct tbatch *s2 = tb_new("app-2", "scanner-1", "sb", 2, true);
	struct tbatch *s3 = tb_new("db-1", "scanner-1", "sb", 3, true);
	struct tbatch *a = tb_new("app-1", "agent-app-1", "ab", 1, false);
	Parallax__V1__Batch *b;

	tb_finding(s, JAR, "", SHA_OLD, LOG4J, "2.14.1", NULL);
	tb_finding(s2, JAR, "", SHA_NEW, LOG4J, "2.17.1", NULL);
	tb_finding(s3, "/srv/lib/log4j-core-2.14.1.jar", "", SHA_OLD, LOG4J,
		   "2.14.1", NULL);
	tb_finding(s3, "/var/lib/dpkg/status", "openssl", "", "openssl",
		   "3.0.11-1~deb12u1", NULL);
	b = tb_batch(s3);
	b->findings[1]->package->ecosystem = (char *)"deb";
	tb_exec(a, 42, JVM, "/usr/bin/java", "-jar");
	tb_load(a, 42, JVM, JAR, SHA_OLD);
	ck_assert_int_eq(h_ingest(s, NULL, 0), ACK_COMMITTED);
	ck_assert_int_eq(h_ingest(s2, NULL, 0), ACK_COMMITTED);
	ck_assert_int_eq(h_ingest(s3, NULL, 0), ACK_COMMITTED);
	ck_assert_int_eq(h_ingest(a, NULL, 0), ACK_COMMITTED);
	/* No CVE yet: nothing to correlate. */
	ck_assert_int_eq(h_num("SELECT count(*) FROM correlations"), 0);
}

START_TEST(an_imported_advisory_shows_hosts_and_live_loads_without_rescan)
{
	char dir[] = "/tmp/pxosv.XXXXXX", path[256], err[512];
	struct coll_adv_result r = { 0 };

	inventory();
	ck_assert_ptr_nonnull(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/GHSA-jfh8-c2jp-5v3q.json", dir);
	write_file(path, GHSA_LOG4J);
	snprintf(path, sizeof(path), "%s/debian", dir);
	ck_assert_int_eq(mkdir(path, 0755), 0);
	snprintf(path, sizeof(path), "%s/debian/DSA-9999-1.json", dir);
	write_file(path, DSA_OPENSSL);
	snprintf(path, sizeof(path), "%s/notes.json", dir);
	write_file(path, "{\"not\": \"osv\"}");

	ck_assert_msg(coll_adv_import(H.db, dir, &r, err, sizeof(err)) == 0, "%s", err);
	ck_assert_uint_eq(r.files, 3);
	ck_assert_uint_eq(r.skipped, 1);
	ck_assert_uint_eq(r.advisories, 2);
	ck_assert_uint_eq(r.matches, 2);      /* log4j 2.14.1, openssl */
	ck_assert_int_eq(r.findings, 3);      /* app-1, db-1 jar, db-1 deb */
	/* The JVM on app-1 holds the bytes of both 2.14.1 findings (app-1's
	 * and, by sha256, db-1's). */
	ck_assert_int_eq(r.correlations, 2);

	/* Records stored as parsed: CVE alias, severity, ranges as OSV. */
	ck_assert_int_eq(h_num("SELECT count(*) FROM advisories WHERE id = 'GHSA-jfh8-c2jp-5v3q' AND cve = 'CVE-2021-44228' AND severity = 'critical' AND aliases = '{CVE-2021-44228}' AND summary LIKE 'Remote code%' AND modified = '2024-01-01T00:00:00Z'"), 1);
	ck_assert_int_eq(h_num("SELECT count(*) FROM advisories WHERE id = 'DSA-9999-1' AND severity = 'unknown' AND modified IS NULL"), 1);
	ck_assert_int_eq(h_num("SELECT count(*) FROM advisory_affected WHERE advisory_id = 'GHSA-jfh8-c2jp-5v3q' AND ranges = '[{\"type\":\"ECOSYSTEM\",\"events\":[{\"introduced\":\"2.0-beta9\"},{\"fixed\":\"2.15.0\"}]}]'::jsonb AND versions = '{}'"), 1);
	ck_assert_int_eq(h_num("SELECT count(*) FROM findings WHERE cve = 'CVE-2021-44228' AND severity = 'critical'"), 2);
	ck_assert_int_eq(h_num("SELECT count(*) FROM findings WHERE host_id = 'app-2' AND cve <> ''"), 0);
	ck_assert_int_eq(h_num("SELECT count(*) FROM findings WHERE host_id = 'db-1' AND cve = 'CVE-2099-0001'"), 1);
	ck_assert_int_eq(h_num("SELECT count(*) FROM v_loaded_now WHERE host_id = 'app-1' AND pid = 42 AND cve = 'CVE-2021-44228' AND finding_host_id = 'app-1'"), 1);
	ck_assert_int_eq(h_num("SELECT count(*) FROM v_vulnerable WHERE loaded_now"), 1);

	/* Importing again changes nothing. */
	memset(&r, 0, sizeof(r));
	ck_assert_msg(coll_adv_import(H.db, dir, &r, err, sizeof(err)) == 0, "%s", err);
	ck_assert_int_eq(h_num("SELECT count(*) FROM findings WHERE source_id = 'advisories'"), 3);
	ck_assert_int_eq(h_num("SELECT count(*) FROM correlations"), 2);

	/* The advisory is withdrawn from the range: its findings go. */
	pgtmp_exec(H.db, "UPDATE advisory_affected SET ranges = '[]' WHERE advisory_id = 'DSA-9999-1'");
	memset(&r, 0, sizeof(r));
	ck_assert_msg(coll_adv_evaluate(H.db, &r, err, sizeof(err)) == 0, "%s", err);
	ck_assert_int_eq(h_num("SELECT count(*) FROM findings WHERE cve = 'CVE-2099-0001'"), 0);
	ck_assert_int_eq(h_num("SELECT count(*) FROM findings WHERE cve = 'CVE-2021-44228'"), 2);
	pgtmp_rmtree(dir);
}
END_TEST

/* Advisories imported first, inventory afterwards: each package finding
 * comes with its advisory's CVE finding in the batch's own transaction,
 * and with its correlation when a live process already loaded the bytes. */
START_TEST(a_package_ingested_after_an_import_gets_its_cves_at_once)
{
	char dir[] = "/tmp/pxosv.XXXXXX", path[256], err[512];
	struct coll_adv_result r = { 0 };
	struct tbatch *a = tb_new("app-1", "agent-app-1", "ab", 1, false);
	struct tbatch *s = tb_new("app-1", "scanner-1", "sb", 1, true);
	struct tbatch *s2 = tb_new("app-2", "scanner-1", "sb", 2, true);
	struct tbatch *s3 = tb_new("db-1", "scanner-1", "sb", 3, true);

	ck_assert_ptr_nonnull(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/GHSA-jfh8-c2jp-5v3q.json", dir);
	write_file(path, GHSA_LOG4J);
	snprintf(path, sizeof(path), "%s/DSA-9999-1.json", dir);
	write_file(path, DSA_OPENSSL);
	ck_assert_msg(coll_adv_import(H.db, dir, &r, err, sizeof(err)) == 0, "%s", err);
	pgtmp_rmtree(dir);
	ck_assert_uint_eq(r.matches, 0);      /* nothing stored yet */

	/* The JVM loads the jar before any scan reports it. */
	tb_exec(a, 42, JVM, "/usr/bin/java", "-jar");
	tb_load(a, 42, JVM, JAR, SHA_OLD);
	ck_assert_int_eq(h_ingest(a, NULL, 0), ACK_COMMITTED);
	ck_assert_int_eq(h_num("SELECT count(*) FROM correlations"), 0);

	tb_finding(s, JAR, "", SHA_OLD, LOG4J, "2.14.1", NULL);
	tb_finding(s2, JAR, "", SHA_NEW, LOG4J, "2.17.1", NULL);
	tb_finding(s3, "/var/lib/dpkg/status", "openssl", "", "openssl",
		   "3.0.11-1~deb12u1", NULL);
	tb_finding(s3, "/var/lib/dpkg/status", "zlib1g", "", "zlib1g",
		   "1:1.2.13", NULL);
	tb_batch(s3)->findings[0]->package->ecosystem = (char *)"deb";
	tb_batch(s3)->findings[1]->package->ecosystem = (char *)"deb";
	ck_assert_int_eq(h_ingest(s, NULL, 0), ACK_COMMITTED);
	/* Acked means committed: the CVE and the correlation are there. */
	ck_assert_int_eq(h_num("SELECT count(*) FROM findings WHERE host_id = 'app-1' AND cve = 'CVE-2021-44228' AND severity = 'critical' AND source_id = 'advisories'"), 1);
	ck_assert_int_eq(h_num("SELECT count(*) FROM v_loaded_now WHERE host_id = 'app-1' AND pid = 42 AND cve = 'CVE-2021-44228'"), 1);
	ck_assert_int_eq(h_num("SELECT count(*) FROM advisory_matches WHERE advisory_id = 'GHSA-jfh8-c2jp-5v3q' AND version = '2.14.1'"), 1);

	/* A fixed version gets nothing; a Debian version in range does. */
	ck_assert_int_eq(h_ingest(s2, NULL, 0), ACK_COMMITTED);
	ck_assert_int_eq(h_ingest(s3, NULL, 0), ACK_COMMITTED);
	ck_assert_int_eq(h_num("SELECT count(*) FROM findings WHERE host_id = 'app-2' AND cve <> ''"), 0);
	ck_assert_int_eq(h_num("SELECT count(*) FROM findings WHERE host_id = 'db-1' AND cve = 'CVE-2099-0001' AND name = 'openssl'"), 1);
	ck_assert_int_eq(h_num("SELECT count(*) FROM findings WHERE host_id = 'db-1' AND cve <> ''"), 1);
	/* Only the loaded one correlates. */
	ck_assert_int_eq(h_num("SELECT count(*) FROM correlations"), 1);

	/* An explicit evaluation agrees and changes nothing. */
	memset(&r, 0, sizeof(r));
	ck_assert_msg(coll_adv_evaluate(H.db, &r, err, sizeof(err)) == 0, "%s", err);
	ck_assert_uint_eq(r.matches, 2);
	ck_assert_int_eq(h_num("SELECT count(*) FROM findings WHERE source_id = 'advisories'"), 2);
	ck_assert_int_eq(h_num("SELECT count(*) FROM correlations"), 1);
}
END_TEST

/*
 * One scanner batch holding openssl 3.0.11-1~deb12u1 as a deb on <host>,
 * whose facts say <os>; <purl> NULL keeps the default one, which names no
 * distro.
 */
static void deb_host(const char *host, uint64_t seq, const char *os,
		     const char *purl)
{
	struct tbatch *t = tb_new(host, "scanner-1", "sb", seq, true);
	Parallax__V1__Batch *b;

	tb_finding(t, "/var/lib/dpkg/status", "openssl", "", "openssl",
		   "3.0.11-1~deb12u1", NULL);
	b = tb_batch(t);
	b->findings[0]->package->ecosystem = (char *)"deb";
	if (purl != NULL)
		b->findings[0]->package->purl = (char *)purl;
	b->source->host->os = (char *)os;
	ck_assert_int_eq(h_ingest(t, NULL, 0), ACK_COMMITTED);
}

#define DEB12 "Debian GNU/Linux 12 (bookworm)"
#define DEB11 "Debian GNU/Linux 11 (bullseye)"
#define UBUNTU "Ubuntu 22.04.3 LTS"
#define DSA_HITS(host) "SELECT count(*) FROM findings WHERE host_id = '" \
	host "' AND cve = 'CVE-2099-0001' AND source_id = 'advisories'"

/* The same package version on five hosts: a Debian:12 advisory covers
 * the Debian 12 ones only, by the purl's distro qualifier when there is
 * one (an image of Debian 11 scanned from a Debian 12 host stays Debian
 * 11), else by the host's os. */
static void release_inventory(void)
{
	deb_host("deb12", 1, DEB12, NULL);
	deb_host("deb11", 2, DEB11, NULL);
	deb_host("ubuntu", 3, UBUNTU, NULL);
	deb_host("img11", 4, DEB12,
		 "pkg:deb/debian/openssl@3.0.11-1~deb12u1?arch=amd64&distro=debian-11");
	deb_host("img12", 5, UBUNTU,
		 "pkg:deb/debian/openssl@3.0.11-1~deb12u1?arch=amd64&distro=debian-12");
}

static void assert_release_hits(void)
{
	ck_assert_int_eq(h_num(DSA_HITS("deb12")), 1);
	ck_assert_int_eq(h_num(DSA_HITS("img12")), 1);
	ck_assert_int_eq(h_num(DSA_HITS("deb11")), 0);
	ck_assert_int_eq(h_num(DSA_HITS("ubuntu")), 0);
	ck_assert_int_eq(h_num(DSA_HITS("img11")), 0);
	ck_assert_int_eq(h_num("SELECT count(*) FROM findings WHERE cve = 'CVE-2099-0001'"), 2);
}

static void import_dsa(struct coll_adv_result *r)
{
	char dir[] = "/tmp/pxosv.XXXXXX", path[256], err[512];

	ck_assert_ptr_nonnull(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/DSA-9999-1.json", dir);
	write_file(path, DSA_OPENSSL);
	ck_assert_msg(coll_adv_import(H.db, dir, r, err, sizeof(err)) == 0, "%s", err);
	pgtmp_rmtree(dir);
}

START_TEST(an_import_matches_debian_advisories_to_their_release_only)
{
	struct coll_adv_result r = { 0 };
	char err[512];

	release_inventory();
	import_dsa(&r);
	/* One version, five places; two of them Debian 12. */
	ck_assert_uint_eq(r.matches, 2);
	ck_assert_int_eq(r.findings, 2);
	assert_release_hits();
	ck_assert_int_eq(h_num("SELECT count(*) FROM advisory_matches WHERE distro = 'debian-12' AND host_os = '" UBUNTU "'"), 1);
	ck_assert_int_eq(h_num("SELECT count(*) FROM advisory_matches WHERE distro = '' AND host_os = '" DEB12 "'"), 1);

	/* Re-evaluation without rescan follows the host's release: deb11 is
	 * upgraded, then rolled back. */
	pgtmp_exec(H.db, "UPDATE hosts SET os = '" DEB12 "' WHERE host_id = 'deb11'");
	memset(&r, 0, sizeof(r));
	ck_assert_msg(coll_adv_evaluate(H.db, &r, err, sizeof(err)) == 0, "%s", err);
	ck_assert_uint_eq(r.matches, 2);      /* deb11 shares deb12's os now */
	ck_assert_int_eq(h_num(DSA_HITS("deb11")), 1);
	ck_assert_int_eq(h_num(DSA_HITS("deb12")), 1);
	pgtmp_exec(H.db, "UPDATE hosts SET os = '" DEB11 "' WHERE host_id = 'deb11'");
	memset(&r, 0, sizeof(r));
	ck_assert_msg(coll_adv_evaluate(H.db, &r, err, sizeof(err)) == 0, "%s", err);
	ck_assert_uint_eq(r.matches, 2);
	assert_release_hits();
}
END_TEST

/* Advisory first, inventory afterwards: the ingest's own matching keeps
 * to the release as well, and an evaluation agrees with it. */
START_TEST(an_ingested_package_gets_only_its_releases_advisories)
{
	struct coll_adv_result r = { 0 };
	char err[512];

	import_dsa(&r);
	ck_assert_uint_eq(r.matches, 0);
	release_inventory();
	assert_release_hits();
	ck_assert_int_eq(h_num("SELECT count(*) FROM advisory_matches"), 2);

	memset(&r, 0, sizeof(r));
	ck_assert_msg(coll_adv_evaluate(H.db, &r, err, sizeof(err)) == 0, "%s", err);
	ck_assert_uint_eq(r.matches, 2);
	assert_release_hits();
}
END_TEST

/* Writes a zip holding <name> = <text>. */
static void write_zip(const char *path, const char *name, const char *text)
{
	struct archive *a = archive_write_new();
	struct archive_entry *e = archive_entry_new();

	archive_write_set_format_zip(a);
	ck_assert_int_eq(archive_write_open_filename(a, path), ARCHIVE_OK);
	archive_entry_set_pathname(e, name);
	archive_entry_set_size(e, (la_int64_t)strlen(text));
	archive_entry_set_filetype(e, AE_IFREG);
	archive_entry_set_perm(e, 0644);
	ck_assert_int_eq(archive_write_header(a, e), ARCHIVE_OK);
	ck_assert_int_eq(archive_write_data(a, text, strlen(text)), (la_ssize_t)strlen(text));
	archive_entry_free(e);
	archive_write_close(a);
	archive_write_free(a);
}

START_TEST(the_cli_imports_a_zip_and_advisory_hosts_answers_by_cve)
{
	char zip[] = "/tmp/pxosv-XXXXXX", outp[] = "/tmp/pxosv-out.XXXXXX";
	static char out[1 << 15];
	int fo, status;
	ssize_t n;
	pid_t pid;

	inventory();
	close(mkstemp(zip));
	write_zip(zip, "Maven/GHSA-jfh8-c2jp-5v3q.json", GHSA_LOG4J);
	fo = mkstemp(outp);
	for (int step = 0; step < 2; step++) {
		pid = fork();
		ck_assert_int_ge(pid, 0);
		if (pid == 0) {
			dup2(fo, STDOUT_FILENO);
			if (step == 0)
				execl(getenv("PX_CLI_BIN"), "parallax", "--db", H.dsn,
				      "advisories", "import", zip, (char *)NULL);
			else
				execl(getenv("PX_CLI_BIN"), "parallax", "--db", H.dsn,
				      "--json", "advisory-hosts", "--cve",
				      "GHSA-jfh8-c2jp-5v3q", (char *)NULL);
			_exit(127);
		}
		ck_assert_int_eq(waitpid(pid, &status, 0), pid);
		ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0,
			      "cli step %d failed", step);
	}
	n = pread(fo, out, sizeof(out) - 1, 0);
	out[n > 0 ? n : 0] = '\0';
	close(fo);
	unlink(outp);
	unlink(zip);
	ck_assert_msg(strstr(out, "files=1 skipped=0 advisories=1 matches=1 findings=2 correlations=2"),
		      "%s", out);
	ck_assert_msg(strstr(out, "{\"host\":\"app-1\"") && strstr(out, "\"loaded_now\":true") &&
		      strstr(out, "{\"host\":\"db-1\"") && strstr(out, "\"loaded_now\":false") &&
		      !strstr(out, "app-2"), "%s", out);
}
END_TEST

static Suite *advisories_suite(void)
{
	Suite *s = suite_create("collector-advisories");
	TCase *tc = tcase_create("advisories");

	tcase_set_timeout(tc, 90);
	tcase_add_unchecked_fixture(tc, h_cluster_up, h_cluster_down);
	tcase_add_checked_fixture(tc, h_setup, h_teardown);
	tcase_add_test(tc, stored_ranges_and_versions_are_evaluated_as_imported);
	tcase_add_test(tc, an_imported_advisory_shows_hosts_and_live_loads_without_rescan);
	tcase_add_test(tc, the_cli_imports_a_zip_and_advisory_hosts_answers_by_cve);
	tcase_add_test(tc, a_package_ingested_after_an_import_gets_its_cves_at_once);
	tcase_add_test(tc, an_import_matches_debian_advisories_to_their_release_only);
	tcase_add_test(tc, an_ingested_package_gets_only_its_releases_advisories);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return px_check_run(advisories_suite());
}
