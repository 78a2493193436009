/* doc_settings: document settings from front matter and config files; see doc_settings.h. */
#include "reader/doc_settings.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "model/yaml_value.h"
#include "reader/option_parser.h"
#include "util/strbuf.h"

/* The document setting a key names, or NULL when the key is a chunk option. */
static char **setting_field(struct doc_settings *s, const char *key)
{
	static const struct {
		const char *key;
		size_t offset;
	} fields[] = {
		{"format", offsetof(struct doc_settings, format)},
		{"output", offsetof(struct doc_settings, output)},
		{"kernel", offsetof(struct doc_settings, kernel)},
		{"figure_dir", offsetof(struct doc_settings, figure_dir)},
		{"figure-dir", offsetof(struct doc_settings, figure_dir)},
		{"fig_dir", offsetof(struct doc_settings, figure_dir)},
		{"figure_format", offsetof(struct doc_settings, figure_format)},
		{"figure-format", offsetof(struct doc_settings, figure_format)},
		{"python", offsetof(struct doc_settings, python)},
		{"latex_engine", offsetof(struct doc_settings, latex_engine)},
		{"latex-engine", offsetof(struct doc_settings, latex_engine)},
	};
	for (size_t i = 0; i < sizeof(fields) / sizeof(*fields); i++)
		if (!strcmp(key, fields[i].key))
			return (char **)((char *)s + fields[i].offset);
	return NULL;
}

/* Append option `key` = `val` (taken) at file line/column to `defaults`. */
static void add_default(struct option_list *defaults, const char *key, struct optval *val, int line,
			int column)
{
	ARRAY_GROW(defaults->items, defaults->n + 1, defaults->alloc);
	struct chunk_option *o = &defaults->items[defaults->n++];
	o->key = xstrdup(strcmp(key, "label") ? key : "name");
	o->val = *val;
	o->line = line;
	o->column = column;
}

/* Store a string setting unless already set; a value that is not a string is an error. */
static int set_string(char **field, struct optval *val, const char *file, int line, const char *key,
		      struct weft_error *err)
{
	if (val->kind != OPTVAL_STRING || !val->s || !*val->s) {
		optval_free(val);
		if (!strcmp(key, "python"))
			return weft_error_set(err, file, line, 0, "'python:' must name an interpreter (a path or "
					      "a name on PATH, e.g. python3.12)");
		return weft_error_set(err, file, line, 0, "'%s' wants a string", key);
	}
	if (!*field)
		*field = xstrdup(val->s);
	optval_free(val);
	return 0;
}

int doc_settings_read_mapping(struct document *doc, yaml_document_t *ydoc, yaml_node_t *map,
			      const char *yaml, const char *file, int line0,
			      struct option_list *defaults, struct weft_error *err)
{
	for (yaml_node_pair_t *p = map->data.mapping.pairs.start; p < map->data.mapping.pairs.top; p++) {
		yaml_node_t *k = yaml_document_get_node(ydoc, p->key);
		yaml_node_t *v = yaml_document_get_node(ydoc, p->value);
		if (!k || !v || k->type != YAML_SCALAR_NODE)
			return weft_error_set(err, file, line0 + (int)map->start_mark.line, 0, "bad key");
		const char *key = (const char *)k->data.scalar.value;
		int line = line0 + (int)k->start_mark.line;
		struct optval val;
		if (yaml_value_from_node(ydoc, v, yaml, file, line0, 1, &val, err) < 0)
			return -1;
		char **field = setting_field(&doc->settings, key);
		if (field) {
			if (set_string(field, &val, file, line, key, err) < 0)
				return -1;
			continue;
		}
		if (!strcmp(key, "cache") && doc->settings.cache < 0)
			doc->settings.cache = optval_truthy(&val);
		add_default(defaults, key, &val, line, 1 + (int)k->start_mark.column);
	}
	return 0;
}

/* weft's output format for a Quarto format name, or NULL when weft has none like it. */
static const char *quarto_format(const char *name)
{
	static const char *const map[][2] = {
		{"html", "md2html"},     {"ipynb", "notebook"}, {"gfm", "markdown"},
		{"markdown", "markdown"}, {"commonmark", "markdown"}, {"md", "markdown"},
		{"latex", "tex"},        {"rst", "rst"},          {"pdf", "pdf"},
	};
	for (size_t i = 0; i < sizeof(map) / sizeof(*map); i++)
		if (!strcmp(name, map[i][0]))
			return map[i][1];
	return NULL;
}

