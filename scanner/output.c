// SPDX-License-Identifier: Apache-2.0
/*
 * Findings out of the scanner: JSON lines for people and pipelines, and
 * protobuf batches for the collector (see output.h).
 *
 * Paths in a snapshot may hold any bytes but NUL; both outputs write them
 * as common/text.h says, so they agree with each other and with the agent.
 */
#include "output.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "text.h"

static void json_field(FILE *out, const char *key, const char *val,
		       bool comma)
{
	fprintf(out, "%s\"%s\":", comma ? "," : "", key);
	px_json_str(out, val ? val : "");
}

static const char *type_name(enum scan_finding_type t)
{
	switch (t) {
	case SCAN_FINDING_PACKAGE:
		return "package";
	case SCAN_FINDING_SECRET:
		return "secret";
	case SCAN_FINDING_PII:
		return "pii";
	case SCAN_FINDING_MALWARE:
		return "malware";
	}
	return "unknown";
}

/* "cves":[ids] and "cve_details":[{id, severity, evidence}]. */
static void json_cves(FILE *out, const struct scan_finding *f)
{
	size_t i;

	fputs(",\"cves\":[", out);
	for (i = 0; i < f->n_cves; i++) {
		fputs(i ? "," : "", out);
		px_json_str(out, f->cves[i].id);
	}
	fputs("],\"cve_details\":[", out);
	for (i = 0; i < f->n_cves; i++) {
		fputs(i ? ",{" : "{", out);
		json_field(out, "id", f->cves[i].id, false);
		json_field(out, "severity",
			   scan_severity_name(f->cves[i].severity), true);
		json_field(out, "evidence", f->cves[i].evidence, true);
		fputc('}', out);
	}
	fputc(']', out);
}

int scan_jsonl_emit(void *arg, const struct scan_finding *f)
{
	FILE *out = arg;

	fputc('{', out);
	json_field(out, "type", type_name(f->type), false);
	json_field(out, "path", f->path, true);
	json_field(out, "inner", f->inner, true);
	json_field(out, "sha256", f->sha256, true);
	json_field(out, "ecosystem", f->ecosystem, true);
	json_field(out, "name", f->name, true);
	json_field(out, "version", f->version, true);
	json_field(out, "purl", f->purl, true);
	json_cves(out, f);
	json_field(out, "evidence", f->evidence, true);
	json_field(out, "severity", scan_severity_name(f->severity), true);
	json_field(out, "layer_digest", f->layer_digest, true);
	if (f->source)
		json_field(out, "source", f->source, true);
	if (f->type != SCAN_FINDING_PACKAGE) {
		json_field(out, "rule", f->rule, true);
		if (f->type == SCAN_FINDING_MALWARE) {
			json_field(out, "database", f->database, true);
			json_field(out, "hash_kind", f->hash_kind, true);
		} else {
			json_field(out, "preview", f->preview, true);
			json_field(out, "keyed_hash", f->keyed_hash, true);
			fprintf(out, ",\"line\":%u", f->line);
		}
	}
	fputs("}\n", out);
	if (fflush(out) == EOF || ferror(out))
		return -EIO;
	return 0;
}

void scan_jsonl_event(void *arg, const struct scan_event *ev)
{
	FILE *out = arg;

	fputc('{', out);
	json_field(out, "type", "event", false);
	json_field(out, "event", ev->kind, true);
	json_field(out, "what", ev->what, true);
	json_field(out, "path", ev->path, true);
	json_field(out, "inner", ev->inner, true);
	json_field(out, "layer_digest", ev->layer_digest, true);
	fputs("}\n", out);
	fflush(out);
}

int scan_format_parse(const char *s, enum scan_format *out)
{
	static const char *const names[] = {
		[SCAN_FMT_COLLECTOR] = "", [SCAN_FMT_JSONL] = "jsonl",
		[SCAN_FMT_SARIF] = "sarif", [SCAN_FMT_CYCLONEDX] = "cyclonedx",
	};
	unsigned int i;

	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		if (!strcmp(s, names[i])) {
			*out = (enum scan_format)i;
			return 0;
		}
	}
	return -EINVAL;
}

