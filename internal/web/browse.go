package web

import (
	"bytes"
	"html/template"
	"mime"
	"net/http"
	"net/url"
	"path"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/gatehouse/gatehouse"
	"github.com/gatehouse/gatehouse/internal/gitrepo"
	"github.com/gatehouse/gatehouse/internal/service"
)

// Browsing a repository: /OWNER/REPO/VIEW[/REF[/PATH]] for the views of
// browseViews. Every view opens the repository through the service
// (Service.OpenRepo: the one authorization decision; private repositories
// are not found by those who may not read them) and reads through the
// view it returns.
//
// The route table holds two patterns for all of them, /{owner}/{repo}/{view}
// and /{owner}/{repo}/{view}/{rest...}, rather than one per view: ServeMux
// refuses /{owner}/{repo}/tree/{rest...} beside /settings/tokens/{id}/delete
// (each matches a path the other does, neither more specific), while the
// generic patterns are strictly more general than every fixed page. The
// views are listed, each with its handler, in browseViews; the route walk
// visits every one.

// Bounds of the pages.
const (
	// maxDisplay is the largest file a blob page shows; larger files are
	// offered for download.
	maxDisplay = 1 << 20
	// maxHighlight is the largest file that is highlighted; up to
	// maxDisplay, larger ones are shown as plain text.
	maxHighlight = 256 << 10
	// maxTreeEntries is the most entries a directory page lists.
	maxTreeEntries = 1000
	// maxLastCommits: directories with more entries get no last-commit
	// column.
	maxLastCommits = 200
	// maxSwitcher is how many branches and tags the switcher offers.
	maxSwitcher    = 100
	commitsPerPage = 30
	refsPerPage    = 50
)

// browseViews maps the VIEW segment to its page.
func (h *Handler) browseViews() map[string]http.HandlerFunc {
	return map[string]http.HandlerFunc{
		"tree":     h.handleTree,
		"blob":     h.handleBlob,
		"raw":      h.handleRaw,
		"commits":  h.handleCommits,
		"commit":   h.handleCommit,
		"branches": h.handleBranches,
		"tags":     h.handleTags,
		"archive":  h.handleArchive,
	}
}

// handleBrowse dispatches /{owner}/{repo}/{view}[/{rest...}].
func (h *Handler) handleBrowse(w http.ResponseWriter, r *http.Request) {
	view, ok := h.browseViews()[r.PathValue("view")]
	if !ok {
		h.renderError(w, r, http.StatusNotFound, "error.not_found")
		return
	}
	view(w, r)
}

// openRepo opens the request's repository for reading, or answers as the
// repository page does: sign-in in private mode, else not found.
func (h *Handler) openRepo(w http.ResponseWriter, r *http.Request) *service.RepoView {
	owner, name := r.PathValue("owner"), r.PathValue("repo")
	if !gatehouse.ValidLogin(owner) || !gatehouse.ValidRepoName(name) {
		h.renderError(w, r, http.StatusNotFound, "error.not_found")
		return nil
	}
	v, err := h.cfg.Service.OpenRepo(r.Context(), actor(r), owner, name)
	if err != nil {
		h.refused(w, r, err)
		return nil
	}
	return v
}

// refused answers a read the service refused or could not do.
func (h *Handler) refused(w http.ResponseWriter, r *http.Request, err error) {
	switch gatehouse.ErrorKind(err) {
	case gatehouse.Unauthenticated:
		if h.cfg.Service.PrivateMode() {
			h.signIn(w, r)
			return
		}
		h.renderError(w, r, http.StatusNotFound, "error.not_found")
	case gatehouse.NotFound, gatehouse.Forbidden, gatehouse.Invalid:
		h.renderError(w, r, http.StatusNotFound, "error.not_found")
	default:
		h.serverError(w, r, err)
	}
}

