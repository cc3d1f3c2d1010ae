/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The embedded default: a private PostgreSQL cluster under the collector's
 * data directory, made with the system's server binaries
 * (/usr/lib/postgresql/<ver>/bin) on first start and run for the
 * collector's lifetime.
 *
 *   <data-dir>/pg     the cluster (PGDATA), owned by the server's user
 *   <data-dir>/run    its unix socket; no TCP (listen_addresses = '')
 *
 * PostgreSQL refuses to run as root; a root caller runs initdb and the
 * server as the "postgres" user (fork, setgid/setuid, exec; no shell), with
 * both directories owned by it.  Authentication is "trust" on the socket,
 * whose directory only that user (and root) can enter.
 *
 * All of this blocks: it is start-up and shut-down work, outside the loop.
 */
#ifndef COLL_EMBEDDED_PG_H
#define COLL_EMBEDDED_PG_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#define COLL_EPG_DBNAME "parallax"
#define COLL_EPG_USER "parallax"

struct coll_epg {
	char bindir[PATH_MAX];
	char data_dir[PATH_MAX];
	char pgdata[PATH_MAX];
	char rundir[PATH_MAX];
	char log_path[PATH_MAX];  /* the server's log */
	char dsn[PATH_MAX + 128];
	bool drop_privileges;     /* run the server tools as <uid>/<gid> */
	uid_t uid;
	gid_t gid;
	bool running;
};

/*
 * Finds the newest /usr/lib/postgresql/<ver>/bin holding initdb, pg_ctl
 * and postgres (or checks <override> when not NULL).  0, or -ENOENT with an
 * explanation (how to install them) in <err>.
 */
int coll_epg_find_bindir(const char *override, char *out, size_t outlen,
			 char *err, size_t errlen);

/*
 * Creates the cluster if absent, starts it (or adopts a server already
 * running on it), creates the parallax database and fills e->dsn.
 * <bindir_override> may be NULL.  0, or -errno with the reason in <err>.
 */
int coll_epg_start(struct coll_epg *e, const char *data_dir,
		   const char *bindir_override, char *err, size_t errlen);

/* Restarts the server (pg_ctl restart -m fast); used by tests to cut the
 * collector's connections.  0 or -EIO. */
int coll_epg_restart(struct coll_epg *e, char *err, size_t errlen);

/* Stops the server (pg_ctl stop -m fast) if running.  0 or -EIO. */
int coll_epg_stop(struct coll_epg *e, char *err, size_t errlen);

#endif
