// SPDX-License-Identifier: Apache-2.0
/*
 * Version comparison per ecosystem (see vercmp.h).  Each comparator walks
 * both strings once, without allocating; numbers of any length compare by
 * their digits (leading zeros dropped), so no version overflows.
 */
#include "vercmp.h"

#include <ctype.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static int sign(int v)
{
	return (v > 0) - (v < 0);
}

/* Compares the digit runs [a, a+an) and [b, b+bn) as numbers. */
static int numcmp(const char *a, size_t an, const char *b, size_t bn)
{
	while (an && *a == '0')
		a++, an--;
	while (bn && *b == '0')
		b++, bn--;
	if (an != bn)
		return an < bn ? -1 : 1;
	return an ? sign(memcmp(a, b, an)) : 0;
}

static size_t span_digits(const char *s)
{
	size_t n = 0;

	while (isdigit((unsigned char)s[n]))
		n++;
	return n;
}

/* ---- Debian ----------------------------------------------------------- */

/* The weight of a character in the non-digit part of a dpkg version:
 * '~' before the end, the end before letters, letters before the rest. */
static int deb_order(int c)
{
	if (c == '~')
		return -1;
	if (c == 0 || isdigit(c))
		return 0;
	if (isalpha(c))
		return c;
	return c + 256;
}

/* Compares upstream or revision parts [a, ae) and [b, be). */
static int deb_part(const char *a, const char *ae, const char *b,
		    const char *be)
{
	while (a < ae || b < be) {
		size_t an, bn;
		int d;

		while ((a < ae && !isdigit((unsigned char)*a)) ||
		       (b < be && !isdigit((unsigned char)*b))) {
			int ca = a < ae ? (unsigned char)*a : 0;
			int cb = b < be ? (unsigned char)*b : 0;

			d = deb_order(ca) - deb_order(cb);
			if (d)
				return sign(d);
			a++;
			b++;
		}
		for (an = 0; a + an < ae && isdigit((unsigned char)a[an]); an++)
			;
		for (bn = 0; b + bn < be && isdigit((unsigned char)b[bn]); bn++)
			;
		d = numcmp(a, an, b, bn);
		if (d)
			return d;
		a += an;
		b += bn;
	}
	return 0;
}

/* Splits "epoch:upstream-revision" into its parts. */
static void deb_split(const char *v, const char **up, const char **up_end,
		      const char **rev, const char **rev_end,
		      const char **ep, size_t *ep_len)
{
	const char *colon = strchr(v, ':'), *dash;

	*ep = v;
	*ep_len = 0;
	if (colon) {
		*ep_len = (size_t)(colon - v);
		v = colon + 1;
	}
	dash = strrchr(v, '-');
	*up = v;
	*up_end = dash ? dash : v + strlen(v);
	*rev = dash ? dash + 1 : *up_end;
	*rev_end = dash ? dash + 1 + strlen(dash + 1) : *up_end;
}

int px_vercmp_deb(const char *a, const char *b)
{
	const char *au, *aue, *ar, *are, *ae, *bu, *bue, *br, *bre, *be;
	size_t ael, bel;
	int d;

	deb_split(a, &au, &aue, &ar, &are, &ae, &ael);
	deb_split(b, &bu, &bue, &br, &bre, &be, &bel);
	d = numcmp(ae, ael, be, bel);
	if (d)
		return d;
	d = deb_part(au, aue, bu, bue);
	if (d)
		return d;
	return deb_part(ar, are, br, bre);
}

/* ---- rpm -------------------------------------------------------------- */

