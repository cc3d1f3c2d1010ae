// SPDX-License-Identifier: Apache-2.0
/*
 * Validation of decoded batches: the invariants the collector relies on
 * before it touches the database.  protobuf-c already guarantees the wire
 * format; this checks meaning.
 */
#include "transport.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "text.h"

#define MAX_ID_LEN 256
/* Linux's PID_MAX_LIMIT: no pid (or ppid) on any system is larger, and
 * the collector stores them as integer. */
#define PX_PID_MAX 4194304u
/* Counters, sizes and nanosecond times are stored as bigint. */
#define PX_BIGINT_MAX ((uint64_t)INT64_MAX)
/* Batch messages nest a few levels; deeper is not ours. */
#define MAX_MSG_DEPTH 8

/* Whether <s> is valid UTF-8 all the way to its NUL (common/text's rule:
 * no overlong forms, surrogates or code points past U+10FFFF). */
static bool utf8_ok(const char *s)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t n;

	for (; *p; p += n)
		if ((n = px_utf8_seq_len(p)) == 0)
			return false;
	return true;
}

/*
 * The first string field of <m>, at any depth, that is not valid UTF-8,
 * by its field name; NULL when all are.  PostgreSQL would refuse such a
 * string when the batch's rows are written, failing every batch that
 * shares the transaction, and our own sources never send one: the agent
 * and the scanner repair their text at the source (px_utf8_fix).  Walks
 * protobuf-c's descriptors, so new fields are covered without a change.
 */
static const char *bad_string_field(const ProtobufCMessage *m, int depth)
{
	const ProtobufCMessageDescriptor *d = m->descriptor;

	if (depth > MAX_MSG_DEPTH)
		return "message nesting";
	for (unsigned int i = 0; i < d->n_fields; i++) {
		const ProtobufCFieldDescriptor *f = &d->fields[i];
		const char *base = (const char *)m + f->offset;
		size_t n = 1;

		if (f->type != PROTOBUF_C_TYPE_STRING &&
		    f->type != PROTOBUF_C_TYPE_MESSAGE)
			continue;
		if ((f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF) &&
		    *(const uint32_t *)((const char *)m +
					f->quantifier_offset) != f->id)
			continue;
		if (f->label == PROTOBUF_C_LABEL_REPEATED) {
			n = *(const size_t *)((const char *)m +
					      f->quantifier_offset);
			base = *(const char *const *)base;
		}
		for (size_t k = 0; k < n; k++) {
			const void *v = ((const void *const *)base)[k];
			const char *why;

			if (v == NULL)
				continue;
			if (f->type == PROTOBUF_C_TYPE_STRING) {
				if (!utf8_ok(v))
					return f->name;
				continue;
			}
			why = bad_string_field(v, depth + 1);
			if (why != NULL)
				return why;
		}
	}
	return NULL;
}

static bool is_hex64(const char *s)
{
	size_t n = 0;

	for (; s[n] != '\0'; n++) {
		char c = s[n];

		if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f')))
			return false;
	}
	return n == 64;
}

static bool id_ok(const char *s)
{
	size_t n = s != NULL ? strnlen(s, MAX_ID_LEN + 1) : 0;

	return n > 0 && n <= MAX_ID_LEN;
}

static const char *finding_invalid(const Parallax__V1__Finding *f)
{
	if (f->path == NULL || f->path[0] == '\0')
		return "finding without a path";
	if (f->sha256 != NULL && f->sha256[0] != '\0' && !is_hex64(f->sha256))
		return "finding sha256 is not 64 lowercase hex characters";
	switch (f->detail_case) {
	case PARALLAX__V1__FINDING__DETAIL_PACKAGE:
		if (f->package->name == NULL || f->package->name[0] == '\0')
			return "package finding without a name";
		for (size_t i = 0; i < f->package->n_cves; i++)
			if (!id_ok(f->package->cves[i]->id))
				return "package finding with an empty CVE id";
		break;
	case PARALLAX__V1__FINDING__DETAIL_SECRET:
	case PARALLAX__V1__FINDING__DETAIL_PII:
	case PARALLAX__V1__FINDING__DETAIL_MALWARE:
		break;
	default:
		return "finding without detail";
	}
	return NULL;
}

