/*
 * script_reader: Python scripts with Pweave's markup (.py and any extension
 * Pweave does not know). Lines starting with "#'", "#%%" or "# %%" are prose
 * (the marker and one following space removed); a line starting with "#+",
 * "#%%+" or "# %%+" starts a chunk and holds its options; other lines are
 * code. The state machine follows Pweave's PwebScriptReader step by step,
 * including where blank lines go and the blank line it puts in front of
 * every prose block but the first, so renderers reproduce Pweave's output.
 */
#include <stdlib.h>
#include <string.h>

#include "reader/reader.h"

/* Length of a prose marker at the start of the line, or 0 (see reader.h). */
size_t script_reader_doc_marker(const char *s, size_t len)
{
	if (len >= 2 && s[0] == '#' && s[1] == '\'')
		return 2;
	if (len >= 3 && !memcmp(s, "#%%", 3))
		return 3;
	if (len >= 4 && !memcmp(s, "# %%", 4))
		return 4;
	return 0;
}

/* Length of an option marker ("#+", "#%%+", "# %%+"), or 0 (see reader.h). */
size_t script_reader_opt_marker(const char *s, size_t len)
{
	if (len >= 2 && s[0] == '#' && s[1] == '+')
		return 2;
	if (len >= 4 && !memcmp(s, "#%%+", 4))
		return 4;
	if (len >= 5 && !memcmp(s, "# %%+", 5))
		return 5;
	return 0;
}

/* Pweave's read.strip() != "". */
static int has_content(const struct inline_text *t)
{
	return !reader_line_blank(t->text.buf, t->text.len);
}

/*
 * Emit the prose collected in `read` as a text block; Pweave puts a blank
 * line in front of every prose block but the first.
 */
static int emit_doc(struct document *doc, struct inline_text *read, int docn, int line,
		    struct weft_error *err)
{
	if (docn > 1) {
		struct inline_text t;
		inline_text_init(&t);
		inline_text_add_line(&t, "", 0, read->nlines ? read->lines[0] : line, 1);
		for (size_t i = 0; i < read->nlines; i++) {
			size_t end = i + 1 < read->nlines ? read->starts[i + 1] : read->text.len;
			inline_text_add_line(&t, read->text.buf + read->starts[i],
					     end - read->starts[i] - 1, read->lines[i], read->cols[i]);
		}
		inline_text_free(read);
		return reader_add_text(doc, &t, line, err);
	}
	return reader_add_text(doc, read, line, err);
}

int script_reader_read(struct document *doc, const char *text, size_t len, int first_line,
		       struct weft_error *err)
{
	struct reader_lines ls;
	struct inline_text read;
	struct option_list opts;
	int in_code = 1, coden = 1, docn = 1, header = 0, rc = -1;
	int start_line = first_line;
	char *optstr = NULL;

	reader_lines_split(&ls, text, len, first_line);
	inline_text_init(&read);
	option_list_init(&opts);
	for (size_t i = 0; i < ls.n; i++) {
		const struct reader_line *l = &ls.v[i];
		const char *s = l->s;
		size_t n = l->len, dm = script_reader_doc_marker(s, n);
		size_t om = script_reader_opt_marker(s, n);
		int col = 1;

		if (dm && !om) {
			s += dm;
			n -= dm;
			col += (int)dm;
			if (n > 0 && s[0] == ' ') {
				s++;
				n--;
				col++;
			}
			if (in_code && has_content(&read)) {
				reader_add_chunk(doc, &read, &opts, coden++, header, start_line);
				header = 0;
				start_line = l->no;
			}
			in_code = 0;
		} else if (om) {
			start_line = l->no;
			if (in_code && has_content(&read)) {
				reader_add_chunk(doc, &read, &opts, coden++, header, start_line);
			}
			if (!in_code && has_content(&read)) {
				if (emit_doc(doc, &read, docn++, start_line, err) < 0)
					goto out;
			}
			option_list_free(&opts);
			optstr = xstrndup(l->s + om, l->len - om);
			if (option_parse(optstr, doc->path, l->no, (int)om + 1, &opts, err) < 0)
				goto out;
			free(optstr);
			optstr = NULL;
			header = l->no;
			in_code = 1;
			continue;
		} else if (!in_code && !reader_line_blank(s, n) && has_content(&read)) {
			in_code = 1;
			if (emit_doc(doc, &read, docn++, start_line, err) < 0)
				goto out;
			option_list_free(&opts);
			header = 0;
			start_line = l->no;
		}
		inline_text_add_line(&read, s, n, l->no, col);
	}
	if (in_code) {
		reader_add_chunk(doc, &read, &opts, coden, header, start_line);
		rc = 0;
	} else {
		/* Pweave adds no leading blank line to the last prose block. */
		rc = reader_add_text(doc, &read, start_line, err);
	}
out:
	free(optstr);
	option_list_free(&opts);
	inline_text_free(&read);
	reader_lines_free(&ls);
	return rc;
}
