// SPDX-License-Identifier: Apache-2.0
/*
 * Secrets and PII (see secrets.h).
 *
 * Every rule is one Hyperscan expression; all are compiled into one block
 * database, so a file is read by a single pass whatever the number of
 * rules.  The expressions start with a literal or a narrow class (AKIA,
 * ghp_, glpat-, xox?-, sk_live_, -----BEGIN, eyJ, '@', digits) which
 * Hyperscan's literal prefilter uses to skip most bytes without running
 * the automata.  Only match ends are reported (start-of-match tracking
 * would cost a factor of three); each rule finds its value's start from
 * the end (enum start_kind).  Expressions end at a word boundary, so a
 * token gives one match end (two at most); matches are kept per (rule,
 * start) at their longest, then checked by the rule's validator.
 *
 * Files are mapped and scanned in windows of SECRETS_WINDOW bytes that
 * overlap by SECRETS_OVERLAP, so a value across a window edge is still
 * seen whole, once.
 *
 * The value is held only in the mapped file and in a stack buffer while
 * its hash and preview are made; it is never passed to a log call or an
 * output.  Previews keep at most 4 leading and 4 trailing characters (less
 * for short values, the last 4 digits of card numbers), the rest masked.
 */
#include "secrets.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include <hs.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

#include "host.h"
#include "log.h"

#define SECRETS_WINDOW (64u << 20)
#define SECRETS_OVERLAP (64u << 10)
#define SECRETS_MAX_MATCHES 100000
#define SECRETS_MAX_VALUE 8192
#define SECRETS_MAX_HITS_PER_FILE 1000

enum validator {
	V_NONE,
	V_LUHN,
	V_SSN,
	V_IBAN,
	V_JWT,
	V_PRIVATE_KEY,
	V_EMAIL,
};

enum preview_kind {
	P_ENDS,                 /* 4 first, 4 last */
	P_SHORT,                /* 2 first, 2 last */
	P_LAST4,                /* card numbers: last 4 digits */
	P_SSN,                  /* ***-**-1234 */
	P_HEADER,               /* private keys: the BEGIN line only */
	P_EMAIL,                /* first letter and domain */
};

/*
 * How a value's start is found from the match end (Hyperscan reports only
 * ends unless asked for start-of-match tracking, which costs a factor of
 * three on this rule set): by the token's characters and its literal
 * prefix, at a fixed length, or by the rule's own structure.
 */
enum start_kind {
	S_PREFIX,               /* back over <chars>, then the first prefix */
	S_FIXED,                /* <len> bytes before the end */
	S_KEY,                  /* back to "-----BEGIN" */
	S_EMAIL,                /* back to '@', then over the local part */
	S_CARD,                 /* the leftmost digit run passing Luhn */
	S_IBAN,                 /* the leftmost country code passing mod 97 */
};

struct rule {
	const char *id;
	enum scan_finding_type type;
	const char *expr;
	enum validator v;
	enum preview_kind p;
	enum start_kind sk;
	const char *chars;      /* S_PREFIX: token characters */
	const char *prefixes;   /* S_PREFIX: '|'-separated literals */
	unsigned int len;       /* S_FIXED */
};

#define WORD "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_"

