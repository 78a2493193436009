/*
 * jupyter_kernelspec: an installed Jupyter kernel, as its kernel.json
 * describes it, found in the standard folders (JUPYTER_PATH, the user's
 * data folder, then the system's), as `jupyter kernelspec list` does.
 *
 *   struct jupyter_kernelspec ks;
 *   jupyter_kernelspec_init(&ks);
 *   if (jupyter_kernelspec_find(&ks, "ir", &err) == 0) ... ks.argv, ks.language ...
 *   jupyter_kernelspec_free(&ks);
 */
#ifndef WEFT_JUPYTER_KERNELSPEC_H
#define WEFT_JUPYTER_KERNELSPEC_H

#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

#include "util/error.h"

struct jupyter_kernelspec {
	char *name;
	char *dir;             /* the folder holding kernel.json ({resource_dir}) */
	char **argv;           /* NULL-terminated, placeholders not yet substituted */
	size_t argc;
	char *language;        /* "python", "R", ... or "" */
	char *display_name;
	bool interrupt_message; /* interrupt_mode "message": interrupt_request on control */
	json_t *env;           /* object of extra environment variables, or NULL */
};

void jupyter_kernelspec_init(struct jupyter_kernelspec *ks);
void jupyter_kernelspec_free(struct jupyter_kernelspec *ks);
/*
 * Find and parse kernelspec `name` in the standard folders. Returns 0, or -1
 * with err naming the folders searched and the kernels that do exist.
 */
int jupyter_kernelspec_find(struct jupyter_kernelspec *ks, const char *name, struct weft_error *err);

/*
 * Every installed kernelspec (`weft kernels`, and picking a kernel by a
 * chunk's language): the first one found per name, in the search order
 * above, sorted by name into a new array *out of *n (free each, then the
 * array). A kernel.json that does not parse is left out with a warning.
 */
void jupyter_kernelspec_list(struct jupyter_kernelspec **out, size_t *n);

/*
 * Does a kernelspec of language `klang` ("R", "python", "bash") run chunks
 * written in `lang` (a fence word or engine= value)? Case-insensitive; "sh"
 * and "shell" count as "bash".
 */
bool jupyter_language_matches(const char *klang, const char *lang);

#endif