/* ---- protobuf -------------------------------------------------------- */

static void pb_cve_free(Parallax__V1__CveEvidence *c)
{
	if (!c)
		return;
	free(c->id);
	free(c->evidence);
	free(c);
}

static void pb_package_free(Parallax__V1__PackageFinding *p)
{
	size_t i;

	if (!p)
		return;
	for (i = 0; i < p->n_cves; i++)
		pb_cve_free(p->cves[i]);
	free(p->cves);
	free(p->ecosystem);
	free(p->name);
	free(p->version);
	free(p->purl);
	free(p->evidence);
	free(p);
}

void scan_pb_finding_free(Parallax__V1__Finding *pf)
{
	if (!pf)
		return;
	if (pf->detail_case == PARALLAX__V1__FINDING__DETAIL_PACKAGE)
		pb_package_free(pf->package);
	if (pf->detail_case == PARALLAX__V1__FINDING__DETAIL_SECRET && pf->secret) {
		free(pf->secret->rule);
		free(pf->secret->preview);
		free(pf->secret->keyed_hash);
		free(pf->secret);
	}
	if (pf->detail_case == PARALLAX__V1__FINDING__DETAIL_PII && pf->pii) {
		free(pf->pii->kind);
		free(pf->pii->preview);
		free(pf->pii->keyed_hash);
		free(pf->pii);
	}
	if (pf->detail_case == PARALLAX__V1__FINDING__DETAIL_MALWARE &&
	    pf->malware) {
		free(pf->malware->signature);
		free(pf->malware->database);
		free(pf->malware->hash_kind);
		free(pf->malware);
	}
	free(pf->path);
	free(pf->inner);
	free(pf->sha256);
	free(pf->layer_digest);
	free(pf);
}

/* px_utf8_fix() that maps NULL to "". */
static char *fixdup(const char *s)
{
	return px_utf8_fix(s ? s : "");
}

static Parallax__V1__PackageFinding *pb_package(const struct scan_finding *f)
{
	Parallax__V1__PackageFinding *p = malloc(sizeof(*p));
	size_t i;

	if (!p)
		return NULL;
	parallax__v1__package_finding__init(p);
	p->ecosystem = fixdup(f->ecosystem);
	p->name = fixdup(f->name);
	p->version = fixdup(f->version);
	p->purl = fixdup(f->purl);
	p->evidence = fixdup(f->evidence);
	p->cves = calloc(f->n_cves + 1, sizeof(*p->cves));
	if (!p->ecosystem || !p->name || !p->version || !p->purl ||
	    !p->evidence || !p->cves)
		goto err_free;
	for (i = 0; i < f->n_cves; i++) {
		Parallax__V1__CveEvidence *c = malloc(sizeof(*c));

		if (!c)
			goto err_free;
		parallax__v1__cve_evidence__init(c);
		p->cves[p->n_cves++] = c;
		c->id = fixdup(f->cves[i].id);
		c->evidence = fixdup(f->cves[i].evidence);
		c->severity = (Parallax__V1__Severity)f->cves[i].severity;
		if (!c->id || !c->evidence)
			goto err_free;
	}
	return p;
err_free:
	pb_package_free(p);
	return NULL;
}

