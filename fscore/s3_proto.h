/* The pure parts of the S3 protocol, kept apart from the HTTP engine so they
 * can be tested without a server: URI encoding for SigV4, payload hashes, and
 * the few XML documents S3 answers with (ListObjectsV2 pages and errors). */
#ifndef MCFS_S3_PROTO_H
#define MCFS_S3_PROTO_H

#include <stdbool.h>
#include <stddef.h>

#include "objstore.h"

/* SHA-256 of the empty payload, as SigV4 wants it for bodiless requests. */
#define S3_EMPTY_SHA256 "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
/* The payload hash of a body signed by TLS alone (SigV4, S3 only). */
#define S3_UNSIGNED_PAYLOAD "UNSIGNED-PAYLOAD"

/* Lower-case hex SHA-256 of buf into out[65]. Returns 0 or -ENOMEM/-EIO. */
int s3_sha256_hex(const void *buf, size_t len, char out[65]);

/* RFC 3986 encoding as SigV4 canonicalises it: unreserved characters stay,
 * '/' stays when keep_slash, everything else becomes %XX (upper case).
 * Returns the encoded length, or -ENAMETOOLONG when out is too small. */
int s3_uri_encode(const char *in, bool keep_slash, char *out, size_t cap);

/* Finds the next <tag>...</tag> in [*cur, end) and points val/vlen at its raw
 * (still entity-encoded) content; *cur moves past the closing tag.
 * Returns false when there is no further complete element. */
bool s3_xml_element(const char **cur, const char *end, const char *tag, const char **val,
		    size_t *vlen);

/* Decodes XML character data (&amp; &lt; &gt; &quot; &apos; &#N; &#xH;) into a
 * NUL-terminated string. Returns its length, -EINVAL for a malformed or
 * unknown entity, -ENAMETOOLONG when out is too small. */
int s3_xml_text(const char *in, size_t len, char *out, size_t cap);

/* The <Code> of an S3 <Error> document, or "" when there is none. */
void s3_error_code(const char *xml, size_t len, char *code, size_t cap);

/* Parses one ListObjectsV2 page: calls cb for each <Contents>, then reports
 * whether more pages follow and the token for the next one. A non-zero cb
 * result stops the walk and is returned; -EIO for a malformed page. */
int s3_list_page(const char *xml, size_t len, int (*cb)(const struct objstore_entry *e, void *arg),
		 void *arg, bool *truncated, char *token, size_t token_cap);

#endif
