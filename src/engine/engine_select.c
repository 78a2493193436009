/* engine_select: a chunk's language and --kernel to an engine; see engine_select.h. */
#include "engine/engine_select.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "engine/jupyter_kernelspec.h"
#include "util/strbuf.h"

void engine_selector_init(struct engine_selector *sel, const char *kernel_opt)
{
	memset(sel, 0, sizeof(*sel));
	sel->kernel_opt = kernel_opt;
}

void engine_selector_free(struct engine_selector *sel)
{
	for (size_t i = 0; i < sel->nspecs; i++)
		jupyter_kernelspec_free(&sel->specs[i]);
	free(sel->specs);
	free(sel->kernel_lang);
	memset(sel, 0, sizeof(*sel));
}

const char *engine_selector_default_language(struct engine_selector *sel, struct weft_error *err)
{
	if (!sel->kernel_opt)
		return "python";
	if (!sel->kernel_lang) {
		struct jupyter_kernelspec ks;
		jupyter_kernelspec_init(&ks);
		if (jupyter_kernelspec_find(&ks, sel->kernel_opt, err) < 0) {
			jupyter_kernelspec_free(&ks);
			return NULL;
		}
		sel->kernel_lang = xstrdup(ks.language && *ks.language ? ks.language : "python");
		jupyter_kernelspec_free(&ks);
	}
	return sel->kernel_lang;
}

/* Is `lang` Python (what the embedded engine runs)? */
static bool is_python(const char *lang)
{
	return !strcasecmp(lang, "python") || !strcasecmp(lang, "python3") || !strcasecmp(lang, "py");
}

void engine_select(struct engine_selector *sel, const char *lang, struct engine_choice *out)
{
	out->kind = ENGINE_KIND_NONE;
	out->kernel = NULL;
	const char *klang = sel->kernel_opt ? engine_selector_default_language(sel, NULL) : NULL;
	if (!lang || !*lang)
		lang = klang ? klang : "python";
	if (is_python(lang)) {
		if (klang && is_python(klang)) {
			out->kind = ENGINE_KIND_PYKERNEL;
			out->kernel = sel->kernel_opt;
		} else {
			out->kind = ENGINE_KIND_EMBEDDED;
		}
		return;
	}
	if (klang && jupyter_language_matches(klang, lang)) {
		out->kind = ENGINE_KIND_CHAIN;
		out->kernel = sel->kernel_opt;
		return;
	}
	if (!sel->listed) {
		jupyter_kernelspec_list(&sel->specs, &sel->nspecs);
		sel->listed = true;
	}
	for (size_t i = 0; i < sel->nspecs; i++)
		if (jupyter_language_matches(sel->specs[i].language, lang)) {
			out->kind = ENGINE_KIND_CHAIN;
			out->kernel = sel->specs[i].name;
			return;
		}
}

int engine_select_apply_default(struct engine_selector *sel, struct document *doc, struct weft_error *err)
{
	if (!sel->kernel_opt)
		return 0;
	const char *klang = engine_selector_default_language(sel, err);
	if (!klang)
		return -1;
	for (size_t i = 0; i < doc->nchunks; i++) {
		struct chunk *c = document_chunk(doc, i);
		if (c->lang_explicit)
			continue;
		free(c->lang);
		c->lang = xstrdup(klang);
		for (char *p = c->lang; *p; p++)
			*p = (char)tolower((unsigned char)*p);
	}
	return 0;
}
