/*
 * libFuzzer target for the RPC message layer: any byte string goes through
 * rpc_decode_call, and a call that decodes has its arguments run through
 * several XDR routines standing in for the NFS ones, then through the real
 * NFSv3 or MOUNT v3 decoder its procedure number selects, then freed, so
 * that ASan sees every partial decode and LeakSanitizer every missed free.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "mount3.h"
#include "nfs3.h"
#include "nfs4.h"
#include "rpc.h"
#include "rpc_msg.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Bounds in the spirit of NFSv3: a path, a modest payload. */
#define FZ_MAX_STRING 1024
#define FZ_MAX_BYTES  (64 * 1024)

struct fz_bytes {
	u_int len;
	char *val;
};

struct fz_mixed {
	char *name;
	struct fz_bytes data;
	struct rpc5531_authsys_parms cred;
	struct rpc5531_msg msg;
	u_int tail;
};

static bool_t fz_string(XDR *xdrs, char **s)
{
	return xdr_string(xdrs, s, FZ_MAX_STRING);
}

static bool_t fz_bytes(XDR *xdrs, struct fz_bytes *b)
{
	return xdr_bytes(xdrs, &b->val, &b->len, FZ_MAX_BYTES);
}

/* Several allocating members in a row, so failures strike between them. */
static bool_t fz_mixed(XDR *xdrs, struct fz_mixed *m)
{
	return fz_string(xdrs, &m->name) && fz_bytes(xdrs, &m->data) &&
	       xdr_rpc5531_authsys_parms(xdrs, &m->cred) && xdr_rpc5531_msg(xdrs, &m->msg) &&
	       xdr_u_int(xdrs, &m->tail);
}

/* Room for re-encoding the largest arguments an input can hold: a WRITE's
 * payload, or the two byte strings of fz_mixed. */
static uint8_t out[NFS3_MAXDATA + 2 * FZ_MAX_BYTES + 4096];

static void try_args(const uint8_t *data, size_t size, const struct rpc_call_header *hdr,
		     xdrproc_t proc)
{
	union {
		char *string;
		struct fz_bytes bytes;
		struct fz_mixed mixed;
		struct rpc5531_authsys_parms parms;
		struct rpc5531_msg msg;
		dirpath path;
		GETATTR3args getattr;
		SETATTR3args setattr;
		LOOKUP3args lookup;
		ACCESS3args access;
		READLINK3args readlink;
		READ3args read;
		WRITE3args write;
		CREATE3args create;
		MKDIR3args mkdir;
		SYMLINK3args symlink;
		MKNOD3args mknod;
		REMOVE3args remove;
		RMDIR3args rmdir;
		RENAME3args rename;
		LINK3args link;
		READDIR3args readdir;
		READDIRPLUS3args readdirplus;
		FSSTAT3args fsstat;
		FSINFO3args fsinfo;
		PATHCONF3args pathconf;
		COMMIT3args commit;
		COMPOUND4args compound;
	} args;

	memset(&args, 0, sizeof(args));
	if (!rpc_decode_args(data, size, hdr, proc, &args))
		return;
	/* What decoded must encode again, and a reply never outgrows its buffer. */
	int n = rpc_encode_results(out, sizeof(out), hdr->xid, proc, &args);
	if (n < 0 || (size_t)n > sizeof(out))
		__builtin_trap();
	rpc_free_args(proc, &args);
}

#define FZ_MOUNT_PROGRAM 100005

/*
 * The NFSv3 argument decoders by procedure number (RFC 1813 §3); NULL takes
 * none. Indexed modulo the table for every program but MOUNT, so that the
 * fuzzer reaches all of them without first finding the program number.
 */