// hiddenSegment reports whether the request's path hides a slash, a
// backslash, a dot or NUL in percent-encoding: no link of ours does, only
// attempts to get around the path checks.
func hiddenSegment(r *http.Request) bool {
	p := strings.ToLower(r.URL.EscapedPath())
	return strings.Contains(p, "%2f") || strings.Contains(p, "%5c") || strings.Contains(p, "%00") || strings.Contains(p, "%2e")
}

// escapePath escapes each segment of a path for a URL.
func escapePath(p string) string {
	segs := strings.Split(p, "/")
	for i, s := range segs {
		segs[i] = url.PathEscape(s)
	}
	return strings.Join(segs, "/")
}

// crumb is one step of the path above a file or directory.
type crumb struct {
	Name, URL string
}

// refChoice is one branch or tag of the switcher.
type refChoice struct {
	Name, URL string
	Current   bool
}

// browseHead is what every browsing page shows above its content: the
// repository, the tabs, the ref switcher and where in the tree it is.
type browseHead struct {
	Repo   *gatehouse.Repo
	Tab    string // "code", "commits", "branches", "tags"
	Ref    gitrepo.Ref
	Path   string
	Crumbs []crumb
	// Branches and Tags are the switcher's choices, each pointing at the
	// same view and path at that ref; More says there were more.
	Branches, Tags []refChoice
	MoreRefs       bool
	// Base is /OWNER/REPO.
	Base string
}

// head fills the common part of a page at ref and p for view ("tree",
// "blob", "commits").
func (h *Handler) head(r *http.Request, v *service.RepoView, tab, view string, ref gitrepo.Ref, p string) (*browseHead, error) {
	base := "/" + v.Repo.FullName()
	hd := &browseHead{Repo: v.Repo, Tab: tab, Ref: ref, Path: p, Base: base}
	if p != "" {
		hd.Crumbs = append(hd.Crumbs, crumb{Name: v.Repo.Name, URL: base + "/tree/" + escapePath(ref.Name)})
		segs := strings.Split(p, "/")
		for i := range segs {
			c := crumb{Name: segs[i]}
			if i < len(segs)-1 {
				c.URL = base + "/tree/" + escapePath(ref.Name) + "/" + escapePath(strings.Join(segs[:i+1], "/"))
			}
			hd.Crumbs = append(hd.Crumbs, c)
		}
	}
	suffix := ""
	if p != "" {
		suffix = "/" + escapePath(p)
	}
	for _, kind := range []gitrepo.RefKind{gitrepo.Branches, gitrepo.Tags} {
		refs, more, err := v.ListRefs(r.Context(), kind, gatehouse.Page{PerPage: maxSwitcher})
		if err != nil {
			return nil, err
		}
		hd.MoreRefs = hd.MoreRefs || more
		for _, ri := range refs {
			c := refChoice{Name: ri.Name, URL: base + "/" + view + "/" + escapePath(ri.Name) + suffix, Current: ri.Full == ref.Full}
			if kind == gitrepo.Branches {
				hd.Branches = append(hd.Branches, c)
			} else {
				hd.Tags = append(hd.Tags, c)
			}
		}
	}
	return hd, nil
}

// treeRow is one entry of a directory page.
type treeRow struct {
	gitrepo.TreeEntry
	URL  string
	Last *gitrepo.Commit
}

// treeData is a directory page.
type treeData struct {
	*browseHead
	Rows       []treeRow
	Truncated  bool
	Latest     *gitrepo.Commit
	ReadmeName string
	Readme     template.HTML
	ZipURL     string
	TarURL     string
}

