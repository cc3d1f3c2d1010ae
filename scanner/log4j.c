// SPDX-License-Identifier: Apache-2.0
/*
 * log4j identification and CVE verdicts from classes (see log4j.h).
 *
 * The byte strings below were checked against every jar of the public
 * mergebase/log4j-samples set (2.0-beta2 .. 2.17.1, the 2.12.x and 2.3.x
 * backports, a shaded copy, log4j 1.1.3 and 1.2.17, and the api, bridge and
 * binding jars, which must yield nothing).  Each fix release left a mark in
 * the classes it changed:
 *
 *   2.15.0          JndiManager checks URIs: "Invalid JNDI URI" (2.12.2 and
 *                   2.3.x say "Unsupported JNDI URI")
 *   2.16.0, 2.12.2  JndiManager gains isJndiEnabled (JNDI off by default)
 *   2.17.0, 2.12.3, JndiLookup checks log4j2.enableJndiLookup and JndiManager
 *   2.3.1           gains isJndiLookupEnabled (recursion fix shipped with it)
 *   2.17.1, 2.12.4, DataSourceConnectionSource checks log4j2.enableJndiJdbc
 *   2.3.2
 *
 * 2.0-beta9 has JndiLookup calling javax/naming/InitialContext itself and no
 * JndiManager; releases before it have no JNDI lookup at all but still carry
 * the StrSubstitutor recursion (CVE-2021-45105, from 2.0-alpha1), and
 * DataSourceConnectionSource (CVE-2021-44832) only exists from 2.0-beta7 on.
 */
#include "log4j.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "maven.h"

#define LOG4J_MAX_COPIES 256

/* What the classes of one copy have shown. */
enum log4j_sig {
	SIG_LOOKUP = 1u << 0,           /* core/lookup/JndiLookup.class */
	SIG_LOOKUP_INITCTX = 1u << 1,   /* ...calls InitialContext itself */
	SIG_LOOKUP_GATED = 1u << 2,     /* ...checks log4j2.enableJndiLookup */
	SIG_MANAGER = 1u << 3,          /* core/net/JndiManager.class */
	SIG_MGR_URI_CHECK = 1u << 4,    /* ...refuses non-local JNDI URIs */
	SIG_MGR_ENABLED = 1u << 5,      /* ...has isJndiEnabled */
	SIG_MGR_LOOKUP_GATED = 1u << 6, /* ...has isJndiLookupEnabled */
	SIG_DSCS = 1u << 7,             /* DataSourceConnectionSource.class */
	SIG_DSCS_GATED = 1u << 8,       /* ...checks log4j2.enableJndiJdbc */
	SIG_STRSUBST = 1u << 9,         /* core/lookup/StrSubstitutor.class */
	SIG1_LOADER = 1u << 16,         /* 1.x: helpers/Loader.class */
	SIG1_EVENT = 1u << 17,          /* 1.x: spi/LoggingEvent.class */
	SIG1_CATEGORY = 1u << 18,       /* 1.x: Category.class */
	SIG1_SOCKETSERVER = 1u << 19,
	SIG1_JMSAPPENDER = 1u << 20,
	SIG1_JMSSINK = 1u << 21,
	SIG1_JDBC = 1u << 22,
	SIG1_CHAINSAW = 1u << 23,
};

#define SIGS_CORE (SIG_LOOKUP | SIG_MANAGER | SIG_DSCS | SIG_STRSUBST)
#define SIGS_V1 (SIG1_LOADER | SIG1_EVENT | SIG1_CATEGORY)
#define SIGS_FIXED_45105                                                     \
	(SIG_LOOKUP_GATED | SIG_MGR_LOOKUP_GATED | SIG_DSCS_GATED)
#define SIGS_FIXED_45046 (SIG_MGR_ENABLED | SIGS_FIXED_45105)
#define SIGS_FIXED_44228 (SIG_MGR_URI_CHECK | SIGS_FIXED_45046)

/* A byte string whose presence in a class sets a signal. */
struct probe {
	const char *bytes;
	unsigned int sig;
};

static const struct probe lookup_probes[] = {
	{ "javax/naming/InitialContext", SIG_LOOKUP_INITCTX },
	{ "log4j2.enableJndiLookup", SIG_LOOKUP_GATED },
	{ NULL, 0 },
};

static const struct probe manager_probes[] = {
	{ "Invalid JNDI URI", SIG_MGR_URI_CHECK },
	{ "Unsupported JNDI URI", SIG_MGR_URI_CHECK },
	{ "isJndiEnabled", SIG_MGR_ENABLED },
	{ "isJndiLookupEnabled", SIG_MGR_LOOKUP_GATED },
	{ NULL, 0 },
};

