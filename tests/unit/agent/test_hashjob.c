// SPDX-License-Identifier: Apache-2.0
/* Chunked digests of large artifacts: bounded steps, the budget, joins. */
#include <check.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "budget.h"
#include "emit.h"
#include "hashcache.h"
#include "hashjob.h"
#include "sha256.h"
#include "px_check.h"

#define FILE_BYTES (10u * 1024 * 1024 + 3)

static char path[64];

/* A FILE_BYTES file of a non-repeating pattern; its key in <key>. */
static int make_file(struct agent_hash_key *key)
{
	unsigned char buf[4096];
	size_t left = FILE_BYTES;
	uint32_t x = 12345;
	int fd;

	snprintf(path, sizeof(path), "/tmp/px-test-hashjob-XXXXXX");
	fd = mkstemp(path);
	ck_assert_int_ge(fd, 0);
	while (left) {
		size_t n = left < sizeof(buf) ? left : sizeof(buf);

		for (size_t i = 0; i < n; i++) {
			x = x * 1103515245u + 12345u;
			buf[i] = (unsigned char)(x >> 16);
		}
		ck_assert_int_eq(write(fd, buf, n), (ssize_t)n);
		left -= n;
	}
	memset(key, 0, sizeof(*key));
	key->ino = 7;
	key->size = FILE_BYTES;
	return fd;
}

static Parallax__V1__Event *artifact(uint32_t pid)
{
	Parallax__V1__Event *ev =
		agent_ev_new(1, PARALLAX__V1__EVENT__KIND_ARTIFACT);

	ck_assert_ptr_nonnull(ev);
	ev->artifact->proc = agent_ev_ref(pid, pid, "h:b");
	return ev;
}

static size_t count_lines(const char *s, const char *needle)
{
	size_t n = 0;

	for (const char *p = s; (p = strstr(p, needle)); p++)
		n++;
	return n;
}

START_TEST(a_large_file_is_digested_over_several_bounded_steps)
{
	struct agent_hashjobs_result res = { 0 };
	struct agent_hash_key key;
	struct agent_emit_config ec = { 0 };
	struct agent_hashjobs *q = agent_hashjobs_new();
	struct agent_hashcache *hc = agent_hashcache_new(16, 0);
	struct agent_budget io;
	struct agent_emit *e;
	Parallax__V1__Event *ev;
	char want[PX_SHA256_HEX_LEN + 1], got[PX_SHA256_HEX_LEN + 1];
	char needle[80], *out = NULL;
	size_t outlen = 0;
	int fd = make_file(&key), steps = 0;
	FILE *f = open_memstream(&out, &outlen);

	ck_assert_int_eq(px_sha256_fd(fd, 0, want, NULL), 0);
	ec.json_out = f;
	e = agent_emit_new(&ec);
	agent_budget_init(&io, 0, 0, 0);	/* no I/O limit: steps bound */
	ev = artifact(1);
	/* No job yet: joining fails and leaves the event to the caller. */
	ck_assert_int_eq(agent_hashjobs_add(q, &key, -1, ev), -ENOENT);
	agent_ev_free(ev);
	ck_assert_int_eq(agent_hashjobs_add(q, &key, fd, artifact(1)), 0);
	/* A second holder of the same version joins the job. */
	ck_assert_int_eq(agent_hashjobs_add(q, &key, -1, artifact(2)), 0);
	ck_assert_uint_eq(agent_hashjobs_count(q), 1);
	while (agent_hashjobs_count(q)) {
		uint64_t before = res.bytes;

		agent_hashjobs_step(q, hc, &io, e, 0, &res);
		ck_assert_uint_le(res.bytes - before, AGENT_HASH_STEP_BYTES);
		steps++;
		ck_assert_int_le(steps, 10);
		if (agent_hashjobs_count(q)) {
			fflush(f);
			ck_assert_uint_eq(outlen, 0);	/* nothing sent yet */
		}
	}
	ck_assert_int_eq(steps, 3);		/* 10 MiB in 4 MiB steps */
	ck_assert_uint_eq(res.bytes, FILE_BYTES);
	ck_assert_uint_eq(res.completed, 1);
	fclose(f);
	snprintf(needle, sizeof(needle), "\"sha256\":\"%s\"", want);
	ck_assert_uint_eq(count_lines(out, needle), 2);
	ck_assert_int_eq(agent_hashcache_get(hc, &key, NULL, NULL, NULL, got),
			 0);
	ck_assert_str_eq(got, want);
	free(out);
	agent_emit_free(e);
	agent_hashcache_free(hc);
	agent_hashjobs_free(q);
	unlink(path);
}
END_TEST

