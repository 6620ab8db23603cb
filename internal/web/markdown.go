package web

import (
	"bytes"
	"crypto/sha256"
	"html/template"
	"net/url"
	"path"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"unicode"

	"github.com/alecthomas/chroma/v2"
	"github.com/alecthomas/chroma/v2/lexers"
	"github.com/microcosm-cc/bluemonday"
	"github.com/yuin/goldmark"
	"github.com/yuin/goldmark/ast"
	"github.com/yuin/goldmark/extension"
	extast "github.com/yuin/goldmark/extension/ast"
	"github.com/yuin/goldmark/parser"
	"github.com/yuin/goldmark/renderer"
	"github.com/yuin/goldmark/renderer/html"
	"github.com/yuin/goldmark/text"
	"github.com/yuin/goldmark/util"
	xhtml "golang.org/x/net/html"
	"golang.org/x/net/html/atom"
)

// READMEs are rendered as GitHub renders them: GitHub-flavoured Markdown
// (tables, task lists, autolinks, strikethrough) by goldmark, raw HTML
// included, then three steps that make the result fit this site:
//
//  1. goldmark: heading ids as GitHub makes them, task-list classes, and
//     fenced code highlighted with chroma's CSS classes (highlight.go).
//  2. rewriteHTML: the HTML parsed as a browser would (so that unclosed
//     or stray raw tags cannot reach the page around the README);
//     relative links and images resolved against the repository; ids and in-page links prefixed with "user-content-" (as
//     GitHub does, so that a README cannot clobber the page's own ids);
//     images from other hosts turned into links, since the pages'
//     Content-Security-Policy (img-src 'self') would block them.
//  3. bluemonday, last: only the elements and attributes of
//     readmePolicy survive; no script, style, event handler, form or
//     frame, no URL but http, https, mailto and relative ones.
//
// goldmark's inline parser is quadratic in the delimiters of a paragraph
// ("[[[…]]]", "*a_*a_…", "[a](b[a](b…" take minutes at a few hundred
// KB), and reference links can multiply a long URL into gigabytes of
// output. inlineGuard and readmeTransformer bound that work; what is
// over the bounds is shown as text, not parsed.

// readmeBase locates a README in its repository, so that its relative
// links and images resolve as they do on GitHub.
type readmeBase struct {
	// Repo is "owner/name"; empty leaves relative URLs as written.
	Repo string
	// Ref is the branch, tag or commit the README was read at.
	Ref string
	// Dir is the directory holding the README, "" at the top.
	Dir string
}

// renderReadme turns a README into safe HTML: Markdown files as GitHub
// renders them, anything else as preformatted text. Relative links stay
// as written: renderReadmeAt resolves them.
func renderReadme(name string, content []byte) template.HTML {
	return renderReadmeAt(readmeBase{}, name, content)
}

// renderReadmeAt is renderReadme for a README at base: its relative links
// go to the repository's file pages, its relative images to the raw files.
func renderReadmeAt(base readmeBase, name string, content []byte) template.HTML {
	text := strings.ToValidUTF8(string(content), "\uFFFD")
	switch strings.ToLower(path.Ext(name)) {
	case ".md", ".markdown":
		return template.HTML(markdown(text, base))
	}
	return template.HTML(`<pre class="readme-text">` + template.HTMLEscapeString(text) + `</pre>`)
}

// readmeCache keeps rendered READMEs, keyed by what they were rendered
// from, so that a large README costs its rendering (a quarter of a
// second at 200 KB) once, not on every view. A Handler owns one; it is
// safe for concurrent use.
type readmeCache struct {
	mu    sync.Mutex
	max   int // bytes of HTML kept
	size  int
	items map[[sha256.Size]byte]template.HTML
	order [][sha256.Size]byte // oldest first
}

// newReadmeCache keeps up to maxBytes of rendered HTML.
func newReadmeCache(maxBytes int) *readmeCache {
	return &readmeCache{max: maxBytes, items: map[[sha256.Size]byte]template.HTML{}}
}