/* rpm's segment comparison of one version or release string. */
static int rpm_segments(const char *a, const char *b)
{
	while (*a || *b) {
		size_t an, bn;
		bool num;
		int d;

		while (*a && !isalnum((unsigned char)*a) && *a != '~' &&
		       *a != '^')
			a++;
		while (*b && !isalnum((unsigned char)*b) && *b != '~' &&
		       *b != '^')
			b++;
		/* '~' sorts before anything, the end included */
		if (*a == '~' || *b == '~') {
			if (*a != '~')
				return 1;
			if (*b != '~')
				return -1;
			a++, b++;
			continue;
		}
		/* '^' sorts after the end but before any other segment */
		if (*a == '^' || *b == '^') {
			if (!*a)
				return -1;
			if (!*b)
				return 1;
			if (*a != '^')
				return 1;
			if (*b != '^')
				return -1;
			a++, b++;
			continue;
		}
		if (!*a || !*b)
			break;
		num = isdigit((unsigned char)*a);
		for (an = 0; a[an] && (num ? isdigit((unsigned char)a[an]) :
				       isalpha((unsigned char)a[an])); an++)
			;
		for (bn = 0; b[bn] && (num ? isdigit((unsigned char)b[bn]) :
				       isalpha((unsigned char)b[bn])); bn++)
			;
		if (bn == 0)
			return num ? 1 : -1;   /* numbers beat letters */
		if (num) {
			d = numcmp(a, an, b, bn);
		} else {
			d = sign(memcmp(a, b, an < bn ? an : bn));
			if (!d && an != bn)
				d = an < bn ? -1 : 1;
		}
		if (d)
			return d;
		a += an;
		b += bn;
	}
	if (!*a && !*b)
		return 0;
	return *a ? 1 : -1;
}

int px_vercmp_rpm(const char *a, const char *b)
{
	const char *ac = strchr(a, ':'), *bc = strchr(b, ':');
	char *av, *bv, *ar, *br;
	int d;

	d = numcmp(a, ac ? (size_t)(ac - a) : 0, b,
		   bc ? (size_t)(bc - b) : 0);
	if (d)
		return d;
	av = strdup(ac ? ac + 1 : a);
	bv = strdup(bc ? bc + 1 : b);
	if (!av || !bv) {
		d = strcmp(a, b);
		goto out_free;
	}
	ar = strrchr(av, '-');
	br = strrchr(bv, '-');
	if (ar)
		*ar++ = '\0';
	if (br)
		*br++ = '\0';
	d = rpm_segments(av, bv);
	if (!d && ar && br)
		d = rpm_segments(ar, br);
out_free:
	free(av);
	free(bv);
	return d;
}

/* ---- apk -------------------------------------------------------------- */

/* Suffix ranks: the pre-release ones before "no suffix" (0). */
static int apk_suffix_rank(const char *s, size_t n)
{
	static const char *const pre[] = { "alpha", "beta", "pre", "rc" };
	static const char *const post[] = { "cvs", "svn", "git", "hg", "p" };
	size_t i;

	for (i = 0; i < 4; i++)
		if (strlen(pre[i]) == n && strncmp(s, pre[i], n) == 0)
			return (int)i - 4;
	for (i = 0; i < 5; i++)
		if (strlen(post[i]) == n && strncmp(s, post[i], n) == 0)
			return (int)i + 1;
	return 0;
}

struct apk_ver {
	const char *nums[16];   /* digit runs of the dotted part */
	size_t num_len[16];
	int n_nums;
	int letter;
	int suffix_rank[8];
	const char *suffix_num[8];
	size_t suffix_num_len[8];
	int n_suffix;
	const char *rev;
	size_t rev_len;
};

static void apk_parse(const char *s, struct apk_ver *v)
{
	size_t n;

	memset(v, 0, sizeof(*v));
	while (v->n_nums < 16 && isdigit((unsigned char)*s)) {
		n = span_digits(s);
		v->nums[v->n_nums] = s;
		v->num_len[v->n_nums++] = n;
		s += n;
		if (*s != '.' || !isdigit((unsigned char)s[1]))
			break;
		s++;
	}
	if (islower((unsigned char)*s))
		v->letter = *s++;
	while (*s == '_' && v->n_suffix < 8) {
		s++;
		for (n = 0; islower((unsigned char)s[n]); n++)
			;
		v->suffix_rank[v->n_suffix] = apk_suffix_rank(s, n);
		s += n;
		n = span_digits(s);
		v->suffix_num[v->n_suffix] = s;
		v->suffix_num_len[v->n_suffix++] = n;
		s += n;
	}
	if (s[0] == '-' && s[1] == 'r') {
		v->rev = s + 2;
		v->rev_len = span_digits(s + 2);
	}
}