// resolveRest resolves the REF/PATH after the view, the default branch
// when there is none. It answers the request itself on failure.
func (h *Handler) resolveRest(w http.ResponseWriter, r *http.Request, v *service.RepoView) (gitrepo.Ref, string, bool) {
	if hiddenSegment(r) {
		h.renderError(w, r, http.StatusNotFound, "error.not_found")
		return gitrepo.Ref{}, "", false
	}
	rest := r.PathValue("rest")
	var (
		ref gitrepo.Ref
		p   string
		err error
	)
	if rest == "" {
		ref, err = v.Resolve(r.Context(), "")
	} else {
		ref, p, err = v.ResolvePath(r.Context(), rest)
	}
	if err != nil {
		if rest == "" && gatehouse.IsKind(err, gatehouse.NotFound) {
			// An empty repository: its page says how to push.
			http.Redirect(w, r, "/"+v.Repo.FullName(), http.StatusSeeOther)
			return ref, "", false
		}
		h.refused(w, r, err)
		return ref, "", false
	}
	return ref, p, true
}

func (h *Handler) handleTree(w http.ResponseWriter, r *http.Request) {
	v := h.openRepo(w, r)
	if v == nil {
		return
	}
	ref, p, ok := h.resolveRest(w, r, v)
	if !ok {
		return
	}
	ctx := r.Context()
	e, err := v.Stat(ctx, ref.Commit, p)
	if err != nil {
		h.refused(w, r, err)
		return
	}
	if e.Type != "tree" {
		http.Redirect(w, r, "/"+v.Repo.FullName()+"/blob/"+escapePath(ref.Name)+"/"+escapePath(p), http.StatusSeeOther)
		return
	}
	l, err := v.ListTree(ctx, e, maxTreeEntries)
	if err != nil {
		h.refused(w, r, err)
		return
	}
	hd, err := h.head(r, v, "code", "tree", ref, p)
	if err != nil {
		h.refused(w, r, err)
		return
	}
	d := &treeData{browseHead: hd, Truncated: l.Truncated}
	refPart := escapePath(ref.Name)
	if ref.Kind == "commit" {
		refPart = ref.Commit
	}
	d.ZipURL = hd.Base + "/archive/" + refPart + ".zip"
	d.TarURL = hd.Base + "/archive/" + refPart + ".tar.gz"
	var last map[string]gitrepo.Commit
	if len(l.Entries) <= maxLastCommits {
		last = v.LastCommits(ctx, ref.Commit, p, l.Entries)
	}
	if cs, _, err := v.Log(ctx, ref.Commit, p, gatehouse.Page{PerPage: 1}); err == nil && len(cs) > 0 {
		d.Latest = &cs[0]
	}
	for _, en := range l.Entries {
		row := treeRow{TreeEntry: en}
		switch en.Type {
		case "tree":
			row.URL = hd.Base + "/tree/" + escapePath(ref.Name) + "/" + escapePath(en.Path)
		case "blob":
			row.URL = hd.Base + "/blob/" + escapePath(ref.Name) + "/" + escapePath(en.Path)
		}
		if c, ok := last[en.Name]; ok {
			row.Last = &c
		}
		d.Rows = append(d.Rows, row)
	}
	if name := service.ReadmeName(l.Entries); name != "" {
		for _, en := range l.Entries {
			if en.Name == name {
				content, more, err := v.ReadBlob(ctx, en, maxReadme)
				if err == nil && !more {
					at := ref.Name
					if ref.Kind == "commit" {
						at = ref.Commit
					}
					d.ReadmeName, d.Readme = name, h.readmes.render(readmeBase{Repo: v.Repo.FullName(), Ref: at, Dir: p}, name, content)
				}
			}
		}
	}
	h.render(w, r, http.StatusOK, "repo_tree", "tree.title", "", d)
}

// blobData is a file page.
type blobData struct {
	*browseHead
	Entry   gitrepo.TreeEntry
	RawURL  string
	Lines   []template.HTML
	Image   bool
	Binary  bool
	TooBig  bool
	Symlink string
	Plain   bool // too large to highlight
	HistURL string
}

// imageTypes are the image formats a file page shows inline, and the types
// the raw view serves them as (never SVG, which can hold scripts: it is
// served as a download, and shown through <img>, where scripts never run).
var imageTypes = map[string]string{
	".png": "image/png", ".jpg": "image/jpeg", ".jpeg": "image/jpeg", ".gif": "image/gif",
	".webp": "image/webp", ".bmp": "image/bmp", ".ico": "image/x-icon",
}

