// SPDX-License-Identifier: Apache-2.0
/*
 * The shared OSV reader (common/osv.c): what a record keeps of a document,
 * severities, refusals, range semantics (Debian ranges checked against
 * dpkg itself), the JSON form the collector stores ranges in, and loading
 * directories, single files and zips.  The scanner's matching and the
 * collector's import are tested in their own areas.
 */
#include <archive.h>
#include <archive_entry.h>
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "osv.h"
#include "vercmp.h"
#include "px_check.h"

static const char GHSA[] =
	"{\"id\":\"GHSA-jfh8-c2jp-5v3q\",\"modified\":\"2024-01-01T00:00:00Z\","
	"\"aliases\":[\"GHSA-other\",\"CVE-2021-44228\",\"CVE-2021-99999\",7],"
	"\"summary\":\"Remote code injection in Log4j\","
	"\"database_specific\":{\"severity\":\"CRITICAL\"},"
	"\"affected\":["
	"{\"package\":{\"ecosystem\":\"Maven\","
	"\"name\":\"org.apache.logging.log4j:log4j-core\"},"
	"\"ranges\":[{\"type\":\"ECOSYSTEM\",\"events\":[{\"introduced\":"
	"\"2.0-beta9\"},{\"fixed\":\"2.15.0\"},{\"limit\":\"9\"}]},"
	"{\"type\":\"GIT\",\"repo\":\"https://example.invalid/x\","
	"\"events\":[{\"introduced\":\"abc123\"}]}],"
	"\"versions\":[\"2.14.1\",null,\"2.14.0\"]},"
	"{\"ranges\":[]},"
	"{\"package\":{\"ecosystem\":\"PyPI\",\"name\":\"x\"}}]}";

/* Parses <text>, failing the test when it is refused. */
static struct px_osv_record *parse_ok(const char *text)
{
	struct px_osv_record *rec = NULL;
	char why[160] = "";
	int err = px_osv_parse(text, strlen(text), &rec, why, sizeof(why));

	ck_assert_msg(err == 0, "refused (%d): %s", err, why);
	ck_assert_ptr_nonnull(rec);
	return rec;
}

START_TEST(a_record_keeps_its_id_cve_aliases_summary_and_date)
{
	struct px_osv_record *rec = parse_ok(GHSA);

	ck_assert_str_eq(rec->id, "GHSA-jfh8-c2jp-5v3q");
	ck_assert_str_eq(rec->cve, "CVE-2021-44228");
	ck_assert_uint_eq(rec->n_aliases, 3);
	ck_assert_str_eq(rec->aliases[0], "GHSA-other");
	ck_assert_str_eq(rec->aliases[2], "CVE-2021-99999");
	ck_assert_str_eq(rec->summary, "Remote code injection in Log4j");
	ck_assert_str_eq(rec->modified, "2024-01-01T00:00:00Z");
	px_osv_record_free(rec);

	/* A CVE record is its own CVE; absent fields read as empty. */
	rec = parse_ok("{\"id\":\"CVE-2099-1\",\"aliases\":[\"CVE-2099-2\"]}");
	ck_assert_str_eq(rec->cve, "CVE-2099-1");
	ck_assert_str_eq(rec->summary, "");
	ck_assert_ptr_null(rec->modified);
	ck_assert_uint_eq(rec->n_affected, 0);
	px_osv_record_free(rec);

	/* No CVE alias at all: the id stands for one. */
	rec = parse_ok("{\"id\":\"PYSEC-1\",\"aliases\":[\"GHSA-x\"]}");
	ck_assert_str_eq(rec->cve, "PYSEC-1");
	px_osv_record_free(rec);
}
END_TEST