static const struct rule rules[] = {
	{ "aws-access-key", SCAN_FINDING_SECRET,
	  "\\b(?:AKIA|ASIA|AGPA|AIDA|AROA)[0-9A-Z]{16}\\b", V_NONE, P_ENDS,
	  S_FIXED, NULL, NULL, 20 },
	{ "aws-secret-key", SCAN_FINDING_SECRET,
	  "(?i:aws_?secret_?(?:access_?)?key)[\"']?\\s*[:=]\\s*[\"']?[A-Za-z0-9/+]{40}\\b",
	  V_NONE, P_SHORT, S_FIXED, NULL, NULL, 40 },
	{ "github-token", SCAN_FINDING_SECRET,
	  "\\bgh[pousr]_[A-Za-z0-9]{36,}\\b", V_NONE, P_ENDS,
	  S_PREFIX, WORD, "ghp_|gho_|ghu_|ghs_|ghr_", 0 },
	{ "github-fine-grained-token", SCAN_FINDING_SECRET,
	  "\\bgithub_pat_[A-Za-z0-9_]{82}\\b", V_NONE, P_ENDS,
	  S_FIXED, NULL, NULL, 93 },
	{ "gitlab-token", SCAN_FINDING_SECRET,
	  "\\bglpat-[A-Za-z0-9_-]{20,}\\b", V_NONE, P_ENDS,
	  S_PREFIX, WORD "-", "glpat-", 0 },
	{ "slack-token", SCAN_FINDING_SECRET,
	  "\\bxox[abposr]-[A-Za-z0-9-]{10,}\\b", V_NONE, P_ENDS,
	  S_PREFIX, WORD "-", "xoxa-|xoxb-|xoxp-|xoxo-|xoxs-|xoxr-", 0 },
	{ "slack-webhook", SCAN_FINDING_SECRET,
	  "https://hooks\\.slack\\.com/services/T[A-Z0-9]{6,}/B[A-Z0-9]{6,}/[A-Za-z0-9]{20,}\\b",
	  V_NONE, P_ENDS, S_PREFIX, WORD ":/.", "https://hooks.slack.com/", 0 },
	{ "stripe-key", SCAN_FINDING_SECRET,
	  "\\b(?:sk|rk)_live_[A-Za-z0-9]{20,}\\b", V_NONE, P_ENDS,
	  S_PREFIX, WORD, "sk_live_|rk_live_", 0 },
	{ "google-api-key", SCAN_FINDING_SECRET,
	  "\\bAIza[0-9A-Za-z_-]{35}\\b", V_NONE, P_ENDS,
	  S_FIXED, NULL, NULL, 39 },
	{ "private-key", SCAN_FINDING_SECRET,
	  "-----BEGIN (?:RSA |EC |DSA |OPENSSH |ENCRYPTED |PGP )?PRIVATE KEY(?: BLOCK)?-----",
	  V_PRIVATE_KEY, P_HEADER, S_KEY, NULL, NULL, 0 },
	{ "jwt", SCAN_FINDING_SECRET,
	  "\\beyJ[A-Za-z0-9_-]{8,}\\.eyJ[A-Za-z0-9_-]{8,}\\.[A-Za-z0-9_-]{16,}\\b",
	  V_JWT, P_ENDS, S_PREFIX, WORD "-.", "eyJ", 0 },
	/* '@' first: a literal the prefilter finds, 15x faster than a
	 * pattern starting with the local part's class */
	{ "email", SCAN_FINDING_PII,
	  "[A-Za-z0-9_%+-]@[A-Za-z0-9][A-Za-z0-9-]*(?:\\.[A-Za-z0-9-]+)*\\.[A-Za-z]{2,24}\\b",
	  V_EMAIL, P_EMAIL, S_EMAIL, NULL, NULL, 0 },
	{ "card", SCAN_FINDING_PII,
	  "\\b(?:4[0-9]{3}|5[1-5][0-9]{2}|2[2-7][0-9]{2}|3[47][0-9]{2}|6011|65[0-9]{2})(?:[ -]?[0-9]{3,4}){2,4}\\b",
	  V_LUHN, P_LAST4, S_CARD, NULL, NULL, 0 },
	{ "ssn", SCAN_FINDING_PII, "\\b[0-9]{3}-[0-9]{2}-[0-9]{4}\\b", V_SSN,
	  P_SSN, S_FIXED, NULL, NULL, 11 },
	{ "iban", SCAN_FINDING_PII,
	  "\\b[A-Z]{2}[0-9]{2}(?: ?[A-Z0-9]{4}){2,7}(?: ?[A-Z0-9]{1,3})?\\b",
	  V_IBAN, P_ENDS, S_IBAN, NULL, NULL, 0 },
};

#define N_RULES (sizeof(rules) / sizeof(rules[0]))

struct scan_secrets {
	bool clone;             /* shares db and key with its origin */
	hs_database_t *db;
	hs_scratch_t *scratch;
	uint8_t key[SECRETS_KEY_LEN * 2];
	size_t key_len;
};

