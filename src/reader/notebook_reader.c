/* notebook_reader: placeholder until the nbformat reader lands (see reader.h). */
#include "reader/reader.h"

int notebook_reader_read(struct document *doc, const char *text, size_t len, int first_line,
			 struct weft_error *err)
{
	(void)text;
	(void)len;
	(void)first_line;
	return weft_error_set(err, doc->path, 0, 0, "notebook input is not supported yet");
}