/* Later dotted components with a leading zero compare as fractions. */
static int apk_numcmp(const char *a, size_t an, const char *b, size_t bn,
		      bool first)
{
	int d;

	if (first || (a[0] != '0' && b[0] != '0'))
		return numcmp(a, an, b, bn);
	d = sign(memcmp(a, b, an < bn ? an : bn));
	return d ? d : sign((int)an - (int)bn);
}

int px_vercmp_apk(const char *a, const char *b)
{
	struct apk_ver x, y;
	int i, d, n;

	apk_parse(a, &x);
	apk_parse(b, &y);
	n = x.n_nums < y.n_nums ? x.n_nums : y.n_nums;
	for (i = 0; i < n; i++) {
		d = apk_numcmp(x.nums[i], x.num_len[i], y.nums[i],
			       y.num_len[i], i == 0);
		if (d)
			return d;
	}
	if (x.n_nums != y.n_nums)
		return x.n_nums < y.n_nums ? -1 : 1;
	if (x.letter != y.letter)
		return x.letter < y.letter ? -1 : 1;
	for (i = 0; i < x.n_suffix || i < y.n_suffix; i++) {
		int rx = i < x.n_suffix ? x.suffix_rank[i] : 0;
		int ry = i < y.n_suffix ? y.suffix_rank[i] : 0;

		if (rx != ry)
			return rx < ry ? -1 : 1;
		if (i < x.n_suffix && i < y.n_suffix) {
			d = numcmp(x.suffix_num[i], x.suffix_num_len[i],
				   y.suffix_num[i], y.suffix_num_len[i]);
			if (d)
				return d;
		}
	}
	return numcmp(x.rev ? x.rev : "", x.rev_len, y.rev ? y.rev : "",
		      y.rev_len);
}

/* ---- semver ----------------------------------------------------------- */

/* Compares dot-separated pre-release identifiers. */
static int semver_pre(const char *a, const char *b)
{
	while (*a && *b) {
		size_t an = strcspn(a, "."), bn = strcspn(b, ".");
		bool anum = an && span_digits(a) == an;
		bool bnum = bn && span_digits(b) == bn;
		int d;

		if (anum && bnum)
			d = numcmp(a, an, b, bn);
		else if (anum || bnum)
			d = anum ? -1 : 1;      /* numbers before words */
		else {
			d = sign(memcmp(a, b, an < bn ? an : bn));
			if (!d && an != bn)
				d = an < bn ? -1 : 1;
		}
		if (d)
			return d;
		a += an + (a[an] == '.');
		b += bn + (b[bn] == '.');
	}
	return *a ? 1 : *b ? -1 : 0;
}

/* Skips "v", "=" and blanks in front; returns the core's start. */
static const char *semver_trim(const char *s)
{
	while (*s == 'v' || *s == 'V' || *s == '=' || *s == ' ')
		s++;
	return s;
}

int px_vercmp_semver(const char *a, const char *b)
{
	const char *pa, *pb;
	int i, d;

	a = semver_trim(a);
	b = semver_trim(b);
	for (i = 0; i < 3; i++) {
		size_t an = span_digits(a), bn = span_digits(b);

		d = numcmp(a, an, b, bn);
		if (d)
			return d;
		a += an;
		b += bn;
		if (*a == '.')
			a++;
		if (*b == '.')
			b++;
	}
	pa = *a == '-' ? a + 1 : NULL;
	pb = *b == '-' ? b + 1 : NULL;
	if (!pa || !pb)
		return pa ? -1 : pb ? 1 : 0;
	/* build metadata ("+...") is not part of the order */
	{
		char x[256], y[256];

		snprintf(x, sizeof(x), "%.*s", (int)strcspn(pa, "+"), pa);
		snprintf(y, sizeof(y), "%.*s", (int)strcspn(pb, "+"), pb);
		return semver_pre(x, y);
	}
}

/* ---- PEP 440 ---------------------------------------------------------- */

struct pep_num {
	const char *p;
	size_t n;
};

