// SPDX-License-Identifier: Apache-2.0
/*
 * Validation of decoded batches: the invariants the collector relies on
 * before it touches the database.  protobuf-c already guarantees the wire
 * format; this checks meaning.
 */
#include "transport.h"

#include <stdbool.h>
#include <string.h>

#define MAX_ID_LEN 256

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

	switch (e->kind_case) {
	case PARALLAX__V1__EVENT__KIND_EXEC:
		p = e->exec->proc;
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
	return NULL;
}

const char *px_batch_invalid(const Parallax__V1__Batch *b)
{
	const Parallax__V1__Source *s = b->source;

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
	for (size_t i = 0; i < b->n_events; i++) {
		const char *why = event_invalid(b->events[i]);

		if (why != NULL)
			return why;
	}
	for (size_t i = 0; i < b->n_findings; i++) {
		const char *why = finding_invalid(b->findings[i]);

		if (why != NULL)
			return why;
	}
	return NULL;
}