// render is renderReadmeAt, from the cache when it can be.
func (c *readmeCache) render(base readmeBase, name string, content []byte) template.HTML {
	h := sha256.New()
	for _, s := range []string{base.Repo, base.Ref, base.Dir, name} {
		h.Write([]byte(s))
		h.Write([]byte{0})
	}
	h.Write(content)
	var key [sha256.Size]byte
	h.Sum(key[:0])
	c.mu.Lock()
	out, ok := c.items[key]
	c.mu.Unlock()
	if ok {
		return out
	}
	out = renderReadmeAt(base, name, content)
	if len(out) > c.max {
		return out
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.items[key]; ok {
		return out
	}
	for c.size+len(out) > c.max {
		old := c.order[0]
		c.order = c.order[1:]
		c.size -= len(c.items[old])
		delete(c.items, old)
	}
	c.items[key] = out
	c.order = append(c.order, key)
	c.size += len(out)
	return out
}

// markdown renders GitHub-flavoured Markdown as safe HTML.
func markdown(src string, base readmeBase) string {
	r := readmeRenderer()
	var b bytes.Buffer
	b.Grow(len(src) + len(src)/2)
	// goldmark fails only when its writer does, and a bytes.Buffer does
	// not; rewriteHTML fails on HTML nested deeper than x/net/html parses
	// (512 elements).
	if err := r.md.Convert([]byte(src), &b); err == nil {
		if h, err := rewriteHTML(b.Bytes(), base); err == nil {
			return string(r.policy.SanitizeBytes(h))
		}
	}
	return `<pre class="readme-text">` + template.HTMLEscapeString(src) + `</pre>`
}

// markdownRenderer holds the Markdown parser and the sanitizer policy;
// both are safe for concurrent use once built.
type markdownRenderer struct {
	md     goldmark.Markdown
	policy *bluemonday.Policy
}

// readmeRenderer is built once, on first use, and never changed.
var readmeRenderer = sync.OnceValue(func() *markdownRenderer {
	return &markdownRenderer{md: newGoldmark(), policy: readmePolicy()}
})

func newGoldmark() goldmark.Markdown {
	return goldmark.New(
		goldmark.WithParser(parser.NewParser(
			parser.WithBlockParsers(blockParsers()...),
			parser.WithInlineParsers(parser.DefaultInlineParsers()...),
			parser.WithParagraphTransformers(parser.DefaultParagraphTransformers()...),
		)),
		goldmark.WithExtensions(
			extension.Linkify,
			// Alignment as the align attribute: the default, a style
			// attribute, is refused by the pages' CSP.
			extension.NewTable(extension.WithTableCellAlignMethod(extension.TableCellAlignAttribute)),
			extension.Strikethrough,
			extension.TaskList,
		),
		goldmark.WithParserOptions(
			// Before every other inline parser (the task-list one is at 0).
			parser.WithInlineParsers(util.Prioritized(inlineGuard{}, -1)),
			parser.WithASTTransformers(util.Prioritized(readmeTransformer{}, 1000)),
		),
		goldmark.WithRendererOptions(
			// Raw HTML goes through, to the sanitizer, as on GitHub.
			html.WithUnsafe(),
			renderer.WithNodeRenderers(util.Prioritized(fencedCodeRenderer{}, 100)),
		),
	)
}

// blockParsers are goldmark's, with lists and block quotes nested at
// most maxNesting deep (goldmark takes time quadratic in the depth of a
// line like "- - - - … x").
func blockParsers() []util.PrioritizedValue {
	return []util.PrioritizedValue{
		util.Prioritized(parser.NewSetextHeadingParser(), 100),
		util.Prioritized(parser.NewThematicBreakParser(), 200),
		util.Prioritized(nestingGuard{parser.NewListParser()}, 300),
		util.Prioritized(nestingGuard{parser.NewListItemParser()}, 400),
		util.Prioritized(parser.NewCodeBlockParser(), 500),
		util.Prioritized(parser.NewATXHeadingParser(), 600),
		util.Prioritized(parser.NewFencedCodeBlockParser(), 700),
		util.Prioritized(nestingGuard{parser.NewBlockquoteParser()}, 800),
		util.Prioritized(parser.NewHTMLBlockParser(), 900),
		util.Prioritized(parser.NewParagraphParser(), 1000),
	}
}

// nestingGuard opens its container only maxNesting containers deep;
// deeper, the line is what the other parsers make of it.
type nestingGuard struct{ parser.BlockParser }

func (g nestingGuard) Open(parent ast.Node, reader text.Reader, pc parser.Context) (ast.Node, parser.State) {
	depth := 0
	for n := parent; n != nil; n = n.Parent() {
		switch n.Kind() {
		case ast.KindList, ast.KindListItem, ast.KindBlockquote:
			if depth++; depth >= maxNesting {
				return nil, parser.NoChildren
			}
		}
	}
	return g.BlockParser.Open(parent, reader, pc)
}

// Bounds of the work of one README.
const (
	// maxNesting is how deep lists (two each: list and item) and block
	// quotes nest.
	maxNesting = 32
	// maxCodeHighlight is how many bytes of fenced code are highlighted;
	// chroma takes about a second for a few hundred KB.
	maxCodeHighlight = 64 << 10
	// maxBlockDelims is the most delimiters ([ ] ![ * _ ~) one block
	// (paragraph, heading, table cell) has parsed; more are text.
	maxBlockDelims = 2000
	// maxInlineWork bounds the sum over all delimiters of the delimiters
	// before them in their block, and of the line after each ']': what
	// goldmark's quadratic steps cost.
	maxInlineWork = 20_000_000
	// maxLinkBytes bounds the bytes of link and image destinations and
	// titles beyond the README's own size: a reference link repeats its
	// definition's URL at every use.
	maxLinkBytes = 1 << 20
)

// inlineGuard counts the delimiters goldmark parses; beyond the bounds
// above it takes each one itself, as text. It never changes what a
// README within the bounds renders as.
type inlineGuard struct{}

var guardKey = parser.NewContextKey()

// guardState is the count of one rendering.
type guardState struct{ block, work int }

func (inlineGuard) Trigger() []byte { return []byte{'[', ']', '!', '*', '_', '~'} }

func (inlineGuard) Parse(_ ast.Node, block text.Reader, pc parser.Context) ast.Node {
	st, _ := pc.Get(guardKey).(*guardState)
	if st == nil {
		st = &guardState{}
		pc.Set(guardKey, st)
	}
	line, seg := block.PeekLine()
	if line[0] == '!' && (len(line) < 2 || line[1] != '[') {
		return nil
	}
	st.block++
	st.work += st.block
	if line[0] == ']' {
		st.work += len(line) / 8 // parseLinkDestination reads the line
	}
	if st.block <= maxBlockDelims && st.work <= maxInlineWork {
		return nil
	}
	block.Advance(1)
	return ast.NewTextSegment(text.NewSegment(seg.Start, seg.Start+1))
}

// CloseBlock starts the count of the next block.
func (inlineGuard) CloseBlock(_ ast.Node, _ text.Reader, pc parser.Context) {
	if st, _ := pc.Get(guardKey).(*guardState); st != nil {
		st.block = 0
	}
}

// plainCode marks a fenced code block beyond the highlighting budget.
const plainCode = "gatehouse-plain"

// readmeTransformer gives headings GitHub's ids (unprefixed: rewriteHTML
// adds the prefix), marks task lists with GitHub's classes, and applies
// the budgets of links and of highlighting.
type readmeTransformer struct{}

func (readmeTransformer) Transform(doc *ast.Document, reader text.Reader, _ parser.Context) {
	src := reader.Source()
	ids := slugs{used: map[string]bool{}, next: map[string]int{}}
	linkBytes := len(src) + maxLinkBytes
	highlight := maxCodeHighlight
	var unlink []ast.Node
	_ = ast.Walk(doc, func(n ast.Node, entering bool) (ast.WalkStatus, error) {
		if !entering {
			return ast.WalkContinue, nil
		}
		switch n := n.(type) {
		case *ast.Heading:
			var b bytes.Buffer
			plainText(&b, n, src)
			n.SetAttributeString("id", []byte(ids.unique(headingSlug(b.String()))))
		case *ast.ListItem:
			if fc := n.FirstChild(); fc != nil {
				if _, ok := fc.FirstChild().(*extast.TaskCheckBox); ok {
					n.SetAttributeString("class", []byte("task-list-item"))
					n.Parent().SetAttributeString("class", []byte("contains-task-list"))
				}
			}
		case *ast.Link:
			if linkBytes -= len(n.Destination) + len(n.Title); linkBytes < 0 {
				unlink = append(unlink, n)
			}
		case *ast.Image:
			if linkBytes -= len(n.Destination) + len(n.Title); linkBytes < 0 {
				unlink = append(unlink, n)
			}
		case *ast.FencedCodeBlock:
			for i := 0; i < n.Lines().Len(); i++ {
				seg := n.Lines().At(i)
				highlight -= seg.Len()
			}
			if highlight < 0 {
				n.SetAttributeString(plainCode, true)
			}
		}
		return ast.WalkContinue, nil
	})
	// Links over the budget keep their text.
	for _, n := range unlink {
		parent := n.Parent()
		for c := n.FirstChild(); c != nil; {
			next := c.NextSibling()
			parent.InsertBefore(parent, n, c)
			c = next
		}
		parent.RemoveChild(parent, n)
	}
}

// plainText writes the text of n's inline children, as a browser shows
// it: no markup, entities resolved, images and raw HTML omitted.
func plainText(b *bytes.Buffer, n ast.Node, src []byte) {
	for c := n.FirstChild(); c != nil; c = c.NextSibling() {
		switch c := c.(type) {
		case *ast.Text:
			b.Write(util.ResolveEntityNames(util.ResolveNumericReferences(util.UnescapePunctuations(c.Value(src)))))
		case *ast.String:
			b.Write(c.Value)
		case *ast.AutoLink:
			b.Write(c.Label(src))
		case *ast.RawHTML, *ast.Image:
		default:
			plainText(b, c, src)
		}
	}
}

// headingSlug is GitHub's anchor of a heading's text: lower case, without
// punctuation but '-' and '_', each space a '-' (so "Title ![badge](…)"
// is "title-", as on GitHub).
func headingSlug(s string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(s) {
		switch {
		case r == ' ':
			b.WriteByte('-')
		case r == '-' || r == '_' || unicode.IsLetter(r) || unicode.IsNumber(r) || unicode.IsMark(r) || unicode.Is(unicode.Pc, r):
			b.WriteRune(r)
		}
	}
	return b.String()
}

// slugs numbers repeated slugs as GitHub does: "a", "a-1", "a-2", never
// giving one that an earlier heading has.
type slugs struct {
	used map[string]bool
	next map[string]int
}

func (u *slugs) unique(s string) string {
	id := s
	for i := u.next[s]; u.used[id]; i++ {
		id = s + "-" + strconv.Itoa(i+1)
		u.next[s] = i + 1
	}
	u.used[id] = true
	return id
}

// fencedCodeRenderer writes fenced code blocks of a language chroma knows
// highlighted, in the CSS classes of static/highlight.css; others plain.
type fencedCodeRenderer struct{}

func (fencedCodeRenderer) RegisterFuncs(reg renderer.NodeRendererFuncRegisterer) {
	reg.Register(ast.KindFencedCodeBlock, renderFencedCode)
}

// languageRe is an info string usable as a class name and lexer name.
var languageRe = regexp.MustCompile(`^[A-Za-z0-9_+#.-]{1,40}$`)

func renderFencedCode(w util.BufWriter, src []byte, node ast.Node, entering bool) (ast.WalkStatus, error) {
	if !entering {
		return ast.WalkContinue, nil
	}
	n := node.(*ast.FencedCodeBlock)
	var code strings.Builder
	for i := 0; i < n.Lines().Len(); i++ {
		seg := n.Lines().At(i)
		code.Write(seg.Value(src))
	}
	lang := string(n.Language(src))
	_, plain := n.AttributeString(plainCode)
	if !languageRe.MatchString(lang) {
		_, _ = w.WriteString("<pre><code>")
		template.HTMLEscape(w, []byte(code.String()))
		_, _ = w.WriteString("</code></pre>\n")
		return ast.WalkSkipChildren, nil
	}
	lexer := lexers.Get(lang)
	var it chroma.Iterator
	if lexer != nil && !plain {
		it, _ = chroma.Coalesce(lexer).Tokenise(nil, code.String())
	}
	if it == nil {
		_, _ = w.WriteString(`<pre><code class="language-` + lang + `">`)
		template.HTMLEscape(w, []byte(code.String()))
		_, _ = w.WriteString("</code></pre>\n")
		return ast.WalkSkipChildren, nil
	}
	_, _ = w.WriteString(`<pre class="chroma"><code class="language-` + lang + `">`)
	for tok := it(); tok != chroma.EOF; tok = it() {
		if cls := tokenClass(tok.Type); cls != "" {
			_, _ = w.WriteString(`<span class="` + cls + `">`)
			template.HTMLEscape(w, []byte(tok.Value))
			_, _ = w.WriteString(`</span>`)
		} else {
			template.HTMLEscape(w, []byte(tok.Value))
		}
	}
	_, _ = w.WriteString("</code></pre>\n")
	return ast.WalkSkipChildren, nil
}

// userContent prefixes the ids a README defines, as GitHub does.
const userContent = "user-content-"

// rewriteHTML parses rendered Markdown as the body of a <div> would be
// (so that unclosed or stray tags of raw HTML cannot reach the page
// around the README), resolves relative URLs against base, prefixes ids
// and in-page links, makes checkboxes inert, and turns images from
// elsewhere into links. Its output still goes through the sanitizer:
// nothing here is trusted to make HTML safe.
func rewriteHTML(in []byte, base readmeBase) ([]byte, error) {
	root := &xhtml.Node{Type: xhtml.ElementNode, Data: "div", DataAtom: atom.Div}
	nodes, err := xhtml.ParseFragment(bytes.NewReader(in), root)
	if err != nil {
		return nil, err
	}
	for _, n := range nodes {
		root.AppendChild(n)
	}
	base.rewrite(root, false)
	out := bytes.NewBuffer(make([]byte, 0, len(in)+len(in)/8))
	for c := root.FirstChild; c != nil; c = c.NextSibling {
		// Render fails only after <plaintext>, whose text the sanitizer
		// escapes; what was written stands.
		_ = xhtml.Render(out, c)
	}
	return out.Bytes(), nil
}

// rewrite rewrites the elements under n; inLink says n is inside <a>.
func (b readmeBase) rewrite(n *xhtml.Node, inLink bool) {
	for c := n.FirstChild; c != nil; {
		next := c.NextSibling
		if c.Type == xhtml.ElementNode {
			if c.DataAtom == atom.Img && c.Namespace == "" {
				if r := b.image(c, inLink); r != nil {
					n.InsertBefore(r, c)
					n.RemoveChild(c)
					c = next
					continue
				}
			}
			if c.DataAtom == atom.Input {
				c.Attr = inertCheckbox(c.Attr)
			}
			for i := range c.Attr {
				a := &c.Attr[i]
				switch a.Key {
				case "id", "name":
					if a.Val != "" && !strings.HasPrefix(a.Val, userContent) {
						a.Val = userContent + a.Val
					}
				case "href":
					if c.DataAtom == atom.A {
						a.Val = b.link(a.Val)
					}
				}
			}
			b.rewrite(c, inLink || c.DataAtom == atom.A)
		}
		c = next
	}
}

// inertCheckbox keeps of an input's attributes only those of a disabled
// checkbox: task lists show their state but cannot be changed.
func inertCheckbox(attrs []xhtml.Attribute) []xhtml.Attribute {
	out := []xhtml.Attribute{{Key: "disabled"}, {Key: "type", Val: "checkbox"}}
	for _, a := range attrs {
		if a.Key == "checked" {
			return append([]xhtml.Attribute{{Key: "checked"}}, out...)
		}
	}
	return out
}

// relative parses a URL that names a file of the repository: no scheme,
// no host, nothing a browser might read as another host.
func relative(s string) (*url.URL, bool) {
	if strings.ContainsRune(s, '\\') || strings.HasPrefix(s, "//") {
		return nil, false
	}
	u, err := url.Parse(s)
	if err != nil || u.Scheme != "" || u.Host != "" || u.Opaque != "" {
		return nil, false
	}
	return u, true
}

// link resolves an href: in-page anchors get the id prefix, relative
// paths go to the file (or directory) page; anything else is left to the
// sanitizer.
func (b readmeBase) link(href string) string {
	href = strings.TrimSpace(href)
	u, ok := relative(href)
	if !ok {
		return href
	}
	if u.Path == "" {
		if frag, found := strings.CutPrefix(href, "#"); found && frag != "" && !strings.HasPrefix(frag, userContent) {
			return "#" + userContent + frag
		}
		return href
	}
	if b.Repo == "" {
		return href
	}
	view := "blob"
	if strings.HasSuffix(u.Path, "/") {
		view = "tree"
	}
	return b.url(view, u)
}

// image resolves an image's src to the raw file. An image from anywhere
// else is replaced (a non-nil result) by a link to it, or by its alt text
// inside a link or when its URL is not http(s).
func (b readmeBase) image(n *xhtml.Node, inLink bool) *xhtml.Node {
	var src *xhtml.Attribute
	alt := ""
	for i := range n.Attr {
		switch n.Attr[i].Key {
		case "src":
			src = &n.Attr[i]
		case "alt":
			alt = n.Attr[i].Val
		}
	}
	if src != nil {
		src.Val = strings.TrimSpace(src.Val)
		if u, ok := relative(src.Val); ok && u.Path != "" {
			if b.Repo != "" {
				src.Val = b.url("raw", u)
			}
			return nil
		}
	}
	text := &xhtml.Node{Type: xhtml.TextNode, Data: alt}
	if src == nil || inLink {
		return text
	}
	u, err := url.Parse(src.Val)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return text
	}
	if alt == "" {
		text.Data = src.Val
	}
	a := &xhtml.Node{Type: xhtml.ElementNode, Data: "a", DataAtom: atom.A, Attr: []xhtml.Attribute{{Key: "href", Val: src.Val}}}
	a.AppendChild(text)
	return a
}

