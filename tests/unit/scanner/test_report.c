// SPDX-License-Identifier: Apache-2.0
/*
 * Outputs and use: SARIF 2.1.0 and CycloneDX 1.5 documents checked by
 * check_docs.py (SARIF locations relative to the root scanned), exit codes per --fail-on, the progress bar only when
 * asked or on a terminal (on stderr, reaching 100% where a total is
 * known), and the same findings whatever --threads.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "helpers.h"
#include "px_check.h"

static char dir[64];

/* A snapshot with a vulnerable log4j, packages and a secret. */
static void build(void)
{
	char src[4096];
	uint8_t *jar;
	size_t len;
	int i;

	temp_dir(dir);
	snprintf(src, sizeof(src), "%s/true-hits/log4j-core-2.14.1.jar",
		 fixture_samples());
	jar = slurp(src, &len);
	put_file(dir, "opt/app/log4j-core.jar", jar, len);
	free(jar);
	put_text(dir, "var/lib/dpkg/status",
		 "Package: zlib1g\nStatus: install ok installed\nVersion: 1:1.2.13.dfsg-1\n\n"
		 "Package: bash\nStatus: install ok installed\nVersion: 5.2.15-2+b2\n");
	put_text(dir, "etc/app.conf", "key=AKIAQ3EGRT5YBN7XKD2P\n");
	for (i = 0; i < 40; i++) {
		char rel[64];

		snprintf(rel, sizeof(rel), "srv/n%d/node_modules/p%d/package.json", i, i);
		put_text(dir, rel, "{\"name\":\"pkg\",\"version\":\"1.0.0\"}");
	}
}

static void paths(char *out, char *err)
{
	snprintf(out, 128, "%s.out", dir);
	snprintf(err, 128, "%s.err", dir);
}

/* check_docs.py over <out>; <flags> "" or "--resolve". */
static void check_doc_as(const char *kind, const char *out, const char *flags)
{
	char cmd[1024];

	snprintf(cmd, sizeof(cmd), "python3 '%s' %s '%s' %s >/dev/null",
		 getenv("PX_SCAN_DOCS"), kind, out, flags);
	ck_assert_msg(getenv("PX_SCAN_DOCS"), "PX_SCAN_DOCS is not set");
	ck_assert_msg(run_status(cmd) == 0, "%s document fails its checks: %s",
		      kind, out);
}

static void check_doc(const char *kind, const char *out)
{
	check_doc_as(kind, out, "");
}

START_TEST(sarif_and_cyclonedx_documents_are_well_formed)
{
	char out[128], err[128], args[512];

	build();
	paths(out, err);
	snprintf(args, sizeof(args), "--format sarif '%s'", dir);
	ck_assert_int_eq(scan_bin(args, out, err), 0);
	check_doc("sarif", out);
	ck_assert(file_has(out, "\"ruleId\":\"CVE-2021-44228\",\"level\":\"error\""));
	ck_assert(file_has(out, "\"ruleId\":\"secret/aws-access-key\""));
	snprintf(args, sizeof(args), "--format cyclonedx '%s'", dir);
	ck_assert_int_eq(scan_bin(args, out, err), 0);
	check_doc("cyclonedx", out);
	ck_assert(file_has(out, "\"purl\":\"pkg:deb/debian/zlib1g@1%3A1.2.13.dfsg-1\""));
	ck_assert(file_has(out, "{\"id\":\"CVE-2021-44228\",\"ratings\":[{\"severity\":\"critical\"}]"));
	ck_assert(!file_has(out, "AKIAQ3EGRT5YBN7XKD2P"));
	unlink(out);
	unlink(err);
	remove_tree(dir);
}
END_TEST

/*
 * SARIF for pull-request checks: locations relative to the root scanned,
 * the root in originalUriBaseIds; a nested member at its outer file.
 */
