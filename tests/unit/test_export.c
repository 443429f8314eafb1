#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <string.h>

#include "cunit_main.h"
#include "export.h"
#include "fhandle.h"

static struct sockaddr_in v4(const char *addr, uint16_t port)
{
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(port)};
	inet_pton(AF_INET, addr, &sa.sin_addr);
	return sa;
}

static void test_defaults(void)
{
	struct export e;
	char err[256];
	CU_ASSERT_EQUAL(export_parse("/data", &e, err, sizeof(err)), 0);
	CU_ASSERT_STRING_EQUAL(e.path, "/data");
	CU_ASSERT_FALSE(e.read_only);
	CU_ASSERT_EQUAL(e.squash, SQUASH_ROOT);
	CU_ASSERT_EQUAL(e.anonuid, 65534);
	CU_ASSERT_FALSE(e.secure);
	struct sockaddr_in sa = v4("192.0.2.7", 40000);
	CU_ASSERT(export_client_allowed(&e, (struct sockaddr *)&sa));
	CU_ASSERT(export_port_allowed(&e, (struct sockaddr *)&sa));
	CU_ASSERT_EQUAL(export_parse("//data//x/", &e, err, sizeof(err)), 0);
	CU_ASSERT_STRING_EQUAL(e.path, "/data/x");
	CU_ASSERT_EQUAL(export_parse("/", &e, err, sizeof(err)), 0);
	CU_ASSERT_STRING_EQUAL(e.path, "/");
}

static void test_options(void)
{
	struct export e;
	char err[256];
	CU_ASSERT_EQUAL(export_parse("/d:ro,all_squash,anonuid=7,anongid=8,secure,"
				     "clients=10.0.0.0/8+192.168.1.5+fd00::/8",
				     &e, err, sizeof(err)),
			0);
	CU_ASSERT(e.read_only);
	CU_ASSERT_EQUAL(e.squash, SQUASH_ALL);
	CU_ASSERT_EQUAL(e.anonuid, 7);
	CU_ASSERT_EQUAL(e.anongid, 8);
	CU_ASSERT(e.secure);
	CU_ASSERT_EQUAL(e.nnets, 3);
	struct sockaddr_in in = v4("10.200.3.4", 800), out = v4("11.0.0.1", 800),
			   host = v4("192.168.1.5", 800), high = v4("10.1.1.1", 40000);
	CU_ASSERT(export_client_allowed(&e, (struct sockaddr *)&in));
	CU_ASSERT_FALSE(export_client_allowed(&e, (struct sockaddr *)&out));
	CU_ASSERT(export_client_allowed(&e, (struct sockaddr *)&host));
	CU_ASSERT(export_port_allowed(&e, (struct sockaddr *)&in));
	CU_ASSERT_FALSE(export_port_allowed(&e, (struct sockaddr *)&high));
	struct sockaddr_in6 mapped = {.sin6_family = AF_INET6};
	inet_pton(AF_INET6, "::ffff:10.9.8.7", &mapped.sin6_addr);
	CU_ASSERT(export_client_allowed(&e, (struct sockaddr *)&mapped));
	struct sockaddr_in6 six = {.sin6_family = AF_INET6};
	inet_pton(AF_INET6, "fd00::1", &six.sin6_addr);
	CU_ASSERT(export_client_allowed(&e, (struct sockaddr *)&six));
	inet_pton(AF_INET6, "fe80::1", &six.sin6_addr);
	CU_ASSERT_FALSE(export_client_allowed(&e, (struct sockaddr *)&six));
}

static void test_bad_specs(void)
{
	struct export e;
	char err[256];
	const char *bad[] = {"data",
			     "/a/../b",
			     "/a:bogus",
			     "/a:anonuid=x",
			     "/a:clients=",
			     "/a:clients=10.0.0.0/33",
			     "/a:clients=1.2.3.4/x",
			     "",
			     "/a/./b",
			     "/a:rw=1"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err[0] = '\0';
		CU_ASSERT_EQUAL(export_parse(bad[i], &e, err, sizeof(err)), -EINVAL);
		CU_ASSERT(err[0] != '\0');
	}
}