static const xdrproc_t nfs3_args[] = {
    NULL,
    (xdrproc_t)xdr_GETATTR3args,
    (xdrproc_t)xdr_SETATTR3args,
    (xdrproc_t)xdr_LOOKUP3args,
    (xdrproc_t)xdr_ACCESS3args,
    (xdrproc_t)xdr_READLINK3args,
    (xdrproc_t)xdr_READ3args,
    (xdrproc_t)xdr_WRITE3args,
    (xdrproc_t)xdr_CREATE3args,
    (xdrproc_t)xdr_MKDIR3args,
    (xdrproc_t)xdr_SYMLINK3args,
    (xdrproc_t)xdr_MKNOD3args,
    (xdrproc_t)xdr_REMOVE3args,
    (xdrproc_t)xdr_RMDIR3args,
    (xdrproc_t)xdr_RENAME3args,
    (xdrproc_t)xdr_LINK3args,
    (xdrproc_t)xdr_READDIR3args,
    (xdrproc_t)xdr_READDIRPLUS3args,
    (xdrproc_t)xdr_FSSTAT3args,
    (xdrproc_t)xdr_FSINFO3args,
    (xdrproc_t)xdr_PATHCONF3args,
    (xdrproc_t)xdr_COMMIT3args,
};

/* MOUNT v3: MNT (1) and UMNT (3) take a dirpath, the others nothing. */
static xdrproc_t mount3_args(uint32_t proc)
{
	return proc == 1 || proc == 3 ? (xdrproc_t)xdr_dirpath : NULL;
}

/* NFSv4 COMPOUND as the gateway reads it (nfs4_compound.c): tag, minor
 * version and count, then one operation after another until one fails. */
static bool_t fz_compound_ops(XDR *xdrs, void *unused)
{
	if (xdrs->x_op != XDR_DECODE)
		return TRUE; /* decodes into locals: nothing to encode or free */
	compound_tag4 tag = {0, NULL};
	uint32_t minor, n;
	bool_t ok =
	    xdr_compound_tag4(xdrs, &tag) && xdr_uint32_t(xdrs, &minor) && xdr_uint32_t(xdrs, &n);
	xdr_free((xdrproc_t)xdr_compound_tag4, (char *)&tag);
	for (uint32_t i = 0; ok && i < n && i < NFS4_MAX_OPS; i++) {
		nfs_argop4 op;
		memset(&op, 0, sizeof(op));
		ok = xdr_nfs_argop4(xdrs, &op);
		xdr_free((xdrproc_t)xdr_nfs_argop4, (char *)&op);
	}
	return ok;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct rpc_call_header hdr;
	enum rpc_decode_result res = rpc_decode_call(data, size, &hdr);

	if (res != RPC_DECODE_OK) {
		int n = rpc_encode_decode_error(out, sizeof(out), hdr.xid, res);
		if (n < 0 || (res == RPC_DECODE_GARBAGE) != (n == 0))
			__builtin_trap();
		return 0;
	}
	if (hdr.args_offset > size || hdr.args_offset % 4 != 0 ||
	    hdr.sys.ngids > RPC5531_MAX_GIDS ||
	    memchr(hdr.sys.machine, '\0', sizeof(hdr.sys.machine)) == NULL)
		__builtin_trap();

	try_args(data, size, &hdr, (xdrproc_t)fz_string);
	try_args(data, size, &hdr, (xdrproc_t)fz_bytes);
	try_args(data, size, &hdr, (xdrproc_t)xdr_rpc5531_authsys_parms);
	try_args(data, size, &hdr, (xdrproc_t)xdr_rpc5531_msg);
	try_args(data, size, &hdr, (xdrproc_t)fz_mixed);

	xdrproc_t real = hdr.prog == FZ_MOUNT_PROGRAM
			     ? mount3_args(hdr.proc)
			     : nfs3_args[hdr.proc % (sizeof(nfs3_args) / sizeof(nfs3_args[0]))];
	if (real)
		try_args(data, size, &hdr, real);
	if (hdr.prog != FZ_MOUNT_PROGRAM) {
		try_args(data, size, &hdr, (xdrproc_t)xdr_COMPOUND4args);
		try_args(data, size, &hdr, (xdrproc_t)fz_compound_ops);
	}
	return 0;
}
