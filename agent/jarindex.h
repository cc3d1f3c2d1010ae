/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Just enough of the zip format to answer "does this jar hold entry X?"
 * from its central directory, so a class load seen in a JVM can be tied to
 * the jar it came from.  Reads the end of the file and the directory only;
 * nothing is inflated.
 */
#ifndef AGENT_JARINDEX_H
#define AGENT_JARINDEX_H

#include <stdbool.h>

/*
 * True when the zip archive open as <fd> lists an entry named exactly
 * <entry> ("org/a/B.class").  False when it does not, or is not a zip this
 * reader understands (zip64 directories are not read).  Reads with pread,
 * so the descriptor's offset is left alone.
 */
bool agent_jar_has_entry(int fd, const char *entry);

#endif