static const char *event_invalid(const Parallax__V1__Event *e)
{
	const Parallax__V1__ProcessRef *p = NULL;

	if (e->ts_ns > PX_BIGINT_MAX)
		return "event ts_ns out of range";
	switch (e->kind_case) {
	case PARALLAX__V1__EVENT__KIND_EXEC:
		p = e->exec->proc;
		if (e->exec->ppid > PX_PID_MAX)
			return "exec ppid out of range";
		break;
	case PARALLAX__V1__EVENT__KIND_FORK:
		p = e->fork->proc;
		break;
	case PARALLAX__V1__EVENT__KIND_EXIT:
		p = e->exit->proc;
		break;
	case PARALLAX__V1__EVENT__KIND_ARTIFACT:
		p = e->artifact->proc;
		if (e->artifact->path == NULL || e->artifact->path[0] == '\0')
			return "artifact event without a path";
		if (e->artifact->sha256[0] != '\0' &&
		    !is_hex64(e->artifact->sha256))
			return "artifact sha256 is not 64 lowercase hex characters";
		if (e->artifact->size > PX_BIGINT_MAX)
			return "artifact size out of range";
		break;
	case PARALLAX__V1__EVENT__KIND_NET:
		p = e->net->proc;
		break;
	case PARALLAX__V1__EVENT__KIND_MCP:
		p = e->mcp->proc;
		break;
	case PARALLAX__V1__EVENT__KIND_VIOLATION:
		p = e->violation->proc;
		break;
	case PARALLAX__V1__EVENT__KIND_HEALTH:
		return NULL;
	default:
		return "event without a kind";
	}
	if (p == NULL || !id_ok(p->exec_id))
		return "event without a process exec_id";
	if (p->pid > PX_PID_MAX)
		return "event pid out of range";
	if (p->start_time_ns > PX_BIGINT_MAX)
		return "event start_time_ns out of range";
	return NULL;
}

static const char *scan_invalid(const Parallax__V1__ScanReport *r)
{
	const uint64_t v[] = { r->started_ns, r->finished_ns, r->files,
			       r->bytes, r->findings, r->errors,
			       r->events_dropped };

	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++)
		if (v[i] > PX_BIGINT_MAX)
			return "scan report counter out of range";
	return NULL;
}

/* "string field exe is not valid UTF-8", in a buffer of the calling
 * thread's (the gRPC and the loop threads both validate). */
static const char *strings_invalid(const Parallax__V1__Batch *b)
{
	static _Thread_local char why[96];
	const char *field = bad_string_field(&b->base, 0);

	if (field == NULL)
		return NULL;
	snprintf(why, sizeof(why), "string field %s is not valid UTF-8",
		 field);
	return why;
}

const char *px_batch_invalid(const Parallax__V1__Batch *b)
{
	const Parallax__V1__Source *s = b->source;
	const char *why;

	if (s == NULL)
		return "batch without a source";
	if (!id_ok(s->source_id))
		return "source_id missing or longer than 256 bytes";
	if (!id_ok(s->boot_id))
		return "boot_id missing or longer than 256 bytes";
	if (s->kind != PARALLAX__V1__SOURCE_KIND__SOURCE_KIND_AGENT &&
	    s->kind != PARALLAX__V1__SOURCE_KIND__SOURCE_KIND_SCANNER)
		return "source kind is neither agent nor scanner";
	if (s->host == NULL || !id_ok(s->host->host_id))
		return "source without host facts or host_id";
	if (b->seq == 0)
		return "seq must start at 1";
	if (b->seq > PX_BIGINT_MAX)
		return "seq out of range";
	if (b->scan != NULL && (why = scan_invalid(b->scan)) != NULL)
		return why;
	for (size_t i = 0; i < b->n_events; i++) {
		why = event_invalid(b->events[i]);
		if (why != NULL)
			return why;
	}
	for (size_t i = 0; i < b->n_findings; i++) {
		why = finding_invalid(b->findings[i]);
		if (why != NULL)
			return why;
	}
	return strings_invalid(b);
}