static const struct probe dscs_probes[] = {
	{ "log4j2.enableJndiJdbc", SIG_DSCS_GATED },
	{ NULL, 0 },
};

/* A class path suffix (matched at a '/' boundary) and what it means. */
struct class_rule {
	const char *suffix;
	unsigned int sig;
	const struct probe *probes;     /* NULL: presence is enough */
};

static const struct class_rule rules[] = {
	{ "core/lookup/JndiLookup.class", SIG_LOOKUP, lookup_probes },
	{ "core/net/JndiManager.class", SIG_MANAGER, manager_probes },
	{ "core/appender/db/jdbc/DataSourceConnectionSource.class", SIG_DSCS,
	  dscs_probes },
	{ "core/lookup/StrSubstitutor.class", SIG_STRSUBST, NULL },
	{ "helpers/Loader.class", SIG1_LOADER, NULL },
	{ "spi/LoggingEvent.class", SIG1_EVENT, NULL },
	{ "Category.class", SIG1_CATEGORY, NULL },
	{ "net/SocketServer.class", SIG1_SOCKETSERVER, NULL },
	{ "net/JMSAppender.class", SIG1_JMSAPPENDER, NULL },
	{ "net/JMSSink.class", SIG1_JMSSINK, NULL },
	{ "jdbc/JDBCAppender.class", SIG1_JDBC, NULL },
	{ "chainsaw/LoggingReceiver.class", SIG1_CHAINSAW, NULL },
};

#define N_RULES (sizeof(rules) / sizeof(rules[0]))

/* One copy of log4j, named by the package root its classes hang from
 * ("org/apache/logging/log4j/", "clt/shaded/l/", "org/apache/log4j/"). */
struct log4j_copy {
	char *root;
	unsigned int sigs;
};

struct log4j_set {
	struct log4j_copy copies[LOG4J_MAX_COPIES];
	size_t n;
	bool overflow;
};

struct log4j_set *log4j_set_new(void)
{
	return calloc(1, sizeof(struct log4j_set));
}

void log4j_set_free(struct log4j_set *s)
{
	size_t i;

	if (!s)
		return;
	for (i = 0; i < s->n; i++)
		free(s->copies[i].root);
	free(s);
}

/* The rule <name> satisfies, or NULL.  *<root_len> gets the length of the
 * part in front of the suffix. */
static const struct class_rule *match_rule(const char *name,
					   size_t *root_len)
{
	size_t n = strlen(name), m, i;

	if (n < 6 || strcmp(name + n - 6, ".class") != 0)
		return NULL;
	for (i = 0; i < N_RULES; i++) {
		m = strlen(rules[i].suffix);
		if (n < m || strcmp(name + n - m, rules[i].suffix) != 0)
			continue;
		if (n > m && name[n - m - 1] != '/')
			continue;
		*root_len = n - m;
		return &rules[i];
	}
	return NULL;
}

bool log4j_wants(const char *name, bool *want_data)
{
	const struct class_rule *r;
	size_t root_len;

	r = match_rule(name, &root_len);
	if (!r)
		return false;
	*want_data = r->probes != NULL;
	return true;
}

/* The copy rooted at name[0..len), created on first sight. */
static struct log4j_copy *copy_for(struct log4j_set *s, const char *name,
				   size_t len)
{
	size_t i;
	char *root;

	for (i = 0; i < s->n; i++)
		if (strlen(s->copies[i].root) == len &&
		    memcmp(s->copies[i].root, name, len) == 0)
			return &s->copies[i];
	if (s->n == LOG4J_MAX_COPIES) {
		s->overflow = true;
		return NULL;
	}
	root = strndup(name, len);
	if (!root)
		return NULL;
	s->copies[s->n].root = root;
	s->copies[s->n].sigs = 0;
	return &s->copies[s->n++];
}

void log4j_feed(struct log4j_set *s, const char *name, const void *data,
		size_t len)
{
	const struct class_rule *r;
	const struct probe *p;
	struct log4j_copy *c;
	size_t root_len;

	r = match_rule(name, &root_len);
	if (!r)
		return;
	c = copy_for(s, name, root_len);
	if (!c)
		return;
	c->sigs |= r->sig;
	if (!r->probes || !data)
		return;
	for (p = r->probes; p->bytes; p++)
		if (memmem(data, len, p->bytes, strlen(p->bytes)))
			c->sigs |= p->sig;
}

