/* A tiny static mount(2) front end for the kernel-client test's initramfs:
 * the kernel's NFS client takes text options (vers=, proto=, port=,
 * mountport=, addr=, mountaddr=, clientaddr=, ...), so no mount.nfs,
 * rpcbind or DNS is needed in the guest.
 *
 *   nfsmount [-r] [-t TYPE] SOURCE TARGET [OPTIONS]
 *
 * TYPE defaults to "nfs"; -r mounts read-only. Exit status 0 on success,
 * 1 with the errno text on stderr otherwise. Built with gcc -static by
 * tests/kernel/build-initramfs.sh; never installed. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <unistd.h>

static void usage(void)
{
	fprintf(stderr, "usage: nfsmount [-r] [-t TYPE] SOURCE TARGET [OPTIONS]\n");
	exit(2);
}

int main(int argc, char **argv)
{
	const char *type = "nfs";
	unsigned long flags = 0;
	int o;
	while ((o = getopt(argc, argv, "rt:")) != -1) {
		switch (o) {
		case 'r':
			flags |= MS_RDONLY;
			break;
		case 't':
			type = optarg;
			break;
		default:
			usage();
		}
	}
	if (argc - optind < 2 || argc - optind > 3)
		usage();
	const char *source = argv[optind];
	const char *target = argv[optind + 1];
	const char *options = argc - optind == 3 ? argv[optind + 2] : "";
	if (mount(source, target, type, flags, options) != 0) {
		int e = errno;
		fprintf(stderr, "nfsmount: mount -t %s %s %s -o %s: %s (errno %d)\n", type, source,
			target, options, strerror(e), e);
		return 1;
	}
	return 0;
}
