/*
 * hash: the hashes weft uses, behind one small interface.
 *
 * Two families, for two jobs:
 *
 *   BLAKE2b-256 (libsodium)  cache keys, Merkle chains, MACs. Cryptographic,
 *                            ~1 GB/s. Hex form: 64 lowercase characters.
 *   XXH3-128 (libxxhash)     content addresses of blobs and file
 *                            fingerprints. Not cryptographic, but tens of
 *                            GB/s, so hashing a large array or data file
 *                            costs far less than writing it. Hex form: 32
 *                            lowercase characters (canonical big-endian).
 *
 * Incremental BLAKE2b:
 *
 *   struct hasher h;
 *   char hex[HASH_HEX_SIZE];
 *   hasher_init(&h);
 *   hasher_update_str(&h, "code");       // length-framed: see below
 *   hasher_update_str(&h, normalised);
 *   hasher_final_hex(&h, hex);
 *
 * A keyed hasher (hasher_init_keyed) is a MAC: BLAKE2b in keyed mode, which
 * needs no HMAC construction. Compare MACs with hash_hex_equal (constant
 * time).
 *
 * File fingerprints record size, mtime and the XXH3-128 of the contents.
 * Whether a file "still matches" is decided by its contents; the mtime is
 * only a shortcut that lets an unchanged file skip re-hashing (see
 * fingerprint_matches for why that shortcut is safe).
 */
#ifndef WEFT_HASH_H
#define WEFT_HASH_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>
#include <sodium.h>

#include "util/error.h"
#include "util/strbuf.h"

#define HASH_BYTES 32                    /* BLAKE2b-256 digest */
#define HASH_HEX_SIZE (2 * HASH_BYTES + 1) /* hex digest plus NUL */
#define HASH_KEY_BYTES 32                /* secret key for MACs */
#define XXH128_HEX_SIZE 33               /* 32 hex characters plus NUL */

/* libsodium's global setup; every entry point here calls it, so callers
 * need not, but calling it first is harmless. Returns 0, or -1 when
 * libsodium cannot initialise (no usable randomness source). */
int hash_global_init(void);

/* ---- BLAKE2b-256, incremental ---- */

struct hasher {
	crypto_generichash_state state;
};

/* Start an unkeyed BLAKE2b-256. */
void hasher_init(struct hasher *h);
/* Start a keyed BLAKE2b-256 (a MAC); key is HASH_KEY_BYTES long. */
void hasher_init_keyed(struct hasher *h, const unsigned char key[HASH_KEY_BYTES]);
/* Feed raw bytes. Concatenation is ambiguous ("ab"+"c" == "a"+"bc"): use
 * hasher_update_str / hasher_update_framed for fields of a record. */
void hasher_update(struct hasher *h, const void *data, size_t len);
/* Feed one field, framed by its length (8 bytes little-endian, then the
 * bytes), so a sequence of fields hashes unambiguously. NULL is a field of
 * its own, distinct from "". */
void hasher_update_framed(struct hasher *h, const void *data, size_t len);
void hasher_update_str(struct hasher *h, const char *s);
/* Feed a 64-bit integer as one framed field. */
void hasher_update_u64(struct hasher *h, uint64_t v);
/* Finish: write the digest as lowercase hex into out (HASH_HEX_SIZE bytes).
 * The hasher is spent afterwards; init it again to reuse it. */
void hasher_final_hex(struct hasher *h, char out[HASH_HEX_SIZE]);
/* Finish with the raw digest. */
void hasher_final(struct hasher *h, unsigned char out[HASH_BYTES]);

/* One-shot BLAKE2b-256 of a buffer, as hex. */
void hash_blake2b_hex(const void *data, size_t len, char out[HASH_HEX_SIZE]);
/* One-shot keyed BLAKE2b-256 (MAC) of a buffer, as hex. */
void hash_mac_hex(const unsigned char key[HASH_KEY_BYTES], const void *data, size_t len,
		  char out[HASH_HEX_SIZE]);
/* Constant-time equality of two hex digests (any equal length; different
 * lengths or NULL compare unequal). */
int hash_hex_equal(const char *a, const char *b);

/* Lowercase hex of `len` bytes; out holds 2*len+1 bytes. */
void hash_to_hex(const unsigned char *bytes, size_t len, char *out);
/* True when s is exactly `nhex` lowercase hex characters. Use it before
 * building a path from a hash read out of metadata. */
int hash_is_hex(const char *s, size_t nhex);

/* ---- XXH3-128 ---- */

/* XXH3-128 of a buffer, as 32 hex characters. */
void hash_xxh128_hex(const void *data, size_t len, char out[XXH128_HEX_SIZE]);
/* XXH3-128 of everything readable from fd, from its current offset, read
 * in large blocks. *size_out (if not NULL) gets the byte count. Returns 0,
 * or -1 with errno set. */
int hash_xxh128_fd(int fd, char out[XXH128_HEX_SIZE], uint64_t *size_out);
/* XXH3-128 of a file's contents. Returns 0, or -1 with err naming path. */
int hash_xxh128_file(const char *path, char out[XXH128_HEX_SIZE], uint64_t *size_out,
		     struct weft_error *err);

/* ---- file fingerprints ---- */

struct fingerprint {
	uint64_t size;
	int64_t mtime_ns;              /* 0 when the stat shortcut must not be used */
	int64_t ctime_ns;              /* inode change time: tools that reset the
					* mtime (touch -r, tar, rsync -t) change it */
	uint64_t ino;                  /* a file replaced by rename has a new inode */
	char xxh[XXH128_HEX_SIZE];     /* contents: the only part that defines
					* the file; state keys should hash this */
};

/* Zero size and mtime, empty hash. */
void fingerprint_init(struct fingerprint *fp);
/*
 * Fingerprint a regular file. The stat shortcut (mtime, ctime, inode) is
 * recorded only when both times are at least FINGERPRINT_RACY_NS older than
 * the moment of fingerprinting: a file modified again within the same
 * timestamp tick would otherwise keep its times while its contents change
 * (git's "racy clean" problem). Returns 0, or -1 with err naming path
 * (missing file, not a regular file, I/O error).
 */
int fingerprint_file(struct fingerprint *fp, const char *path, struct weft_error *err);
#define FINGERPRINT_RACY_NS 2000000000LL

/*
 * Does the file at path still match fp? 1 yes, 0 no (changed, missing,
 * unreadable). Size differs: no. Size, inode, and trusted mtime and ctime
 * all equal: yes, without reading. Otherwise the contents are hashed and
 * compared, so a touched but unchanged file still matches.
 */
int fingerprint_matches(const struct fingerprint *fp, const char *path);

/* Text form "xxh:size:mtime_ns:ctime_ns:ino", e.g. for a JSON string;
 * appended to out. The stat fields change on a mere touch: to identify
 * contents, use fp->xxh (and size), not the whole text. */
void fingerprint_to_text(const struct fingerprint *fp, struct strbuf *out);
/* Parse the text form (also the older "xxh:size:mtime_ns", whose stat
 * shortcut is then unused). Returns 0, or -1 if malformed. */
int fingerprint_from_text(struct fingerprint *fp, const char *text);
/* JSON object {"xxh3": "...", "size": n, "mtime_ns": n, "ctime_ns": n,
 * "ino": n} (new reference). */
json_t *fingerprint_to_json(const struct fingerprint *fp);
/* Parse the JSON object form. Returns 0, or -1 if malformed. */
int fingerprint_from_json(struct fingerprint *fp, const json_t *obj);

#endif
