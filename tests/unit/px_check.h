/* SPDX-License-Identifier: Apache-2.0 */
/*
 * What every Check test program ends with: run the suite, one process per
 * test (Check's fork mode, so a crash fails only its own case), and turn the
 * result into the exit status meson reads.
 */
#ifndef PX_CHECK_H
#define PX_CHECK_H

#include <check.h>
#include <stdlib.h>

static inline int px_check_run(Suite *s)
{
	SRunner *sr = srunner_create(s);
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}

#endif
