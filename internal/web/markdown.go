package web

import (
	"html/template"
	"path"
	"strings"
	"unicode/utf8"
)

// renderReadme turns a README into safe HTML: Markdown files through the
// small subset below, anything else as preformatted text. Every byte of
// the input is escaped; only the tags written here can appear.
func renderReadme(name string, content []byte) template.HTML {
	text := strings.ToValidUTF8(string(content), "\uFFFD")
	switch strings.ToLower(path.Ext(name)) {
	case ".md", ".markdown":
		return template.HTML(markdown(text))
	}
	return template.HTML(`<pre class="readme-text">` + template.HTMLEscapeString(text) + `</pre>`)
}

// markdown renders a deliberately small Markdown subset: ATX headings,
// paragraphs, fenced and indented code, bullet and numbered lists, block
// quotes, rules, and inline code, emphasis, strong and links (http, https,
// mailto and relative only). Raw HTML is shown as text.
func markdown(src string) string {
	lines := strings.Split(strings.ReplaceAll(src, "\r\n", "\n"), "\n")
	var b strings.Builder
	var para []string
	flush := func() {
		if len(para) > 0 {
			b.WriteString("<p>" + inline(strings.Join(para, " ")) + "</p>\n")
			para = nil
		}
	}
	for i := 0; i < len(lines); i++ {
		line := lines[i]
		trimmed := strings.TrimSpace(line)
		switch {
		case strings.HasPrefix(trimmed, "```") || strings.HasPrefix(trimmed, "~~~"):
			flush()
			fence := trimmed[:3]
			var code []string
			for i++; i < len(lines) && !strings.HasPrefix(strings.TrimSpace(lines[i]), fence); i++ {
				code = append(code, lines[i])
			}
			b.WriteString("<pre><code>" + template.HTMLEscapeString(strings.Join(code, "\n")) + "</code></pre>\n")
		case trimmed == "":
			flush()
		case heading(trimmed) > 0:
			flush()
			n := heading(trimmed)
			text := strings.TrimSpace(strings.TrimRight(strings.TrimSpace(trimmed[n:]), "#"))
			tag := string(rune('0' + n))
			b.WriteString("<h" + tag + ">" + inline(text) + "</h" + tag + ">\n")
		case isRule(trimmed):
			flush()
			b.WriteString("<hr>\n")
		case len(para) == 0 && strings.HasPrefix(line, "    "):
			var code []string
			for ; i < len(lines) && (strings.HasPrefix(lines[i], "    ") || strings.TrimSpace(lines[i]) == ""); i++ {
				code = append(code, strings.TrimPrefix(lines[i], "    "))
			}
			i--
			for len(code) > 0 && strings.TrimSpace(code[len(code)-1]) == "" {
				code = code[:len(code)-1]
			}
			b.WriteString("<pre><code>" + template.HTMLEscapeString(strings.Join(code, "\n")) + "</code></pre>\n")
		case strings.HasPrefix(trimmed, ">"):
			flush()
			var quote []string
			for ; i < len(lines) && strings.HasPrefix(strings.TrimSpace(lines[i]), ">"); i++ {
				quote = append(quote, strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(lines[i]), ">")))
			}
			i--
			b.WriteString("<blockquote><p>" + inline(strings.Join(quote, " ")) + "</p></blockquote>\n")
		case listItem(trimmed) != "":
			flush()
			kind := listItem(trimmed)
			b.WriteString("<" + kind + ">\n")
			for ; i < len(lines); i++ {
				t := strings.TrimSpace(lines[i])
				if listItem(t) != kind {
					break
				}
				b.WriteString("<li>" + inline(itemText(t)) + "</li>\n")
			}
			i--
			b.WriteString("</" + kind + ">\n")
		default:
			para = append(para, trimmed)
		}
	}
	flush()
	return b.String()
}

// heading returns the level of an ATX heading line, or 0.
func heading(s string) int {
	n := 0
	for n < len(s) && n < 7 && s[n] == '#' {
		n++
	}
	if n == 0 || n > 6 || (n < len(s) && s[n] != ' ' && s[n] != '\t') {
		return 0
	}
	return n
}