START_TEST(sarif_locations_are_relative_to_the_scanned_root)
{
	const char *names[] = { "WEB-INF/lib/log4j-core-2.14.1.jar" };
	char out[128], err[128], args[1024], needle[512], src[4096];
	const uint8_t *data[1];
	uint8_t *jar, *war;
	size_t len, lens[1], wlen;

	build();
	paths(out, err);
	snprintf(src, sizeof(src), "%s/true-hits/log4j-core-2.14.1.jar",
		 fixture_samples());
	jar = slurp(src, &len);
	data[0] = jar;
	lens[0] = len;
	war = zip_build(1, names, data, lens, &wlen);
	put_file(dir, "srv/my app#1/shop.war", war, wlen);
	free(war);
	free(jar);

	snprintf(args, sizeof(args), "--format sarif --checks packages '%s'", dir);
	ck_assert_int_eq(scan_bin(args, out, err), 0);
	check_doc_as("sarif", out, "--resolve");
	snprintf(needle, sizeof(needle), "\"originalUriBaseIds\":{\"SRCROOT\":{\"uri\":\"file://%s/\"", dir);
	ck_assert(file_has(out, needle));
	ck_assert(file_has(out, "\"uri\":\"opt/app/log4j-core.jar\",\"uriBaseId\":\"SRCROOT\""));
	/* escaped, so '#' starts no fragment; the member is in the message
	 * and the properties */
	ck_assert(file_has(out, "\"uri\":\"srv/my%20app%231/shop.war\",\"uriBaseId\":\"SRCROOT\""));
	ck_assert(file_has(out, "log4j-core 2.14.1 in WEB-INF/lib/log4j-core-2.14.1.jar: CVE-2021-44228"));
	ck_assert(file_has(out, "\"inner\":\"WEB-INF/lib/log4j-core-2.14.1.jar\""));
	snprintf(needle, sizeof(needle), "\"uri\":\"%s", dir + 1);
	ck_assert(!file_has(out, needle));

	/* a single file is located in its directory; a second root is a
	 * second base */
	snprintf(args, sizeof(args), "--format sarif --checks packages '%s/opt/app/log4j-core.jar' '%s/srv'",
		 dir, dir);
	ck_assert_int_eq(scan_bin(args, out, err), 0);
	check_doc_as("sarif", out, "--resolve");
	snprintf(needle, sizeof(needle), "\"SRCROOT\":{\"uri\":\"file://%s/opt/app/\"", dir);
	ck_assert(file_has(out, needle));
	snprintf(needle, sizeof(needle), "\"SRCROOT2\":{\"uri\":\"file://%s/srv/\"", dir);
	ck_assert(file_has(out, needle));
	ck_assert(file_has(out, "\"uri\":\"log4j-core.jar\",\"uriBaseId\":\"SRCROOT\""));
	ck_assert(file_has(out, "\"uri\":\"my%20app%231/shop.war\",\"uriBaseId\":\"SRCROOT2\""));

	/* a host's root filesystem: paths as the host sees them */
	snprintf(args, sizeof(args), "--format sarif --checks packages --snapshot-root '%s'", dir);
	ck_assert_int_eq(scan_bin(args, out, err), 0);
	check_doc("sarif", out);
	ck_assert(file_has(out, "\"SRCROOT\":{\"uri\":\"file:///\""));
	ck_assert(file_has(out, "\"uri\":\"opt/app/log4j-core.jar\",\"uriBaseId\":\"SRCROOT\""));
	unlink(out);
	unlink(err);
	remove_tree(dir);
}
END_TEST

START_TEST(exit_status_follows_fail_on)
{
	char out[128], err[128], args[512];

	build();
	paths(out, err);
	snprintf(args, sizeof(args), "--format jsonl --fail-on critical '%s'", dir);
	ck_assert_int_eq(scan_bin(args, out, err), 1);
	ck_assert(file_has(err, "fail-on"));
	snprintf(args, sizeof(args), "--format jsonl --fail-on critical --checks secrets '%s'", dir);
	ck_assert_int_eq(scan_bin(args, out, err), 0);   /* a secret is high */
	snprintf(args, sizeof(args), "--format jsonl --fail-on high --checks secrets '%s'", dir);
	ck_assert_int_eq(scan_bin(args, out, err), 1);
	snprintf(args, sizeof(args), "--format yaml '%s'", dir);
	ck_assert_int_eq(scan_bin(args, out, err), 2);
	snprintf(args, sizeof(args), "--checks viruses '%s'", dir);
	ck_assert_int_eq(scan_bin(args, out, err), 2);
	ck_assert(file_has(err, "unknown check 'viruses'"));
	unlink(out);
	unlink(err);
	remove_tree(dir);
}
END_TEST