/* Adds one CVE to <f> with printf-formatted evidence. */
static void __attribute__((format(printf, 4, 5)))
add_cve(struct scan_finding *f, const char *id, enum scan_severity sev,
	const char *fmt, ...)
{
	struct scan_cve *c;
	va_list ap;

	if (f->n_cves == SCAN_MAX_CVES)
		return;
	c = &f->cves[f->n_cves++];
	snprintf(c->id, sizeof(c->id), "%s", id);
	c->severity = sev;
	va_start(ap, fmt);
	vsnprintf(c->evidence, sizeof(c->evidence), fmt, ap);
	va_end(ap);
}

/* Which releases a log4j-core copy's classes look like. */
static const char *core_fingerprint(unsigned int s)
{
	if (s & SIG_DSCS_GATED)
		return "classes of 2.17.1, 2.12.4, 2.3.2 or later";
	if (s & SIGS_FIXED_45105)
		return "classes of 2.17.0, 2.12.3 or 2.3.1";
	if (s & SIG_MGR_ENABLED)
		return "classes of 2.16.0 or 2.12.2";
	if (s & SIG_MGR_URI_CHECK)
		return "classes of 2.15.0";
	if ((s & SIG_LOOKUP) && (s & SIG_MANAGER))
		return "classes of 2.1 to 2.14.1";
	if (s & SIG_LOOKUP_INITCTX)
		return "classes of 2.0-beta9 or 2.0";
	if (s & SIG_MANAGER)
		return "JndiLookup.class removed";
	return "no JNDI classes: before 2.0-beta9, or JndiLookup removed";
}

/* The CVE-2021-* verdicts for a log4j-core copy, rooted at <root>. */
static void core_verdicts(struct scan_finding *f, unsigned int s,
			  const char *root)
{
	bool jndi = (s & SIG_LOOKUP) &&
		    (s & (SIG_LOOKUP_INITCTX | SIG_MANAGER));

	if (jndi && !(s & SIGS_FIXED_44228))
		add_cve(f, "CVE-2021-44228", SCAN_SEV_CRITICAL,
			"%score/lookup/JndiLookup.class present; JndiManager has no JNDI URI check (added in 2.15.0)",
			root);
	if (jndi && !(s & SIGS_FIXED_45046))
		add_cve(f, "CVE-2021-45046", SCAN_SEV_CRITICAL,
			"%score/lookup/JndiLookup.class present; JndiManager lacks isJndiEnabled (added in 2.16.0, 2.12.2)",
			root);
	if ((s & (SIG_STRSUBST | SIG_LOOKUP)) && !(s & SIGS_FIXED_45105))
		add_cve(f, "CVE-2021-45105", SCAN_SEV_MEDIUM,
			"%score/lookup/StrSubstitutor.class without the fix of 2.17.0, 2.12.3, 2.3.1 (no log4j2.enableJndiLookup gate)",
			root);
	if ((s & SIG_DSCS) && !(s & SIG_DSCS_GATED))
		add_cve(f, "CVE-2021-44832", SCAN_SEV_MEDIUM,
			"%score/appender/db/jdbc/DataSourceConnectionSource.class lacks the log4j2.enableJndiJdbc gate (added in 2.17.1, 2.12.4, 2.3.2)",
			root);
}

/* The CVEs of a log4j 1.x copy: each needs its vulnerable class. */
static void v1_verdicts(struct scan_finding *f, unsigned int s,
			const char *root)
{
	if (s & SIG1_SOCKETSERVER)
		add_cve(f, "CVE-2019-17571", SCAN_SEV_CRITICAL,
			"%snet/SocketServer.class present (deserializes untrusted log events)",
			root);
	if (s & SIG1_JMSAPPENDER)
		add_cve(f, "CVE-2021-4104", SCAN_SEV_HIGH,
			"%snet/JMSAppender.class present (JNDI lookup when configured)",
			root);
	if (s & SIG1_JMSSINK)
		add_cve(f, "CVE-2022-23302", SCAN_SEV_HIGH,
			"%snet/JMSSink.class present (JNDI lookup when configured)",
			root);
	if (s & SIG1_JDBC)
		add_cve(f, "CVE-2022-23305", SCAN_SEV_CRITICAL,
			"%sjdbc/JDBCAppender.class present (SQL injection through the pattern)",
			root);
	if (s & SIG1_CHAINSAW)
		add_cve(f, "CVE-2022-23307", SCAN_SEV_HIGH,
			"%schainsaw/LoggingReceiver.class present (Chainsaw deserializes untrusted events)",
			root);
}

