/* hash: BLAKE2b (libsodium), XXH3-128 (libxxhash), file fingerprints; see hash.h. */
#include "util/hash.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <xxhash.h>

/* Read block for streaming hashes: large enough that syscall overhead is
 * noise next to XXH3's speed, small enough to stay cache-friendly. */
#define HASH_READ_BLOCK (1u << 20)

int hash_global_init(void)
{
	/* sodium_init is idempotent and thread-safe: 0 first time, 1 after. */
	return sodium_init() < 0 ? -1 : 0;
}

void hasher_init(struct hasher *h)
{
	hash_global_init();
	crypto_generichash_init(&h->state, NULL, 0, HASH_BYTES);
}

void hasher_init_keyed(struct hasher *h, const unsigned char key[HASH_KEY_BYTES])
{
	hash_global_init();
	crypto_generichash_init(&h->state, key, HASH_KEY_BYTES, HASH_BYTES);
}

void hasher_update(struct hasher *h, const void *data, size_t len)
{
	if (len)
		crypto_generichash_update(&h->state, data, len);
}

/* Little-endian 8-byte length prefix, so a field's bytes cannot run into the next one. */
static void update_len(struct hasher *h, uint64_t v)
{
	unsigned char b[8];
	for (int i = 0; i < 8; i++)
		b[i] = (unsigned char)(v >> (8 * i));
	crypto_generichash_update(&h->state, b, sizeof(b));
}

void hasher_update_framed(struct hasher *h, const void *data, size_t len)
{
	if (!data) {
		/* A length no real field can have marks "absent". */
		update_len(h, UINT64_MAX);
		return;
	}
	update_len(h, len);
	hasher_update(h, data, len);
}

void hasher_update_str(struct hasher *h, const char *s)
{
	hasher_update_framed(h, s, s ? strlen(s) : 0);
}

void hasher_update_u64(struct hasher *h, uint64_t v)
{
	unsigned char b[8];
	for (int i = 0; i < 8; i++)
		b[i] = (unsigned char)(v >> (8 * i));
	hasher_update_framed(h, b, sizeof(b));
}

void hasher_final(struct hasher *h, unsigned char out[HASH_BYTES])
{
	crypto_generichash_final(&h->state, out, HASH_BYTES);
}

void hasher_final_hex(struct hasher *h, char out[HASH_HEX_SIZE])
{
	unsigned char d[HASH_BYTES];
	hasher_final(h, d);
	hash_to_hex(d, sizeof(d), out);
}

void hash_blake2b_hex(const void *data, size_t len, char out[HASH_HEX_SIZE])
{
	struct hasher h;
	hasher_init(&h);
	hasher_update(&h, data, len);
	hasher_final_hex(&h, out);
}

void hash_mac_hex(const unsigned char key[HASH_KEY_BYTES], const void *data, size_t len,
		  char out[HASH_HEX_SIZE])
{
	struct hasher h;
	hasher_init_keyed(&h, key);
	hasher_update(&h, data, len);
	hasher_final_hex(&h, out);
}

int hash_hex_equal(const char *a, const char *b)
{
	if (!a || !b)
		return 0;
	size_t la = strlen(a), lb = strlen(b);
	if (la != lb)
		return 0;
	/* sodium_memcmp runs in time independent of where the bytes differ. */
	return sodium_memcmp(a, b, la) == 0;
}

void hash_to_hex(const unsigned char *bytes, size_t len, char *out)
{
	static const char digits[] = "0123456789abcdef";
	for (size_t i = 0; i < len; i++) {
		out[2 * i] = digits[bytes[i] >> 4];
		out[2 * i + 1] = digits[bytes[i] & 15];
	}
	out[2 * len] = '\0';
}

int hash_is_hex(const char *s, size_t nhex)
{
	if (!s)
		return 0;
	size_t i;
	for (i = 0; i < nhex; i++) {
		char c = s[i];
		if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f')))
			return 0;
	}
	return s[i] == '\0';
}

/* XXH128 digest as canonical (big-endian) hex, the form xxhsum prints. */
static void xxh128_to_hex(XXH128_hash_t hv, char out[XXH128_HEX_SIZE])
{
	XXH128_canonical_t c;
	XXH128_canonicalFromHash(&c, hv);
	hash_to_hex(c.digest, sizeof(c.digest), out);
}

