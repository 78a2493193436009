/* Tests for util/hash: BLAKE2b vectors, framing, MACs, XXH3-128 streaming, fingerprints. */
#include "unit.h"

#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "util/hash.h"

static char tmpdir[] = "/tmp/weft-test-hash-XXXXXX";

/* Write `len` bytes to dir/name; returns the malloc'd path. */
static char *write_file(const char *name, const void *data, size_t len)
{
	struct strbuf p;
	strbuf_init(&p);
	strbuf_addf(&p, "%s/%s", tmpdir, name);
	FILE *f = fopen(p.buf, "wb");
	if (f) {
		fwrite(data, 1, len, f);
		fclose(f);
	}
	return strbuf_detach(&p, NULL);
}

/* Set a file's mtime `ago` seconds into the past. */
static void age_file(const char *path, int ago)
{
	struct timespec ts[2];
	clock_gettime(CLOCK_REALTIME, &ts[0]);
	ts[0].tv_sec -= ago;
	ts[1] = ts[0];
	utimensat(AT_FDCWD, path, ts, 0);
}

TEST(blake2b_known_vectors)
{
	/* Reference digests from Python's hashlib.blake2b(digest_size=32). */
	char hex[HASH_HEX_SIZE];
	hash_blake2b_hex("", 0, hex);
	CHECK_STR(hex, "0e5751c026e543b2e8ab2eb06099daa1d1e5df47778f7787faab45cdf12fe3a8");
	hash_blake2b_hex("abc", 3, hex);
	CHECK_STR(hex, "bddd813c634239723171ef3fee98579b94964e3bb1cb3e427262c8c068d52319");
}

TEST(blake2b_incremental_equals_oneshot)
{
	char a[HASH_HEX_SIZE], b[HASH_HEX_SIZE];
	struct hasher h;
	hasher_init(&h);
	hasher_update(&h, "a", 1);
	hasher_update(&h, "", 0);
	hasher_update(&h, "bc", 2);
	hasher_final_hex(&h, a);
	hash_blake2b_hex("abc", 3, b);
	CHECK_STR(a, b);
}

TEST(framed_fields_are_unambiguous)
{
	char x[HASH_HEX_SIZE], y[HASH_HEX_SIZE], z[HASH_HEX_SIZE], w[HASH_HEX_SIZE];
	struct hasher h;
	hasher_init(&h);
	hasher_update_str(&h, "ab");
	hasher_update_str(&h, "c");
	hasher_final_hex(&h, x);
	hasher_init(&h);
	hasher_update_str(&h, "a");
	hasher_update_str(&h, "bc");
	hasher_final_hex(&h, y);
	CHECK(strcmp(x, y) != 0);
	/* NULL and "" are different fields. */
	hasher_init(&h);
	hasher_update_str(&h, NULL);
	hasher_final_hex(&h, z);
	hasher_init(&h);
	hasher_update_str(&h, "");
	hasher_final_hex(&h, w);
	CHECK(strcmp(z, w) != 0);
	/* Same fields, same digest. */
	hasher_init(&h);
	hasher_update_str(&h, "ab");
	hasher_update_str(&h, "c");
	hasher_final_hex(&h, y);
	CHECK_STR(x, y);
	/* Integers are framed fields too. */
	hasher_init(&h);
	hasher_update_u64(&h, 1);
	hasher_final_hex(&h, z);
	hasher_init(&h);
	hasher_update_u64(&h, 256);
	hasher_final_hex(&h, w);
	CHECK(strcmp(z, w) != 0);
}

TEST(keyed_mac)
{
	unsigned char key[HASH_KEY_BYTES], key2[HASH_KEY_BYTES];
	for (int i = 0; i < HASH_KEY_BYTES; i++) {
		key[i] = (unsigned char)i;
		key2[i] = (unsigned char)(i + 1);
	}
	char m1[HASH_HEX_SIZE], m2[HASH_HEX_SIZE], plain[HASH_HEX_SIZE];
	hash_mac_hex(key, "message", 7, m1);
	/* hashlib.blake2b(b"message", digest_size=32, key=bytes(range(32))) */
	CHECK_STR(m1, "2615bcafac3ebcd31940a8f15d876916435d805823d2db78c201a8e94624a0ae");
	hash_mac_hex(key2, "message", 7, m2);
	CHECK(!hash_hex_equal(m1, m2));
	hash_blake2b_hex("message", 7, plain);
	CHECK(!hash_hex_equal(m1, plain));
	struct hasher h;
	hasher_init_keyed(&h, key);
	hasher_update(&h, "mess", 4);
	hasher_update(&h, "age", 3);
	hasher_final_hex(&h, m2);
	CHECK(hash_hex_equal(m1, m2));
}

