/* foreign_python: run weft's runtime in a Python weft does not embed; see foreign_python.h. */
#include "engine/foreign_python.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "engine/worker_loader.h"
#include "util/strbuf.h"

/* weft-abi3.so's bytes (foreign_image.S). */
extern const unsigned char weft_abi3_image[];
extern const unsigned char weft_abi3_image_end[];

/* The fd the bootstrap loads `_weft` from (the first after the channel's). */
#define IMAGE_FD 6

/* Runs the bootstrap (argv[1]) in its own namespace: nothing is left in __main__. */
static const char launch[] = "exec(__import__('sys').argv[1], {'__name__': 'weft_boot'})";

/*
 * Loads `_weft` from IMAGE_FD, then the embedded runtime, then serves (see
 * foreign_python.h). The build's bytecode is the embedded Python's; for
 * another version `_weft.code` is wrapped so each runtime module is compiled
 * once per interpreter bytecode format and source text, and kept in
 * $XDG_CACHE_HOME/weft/bytecode (~/.cache/...; 0700): compiling all of them
 * costs 150-250 ms per start. A file that cannot be read back as code is
 * compiled again; one that cannot be written is not kept.
 */
static const char bootstrap[] =
	"import sys, os\n"
	"def boot():\n"
	"    from importlib.machinery import ExtensionFileLoader, ModuleSpec\n"
	"    from importlib.util import module_from_spec, MAGIC_NUMBER\n"
	"    path = '/proc/self/fd/6'\n"
	"    spec = ModuleSpec('_weft', ExtensionFileLoader('_weft', path), origin=path)\n"
	"    weft = module_from_spec(spec)\n"
	"    sys.modules['_weft'] = weft\n"
	"    spec.loader.exec_module(weft)\n"
	"    os.close(6)\n"
	"    import faulthandler\n"
	"    faulthandler.enable()\n"
	"    del sys.argv[:2]\n"
	"    weft.code = kept_code(weft, MAGIC_NUMBER)\n"
	"    code = weft.code('weft_runtime.py')\n"
	"    runtime = type(sys)('weft_runtime')\n"
	"    runtime.__file__ = '<weft>/weft_runtime.py'\n"
	"    sys.modules['weft_runtime'] = runtime\n"
	"    exec(code, runtime.__dict__)\n"
	"    return weft, runtime\n"
	"def kept_code(weft, magic):\n"
	"    import marshal\n"
	"    built = weft.code\n"
	"    base = os.environ.get('XDG_CACHE_HOME', '')\n"
	"    if not base.startswith('/'):\n"
	"        base = os.path.join(os.path.expanduser('~'), '.cache')\n"
	"    folder = os.path.join(base, 'weft', 'bytecode')\n"
	"    def code(name):\n"
	"        found = built(name)\n"
	"        text = weft.source(name) if found is None else None\n"
	"        if text is None:\n"
	"            return found\n"
	"        key = '%s-%s-%s-%s' % (name, sys.implementation.cache_tag, magic.hex(),\n"
	"                               weft.xxh128(text.encode('utf-8')).hex())\n"
	"        path = os.path.join(folder, key)\n"
	"        try:\n"
	"            with open(path, 'rb') as f:\n"
	"                found = marshal.loads(f.read())\n"
	"            if hasattr(found, 'co_code'):\n"
	"                return found\n"
	"        except Exception:\n"
	"            pass\n"
	"        found = compile(text, '<weft>/' + name, 'exec', dont_inherit=True)\n"
	"        try:\n"
	"            os.makedirs(folder, mode=0o700, exist_ok=True)\n"
	"            tmp = '%s.%d.tmp' % (path, os.getpid())\n"
	"            with open(tmp, 'wb') as f:\n"
	"                f.write(marshal.dumps(found))\n"
	"            os.replace(tmp, path)\n"
	"        except OSError:\n"
	"            pass\n"
	"        return found\n"
	"    return code\n"
	"try:\n"
	"    weft, runtime = boot()\n"
	"except BaseException as exc:\n"
	"    import traceback\n"
	"    traceback.print_exc()\n"
	"    msg = 'weft could not start in %s: %s: %s' % (sys.executable, type(exc).__name__, exc)\n"
	"    msg = ''.join(c if c >= ' ' and c not in '\"\\\\' else ' ' for c in msg)\n"
	"    os.write(3, ('{\"ok\":false,\"error\":\"%s\"}\\n' % msg).encode('utf-8', 'replace'))\n"
	"    os._exit(70)\n"
	"runtime.serve()\n"
	"weft.sync()\n"
	"os._exit(0)\n";