/* How many copies have a signal of <any> and all signals of <all>. */
static size_t count_copies(const struct log4j_set *s, unsigned int any,
			   unsigned int all)
{
	size_t i, n = 0;

	for (i = 0; i < s->n; i++)
		if ((s->copies[i].sigs & any) &&
		    (s->copies[i].sigs & all) == all)
			n++;
	return n;
}

/*
 * The version of one copy and where it came from: the pom.properties of
 * <group>:<artifact> (claimed), else the manifest when <mf_ok> says it
 * describes this artifact.  A pom goes to the copy at <canon_root> when the
 * level holds several copies, since shaded ones rarely keep theirs.
 */
static void copy_version(struct scan_level *lvl, const char *group,
			 const char *artifact, bool mf_ok, bool alone,
			 const char *root, const char *canon_root,
			 const char **version, const char **source)
{
	struct maven_set *m = lvl->maven;
	struct maven_pom *pom = maven_find(m, group, artifact);

	*version = "";
	*source = "";
	if (pom && (alone || strcmp(root, canon_root) == 0)) {
		pom->claimed = true;
		*version = pom->version;
		*source = pom->where;
	} else if (mf_ok && alone && m->mf.version[0]) {
		*version = m->mf.version;
		*source = "META-INF/MANIFEST.MF Implementation-Version";
	} else if (mf_ok && alone && m->mf.bundle_version[0]) {
		*version = m->mf.bundle_version;
		*source = "META-INF/MANIFEST.MF Bundle-Version";
	}
}

static bool mf_is_core(const struct maven_manifest *mf)
{
	return strcmp(mf->bsn, "org.apache.logging.log4j.core") == 0 ||
	       strcasestr(mf->title, "log4j core") != NULL;
}

static bool mf_is_v1(const struct maven_manifest *mf)
{
	return strcmp(mf->bsn, "log4j") == 0 ||
	       strcasecmp(mf->title, "log4j") == 0;
}

/* Emits one finding for a copy: log4j 1.x when <v1>, else log4j-core.
 * <alone> says it is the only copy of its kind in the level. */
static void report_copy(struct scan_level *lvl, const struct log4j_copy *c,
			bool v1, bool alone)
{
	struct scan_finding f = { 0 };
	const char *group = v1 ? "log4j" : "org.apache.logging.log4j";
	const char *artifact = v1 ? "log4j" : "log4j-core";
	const char *version, *source;
	char name[64], purl[256], evidence[SCAN_EVIDENCE_LEN];
	bool mf_ok = v1 ? mf_is_v1(&lvl->maven->mf) :
			  mf_is_core(&lvl->maven->mf);

	/* the manifest describes this log4j: maven_report() must not
	 * report it a second time */
	if (mf_ok)
		lvl->maven->mf.claimed = true;

	copy_version(lvl, group, artifact, mf_ok, alone, c->root,
		     v1 ? "org/apache/log4j/" : "org/apache/logging/log4j/",
		     &version, &source);
	snprintf(name, sizeof(name), "%s:%s", group, artifact);
	maven_purl(purl, sizeof(purl), group, artifact, version);
	snprintf(evidence, sizeof(evidence), "%s classes under \"%s\" (%s)%s%s%s%s",
		 v1 ? "log4j 1.x" : "log4j-core", c->root,
		 v1 ? "end of life" : core_fingerprint(c->sigs),
		 version[0] ? "; version " : "; version unknown",
		 version, version[0] ? " from " : "", source);
	f.type = SCAN_FINDING_PACKAGE;
	f.ecosystem = "maven";
	f.name = name;
	f.version = version;
	f.purl = purl;
	f.evidence = evidence;
	if (v1)
		v1_verdicts(&f, c->sigs, c->root);
	else
		core_verdicts(&f, c->sigs, c->root);
	scan_finding_settle(&f);
	scan_emit(lvl, &f);
}

void log4j_report(struct scan_level *lvl)
{
	const struct log4j_set *s = lvl->log4j;
	size_t n_core = count_copies(s, SIGS_CORE, 0);
	size_t n_v1 = count_copies(s, SIGS_V1, SIGS_V1);
	size_t i;

	for (i = 0; i < s->n; i++) {
		const struct log4j_copy *c = &s->copies[i];

		if ((c->sigs & SIGS_V1) == SIGS_V1)
			report_copy(lvl, c, true, n_v1 == 1);
		else if (c->sigs & SIGS_CORE)
			report_copy(lvl, c, false, n_core == 1);
	}
}
