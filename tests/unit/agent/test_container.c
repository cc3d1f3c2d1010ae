// SPDX-License-Identifier: Apache-2.0
/* Container ids parsed out of cgroup v2 paths. */
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "container.h"
#include "px_check.h"

#define ID "4f1c2ab3d4e5f60718293a4b5c6d7e8f9a0b1c2d3e4f5a6b7c8d9e0f1a2b3c4d"

static void expect_id(const char *path, const char *want)
{
	char out[AGENT_CONTAINER_ID_LEN + 1] = "junk";

	ck_assert_msg(agent_container_id(path, out) == 0, "no id in %s", path);
	ck_assert_str_eq(out, want);
}

static void expect_none(const char *path)
{
	char out[AGENT_CONTAINER_ID_LEN + 1] = "junk";

	ck_assert_int_eq(agent_container_id(path, out), -ENOENT);
	ck_assert_str_eq(out, "");
}

START_TEST(docker_under_systemd_is_recognised)
{
	expect_id("/system.slice/docker-" ID ".scope", ID);
}
END_TEST

START_TEST(docker_with_the_cgroupfs_driver_is_recognised)
{
	expect_id("/docker/" ID, ID);
}
END_TEST

START_TEST(kubernetes_runtimes_are_recognised)
{
	expect_id("/kubepods.slice/kubepods-besteffort.slice/"
		  "kubepods-besteffort-pod1234.slice/cri-containerd-" ID
		  ".scope", ID);
	expect_id("/kubepods.slice/kubepods-pod99.slice/crio-" ID ".scope",
		  ID);
	expect_id("/kubepods/burstable/pod0e7f-aa/" ID, ID);
}
END_TEST

START_TEST(the_innermost_id_wins_and_trailing_components_are_skipped)
{
	expect_id("/machine.slice/libpod-" ID ".scope/container", ID);
	expect_id("/docker/" ID "/docker/" ID "/init.scope", ID);
	expect_id("/docker/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa/"
		  "nested/" ID, ID);
}
END_TEST

START_TEST(uppercase_ids_are_lowered)
{
	expect_id("/docker/4F1C2AB3D4E5F60718293A4B5C6D7E8F9A0B1C2D3E4F5A6B7C8D9E0F1A2B3C4D",
		  ID);
}
END_TEST

START_TEST(host_paths_name_no_container)
{
	expect_none("/");
	expect_none("");
	expect_none("/user.slice/user-0.slice/session-3.scope");
	expect_none("/system.slice/ssh.service");
	/* One digit short, and a non-hex character. */
	expect_none("/docker/4f1c2ab3d4e5f60718293a4b5c6d7e8f9a0b1c2d3e4f5a6b7c8d9e0f1a2b3c4");
	expect_none("/docker/4f1c2ab3d4e5f60718293a4b5c6d7e8f9a0b1c2d3e4f5a6b7c8d9e0f1a2b3c4g");
	expect_none("/system.slice/crio-conmon-" ID ".scope");
}
END_TEST

START_TEST(the_cgroup_path_of_a_process_is_its_v2_line)
{
	char path[4096], line[4096], want[4096] = "";
	FILE *f = fopen("/proc/self/cgroup", "r");

	ck_assert_ptr_nonnull(f);
	while (fgets(line, sizeof(line), f))
		if (!strncmp(line, "0::", 3))
			snprintf(want, sizeof(want), "%.*s",
				 (int)strcspn(line + 3, "\n"), line + 3);
	fclose(f);
	ck_assert_str_ne(want, "");
	ck_assert_int_eq(agent_cgroup_path((uint32_t)getpid(), path,
					   sizeof(path)), 0);
	ck_assert_str_eq(path, want);
	ck_assert_int_eq(agent_cgroup_path(0x7ffffff0u, path, sizeof(path)),
			 -ENOENT);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("agent-container");
	TCase *tc = tcase_create("container");

	tcase_add_test(tc, docker_under_systemd_is_recognised);
	tcase_add_test(tc, docker_with_the_cgroupfs_driver_is_recognised);
	tcase_add_test(tc, kubernetes_runtimes_are_recognised);
	tcase_add_test(tc,
		       the_innermost_id_wins_and_trailing_components_are_skipped);
	tcase_add_test(tc, uppercase_ids_are_lowered);
	tcase_add_test(tc, host_paths_name_no_container);
	tcase_add_test(tc, the_cgroup_path_of_a_process_is_its_v2_line);
	suite_add_tcase(s, tc);
	return px_check_run(s);
}
