// SPDX-License-Identifier: Apache-2.0
/*
 * Secrets and PII: every rule finds its planted value, validators drop
 * look-alikes (Luhn, SSN ranges, IBAN mod 97, JWT header), hashes are an
 * HMAC-SHA256 under the configured key, and no planted value ever appears
 * in any output format or in the logs, debug level included.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "helpers.h"
#include "scan.h"
#include "secrets.h"
#include "px_check.h"

/* The planted values: fake but shaped like the real thing. */
static const char *const planted[] = {
	"AKIAQ3EGRT5YBN7XKD2P",
	"wJalrXUtnFEMI/K7MDENG/bPxRfiCYQ9x8Lp2Ab1",
	"ghp_Zx8Kq2mN4vB6cD1eF3gH5iJ7kL9mN0pQ2rS4",
	"glpat-Qm3Xv9Tz2Lw8Rk5Jd7Hs",
	"xoxb-2048719361-8472910365-Gh7Kd9Lm2Nq4Rs6Tv8Wx0Yz",
	"sk_live_4eC39HqLyjWDarjtT1zdp7dc9Fx2",
	"eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.Sfl7KxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c",
	"jane.q.doe@example.org",
	"4111 1111 1111 1111",
	"4111111111111111",
	"5500-0000-0000-0004",
	"123-45-6789",
	"DE89370400440532013000",
	"GB82 WEST 1234 5698 7654 32",
	"MIIEowIBAAKCAQEAx7Yq3bZ9kP2wT5nR8mL4vJ6hF1dS3aG0cX9eW2qY7uI5oK8pN",
	NULL,
};

static const char *const text =
	"# config\n"
	"aws_access_key_id = AKIAQ3EGRT5YBN7XKD2P\n"
	"aws_secret_access_key = \"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\"\n"
	"github ghp_Zx8Kq2mN4vB6cD1eF3gH5iJ7kL9mN0pQ2rS4 gitlab glpat-Qm3Xv9Tz2Lw8Rk5Jd7Hs\n"
	"slack=xoxb-2048719361-8472910365-Gh7Kd9Lm2Nq4Rs6Tv8Wx0Yz\n"
	"stripe: sk_live_4eC39HqLyjWDarjtT1zdp7dc9Fx2\n"
	"auth: Bearer eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.Sfl7KxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c\n"
	"owner jane.q.doe@example.org\n"
	"cards 4111 1111 1111 1111, 4111111111111111, 5500-0000-0000-0004\n"
	"not cards 4111 1111 1111 1112 and 1234567890123456\n"
	"ssn 123-45-6789; invalid 000-12-3456 666-12-3456 912-34-5678 123-00-4567\n"
	"iban DE89370400440532013000 and GB82 WEST 1234 5698 7654 32\n"
	"bad iban DE89370400440532013001\n"
	"-----BEGIN RSA PRIVATE KEY-----\n"
	"MIIEowIBAAKCAQEAx7Yq3bZ9kP2wT5nR8mL4vJ6hF1dS3aG0cX9eW2qY7uI5oK8pN\n"
	"-----END RSA PRIVATE KEY-----\n"
	"icon@2x.png is a file name\n"
	"eyJ0eXAiOiJub25lIn0.eyJzdWIiOiIxMjM0NTY3ODkwIn0.Sfl7KxwRJSMeKKF2QT4fwpMeJf36\n";

struct tally {
	char rules[4096];
	int n;
	char hashes[32][65];
};

static void tally_hit(void *arg, const struct secret_hit *h)
{
	struct tally *t = arg;

	strcat(t->rules, h->rule);
	strcat(t->rules, ",");
	if (t->n < 32)
		snprintf(t->hashes[t->n], 65, "%s", h->keyed_hash);
	t->n++;
	/* previews never hold a whole planted value */
	for (size_t i = 0; planted[i]; i++)
		ck_assert_ptr_null(strstr(h->preview, planted[i]));
}

static size_t count(const char *hay, const char *needle)
{
	size_t n = 0;

	for (const char *p = hay; (p = strstr(p, needle)); p++)
		n++;
	return n;
}

