// SPDX-License-Identifier: Apache-2.0
/*
 * The outputs: JSON string escaping (checked byte for byte, and by parsing
 * a JSON line back with Python's json module), the UTF-8 repair applied to
 * protobuf strings, and the protobuf form of a finding.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "helpers.h"
#include "output.h"
#include "scan.h"
#include "px_check.h"
#include "text.h"

/* Sample path: quote, backslash, newline, tab, a control byte, an invalid
 * byte (0xff), a valid two-byte character (e-acute) and a lone
 * continuation byte (0x80). */
#define NASTY "/snap/a\"b\\c\nd\te\001f\377g\303\251h\200.jar"

static char *json_of(const char *s)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	ck_assert_ptr_nonnull(f);
	px_json_str(f, s);
	fclose(f);
	return buf;
}

START_TEST(json_strings_escape_quotes_controls_and_invalid_bytes)
{
	char *j = json_of(NASTY);

	ck_assert_str_eq(j, "\"/snap/a\\\"b\\\\c\\nd\\te\\u0001f\\u00ffg"
			    "\303\251h\\u0080.jar\"");
	free(j);
}
END_TEST

START_TEST(utf8_repair_maps_invalid_bytes_to_latin1_code_points)
{
	char *s = px_utf8_fix("a\377b\303\251c\200\xed\xa0\x80");

	ck_assert_ptr_nonnull(s);
	/* 0xff -> U+00FF, e-acute kept, 0x80 -> U+0080, and the encoded
	 * surrogate (invalid in UTF-8) byte by byte */
	ck_assert_str_eq(s, "a\303\277b\303\251c\302\200"
			    "\303\255\302\240\302\200");
	free(s);
}
END_TEST

static void sample_finding(struct scan_finding *f)
{
	memset(f, 0, sizeof(*f));
	f->type = SCAN_FINDING_PACKAGE;
	f->path = NASTY;
	f->inner = "app.war!/WEB-INF/lib/x.jar";
	f->sha256 = "00112233445566778899aabbccddeeff"
		    "00112233445566778899aabbccddeeff";
	f->ecosystem = "maven";
	f->name = "org.apache.logging.log4j:log4j-core";
	f->version = "2.14.1";
	f->purl = "pkg:maven/org.apache.logging.log4j/log4j-core@2.14.1";
	f->evidence = "classes say \"2.14\"";
	f->n_cves = 2;
	snprintf(f->cves[0].id, sizeof(f->cves[0].id), "CVE-2021-45105");
	f->cves[0].severity = SCAN_SEV_MEDIUM;
	strcpy(f->cves[0].evidence, "StrSubstitutor");
	snprintf(f->cves[1].id, sizeof(f->cves[1].id), "CVE-2021-44228");
	f->cves[1].severity = SCAN_SEV_CRITICAL;
	strcpy(f->cves[1].evidence, "JndiLookup");
	scan_finding_settle(f);
}

START_TEST(a_jsonl_line_parses_back_to_the_same_values)
{
	static const char *check =
		"python3 -c 'import json,sys\n"
		"lines = open(sys.argv[1], encoding=\"utf-8\").read().splitlines()\n"
		"assert len(lines) == 1, lines\n"
		"d = json.loads(lines[0])\n"
		"want = \"/snap/a\\\"b\\\\c\\nd\\te\\x01f\\xffg\\xe9h\\x80.jar\"\n"
		"assert d[\"path\"] == want, repr(d[\"path\"])\n"
		"assert d[\"cves\"] == [\"CVE-2021-44228\", \"CVE-2021-45105\"], d\n"
		"assert d[\"severity\"] == \"critical\", d\n"
		"assert d[\"type\"] == \"package\" and d[\"inner\"].endswith(\"x.jar\")\n"
		"assert d[\"evidence\"] == \"classes say \\\"2.14\\\"\"\n"
		"assert d[\"cve_details\"][0][\"evidence\"] == \"JndiLookup\"\n"
		"' ";
	struct scan_finding f;
	char dir[64], path[128], cmd[2048];
	FILE *out;

	sample_finding(&f);
	temp_dir(dir);
	snprintf(path, sizeof(path), "%s/out.jsonl", dir);
	out = fopen(path, "w");
	ck_assert_ptr_nonnull(out);
	ck_assert_int_eq(scan_jsonl_emit(out, &f), 0);
	fclose(out);
	snprintf(cmd, sizeof(cmd), "%s%s", check, path);
	ck_assert_msg(run_status(cmd) == 0, "python3 rejected %s", path);
	remove_tree(dir);
}
END_TEST

START_TEST(a_protobuf_finding_round_trips_with_sorted_cves)
{
	Parallax__V1__Finding *pf, *back;
	struct scan_finding f;
	uint8_t *buf;
	size_t len;

	sample_finding(&f);
	pf = scan_pb_finding(&f);
	ck_assert_ptr_nonnull(pf);
	len = protobuf_c_message_get_packed_size(&pf->base);
	buf = malloc(len);
	ck_assert_ptr_nonnull(buf);
	protobuf_c_message_pack(&pf->base, buf);
	back = parallax__v1__finding__unpack(NULL, len, buf);
	ck_assert_ptr_nonnull(back);
	ck_assert_int_eq(back->type, PARALLAX__V1__FINDING_TYPE__FINDING_TYPE_PACKAGE);
	ck_assert_int_eq(back->severity, PARALLAX__V1__SEVERITY__SEVERITY_CRITICAL);
	ck_assert_str_eq(back->inner, "app.war!/WEB-INF/lib/x.jar");
	ck_assert_str_eq(back->path, "/snap/a\"b\\c\nd\te\001f\303\277g"
				     "\303\251h\302\200.jar");
	ck_assert_int_eq(back->detail_case,
			 PARALLAX__V1__FINDING__DETAIL_PACKAGE);
	ck_assert_str_eq(back->package->purl, f.purl);
	ck_assert_uint_eq(back->package->n_cves, 2);
	ck_assert_str_eq(back->package->cves[0]->id, "CVE-2021-44228");
	ck_assert_int_eq(back->package->cves[0]->severity,
			 PARALLAX__V1__SEVERITY__SEVERITY_CRITICAL);
	ck_assert_str_eq(back->package->cves[1]->evidence, "StrSubstitutor");
	parallax__v1__finding__free_unpacked(back, NULL);
	scan_pb_finding_free(pf);
	free(buf);
}
END_TEST

START_TEST(severities_parse_and_print_by_name)
{
	enum scan_severity s;

	ck_assert_int_eq(scan_severity_parse("high", &s), 0);
	ck_assert_int_eq(s, SCAN_SEV_HIGH);
	ck_assert_str_eq(scan_severity_name(s), "high");
	ck_assert_int_eq(scan_severity_parse("none", &s), 0);
	ck_assert_int_eq(s, SCAN_SEV_NONE);
	ck_assert_int_ne(scan_severity_parse("severe", &s), 0);
}
END_TEST

static Suite *output_suite(void)
{
	Suite *s = suite_create("scanner-output");
	TCase *tc = tcase_create("output");

	tcase_add_test(tc, json_strings_escape_quotes_controls_and_invalid_bytes);
	tcase_add_test(tc, utf8_repair_maps_invalid_bytes_to_latin1_code_points);
	tcase_add_test(tc, a_jsonl_line_parses_back_to_the_same_values);
	tcase_add_test(tc, a_protobuf_finding_round_trips_with_sorted_cves);
	tcase_add_test(tc, severities_parse_and_print_by_name);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return px_check_run(output_suite());
}