func isImage(name string) bool {
	ext := strings.ToLower(path.Ext(name))
	_, ok := imageTypes[ext]
	return ok || ext == ".svg"
}

// isText reports whether b looks like text: valid UTF-8 without NUL in
// its first 8 KiB.
func isText(b []byte) bool {
	head := b[:min(len(b), 8<<10)]
	if bytes.IndexByte(head, 0) >= 0 {
		return false
	}
	// The cut may split a character at the end.
	for i := 0; i < 3 && !utf8.Valid(head) && len(head) > 0; i++ {
		head = head[:len(head)-1]
	}
	return utf8.Valid(head)
}

func (h *Handler) handleBlob(w http.ResponseWriter, r *http.Request) {
	v := h.openRepo(w, r)
	if v == nil {
		return
	}
	ref, p, ok := h.resolveRest(w, r, v)
	if !ok {
		return
	}
	ctx := r.Context()
	e, err := v.Stat(ctx, ref.Commit, p)
	if err != nil {
		h.refused(w, r, err)
		return
	}
	if e.Type == "tree" {
		http.Redirect(w, r, "/"+v.Repo.FullName()+"/tree/"+escapePath(ref.Name)+"/"+escapePath(p), http.StatusSeeOther)
		return
	}
	if e.Type != "blob" {
		h.renderError(w, r, http.StatusNotFound, "error.not_found")
		return
	}
	hd, err := h.head(r, v, "code", "blob", ref, p)
	if err != nil {
		h.refused(w, r, err)
		return
	}
	d := &blobData{browseHead: hd, Entry: e,
		RawURL:  hd.Base + "/raw/" + escapePath(ref.Name) + "/" + escapePath(p),
		HistURL: hd.Base + "/commits/" + escapePath(ref.Name) + "/" + escapePath(p)}
	switch {
	case e.IsSymlink():
		target, _, err := v.ReadBlob(ctx, e, 4096)
		if err != nil {
			h.refused(w, r, err)
			return
		}
		d.Symlink = string(target)
	case isImage(e.Name):
		d.Image = true
	case e.Size > maxDisplay:
		d.TooBig = true
	default:
		content, _, err := v.ReadBlob(ctx, e, maxDisplay)
		if err != nil {
			h.refused(w, r, err)
			return
		}
		switch {
		case !isText(content):
			d.Binary = true
		case len(content) > maxHighlight:
			d.Plain, d.Lines = true, plainLines(string(content))
		default:
			d.Lines = highlight(e.Name, string(content))
		}
	}
	h.render(w, r, http.StatusOK, "repo_blob", "blob.title", "", d)
}

// handleRaw serves a file's bytes as text/plain, a raster image type, or a
// download; never as anything a browser would run from this origin: the
// response is sandboxed and may not be sniffed.
func (h *Handler) handleRaw(w http.ResponseWriter, r *http.Request) {
	v := h.openRepo(w, r)
	if v == nil {
		return
	}
	ref, p, ok := h.resolveRest(w, r, v)
	if !ok {
		return
	}
	ctx := r.Context()
	e, err := v.Stat(ctx, ref.Commit, p)
	if err != nil {
		h.refused(w, r, err)
		return
	}
	if e.Type != "blob" {
		h.renderError(w, r, http.StatusNotFound, "error.not_found")
		return
	}
	head, _, err := v.ReadBlob(ctx, e, 8<<10)
	if err != nil {
		h.refused(w, r, err)
		return
	}
	ctype, disposition := "application/octet-stream", "attachment"
	ext := strings.ToLower(path.Ext(e.Name))
	switch {
	case imageTypes[ext] != "" && !isText(head):
		ctype, disposition = imageTypes[ext], "inline"
	case ext == ".svg":
		ctype = "image/svg+xml"
	case isText(head):
		ctype, disposition = "text/plain; charset=utf-8", "inline"
	}
	hdr := w.Header()
	hdr.Set("Content-Type", ctype)
	hdr.Set("Content-Disposition", mime.FormatMediaType(disposition, map[string]string{"filename": e.Name}))
	hdr.Set("Content-Length", strconv.FormatInt(e.Size, 10))
	hdr.Set("X-Content-Type-Options", "nosniff")
	hdr.Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; sandbox")
	hdr.Set("Cache-Control", "private, max-age=60")
	w.WriteHeader(http.StatusOK)
	if r.Method == http.MethodHead {
		return
	}
	if err := v.WriteBlob(ctx, e, w); err != nil && ctx.Err() == nil {
		h.log.Warn("streaming a file failed", "repo", v.Repo.FullName(), "err", err)
	}
}

