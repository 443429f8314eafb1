/* The NFSv3 procedure table, indexed by procedure number (RFC 1813 §3). */
#include "nfs3_proc.h"

#define BIG_REPLY (NFS3_MAX_IO + 4096)
#define P(name, fn, T, once, cap)                                                                  \
	{                                                                                          \
		name, (xdrproc_t)xdr_##T##3args, sizeof(T##3args), (xdrproc_t)xdr_##T##3res,       \
		    sizeof(T##3res), fn, once, cap, NULL                                           \
	}

const struct rpc_proc nfs3_procs[] = {
    {"NULL", (xdrproc_t)xdr_nothing, 1, (xdrproc_t)xdr_nothing, 1, nfs3_null, false, 0, NULL},
    P("GETATTR", nfs3_getattr, GETATTR, false, 0),
    P("SETATTR", nfs3_setattr, SETATTR, true, 0),
    P("LOOKUP", nfs3_lookup, LOOKUP, false, 0),
    P("ACCESS", nfs3_access, ACCESS, false, 0),
    P("READLINK", nfs3_readlink, READLINK, false, 8192),
    {"READ", (xdrproc_t)xdr_READ3args, sizeof(READ3args), (xdrproc_t)xdr_READ3res_inplace,
     sizeof(READ3res), nfs3_read, false, BIG_REPLY, NULL},
    {"WRITE", (xdrproc_t)xdr_WRITE3args_inplace, sizeof(WRITE3args), (xdrproc_t)xdr_WRITE3res,
     sizeof(WRITE3res), nfs3_write, false, 0, NULL},
    P("CREATE", nfs3_create, CREATE, true, 0),
    P("MKDIR", nfs3_mkdir, MKDIR, true, 0),
    P("SYMLINK", nfs3_symlink, SYMLINK, true, 0),
    P("MKNOD", nfs3_mknod, MKNOD, true, 0),
    P("REMOVE", nfs3_remove, REMOVE, true, 0),
    P("RMDIR", nfs3_rmdir, RMDIR, true, 0),
    P("RENAME", nfs3_rename, RENAME, true, 0),
    P("LINK", nfs3_link, LINK, true, 0),
    {"READDIR", (xdrproc_t)xdr_READDIR3args, sizeof(READDIR3args), (xdrproc_t)xdr_nfs3_dirlist,
     sizeof(struct nfs3_dirlist), nfs3_readdir, false, BIG_REPLY, NULL},
    {"READDIRPLUS", (xdrproc_t)xdr_READDIRPLUS3args, sizeof(READDIRPLUS3args),
     (xdrproc_t)xdr_nfs3_dirlist, sizeof(struct nfs3_dirlist), nfs3_readdirplus, false, BIG_REPLY,
     NULL},
    P("FSSTAT", nfs3_fsstat, FSSTAT, false, 0),
    P("FSINFO", nfs3_fsinfo, FSINFO, false, 0),
    P("PATHCONF", nfs3_pathconf, PATHCONF, false, 0),
    P("COMMIT", nfs3_commit, COMMIT, false, 0),
};
const unsigned nfs3_nprocs = sizeof(nfs3_procs) / sizeof(nfs3_procs[0]);
