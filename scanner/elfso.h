/* SPDX-License-Identifier: Apache-2.0 */
/*
 * ELF shared objects (lib*.so*) as packages of ecosystem "elf": soname and
 * version (see elf.c for where the version comes from).
 */
#ifndef PX_SCAN_ELFSO_H
#define PX_SCAN_ELFSO_H

#include <stdbool.h>
#include <stddef.h>

#include "scan.h"

/* True when <path> is named like a shared library (lib*.so*). */
bool elf_wants(const char *path);

/* The DT_SONAME of the ELF image <data>; -EINVAL when it is not a shared
 * object, -ENOENT without a soname. */
int elf_soname(const void *data, size_t len, char *out, size_t cap);

/* Emits a package finding for the shared object <file>, if it is one. */
void elf_scan_file(struct scan_ctx *ctx, struct scan_file *file);

#endif
