/*
 * ONC RPC v2 messages (RFC 5531): decoding a call header with its
 * credentials, and encoding every kind of reply. XDR routines are generated
 * by rpcgen from xdr/rpc_msg.x; this module wraps them for the dispatcher.
 */
#ifndef MCFS_GATEWAY_RPC_H
#define MCFS_GATEWAY_RPC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <rpc/rpc.h>

#define RPC_AUTH_NONE	      0
#define RPC_AUTH_SYS	      1
#define RPC_AUTH_SYS_MAX_GIDS 16

struct rpc_auth_sys {
	uint32_t stamp;
	char machine[256];
	uint32_t uid, gid;
	uint32_t ngids;
	uint32_t gids[RPC_AUTH_SYS_MAX_GIDS];
};

struct rpc_call_header {
	uint32_t xid;
	uint32_t prog, vers, proc;
	uint32_t cred_flavor;
	struct rpc_auth_sys sys; /* when cred_flavor == RPC_AUTH_SYS */
	size_t args_offset;	 /* where the procedure arguments start in the message */
};

enum rpc_decode_result {
	RPC_DECODE_OK = 0,
	/* not a call, or truncated before the procedure number: drop it (nothing to answer) */
	RPC_DECODE_GARBAGE,
	/* rpcvers != 2: answer MSG_DENIED/RPC_MISMATCH low = high = 2 */
	RPC_DECODE_RPC_MISMATCH,
	/* credential malformed, over its limits, truncated, of an unknown flavor, or a
	 * verifier that does not decode: answer MSG_DENIED/AUTH_ERROR AUTH_BADCRED */
	RPC_DECODE_BAD_CRED,
	/* a real flavor we do not accept (AUTH_DH, RPCSEC_GSS, ...): answer
	 * MSG_DENIED/AUTH_ERROR AUTH_TOOWEAK, as Linux nfsd does; see rpc.c */
	RPC_DECODE_WEAK_AUTH,
};

/* Decodes the call header of msg (one whole record, without record marking).
 * hdr is cleared first; xid is filled whenever it could be read, prog, vers
 * and proc whenever the result is not GARBAGE or RPC_MISMATCH, cred_flavor
 * once the credential decoded, sys only on OK with AUTH_SYS. Allocates
 * nothing. */
enum rpc_decode_result rpc_decode_call(const uint8_t *msg, size_t len, struct rpc_call_header *hdr);

/* Reply encoders write a whole reply message into buf (capacity cap) and
 * return its length, or -ENOSPC. */
/* MSG_ACCEPTED/SUCCESS header (AUTH_NONE verifier); the results follow at the returned offset,
 * which is always RPC_SUCCESS_HEADER_LEN: xid, REPLY, MSG_ACCEPTED, an empty verifier, SUCCESS. */
#define RPC_SUCCESS_HEADER_LEN 24
int rpc_encode_success_header(uint8_t *buf, size_t cap, uint32_t xid);
int rpc_encode_prog_unavail(uint8_t *buf, size_t cap, uint32_t xid);
int rpc_encode_prog_mismatch(uint8_t *buf, size_t cap, uint32_t xid, uint32_t low, uint32_t high);
int rpc_encode_proc_unavail(uint8_t *buf, size_t cap, uint32_t xid);
int rpc_encode_garbage_args(uint8_t *buf, size_t cap, uint32_t xid);
int rpc_encode_system_err(uint8_t *buf, size_t cap, uint32_t xid);
int rpc_encode_rpc_mismatch(uint8_t *buf, size_t cap, uint32_t xid);
/* why: AUTH_BADCRED (1), AUTH_REJECTEDCRED (2), AUTH_BADVERF (3), AUTH_REJECTEDVERF (4),
 * AUTH_TOOWEAK (5) */
int rpc_encode_auth_error(uint8_t *buf, size_t cap, uint32_t xid, uint32_t why);
/* The reply that a failed rpc_decode_call calls for: its length, 0 for
 * GARBAGE (send nothing), -EINVAL for RPC_DECODE_OK, or -ENOSPC. */
int rpc_encode_decode_error(uint8_t *buf, size_t cap, uint32_t xid, enum rpc_decode_result res);

/* Decodes procedure arguments at hdr->args_offset with an rpcgen routine.
 * args must be zeroed by the caller (XDR decodes into non-NULL pointers
 * instead of allocating). False on garbage, e.g. a truncated body; whatever
 * was decoded is then already freed and args must not be used. Bytes after
 * the arguments are tolerated, as Linux nfsd does. XDR allocates a length
 * read from the wire before checking that the bytes are there, so the .x
 * types given here must bound every variable-length item (no bare <>). */
bool rpc_decode_args(const uint8_t *msg, size_t len, const struct rpc_call_header *hdr,
		     xdrproc_t proc, void *args);
/* Frees what a successful rpc_decode_args allocated inside args. */
void rpc_free_args(xdrproc_t proc, void *args);
/* Encodes a successful reply: header plus results via an rpcgen routine.
 * Returns the length or -ENOSPC (also when results break their XDR limits). */
int rpc_encode_results(uint8_t *buf, size_t cap, uint32_t xid, xdrproc_t proc, void *results);

#endif