TEST(hex_helpers)
{
	CHECK(hash_hex_equal("abc", "abc"));
	CHECK(!hash_hex_equal("abc", "abd"));
	CHECK(!hash_hex_equal("abc", "abcd"));
	CHECK(!hash_hex_equal(NULL, "abc"));
	CHECK(hash_is_hex("0123456789abcdef", 16));
	CHECK(!hash_is_hex("0123456789abcdeF", 16));
	CHECK(!hash_is_hex("0123456789abcdef0", 16));
	CHECK(!hash_is_hex("../../etc/passwd", 16));
	CHECK(!hash_is_hex(NULL, 0));
	unsigned char b[3] = { 0x00, 0xab, 0xff };
	char out[7];
	hash_to_hex(b, 3, out);
	CHECK_STR(out, "00abff");
}

TEST(xxh128_known_and_streaming)
{
	char a[XXH128_HEX_SIZE], b[XXH128_HEX_SIZE];
	hash_xxh128_hex("", 0, a);
	/* XXH3-128 of empty input, as xxhsum -H2 prints it. */
	CHECK_STR(a, "99aa06d3014798d86001c324468d497f");
	/* A file across several read blocks hashes like the buffer. */
	size_t len = (3u << 20) + 17;
	unsigned char *data = malloc(len);
	for (size_t i = 0; i < len; i++)
		data[i] = (unsigned char)(i * 2654435761u >> 13);
	hash_xxh128_hex(data, len, a);
	char *path = write_file("big", data, len);
	uint64_t size = 0;
	struct weft_error err;
	weft_error_init(&err);
	CHECK(hash_xxh128_file(path, b, &size, &err) == 0);
	CHECK_STR(a, b);
	CHECK(size == len);
	/* One flipped byte changes it. */
	data[len / 2] ^= 1;
	hash_xxh128_hex(data, len, b);
	CHECK(strcmp(a, b) != 0);
	/* A missing file is an error naming it. */
	CHECK(hash_xxh128_file("/nonexistent/x", b, NULL, &err) < 0);
	CHECK(strstr(weft_error_text(&err), "/nonexistent/x") != NULL);
	weft_error_free(&err);
	free(data);
	unlink(path);
	free(path);
}

TEST(fingerprint_old_file_trusts_mtime)
{
	char *path = write_file("old", "hello world\n", 12);
	age_file(path, 100);
	/* Setting the mtime made the ctime new: wait until it is not racy. */
	struct timespec nap = { FINGERPRINT_RACY_NS / 1000000000LL, 100000000L };
	nanosleep(&nap, NULL);
	struct fingerprint fp;
	struct weft_error err;
	weft_error_init(&err);
	CHECK(fingerprint_file(&fp, path, &err) == 0);
	CHECK(fp.size == 12);
	CHECK(fp.mtime_ns != 0);
	char want[XXH128_HEX_SIZE];
	hash_xxh128_hex("hello world\n", 12, want);
	CHECK_STR(fp.xxh, want);
	CHECK(fingerprint_matches(&fp, path) == 1);
	CHECK(fp.ino != 0);
	/* Touch without change: still matches (by contents). */
	age_file(path, 50);
	CHECK(fingerprint_matches(&fp, path) == 1);
	/* New contents with the old mtime put back (touch -r, tar, rsync -t):
	 * the ctime gives it away, so the contents are compared. */
	free(write_file("old", "HELLO WORLD\n", 12));
	struct timespec ts[2] = { { 0, UTIME_OMIT }, { fp.mtime_ns / 1000000000LL,
						       fp.mtime_ns % 1000000000LL } };
	CHECK(utimensat(AT_FDCWD, path, ts, 0) == 0);
	struct stat sb;
	CHECK(stat(path, &sb) == 0 && sb.st_size == 12);
	CHECK(fingerprint_matches(&fp, path) == 0);
	/* Back to the original bytes: matches again, by contents. */
	free(write_file("old", "hello world\n", 12));
	CHECK(fingerprint_matches(&fp, path) == 1);
	/* Same size, new contents, new mtime: no match. */
	free(write_file("old", "HELLO world\n", 12));
	CHECK(fingerprint_matches(&fp, path) == 0);
	/* Size change: no match. */
	free(write_file("old", "hello", 5));
	CHECK(fingerprint_matches(&fp, path) == 0);
	unlink(path);
	CHECK(fingerprint_matches(&fp, path) == 0);
	CHECK(fingerprint_file(&fp, path, &err) < 0);
	CHECK(strstr(weft_error_text(&err), path) != NULL);
	weft_error_free(&err);
	free(path);
}