struct pep_ver {
	struct pep_num epoch;
	struct pep_num rel[32];
	int n_rel;
	int pre;                /* -1 none, 0 a, 1 b, 2 rc */
	struct pep_num pre_n;
	bool post, dev;
	struct pep_num post_n, dev_n;
	const char *local;      /* after '+', or NULL */
};

static bool sep(char c)
{
	return c == '.' || c == '-' || c == '_';
}

/* Matches one of the words in <words> at <s>, case-insensitively; returns
 * its length (the longest match) and its index in <idx>. */
static size_t word_at(const char *s, const char *const *words, int *idx)
{
	size_t best = 0, n;
	int i;

	for (i = 0; words[i]; i++) {
		n = strlen(words[i]);
		if (n > best && strncasecmp(s, words[i], n) == 0) {
			best = n;
			*idx = i;
		}
	}
	return best;
}

static const char *pep_number(const char *s, struct pep_num *out)
{
	while (sep(*s))
		s++;
	out->p = s;
	out->n = span_digits(s);
	return s + out->n;
}

static void pep_parse(const char *s, struct pep_ver *v)
{
	static const char *const pre_words[] = {
		"a", "alpha", "b", "beta", "c", "rc", "pre", "preview", NULL };
	static const int pre_kind[] = { 0, 0, 1, 1, 2, 2, 2, 2 };
	static const char *const post_words[] = { "post", "rev", "r", NULL };
	static const char *const dev_words[] = { "dev", NULL };
	const char *t;
	size_t n;
	int idx;

	memset(v, 0, sizeof(*v));
	v->pre = -1;
	while (*s == ' ' || *s == 'v' || *s == 'V')
		s++;
	n = span_digits(s);
	if (s[n] == '!') {
		v->epoch = (struct pep_num){ s, n };
		s += n + 1;
	}
	while (v->n_rel < 32 && isdigit((unsigned char)*s)) {
		n = span_digits(s);
		v->rel[v->n_rel++] = (struct pep_num){ s, n };
		s += n;
		if (*s != '.' || !isdigit((unsigned char)s[1]))
			break;
		s++;
	}
	t = s;
	while (sep(*t))
		t++;
	n = word_at(t, pre_words, &idx);
	if (n) {
		v->pre = pre_kind[idx];
		s = pep_number(t + n, &v->pre_n);
	}
	t = s;
	if (*t == '-' && isdigit((unsigned char)t[1])) {
		v->post = true;
		s = pep_number(t + 1, &v->post_n);
	} else {
		while (sep(*t))
			t++;
		n = word_at(t, post_words, &idx);
		if (n) {
			v->post = true;
			s = pep_number(t + n, &v->post_n);
		}
	}
	t = s;
	while (sep(*t))
		t++;
	n = word_at(t, dev_words, &idx);
	if (n) {
		v->dev = true;
		s = pep_number(t + n, &v->dev_n);
	}
	t = strchr(s, '+');
	v->local = t ? t + 1 : NULL;
}

/* Local version labels: segments split on . - _; numbers after words. */
static int pep_local(const char *a, const char *b)
{
	if (!a || !b)
		return a ? 1 : b ? -1 : 0;
	while (*a && *b) {
		size_t an = strcspn(a, ".-_"), bn = strcspn(b, ".-_");
		bool anum = an && span_digits(a) == an;
		bool bnum = bn && span_digits(b) == bn;
		int d;

		if (anum && bnum)
			d = numcmp(a, an, b, bn);
		else if (anum || bnum)
			d = anum ? 1 : -1;
		else {
			d = sign(strncasecmp(a, b, an < bn ? an : bn));
			if (!d && an != bn)
				d = an < bn ? -1 : 1;
		}
		if (d)
			return d;
		a += an + (a[an] != '\0');
		b += bn + (b[bn] != '\0');
	}
	return *a ? 1 : *b ? -1 : 0;
}

/* The pre-release key: a dev release of the final version sorts before
 * its pre-releases, which sort before the final version. */
static int pep_pre_key(const struct pep_ver *v)
{
	if (v->pre < 0 && !v->post && v->dev)
		return -2;
	if (v->pre < 0)
		return 3;
	return v->pre;
}