// url is the address of view ("blob", "tree" or "raw") for the path of u,
// taken from the README's directory (or from the top when it starts with
// '/'), never above the top.
func (b readmeBase) url(view string, u *url.URL) string {
	p := u.Path
	if !strings.HasPrefix(p, "/") {
		p = b.Dir + "/" + p
	}
	p = strings.TrimPrefix(path.Clean("/"+p), "/")
	if p == "" && view == "blob" {
		view = "tree"
	}
	s := "/" + escapePath(b.Repo) + "/" + view + "/" + escapePath(b.Ref)
	if p != "" {
		s += "/" + escapePath(p)
	}
	if u.RawQuery != "" {
		s += "?" + u.RawQuery
	}
	if u.Fragment != "" {
		s += "#" + u.EscapedFragment()
	}
	return s
}

// readmePolicy is what a README may hold, after GitHub's list: text
// structure and formatting, links, images, tables, details; ids only with
// the user-content- prefix; classes only those this file writes; inert
// checkboxes. Nothing needs an inline style or script.
func readmePolicy() *bluemonday.Policy {
	p := bluemonday.NewPolicy()
	// Parseable URLs, relative or http, https, mailto.
	p.AllowStandardURLs()
	p.AllowElements("p", "div", "br", "hr", "pre", "blockquote", "span", "wbr",
		"h1", "h2", "h3", "h4", "h5", "h6", "details", "summary", "figure", "figcaption", "picture",
		"code", "em", "strong", "b", "i", "u", "s", "strike", "del", "ins", "sub", "sup", "kbd", "samp",
		"var", "tt", "q", "abbr", "cite", "dfn", "mark", "small", "ruby", "rt", "rp", "bdi", "bdo")
	p.AllowLists()
	p.AllowAttrs("start").Matching(bluemonday.Integer).OnElements("ol")
	p.AllowTables()

	ids := regexp.MustCompile(`^user-content-[-\p{L}\p{M}\p{N}\p{Pc}.:]*$`)
	p.AllowAttrs("id").Matching(ids).Globally()
	p.AllowAttrs("title").Matching(bluemonday.Paragraph).Globally()
	p.AllowAttrs("dir").Matching(bluemonday.Direction).Globally()
	p.AllowAttrs("lang").Matching(regexp.MustCompile(`^[a-zA-Z]{2,8}(-[a-zA-Z0-9]{1,8})*$`)).Globally()
	p.AllowAttrs("align").Matching(regexp.MustCompile(`^(?i:left|center|right|justify)$`)).
		OnElements("p", "div", "h1", "h2", "h3", "h4", "h5", "h6")
	p.AllowAttrs("open").Matching(regexp.MustCompile(`^(?i:|open)$`)).OnElements("details")

	p.AllowAttrs("href").OnElements("a")
	p.AllowAttrs("name").Matching(ids).OnElements("a")
	p.AllowImages() // src, alt, width, height, align
	// rel="nofollow" on links to other hosts only (AllowImages asks for
	// it on all links).
	p.RequireNoFollowOnLinks(false)
	p.RequireNoFollowOnFullyQualifiedLinks(true)

	p.AllowAttrs("type").Matching(regexp.MustCompile(`^checkbox$`)).OnElements("input")
	p.AllowAttrs("checked", "disabled").Matching(regexp.MustCompile(`^$`)).OnElements("input")

	p.AllowAttrs("class").Matching(regexp.MustCompile(`^chroma$`)).OnElements("pre")
	p.AllowAttrs("class").Matching(regexp.MustCompile(`^language-[A-Za-z0-9_+#.-]{1,40}$`)).OnElements("code")
	p.AllowAttrs("class").Matching(chromaClasses()).OnElements("span")
	p.AllowAttrs("class").Matching(regexp.MustCompile(`^task-list-item$`)).OnElements("li")
	p.AllowAttrs("class").Matching(regexp.MustCompile(`^contains-task-list$`)).OnElements("ul", "ol")
	return p
}

// chromaClasses matches exactly the token classes highlighting writes.
func chromaClasses() *regexp.Regexp {
	cls := chromaClassList()
	for i, c := range cls {
		cls[i] = regexp.QuoteMeta(c)
	}
	return regexp.MustCompile(`^(?:` + strings.Join(cls, "|") + `)$`)
}

// chromaClassList is chroma's token classes, sorted.
func chromaClassList() []string {
	var cls []string
	for _, c := range chroma.StandardTypes {
		if c != "" {
			cls = append(cls, c)
		}
	}
	sort.Strings(cls)
	return cls
}