START_TEST(affected_entries_keep_package_ranges_events_and_versions)
{
	struct px_osv_record *rec = parse_ok(GHSA);
	const struct px_osv_affected *a;

	/* The entry without a package is left out. */
	ck_assert_uint_eq(rec->n_affected, 2);
	a = &rec->affected[0];
	ck_assert_str_eq(a->ecosystem, "Maven");
	ck_assert_str_eq(a->name, "org.apache.logging.log4j:log4j-core");
	ck_assert_uint_eq(a->n_ranges, 2);
	ck_assert_int_eq(a->ranges[0].type, PX_OSV_RANGE_ECOSYSTEM);
	/* "limit" is no event we evaluate. */
	ck_assert_uint_eq(a->ranges[0].n_events, 2);
	ck_assert_int_eq(a->ranges[0].events[0].kind, PX_OSV_INTRODUCED);
	ck_assert_str_eq(a->ranges[0].events[0].version, "2.0-beta9");
	ck_assert_int_eq(a->ranges[0].events[1].kind, PX_OSV_FIXED);
	ck_assert_str_eq(a->ranges[0].events[1].version, "2.15.0");
	ck_assert_int_eq(a->ranges[1].type, PX_OSV_RANGE_GIT);
	ck_assert_uint_eq(a->n_versions, 2);
	ck_assert_str_eq(a->versions[1], "2.14.0");
	ck_assert_str_eq(rec->affected[1].ecosystem, "PyPI");
	ck_assert_uint_eq(rec->affected[1].n_ranges, 0);
	px_osv_record_free(rec);
}
END_TEST

static enum px_osv_severity severity_of(const char *fields)
{
	char doc[512];
	struct px_osv_record *rec;
	enum px_osv_severity s;

	snprintf(doc, sizeof(doc), "{\"id\":\"X-1\"%s}", fields);
	rec = parse_ok(doc);
	s = rec->severity;
	px_osv_record_free(rec);
	return s;
}

START_TEST(severity_comes_from_ghsa_words_then_cvss_v3_scores)
{
	ck_assert_int_eq(severity_of(",\"database_specific\":{\"severity\":\"MODERATE\"}"),
			 PX_OSV_SEV_MEDIUM);
	ck_assert_int_eq(severity_of(",\"database_specific\":{\"severity\":\"low\"}"),
			 PX_OSV_SEV_LOW);
	/* 10.0 and 9.8 (log4shell's vectors) are critical, 5.5 medium; the
	 * highest score wins. */
	ck_assert_int_eq(severity_of(",\"severity\":[{\"type\":\"CVSS_V3\",\"score\":"
				     "\"CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:C/C:H/I:H/A:H\"}]"),
			 PX_OSV_SEV_CRITICAL);
	ck_assert_int_eq(severity_of(",\"severity\":[{\"type\":\"CVSS_V3\",\"score\":"
				     "\"CVSS:3.1/AV:L/AC:L/PR:L/UI:N/S:U/C:H/I:N/A:N\"},"
				     "{\"type\":\"CVSS_V3\",\"score\":"
				     "\"CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H\"}]"),
			 PX_OSV_SEV_CRITICAL);
	ck_assert_int_eq(severity_of(",\"severity\":[{\"type\":\"CVSS_V3\",\"score\":"
				     "\"CVSS:3.1/AV:L/AC:L/PR:L/UI:N/S:U/C:H/I:N/A:N\"}]"),
			 PX_OSV_SEV_MEDIUM);
	/* The GHSA word outranks the vector. */
	ck_assert_int_eq(severity_of(",\"database_specific\":{\"severity\":\"HIGH\"},"
				     "\"severity\":[{\"type\":\"CVSS_V3\",\"score\":"
				     "\"CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:C/C:H/I:H/A:H\"}]"),
			 PX_OSV_SEV_HIGH);
	/* CVSS v2 and nothing at all: unknown. */
	ck_assert_int_eq(severity_of(",\"severity\":[{\"type\":\"CVSS_V2\",\"score\":"
				     "\"AV:N/AC:L/Au:N/C:C/I:C/A:C\"}]"),
			 PX_OSV_SEV_UNKNOWN);
	ck_assert_int_eq(severity_of(""), PX_OSV_SEV_UNKNOWN);
	ck_assert_str_eq(px_osv_severity_name(PX_OSV_SEV_CRITICAL), "critical");
	ck_assert_str_eq(px_osv_severity_name(PX_OSV_SEV_UNKNOWN), "unknown");
}
END_TEST