/* The secret, PII or malware detail of <f> on <pf>; -ENOMEM. */
static int pb_content(Parallax__V1__Finding *pf, const struct scan_finding *f)
{
	if (f->type == SCAN_FINDING_SECRET) {
		Parallax__V1__SecretFinding *s = malloc(sizeof(*s));

		if (!s)
			return -ENOMEM;
		parallax__v1__secret_finding__init(s);
		pf->detail_case = PARALLAX__V1__FINDING__DETAIL_SECRET;
		pf->secret = s;
		s->rule = fixdup(f->rule);
		s->preview = fixdup(f->preview);
		s->keyed_hash = fixdup(f->keyed_hash);
		s->line = f->line;
		return s->rule && s->preview && s->keyed_hash ? 0 : -ENOMEM;
	}
	if (f->type == SCAN_FINDING_PII) {
		Parallax__V1__PiiFinding *p = malloc(sizeof(*p));

		if (!p)
			return -ENOMEM;
		parallax__v1__pii_finding__init(p);
		pf->detail_case = PARALLAX__V1__FINDING__DETAIL_PII;
		pf->pii = p;
		p->kind = fixdup(f->rule);
		p->preview = fixdup(f->preview);
		p->keyed_hash = fixdup(f->keyed_hash);
		p->line = f->line;
		return p->kind && p->preview && p->keyed_hash ? 0 : -ENOMEM;
	}
	if (f->type == SCAN_FINDING_MALWARE) {
		Parallax__V1__MalwareFinding *m = malloc(sizeof(*m));

		if (!m)
			return -ENOMEM;
		parallax__v1__malware_finding__init(m);
		pf->detail_case = PARALLAX__V1__FINDING__DETAIL_MALWARE;
		pf->malware = m;
		m->signature = fixdup(f->rule);
		m->database = fixdup(f->database);
		m->hash_kind = fixdup(f->hash_kind);
		return m->signature && m->database && m->hash_kind ? 0 : -ENOMEM;
	}
	return 0;
}

Parallax__V1__Finding *scan_pb_finding(const struct scan_finding *f)
{
	Parallax__V1__Finding *pf = malloc(sizeof(*pf));

	if (!pf)
		return NULL;
	parallax__v1__finding__init(pf);
	pf->type = (Parallax__V1__FindingType)f->type;
	pf->severity = (Parallax__V1__Severity)f->severity;
	pf->path = fixdup(f->path);
	pf->inner = fixdup(f->inner);
	pf->sha256 = fixdup(f->sha256);
	pf->layer_digest = fixdup(f->layer_digest);
	if (f->type == SCAN_FINDING_PACKAGE) {
		pf->detail_case = PARALLAX__V1__FINDING__DETAIL_PACKAGE;
		pf->package = pb_package(f);
	} else if (pb_content(pf, f)) {
		scan_pb_finding_free(pf);
		return NULL;
	}
	if (!pf->path || !pf->inner || !pf->sha256 || !pf->layer_digest ||
	    (f->type == SCAN_FINDING_PACKAGE && !pf->package)) {
		scan_pb_finding_free(pf);
		return NULL;
	}
	return pf;
}

/* ---- batches --------------------------------------------------------- */

int scan_batcher_init(struct scan_batcher *b, struct px_client *client,
		      size_t max_findings, int send_wait_ms)
{
	memset(b, 0, sizeof(*b));
	b->client = client;
	b->max_findings = max_findings ? max_findings : 500;
	b->send_wait_ms = send_wait_ms;
	b->findings = calloc(b->max_findings, sizeof(*b->findings));
	return b->findings ? 0 : -ENOMEM;
}

static void drop_queued(struct scan_batcher *b)
{
	size_t i;

	for (i = 0; i < b->n; i++)
		scan_pb_finding_free(b->findings[i]);
	b->n = 0;
}

static void pb_event_free(Parallax__V1__ScanEvent *pe)
{
	if (!pe)
		return;
	free(pe->kind);
	free(pe->path);
	free(pe->inner);
	free(pe->detail);
	free(pe->layer_digest);
	free(pe);
}

static void drop_events(struct scan_batcher *b)
{
	size_t i;

	for (i = 0; i < b->n_events; i++)
		pb_event_free(b->events[i]);
	free(b->events);
	b->events = NULL;
	b->n_events = 0;
	b->events_dropped = 0;
}

void scan_batcher_destroy(struct scan_batcher *b)
{
	drop_queued(b);
	drop_events(b);
	free(b->findings);
	b->findings = NULL;
}

/* True when <what> names one of the NULL-terminated <words>. */
static bool what_has(const char *what, const char *const *words)
{
	for (; *words; words++)
		if (strstr(what, *words))
			return true;
	return false;
}