struct scan_secrets *scan_secrets_new(const uint8_t *key, size_t len,
				      char *err, size_t errlen)
{
	const char *exprs[N_RULES];
	unsigned int flags[N_RULES], ids[N_RULES];
	struct scan_secrets *s = calloc(1, sizeof(*s));
	hs_compile_error_t *cerr = NULL;
	size_t i;

	if (!s) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	for (i = 0; i < N_RULES; i++) {
		exprs[i] = rules[i].expr;
		flags[i] = 0;
		ids[i] = (unsigned int)i;
	}
	if (hs_compile_multi(exprs, flags, ids, N_RULES, HS_MODE_BLOCK, NULL,
			     &s->db, &cerr) != HS_SUCCESS) {
		snprintf(err, errlen, "secret rules do not compile (rule %d): %s",
			 cerr ? cerr->expression : -1,
			 cerr ? cerr->message : "unknown");
		hs_free_compile_error(cerr);
		free(s);
		return NULL;
	}
	if (hs_alloc_scratch(s->db, &s->scratch) != HS_SUCCESS) {
		snprintf(err, errlen, "hyperscan scratch: out of memory");
		hs_free_database(s->db);
		free(s);
		return NULL;
	}
	if (key && len) {
		s->key_len = len < sizeof(s->key) ? len : sizeof(s->key);
		memcpy(s->key, key, s->key_len);
	} else {
		s->key_len = SECRETS_KEY_LEN;
		if (RAND_bytes(s->key, SECRETS_KEY_LEN) != 1) {
			snprintf(err, errlen, "no randomness for the secrets key");
			scan_secrets_free(s);
			return NULL;
		}
	}
	return s;
}

struct scan_secrets *scan_secrets_clone(const struct scan_secrets *s)
{
	struct scan_secrets *c = malloc(sizeof(*c));

	if (!c)
		return NULL;
	*c = *s;
	c->clone = true;
	c->scratch = NULL;
	if (hs_clone_scratch(s->scratch, &c->scratch) != HS_SUCCESS) {
		free(c);
		return NULL;
	}
	return c;
}

void scan_secrets_free(struct scan_secrets *s)
{
	if (!s)
		return;
	hs_free_scratch(s->scratch);
	if (!s->clone)
		hs_free_database(s->db);
	OPENSSL_cleanse(s->key, sizeof(s->key));
	free(s);
}

/* ---- matches ---------------------------------------------------------- */

struct match {
	uint64_t from, to;
	unsigned int id;
};

struct match_set {
	struct match *v;
	size_t n, cap;
	uint64_t base;          /* window offset in the file */
	uint64_t lo, hi;        /* accepted ends, file offsets */
	bool full;
};

static int on_match(unsigned int id, unsigned long long from,
		    unsigned long long to, unsigned int flags, void *ctx)
{
	struct match_set *ms = ctx;
	uint64_t t = ms->base + to;

	(void)from;             /* not tracked: see enum start_kind */
	(void)flags;
	if (t < ms->lo || t >= ms->hi)
		return 0;
	if (ms->n == ms->cap) {
		struct match *nv;

		if (ms->cap >= SECRETS_MAX_MATCHES) {
			ms->full = true;
			return 1;       /* stop: the rest is not read */
		}
		nv = realloc(ms->v, (ms->cap ? ms->cap * 2 : 256) * sizeof(*nv));
		if (!nv) {
			ms->full = true;
			return 1;
		}
		ms->v = nv;
		ms->cap = ms->cap ? ms->cap * 2 : 256;
	}
	ms->v[ms->n++] = (struct match){ 0, t, id };
	return 0;
}

static int match_cmp(const void *a, const void *b)
{
	const struct match *x = a, *y = b;

	if (x->from != y->from)
		return x->from < y->from ? -1 : 1;
	if (x->id != y->id)
		return x->id < y->id ? -1 : 1;
	return x->to < y->to ? 1 : x->to > y->to ? -1 : 0;  /* longest first */
}

/* ---- validators ------------------------------------------------------- */

static bool luhn(const char *v, size_t n)
{
	int sum = 0, digits = 0, d;
	size_t i;
	bool dbl = false;

	for (i = n; i-- > 0;) {
		if (v[i] == ' ' || v[i] == '-')
			continue;
		d = v[i] - '0';
		if (dbl && (d *= 2) > 9)
			d -= 9;
		sum += d;
		dbl = !dbl;
		digits++;
	}
	return digits >= 13 && digits <= 19 && sum % 10 == 0;
}

/* Outside the ranges never issued: area 000, 666 and 900-999, group 00,
 * serial 0000. */