// commitsData is a page of history.
type commitsData struct {
	*browseHead
	Commits          []gitrepo.Commit
	Page             int
	PrevURL, NextURL string
}

func (h *Handler) handleCommits(w http.ResponseWriter, r *http.Request) {
	v := h.openRepo(w, r)
	if v == nil {
		return
	}
	ref, p, ok := h.resolveRest(w, r, v)
	if !ok {
		return
	}
	page, _ := strconv.Atoi(r.URL.Query().Get("page"))
	page = min(max(page, 1), gatehouse.MaxPage)
	cs, more, err := v.Log(r.Context(), ref.Commit, p, gatehouse.Page{Page: page, PerPage: commitsPerPage})
	if err != nil {
		h.refused(w, r, err)
		return
	}
	hd, err := h.head(r, v, "commits", "commits", ref, p)
	if err != nil {
		h.refused(w, r, err)
		return
	}
	d := &commitsData{browseHead: hd, Commits: cs, Page: page}
	self := r.URL.Path
	if page > 1 {
		d.PrevURL = self + "?page=" + strconv.Itoa(page-1)
	}
	if more {
		d.NextURL = self + "?page=" + strconv.Itoa(page+1)
	}
	h.render(w, r, http.StatusOK, "repo_commits", "commits.title", "", d)
}

// diffLine is one line of a patch with its kind: "add", "del", "hunk" or
// "ctx".
type diffLine struct {
	Kind string
	Text string
}

// fileView is one file of a commit page.
type fileView struct {
	gitrepo.FileDiff
	Lines  []diffLine
	Anchor string
}

// commitData is a commit page.
type commitData struct {
	*browseHead
	Commit   *gitrepo.Commit
	Diff     *gitrepo.Diff
	Files    []fileView
	TreeURL  string
	Parents  []string
	MaxFiles int
}

func (h *Handler) handleCommit(w http.ResponseWriter, r *http.Request) {
	v := h.openRepo(w, r)
	if v == nil {
		return
	}
	if hiddenSegment(r) {
		h.renderError(w, r, http.StatusNotFound, "error.not_found")
		return
	}
	c, err := v.Commit(r.Context(), r.PathValue("rest"))
	if err != nil {
		h.refused(w, r, err)
		return
	}
	const maxFiles = 300
	diff, err := v.Diff(r.Context(), c, gitrepo.DiffLimits{MaxFiles: maxFiles})
	if err != nil {
		h.refused(w, r, err)
		return
	}
	base := "/" + v.Repo.FullName()
	d := &commitData{browseHead: &browseHead{Repo: v.Repo, Tab: "commits", Base: base,
		Ref: gitrepo.Ref{Name: c.ID, Kind: "commit", Commit: c.ID}},
		Commit: c, Diff: diff, TreeURL: base + "/tree/" + c.ID, Parents: c.Parents, MaxFiles: maxFiles}
	for i, f := range diff.Files {
		fv := fileView{FileDiff: f, Anchor: "diff-" + strconv.Itoa(i+1)}
		if f.Patch != "" {
			for _, l := range strings.Split(f.Patch, "\n") {
				kind := "ctx"
				switch {
				case strings.HasPrefix(l, "@@"):
					kind = "hunk"
				case strings.HasPrefix(l, "+"):
					kind = "add"
				case strings.HasPrefix(l, "-"):
					kind = "del"
				}
				fv.Lines = append(fv.Lines, diffLine{Kind: kind, Text: strings.ToValidUTF8(l, "\uFFFD")})
			}
		}
		d.Files = append(d.Files, fv)
	}
	h.render(w, r, http.StatusOK, "repo_commit", "commit.title", "", d)
}