const char *scan_event_pb_kind(const struct scan_event *ev)
{
	static const char *const depth[] = { "max_depth", "depth", NULL };
	static const char *const bytes[] = { "max_entry_bytes",
		"max_archive_bytes", "byte budget", NULL };
	static const char *const ratio[] = { "max_ratio", "ratio", NULL };
	static const char *const entries[] = { "max_entries",
		"too many entries", "matches per file", NULL };
	static const char *const time[] = { "max_file_ms", "too long",
		"timeout", NULL };
	const char *what = ev->what ? ev->what : "";

	if (!strcmp(ev->kind, "bomb"))
		return "zip-bomb";
	if (strcmp(ev->kind, "limit"))
		return ev->kind;
	if (what_has(what, depth))
		return "depth-limit";
	if (what_has(what, bytes))
		return "byte-budget";
	if (what_has(what, ratio))
		return "ratio-limit";
	if (what_has(what, entries))
		return "entry-limit";
	if (what_has(what, time))
		return "time-limit";
	return "limit";
}

void scan_batcher_event(void *arg, const struct scan_event *ev)
{
	struct scan_batcher *b = arg;
	Parallax__V1__ScanEvent *pe;

	if (b->n_events >= SCAN_REPORT_MAX_EVENTS) {
		b->events_dropped++;
		return;
	}
	if (!b->events) {
		b->events = calloc(SCAN_REPORT_MAX_EVENTS, sizeof(*b->events));
		if (!b->events) {
			b->events_dropped++;
			return;
		}
	}
	pe = malloc(sizeof(*pe));
	if (!pe) {
		b->events_dropped++;
		return;
	}
	parallax__v1__scan_event__init(pe);
	pe->kind = fixdup(scan_event_pb_kind(ev));
	pe->path = fixdup(ev->path);
	pe->inner = fixdup(ev->inner);
	pe->detail = fixdup(ev->what);
	pe->layer_digest = fixdup(ev->layer_digest);
	if (!pe->kind || !pe->path || !pe->inner || !pe->detail ||
	    !pe->layer_digest) {
		pb_event_free(pe);
		b->events_dropped++;
		return;
	}
	b->events[b->n_events++] = pe;
}

/*
 * Hands <n> findings (and <report>, may be NULL) to the client as one
 * batch, waiting (by flushing) while its pending bound is reached, at most
 * send_wait_ms in all.  A batch too large for one message (hostile archives
 * can make very long inner paths) is split in halves, the report riding on
 * the last part.
 */
static int send_batch(struct scan_batcher *b, Parallax__V1__Finding **f,
		      size_t n, Parallax__V1__ScanReport *report)
{
	Parallax__V1__Batch batch = PARALLAX__V1__BATCH__INIT;
	int waited = 0, err;

	batch.n_findings = n;
	batch.findings = f;
	batch.scan = report;
	for (;;) {
		err = px_client_send(b->client, &batch, NULL);
		if (err != -ENOBUFS || waited >= b->send_wait_ms)
			break;
		px_client_flush(b->client, 1000);
		waited += 1000;
	}
	if (err == -EMSGSIZE && n > 1) {
		int second;

		err = send_batch(b, f, n / 2, NULL);
		second = send_batch(b, f + n / 2, n - n / 2, report);
		return second ? second : err;
	}
	if (err) {
		b->send_errors++;
		px_error("scan", "batch not queued", "findings=%zu err=%s", n,
			 px_q(strerror(-err)));
		return err;
	}
	b->batches_sent++;
	return 0;
}

int scan_batcher_flush(struct scan_batcher *b,
		       Parallax__V1__ScanReport *report)
{
	int err;

	if (!b->n && !report)
		return 0;
	if (report) {
		report->n_events = b->n_events;
		report->events = b->events;
		report->events_dropped = b->events_dropped;
	}
	err = send_batch(b, b->findings, b->n, report);
	drop_queued(b);
	if (report) {
		report->n_events = 0;
		report->events = NULL;
		drop_events(b);
	}
	return err;
}

int scan_batcher_emit(void *arg, const struct scan_finding *f)
{
	struct scan_batcher *b = arg;
	Parallax__V1__Finding *pf = scan_pb_finding(f);

	if (!pf)
		return -ENOMEM;
	b->findings[b->n++] = pf;
	if (b->n < b->max_findings)
		return 0;
	return scan_batcher_flush(b, NULL);
}