static bool ssn_valid(const char *v)
{
	int area = atoi(v), group = atoi(v + 4), serial = atoi(v + 7);

	return area != 0 && area != 666 && area < 900 && group != 0 &&
	       serial != 0;
}

static bool iban_valid(const char *v, size_t n)
{
	char c[40];
	size_t len = 0, i;
	unsigned int rem = 0;

	for (i = 0; i < n && len < sizeof(c); i++)
		if (v[i] != ' ')
			c[len++] = v[i];
	if (len < 15 || len > 34)
		return false;
	for (i = 0; i < len; i++) {
		char ch = c[(i + 4) % len];

		if (isdigit((unsigned char)ch))
			rem = (rem * 10 + (unsigned int)(ch - '0')) % 97;
		else if (isupper((unsigned char)ch))
			rem = (rem * 100 + (unsigned int)(ch - 'A' + 10)) % 97;
		else
			return false;
	}
	return rem == 1;
}

/* Decodes base64url <s> (n chars) into <out>; returns the length. */
static size_t b64url(const char *s, size_t n, char *out, size_t cap)
{
	unsigned int acc = 0, bits = 0, v;
	size_t o = 0, i;

	for (i = 0; i < n && o + 1 < cap; i++) {
		char ch = s[i];

		if (isupper((unsigned char)ch))
			v = (unsigned int)(ch - 'A');
		else if (islower((unsigned char)ch))
			v = (unsigned int)(ch - 'a' + 26);
		else if (isdigit((unsigned char)ch))
			v = (unsigned int)(ch - '0' + 52);
		else if (ch == '-' || ch == '+')
			v = 62;
		else if (ch == '_' || ch == '/')
			v = 63;
		else
			break;
		acc = (acc << 6) | v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			out[o++] = (char)((acc >> bits) & 0xff);
		}
	}
	out[o] = '\0';
	return o;
}

static bool jwt_valid(const char *v, size_t n)
{
	char head[256];
	const char *dot = memchr(v, '.', n);

	if (!dot)
		return false;
	b64url(v, (size_t)(dot - v), head, sizeof(head));
	return strstr(head, "\"alg\"") != NULL;
}

/* Extends a private key match to its END line; false without one. */
static bool key_block(const uint8_t *data, uint64_t size, struct match *m)
{
	uint64_t max = size - m->to < SECRETS_OVERLAP ? size - m->to :
		       SECRETS_OVERLAP;
	const uint8_t *end = memmem(data + m->to, max, "-----END ", 9);
	const uint8_t *close;

	if (!end)
		return false;
	close = memmem(end + 9, (size_t)(data + size - (end + 9)) < 64 ?
		       (size_t)(data + size - (end + 9)) : 64, "-----", 5);
	if (!close)
		return false;
	m->to = (uint64_t)(close + 5 - data);
	return m->to - m->from <= SECRETS_MAX_VALUE;
}

static bool email_valid(const char *v, size_t n)
{
	const char *at = memchr(v, '@', n), *dot = v + n;
	bool lower = false, upper = false;

	/* a top-level domain in one case: "mE" is binary noise */
	while (dot > v && dot[-1] != '.')
		dot--;
	for (; dot < v + n; dot++) {
		lower |= islower((unsigned char)*dot) != 0;
		upper |= isupper((unsigned char)*dot) != 0;
	}
	if (lower && upper)
		return false;

	/* file names like "icon@2x.png" are not addresses */
	return at && at > v && (size_t)(at - v) <= 64 &&
	       !(n > 4 && (!memcmp(v + n - 4, ".png", 4) ||
			   !memcmp(v + n - 4, ".jpg", 4) ||
			   !memcmp(v + n - 4, ".gif", 4)));
}

static bool validate(const struct rule *r, const char *v, size_t n)
{
	switch (r->v) {
	case V_LUHN:
		return luhn(v, n);
	case V_SSN:
		return ssn_valid(v);
	case V_IBAN:
		return iban_valid(v, n);
	case V_JWT:
		return jwt_valid(v, n);
	case V_EMAIL:
		return email_valid(v, n);
	default:
		return true;
	}
}

/* ---- redaction -------------------------------------------------------- */

