/* inputs: recorded inputs and file-system changes of a chunk; see inputs.h. */
#include "planner/inputs.h"

#include <dirent.h>
#include <stdbool.h>
#include <errno.h>
#include <ftw.h>
#include <glob.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/hash.h"

extern char **environ;

/* The worker forces MPLBACKEND=Agg (worker.c): its outside value changes nothing. */
static int env_ignored(const char *name, size_t len)
{
	return len == 10 && !strncmp(name, "MPLBACKEND", 10);
}

/* ---- paths ---- */

/* The entry's name for absolute `path`: relative to the document's folder when inside it. */
static const char *entry_path(const struct walk *w, const char *path, const char *real_dir)
{
	const char *dirs[2] = {w->doc_dir, real_dir};
	for (int i = 0; i < 2; i++) {
		size_t n = dirs[i] ? strlen(dirs[i]) : 0;
		if (n && !strncmp(path, dirs[i], n) && path[n] == '/' && path[n + 1])
			return path + n + 1;
		if (n && !strcmp(path, dirs[i]))
			return ".";
	}
	return path;
}

/* The path an entry's name stands for in this document's folder. */
static void file_path(const struct walk *w, const char *path, struct strbuf *out)
{
	strbuf_reset(out);
	if (!strcmp(path, "."))
		strbuf_addstr(out, w->doc_dir);
	else if (path[0] == '/')
		strbuf_addstr(out, path);
	else
		strbuf_addf(out, "%s/%s", w->doc_dir, path);
}

/* The document folder's real path (the worker's getcwd), or NULL; free it. */
static char *real_doc_dir(const struct walk *w)
{
	return realpath(w->doc_dir, NULL);
}

/* ---- digests, as weft_inputs.py computes them ---- */

struct dent {
	char *name;
	char type;
};

/* qsort: entries by name, as bytes. */
static int dent_cmp(const void *a, const void *b)
{
	return strcmp(((const struct dent *)a)->name, ((const struct dent *)b)->name);
}

/* See inputs.h. The type of an entry comes from d_type, else lstat (as Python's DirEntry). */
void inputs_listing_digest(const char *path, char out[HASH_HEX_SIZE])
{
	struct hasher h;
	hasher_init(&h);
	DIR *d = opendir(path);
	if (!d) {
		char msg[32];
		if (errno == ENOENT)
			snprintf(msg, sizeof(msg), "missing");
		else if (errno == ENOTDIR)
			snprintf(msg, sizeof(msg), "notdir");
		else
			snprintf(msg, sizeof(msg), "err%d", errno);
		hasher_update(&h, msg, strlen(msg));
		hasher_final_hex(&h, out);
		return;
	}
	struct dent *v = NULL;
	size_t n = 0, cap = 0;
	struct dirent *e;
	struct strbuf full;
	strbuf_init(&full);
	while ((e = readdir(d)) != NULL) {
		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
			continue;
		char t = 'o';
		unsigned char dt = e->d_type;
		if (dt == DT_UNKNOWN) {
			struct stat st;
			strbuf_reset(&full);
			strbuf_addf(&full, "%s/%s", path, e->d_name);
			if (lstat(full.buf, &st) == 0)
				dt = S_ISDIR(st.st_mode) ? DT_DIR : S_ISREG(st.st_mode) ? DT_REG
								: S_ISLNK(st.st_mode) ? DT_LNK : DT_FIFO;
		}
		if (dt == DT_DIR)
			t = 'd';
		else if (dt == DT_REG)
			t = 'f';
		else if (dt == DT_LNK)
			t = 'l';
		if (n == cap) {
			cap = cap ? 2 * cap : 64;
			v = xrealloc(v, cap * sizeof(*v));
		}
		v[n].name = xstrdup(e->d_name);
		v[n].type = t;
		n++;
	}
	closedir(d);
	strbuf_free(&full);
	if (n)
		qsort(v, n, sizeof(*v), dent_cmp);
	for (size_t i = 0; i < n; i++) {
		char tail[3] = {'\0', v[i].type, '\n'};
		hasher_update(&h, v[i].name, strlen(v[i].name));
		hasher_update(&h, tail, 3);
		free(v[i].name);
	}
	free(v);
	hasher_final_hex(&h, out);
}

/* Length of an environment entry's name (up to '='). */
static size_t env_key_len(const char *s)
{
	const char *eq = strchr(s, '=');
	return eq ? (size_t)(eq - s) : strlen(s);
}