START_TEST(each_rule_finds_its_value_and_validators_drop_look_alikes)
{
	struct scan_secrets *s;
	struct tally t = { 0 };
	char err[256];

	s = scan_secrets_new(NULL, 0, err, sizeof(err));
	ck_assert_msg(s != NULL, "%s", err);
	ck_assert_int_eq(scan_secrets_buf(s, (const uint8_t *)text, strlen(text),
					  SCAN_CHECK_SECRETS | SCAN_CHECK_PII,
					  tally_hit, &t), t.n);
	ck_assert_msg(t.n == 15, "%s", t.rules);
	ck_assert_uint_eq(count(t.rules, "aws-access-key,"), 1);
	ck_assert_uint_eq(count(t.rules, "aws-secret-key,"), 1);
	ck_assert_uint_eq(count(t.rules, "github-token,"), 1);
	ck_assert_uint_eq(count(t.rules, "gitlab-token,"), 1);
	ck_assert_uint_eq(count(t.rules, "slack-token,"), 1);
	ck_assert_uint_eq(count(t.rules, "stripe-key,"), 1);
	ck_assert_uint_eq(count(t.rules, "jwt,"), 1);
	ck_assert_uint_eq(count(t.rules, "email,"), 1);
	ck_assert_uint_eq(count(t.rules, "card,"), 3);
	ck_assert_uint_eq(count(t.rules, "ssn,"), 1);
	ck_assert_uint_eq(count(t.rules, "iban,"), 2);
	ck_assert_uint_eq(count(t.rules, "private-key,"), 1);
	memset(&t, 0, sizeof(t));
	ck_assert_int_eq(scan_secrets_buf(s, (const uint8_t *)text, strlen(text),
					  SCAN_CHECK_PII, tally_hit, &t), 7);
	ck_assert_uint_eq(count(t.rules, "github-token,"), 0);
	scan_secrets_free(s);
}
END_TEST

START_TEST(hashes_are_hmac_sha256_under_the_configured_key)
{
	static const uint8_t key[] = "0123456789abcdef-test-key";
	const char *v = "AKIAQ3EGRT5YBN7XKD2P", *line = "id=AKIAQ3EGRT5YBN7XKD2P\n";
	unsigned char mac[32];
	unsigned int len = 0;
	char want[65], err[256];
	struct scan_secrets *s, *r1, *r2;
	struct tally t = { 0 }, u = { 0 }, w = { 0 };

	HMAC(EVP_sha256(), key, (int)sizeof(key) - 1, (const unsigned char *)v,
	     strlen(v), mac, &len);
	for (unsigned int i = 0; i < 32; i++)
		snprintf(want + 2 * i, 3, "%02x", mac[i]);
	s = scan_secrets_new(key, sizeof(key) - 1, err, sizeof(err));
	ck_assert_ptr_nonnull(s);
	ck_assert_int_eq(scan_secrets_buf(s, (const uint8_t *)line, strlen(line),
					  SCAN_CHECK_SECRETS, tally_hit, &t), 1);
	ck_assert_str_eq(t.hashes[0], want);
	/* without a key, each run draws its own */
	r1 = scan_secrets_new(NULL, 0, err, sizeof(err));
	r2 = scan_secrets_new(NULL, 0, err, sizeof(err));
	scan_secrets_buf(r1, (const uint8_t *)line, strlen(line),
			 SCAN_CHECK_SECRETS, tally_hit, &u);
	scan_secrets_buf(r2, (const uint8_t *)line, strlen(line),
			 SCAN_CHECK_SECRETS, tally_hit, &w);
	ck_assert_str_ne(u.hashes[0], w.hashes[0]);
	ck_assert_str_ne(u.hashes[0], want);
	scan_secrets_free(s);
	scan_secrets_free(r1);
	scan_secrets_free(r2);
}
END_TEST