static void masked(char *out, size_t cap, const char *v, size_t n,
		   size_t keep_head, size_t keep_tail)
{
	size_t o = 0, i, stars = n - keep_head - keep_tail;

	if (stars > 16)
		stars = 16;
	for (i = 0; i < keep_head && o + 1 < cap; i++)
		out[o++] = v[i];
	for (i = 0; i < stars && o + 1 < cap; i++)
		out[o++] = '*';
	for (i = n - keep_tail; i < n && o + 1 < cap; i++)
		out[o++] = v[i];
	out[o] = '\0';
}

static void preview(const struct rule *r, const char *v, size_t n,
		    char *out, size_t cap)
{
	const char *p;
	size_t k;

	switch (r->p) {
	case P_LAST4:
		masked(out, cap, v, n, 0, 4);
		return;
	case P_SSN:
		snprintf(out, cap, "***-**-%.4s", v + n - 4);
		return;
	case P_HEADER:
		p = memchr(v + 1, '\n', n - 1);
		k = p ? (size_t)(p - v) : 0;
		p = memmem(v + 5, n - 5, "-----", 5);
		if (p)
			k = (size_t)(p + 5 - v);
		snprintf(out, cap, "%.*s***", (int)k, v);
		return;
	case P_EMAIL:
		p = memchr(v, '@', n);
		snprintf(out, cap, "%c***%.*s", v[0], (int)(n - (size_t)(p - v)),
			 p);
		return;
	case P_SHORT:
		masked(out, cap, v, n, n >= 8 ? 2 : 0, n >= 8 ? 2 : 0);
		return;
	case P_ENDS:
		if (n >= 16)
			masked(out, cap, v, n, 4, 4);
		else if (n >= 8)
			masked(out, cap, v, n, 2, 2);
		else
			masked(out, cap, v, n, 0, 0);
		return;
	}
}

static void keyed_hash(const struct scan_secrets *s, const char *v, size_t n,
		       char hex[65])
{
	unsigned char mac[EVP_MAX_MD_SIZE];
	unsigned int len = 0, i;

	HMAC(EVP_sha256(), s->key, (int)s->key_len, (const unsigned char *)v,
	     n, mac, &len);
	for (i = 0; i < len && i < 32; i++)
		snprintf(hex + 2 * i, 3, "%02x", mac[i]);
	hex[64] = '\0';
	OPENSSL_cleanse(mac, sizeof(mac));
}

/* ---- scanning --------------------------------------------------------- */

/*
 * Window k scans [kW - OVERLAP, (k+1)W) and keeps the matches ending in
 * [kW, (k+1)W): a value of at most OVERLAP bytes is seen whole, once.
 */
static int scan_windows(struct scan_secrets *s, const uint8_t *data,
			uint64_t size, uint64_t deadline, struct match_set *ms)
{
	uint64_t k, start, end;

	for (k = 0; k * SECRETS_WINDOW < size; k++) {
		start = k ? k * SECRETS_WINDOW - SECRETS_OVERLAP : 0;
		end = (k + 1) * SECRETS_WINDOW < size ?
		      (k + 1) * SECRETS_WINDOW : size;
		ms->base = start;
		ms->lo = k * SECRETS_WINDOW;
		ms->hi = end == size ? size + 1 : end;
		if (hs_scan(s->db, (const char *)data + start,
			    (unsigned int)(end - start), 0, s->scratch, on_match,
			    ms) != HS_SUCCESS && !ms->full)
			return -EIO;
		if (ms->full)
			break;
		if (deadline && px_now_ns() > deadline)
			return -ETIMEDOUT;
	}
	return 0;
}

/* ---- where a value starts --------------------------------------------- */

static bool in_set(const char *set, uint8_t c)
{
	return c && strchr(set, c) != NULL;
}

/* The first of <prefixes> ('|'-separated) in [from, to); UINT64_MAX. */
static uint64_t find_prefix(const uint8_t *d, uint64_t from, uint64_t to,
			    const char *prefixes)
{
	uint64_t best = UINT64_MAX;
	const char *p = prefixes;

	while (*p) {
		size_t n = strcspn(p, "|");
		const uint8_t *hit = memmem(d + from, (size_t)(to - from), p, n);

		if (hit && (uint64_t)(hit - d) < best)
			best = (uint64_t)(hit - d);
		p += n + (p[n] == '|');
	}
	return best;
}

