/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The scanner's two sinks: JSON lines on a stdio stream (--format jsonl),
 * and parallax.v1 batches streamed to the collector through px_client.
 */
#ifndef PX_SCAN_OUTPUT_H
#define PX_SCAN_OUTPUT_H

#include <stdbool.h>
#include <stdio.h>

#include "parallax.pb-c.h"
#include "scan.h"
#include "transport.h"

enum scan_format {
	SCAN_FMT_COLLECTOR,     /* batches to the collector (default) */
	SCAN_FMT_JSONL,
	SCAN_FMT_SARIF,         /* SARIF 2.1.0, one run */
	SCAN_FMT_CYCLONEDX,     /* CycloneDX 1.5 JSON */
};

/* "" (collector), jsonl, sarif, cyclonedx; -EINVAL otherwise. */
int scan_format_parse(const char *s, enum scan_format *out);

/* ---- JSON lines ------------------------------------------------------ */

/* A sink whose arg is the FILE * to write to: one object per finding, one
 * line each, flushed per line. */
int scan_jsonl_emit(void *arg, const struct scan_finding *f);

/* An event sink whose arg is the FILE *: {"type":"event", ...} lines. */
void scan_jsonl_event(void *arg, const struct scan_event *ev);

/* ---- whole documents: SARIF and CycloneDX ----------------------------- */

/*
 * A document written to <out> as findings arrive: results (SARIF) or
 * components (CycloneDX) are streamed, what must follow them (SARIF rules,
 * notifications, CycloneDX vulnerabilities) is kept in memory and written
 * by scan_doc_end(), which frees the document.  NULL when out of memory.
 */
struct scan_doc;
struct scan_doc *scan_doc_begin(FILE *out, enum scan_format fmt);
int scan_doc_emit(void *arg, const struct scan_finding *f);
void scan_doc_event(void *arg, const struct scan_event *ev);
/* What a scan root is, for the SARIF locations relative to it. */
enum scan_doc_root {
	SCAN_DOC_DIR,           /* a directory: paths below it */
	SCAN_DOC_FILE,          /* a single file: located in its directory */
	SCAN_DOC_IMAGE,         /* an image: paths inside it, from "/" */
};

/*
 * Makes absolute <root> (as findings name it: "/" with --snapshot-root)
 * the base of the locations that follow, until the next call: a SARIF
 * uriBaseId in the run's originalUriBaseIds.  Nothing for CycloneDX.
 * 0, or -ENOMEM (locations are then absolute file:// URIs).
 */
int scan_doc_root(struct scan_doc *d, const char *root,
		  enum scan_doc_root kind);
/* Returns 0, or -EIO when the output could not be written. */
int scan_doc_end(struct scan_doc *d);

/* ---- batches to the collector ---------------------------------------- */

struct scan_batcher {
	struct px_client *client;
	size_t max_findings;            /* findings per batch */
	int send_wait_ms;               /* how long to wait for room */
	Parallax__V1__Finding **findings;
	size_t n;
	/* events of the scan in progress, sent with its ScanReport */
	Parallax__V1__ScanEvent **events;
	size_t n_events;
	uint64_t events_dropped;        /* past SCAN_REPORT_MAX_EVENTS */
	uint64_t batches_sent;
	uint64_t send_errors;
};

/* Prepares <b> to send through <client> (borrowed).  -ENOMEM. */
int scan_batcher_init(struct scan_batcher *b, struct px_client *client,
		      size_t max_findings, int send_wait_ms);
void scan_batcher_destroy(struct scan_batcher *b);

/* A sink whose arg is a struct scan_batcher: queues a deep copy of the
 * finding, sending the batch when it is full. */
int scan_batcher_emit(void *arg, const struct scan_finding *f);

/* Events one ScanReport carries; the rest are only counted. */
#define SCAN_REPORT_MAX_EVENTS 1000

/* An event sink whose arg is a struct scan_batcher: keeps a copy of the
 * event for the next report (at most SCAN_REPORT_MAX_EVENTS). */
void scan_batcher_event(void *arg, const struct scan_event *ev);

/* The ScanEvent kind for an event: depth-limit, byte-budget, ratio-limit,
 * entry-limit, time-limit, zip-bomb, recursive, corrupt, or the scanner's
 * own kind when none of these fits. */
const char *scan_event_pb_kind(const struct scan_event *ev);

/* Sends what is queued with <report> (borrowed, may be NULL) on the batch:
 * the batch that closes one scan.  The events kept since the last report
 * ride on <report> (events, events_dropped) and are then dropped.
 * 0 or -errno. */
int scan_batcher_flush(struct scan_batcher *b,
		       Parallax__V1__ScanReport *report);

/* Converts <f> into a newly allocated protobuf finding (all strings
 * copied and made valid UTF-8); free with scan_pb_finding_free().  NULL when
 * out of memory. */
Parallax__V1__Finding *scan_pb_finding(const struct scan_finding *f);
void scan_pb_finding_free(Parallax__V1__Finding *pf);

#endif