int doc_settings_read_quarto(struct document *doc, yaml_document_t *ydoc, const char *key,
			     yaml_node_t *v, const char *yaml, int line0, struct weft_error *err)
{
	int line = line0 + (int)v->start_mark.line;
	if (!strcmp(key, "format")) {
		/* format: html, or format: {html: {...}, pdf: ...}: the first is the one rendered */
		yaml_node_t *name = v;
		if (v->type == YAML_MAPPING_NODE && v->data.mapping.pairs.start < v->data.mapping.pairs.top)
			name = yaml_document_get_node(ydoc, v->data.mapping.pairs.start->key);
		if (!name || name->type != YAML_SCALAR_NODE)
			return weft_error_set(err, doc->path, line, 0, "front matter: format: wants a name");
		const char *q = (const char *)name->data.scalar.value;
		const char *f = quarto_format(q);
		if (!f)
			weft_warn(doc->path, line, "front matter: Quarto format '%s' has no weft format like it; "
				  "the default format is used", q);
		else if (!doc->settings.format)
			doc->settings.format = xstrdup(f);
		return 0;
	}
	if (!strcmp(key, "jupyter") || !strcmp(key, "kernel")) {
		/* jupyter: python3, or jupyter: {kernelspec: {name: ...}} */
		yaml_node_t *name = v;
		if (v->type == YAML_MAPPING_NODE) {
			name = NULL;
			for (yaml_node_pair_t *p = v->data.mapping.pairs.start; p < v->data.mapping.pairs.top; p++) {
				yaml_node_t *k = yaml_document_get_node(ydoc, p->key);
				yaml_node_t *kv = yaml_document_get_node(ydoc, p->value);
				if (k && k->type == YAML_SCALAR_NODE && kv && kv->type == YAML_MAPPING_NODE &&
				    !strcmp((const char *)k->data.scalar.value, "kernelspec"))
					for (yaml_node_pair_t *q = kv->data.mapping.pairs.start;
					     q < kv->data.mapping.pairs.top; q++) {
						yaml_node_t *qk = yaml_document_get_node(ydoc, q->key);
						if (qk && qk->type == YAML_SCALAR_NODE &&
						    !strcmp((const char *)qk->data.scalar.value, "name"))
							name = yaml_document_get_node(ydoc, q->value);
					}
			}
		}
		if (!name || name->type != YAML_SCALAR_NODE)
			return weft_error_set(err, doc->path, line, 0, "front matter: %s: wants a kernel name", key);
		const char *k = (const char *)name->data.scalar.value;
		/* a Python kernel: weft's embedded Python is that, with the whole cache */
		if (strncmp(k, "python", 6) && !doc->settings.kernel)
			doc->settings.kernel = xstrdup(k);
		return 0;
	}
	if (!strcmp(key, "execute")) {
		if (v->type != YAML_MAPPING_NODE)
			return weft_error_set(err, doc->path, line, 0, "front matter: execute: wants a mapping");
		for (yaml_node_pair_t *p = v->data.mapping.pairs.start; p < v->data.mapping.pairs.top; p++) {
			yaml_node_t *k = yaml_document_get_node(ydoc, p->key);
			yaml_node_t *kv = yaml_document_get_node(ydoc, p->value);
			if (!k || !kv || k->type != YAML_SCALAR_NODE)
				return weft_error_set(err, doc->path, line, 0, "front matter: execute: bad key");
			struct optval val;
			if (yaml_value_from_node(ydoc, kv, yaml, doc->path, line0, 1, &val, err) < 0)
				return -1;
			char *name = option_quarto_name((const char *)k->data.scalar.value);
			if (!strcmp(name, "cache") && doc->settings.cache < 0)
				doc->settings.cache = optval_truthy(&val);
			add_default(&doc->doc_defaults, name, &val, line0 + (int)k->start_mark.line,
				    1 + (int)k->start_mark.column);
			free(name);
		}
	}
	return 0;
}

/*
 * Read one configuration file into doc (settings where unset) and `defaults`.
 * A missing file is fine; one that others may write is refused.
 */