int px_vercmp_pep440(const char *a, const char *b)
{
	struct pep_ver x, y;
	int i, d;

	pep_parse(a, &x);
	pep_parse(b, &y);
	d = numcmp(x.epoch.p, x.epoch.n, y.epoch.p, y.epoch.n);
	if (d)
		return d;
	for (i = 0; i < x.n_rel || i < y.n_rel; i++) {
		struct pep_num zero = { "", 0 };
		const struct pep_num *p = i < x.n_rel ? &x.rel[i] : &zero;
		const struct pep_num *q = i < y.n_rel ? &y.rel[i] : &zero;

		d = numcmp(p->p, p->n, q->p, q->n);
		if (d)
			return d;
	}
	if (pep_pre_key(&x) != pep_pre_key(&y))
		return pep_pre_key(&x) < pep_pre_key(&y) ? -1 : 1;
	if (x.pre >= 0) {
		d = numcmp(x.pre_n.p, x.pre_n.n, y.pre_n.p, y.pre_n.n);
		if (d)
			return d;
	}
	if (x.post != y.post)
		return x.post ? 1 : -1;
	if (x.post) {
		d = numcmp(x.post_n.p, x.post_n.n, y.post_n.p, y.post_n.n);
		if (d)
			return d;
	}
	if (x.dev != y.dev)
		return x.dev ? -1 : 1;
	if (x.dev) {
		d = numcmp(x.dev_n.p, x.dev_n.n, y.dev_n.p, y.dev_n.n);
		if (d)
			return d;
	}
	return pep_local(x.local, y.local);
}

/* ---- Maven ------------------------------------------------------------ */

/*
 * Maven's ComparableVersion.  A version is a list of items: numbers and
 * qualifiers separated by '.', while '-' and a change between digits and
 * letters open a sub-list holding the rest ("1.0-rc1" is [1, 0, [rc, [1]]]).
 * An empty item is a 0.  Because a sub-list only ever opens at the end of
 * the list before it, the tree is a chain of segments: segment k holds
 * its numbers and qualifiers, then (optionally) segment k+1 as its last
 * element.
 *
 * Each list, innermost first, drops its trailing "null" items (0, the
 * release qualifier, an empty sub-list) up to the last other number or
 * qualifier, looking past a non-empty sub-list: "1.0-1" is [1, [1]].
 *
 * Order: qualifiers alpha < beta < milestone < rc = cr < snapshot <
 * "" = ga = final = release < sp < any other (those by name, lower case);
 * "a", "b", "m" right before a digit mean alpha, beta, milestone.  A number
 * beats a sub-list, which beats a qualifier; a missing item compares as
 * null (a number is above it unless 0, a qualifier by its order against
 * the release qualifier, a sub-list by its first item that is not).
 */
#define MVN_MAX_ITEMS 64
#define MVN_RELEASE 5           /* rank of "", ga, final, release */
#define MVN_OTHER 7             /* rank of unknown qualifiers */

enum mvn_kind { MVN_NULL, MVN_INT, MVN_STR, MVN_LIST };

struct mvn_item {
	bool num;
	const char *p;          /* digits without leading zeros, or text */
	size_t n;
	int rank;               /* qualifiers */
};

struct mvn_seg {
	int start, ns;          /* its items: it[start .. start + ns) */
	bool sub;               /* segment k + 1 is its last element */
};

struct mvn_ver {
	struct mvn_item it[MVN_MAX_ITEMS];
	struct mvn_seg seg[MVN_MAX_ITEMS + 1];
	int n_it, n_seg;
};

static int mvn_rank(const char *s, size_t n, bool before_digit)
{
	static const char *const names[] = {
		"alpha", "beta", "milestone", "rc", "snapshot", "", "sp",
		NULL };
	int i;

	if (before_digit && n == 1) {
		switch (tolower((unsigned char)*s)) {
		case 'a':
			return 0;
		case 'b':
			return 1;
		case 'm':
			return 2;
		}
	}
	if (n == 2 && strncasecmp(s, "cr", 2) == 0)
		return 3;
	if ((n == 2 && strncasecmp(s, "ga", 2) == 0) ||
	    (n == 5 && strncasecmp(s, "final", 5) == 0) ||
	    (n == 7 && strncasecmp(s, "release", 7) == 0))
		return MVN_RELEASE;
	for (i = 0; names[i]; i++)
		if (strlen(names[i]) == n && strncasecmp(s, names[i], n) == 0)
			return i;
	return MVN_OTHER;
}