START_TEST(text_that_is_not_an_osv_record_is_refused_with_a_reason)
{
	static const char *const not_json[] = {
		"", "not json at all", "{\"id\":\"X-1\",", "{\"id\":\"X",
	};
	static const char *const not_osv[] = {
		"{\"not\":\"osv\"}", "[1,2]", "\"id\"", "{\"id\":7}",
	};
	struct px_osv_record *rec = (void *)1;
	char why[160];
	size_t i;

	for (i = 0; i < sizeof(not_json) / sizeof(not_json[0]); i++) {
		why[0] = '\0';
		ck_assert_int_eq(px_osv_parse(not_json[i], strlen(not_json[i]),
					      &rec, why, sizeof(why)), -EBADMSG);
		ck_assert_ptr_null(rec);
		ck_assert_msg(!strncmp(why, "not JSON", 8), "%s", why);
	}
	for (i = 0; i < sizeof(not_osv) / sizeof(not_osv[0]); i++) {
		why[0] = '\0';
		ck_assert_int_eq(px_osv_parse(not_osv[i], strlen(not_osv[i]),
					      &rec, why, sizeof(why)), -EINVAL);
		ck_assert_ptr_null(rec);
		ck_assert_msg(strstr(why, "no id") != NULL, "%s", why);
	}
	/* Only <len> bytes count: a record cut short is no record. */
	ck_assert_int_eq(px_osv_parse(GHSA, 40, &rec, NULL, 0), -EBADMSG);
}
END_TEST

/* Whether <v> is affected by <ranges> and <versions> (JSON text). */
static bool affects(const char *v, const char *ranges, const char *versions,
		    int scheme, char *why, size_t whylen)
{
	struct px_osv_affected a;
	bool hit;

	ck_assert_int_eq(px_osv_affected_parse(ranges, versions, &a), 0);
	hit = px_osv_affects(&a, scheme, v, why, whylen);
	px_osv_affected_release(&a);
	return hit;
}

#define HIT(v, r, l, s) affects(v, r, l, s, NULL, 0)

static const char MAVEN_RANGES[] =
	"[{\"type\":\"ECOSYSTEM\",\"events\":[{\"introduced\":\"2.0-beta9\"},"
	"{\"fixed\":\"2.15.0\"}]}]";
static const char REINTRODUCED[] =
	"[{\"type\":\"ECOSYSTEM\",\"events\":[{\"fixed\":\"2.0\"},"
	"{\"introduced\":\"3.0\"},{\"introduced\":\"1.0\"}]}]";
static const char LAST_AFFECTED[] =
	"[{\"type\":\"SEMVER\",\"events\":[{\"introduced\":\"0\"},"
	"{\"last_affected\":\"1.4.0\"}]}]";

START_TEST(ranges_follow_the_ecosystem_ordering)
{
	char why[128];

	ck_assert(HIT("2.14.1", MAVEN_RANGES, NULL, PX_VER_MAVEN));
	ck_assert(HIT("2.0", MAVEN_RANGES, NULL, PX_VER_MAVEN));
	ck_assert(HIT("2.0-beta9", MAVEN_RANGES, NULL, PX_VER_MAVEN));
	ck_assert(!HIT("2.0-beta8", MAVEN_RANGES, NULL, PX_VER_MAVEN));
	ck_assert(!HIT("2.15.0", MAVEN_RANGES, NULL, PX_VER_MAVEN));
	ck_assert(!HIT("2.17.1", MAVEN_RANGES, NULL, PX_VER_MAVEN));
	ck_assert(affects("2.14.1", MAVEN_RANGES, NULL, PX_VER_MAVEN, why,
			  sizeof(why)));
	ck_assert_str_eq(why, "introduced 2.0-beta9 fixed 2.15.0");

	/* last_affected closes inclusively. */
	ck_assert(affects("1.4.0", LAST_AFFECTED, NULL, PX_VER_SEMVER, why,
			  sizeof(why)));
	ck_assert_str_eq(why, "introduced 0 last_affected 1.4.0");
	ck_assert(!HIT("1.4.1", LAST_AFFECTED, NULL, PX_VER_SEMVER));

	/* Events in any order; re-introduced after a fix, never fixed. */
	ck_assert(HIT("1.5", REINTRODUCED, NULL, PX_VER_PEP440));
	ck_assert(!HIT("2.5", REINTRODUCED, NULL, PX_VER_PEP440));
	ck_assert(!HIT("0.9", REINTRODUCED, NULL, PX_VER_PEP440));
	ck_assert(affects("3.2", REINTRODUCED, NULL, PX_VER_PEP440, why,
			  sizeof(why)));
	ck_assert_str_eq(why, "introduced 3.0, no fix");
}
END_TEST