static int read_config_file(struct document *doc, const char *path, struct option_list *defaults,
			    struct weft_error *err)
{
	struct stat st;
	if (stat(path, &st) < 0)
		return errno == ENOENT || errno == ENOTDIR ? 0 : weft_error_errno(err, path, "cannot read");
	if (st.st_mode & (S_IWGRP | S_IWOTH))
		return weft_error_set(err, path, 0, 0,
				      "others can write this configuration file, which chooses what runs; "
				      "refusing it (chmod go-w %s)", path);
	struct strbuf text;
	strbuf_init(&text);
	if (strbuf_read_file(&text, path) < 0) {
		strbuf_free(&text);
		return weft_error_errno(err, path, "cannot read");
	}
	int rc = yaml_nesting_check(text.buf, text.len, path, 1, 1, err);
	yaml_parser_t parser;
	yaml_document_t ydoc;
	if (rc == 0 && !yaml_parser_initialize(&parser))
		rc = weft_error_set(err, path, 0, 0, "cannot start the YAML parser");
	if (rc < 0) {
		strbuf_free(&text);
		return -1;
	}
	yaml_parser_set_input_string(&parser, (const unsigned char *)text.buf, text.len);
	if (!yaml_parser_load(&parser, &ydoc)) {
		rc = weft_error_set(err, path, 1 + (int)parser.problem_mark.line,
				    1 + (int)parser.problem_mark.column, "%s",
				    parser.problem ? parser.problem : "malformed YAML");
		yaml_parser_delete(&parser);
		strbuf_free(&text);
		return rc;
	}
	yaml_node_t *root = yaml_document_get_root_node(&ydoc);
	if (root && root->type != YAML_MAPPING_NODE) {
		rc = weft_error_set(err, path, 1, 1, "a configuration file is a YAML mapping");
	} else if (root) {
		/* `documents:` is weft render's list, not a setting */
		struct option_list all;
		option_list_init(&all);
		const char *python_before = doc->settings.python;
		rc = doc_settings_read_mapping(doc, &ydoc, root, text.buf, path, 1, &all, err);
		char *py = doc->settings.python;
		if (rc == 0 && py && py != python_before && strchr(py, '/') && py[0] != '/') {
			/* a path in a settings file is that file's: from its folder */
			struct strbuf abs;
			strbuf_init(&abs);
			strbuf_add(&abs, path, (size_t)(strrchr(path, '/') - path + 1));
			strbuf_addstr(&abs, py);
			free(py);
			doc->settings.python = strbuf_detach(&abs, NULL);
		}
		for (size_t i = 0; rc == 0 && i < all.n; i++) {
			struct option_list one = {.items = &all.items[i], .n = 1, .alloc = 1};
			if (strcmp(all.items[i].key, "documents"))
				option_list_append(defaults, &one);
		}
		option_list_free(&all);
	}
	yaml_document_delete(&ydoc);
	yaml_parser_delete(&parser);
	strbuf_free(&text);
	return rc;
}

/* The first _weft.yml in the document's folder or above it, into `out`; 0 when there is none. */
static int find_project_file(const char *doc_path, struct strbuf *out)
{
	char *real = realpath(doc_path, NULL);
	if (!real)
		return 0;
	struct strbuf dir;
	strbuf_init(&dir);
	strbuf_addstr(&dir, real);
	free(real);
	int found = 0;
	for (;;) {
		char *slash = strrchr(dir.buf, '/');
		if (!slash)
			break;
		strbuf_setlen(&dir, (size_t)(slash - dir.buf));
		strbuf_reset(out);
		strbuf_addf(out, "%s/_weft.yml", dir.len ? dir.buf : "");
		if (access(out->buf, F_OK) == 0) {
			found = 1;
			break;
		}
		if (!dir.len)
			break;
	}
	strbuf_free(&dir);
	return found;
}

/* The user's configuration file path into `out`; 0 when no home is known. */
static int user_config_path(struct strbuf *out)
{
	const char *xdg = getenv("XDG_CONFIG_HOME");
	const char *home = getenv("HOME");
	if (xdg && *xdg == '/')
		strbuf_addf(out, "%s/weft/config.yaml", xdg);
	else if (home && *home)
		strbuf_addf(out, "%s/.config/weft/config.yaml", home);
	else
		return 0;
	return 1;
}

int doc_settings_load_config(struct document *doc, struct weft_error *err)
{
	struct option_list project, user;
	option_list_init(&project);
	option_list_init(&user);
	struct strbuf path;
	strbuf_init(&path);
	int rc = 0;
	if (find_project_file(doc->path, &path))
		rc = read_config_file(doc, path.buf, &project, err);
	strbuf_reset(&path);
	if (rc == 0 && user_config_path(&path))
		rc = read_config_file(doc, path.buf, &user, err);
	strbuf_free(&path);
	if (rc == 0 && (user.n || project.n)) {
		/* user, then project, then the front matter's own: the later entry of a key wins */
		struct option_list merged;
		option_list_init(&merged);
		option_list_append(&merged, &user);
		option_list_append(&merged, &project);
		option_list_append(&merged, &doc->doc_defaults);
		option_list_free(&doc->doc_defaults);
		doc->doc_defaults = merged;
	}
	option_list_free(&project);
	option_list_free(&user);
	return rc;
}