static void test_squash(void)
{
	struct export e;
	char err[256];
	struct mcfs_cred c;
	uint32_t gids[] = {0, 10, 20};
	export_parse("/x", &e, err, sizeof(err));
	export_map_cred(&e, true, 0, 0, gids, 3, &c);
	CU_ASSERT_EQUAL(c.uid, 65534);
	CU_ASSERT_EQUAL(c.gid, 65534);
	export_map_cred(&e, true, 1000, 1000, gids, 3, &c);
	CU_ASSERT_EQUAL(c.uid, 1000);
	CU_ASSERT_EQUAL(c.ngroups, 2); /* group 0 dropped under root_squash */
	export_map_cred(&e, false, 1000, 1000, NULL, 0, &c);
	CU_ASSERT_EQUAL(c.uid, 65534); /* AUTH_NONE is anonymous */
	export_parse("/x:no_root_squash", &e, err, sizeof(err));
	export_map_cred(&e, true, 0, 0, gids, 3, &c);
	CU_ASSERT_EQUAL(c.uid, 0);
	CU_ASSERT_EQUAL(c.ngroups, 3);
	export_parse("/x:all_squash,anonuid=5,anongid=6", &e, err, sizeof(err));
	export_map_cred(&e, true, 1000, 1000, gids, 3, &c);
	CU_ASSERT_EQUAL(c.uid, 5);
	CU_ASSERT_EQUAL(c.gid, 6);
}

static void test_fhandle(void)
{
	uint8_t vol[16], other[16];
	CU_ASSERT_EQUAL(fh_parse_uuid("811262a0-19e7-49f1-b662-86fffa3d41e8", vol), 0);
	CU_ASSERT_EQUAL(vol[0], 0x81);
	CU_ASSERT_EQUAL(vol[15], 0xe8);
	CU_ASSERT_EQUAL(fh_parse_uuid("811262a0-19e7", vol + 0) == 0, 0);
	fh_parse_uuid("811262a0-19e7-49f1-b662-86fffa3d41e8", vol);
	memcpy(other, vol, 16);
	other[3] ^= 1;
	struct fhandle h = {.ino = 123456789012ULL, .generation = 77, .export_id = 0xdeadbeef},
		       back;
	memcpy(h.volume, vol, 16);
	uint8_t wire[FH_SIZE];
	fh_encode(&h, wire);
	CU_ASSERT_EQUAL(fh_decode(wire, sizeof(wire), vol, &back), 0);
	CU_ASSERT_EQUAL(back.ino, h.ino);
	CU_ASSERT_EQUAL(back.generation, 77);
	CU_ASSERT_EQUAL(back.export_id, 0xdeadbeef);
	CU_ASSERT_EQUAL(fh_decode(wire, sizeof(wire), other, &back), -ESTALE);
	CU_ASSERT_EQUAL(fh_decode(wire, sizeof(wire) - 1, vol, &back), -EBADMSG);
	wire[0] = 'X';
	CU_ASSERT_EQUAL(fh_decode(wire, sizeof(wire), vol, &back), -EBADMSG);
	uint8_t zeros[FH_SIZE] = {0};
	CU_ASSERT_EQUAL(fh_decode(zeros, sizeof(zeros), vol, &back), -EBADMSG);
	CU_ASSERT_NOT_EQUAL(export_path_id("/a"), export_path_id("/b"));
	CU_ASSERT_EQUAL(export_path_id("/a"), export_path_id("/a"));
}

int main(void)
{
	static const struct test_case tests[] = {
	    {"defaults", test_defaults},    {"options and networks", test_options},
	    {"bad specs", test_bad_specs},  {"squashing", test_squash},
	    {"file handles", test_fhandle}, {NULL, NULL}};
	if (test_add_suite("exports and handles", NULL, NULL, tests) < 0)
		return 1;
	return test_run_all();
}