static bool mvn_is_null(const struct mvn_item *it)
{
	return it->num ? it->n == 0 : it->rank == MVN_RELEASE;
}

/* Appends the item s[0, n) (a number when <num>) to the last segment. */
static void mvn_add(struct mvn_ver *v, const char *s, size_t n, bool num,
		    bool before_digit)
{
	struct mvn_item *it;

	if (v->n_it == MVN_MAX_ITEMS)
		return;         /* the rest does not count */
	it = &v->it[v->n_it++];
	it->num = num;
	if (num) {
		while (n && *s == '0')
			s++, n--;
	}
	it->p = s;
	it->n = n;
	it->rank = num ? 0 : mvn_rank(s, n, before_digit);
	v->seg[v->n_seg - 1].ns++;
}

static void mvn_open(struct mvn_ver *v)
{
	if (v->n_seg > MVN_MAX_ITEMS)
		return;
	v->seg[v->n_seg - 1].sub = true;
	v->seg[v->n_seg].start = v->n_it;
	v->seg[v->n_seg].ns = 0;
	v->seg[v->n_seg].sub = false;
	v->n_seg++;
}

static void mvn_parse(const char *s, struct mvn_ver *v)
{
	size_t i, start = 0;
	bool digit = false;

	v->n_it = 0;
	v->n_seg = 1;
	v->seg[0] = (struct mvn_seg){ 0, 0, false };
	for (i = 0; s[i]; i++) {
		char c = s[i];

		if (c == '.' || c == '-') {
			mvn_add(v, s + start, i - start, digit || i == start,
				false);
			start = i + 1;
			if (c == '-')
				mvn_open(v);
		} else if (isdigit((unsigned char)c)) {
			if (!digit && i > start) {
				mvn_add(v, s + start, i - start, false, true);
				start = i;
				mvn_open(v);
			}
			digit = true;
		} else {
			if (digit && i > start) {
				mvn_add(v, s + start, i - start, true, false);
				start = i;
				mvn_open(v);
			}
			digit = false;
		}
	}
	if (i > start)
		mvn_add(v, s + start, i - start, digit, false);
	/* trailing nulls, innermost list first */
	for (i = (size_t)v->n_seg; i-- > 0;) {
		struct mvn_seg *g = &v->seg[i];

		if (i + 1 < (size_t)v->n_seg && !v->seg[i + 1].ns &&
		    !v->seg[i + 1].sub)
			g->sub = false;
		while (g->ns && mvn_is_null(&v->it[g->start + g->ns - 1]))
			g->ns--;
	}
}

/* Element <i> of segment <k>: its kind, the item for numbers and
 * qualifiers. */
static enum mvn_kind mvn_elem(const struct mvn_ver *v, int k, int i,
			      const struct mvn_item **it)
{
	const struct mvn_seg *g = &v->seg[k];

	if (i < g->ns) {
		*it = &v->it[g->start + i];
		return (*it)->num ? MVN_INT : MVN_STR;
	}
	return i == g->ns && g->sub ? MVN_LIST : MVN_NULL;
}

static int mvn_list_cmp(const struct mvn_ver *a, int ka,
			const struct mvn_ver *b, int kb);

/* A qualifier against another (NULL: the release qualifier). */
static int mvn_str_cmp(const struct mvn_item *a, const struct mvn_item *b)
{
	int rb = b ? b->rank : MVN_RELEASE, d;

	if (a->rank != rb)
		return a->rank < rb ? -1 : 1;
	if (a->rank != MVN_OTHER)
		return 0;
	d = sign(strncasecmp(a->p, b->p, a->n < b->n ? a->n : b->n));
	return d ? d : sign((int)a->n - (int)b->n);
}

/* Element <i> of segment <ka> of <a> against that of <kb> of <b>; <b>
 * NULL compares with null. */