START_TEST(version_lists_semver_ranges_and_git_ranges_follow_osv)
{
	char why[128];

	/* The list matches equal versions, in the ecosystem's terms. */
	ck_assert(affects("0.9", "[]", "[\"0.8\",\"0.9\"]", PX_VER_PEP440, why,
			  sizeof(why)));
	ck_assert_str_eq(why, "version 0.9 listed");
	ck_assert(HIT("0.9.0", NULL, "[\"0.9\"]", PX_VER_PEP440));
	ck_assert(!HIT("0.10", NULL, "[\"0.8\",\"0.9\"]", PX_VER_PEP440));

	/* SEMVER ranges compare as semver whatever the ecosystem: under
	 * semver 1.0.0-rc1 precedes 1.0.0. */
	ck_assert(HIT("1.0.0-rc1", "[{\"type\":\"SEMVER\",\"events\":[{\"introduced\":"
		      "\"0\"},{\"fixed\":\"1.0.0\"}]}]", NULL, PX_VER_DEB));

	/* GIT ranges name commits: never evaluated. */
	ck_assert(!HIT("1.0", "[{\"type\":\"GIT\",\"events\":[{\"introduced\":\"0\"}]}]",
		       NULL, PX_VER_SEMVER));
	/* An unknown scheme matches nothing. */
	ck_assert(!HIT("1.0", LAST_AFFECTED, NULL, -1));
}
END_TEST

/* dpkg itself decides whether a < b; our answer must agree. */
static bool dpkg_lt(const char *a, const char *b)
{
	int status;
	pid_t pid = fork();

	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		execlp("dpkg", "dpkg", "--compare-versions", a, "lt", b,
		       (char *)NULL);
		_exit(127);
	}
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) <= 1,
		      "dpkg --compare-versions could not run");
	return WEXITSTATUS(status) == 0;
}

START_TEST(debian_ranges_agree_with_dpkg)
{
	static const char *const v[] = {
		"3.0.11-1~deb12u1", "3.0.11-1~deb12u2", "3.0.11-1", "3.0.9-1",
		"1:3.0.0-1", "3.0.11-1~deb12u2+b1",
	};
	const char *ranges = "[{\"type\":\"ECOSYSTEM\",\"events\":"
		"[{\"introduced\":\"0\"},{\"fixed\":\"3.0.11-1~deb12u2\"}]}]";
	size_t i;

	for (i = 0; i < sizeof(v) / sizeof(v[0]); i++)
		ck_assert_msg(HIT(v[i], ranges, NULL, PX_VER_DEB) ==
			      dpkg_lt(v[i], "3.0.11-1~deb12u2"), "%s", v[i]);
}
END_TEST

/* Where a package's distribution comes from: a purl qualifier or the
 * host's PRETTY_NAME. */
START_TEST(a_distribution_is_read_from_a_purl_qualifier_or_os_release)
{
	struct px_osv_distro d;

	ck_assert(px_osv_distro_from_purl("debian-12", &d));
	ck_assert_str_eq(d.id, "debian");
	ck_assert_str_eq(d.release, "12");
	ck_assert(px_osv_distro_from_purl("opensuse-leap-15.5", &d));
	ck_assert_str_eq(d.id, "opensuse-leap");
	ck_assert_str_eq(d.release, "15.5");
	ck_assert(!px_osv_distro_from_purl("bookworm", &d));
	ck_assert_str_eq(d.id, "");
	ck_assert(!px_osv_distro_from_purl(NULL, &d));

	ck_assert(px_osv_distro_from_os("Debian GNU/Linux 11 (bullseye)", &d));
	ck_assert_str_eq(d.id, "debian");
	ck_assert_str_eq(d.release, "11");
	ck_assert(px_osv_distro_from_os("Ubuntu 22.04.3 LTS", &d));
	ck_assert_str_eq(d.id, "ubuntu");
	ck_assert_str_eq(d.release, "22.04.3");
	ck_assert(px_osv_distro_from_os("Alpine Linux v3.19", &d));
	ck_assert_str_eq(d.id, "alpine");
	ck_assert_str_eq(d.release, "3.19");
	ck_assert(px_osv_distro_from_os("Rocky Linux 9.3 (Blue Onyx)", &d));
	ck_assert_str_eq(d.id, "rocky");
	ck_assert_str_eq(d.release, "9.3");
	ck_assert(px_osv_distro_from_os("Debian GNU/Linux trixie/sid", &d));
	ck_assert_str_eq(d.release, "");
	ck_assert(!px_osv_distro_from_os("Arch Linux", &d));
	ck_assert_str_eq(d.id, "");
}
END_TEST

