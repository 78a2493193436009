/* store_fault: test-only I/O fault injection for the store; see store_fault.h. */
#include "cache/store_fault.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char *const op_names[STORE_FAULT_NOPS] = { "create", "write", "fsync", "rename" };

static pthread_mutex_t load_lock = PTHREAD_MUTEX_INITIALIZER;
static atomic_long loaded_pid;  /* the process the settings were read in (a fork reads again) */
static int fault_errno[STORE_FAULT_NOPS];       /* 0: this op never fails */
static unsigned long fault_from[STORE_FAULT_NOPS];
static atomic_ulong calls[STORE_FAULT_NOPS];
static int any_fault;

/* An errno by name (the few a disk gives) or number; 0 if unknown. */
static int parse_errno(const char *s, size_t n)
{
	static const struct { const char *name; int value; } names[] = {
		{ "ENOSPC", ENOSPC }, { "EIO", EIO }, { "EDQUOT", EDQUOT }, { "EROFS", EROFS },
	};
	for (size_t i = 0; i < sizeof(names) / sizeof(*names); i++)
		if (strlen(names[i].name) == n && !strncmp(s, names[i].name, n))
			return names[i].value;
	char *end;
	long v = strtol(s, &end, 10);
	return end == s + n && v > 0 && v < 4096 ? (int)v : 0;
}

/* Read WEFT_STORE_FAULT; malformed items are ignored (a test hook, not an option). */
static void load(void)
{
	memset(fault_errno, 0, sizeof(fault_errno));
	any_fault = 0;
	for (int op = 0; op < STORE_FAULT_NOPS; op++)
		atomic_store(&calls[op], 0);
	const char *spec = getenv("WEFT_STORE_FAULT");
	if (!spec || !*spec)
		return;
	const char *p = spec;
	while (*p) {
		size_t len = strcspn(p, ",");
		const char *eq = memchr(p, '=', len);
		if (eq) {
			const char *at = memchr(eq, '@', len - (size_t)(eq - p));
			const char *val_end = at ? at : p + len;
			for (int op = 0; op < STORE_FAULT_NOPS; op++) {
				if (strlen(op_names[op]) != (size_t)(eq - p) ||
				    strncmp(p, op_names[op], (size_t)(eq - p)))
					continue;
				int e = parse_errno(eq + 1, (size_t)(val_end - eq - 1));
				unsigned long from = at ? strtoul(at + 1, NULL, 10) : 1;
				if (e) {
					fault_errno[op] = e;
					fault_from[op] = from ? from : 1;
					any_fault = 1;
				}
			}
		}
		p += len;
		if (*p == ',')
			p++;
	}
}

int store_fault(enum store_fault_op op)
{
	long pid = (long)getpid();
	if (atomic_load(&loaded_pid) != pid) {
		pthread_mutex_lock(&load_lock);
		if (atomic_load(&loaded_pid) != pid) {
			load();
			atomic_store(&loaded_pid, pid);
		}
		pthread_mutex_unlock(&load_lock);
	}
	if (!any_fault || op < 0 || op >= STORE_FAULT_NOPS || !fault_errno[op])
		return 0;
	unsigned long n = atomic_fetch_add(&calls[op], 1) + 1;
	if (n < fault_from[op])
		return 0;
	errno = fault_errno[op];
	return fault_errno[op];
}

/* See store_fault.h: copy WEFT_TEST_BLOB_SWAP's file next to `path`, rename it over. */
void store_fault_swap_blob(const char *path)
{
	const char *with = getenv("WEFT_TEST_BLOB_SWAP");
	if (!with || !*with)
		return;
	char tmp[4096];
	if (snprintf(tmp, sizeof(tmp), "%s.swap", path) >= (int)sizeof(tmp))
		return;
	int in = open(with, O_RDONLY | O_CLOEXEC);
	int out = in < 0 ? -1 : open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	int ok = out >= 0;
	char buf[8192];
	ssize_t n;
	while (ok && (n = read(in, buf, sizeof(buf))) != 0)
		ok = n > 0 && write(out, buf, (size_t)n) == n;
	if (in >= 0)
		close(in);
	if (out >= 0 && close(out) < 0)
		ok = 0;
	if (ok && rename(tmp, path) == 0) {
		fprintf(stderr, "weft: test hook WEFT_TEST_BLOB_SWAP: replaced %s after verifying it\n", path);
	} else {
		fprintf(stderr, "weft: test hook WEFT_TEST_BLOB_SWAP: could not replace %s: %s\n", path,
			strerror(errno));
		unlink(tmp);
	}
}
