/* front_matter: YAML front matter and `weft:` document defaults; see front_matter.h. */
#include "reader/front_matter.h"

#include <ctype.h>
#include <string.h>
#include <yaml.h>

#include "model/yaml_value.h"
#include "reader/doc_settings.h"

/* Length of the line at s (up to '\n' or end), without a trailing '\r'. */
static size_t line_len(const char *s, size_t avail, size_t *next)
{
	const char *nl = memchr(s, '\n', avail);
	size_t l = nl ? (size_t)(nl - s) : avail;
	*next = nl ? l + 1 : avail;
	if (l > 0 && s[l - 1] == '\r')
		l--;
	return l;
}

/* Is the line exactly `fence`, allowing trailing whitespace? */
static int is_fence(const char *s, size_t l, const char *fence)
{
	while (l > 0 && isspace((unsigned char)s[l - 1]))
		l--;
	return l == 3 && !memcmp(s, fence, 3);
}

/* Settings and chunk option defaults from the `weft:` mapping node. */
static int read_weft_key(struct document *doc, yaml_document_t *ydoc, yaml_node_t *map,
			 const char *yaml, struct weft_error *err)
{
	/* "weft:" with nothing under it sets nothing */
	if (map->type == YAML_SCALAR_NODE && map->data.scalar.style == YAML_PLAIN_SCALAR_STYLE &&
	    (!map->data.scalar.length || !strcmp((char *)map->data.scalar.value, "~") ||
	     !strcmp((char *)map->data.scalar.value, "null")))
		return 0;
	if (map->type != YAML_MAPPING_NODE)
		return weft_error_set(err, doc->path, 2 + (int)map->start_mark.line,
				      1 + (int)map->start_mark.column,
				      "front matter: 'weft:' must be a mapping of chunk options");
	return doc_settings_read_mapping(doc, ydoc, map, yaml, doc->path, 2, &doc->doc_defaults, err);
}

int front_matter_read(struct document *doc, const char *text, size_t len, size_t *consumed,
		      struct weft_error *err)
{
	size_t next, pos, l;
	int lines = 1;

	*consumed = 0;
	l = line_len(text, len, &next);
	if (!is_fence(text, l, "---") || next >= len)
		return 0;
	pos = next;
	/* "---" then a blank line is a horizontal rule, not front matter. */
	size_t n2, l2 = line_len(text + pos, len - pos, &n2), blank = 0;
	/* bounded by the line: text need not be NUL-terminated (found by fuzz_front_matter) */
	while (blank < l2 && strchr(" \t\r", text[pos + blank]) && text[pos + blank])
		blank++;
	if (!l2 || blank >= l2)
		return 0;
	size_t body = pos, body_end = 0;
	while (pos < len) {
		l = line_len(text + pos, len - pos, &next);
		lines++;
		if (is_fence(text + pos, l, "---") || is_fence(text + pos, l, "...")) {
			body_end = pos;
			doc->front_matter_dots = text[pos] == '.';
			pos += next;
			break;
		}
		pos += next;
	}
	if (!body_end)
		return 0;

	if (yaml_nesting_check(text + body, body_end - body, doc->path, 2, 1, err) < 0)
		return -1;
	char *yaml = xstrndup(text + body, body_end - body);
	yaml_parser_t parser;
	yaml_document_t ydoc;
	yaml_parser_initialize(&parser);
	yaml_parser_set_input_string(&parser, (const unsigned char *)yaml, strlen(yaml));
	if (!yaml_parser_load(&parser, &ydoc)) {
		weft_error_set(err, doc->path, 2 + (int)parser.problem_mark.line,
			       1 + (int)parser.problem_mark.column, "front matter: %s%s%s",
			       parser.problem ? parser.problem : "malformed YAML",
			       parser.context ? " " : "", parser.context ? parser.context : "");
		yaml_parser_delete(&parser);
		free(yaml);
		return -1;
	}
	int rc = 0;
	yaml_node_t *root = yaml_document_get_root_node(&ydoc);
	if (root && root->type != YAML_MAPPING_NODE) {
		rc = weft_error_set(err, doc->path, 2, 1, "front matter must be a YAML mapping");
	} else if (root) {
		for (yaml_node_pair_t *p = root->data.mapping.pairs.start;
		     p < root->data.mapping.pairs.top && rc == 0; p++) {
			yaml_node_t *k = yaml_document_get_node(&ydoc, p->key);
			yaml_node_t *v = yaml_document_get_node(&ydoc, p->value);
			if (!k || !v || k->type != YAML_SCALAR_NODE)
				continue;
			const char *key = (const char *)k->data.scalar.value;
			if (!strcmp(key, "weft"))
				rc = read_weft_key(doc, &ydoc, v, yaml, err);
			else
				rc = doc_settings_read_quarto(doc, &ydoc, key, v, yaml, 2, err);
		}
	}
	yaml_document_delete(&ydoc);
	yaml_parser_delete(&parser);
	if (rc < 0) {
		free(yaml);
		return -1;
	}
	doc->front_matter = yaml;
	doc->front_matter_lines = lines;
	*consumed = pos;
	return 0;
}