START_TEST(os_advisories_apply_to_their_distribution_and_release_only)
{
	struct px_osv_distro deb12 = { "debian", "12" }, deb11 = { "debian", "11" };
	struct px_osv_distro ubu = { "ubuntu", "22.04.3" }, unknown = { "", "" };
	struct px_osv_distro alp = { "alpine", "3.19" }, rocky = { "rocky", "9.3" };
	struct px_osv_distro alma = { "almalinux", "" };

	ck_assert(px_osv_applies("Debian:12", "deb", &deb12));
	ck_assert(!px_osv_applies("Debian:12", "deb", &deb11));
	ck_assert(!px_osv_applies("Debian:12", "deb", &ubu));
	ck_assert(px_osv_applies("Ubuntu:22.04:LTS", "deb", &ubu));
	ck_assert(px_osv_applies("Ubuntu:Pro:22.04:LTS", "deb", &ubu));
	ck_assert(!px_osv_applies("Ubuntu:20.04:LTS", "deb", &ubu));
	/* Unknown: a deb is Debian's, of any release (the scanner's rule). */
	ck_assert(px_osv_applies("Debian:11", "deb", &unknown));
	ck_assert(px_osv_applies("Debian", "deb", NULL));
	ck_assert(!px_osv_applies("Ubuntu:22.04:LTS", "deb", NULL));
	ck_assert(px_osv_applies("Alpine:v3.19", "apk", &alp));
	ck_assert(!px_osv_applies("Alpine:v3.1", "apk", &alp));
	ck_assert(!px_osv_applies("Alpine:v3.18", "apk", &alp));
	/* rpm: any rpm distribution when unknown, else its own. */
	ck_assert(px_osv_applies("AlmaLinux:9", "rpm", NULL));
	ck_assert(px_osv_applies("Rocky Linux:9", "rpm", &rocky));
	ck_assert(!px_osv_applies("Rocky Linux:8", "rpm", &rocky));
	ck_assert(!px_osv_applies("AlmaLinux:9", "rpm", &rocky));
	ck_assert(px_osv_applies("AlmaLinux:8", "rpm", &alma));
	/* Language ecosystems ignore the host; schemes must still agree. */
	ck_assert(px_osv_applies("Maven", "maven", &deb11));
	ck_assert(!px_osv_applies("Debian:11", "maven", &deb11));
	ck_assert(!px_osv_applies("npm", "pypi", NULL));
}
END_TEST

START_TEST(ranges_survive_their_stored_json_form)
{
	struct px_osv_record *rec = parse_ok(
		"{\"id\":\"X-1\",\"affected\":[{\"package\":{\"ecosystem\":\"npm\","
		"\"name\":\"q\"},\"ranges\":[{\"type\":\"SEMVER\",\"events\":["
		"{\"introduced\":\"1.0.0\"},{\"last_affected\":\"1.2.0\\\"/x\"}]},"
		"{\"type\":\"ECOSYSTEM\",\"events\":[{\"introduced\":\"0\"},"
		"{\"fixed\":\"0.5.0\"}]}]}]}");
	const struct px_osv_affected *a = &rec->affected[0];
	struct px_osv_affected back;
	char *text = px_osv_ranges_json(a), *again;

	ck_assert_ptr_nonnull(text);
	ck_assert_int_eq(px_osv_affected_parse(text, NULL, &back), 0);
	ck_assert_uint_eq(back.n_ranges, 2);
	ck_assert_int_eq(back.ranges[0].type, PX_OSV_RANGE_SEMVER);
	ck_assert_uint_eq(back.ranges[0].n_events, 2);
	ck_assert_int_eq(back.ranges[0].events[1].kind, PX_OSV_LAST_AFFECTED);
	ck_assert_str_eq(back.ranges[0].events[1].version, "1.2.0\"/x");
	ck_assert_int_eq(back.ranges[1].type, PX_OSV_RANGE_ECOSYSTEM);
	ck_assert_str_eq(back.ranges[1].events[1].version, "0.5.0");
	ck_assert(px_osv_affects(&back, PX_VER_SEMVER, "0.4.0", NULL, 0));
	ck_assert(!px_osv_affects(&back, PX_VER_SEMVER, "0.6.0", NULL, 0));
	again = px_osv_ranges_json(&back);
	ck_assert_str_eq(again, text);
	free(again);
	free(text);
	px_osv_affected_release(&back);
	ck_assert_uint_eq(back.n_ranges, 0);

	/* No ranges: an empty array; text that is no JSON: refused. */
	text = px_osv_ranges_json(&back);
	ck_assert_str_eq(text, "[]");
	free(text);
	ck_assert_int_eq(px_osv_affected_parse("[{", NULL, &back), -EBADMSG);
	px_osv_affected_release(&back);
	px_osv_record_free(rec);
}
END_TEST

