package web

import (
	"regexp"
	"strings"
	"testing"
)

func TestMarkdown(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"# Title", "<h1>Title</h1>\n"},
		{"### Deep ###", "<h3>Deep</h3>\n"},
		{"#nospace", "<p>#nospace</p>\n"},
		{"one\ntwo\n\nthree", "<p>one two</p>\n<p>three</p>\n"},
		{"*em* **strong** `a<b`", "<p><em>em</em> <strong>strong</strong> <code>a&lt;b</code></p>\n"},
		{"- a\n- b\n\n1. x\n2) y", "<ul>\n<li>a</li>\n<li>b</li>\n</ul>\n<ol>\n<li>x</li>\n<li>y</li>\n</ol>\n"},
		{"```go\nfmt.Println(\"<hi>\")\n```", "<pre><code>fmt.Println(&#34;&lt;hi&gt;&#34;)</code></pre>\n"},
		{"    indented\n    code", "<pre><code>indented\ncode</code></pre>\n"},
		{"> quoted\n> text", "<blockquote><p>quoted text</p></blockquote>\n"},
		{"---", "<hr>\n"},
		{"[site](https://example.com/a?b=1&c=2)", `<p><a href="https://example.com/a?b=1&amp;c=2" rel="nofollow noopener">site</a></p>` + "\n"},
		{"[doc](docs/setup.md)", `<p><a href="docs/setup.md" rel="nofollow noopener">doc</a></p>` + "\n"},
		{"[x](javascript:alert(1))", "<p>x)</p>\n"},
		{"[x](JaVaScRiPt:alert)", "<p>x</p>\n"},
		{"[x](data:text/html,hi)", "<p>x</p>\n"},
		{"[x](\"onmouseover=alert(1))", "<p>x)</p>\n"},
		{"<script>alert(1)</script>", "<p>&lt;script&gt;alert(1)&lt;/script&gt;</p>\n"},
		{"<img src=x onerror=alert(1)>", "<p>&lt;img src=x onerror=alert(1)&gt;</p>\n"},
		{`\*not em\*`, "<p>*not em*</p>\n"},
		{"a * b * c", "<p>a * b * c</p>\n"},
	} {
		if got := markdown(tc.in); got != tc.want {
			t.Errorf("markdown(%q)\n got %q\nwant %q", tc.in, got, tc.want)
		}
	}
}

func TestReadmePlainText(t *testing.T) {
	got := string(renderReadme("README", []byte("<b>bold?</b>\n\xff")))
	if got != `<pre class="readme-text">&lt;b&gt;bold?&lt;/b&gt;`+"\n\uFFFD</pre>" {
		t.Errorf("plain README rendered as %q", got)
	}
}

var (
	tagRe   = regexp.MustCompile(`<(/?)([a-zA-Z0-9]+)([^>]*)>`)
	allowed = map[string]bool{"h1": true, "h2": true, "h3": true, "h4": true, "h5": true, "h6": true, "p": true, "em": true,
		"strong": true, "code": true, "pre": true, "ul": true, "ol": true, "li": true, "blockquote": true, "hr": true, "a": true}
	hrefRe = regexp.MustCompile(`^ href="([^"<>]*)" rel="nofollow noopener"$`)
)

// checkSafe fails when out holds a tag that markdown does not write, an
// attribute other than a checked href, or a URL with a scheme other than
// http, https or mailto.
func checkSafe(t *testing.T, in, out string) {
	t.Helper()
	for _, m := range tagRe.FindAllStringSubmatch(out, -1) {
		if !allowed[m[2]] {
			t.Fatalf("markdown(%q) wrote tag %q", in, m[0])
		}
		if m[3] == "" || m[1] == "/" {
			continue
		}
		h := hrefRe.FindStringSubmatch(m[3])
		if m[2] != "a" || h == nil {
			t.Fatalf("markdown(%q) wrote attributes %q", in, m[0])
		}
		href := strings.ToLower(strings.ReplaceAll(h[1], "&amp;", "&"))
		if i := strings.Index(href, ":"); i >= 0 && strings.IndexAny(href[:i], "/?#") < 0 &&
			!strings.HasPrefix(href, "http:") && !strings.HasPrefix(href, "https:") && !strings.HasPrefix(href, "mailto:") {
			t.Fatalf("markdown(%q) links to %q", in, h[1])
		}
	}
	if strings.Count(out, "<") != len(tagRe.FindAllString(out, -1)) {
		t.Fatalf("markdown(%q) wrote a stray '<': %q", in, out)
	}
}

func FuzzMarkdown(f *testing.F) {
	for _, s := range []string{"# h", "[a](b)", "**x** _y_ `z`", "<script>", "[x](javascript:y)", "- a\n- b", "```\n<\n```", "> q", "[a](http://x\" onclick=\"y)"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		checkSafe(t, in, markdown(in))
	})
}

func TestMarkdownLinear(t *testing.T) {
	// Unmatched delimiters must not make rendering quadratic.
	in := strings.Repeat("*[`_", 50000)
	out := markdown(in)
	checkSafe(t, in[:100], out[:0])
	if len(out) == 0 {
		t.Fatal("no output")
	}
}

func TestIdenticon(t *testing.T) {
	a, b := identicon("alice"), identicon("bob")
	if a == b || a != identicon("Alice") {
		t.Error("identicons are not per login, case-insensitively")
	}
	if !strings.HasPrefix(a, "<svg ") || strings.Contains(a, "script") {
		t.Errorf("identicon %q", a)
	}
}