/* qsort: environment entries by name, as bytes (Python sorts the names). */
static int env_cmp(const void *a, const void *b)
{
	const char *x = *(const char *const *)a, *y = *(const char *const *)b;
	size_t lx = env_key_len(x), ly = env_key_len(y);
	int c = memcmp(x, y, lx < ly ? lx : ly);
	if (c)
		return c;
	return lx < ly ? -1 : lx > ly;
}

/* weft_inputs.environ_digest of this process's environment. */
static void environ_digest(char out[HASH_HEX_SIZE])
{
	size_t n = 0;
	while (environ && environ[n])
		n++;
	const char **v = xcalloc(n ? n : 1, sizeof(char *));
	size_t m = 0;
	for (size_t i = 0; i < n; i++)
		if (strchr(environ[i], '=') && !env_ignored(environ[i], env_key_len(environ[i])))
			v[m++] = environ[i];
	if (m)
		qsort(v, m, sizeof(*v), env_cmp);
	struct hasher h;
	hasher_init(&h);
	for (size_t i = 0; i < m; i++)
		hasher_update(&h, v[i], strlen(v[i]) + 1); /* "k=v" and its NUL */
	hasher_final_hex(&h, out);
	free(v);
}

/* BLAKE2b-256 (hex) of a file's bytes, as weft_inputs._content_digest; -1 when unreadable. */
static int content_digest(const char *path, char out[HASH_HEX_SIZE])
{
	FILE *f = fopen(path, "rb");
	if (!f)
		return -1;
	struct hasher h;
	hasher_init(&h);
	char buf[1 << 16];
	size_t n;
	while ((n = fread(buf, 1, sizeof(buf), f)) > 0)
		hasher_update(&h, buf, n);
	int bad = ferror(f);
	fclose(f);
	hasher_final_hex(&h, out);
	return bad ? -1 : 0;
}

/* The kind weft_inputs records for a stat result or failure. */
static void stat_kind(const char *path, int follow, struct stat *st, char kind[24])
{
	if ((follow ? stat(path, st) : lstat(path, st)) < 0) {
		if (errno == ENOENT || errno == ENOTDIR || errno == ELOOP || errno == ENAMETOOLONG)
			snprintf(kind, 24, "missing");
		else
			snprintf(kind, 24, "err%d", errno);
		return;
	}
	snprintf(kind, 24, "%s", S_ISREG(st->st_mode) ? "file" : S_ISDIR(st->st_mode) ? "dir"
				 : S_ISLNK(st->st_mode) ? "link" : "other");
}

/* Escape glob(3)'s special characters in a literal folder name. */
static void add_glob_literal(struct strbuf *sb, const char *s)
{
	for (; *s; s++) {
		if (strchr("*?[\\", *s))
			strbuf_addch(sb, '\\');
		strbuf_addch(sb, *s);
	}
}

/*
 * Expand a depends_on_files pattern in the document's folder. Returns the
 * digest of its match list (entry paths) and, when files_read is given, adds
 * each matching regular file's fingerprint to it.
 */
static void declared_pattern(const struct walk *w, const char *pattern, const char *real_dir,
			     json_t *files_read, char out[HASH_HEX_SIZE])
{
	struct strbuf pat;
	strbuf_init(&pat);
	if (pattern[0] != '/') {
		add_glob_literal(&pat, w->doc_dir);
		strbuf_addch(&pat, '/');
	}
	strbuf_addstr(&pat, pattern);
	glob_t g;
	memset(&g, 0, sizeof(g));
	int rc = glob(pat.buf, 0, NULL, &g);
	struct hasher h;
	hasher_init(&h);
	hasher_update_str(&h, "glob");
	for (size_t i = 0; rc == 0 && i < g.gl_pathc; i++) {
		const char *p = g.gl_pathv[i];
		const char *ep = entry_path(w, p, real_dir);
		hasher_update_str(&h, ep);
		struct stat st;
		if (files_read && stat(p, &st) == 0 && S_ISREG(st.st_mode) && !json_object_get(files_read, ep)) {
			struct fingerprint fp;
			if (fingerprint_file(&fp, p, NULL) == 0) {
				struct strbuf t;
				strbuf_init(&t);
				fingerprint_to_text(&fp, &t);
				json_object_set_new(files_read, ep, json_string(t.buf));
				strbuf_free(&t);
			}
		}
	}
	if (rc != 0 && rc != GLOB_NOMATCH)
		hasher_update_str(&h, "error");
	globfree(&g);
	strbuf_free(&pat);
	hasher_final_hex(&h, out);
}