/* What the loader handed over, one line per document. */
struct seen {
	char log[2048];
	size_t records, skips;
	int stop_after;          /* > 0: fail with -ECANCELED at that call */
};

static int visit(void *arg, const char *origin, struct px_osv_record *rec,
		 const char *why)
{
	struct seen *s = arg;
	size_t n = strlen(s->log);
	const char *base = strrchr(origin, '/');

	base = base ? base + 1 : origin;
	if (rec) {
		snprintf(s->log + n, sizeof(s->log) - n, "%s=%s\n", base, rec->id);
		s->records++;
	} else {
		ck_assert_ptr_nonnull(why);
		snprintf(s->log + n, sizeof(s->log) - n, "%s skipped\n", base);
		s->skips++;
	}
	px_osv_record_free(rec);
	if (s->stop_after && (int)(s->records + s->skips) == s->stop_after)
		return -ECANCELED;
	return 0;
}

static void put(const char *dir, const char *rel, const char *text)
{
	char path[512];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, rel);
	f = fopen(path, "w");
	ck_assert_ptr_nonnull(f);
	fputs(text, f);
	fclose(f);
}

static void rmtree(const char *dir)
{
	char cmd[600];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	ck_assert_int_eq(system(cmd), 0);
}

START_TEST(a_directory_is_walked_in_name_order_with_skips_reported)
{
	char dir[] = "/tmp/pxosv-dir.XXXXXX", err[256] = "", sub[600];
	struct seen s = { 0 };

	ck_assert_ptr_nonnull(mkdtemp(dir));
	put(dir, "b.json", "{\"id\":\"B-1\"}");
	put(dir, "a.json", "{\"id\":\"A-1\"}");
	put(dir, "c.json", "{\"not\":\"osv\"}");
	put(dir, "d.json", "garbage");
	put(dir, "notes.txt", "{\"id\":\"TXT-1\"}");
	put(dir, ".hidden.json", "{\"id\":\"H-1\"}");
	snprintf(sub, sizeof(sub), "%s/npm", dir);
	ck_assert_int_eq(mkdir(sub, 0755), 0);
	put(sub, "z.json", "{\"id\":\"Z-1\"}");
	snprintf(sub, sizeof(sub), "%s/link.json", dir);
	ck_assert_int_eq(symlink("a.json", sub), 0);

	ck_assert_int_eq(px_osv_load(dir, visit, &s, err, sizeof(err)), 0);
	ck_assert_str_eq(s.log, "a.json=A-1\nb.json=B-1\nc.json skipped\n"
			 "d.json skipped\nz.json=Z-1\n");
	ck_assert_uint_eq(s.records, 3);
	ck_assert_uint_eq(s.skips, 2);

	/* A visitor's error stops the walk and is the result. */
	memset(&s, 0, sizeof(s));
	s.stop_after = 2;
	ck_assert_int_eq(px_osv_load(dir, visit, &s, err, sizeof(err)),
			 -ECANCELED);
	ck_assert_str_eq(s.log, "a.json=A-1\nb.json=B-1\n");
	rmtree(dir);
}
END_TEST

