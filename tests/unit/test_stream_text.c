/* Unit tests for stream_text: Jupyter's console rules and cleaning of printed text. */
#include "model/stream_text.h"
#include "render/figures.h"

#include "unit.h"

/* The console rules applied to a C string (which may hold NULs: give len). */
static void console(struct strbuf *out, const char *s, size_t len)
{
	strbuf_reset(out);
	stream_text_console(out, s, len);
}

/* stream_text_clean applied to `s` of `len` bytes. */
static void clean(struct strbuf *out, const char *s, size_t len)
{
	strbuf_reset(out);
	stream_text_clean(out, s, len);
}

#define CON(in, want)                                      \
	do {                                               \
		console(&sb, in, sizeof(in) - 1);          \
		CHECK_STR(sb.buf, want);                   \
	} while (0)
#define CLEAN(in, want)                                    \
	do {                                               \
		clean(&sb, in, sizeof(in) - 1);            \
		CHECK(sb.len == sizeof(want) - 1);         \
		CHECK(!memcmp(sb.buf, want, sb.len));      \
	} while (0)

TEST(carriage_return)
{
	struct strbuf sb;
	strbuf_init(&sb);
	CON("\r0\r1\r2\r3\n", "3\n");            /* a progress counter shows its last state */
	CON("step 10\rstep 9\n", "step 9\n");    /* erased, not overwritten (nbconvert) */
	CON("a\r\nb\r\n", "a\nb\n");             /* CRLF is a newline */
	CON("a\r\r\nb", "a\nb");                 /* so is any run of CR before LF */
	CON("first\nx\ry\nlast\r", "first\ny\nlast"); /* only the current line; a final CR moves nowhere */
	CON("10%|#  |\r100%|###|\n", "100%|###|\n");
	CON("", "");
	strbuf_addstr(&sb, "kept\n");           /* appends: earlier text is not a line to erase */
	stream_text_console(&sb, "\rnew", 4);
	CHECK_STR(sb.buf, "kept\nnew");
	strbuf_free(&sb);
}

TEST(backspace)
{
	struct strbuf sb;
	strbuf_init(&sb);
	CON("abc\b\bX\n", "aX\n");
	CON("\bstart\n", "start\n");             /* nothing to delete at a line start */
	CON("a\n\bb", "a\nb");                   /* never across a newline */
	CON("n\xc3\xa9\bz", "nz");               /* a whole UTF-8 character */
	CON("ab\r\bc", "c");
	strbuf_free(&sb);
}

TEST(clean_escapes)
{
	struct strbuf sb;
	strbuf_init(&sb);
	CLEAN("\x1b[1;31mred\x1b[0m plain", "red plain");
	CLEAN("\x1b]8;;http://x\x1b\\link\x1b]8;;\x1b\\", "link");   /* OSC hyperlink: text kept */
	CLEAN("\x1b]0;title\a after", " after");
	CLEAN("\x1b=keypad\x1b(Bascii", "keypadascii");
	CLEAN("\x1b|bar", "\\x1b|bar");                          /* unknown: ESC shown, nothing eaten */
	CLEAN("lone \x1b", "lone \\x1b");                           /* an unfinished sequence is shown */
	CLEAN("\x1b[31", "\\x1b[31");
	CLEAN("\x1b]8;;never ends\nnext", "\\x1b]8;;never ends\nnext"); /* never past a newline */
	strbuf_free(&sb);
}

TEST(clean_controls)
{
	struct strbuf sb;
	strbuf_init(&sb);
	CLEAN("a\0b", "a\\x00b");
	CLEAN("tab\tnl\n", "tab\tnl\n");
	CLEAN("bell\a del\x7f", "bell\\x07 del\\x7f");
	CLEAN("cr\r\nlone\rx", "cr\nlone\\rx");
	CLEAN("ff\f vt\v bs\b", "ff\\x0c vt\\x0b bs\\x08");
	CLEAN("c1 \xc2\x85 nbsp \xc2\xa0 e \xc3\xa9", "c1 \\x85 nbsp \xc2\xa0 e \xc3\xa9");
	strbuf_free(&sb);
}