TEST(fingerprint_racy_file_is_rehashed)
{
	/* Written just now: its mtime may not distinguish a second write in
	 * the same tick, so the fingerprint must not rely on it. */
	char *path = write_file("racy", "aaaa", 4);
	struct fingerprint fp;
	CHECK(fingerprint_file(&fp, path, NULL) == 0);
	CHECK(fp.mtime_ns == 0);
	struct stat st0;
	stat(path, &st0);
	free(write_file("racy", "bbbb", 4));
	/* Force the old mtime back: only the contents can tell. */
	struct timespec ts[2] = { st0.st_atim, st0.st_mtim };
	utimensat(AT_FDCWD, path, ts, 0);
	CHECK(fingerprint_matches(&fp, path) == 0);
	free(write_file("racy", "aaaa", 4));
	CHECK(fingerprint_matches(&fp, path) == 1);
	/* A directory cannot be fingerprinted. */
	CHECK(fingerprint_file(&fp, tmpdir, NULL) < 0);
	unlink(path);
	free(path);
}

TEST(fingerprint_text_and_json)
{
	struct fingerprint fp, back;
	fingerprint_init(&fp);
	hash_xxh128_hex("x", 1, fp.xxh);
	fp.size = 1234567890123ULL;
	fp.mtime_ns = 1700000000123456789LL;
	fp.ctime_ns = 1700000001123456789LL;
	fp.ino = 987654321;
	struct strbuf sb;
	strbuf_init(&sb);
	fingerprint_to_text(&fp, &sb);
	CHECK(fingerprint_from_text(&back, sb.buf) == 0);
	CHECK_STR(back.xxh, fp.xxh);
	CHECK(back.size == fp.size && back.mtime_ns == fp.mtime_ns);
	CHECK(back.ctime_ns == fp.ctime_ns && back.ino == fp.ino);
	CHECK(fingerprint_from_text(&back, "zz:1:2") < 0);
	/* The older three-field form parses, without the stat shortcut. */
	struct strbuf old;
	strbuf_init(&old);
	strbuf_addf(&old, "%s:12:1700000000123456789", fp.xxh);
	CHECK(fingerprint_from_text(&back, old.buf) == 0);
	CHECK(back.size == 12 && back.mtime_ns == 0);
	strbuf_addstr(&old, ":1");
	CHECK(fingerprint_from_text(&back, old.buf) < 0);
	strbuf_reset(&old);
	strbuf_addf(&old, "%s:-1:1:2:3", fp.xxh);
	CHECK(fingerprint_from_text(&back, old.buf) < 0);
	strbuf_free(&old);
	CHECK(fingerprint_from_text(&back, "") < 0);
	strbuf_setlen(&sb, sb.len - 1);
	strbuf_addstr(&sb, "x");
	CHECK(fingerprint_from_text(&back, sb.buf) < 0);
	json_t *j = fingerprint_to_json(&fp);
	CHECK(j != NULL);
	CHECK(fingerprint_from_json(&back, j) == 0);
	CHECK_STR(back.xxh, fp.xxh);
	CHECK(back.size == fp.size && back.mtime_ns == fp.mtime_ns);
	CHECK(back.ctime_ns == fp.ctime_ns && back.ino == fp.ino);
	json_object_set_new(j, "xxh3", json_string("../../x"));
	CHECK(fingerprint_from_json(&back, j) < 0);
	json_decref(j);
	strbuf_free(&sb);
}

/* Throughput of the streaming file hash, for the record (not a check). */
TEST(xxh128_file_throughput)
{
	size_t len = 64u << 20;
	char *data = calloc(1, len);
	for (size_t i = 0; i < len; i += 4096)
		data[i] = (char)i;
	char *path = write_file("tp", data, len);
	char hex[XXH128_HEX_SIZE];
	struct timespec t0, t1;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	CHECK(hash_xxh128_file(path, hex, NULL, NULL) == 0);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	double s = (double)(t1.tv_sec - t0.tv_sec) + (t1.tv_nsec - t0.tv_nsec) / 1e9;
	printf("# xxh3-128 of a 64 MiB cached file: %.0f MiB/s\n", 64 / s);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	hash_xxh128_hex(data, len, hex);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	s = (double)(t1.tv_sec - t0.tv_sec) + (t1.tv_nsec - t0.tv_nsec) / 1e9;
	printf("# xxh3-128 of a 64 MiB buffer: %.0f MiB/s\n", 64 / s);
	unlink(path);
	free(path);
	free(data);
}

int main(void)
{
	if (!mkdtemp(tmpdir)) {
		perror("mkdtemp");
		return 1;
	}
	RUN(blake2b_known_vectors);
	RUN(blake2b_incremental_equals_oneshot);
	RUN(framed_fields_are_unambiguous);
	RUN(keyed_mac);
	RUN(hex_helpers);
	RUN(xxh128_known_and_streaming);
	RUN(fingerprint_old_file_trusts_mtime);
	RUN(fingerprint_racy_file_is_rehashed);
	RUN(fingerprint_text_and_json);
	RUN(xxh128_file_throughput);
	rmdir(tmpdir);
	return unit_done();
}