/*
 * The percentages of the bar's frames in <path> ("layers [###---]  45% "),
 * in order, up to <max> of them into <pct>; returns how many there are.
 * Frames start at a '\r'.
 */
static size_t bar_percents(const char *path, int *pct, size_t max)
{
	size_t len, n = 0;
	uint8_t *buf = slurp(path, &len);
	char *text = malloc(len + 1), *frame, *gauge;
	int v;

	ck_assert_ptr_nonnull(text);
	memcpy(text, buf, len);
	text[len] = '\0';
	for (frame = strchr(text, '\r'); frame; frame = strchr(frame + 1, '\r')) {
		gauge = strstr(frame, "] ");
		if (!gauge || memchr(frame + 1, '\r', (size_t)(gauge - frame - 1)) ||
		    memchr(frame, '\n', (size_t)(gauge - frame)))
			continue;
		ck_assert_msg(sscanf(gauge + 2, "%d%%", &v) == 1,
			      "a bar without a percentage in %s", path);
		if (n < max)
			pct[n] = v;
		n++;
	}
	free(text);
	free(buf);
	return n;
}

/* Every line of <path> is a JSON object, and nothing of a bar is there. */
static void check_clean_jsonl(const char *path)
{
	char cmd[1024];

	ck_assert(!file_has(path, "\r"));
	ck_assert(!file_has(path, "\033"));
	ck_assert(!file_has(path, "%, "));
	snprintf(cmd, sizeof(cmd), "python3 -c 'import json,sys\n"
		 "for l in open(sys.argv[1]): assert isinstance(json.loads(l), dict)' '%s'",
		 path);
	ck_assert_msg(run_status(cmd) == 0, "%s is not clean JSON lines", path);
}

static char images[64];

/* The image fixtures of make_images.sh, once per test process. */
static void build_images(void)
{
	const char *script = getenv("PX_MAKE_IMAGES");
	char cmd[1024];

	if (images[0])
		return;
	ck_assert_msg(script && script[0], "PX_MAKE_IMAGES is not set; run through meson test");
	temp_dir(images);
	snprintf(cmd, sizeof(cmd), "sh '%s' '%s' >/dev/null", script, images);
	ck_assert_msg(run_status(cmd) == 0, "%s failed", script);
}

/* Scans <image> with <flags>, stdout and stderr each through a pipe. */
static void scan_piped(const char *flags, const char *image, const char *out,
		       const char *err)
{
	char cmd[2048];

	snprintf(cmd, sizeof(cmd), "('%s' --format jsonl %s '%s/%s' </dev/null | cat > '%s') 2>&1 | cat > '%s'",
		 getenv("PX_SCAN_BIN"), flags, images, image, out, err);
	ck_assert_int_eq(run_status(cmd), 0);
}

/* In an image, locations are paths inside it, the image naming the base;
 * an event about the image file itself keeps an absolute URI. */