void hash_xxh128_hex(const void *data, size_t len, char out[XXH128_HEX_SIZE])
{
	xxh128_to_hex(XXH3_128bits(data, len), out);
}

int hash_xxh128_fd(int fd, char out[XXH128_HEX_SIZE], uint64_t *size_out)
{
	/* read(), not mmap: a file truncated by someone else while mapped
	 * would kill us with SIGBUS, and hashing must never crash. */
	XXH3_state_t *st = XXH3_createState();
	if (!st) {
		errno = ENOMEM;
		return -1;
	}
	XXH3_128bits_reset(st);
	char *buf = xmalloc(HASH_READ_BLOCK);
	uint64_t total = 0;
	int rc = 0;
#ifdef POSIX_FADV_SEQUENTIAL
	posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL);
#endif
	for (;;) {
		ssize_t n = read(fd, buf, HASH_READ_BLOCK);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			rc = -1;
			break;
		}
		if (n == 0)
			break;
		XXH3_128bits_update(st, buf, (size_t)n);
		total += (uint64_t)n;
	}
	int saved = errno;
	if (rc == 0) {
		xxh128_to_hex(XXH3_128bits_digest(st), out);
		if (size_out)
			*size_out = total;
	}
	free(buf);
	XXH3_freeState(st);
	errno = saved;
	return rc;
}

int hash_xxh128_file(const char *path, char out[XXH128_HEX_SIZE], uint64_t *size_out,
		     struct weft_error *err)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return weft_error_errno(err, path, "cannot open for hashing");
	if (hash_xxh128_fd(fd, out, size_out) < 0) {
		weft_error_errno(err, path, "cannot read for hashing");
		close(fd);
		return -1;
	}
	close(fd);
	return 0;
}

void fingerprint_init(struct fingerprint *fp)
{
	fp->size = 0;
	fp->mtime_ns = 0;
	fp->ctime_ns = 0;
	fp->ino = 0;
	fp->xxh[0] = '\0';
}

static int64_t stat_mtime_ns(const struct stat *st)
{
	return (int64_t)st->st_mtim.tv_sec * 1000000000LL + st->st_mtim.tv_nsec;
}

static int64_t stat_ctime_ns(const struct stat *st)
{
	return (int64_t)st->st_ctim.tv_sec * 1000000000LL + st->st_ctim.tv_nsec;
}

/* Do two stats describe the same, unmodified file? */
static int same_stat(const struct stat *a, const struct stat *b)
{
	return a->st_ino == b->st_ino && a->st_size == b->st_size &&
	       stat_mtime_ns(a) == stat_mtime_ns(b) && stat_ctime_ns(a) == stat_ctime_ns(b);
}

static int64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

int fingerprint_file(struct fingerprint *fp, const char *path, struct weft_error *err)
{
	fingerprint_init(fp);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return weft_error_errno(err, path, "cannot open to fingerprint");
	struct stat st;
	if (fstat(fd, &st) < 0) {
		weft_error_errno(err, path, "cannot stat");
		close(fd);
		return -1;
	}
	if (!S_ISREG(st.st_mode)) {
		close(fd);
		return weft_error_set(err, path, 0, 0, "not a regular file, cannot fingerprint");
	}
	uint64_t size;
	if (hash_xxh128_fd(fd, fp->xxh, &size) < 0) {
		weft_error_errno(err, path, "cannot read to fingerprint");
		close(fd);
		return -1;
	}
	/* stat again after reading: if the file changed meanwhile, its stat
	 * cannot vouch for the contents we hashed. */
	struct stat st2;
	int same = fstat(fd, &st2) == 0 && same_stat(&st, &st2) && (uint64_t)st2.st_size == size;
	close(fd);
	fp->size = size;
	int64_t m = stat_mtime_ns(&st), c = stat_ctime_ns(&st), now = now_ns();
	if (same && m != 0 && now - m >= FINGERPRINT_RACY_NS && now - c >= FINGERPRINT_RACY_NS) {
		fp->mtime_ns = m;
		fp->ctime_ns = c;
		fp->ino = (uint64_t)st.st_ino;
	}
	return 0;
}

