/* SPDX-License-Identifier: Apache-2.0 */
/*
 * log4j identified from its classes, per archive level.
 *
 * The archive reader asks log4j_wants() for every entry name; the entries it
 * wants are handed to log4j_feed() (with their bytes when the verdict needs
 * them).  Classes are matched by path suffix at a directory boundary, so a
 * relocated (shaded) copy counts, and grouped by the package root in front
 * of the suffix, so two copies in one fat jar are two findings.  When the
 * level ends, log4j_report() emits one finding per copy: log4j-core 2.x with
 * its CVE-2021-44228/-45046/-45105/-44832 verdicts, or log4j 1.x with the
 * CVEs of the vulnerable classes it carries.  Versions come from the level's
 * pom.properties or MANIFEST.MF when present; verdicts never depend on them.
 */
#ifndef PX_SCAN_LOG4J_H
#define PX_SCAN_LOG4J_H

#include <stdbool.h>
#include <stddef.h>

#include "scan.h"

struct log4j_set *log4j_set_new(void);
void log4j_set_free(struct log4j_set *s);

/* True when <name> matters to log4j identification; *<want_data> says
 * whether log4j_feed() needs the entry's bytes. */
bool log4j_wants(const char *name, bool *want_data);

/* Records entry <name> (its bytes in <data>, NULL when not wanted). */
void log4j_feed(struct log4j_set *s, const char *name, const void *data,
		size_t len);

/* Emits the level's log4j findings and claims the poms they account for. */
void log4j_report(struct scan_level *lvl);

#endif
