/*
 * doc_settings: a document's settings and chunk option defaults, from its
 * front matter and from configuration files.
 *
 * One schema everywhere, a YAML mapping:
 *
 *   format: md2html          # document settings (struct doc_settings)
 *   output: out/report.html
 *   kernel: ir
 *   python: python3.12       # the interpreter (python_select.h)
 *   figure_dir: pics         # also figure-dir, fig_dir
 *   figure_format: svg
 *   latex_engine: xelatex    # the pdf format's TeX engine (also latex-engine)
 *   cache: true              # cache every chunk (also a chunk default, as before)
 *   echo: false              # anything else: a chunk option default
 *
 * It is read from the `weft:` key of the front matter, from the project's
 * _weft.yml (the first found in the document's folder or above it; its
 * `documents:` list is `weft render`'s, not a setting) and from the user's
 * $XDG_CONFIG_HOME/weft/config.yaml (else ~/.config/weft/config.yaml).
 * Precedence, highest first: the chunk's own options, the front matter, the
 * project, the user, weft's built-in defaults (and the command line above
 * all for document settings).
 *
 * Quarto's front matter keys map where they mean the same: `format:` (html ->
 * md2html, ipynb -> notebook, gfm/markdown/commonmark -> markdown, latex ->
 * tex, pdf, rst; the first key of a mapping), `jupyter:` or `kernel:` (a kernel
 * whose name starts with "python" keeps the embedded Python engine, any
 * other is run as that Jupyter kernel), `execute:` (its keys are chunk option
 * defaults under their Quarto names: eval, echo, output, cache...).
 *
 * A configuration file that others can write is refused: it chooses what
 * runs.
 */
#ifndef WEFT_DOC_SETTINGS_H
#define WEFT_DOC_SETTINGS_H

#include <yaml.h>

#include "model/document.h"
#include "util/error.h"

/*
 * Read the settings mapping `map` (of YAML document `ydoc`, parsed from
 * `yaml`, whose first line is line `line0` of `file`): document settings
 * into doc->settings where not set yet, the rest appended to `defaults`.
 * Returns 0, or -1 with err at file:line.
 */
int doc_settings_read_mapping(struct document *doc, yaml_document_t *ydoc, yaml_node_t *map,
			      const char *yaml, const char *file, int line0,
			      struct option_list *defaults, struct weft_error *err);

/*
 * Quarto's top-level front matter key `key` with value `v` (format,
 * jupyter, execute); keys it does not know are left alone. As above.
 */
int doc_settings_read_quarto(struct document *doc, yaml_document_t *ydoc, const char *key,
			     yaml_node_t *v, const char *yaml, int line0, struct weft_error *err);

/*
 * After the front matter: fill what it left unset from the project's
 * _weft.yml, then the user's config.yaml, and put their chunk option
 * defaults in front of the document's. Returns 0, or -1 with err naming the
 * configuration file and line.
 */
int doc_settings_load_config(struct document *doc, struct weft_error *err);

#endif