/* ---- after a run ---- */

/*
 * A copy of a recorded list of typed items with "p" made an entry path
 * ("cwd": the document folder). *lost is set when an item could not be
 * recorded as it should (a folder path that is not UTF-8): the entry must
 * then never be trusted.
 */
static json_t *entry_items(const struct walk *w, const json_t *items, const char *real_dir, bool *lost)
{
	json_t *out = json_array();
	size_t i;
	json_t *it;
	json_array_foreach(items, i, it) {
		json_t *c = json_deep_copy(it);
		if (json_is_object(c)) {
			const char *t = json_string_value(json_object_get(c, "t"));
			const char *p = json_string_value(json_object_get(c, "p"));
			if (p && t && !strcmp(t, "cwd")) {
				/*
				 * Which folder the chunk was in is the working-directory
				 * setting, a dataflow input of every chunk (settings.c);
				 * what the entry must check is that the document's folder,
				 * which that setting is relative to, did not move. A folder
				 * outside it is an absolute setting: nothing more to check.
				 */
				size_t n = real_dir ? strlen(real_dir) : 0;
				if (!real_dir || strncmp(p, real_dir, n) || (p[n] && p[n] != '/')) {
					json_decref(c);
					continue;
				}
				if (json_object_set_new(c, "p", json_string(real_dir)) < 0)
					*lost = true;
			} else if (p && json_object_set_new(c, "p", json_string(entry_path(w, p, real_dir))) < 0) {
				*lost = true;
			}
		} else if (json_is_array(c) && json_is_string(json_array_get(c, 1))) {
			/* an fs op: [op, path] */
			const char *p = json_string_value(json_array_get(c, 1));
			if (json_array_set_new(c, 1, json_string(entry_path(w, p, real_dir))) < 0)
				*lost = true;
		}
		if (json_array_append_new(out, c) < 0)
			*lost = true;
	}
	return out;
}

/* See inputs.h. */
void inputs_after_run(struct walk *w, size_t ui, json_t *rec, json_t *files_read)
{
	const struct unit *u = &w->df.units[ui];
	if (!rec)
		return;
	char *real_dir = real_doc_dir(w);
	bool lost = false;
	json_t *inputs = entry_items(w, json_object_get(rec, "inputs"), real_dir, &lost);
	json_t *ops = entry_items(w, json_object_get(rec, "fs_ops"), real_dir, &lost);
	const struct chunk_options *o = u->kind == UNIT_CHUNK ? &u->chunk->opts : NULL;
	/* A declared pattern that cannot be recorded is no declaration (re-run, below). */
	bool declared = o && o->ndepends_on_files;
	for (size_t i = 0; o && i < o->ndepends_on_files; i++) {
		char h[HASH_HEX_SIZE];
		declared_pattern(w, o->depends_on_files[i], real_dir, files_read, h);
		json_t *it = json_pack("{s:s, s:s, s:s}", "t", "glob", "p", o->depends_on_files[i], "h", h);
		if (!it || json_array_append_new(inputs, it) < 0)
			declared = false;
	}
	if (json_object_set_new(rec, "inputs", inputs) < 0 || json_object_set_new(rec, "fs_ops", ops) < 0)
		lost = true;
	const json_t *subs = json_object_get(rec, "subprocesses");
	if (lost) {
		/* never an entry that checks less than the chunk used: it re-runs */
		json_object_set_new(rec, "volatile", json_string("a file or folder it used could not be recorded"));
		if (u->cached)
			weft_warn(w->doc->path, u->line, "chunk %s re-runs every render: a file or folder it used "
				  "could not be recorded (a path that is not UTF-8)", u->label);
	} else if (json_array_size(subs) && o && !declared && !o->cache_extra) {
		struct strbuf why;
		strbuf_init(&why);
		strbuf_addf(&why, "it starts a subprocess (%s) whose inputs weft cannot see; declare them with "
				  "depends_on_files= or cache_extra=",
			    json_string_value(json_array_get(subs, 0)) ?: "?");
		/* a reason that cannot be stored must not drop the mark: a fixed one then */
		if (json_object_set_new(rec, "volatile", json_string(why.buf)) < 0)
			json_object_set_new(rec, "volatile", json_string("it starts a subprocess"));
		if (u->cached)
			weft_warn(w->doc->path, u->line, "chunk %s re-runs every render: %s", u->label, why.buf);
		strbuf_free(&why);
	}
	free(real_dir);
}

