// SPDX-License-Identifier: Apache-2.0
/*
 * The sqlite rpmdb (rpm >= 4.16: var/lib/rpm/rpmdb.sqlite or
 * usr/lib/sysimage/rpm/rpmdb.sqlite): table Packages(hnum, blob), one rpm
 * header per row.  The database is opened through /proc/self/fd, read-only
 * and "immutable" so sqlite takes no lock and writes no journal into the
 * snapshot.  The Berkeley DB and ndb formats of older rpm are not read.
 */
#include "inventory.h"

#include <errno.h>
#include <stdio.h>

#include <sqlite3.h>

#include "log.h"

int inv_parse_rpmdb_fd(int fd, inv_pkg_cb cb, void *arg)
{
	sqlite3 *db = NULL;
	sqlite3_stmt *st = NULL;
	char uri[64];
	int r, n = 0, bad = 0;

	snprintf(uri, sizeof(uri), "file:/proc/self/fd/%d?immutable=1", fd);
	r = sqlite3_open_v2(uri, &db, SQLITE_OPEN_READONLY | SQLITE_OPEN_URI,
			    NULL);
	if (r != SQLITE_OK)
		goto err_close;
	r = sqlite3_prepare_v2(db, "SELECT blob FROM Packages", -1, &st, NULL);
	if (r != SQLITE_OK)
		goto err_close;
	while ((r = sqlite3_step(st)) == SQLITE_ROW) {
		const void *blob = sqlite3_column_blob(st, 0);
		int len = sqlite3_column_bytes(st, 0);

		if (blob && len > 0 &&
		    inv_parse_rpm_header(blob, (size_t)len, cb, arg) > 0)
			n++;
		else
			bad++;
	}
	if (r != SQLITE_DONE)
		goto err_close;
	if (bad)
		px_debug("scan", "rpm headers unreadable", "count=%d", bad);
	sqlite3_finalize(st);
	sqlite3_close(db);
	return n;
err_close:
	px_debug("scan", "rpmdb unreadable", "err=%s",
		 px_q(db ? sqlite3_errmsg(db) : "out of memory"));
	sqlite3_finalize(st);
	sqlite3_close(db);
	return -EINVAL;
}
