/*
 * jupyter_kernelspec: finding and reading an installed Jupyter kernel's
 * kernel.json (see jupyter_kernelspec.h).
 */
#include "engine/jupyter_kernelspec.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "util/strbuf.h"

void jupyter_kernelspec_init(struct jupyter_kernelspec *ks)
{
	memset(ks, 0, sizeof(*ks));
}

void jupyter_kernelspec_free(struct jupyter_kernelspec *ks)
{
	free(ks->name);
	free(ks->dir);
	for (size_t i = 0; i < ks->argc; i++)
		free(ks->argv[i]);
	free(ks->argv);
	free(ks->language);
	free(ks->display_name);
	json_decref(ks->env);
	jupyter_kernelspec_init(ks);
}

/* The kernels folders in Jupyter's search order (JUPYTER_PATH first). */
static void kernel_dirs(struct strbuf *dirs, size_t *n)
{
	*n = 0;
	const char *jp = getenv("JUPYTER_PATH");
	if (jp && *jp) {
		char *copy = xstrdup(jp), *save = NULL;
		for (char *p = strtok_r(copy, ":", &save); p; p = strtok_r(NULL, ":", &save))
			if (*p && *n < 14)
				strbuf_addf(&dirs[(*n)++], "%s/kernels", p);
		free(copy);
	}
	const char *xdg = getenv("XDG_DATA_HOME"), *home = getenv("HOME");
	if (xdg && *xdg)
		strbuf_addf(&dirs[(*n)++], "%s/jupyter/kernels", xdg);
	else if (home && *home)
		strbuf_addf(&dirs[(*n)++], "%s/.local/share/jupyter/kernels", home);
	strbuf_addstr(&dirs[(*n)++], "/usr/local/share/jupyter/kernels");
	strbuf_addstr(&dirs[(*n)++], "/usr/share/jupyter/kernels");
}

static char *json_strdup_or(const json_t *obj, const char *key, const char *dflt)
{
	const char *s = json_string_value(json_object_get(obj, key));
	return s ? xstrdup(s) : dflt ? xstrdup(dflt) : NULL;
}

/* Parse one kernel.json into ks. Returns 0 or -1 with err. */
static int parse_kernelspec(struct jupyter_kernelspec *ks, const char *name, const char *dir,
			    const char *path, struct weft_error *err)
{
	json_error_t je;
	json_t *j = json_load_file(path, 0, &je);
	if (!j)
		return weft_error_set(err, path, je.line, je.column, "kernelspec: %s", je.text);
	json_t *argv = json_object_get(j, "argv");
	if (!json_is_array(argv) || !json_array_size(argv)) {
		json_decref(j);
		return weft_error_set(err, path, 0, 0, "kernelspec: \"argv\" must be a non-empty list");
	}
	ks->name = xstrdup(name);
	ks->dir = xstrdup(dir);
	ks->argc = json_array_size(argv);
	ks->argv = xcalloc(ks->argc + 1, sizeof(char *));
	for (size_t i = 0; i < ks->argc; i++) {
		const char *a = json_string_value(json_array_get(argv, i));
		ks->argv[i] = xstrdup(a ? a : "");
	}
	ks->language = json_strdup_or(j, "language", "");
	ks->display_name = json_strdup_or(j, "display_name", name);
	const char *mode = json_string_value(json_object_get(j, "interrupt_mode"));
	ks->interrupt_message = mode && !strcmp(mode, "message");
	json_t *env = json_object_get(j, "env");
	if (json_is_object(env))
		ks->env = json_incref(env);
	json_decref(j);
	return 0;
}