/* See inputs.h. */
void inputs_to_meta(const json_t *rec, json_t *meta)
{
	static const char *const fields[] = {"inputs", "fs_ops", "volatile"};
	for (size_t f = 0; f < 3; f++) {
		json_t *v = json_object_get(rec, fields[f]);
		if (v && !(json_is_array(v) && !json_array_size(v)))
			json_object_set(meta, fields[f], v);
	}
}

/* Mix `holder`'s inputs into unit ui's state key; a volatile run gets a key of its own. */
static void mix_state(struct walk *w, size_t ui, const json_t *holder, bool ran)
{
	struct unit *u = &w->df.units[ui];
	if (!u->state_known || !holder)
		return;
	if (ran && json_is_string(json_object_get(holder, "volatile"))) {
		dataflow_mix_unique(&w->df, ui); /* its results may differ on every run */
		return;
	}
	const json_t *inputs = json_object_get(holder, "inputs");
	if (!json_array_size(inputs))
		return; /* nothing recorded: the state key stays as it was */
	struct hasher h;
	hasher_init(&h);
	hasher_update_str(&h, "inputs");
	hasher_update_str(&h, u->state_key);
	char *text = json_dumps(inputs, JSON_COMPACT | JSON_SORT_KEYS);
	hasher_update_str(&h, text);
	free(text);
	hasher_final_hex(&h, u->state_key);
}

/* See inputs.h. */
void inputs_mix_state(struct walk *w, size_t ui, const json_t *holder, bool ran)
{
	mix_state(w, ui, holder, ran);
}

/* ---- checking ---- */

/* Does one recorded input still hold? 1 yes; 0 no, with the reason in why. */
static int input_holds(const struct walk *w, const json_t *it, const char *real_dir, struct strbuf *why)
{
	const char *t = json_string_value(json_object_get(it, "t"));
	const char *p = json_string_value(json_object_get(it, "p"));
	struct strbuf file;
	strbuf_init(&file);
	int ok = 0;
	if (!t) {
		strbuf_addstr(why, "an input of an unknown kind");
	} else if (!strcmp(t, "stat") && p) {
		file_path(w, p, &file);
		const char *old = json_string_value(json_object_get(it, "k")) ?: "";
		const char *lv = json_string_value(json_object_get(it, "lv")) ?: "m";
		struct stat st;
		char kind[24];
		stat_kind(file.buf, !json_integer_value(json_object_get(it, "l")), &st, kind);
		int was_file = !strcmp(old, "file"), is_file = !strcmp(kind, "file");
		ok = !strcmp(kind, old);
		if (ok && strcmp(lv, "k") && (was_file || is_file))
			ok = (json_int_t)st.st_size == json_integer_value(json_object_get(it, "size"));
		if (ok && !strcmp(lv, "m") && strcmp(kind, "missing") && strncmp(kind, "err", 3)) {
			json_int_t ns = (json_int_t)st.st_mtim.tv_sec * 1000000000 + st.st_mtim.tv_nsec;
			ok = (json_int_t)st.st_size == json_integer_value(json_object_get(it, "size")) &&
			     ns == json_integer_value(json_object_get(it, "mtime"));
		}
		if (ok)
			;
		else if (!strcmp(old, "missing"))
			strbuf_addf(why, "%s appeared", p);
		else if (!strcmp(kind, "missing"))
			strbuf_addf(why, "%s was removed", p);
		else
			strbuf_addf(why, "%s changed", p);
	} else if (!strcmp(t, "content") && p) {
		file_path(w, p, &file);
		char h[HASH_HEX_SIZE];
		ok = content_digest(file.buf, h) == 0 && !strcmp(h, json_string_value(json_object_get(it, "h")) ?: "");
		if (!ok)
			strbuf_addf(why, "%s changed", p);
	} else if (!strcmp(t, "list") && p) {
		file_path(w, p, &file);
		char h[HASH_HEX_SIZE];
		inputs_listing_digest(file.buf, h);
		ok = !strcmp(h, json_string_value(json_object_get(it, "h")) ?: "");
		if (!ok)
			strbuf_addf(why, "folder %s/ listing changed", p);
	} else if (!strcmp(t, "glob") && p) {
		char h[HASH_HEX_SIZE];
		declared_pattern(w, p, real_dir, NULL, h);
		ok = !strcmp(h, json_string_value(json_object_get(it, "h")) ?: "");
		if (!ok)
			strbuf_addf(why, "the files matching %s changed", p);
	} else if (!strcmp(t, "env")) {
		const char *name = json_string_value(json_object_get(it, "n")) ?: "";
		const char *cur = getenv(name);
		const json_t *v = json_object_get(it, "v");
		ok = json_is_string(v) ? cur && !strcmp(cur, json_string_value(v)) : !cur;
		if (!ok)
			strbuf_addf(why, "environment variable %s changed", name);
	} else if (!strcmp(t, "environ")) {
		char h[HASH_HEX_SIZE];
		environ_digest(h);
		ok = !strcmp(h, json_string_value(json_object_get(it, "h")) ?: "");
		if (!ok)
			strbuf_addstr(why, "the environment changed");
	} else if (!strcmp(t, "cwd") && p) {
		ok = real_dir && !strcmp(real_dir, p);
		if (!ok)
			strbuf_addstr(why, "the working directory changed");
	} else {
		strbuf_addf(why, "an input of an unknown kind (%s)", t);
	}
	strbuf_free(&file);
	return ok;
}