/*
 * An fd holding the abi3 image that the dynamic loader can map executable:
 * a memory file, else (vm.memfd_noexec) an unlinked temporary file. Tried
 * here with a mapping, since the loading happens after the exec, where no
 * other way is left. -1 with the reasons in why.
 */
static int image_fd(struct strbuf *why)
{
	size_t len = (size_t)(weft_abi3_image_end - weft_abi3_image);
	int fd = memfd_create("weft-abi3.so", MFD_CLOEXEC);
	if (fd >= 0 && worker_loader_write_all(fd, weft_abi3_image, len) == 0) {
		void *m = mmap(NULL, len, PROT_READ | PROT_EXEC, MAP_PRIVATE, fd, 0);
		if (m != MAP_FAILED) {
			munmap(m, len);
			return fd;
		}
		strbuf_addf(why, "memfd: mmap: %s", strerror(errno));
	} else {
		strbuf_addf(why, "memfd: %s", strerror(errno));
	}
	if (fd >= 0)
		close(fd);
	const char *tmp = getenv("TMPDIR");
	char path[4096];
	snprintf(path, sizeof(path), "%s/weft-abi3-XXXXXX.so", tmp && *tmp ? tmp : "/tmp");
	fd = mkostemps(path, 3, O_CLOEXEC);
	if (fd < 0) {
		strbuf_addf(why, "; %s: %s", path, strerror(errno));
		return -1;
	}
	unlink(path);
	if (worker_loader_write_all(fd, weft_abi3_image, len) < 0) {
		strbuf_addf(why, "; %s: %s", path, strerror(errno));
		close(fd);
		return -1;
	}
	return fd;
}

/* Put the channel on the worker's fixed fds 0..5 and the image on 6, kept across exec; close the rest. */
static int place_fds(const struct worker_setup *ws, int img)
{
	int devnull = open("/dev/null", O_RDONLY | O_CLOEXEC);
	int src[IMAGE_FD + 1] = {devnull, ws->out_wr, ws->err_wr, ws->proto_fd, ws->out_rd, ws->err_rd, img};
	int high[IMAGE_FD + 1];
	/* first out of the way of 0..6, so the dup2s below cannot clobber a source */
	for (int i = 0; i <= IMAGE_FD; i++)
		if (src[i] < 0 || (high[i] = fcntl(src[i], F_DUPFD_CLOEXEC, 100)) < 0)
			return -1;
	for (int i = 0; i <= IMAGE_FD; i++)
		if (dup2(high[i], i) < 0) /* the copy is not close-on-exec */
			return -1;
#ifdef SYS_close_range
	if (syscall(SYS_close_range, IMAGE_FD + 1, ~0U, 0) == 0)
		return 0;
#endif
	long max = sysconf(_SC_OPEN_MAX);
	for (long fd = IMAGE_FD + 1; fd < (max > 0 ? max : 1024); fd++)
		close((int)fd);
	return 0;
}

_Noreturn void foreign_python_exec(const struct worker_setup *ws)
{
	pid_t parent = getppid();
	setpgid(0, 0); /* own process group: a timeout kills the chunk's subprocesses too */
	/* if weft dies, a chunk still computing must not live on (kept across the exec) */
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	if (getppid() != parent)
		_exit(0);
	struct strbuf why;
	strbuf_init(&why);
	int img = image_fd(&why);
	if (img < 0)
		worker_loader_fail(ws->proto_fd, "cannot prepare weft's module for the Python", why.buf);
	if (ws->workdir && chdir(ws->workdir) < 0)
		worker_loader_fail(ws->proto_fd, "cannot enter the document's folder", strerror(errno));
	setenv("MPLBACKEND", "Agg", 1); /* before anything can import matplotlib */
	int proto = ws->proto_fd;
	if (place_fds(ws, img) < 0)
		worker_loader_fail(proto, "cannot set up the worker's channel", strerror(errno));
	char *argv[] = {(char *)ws->python, "-c", (char *)launch, (char *)bootstrap,
			(char *)(ws->doc_path ? ws->doc_path : ""), NULL};
	execv(ws->python, argv);
	char msg[512];
	snprintf(msg, sizeof(msg), "%s: %s", ws->python, strerror(errno));
	worker_loader_fail(3, "cannot run the Python", msg);
}