static uint64_t back_over(const uint8_t *d, uint64_t to, const char *set,
			  uint64_t max)
{
	uint64_t from = to;

	while (from > 0 && to - from < max && in_set(set, d[from - 1]))
		from--;
	return from;
}

static bool card_prefix_ok(const uint8_t *v)
{
	return v[0] == '4' || (v[0] == '5' && v[1] >= '1' && v[1] <= '5') ||
	       (v[0] == '2' && v[1] >= '2' && v[1] <= '7') ||
	       (v[0] == '3' && (v[1] == '4' || v[1] == '7')) ||
	       (v[0] == '6' && (v[1] == '5' || !memcmp(v, "6011", 4)));
}

static bool luhn(const char *v, size_t n);
static bool iban_valid(const char *v, size_t n);

/* Finds where the value ending at <to> starts; false when it does not
 * look like the rule's token after all. */
static bool value_start(const struct rule *r, const uint8_t *d, uint64_t to,
			uint64_t *from)
{
	uint64_t span, p;

	switch (r->sk) {
	case S_FIXED:
		if (to < r->len)
			return false;
		*from = to - r->len;
		return true;
	case S_PREFIX:
		span = back_over(d, to, r->chars, SECRETS_MAX_VALUE);
		*from = find_prefix(d, span, to, r->prefixes);
		return *from != UINT64_MAX;
	case S_KEY:
		span = to > 128 ? to - 128 : 0;
		*from = find_prefix(d, span, to, "-----BEGIN ");
		return *from != UINT64_MAX;
	case S_EMAIL:
		for (p = to; p > 0 && to - p < 256 && d[p - 1] != '@'; p--)
			;
		if (p == 0 || d[p - 1] != '@')
			return false;
		*from = back_over(d, p - 1, WORD ".%+-", 64);
		while (*from < p - 1 && !isalnum(d[*from]))
			(*from)++;
		return *from < p - 1;
	case S_CARD:
		span = back_over(d, to, "0123456789 -", 40);
		for (p = span; p + 13 <= to; p++) {
			if (!isdigit(d[p]) || (p > span && isdigit(d[p - 1])) ||
			    !card_prefix_ok(d + p) ||
			    !luhn((const char *)d + p, (size_t)(to - p)))
				continue;
			*from = p;
			return true;
		}
		return false;
	case S_IBAN:
		span = back_over(d, to, "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 ", 50);
		for (p = span; p + 15 <= to; p++) {
			if ((p > span && d[p - 1] != ' ') || !isupper(d[p]) ||
			    !isupper(d[p + 1]) || !isdigit(d[p + 2]) ||
			    !isdigit(d[p + 3]) ||
			    !iban_valid((const char *)d + p, (size_t)(to - p)))
				continue;
			*from = p;
			return true;
		}
		return false;
	}
	return false;
}

int scan_secrets_buf(struct scan_secrets *s, const uint8_t *data,
		     size_t len, unsigned int checks, secret_hit_cb cb,
		     void *arg)
{
	return scan_secrets_buf_until(s, data, len, checks, 0, cb, arg);
}