START_TEST(planted_values_never_appear_in_any_output_or_log)
{
	static const char *const formats[] = { "jsonl", "sarif", "cyclonedx" };
	char dir[64], out[128], err[128], args[1024], keyf[128];
	size_t i, f;

	temp_dir(dir);
	put_text(dir, "etc/app/config.txt", text);
	put_text(dir, "srv/deep/notes.md", text);
	snprintf(keyf, sizeof(keyf), "%s.key", dir);
	spit(keyf, "0123456789abcdef-test-key", 25);
	snprintf(out, sizeof(out), "%s.out", dir);
	snprintf(err, sizeof(err), "%s.err", dir);
	for (f = 0; f < 3; f++) {
		snprintf(args, sizeof(args),
			 "--format %s --log-level debug --secret-key-file '%s' '%s'",
			 formats[f], keyf, dir);
		ck_assert_int_eq(scan_bin(args, out, err), 0);
		ck_assert(file_has(err, "scan finished"));
		for (i = 0; planted[i]; i++) {
			ck_assert_msg(!file_has(out, planted[i]),
				      "%s output holds %s", formats[f], planted[i]);
			ck_assert_msg(!file_has(err, planted[i]),
				      "log holds %s", planted[i]);
		}
		if (f < 2)
			ck_assert(file_has(out, "AKIA************KD2P"));
	}
	ck_assert(file_has(out, "\"bomFormat\":\"CycloneDX\""));
	/* collector mode too: the findings never reach a log line */
	snprintf(args, sizeof(args),
		 "--log-level debug --collector 127.0.0.1:9 --flush-timeout 1 '%s'",
		 dir);
	scan_bin(args, out, err);
	for (i = 0; planted[i]; i++)
		ck_assert_msg(!file_has(err, planted[i]), "log holds %s",
			      planted[i]);
	unlink(out);
	unlink(err);
	unlink(keyf);
	remove_tree(dir);
}
END_TEST

START_TEST(configuration_entries_inside_archives_are_searched_too)
{
	const char *props = "spring.datasource.url=jdbc:x\n"
			    "stripe.key=sk_live_4eC39HqLyjWDarjtT1zdp7dc9Fx2\n";
	const char *names[2] = { "BOOT-INF/classes/application.properties",
				 "BOOT-INF/classes/App.class" };
	const uint8_t *data[2] = { (const uint8_t *)props,
				   (const uint8_t *)"sk_live_4eC39HqLyjWDarjtT1zdp7dc9Fx2" };
	size_t lens[2] = { strlen(props), 36 }, zlen, wlen;
	uint8_t *jar, *war;
	struct scan_ctx ctx;
	struct lines l;
	char dir[64], err[256];

	jar = zip_build(2, names, data, lens, &zlen);
	war = zip_one("WEB-INF/lib/app.jar", jar, zlen, &wlen);
	temp_dir(dir);
	put_file(dir, "srv/app.war", war, wlen);
	lines_ctx(&ctx, &l);
	ctx.checks = SCAN_CHECK_PACKAGES | SCAN_CHECK_SECRETS;
	ctx.secrets = scan_secrets_new(NULL, 0, err, sizeof(err));
	ck_assert_ptr_nonnull(ctx.secrets);
	ck_assert_int_eq(scan_walk_root(&ctx, dir), 0);
	/* the class file is not a configuration entry; the war on disk is
	 * compressed, so the whole-file pass does not see the key either */
	ck_assert_uint_eq(lines_count(&l, "|stripe-key|"), 1);
	ck_assert_uint_eq(lines_count(&l, "|WEB-INF/lib/app.jar!/BOOT-INF/classes/application.properties|stripe-key|sk_l"), 1);
	ck_assert_ptr_null(strstr(l.buf, "sk_live_4eC39HqLyjWDarjtT1zdp7dc9Fx2"));
	scan_secrets_free(ctx.secrets);
	free(jar);
	free(war);
	lines_free(&l);
	remove_tree(dir);
}
END_TEST

static Suite *secrets_suite(void)
{
	Suite *s = suite_create("scanner-secrets");
	TCase *tc = tcase_create("secrets");

	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, each_rule_finds_its_value_and_validators_drop_look_alikes);
	tcase_add_test(tc, hashes_are_hmac_sha256_under_the_configured_key);
	tcase_add_test(tc, planted_values_never_appear_in_any_output_or_log);
	tcase_add_test(tc, configuration_entries_inside_archives_are_searched_too);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return px_check_run(secrets_suite());
}