START_TEST(a_step_reads_only_what_the_budget_grants)
{
	struct agent_hashjobs_result res = { 0 };
	struct agent_hash_key key;
	struct agent_emit_config ec = { 0 };
	struct agent_hashjobs *q = agent_hashjobs_new();
	struct agent_hashcache *hc = agent_hashcache_new(16, 0);
	struct agent_budget io;
	struct agent_emit *e;
	FILE *f = fopen("/dev/null", "w");
	int fd = make_file(&key);

	ec.json_out = f;
	e = agent_emit_new(&ec);
	agent_budget_init(&io, AGENT_HASH_CHUNK_BYTES, AGENT_HASH_CHUNK_BYTES,
			  0);
	ck_assert_int_eq(agent_hashjobs_add(q, &key, fd, artifact(1)), 0);
	agent_hashjobs_step(q, hc, &io, e, 0, &res);
	ck_assert_uint_eq(res.bytes, AGENT_HASH_CHUNK_BYTES);
	agent_hashjobs_step(q, hc, &io, e, 0, &res);	/* nothing earned */
	ck_assert_uint_eq(res.bytes, AGENT_HASH_CHUNK_BYTES);
	agent_hashjobs_step(q, hc, &io, e, 1000000000ull, &res);
	ck_assert_uint_eq(res.bytes, 2 * AGENT_HASH_CHUNK_BYTES);
	ck_assert_uint_eq(agent_hashjobs_count(q), 1);
	fclose(f);
	agent_emit_free(e);
	agent_hashcache_free(hc);
	agent_hashjobs_free(q);
	unlink(path);
}
END_TEST

START_TEST(a_file_cut_short_under_the_job_is_an_error)
{
	struct agent_hashjobs_result res = { 0 };
	struct agent_hash_key key;
	struct agent_emit_config ec = { 0 };
	struct agent_hashjobs *q = agent_hashjobs_new();
	struct agent_hashcache *hc = agent_hashcache_new(16, 0);
	struct agent_budget io;
	struct agent_emit *e;
	char *out = NULL;
	size_t outlen = 0;
	FILE *f = open_memstream(&out, &outlen);
	int fd = make_file(&key);

	ec.json_out = f;
	e = agent_emit_new(&ec);
	agent_budget_init(&io, 0, 0, 0);
	ck_assert_int_eq(agent_hashjobs_add(q, &key, fd, artifact(1)), 0);
	agent_hashjobs_step(q, hc, &io, e, 0, &res);
	ck_assert_int_eq(truncate(path, 5 * 1024 * 1024), 0);
	while (agent_hashjobs_count(q))
		agent_hashjobs_step(q, hc, &io, e, 0, &res);
	ck_assert_uint_eq(res.failed, 1);
	ck_assert_uint_eq(res.completed, 0);
	fclose(f);
	ck_assert_ptr_nonnull(strstr(out, "\"sha256\":\"\""));
	ck_assert_ptr_null(strstr(out, "\"error\":\"\""));
	ck_assert(agent_hashcache_needs_read(hc, &key));
	free(out);
	agent_emit_free(e);
	agent_hashcache_free(hc);
	agent_hashjobs_free(q);
	unlink(path);
}
END_TEST

static Suite *hashjob_suite(void)
{
	Suite *s = suite_create("hashjob");
	TCase *tc = tcase_create("jobs");

	tcase_add_test(tc, a_large_file_is_digested_over_several_bounded_steps);
	tcase_add_test(tc, a_step_reads_only_what_the_budget_grants);
	tcase_add_test(tc, a_file_cut_short_under_the_job_is_an_error);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return px_check_run(hashjob_suite());
}