START_TEST(sarif_locations_in_an_image_are_relative_to_its_root)
{
	char out[128], err[128], args[512], needle[512], cmd[1024];

	build_images();
	snprintf(out, sizeof(out), "%s/out", images);
	snprintf(err, sizeof(err), "%s/err", images);
	snprintf(args, sizeof(args), "--format sarif '%s/disk.img'", images);
	ck_assert_int_eq(scan_bin(args, out, err), 0);
	check_doc("sarif", out);
	snprintf(needle, sizeof(needle), "\"SRCROOT\":{\"uri\":\"file://%s/disk.img/\"", images);
	ck_assert(file_has(out, needle));
	ck_assert(file_has(out, "\"uri\":\"srv/escape\",\"uriBaseId\":\"SRCROOT\""));
	/* a layer missing: the event is about the image file on disk */
	snprintf(cmd, sizeof(cmd), "tar -C '%s/d' -cf '%s/missing.tar' l1/layer.tar config.json manifest.json",
		 images, images);
	ck_assert_int_eq(run_status(cmd), 0);
	snprintf(args, sizeof(args), "--format sarif '%s/missing.tar'", images);
	ck_assert_int_eq(scan_bin(args, out, err), 0);
	check_doc("sarif", out);
	ck_assert(file_has(out, "layer missing from image"));
	snprintf(needle, sizeof(needle), "\"uri\":\"file://%s/missing.tar\"}", images);
	ck_assert_msg(file_has(out, needle), "no absolute location of the image in %s", out);
	unlink(out);
	unlink(err);
}
END_TEST

START_TEST(the_bar_of_an_image_reaches_100_percent_on_stderr_only)
{
	static const char *const kinds[] = { "docker.tar", "oci", "disk.img" };
	static const char *const threads[] = { "--threads 1", "--threads 4" };
	char out[128], err[128], flags[128];
	int pct[64];
	size_t i, t, n, k;

	build_images();
	snprintf(out, sizeof(out), "%s/out", images);
	snprintf(err, sizeof(err), "%s/err", images);
	for (i = 0; i < 3; i++) {
		for (t = 0; t < 2; t++) {
			snprintf(flags, sizeof(flags), "--progress always %s",
				 threads[t]);
			scan_piped(flags, kinds[i], out, err);
			n = bar_percents(err, pct, 64);
			ck_assert_msg(n >= 2 && n <= 64, "%s: %zu frames", kinds[i], n);
			/* one phase: the first frame at 0, never back, and
			 * 100 only on the last */
			ck_assert_int_eq(pct[0], 0);
			for (k = 1; k < n; k++)
				ck_assert_int_ge(pct[k], pct[k - 1]);
			ck_assert_int_eq(pct[n - 1], 100);
			ck_assert_int_lt(pct[n - 2], 100);
			/* not a terminal: no escapes, the line ended */
			ck_assert(!file_has(err, "\033"));
			ck_assert(file_has(err, "100% "));
			check_clean_jsonl(out);
			ck_assert(file_has(out, "\"name\":\""));
		}
	}
	unlink(out);
	unlink(err);
}
END_TEST

START_TEST(auto_through_a_pipe_adds_nothing_to_stderr)
{
	char out[128], err[128], cmd[512];

	build_images();
	snprintf(out, sizeof(out), "%s/out", images);
	snprintf(err, sizeof(err), "%s/err", images);
	scan_piped("", "docker.tar", out, err);
	ck_assert(!file_has(err, "\r"));
	ck_assert_uint_eq(bar_percents(err, NULL, 0), 0);
	/* only log lines */
	snprintf(cmd, sizeof(cmd), "grep -qv '^ts=' '%s'", err);
	ck_assert_int_ne(run_status(cmd), 0);
	ck_assert(file_has(err, "msg=\"scan finished\""));
	check_clean_jsonl(out);
	scan_piped("--progress never", "disk.img", out, err);
	ck_assert(!file_has(err, "\r"));
	unlink(out);
	unlink(err);
}
END_TEST

/* script(1) gives the scan a terminal on stdin, stdout and stderr; stdout
 * is then sent to a file, so the terminal sees stderr only. */
