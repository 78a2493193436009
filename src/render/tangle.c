/* tangle: a document's code as ptangle writes it; see tangle.h. */
#include "render/tangle.h"

#include <string.h>

/* Append code without trailing whitespace, every newline followed by `indent`. */
static void add_code(struct strbuf *out, const char *code, const char *indent)
{
	size_t n = code ? strlen(code) : 0;
	while (n > 0 && (code[n - 1] == ' ' || code[n - 1] == '\t' || code[n - 1] == '\n' ||
			 code[n - 1] == '\r' || code[n - 1] == '\f' || code[n - 1] == '\v'))
		n--;
	/* a line at a time (memchr), not a byte at a time: chunks can be long */
	const char *p = code, *end = code + n;
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		if (!nl) {
			strbuf_add(out, p, (size_t)(end - p));
			break;
		}
		strbuf_add(out, p, (size_t)(nl - p) + 1);
		strbuf_addstr(out, indent);
		p = nl + 1;
	}
}

int tangle_document(const struct document *doc, struct strbuf *out)
{
	for (size_t b = 0; b < doc->nblocks; b++) {
		if (doc->blocks[b].kind != BLOCK_CHUNK)
			continue;
		const struct chunk *c = &doc->blocks[b].chunk;
		const struct chunk_option *main_opt = option_list_get(&c->raw, "main");
		if (main_opt && optval_truthy(&main_opt->val)) {
			/* Pweave prefixes the guard and indents every line under it. */
			strbuf_addstr(out, "\nif __name__ == \"__main__\":\n    ");
			add_code(out, c->code, "    ");
		} else {
			strbuf_addch(out, '\n');
			add_code(out, c->code, "");
		}
		strbuf_addch(out, '\n');
	}
	return 0;
}
