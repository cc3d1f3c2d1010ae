// SPDX-License-Identifier: Apache-2.0
/* SHA-256 helpers against known vectors and sha256sum(1). */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "sha256.h"
#include "px_check.h"

START_TEST(streaming_digest_matches_the_fips_vector)
{
	struct px_sha256 *h = px_sha256_new();
	uint8_t d[PX_SHA256_LEN];
	char hex[PX_SHA256_HEX_LEN + 1];

	px_sha256_update(h, "ab", 2);
	px_sha256_update(h, "c", 1);
	px_sha256_final(h, d);
	px_sha256_hex(d, hex);
	ck_assert_str_eq(hex, "ba7816bf8f01cfea414140de5dae2223"
			      "b00361a396177a9cb410ff61f20015ad");
	px_sha256_update(h, "", 0);	/* reset after final */
	px_sha256_final(h, d);
	px_sha256_hex(d, hex);
	ck_assert_str_eq(hex, "e3b0c44298fc1c149afbf4c8996fb924"
			      "27ae41e4649b934ca495991b7852b855");
	px_sha256_free(h);
}
END_TEST

START_TEST(file_digest_matches_sha256sum)
{
	char path[] = "/tmp/px-sha-XXXXXX", cmd[128], want[65] = "";
	char hex[PX_SHA256_HEX_LEN + 1];
	uint64_t size = 0;
	FILE *p;
	int fd = mkstemp(path);

	for (int i = 0; i < 200000; i++) {
		char c = (char)(i * 7);

		ck_assert_int_eq(write(fd, &c, 1), 1);
	}
	close(fd);
	snprintf(cmd, sizeof(cmd), "sha256sum %s", path);
	p = popen(cmd, "r");
	ck_assert_ptr_nonnull(p);
	ck_assert_int_eq(fscanf(p, "%64s", want), 1);
	pclose(p);
	ck_assert_int_eq(px_sha256_file(AT_FDCWD, path, 0, hex, &size), 0);
	ck_assert_str_eq(hex, want);
	ck_assert_uint_eq(size, 200000);
	ck_assert_int_eq(px_sha256_file(AT_FDCWD, path, 1000, hex, NULL),
			 -EFBIG);
	unlink(path);
}
END_TEST

START_TEST(non_regular_files_and_missing_files_are_errors)
{
	char hex[PX_SHA256_HEX_LEN + 1];

	ck_assert_int_eq(px_sha256_file(AT_FDCWD, "/tmp", 0, hex, NULL),
			 -EINVAL);
	ck_assert_int_eq(px_sha256_file(AT_FDCWD, "/nonexistent", 0, hex,
					NULL), -ENOENT);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("sha256");
	TCase *tc = tcase_create("sha256");

	tcase_add_test(tc, streaming_digest_matches_the_fips_vector);
	tcase_add_test(tc, file_digest_matches_sha256sum);
	tcase_add_test(tc, non_regular_files_and_missing_files_are_errors);
	suite_add_tcase(s, tc);
	return px_check_run(s);
}