static int mvn_elem_cmp(const struct mvn_ver *a, int ka, int i,
			const struct mvn_ver *b, int kb, int j)
{
	const struct mvn_item *x = NULL, *y = NULL;
	enum mvn_kind ta = mvn_elem(a, ka, i, &x);
	enum mvn_kind tb = b ? mvn_elem(b, kb, j, &y) : MVN_NULL;

	if (ta == MVN_NULL)
		return tb == MVN_NULL ? 0 : -mvn_elem_cmp(b, kb, j, NULL, 0, 0);
	switch (tb) {
	case MVN_NULL:
		if (ta == MVN_INT)
			return x->n ? 1 : 0;
		if (ta == MVN_STR)
			return mvn_str_cmp(x, NULL);
		return mvn_list_cmp(a, ka + 1, NULL, 0);
	case MVN_INT:
		return ta == MVN_INT ? numcmp(x->p, x->n, y->p, y->n) : -1;
	case MVN_STR:
		return ta == MVN_STR ? mvn_str_cmp(x, y) : 1;
	case MVN_LIST:
		if (ta == MVN_LIST)
			return mvn_list_cmp(a, ka + 1, b, kb + 1);
		return ta == MVN_INT ? 1 : -1;
	}
	return 0;
}

/* Segment <ka> of <a> against segment <kb> of <b> (<b> NULL: null). */
static int mvn_list_cmp(const struct mvn_ver *a, int ka,
			const struct mvn_ver *b, int kb)
{
	int na = a->seg[ka].ns + a->seg[ka].sub, i, d;
	int nb = b ? b->seg[kb].ns + b->seg[kb].sub : 0;

	for (i = 0; i < na || i < nb; i++) {
		if (!b)
			d = mvn_elem_cmp(a, ka, i, NULL, 0, 0);
		else
			d = mvn_elem_cmp(a, ka, i, b, kb, i);
		if (d)
			return d;
	}
	return 0;
}

int px_vercmp_maven(const char *a, const char *b)
{
	struct mvn_ver x, y;

	mvn_parse(a, &x);
	mvn_parse(b, &y);
	return mvn_list_cmp(&x, 0, &y, 0);
}

/* ---- dispatch --------------------------------------------------------- */

int px_vercmp(enum px_ver_scheme s, const char *a, const char *b)
{
	switch (s) {
	case PX_VER_DEB:
		return px_vercmp_deb(a, b);
	case PX_VER_RPM:
		return px_vercmp_rpm(a, b);
	case PX_VER_APK:
		return px_vercmp_apk(a, b);
	case PX_VER_SEMVER:
		return px_vercmp_semver(a, b);
	case PX_VER_PEP440:
		return px_vercmp_pep440(a, b);
	case PX_VER_MAVEN:
		return px_vercmp_maven(a, b);
	}
	return strcmp(a, b);
}

int px_ver_scheme_of(const char *eco)
{
	static const struct {
		const char *prefix;
		enum px_ver_scheme s;
	} map[] = {
		{ "deb", PX_VER_DEB }, { "Debian", PX_VER_DEB },
		{ "Ubuntu", PX_VER_DEB }, { "rpm", PX_VER_RPM },
		{ "Red Hat", PX_VER_RPM }, { "Rocky Linux", PX_VER_RPM },
		{ "AlmaLinux", PX_VER_RPM }, { "openSUSE", PX_VER_RPM },
		{ "SUSE", PX_VER_RPM }, { "apk", PX_VER_APK },
		{ "Alpine", PX_VER_APK }, { "npm", PX_VER_SEMVER },
		{ "pypi", PX_VER_PEP440 }, { "PyPI", PX_VER_PEP440 },
		{ "maven", PX_VER_MAVEN }, { "Maven", PX_VER_MAVEN },
	};
	size_t i, n;

	for (i = 0; i < sizeof(map) / sizeof(map[0]); i++) {
		n = strlen(map[i].prefix);
		if (strncmp(eco, map[i].prefix, n) == 0 &&
		    (eco[n] == '\0' || eco[n] == ':'))
			return (int)map[i].s;
	}
	return -1;
}