/* Writes a zip of <n> (name, text) pairs to <path>. */
static void write_zip(const char *path, size_t n, const char *const *names,
		      const char *const *texts)
{
	struct archive *a = archive_write_new();
	size_t i;

	archive_write_set_format_zip(a);
	ck_assert_int_eq(archive_write_open_filename(a, path), ARCHIVE_OK);
	for (i = 0; i < n; i++) {
		struct archive_entry *e = archive_entry_new();
		size_t len = strlen(texts[i]);

		archive_entry_set_pathname(e, names[i]);
		archive_entry_set_size(e, (la_int64_t)len);
		archive_entry_set_filetype(e, AE_IFREG);
		archive_entry_set_perm(e, 0644);
		ck_assert_int_eq(archive_write_header(a, e), ARCHIVE_OK);
		ck_assert_int_eq(archive_write_data(a, texts[i], len),
				 (la_ssize_t)len);
		archive_entry_free(e);
	}
	archive_write_close(a);
	archive_write_free(a);
}

START_TEST(a_zip_and_a_single_file_are_read)
{
	static const char *const names[] = {
		"Maven/GHSA-1.json", "README.md", "PyPI/bad.json", "PyPI/P-2.json",
	};
	static const char *const texts[] = {
		"{\"id\":\"GHSA-1\"}", "{\"id\":\"NO-1\"}", "{", "{\"id\":\"P-2\"}",
	};
	char dir[] = "/tmp/pxosv-zip.XXXXXX", path[600], err[256] = "";
	struct seen s = { 0 };

	ck_assert_ptr_nonnull(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/all.zip", dir);
	write_zip(path, 4, names, texts);
	ck_assert_msg(px_osv_load(path, visit, &s, err, sizeof(err)) == 0, "%s",
		      err);
	ck_assert_str_eq(s.log, "GHSA-1.json=GHSA-1\nbad.json skipped\n"
			 "P-2.json=P-2\n");

	memset(&s, 0, sizeof(s));
	put(dir, "one.json", GHSA);
	snprintf(path, sizeof(path), "%s/one.json", dir);
	ck_assert_int_eq(px_osv_load(path, visit, &s, err, sizeof(err)), 0);
	ck_assert_str_eq(s.log, "one.json=GHSA-jfh8-c2jp-5v3q\n");
	rmtree(dir);
}
END_TEST

START_TEST(a_missing_path_or_a_broken_zip_fails_naming_it)
{
	char dir[] = "/tmp/pxosv-bad.XXXXXX", path[600], err[256] = "";
	struct seen s = { 0 };

	ck_assert_ptr_nonnull(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/nowhere", dir);
	ck_assert_int_eq(px_osv_load(path, visit, &s, err, sizeof(err)),
			 -ENOENT);
	ck_assert_msg(strstr(err, "nowhere") != NULL, "%s", err);

	put(dir, "fake.zip", "this is not a zip file at all");
	snprintf(path, sizeof(path), "%s/fake.zip", dir);
	err[0] = '\0';
	ck_assert_int_lt(px_osv_load(path, visit, &s, err, sizeof(err)), 0);
	ck_assert_msg(strstr(err, "fake.zip") != NULL, "%s", err);
	ck_assert_uint_eq(s.records + s.skips, 0);
	rmtree(dir);
}
END_TEST

static Suite *osv_suite(void)
{
	Suite *s = suite_create("common-osv");
	TCase *tc = tcase_create("osv");

	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, a_record_keeps_its_id_cve_aliases_summary_and_date);
	tcase_add_test(tc, affected_entries_keep_package_ranges_events_and_versions);
	tcase_add_test(tc, severity_comes_from_ghsa_words_then_cvss_v3_scores);
	tcase_add_test(tc, text_that_is_not_an_osv_record_is_refused_with_a_reason);
	tcase_add_test(tc, ranges_follow_the_ecosystem_ordering);
	tcase_add_test(tc, a_distribution_is_read_from_a_purl_qualifier_or_os_release);
	tcase_add_test(tc, os_advisories_apply_to_their_distribution_and_release_only);
	tcase_add_test(tc, version_lists_semver_ranges_and_git_ranges_follow_osv);
	tcase_add_test(tc, debian_ranges_agree_with_dpkg);
	tcase_add_test(tc, ranges_survive_their_stored_json_form);
	tcase_add_test(tc, a_directory_is_walked_in_name_order_with_skips_reported);
	tcase_add_test(tc, a_zip_and_a_single_file_are_read);
	tcase_add_test(tc, a_missing_path_or_a_broken_zip_fails_naming_it);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return px_check_run(osv_suite());
}