START_TEST(auto_on_a_terminal_draws_the_bar_and_erases_it)
{
	char out[128], tty[128], cmd[2048];
	int pct[64];
	size_t n;

	build_images();
	snprintf(out, sizeof(out), "%s/out", images);
	snprintf(tty, sizeof(tty), "%s/typescript", images);
	ck_assert_msg(run_status("command -v script >/dev/null") == 0,
		      "script(1) from util-linux is needed");
	snprintf(cmd, sizeof(cmd), "script -qec \"'%s' --format jsonl '%s/disk.img' > '%s'\" '%s' >/dev/null </dev/null",
		 getenv("PX_SCAN_BIN"), images, out, tty);
	ck_assert_int_eq(run_status(cmd), 0);
	n = bar_percents(tty, pct, 64);
	ck_assert_msg(n >= 2 && n <= 64, "%zu frames on the terminal", n);
	ck_assert_int_eq(pct[n - 1], 100);
	/* each frame erases what a longer one left, and the last line is
	 * erased before the log line that follows the scan */
	ck_assert(file_has(tty, "errors\033[K"));
	ck_assert(file_has(tty, "\r\033[Kts="));
	check_clean_jsonl(out);
	unlink(out);
	unlink(tty);
}
END_TEST

START_TEST(progress_is_drawn_only_when_asked_or_on_a_terminal)
{
	char out[128], err[128], args[512];

	build();
	paths(out, err);
	snprintf(args, sizeof(args), "--format jsonl '%s'", dir);
	ck_assert_int_eq(scan_bin(args, out, err), 0);
	ck_assert(!file_has(err, "\r"));        /* stderr is a file here */
	snprintf(args, sizeof(args), "--format jsonl --progress always '%s'", dir);
	ck_assert_int_eq(scan_bin(args, out, err), 0);
	ck_assert(file_has(err, "\r"));
	ck_assert(file_has(err, " files, "));
	ck_assert(!file_has(out, " files, "));
	/* a directory that is no mount point has no total: a spinner */
	ck_assert(file_has(err, "\rwalk | 0 files, "));
	ck_assert_uint_eq(bar_percents(err, NULL, 0), 0);
	snprintf(args, sizeof(args), "--format jsonl --progress sometimes '%s'", dir);
	ck_assert_int_eq(scan_bin(args, out, err), 2);
	ck_assert(file_has(err, "--progress takes auto|always|never"));
	unlink(out);
	unlink(err);
	remove_tree(dir);
}
END_TEST

START_TEST(threads_change_nothing_but_speed)
{
	char out[128], err[128], args[512], cmd[1024];

	build();
	paths(out, err);
	put_text(dir, "key", "a fixed key of sixteen bytes or more");
	snprintf(args, sizeof(args), "--format jsonl --secret-key-file '%s/key' --threads 1 '%s' | sort > '%s.1'; true",
		 dir, dir, dir);
	scan_bin(args, out, err);
	snprintf(args, sizeof(args), "--format jsonl --secret-key-file '%s/key' --threads 4 '%s' | sort > '%s.4'; true",
		 dir, dir, dir);
	scan_bin(args, out, err);
	/* 40 npm, 2 deb, log4j, the secret */
	snprintf(cmd, sizeof(cmd), "test $(wc -l < '%s.1') -eq 44 && cmp '%s.1' '%s.4'",
		 dir, dir, dir);
	ck_assert_msg(run_status(cmd) == 0, "outputs differ or are short: %s.1 %s.4", dir, dir);
	snprintf(cmd, sizeof(cmd), "rm -f '%s.1' '%s.4'", dir, dir);
	run_status(cmd);
	unlink(out);
	unlink(err);
	remove_tree(dir);
}
END_TEST

static Suite *report_suite(void)
{
	Suite *s = suite_create("scanner-report");
	TCase *tc = tcase_create("report");

	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, sarif_and_cyclonedx_documents_are_well_formed);
	tcase_add_test(tc, sarif_locations_are_relative_to_the_scanned_root);
	tcase_add_test(tc, exit_status_follows_fail_on);
	tcase_add_test(tc, progress_is_drawn_only_when_asked_or_on_a_terminal);
	tcase_add_test(tc, sarif_locations_in_an_image_are_relative_to_its_root);
	tcase_add_test(tc, the_bar_of_an_image_reaches_100_percent_on_stderr_only);
	tcase_add_test(tc, auto_through_a_pipe_adds_nothing_to_stderr);
	tcase_add_test(tc, auto_on_a_terminal_draws_the_bar_and_erases_it);
	tcase_add_test(tc, threads_change_nothing_but_speed);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return px_check_run(report_suite());
}