TEST(finish_list)
{
	struct output_list in, out;
	output_list_init(&in);
	output_list_init(&out);
	struct output *a = output_list_add(&in, OUTPUT_STREAM);
	a->stream_name = xstrdup("stdout");
	strbuf_addstr(&a->text, "\r1");
	struct output *b = output_list_add(&in, OUTPUT_STREAM);
	b->stream_name = xstrdup("stdout");
	b->statement = 2;
	strbuf_addstr(&b->text, "\r2\n\x1b[1mb\x1b[0m\n");
	struct output *c = output_list_add(&in, OUTPUT_STREAM);
	c->stream_name = xstrdup("stderr");
	strbuf_add(&c->text, "e\0\r", 3);
	struct output *d = output_list_add(&in, OUTPUT_EXECUTE_RESULT);
	output_add_mime(d, "text/plain", "\r42", 3);
	struct output *e = output_list_add(&in, OUTPUT_STREAM);
	e->stream_name = xstrdup("stdout");
	strbuf_addstr(&e->text, "x\ry");

	stream_text_finish_list(&out, &in);
	CHECK(out.n == 4);
	if (out.n == 4) {
		/* joined first, so the \r of the second write erases the first */
		CHECK_STR(out.items[0].stream_name, "stdout");
		CHECK_STR(out.items[0].text.buf, "2\n\x1b[1mb\x1b[0m\n"); /* colours kept for Jupyter */
		CHECK(out.items[0].statement == -1);
		CHECK(out.items[1].text.len == 2 && !memcmp(out.items[1].text.buf, "e\0", 2));
		CHECK(out.items[2].type == OUTPUT_EXECUTE_RESULT);
		CHECK_STR(output_get_mime(&out.items[2], "text/plain")->data, "\r42");
		CHECK_STR(out.items[3].text.buf, "y");
	}
	CHECK(in.n == 5); /* the source is untouched */
	CHECK_STR(in.items[0].text.buf, "\r1");
	output_list_free(&in);
	output_list_free(&out);
}

/* Output wrapping (figures_wrap_output_text): spaces only, printed tracebacks whole. */
TEST(output_wrap)
{
	struct strbuf sb;
	strbuf_init(&sb);
	const char *path = "see /data/a-very-long-folder-name/another-hyphenated-part/file-name-2026.csv ok";
	figures_wrap_output_text(&sb, path, strlen(path));
	CHECK_STR(sb.buf, "see\n/data/a-very-long-folder-name/another-hyphenated-part/file-name-2026.csv\nok\n");
	strbuf_reset(&sb);
	const char *tb = "Traceback (most recent call last):\n"
			 "  File \"doc.pmd\", line 3, in <module>\n"
			 "    open(\"/a/long path with spaces/that goes on and on and on/past seventy columns.csv\")\n"
			 "FileNotFoundError: [Errno 2] No such file or directory: '/a/long path with spaces/x.csv'\n"
			 "after the traceback, this long line of ordinary words is wrapped at seventy columns";
	figures_wrap_output_text(&sb, tb, strlen(tb));
	const char *want = "Traceback (most recent call last):\n"
			   "  File \"doc.pmd\", line 3, in <module>\n"
			   "    open(\"/a/long path with spaces/that goes on and on and on/past seventy columns.csv\")\n"
			   "FileNotFoundError: [Errno 2] No such file or directory: '/a/long path with spaces/x.csv'\n"
			   "after the traceback, this long line of ordinary words is wrapped at\nseventy columns\n";
	CHECK_STR(sb.buf, want);
	strbuf_reset(&sb);
	const char *dash = "a sentence with an em-dash--like this one--and well-known hyphenated words in it ok";
	figures_wrap_output_text(&sb, dash, strlen(dash));
	CHECK_STR(sb.buf, "a sentence with an em-dash--like this one--and well-known hyphenated\nwords in it ok\n");
	strbuf_free(&sb);
}

int main(void)
{
	RUN(carriage_return);
	RUN(backspace);
	RUN(clean_escapes);
	RUN(clean_controls);
	RUN(finish_list);
	RUN(output_wrap);
	return unit_done();
}
