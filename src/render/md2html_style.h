/*
 * md2html_style: the stylesheet of weft's standalone HTML page (md2html),
 * compiled into the binary so a report never depends on files at run time.
 *
 *   md2html_page_css      typography, layout, code/output/error blocks,
 *                         tables (pandas' to_html included), figures, footer;
 *                         a dark palette under prefers-color-scheme: dark
 *   md2html_pygments_css  colours for Pygments' HtmlFormatter classes
 *                         (".highlight .k" ...), GitHub-like light and dark
 *   md2html_math_script   renders md4c's <x-equation> elements with KaTeX
 */
#ifndef WEFT_MD2HTML_STYLE_H
#define WEFT_MD2HTML_STYLE_H

extern const char md2html_page_css[];
extern const char md2html_pygments_css[];
extern const char md2html_math_script[];

#endif
