/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Schema migrations: collector/migrations/NNN_name.sql, embedded into the
 * binary at build time (embed_migrations.c), applied in order at start-up.
 * schema_migrations records what is applied; each migration runs in its own
 * transaction under an advisory lock, so collectors starting together apply
 * each one exactly once.
 */
#ifndef COLL_MIGRATE_H
#define COLL_MIGRATE_H

#include <stddef.h>

#include <libpq-fe.h>

struct coll_migration {
	long version;
	const char *name;
	const char *sql;
};

extern const struct coll_migration coll_migrations[];
extern const size_t coll_n_migrations;

/*
 * Applies the migrations not yet recorded, over a blocking connection (this
 * runs at start-up, before the loop).  Returns the number applied (>= 0),
 * or -EIO with the server's message in <err>.  <conn> stays usable.
 */
int coll_migrate(PGconn *conn, char *err, size_t errlen);

#endif
