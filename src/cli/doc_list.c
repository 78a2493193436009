/* doc_list: the documents a render covers; see doc_list.h. */
#include "cli/doc_list.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <yaml.h>

#include "util/strbuf.h"

/* Extensions of the documents a folder walk picks up (case as written). */
static const char *const doc_extensions[] = {
	".pmd", ".Pmd", ".pymd", ".mdw", ".Pnw", ".pnw", ".texw", ".rstw",
};

void doc_list_init(struct doc_list *l)
{
	l->paths = NULL;
	l->n = l->alloc = 0;
}

void doc_list_free(struct doc_list *l)
{
	for (size_t i = 0; i < l->n; i++)
		free(l->paths[i]);
	free(l->paths);
	doc_list_init(l);
}

/* Append a copy of `path`. */
static void add_path(struct doc_list *l, const char *path)
{
	if (l->n == l->alloc) {
		l->alloc = l->alloc ? 2 * l->alloc : 16;
		l->paths = xrealloc(l->paths, l->alloc * sizeof(*l->paths));
	}
	l->paths[l->n++] = xstrdup(path);
}

/* True when `name` ends in one of doc_extensions. */
static int is_document_name(const char *name)
{
	size_t n = strlen(name);
	for (size_t i = 0; i < sizeof(doc_extensions) / sizeof(*doc_extensions); i++) {
		size_t k = strlen(doc_extensions[i]);
		if (n > k && !strcmp(name + n - k, doc_extensions[i]))
			return 1;
	}
	return 0;
}

/* "dir/name" without a doubled slash. */
static void join_path(struct strbuf *sb, const char *dir, const char *name)
{
	strbuf_reset(sb);
	strbuf_addstr(sb, dir);
	if (sb->len && sb->buf[sb->len - 1] != '/')
		strbuf_addch(sb, '/');
	strbuf_addstr(sb, name);
}

/* Every document below `dir`, sorted by name at each level. */
static int walk_folder(struct doc_list *l, const char *dir, int depth, struct weft_error *err)
{
	if (depth > 64)
		return weft_error_set(err, dir, 0, 0, "folders nested more than 64 deep");
	struct dirent **names;
	int n = scandir(dir, &names, NULL, alphasort);
	if (n < 0)
		return weft_error_errno(err, dir, "cannot list the folder");
	int rc = 0;
	struct strbuf path;
	strbuf_init(&path);
	for (int i = 0; i < n; i++) {
		const char *name = names[i]->d_name;
		if (rc == 0 && name[0] != '.') {
			join_path(&path, dir, name);
			struct stat st;
			if (stat(path.buf, &st) < 0)
				; /* a dangling link is not a document */
			else if (S_ISDIR(st.st_mode) && strcmp(name, "figures"))
				rc = walk_folder(l, path.buf, depth + 1, err);
			else if (S_ISREG(st.st_mode) && is_document_name(name))
				add_path(l, path.buf);
		}
		free(names[i]);
	}
	free(names);
	strbuf_free(&path);
	return rc;
}

/*
 * The `documents:` list of dir/_weft.yml into `l`. Returns 1 when there is
 * one, 0 when the file or the key is absent, -1 with err on a bad file.
 */
static int read_document_list(struct doc_list *l, const char *dir, struct weft_error *err)
{
	struct strbuf path;
	strbuf_init(&path);
	join_path(&path, dir, "_weft.yml");
	FILE *fp = fopen(path.buf, "rb");
	if (!fp) {
		int rc = errno == ENOENT ? 0 : weft_error_errno(err, path.buf, "cannot read");
		strbuf_free(&path);
		return rc;
	}
	yaml_parser_t parser;
	yaml_document_t doc;
	int rc = 0;
	if (!yaml_parser_initialize(&parser)) {
		fclose(fp);
		rc = weft_error_set(err, path.buf, 0, 0, "cannot start the YAML parser");
		strbuf_free(&path);
		return rc;
	}
	yaml_parser_set_input_file(&parser, fp);
	if (!yaml_parser_load(&parser, &doc)) {
		rc = weft_error_set(err, path.buf, (int)parser.problem_mark.line + 1, 0, "bad YAML: %s",
				    parser.problem ? parser.problem : "unknown error");
		yaml_parser_delete(&parser);
		fclose(fp);
		strbuf_free(&path);
		return rc;
	}
	yaml_node_t *root = yaml_document_get_root_node(&doc);
	if (root && root->type == YAML_MAPPING_NODE) {
		for (yaml_node_pair_t *p = root->data.mapping.pairs.start;
		     rc == 0 && p < root->data.mapping.pairs.top; p++) {
			yaml_node_t *k = yaml_document_get_node(&doc, p->key);
			yaml_node_t *v = yaml_document_get_node(&doc, p->value);
			if (!k || k->type != YAML_SCALAR_NODE ||
			    strcmp((const char *)k->data.scalar.value, "documents"))
				continue;
			if (!v || v->type != YAML_SEQUENCE_NODE) {
				rc = weft_error_set(err, path.buf, k ? (int)k->start_mark.line + 1 : 0, 0,
						    "documents: wants a list of paths");
				break;
			}
			rc = 1;
			struct strbuf doc_path;
			strbuf_init(&doc_path);
			for (yaml_node_item_t *it = v->data.sequence.items.start; it < v->data.sequence.items.top; it++) {
				yaml_node_t *item = yaml_document_get_node(&doc, *it);
				if (!item || item->type != YAML_SCALAR_NODE) {
					rc = weft_error_set(err, path.buf, item ? (int)item->start_mark.line + 1 : 0,
							    0, "documents: each item is a path");
					break;
				}
				join_path(&doc_path, dir, (const char *)item->data.scalar.value);
				add_path(l, doc_path.buf);
			}
			strbuf_free(&doc_path);
		}
	}
	yaml_document_delete(&doc);
	yaml_parser_delete(&parser);
	fclose(fp);
	strbuf_free(&path);
	return rc;
}

int doc_list_collect(struct doc_list *l, const char *const *args, size_t n, struct weft_error *err)
{
	for (size_t i = 0; i < n; i++) {
		struct stat st;
		if (stat(args[i], &st) < 0 || !S_ISDIR(st.st_mode)) {
			/* a document: one that cannot be read fails alone, in its own line */
			add_path(l, args[i]);
			continue;
		}
		int listed = read_document_list(l, args[i], err);
		if (listed < 0 || (!listed && walk_folder(l, args[i], 0, err) < 0))
			return -1;
	}
	return 0;
}