func isRule(s string) bool {
	s = strings.ReplaceAll(s, " ", "")
	if len(s) < 3 {
		return false
	}
	for _, c := range []string{"-", "*", "_"} {
		if strings.Trim(s, c) == "" {
			return true
		}
	}
	return false
}

// listItem returns "ul" or "ol" for a list item line, or "".
func listItem(s string) string {
	if len(s) >= 2 && (s[0] == '-' || s[0] == '*' || s[0] == '+') && s[1] == ' ' {
		return "ul"
	}
	i := 0
	for i < len(s) && i < 9 && s[i] >= '0' && s[i] <= '9' {
		i++
	}
	if i > 0 && i+1 < len(s) && (s[i] == '.' || s[i] == ')') && s[i+1] == ' ' {
		return "ol"
	}
	return ""
}

func itemText(s string) string {
	if s[0] == '-' || s[0] == '*' || s[0] == '+' {
		return strings.TrimSpace(s[1:])
	}
	i := strings.IndexAny(s, ".)")
	return strings.TrimSpace(s[i+1:])
}

// maxSpan bounds how far inline looks for a closing delimiter, so that
// text full of unmatched '*' or '[' costs linear time.
const maxSpan = 400

// inline renders inline markup of one block, escaping all text.
func inline(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); {
		c := s[i]
		switch {
		case c == '\\' && i+1 < len(s) && strings.IndexByte("\\`*_[]()#+-.!>", s[i+1]) >= 0:
			b.WriteString(template.HTMLEscapeString(s[i+1 : i+2]))
			i += 2
			continue
		case c == '`':
			if j := closing(s, i+1, "`"); j > 0 {
				b.WriteString("<code>" + template.HTMLEscapeString(s[i+1:j]) + "</code>")
				i = j + 1
				continue
			}
		case c == '*' && strings.HasPrefix(s[i:], "**"), c == '_' && strings.HasPrefix(s[i:], "__"):
			d := s[i : i+2]
			if j := closing(s, i+2, d); j > i+2 {
				b.WriteString("<strong>" + inline(s[i+2:j]) + "</strong>")
				i = j + 2
				continue
			}
		case c == '*' || c == '_':
			if j := closing(s, i+1, s[i:i+1]); j > i+1 && s[i+1] != ' ' {
				b.WriteString("<em>" + inline(s[i+1:j]) + "</em>")
				i = j + 1
				continue
			}
		case c == '[':
			if text, href, n, ok := link(s[i:]); ok {
				if u, safe := safeURL(href); safe {
					b.WriteString(`<a href="` + template.HTMLEscapeString(u) + `" rel="nofollow noopener">` + inline(text) + "</a>")
				} else {
					b.WriteString(inline(text))
				}
				i += n
				continue
			}
		}
		_, size := utf8.DecodeRuneInString(s[i:])
		b.WriteString(template.HTMLEscapeString(s[i : i+size]))
		i += size
	}
	return b.String()
}

// closing finds delim at or after from, within maxSpan bytes; -1 if none.
func closing(s string, from int, delim string) int {
	end := min(len(s), from+maxSpan)
	if from >= end {
		return -1
	}
	j := strings.Index(s[from:end], delim)
	if j < 0 {
		return -1
	}
	return from + j
}

// link parses "[text](href)" at the start of s.
func link(s string) (text, href string, n int, ok bool) {
	j := closing(s, 1, "](")
	if j < 0 {
		return "", "", 0, false
	}
	k := closing(s, j+2, ")")
	if k < 0 {
		return "", "", 0, false
	}
	return s[1:j], strings.TrimSpace(s[j+2 : k]), k + 1, true
}

// safeURL accepts http, https and mailto URLs and relative references;
// javascript:, data: and every other scheme are refused.
func safeURL(u string) (string, bool) {
	if u == "" || strings.ContainsAny(u, " \t\r\n\"'<>`") {
		return "", false
	}
	lower := strings.ToLower(u)
	for _, p := range []string{"http://", "https://", "mailto:"} {
		if strings.HasPrefix(lower, p) {
			return u, true
		}
	}
	colon := strings.IndexByte(u, ':')
	if colon < 0 {
		return u, true
	}
	if cut := strings.IndexAny(u, "/?#"); cut >= 0 && cut < colon {
		return u, true
	}
	return "", false
}
