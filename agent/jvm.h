/* SPDX-License-Identifier: Apache-2.0 */
/*
 * JVM class-level evidence: keeps the hotspot class__loaded probe attached
 * to every libjvm.so the agent knows of (those matching the configured
 * globs at start, and any a mapping pass finds later), fills the kernel's
 * watch list, and turns each watched class load into an ArtifactLoaded of
 * kind CLASS naming the class and, when one of the process's open jars
 * holds it, that jar.
 *
 * Class loads that happen before the agent attaches to a JVM's libjvm.so
 * are not seen; with the default glob, JVMs of the system's own JDKs are
 * covered from their first class.
 */
#ifndef AGENT_JVM_H
#define AGENT_JVM_H

#include <stddef.h>
#include <stdint.h>

struct agent_ctx;
struct agent_proc;
struct px_class_event;

/* The default watch list: log4j classes whose presence makes a jar
 * exploitable (JNDI lookups, JMS and socket appenders). */
#define AGENT_JVM_DEFAULT_WATCH                                              \
	"org.apache.logging.log4j.core.lookup.JndiLookup,"                    \
	"org.apache.logging.log4j.core.net.JndiManager,"                      \
	"org.apache.logging.log4j.core.appender.db.jdbc.JdbcAppender,"        \
	"org.apache.log4j.net.JMSAppender,"                                   \
	"org.apache.log4j.net.SocketServer"

#define AGENT_JVM_DEFAULT_LIBJVM "/usr/lib/jvm/*/lib/server/libjvm.so"

/*
 * Fills the watch list from <watch_csv> (binary names, dots or slashes,
 * comma-separated) and attaches to the libjvm.so files matching the globs
 * in <libjvm_csv>.  Without the JVM probe it logs once and returns 0.
 * -EINVAL when a class name is too long; -ENOMEM.
 */
int agent_jvm_setup(struct agent_ctx *ctx, const char *watch_csv,
		    const char *libjvm_csv);

/* Frees what setup made.  Accepts a context without it. */
void agent_jvm_cleanup(struct agent_ctx *ctx);

/* A mapping pass saw <path> mapped by <p>: attach when it is a libjvm.so
 * not yet attached. */
void agent_jvm_on_mapping(struct agent_ctx *ctx, const struct agent_proc *p,
			  const char *path, uint64_t dev, uint64_t ino);

/* A class record from the ring buffer. */
void agent_jvm_event(struct agent_ctx *ctx, const struct px_class_event *ev);

/* Converts "a.b.C" to "a/b/C" into <out>; -ENAMETOOLONG when it does not
 * fit <len>, -EINVAL when empty. */
int agent_jvm_internal_name(const char *binary, char *out, size_t len);

#endif
