package web

import (
	"html/template"
	"io"
	"strings"

	"github.com/alecthomas/chroma/v2"
	chromahtml "github.com/alecthomas/chroma/v2/formatters/html"
	"github.com/alecthomas/chroma/v2/lexers"
	"github.com/alecthomas/chroma/v2/styles"
)

// Syntax highlighting with chroma, as CSS classes only: the page's
// Content-Security-Policy forbids inline styles, so the colours live in
// static/highlight.css, which highlightCSS generates (a test keeps the
// file in step with chroma's style).

// highlightStyle is the chroma style of static/highlight.css.
const highlightStyle = "github"

// writeHighlightCSS writes the stylesheet of the token classes.
func writeHighlightCSS(w io.Writer) error {
	f := chromahtml.New(chromahtml.WithClasses(true))
	return f.WriteCSS(w, styles.Get(highlightStyle))
}

// highlight splits text into lines of HTML, each token in a span of its
// chroma class; every byte of text is escaped. name picks the lexer (by
// file name, then by content); unknown languages come back plain.
func highlight(name, text string) []template.HTML {
	lexer := lexers.Match(name)
	if lexer == nil {
		lexer = lexers.Analyse(text)
	}
	if lexer == nil {
		return plainLines(text)
	}
	it, err := chroma.Coalesce(lexer).Tokenise(nil, text)
	if err != nil {
		return plainLines(text)
	}
	var out []template.HTML
	for _, line := range chroma.SplitTokensIntoLines(it.Tokens()) {
		var b strings.Builder
		for _, tok := range line {
			v := strings.TrimSuffix(tok.Value, "\n")
			if v == "" {
				continue
			}
			if cls := tokenClass(tok.Type); cls != "" {
				b.WriteString(`<span class="` + cls + `">`)
				template.HTMLEscape(&b, []byte(v))
				b.WriteString(`</span>`)
			} else {
				template.HTMLEscape(&b, []byte(v))
			}
		}
		out = append(out, template.HTML(b.String()))
	}
	// chroma ends the last line with the text's final newline; a file
	// that ends with one has no empty line after it.
	if n := len(out); n > 0 && out[n-1] == "" && strings.HasSuffix(text, "\n") {
		out = out[:n-1]
	}
	return out
}

// tokenClass is chroma's CSS class of a token type, inherited from its
// parents when it has none of its own.
func tokenClass(t chroma.TokenType) string {
	for ; t != 0; t = t.Parent() {
		if cls, ok := chroma.StandardTypes[t]; ok {
			return cls
		}
	}
	return ""
}

// plainLines escapes text line by line.
func plainLines(text string) []template.HTML {
	lines := strings.Split(strings.TrimSuffix(text, "\n"), "\n")
	out := make([]template.HTML, len(lines))
	for i, l := range lines {
		out[i] = template.HTML(template.HTMLEscapeString(l))
	}
	return out
}