int scan_secrets_buf_until(struct scan_secrets *s, const uint8_t *data,
			   size_t len, unsigned int checks, uint64_t deadline,
			   secret_hit_cb cb, void *arg)
{
	struct match_set ms = { 0 };
	uint64_t line = 1, line_pos = 0, last_from = UINT64_MAX;
	unsigned int last_id = UINT32_MAX;
	char value[SECRETS_MAX_VALUE + 1], pv[128], hex[65];
	int hits = 0, err;
	size_t i;

	if (!len)
		return 0;
	err = scan_windows(s, data, len, deadline, &ms);
	if (err) {
		free(ms.v);
		return err;
	}
	for (i = 0; i < ms.n; i++)
		if (!value_start(&rules[ms.v[i].id], data, ms.v[i].to, &ms.v[i].from))
			ms.v[i] = (struct match){ UINT64_MAX, 0, UINT32_MAX };
	if (ms.n)
		qsort(ms.v, ms.n, sizeof(*ms.v), match_cmp);
	for (i = 0; i < ms.n && hits < SECRETS_MAX_HITS_PER_FILE; i++) {
		struct match m = ms.v[i];
		const struct rule *r;
		size_t n;

		if (m.id == UINT32_MAX)
			break;          /* dropped ones sort last */
		r = &rules[m.id];
		if (m.from == last_from && m.id == last_id)
			continue;       /* a shorter end of the same token */
		last_from = m.from;
		last_id = m.id;
		if (!(checks & (r->type == SCAN_FINDING_SECRET ?
				SCAN_CHECK_SECRETS : SCAN_CHECK_PII)))
			continue;
		if (r->v == V_PRIVATE_KEY && !key_block(data, len, &m))
			continue;
		n = (size_t)(m.to - m.from);
		if (n > SECRETS_MAX_VALUE)
			continue;
		memcpy(value, data + m.from, n);
		value[n] = '\0';
		if (!validate(r, value, n))
			continue;
		while (line_pos < m.from) {
			const uint8_t *nl = memchr(data + line_pos, '\n',
						   (size_t)(m.from - line_pos));

			if (!nl) {
				line_pos = m.from;
				break;
			}
			line++;
			line_pos = (uint64_t)(nl - data) + 1;
		}
		preview(r, value, n, pv, sizeof(pv));
		keyed_hash(s, value, n, hex);
		cb(arg, &(struct secret_hit){ r->type, r->id, pv, hex,
					      line > UINT32_MAX ? 0 :
					      (uint32_t)line });
		hits++;
	}
	OPENSSL_cleanse(value, sizeof(value));
	free(ms.v);
	return ms.full ? -E2BIG : hits;
}

struct secrets_emit {
	struct scan_level lvl;
};

static void emit_hit(void *arg, const struct secret_hit *h)
{
	struct secrets_emit *se = arg;
	struct scan_finding f = { 0 };

	f.type = h->type;
	f.ecosystem = "";
	f.name = h->rule;
	f.version = "";
	f.purl = "";
	f.evidence = h->type == SCAN_FINDING_SECRET ? "secret pattern" :
		     "pii pattern";
	f.rule = h->rule;
	f.preview = h->preview;
	f.keyed_hash = h->keyed_hash;
	f.line = h->line;
	f.severity = h->type == SCAN_FINDING_SECRET ? SCAN_SEV_HIGH :
		     SCAN_SEV_MEDIUM;
	scan_emit(&se->lvl, &f);
}

void secrets_scan_level(struct scan_level *lvl, const uint8_t *data,
			size_t len)
{
	struct secrets_emit se = { *lvl };
	struct scan_ctx *ctx = lvl->ctx;
	int n;

	n = scan_secrets_buf_until(ctx->secrets, data, len, ctx->checks,
				   scan_file_deadline(ctx, lvl->file),
				   emit_hit, &se);
	if (n == -E2BIG || n == -ETIMEDOUT) {
		ctx->stats.limit_hits++;
		scan_event(ctx, "limit", n == -E2BIG ? "secret matches per file" :
			   "max_file_ms", lvl->file->path, lvl->inner,
			   lvl->file->layer_digest);
	}
}

void secrets_scan_file(struct scan_ctx *ctx, struct scan_file *file)
{
	struct secrets_emit se = { { ctx, file, "", NULL, NULL } };
	void *map;
	int n;

	if (!file->size)
		return;
	map = mmap(NULL, file->size, PROT_READ, MAP_PRIVATE, file->fd, 0);
	if (map == MAP_FAILED) {
		ctx->stats.errors++;
		px_warn("scan", "file unreadable for secrets", "path=%s err=%s",
			px_q(file->path), px_q(strerror(errno)));
		return;
	}
	madvise(map, file->size, MADV_SEQUENTIAL);
	n = scan_secrets_buf_until(ctx->secrets, map, file->size, ctx->checks,
				   scan_file_deadline(ctx, file), emit_hit, &se);
	munmap(map, file->size);
	if (n == -E2BIG || n == -ETIMEDOUT) {
		ctx->stats.limit_hits++;
		scan_event(ctx, "limit", n == -E2BIG ? "secret matches per file" :
			   "max_file_ms", file->path, "", file->layer_digest);
	} else if (n < 0) {
		ctx->stats.errors++;
		px_warn("scan", "secret scan failed", "path=%s err=%s",
			px_q(file->path), px_q(strerror(-n)));
	}
}