// refsData is the branches or the tags page.
type refsData struct {
	*browseHead
	Kind             string // "branches" or "tags"
	Refs             []gitrepo.RefInfo
	PrevURL, NextURL string
}

func (h *Handler) handleBranches(w http.ResponseWriter, r *http.Request) {
	h.refsPage(w, r, gitrepo.Branches, "branches")
}

func (h *Handler) handleTags(w http.ResponseWriter, r *http.Request) {
	h.refsPage(w, r, gitrepo.Tags, "tags")
}

func (h *Handler) refsPage(w http.ResponseWriter, r *http.Request, kind gitrepo.RefKind, name string) {
	if r.PathValue("rest") != "" {
		h.renderError(w, r, http.StatusNotFound, "error.not_found")
		return
	}
	v := h.openRepo(w, r)
	if v == nil {
		return
	}
	page, _ := strconv.Atoi(r.URL.Query().Get("page"))
	page = min(max(page, 1), gatehouse.MaxPage)
	refs, more, err := v.ListRefs(r.Context(), kind, gatehouse.Page{Page: page, PerPage: refsPerPage})
	if err != nil {
		h.refused(w, r, err)
		return
	}
	d := &refsData{browseHead: &browseHead{Repo: v.Repo, Tab: name, Base: "/" + v.Repo.FullName()}, Kind: name, Refs: refs}
	if page > 1 {
		d.PrevURL = r.URL.Path + "?page=" + strconv.Itoa(page-1)
	}
	if more {
		d.NextURL = r.URL.Path + "?page=" + strconv.Itoa(page+1)
	}
	h.render(w, r, http.StatusOK, "repo_refs", name+".title", "", d)
}

// handleArchive streams /OWNER/REPO/archive/REF.zip or REF.tar.gz.
func (h *Handler) handleArchive(w http.ResponseWriter, r *http.Request) {
	v := h.openRepo(w, r)
	if v == nil {
		return
	}
	if hiddenSegment(r) {
		h.renderError(w, r, http.StatusNotFound, "error.not_found")
		return
	}
	rest := r.PathValue("rest")
	format, ctype, ext := gitrepo.Zip, "application/zip", ".zip"
	name, ok := strings.CutSuffix(rest, ".zip")
	if !ok {
		format, ctype, ext = gitrepo.TarGz, "application/x-gzip", ".tar.gz"
		name, ok = strings.CutSuffix(rest, ".tar.gz")
	}
	if !ok || name == "" {
		h.renderError(w, r, http.StatusNotFound, "error.not_found")
		return
	}
	ref, err := v.Resolve(r.Context(), name)
	if err != nil {
		h.refused(w, r, err)
		return
	}
	file := v.Repo.Name + "-" + strings.ReplaceAll(ref.Name, "/", "-") + ext
	hdr := w.Header()
	hdr.Set("Content-Type", ctype)
	hdr.Set("Content-Disposition", mime.FormatMediaType("attachment", map[string]string{"filename": file}))
	w.WriteHeader(http.StatusOK)
	if err := v.Archive(r.Context(), ref, format, w); err != nil && r.Context().Err() == nil {
		h.log.Warn("streaming an archive failed", "repo", v.Repo.FullName(), "err", err)
	}
}