/* See inputs.h. */
int inputs_valid(const struct walk *w, const json_t *meta, struct strbuf *why)
{
	const char *vol = json_string_value(json_object_get(meta, "volatile"));
	if (vol) {
		strbuf_addstr(why, vol);
		return 0;
	}
	const json_t *inputs = json_object_get(meta, "inputs");
	if (!json_array_size(inputs))
		return 1;
	char *real_dir = real_doc_dir(w);
	int ok = 1;
	size_t i;
	json_t *it;
	json_array_foreach(inputs, i, it) {
		if (!input_holds(w, it, real_dir, why)) {
			ok = 0;
			break;
		}
	}
	free(real_dir);
	return ok;
}

/* ---- applying a hit's file-system changes ---- */

/* nftw callback: remove one entry, children first. */
static int remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	if (remove(path) < 0 && errno != ENOENT)
		return -1;
	return 0;
}

/* See inputs.h. */
int inputs_make_parents(const char *path, struct weft_error *err)
{
	char *p = xstrdup(path);
	int rc = 0;
	for (char *s = strchr(p + 1, '/'); s; s = strchr(s + 1, '/')) {
		*s = '\0';
		if (mkdir(p, 0777) < 0 && errno != EEXIST) {
			rc = weft_error_errno(err, p, "cannot make the folder");
			break;
		}
		*s = '/';
	}
	free(p);
	return rc;
}

/* See inputs.h. */
void inputs_apply_fs_ops(struct walk *w, size_t ui, const json_t *meta)
{
	const struct unit *u = &w->df.units[ui];
	struct strbuf file;
	strbuf_init(&file);
	size_t i;
	json_t *op;
	json_array_foreach(json_object_get(meta, "fs_ops"), i, op) {
		const char *what = json_string_value(json_array_get(op, 0));
		const char *p = json_string_value(json_array_get(op, 1));
		if (!what || !p)
			continue;
		file_path(w, p, &file);
		int rc = 0;
		struct stat st;
		/* What the chunk's own call did in a fresh run, errors it would have met included. */
		if (!strcmp(what, "rm")) {
			if (lstat(file.buf, &st) == 0 && !S_ISDIR(st.st_mode))
				rc = unlink(file.buf);
		} else if (!strcmp(what, "rmdir")) {
			if (rmdir(file.buf) < 0 && errno != ENOENT && errno != ENOTEMPTY && errno != ENOTDIR)
				rc = -1;
		} else if (!strcmp(what, "rmtree")) {
			if (lstat(file.buf, &st) == 0)
				rc = nftw(file.buf, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
		} else if (!strcmp(what, "mkdir")) {
			struct weft_error err;
			weft_error_init(&err);
			strbuf_addstr(&file, "/");
			if (inputs_make_parents(file.buf, &err) < 0)
				weft_warn(w->doc->path, u->line, "chunk %s: %s", u->label, weft_error_text(&err));
			weft_error_free(&err);
		}
		if (rc < 0)
			weft_warn(w->doc->path, u->line, "chunk %s: cannot redo %s of %s: %s", u->label, what, p,
				  strerror(errno));
	}
	strbuf_free(&file);
}