int jupyter_kernelspec_find(struct jupyter_kernelspec *ks, const char *name, struct weft_error *err)
{
	struct strbuf dirs[18];
	for (size_t i = 0; i < 18; i++)
		strbuf_init(&dirs[i]);
	size_t n;
	kernel_dirs(dirs, &n);
	int rc = -1;
	bool found = false;
	struct strbuf path;
	strbuf_init(&path);
	if (!name || !*name || strchr(name, '/')) {
		rc = weft_error_set(err, NULL, 0, 0, "--kernel: '%s' is not a kernel name", name ? name : "");
		goto out;
	}
	for (size_t i = 0; i < n && !found; i++) {
		strbuf_reset(&path);
		strbuf_addf(&path, "%s/%s/kernel.json", dirs[i].buf, name);
		if (access(path.buf, R_OK) == 0) {
			found = true;
			strbuf_setlen(&path, path.len - strlen("/kernel.json"));
			struct strbuf file;
			strbuf_init(&file);
			strbuf_addf(&file, "%s/kernel.json", path.buf);
			rc = parse_kernelspec(ks, name, path.buf, file.buf, err);
			strbuf_free(&file);
		}
	}
	if (!found) {
		/* Say where we looked and what exists, so a typo is obvious. */
		struct strbuf have, where;
		strbuf_init(&have);
		strbuf_init(&where);
		for (size_t i = 0; i < n; i++) {
			strbuf_addf(&where, "%s%s", i ? ", " : "", dirs[i].buf);
			DIR *d = opendir(dirs[i].buf);
			struct dirent *de;
			while (d && (de = readdir(d))) {
				if (de->d_name[0] == '.')
					continue;
				strbuf_reset(&path);
				strbuf_addf(&path, "%s/%s/kernel.json", dirs[i].buf, de->d_name);
				if (access(path.buf, R_OK) == 0)
					strbuf_addf(&have, "%s%s", have.len ? ", " : "", de->d_name);
			}
			if (d)
				closedir(d);
		}
		rc = weft_error_set(err, NULL, 0, 0,
				    "no Jupyter kernel named '%s' (looked in %s; installed: %s)", name,
				    where.buf, have.len ? have.buf : "none");
		strbuf_free(&have);
		strbuf_free(&where);
	}
out:
	strbuf_free(&path);
	for (size_t i = 0; i < 18; i++)
		strbuf_free(&dirs[i]);
	return rc;
}

/* qsort order of kernelspecs: by name. */
static int by_name(const void *a, const void *b)
{
	return strcmp(((const struct jupyter_kernelspec *)a)->name, ((const struct jupyter_kernelspec *)b)->name);
}

void jupyter_kernelspec_list(struct jupyter_kernelspec **out, size_t *n)
{
	struct strbuf dirs[18];
	for (size_t i = 0; i < 18; i++)
		strbuf_init(&dirs[i]);
	size_t ndirs, alloc = 0;
	kernel_dirs(dirs, &ndirs);
	*out = NULL;
	*n = 0;
	struct strbuf path;
	strbuf_init(&path);
	for (size_t i = 0; i < ndirs; i++) {
		DIR *d = opendir(dirs[i].buf);
		struct dirent *de;
		while (d && (de = readdir(d))) {
			bool seen = de->d_name[0] == '.';
			for (size_t k = 0; k < *n && !seen; k++)
				seen = !strcmp((*out)[k].name, de->d_name);
			strbuf_reset(&path);
			strbuf_addf(&path, "%s/%s/kernel.json", dirs[i].buf, de->d_name);
			if (seen || access(path.buf, R_OK) != 0)
				continue;
			ARRAY_GROW(*out, *n + 1, alloc);
			struct jupyter_kernelspec *ks = &(*out)[*n];
			jupyter_kernelspec_init(ks);
			char *dir = xstrndup(path.buf, path.len - strlen("/kernel.json"));
			struct weft_error err;
			weft_error_init(&err);
			if (parse_kernelspec(ks, de->d_name, dir, path.buf, &err) == 0)
				(*n)++;
			else
				weft_warn(path.buf, 0, "kernelspec left out: %s", err.msg.buf);
			weft_error_free(&err);
			free(dir);
		}
		if (d)
			closedir(d);
	}
	if (*n)
		qsort(*out, *n, sizeof(**out), by_name);
	strbuf_free(&path);
	for (size_t i = 0; i < 18; i++)
		strbuf_free(&dirs[i]);
}

/* The canonical spelling of a language for matching: shells are "bash". */
static const char *canonical_language(const char *lang)
{
	if (!strcasecmp(lang, "sh") || !strcasecmp(lang, "shell"))
		return "bash";
	return lang;
}

bool jupyter_language_matches(const char *klang, const char *lang)
{
	if (!klang || !lang || !*klang || !*lang)
		return false;
	return !strcasecmp(canonical_language(klang), canonical_language(lang));
}
