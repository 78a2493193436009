/* embedded: look-up of the build-time embedded Python files; see embedded.h. */
#include "engine/embedded.h"

#include <string.h>

const struct embedded_file *embedded_find(const char *name)
{
	for (unsigned i = 0; i < embedded_file_count; i++)
		if (!strcmp(embedded_files[i].name, name))
			return &embedded_files[i];
	return NULL;
}