int fingerprint_matches(const struct fingerprint *fp, const char *path)
{
	struct stat st;
	if (stat(path, &st) < 0 || !S_ISREG(st.st_mode))
		return 0;
	if ((uint64_t)st.st_size != fp->size)
		return 0;
	if (fp->mtime_ns != 0 && stat_mtime_ns(&st) == fp->mtime_ns &&
	    stat_ctime_ns(&st) == fp->ctime_ns && (uint64_t)st.st_ino == fp->ino)
		return 1;
	char hex[XXH128_HEX_SIZE];
	uint64_t size;
	if (hash_xxh128_file(path, hex, &size, NULL) < 0)
		return 0;
	return size == fp->size && strcmp(hex, fp->xxh) == 0;
}

void fingerprint_to_text(const struct fingerprint *fp, struct strbuf *out)
{
	strbuf_addf(out, "%s:%" PRIu64 ":%" PRId64 ":%" PRId64 ":%" PRIu64, fp->xxh, fp->size,
		    fp->mtime_ns, fp->ctime_ns, fp->ino);
}

/* Parse a decimal field ending at `stop`; -1 when malformed. */
static int parse_field(const char **p, int is_signed, char stop, uint64_t *out)
{
	char *end;
	errno = 0;
	if (!is_signed && **p == '-')
		return -1;
	if (is_signed)
		*out = (uint64_t)strtoll(*p, &end, 10);
	else
		*out = strtoull(*p, &end, 10);
	if (errno || end == *p || *end != stop)
		return -1;
	*p = stop ? end + 1 : end;
	return 0;
}

int fingerprint_from_text(struct fingerprint *fp, const char *text)
{
	fingerprint_init(fp);
	if (!text || strlen(text) < 32 || text[32] != ':')
		return -1;
	char hex[XXH128_HEX_SIZE];
	memcpy(hex, text, 32);
	hex[32] = '\0';
	if (!hash_is_hex(hex, 32))
		return -1;
	const char *p = text + 33;
	uint64_t size, mt, ct = 0, ino = 0;
	int colons = 0;
	for (const char *q = p; (q = strchr(q, ':')); q++)
		colons++;
	if (colons == 1) { /* older "xxh:size:mtime_ns" */
		if (parse_field(&p, 0, ':', &size) < 0 || parse_field(&p, 1, '\0', &mt) < 0)
			return -1;
		mt = 0; /* no ctime or inode to go with it: never take the shortcut */
	} else if (colons == 3) {
		if (parse_field(&p, 0, ':', &size) < 0 || parse_field(&p, 1, ':', &mt) < 0 ||
		    parse_field(&p, 1, ':', &ct) < 0 || parse_field(&p, 0, '\0', &ino) < 0)
			return -1;
	} else {
		return -1;
	}
	memcpy(fp->xxh, hex, sizeof(hex));
	fp->size = size;
	fp->mtime_ns = (int64_t)mt;
	fp->ctime_ns = (int64_t)ct;
	fp->ino = ino;
	return 0;
}

json_t *fingerprint_to_json(const struct fingerprint *fp)
{
	return json_pack("{s:s, s:I, s:I, s:I, s:I}", "xxh3", fp->xxh, "size", (json_int_t)fp->size,
			 "mtime_ns", (json_int_t)fp->mtime_ns, "ctime_ns", (json_int_t)fp->ctime_ns,
			 "ino", (json_int_t)fp->ino);
}

int fingerprint_from_json(struct fingerprint *fp, const json_t *obj)
{
	fingerprint_init(fp);
	const char *hex;
	json_int_t size, mt, ct = 0, ino = 0;
	if (json_unpack((json_t *)obj, "{s:s, s:I, s:I, s?I, s?I}", "xxh3", &hex, "size", &size,
			"mtime_ns", &mt, "ctime_ns", &ct, "ino", &ino) < 0)
		return -1;
	if (!hash_is_hex(hex, 32) || size < 0)
		return -1;
	memcpy(fp->xxh, hex, XXH128_HEX_SIZE);
	fp->size = (uint64_t)size;
	/* Without ctime and inode the stat shortcut would be unsafe. */
	fp->mtime_ns = json_object_get(obj, "ctime_ns") && json_object_get(obj, "ino") ? mt : 0;
	fp->ctime_ns = ct;
	fp->ino = (uint64_t)ino;
	return 0;
}
