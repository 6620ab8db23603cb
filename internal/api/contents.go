package api

import (
	"encoding/base64"
	"errors"
	"mime"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/gatehouse/gatehouse"
	"github.com/gatehouse/gatehouse/internal/gitrepo"
	"github.com/gatehouse/gatehouse/internal/service"
)

// The read API of a repository's content: contents, README, branches,
// tags, commits, refs, comparisons and archives, in GitHub's shapes. Every
// handler opens the repository through request.view (the service's one
// decision) and reads through the view; git's own limits bound what any
// one call costs (internal/gitrepo).

// Limits of the content API, GitHub's where it documents them.
const (
	// maxContentEntries: a directory listing stops at 1,000 entries.
	maxContentEntries = 1000
	// maxContentBase64: files up to 1 MB come with their content; larger
	// ones (to 100 MB) with encoding "none", readable through the raw media
	// type.
	maxContentBase64 = 1 << 20
	maxContentRaw    = 100 << 20
	// maxCommitFiles: one commit or comparison lists at most 300 files.
	maxCommitFiles = 300
)

// Media types of GET /contents.
const (
	mediaRaw    = "application/vnd.github.raw"
	mediaRawV3  = "application/vnd.github.v3.raw"
	mediaObject = "application/vnd.github.object"
)

// contentItem is GitHub's "content-file", "content-directory" entry,
// "content-symlink" and "content-submodule", which share their fields.
type contentItem struct {
	Type            string  `json:"type"`
	Encoding        string  `json:"encoding,omitempty"`
	Size            int64   `json:"size"`
	Name            string  `json:"name"`
	Path            string  `json:"path"`
	Content         *string `json:"content,omitempty"`
	Target          string  `json:"target,omitempty"`
	SubmoduleGitURL string  `json:"submodule_git_url,omitempty"`
	SHA             string  `json:"sha"`
	URL             string  `json:"url"`
	GitURL          *string `json:"git_url"`
	HTMLURL         *string `json:"html_url"`
	DownloadURL     *string `json:"download_url"`
	Links           links   `json:"_links"`
}

// contentObject is a directory as application/vnd.github.object asks:
// the directory itself with its entries.
type contentObject struct {
	contentItem
	Entries []contentItem `json:"entries"`
}

// escapePath escapes each segment of a repository path for a URL.
func escapePath(p string) string {
	segs := strings.Split(p, "/")
	for i, s := range segs {
		segs[i] = url.PathEscape(s)
	}
	return strings.Join(segs, "/")
}

func ptr[T any](v T) *T { return &v }

// contentItem describes e at ref for the contents API.
func (h *Handler) contentItem(r *gatehouse.Repo, ref string, e gitrepo.TreeEntry) contentItem {
	api := h.apiBase + "/repos/" + r.FullName()
	web := h.base + "/" + r.FullName()
	p := escapePath(e.Path)
	self := api + "/contents/" + p + "?ref=" + url.QueryEscape(ref)
	it := contentItem{Name: e.Name, Path: e.Path, SHA: e.ID, URL: self}
	switch {
	case e.Type == "tree":
		it.Type = "dir"
		it.GitURL = ptr(api + "/git/trees/" + e.ID)
		it.HTMLURL = ptr(web + "/tree/" + escapePath(ref) + "/" + p)
	case e.Type == "commit":
		// GitHub lists submodules as files in directories, for old
		// clients; asked for directly it says submodule.
		it.Type = "file"
		it.GitURL = ptr(api + "/git/trees/" + e.ID)
	default:
		it.Type = "file"
		it.Size = e.Size
		it.GitURL = ptr(api + "/git/blobs/" + e.ID)
		it.HTMLURL = ptr(web + "/blob/" + escapePath(ref) + "/" + p)
		it.DownloadURL = ptr(web + "/raw/" + escapePath(ref) + "/" + p)
	}
	it.Links = links{Self: self, Git: deref(it.GitURL), HTML: deref(it.HTMLURL)}
	return it
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

// encodedSlash reports whether the request's path hides a slash, a dot or
// a NUL in percent-encoding. Such a path names nothing a client would
// build from a file name, only a way around the path checks: refused.
func encodedSlash(r *http.Request) bool {
	p := strings.ToLower(r.URL.EscapedPath())
	return strings.Contains(p, "%2f") || strings.Contains(p, "%5c") || strings.Contains(p, "%00") || strings.Contains(p, "%2e")
}

// accepts reports whether the Accept header names one of types.
func accepts(r *http.Request, types ...string) bool {
	for _, part := range strings.Split(r.Header.Get("Accept"), ",") {
		mt, _, err := mime.ParseMediaType(strings.TrimSpace(part))
		if err != nil {
			continue
		}
		for _, t := range types {
			if mt == t {
				return true
			}
		}
	}
	return false
}

// resolveRef resolves the ref query parameter (the default branch when
// absent) and returns the name to put in URLs.
func resolveRef(rq *request, v *service.RepoView, name string) (gitrepo.Ref, string, error) {
	ref, err := v.Resolve(rq.Context(), name)
	if err != nil {
		if gatehouse.IsKind(err, gatehouse.NotFound) && name != "" {
			return ref, "", gatehouse.E("resolve ref", gatehouse.NotFound, "No commit found for the ref "+name)
		}
		return ref, "", err
	}
	if name == "" {
		name = v.Repo.DefaultBranch
	}
	return ref, name, nil
}

// handleContents is GET /repos/{owner}/{repo}/contents/{path...}?ref=: a
// file with its content in base64, a directory as a listing (the
// application/vnd.github.object media type: as an object with entries),
// a symbolic link or a submodule; the raw media type gives a file's bytes.
func (h *Handler) handleContents(rq *request) error {
	v, err := rq.view()
	if err != nil {
		return err
	}
	if encodedSlash(rq.Request) {
		return errNotFound
	}
	ctx := rq.Context()
	ref, refName, err := resolveRef(rq, v, rq.URL.Query().Get("ref"))
	if err != nil {
		return err
	}
	e, err := v.Stat(ctx, ref.Commit, rq.PathValue("path"))
	if err != nil {
		return err
	}
	raw := accepts(rq.Request, mediaRaw, mediaRawV3)
	switch {
	case e.Type == "tree":
		l, err := v.ListTree(ctx, e, maxContentEntries)
		if err != nil {
			return err
		}
		items := make([]contentItem, 0, len(l.Entries))
		for _, c := range l.Entries {
			items = append(items, h.contentItem(v.Repo, refName, c))
		}
		if accepts(rq.Request, mediaObject) {
			it := h.contentItem(v.Repo, refName, e)
			if e.Path == "" {
				it.Name, it.HTMLURL = "", ptr(h.base+"/"+v.Repo.FullName()+"/tree/"+escapePath(refName))
				it.Links.HTML = *it.HTMLURL
			}
			return rq.json(http.StatusOK, contentObject{contentItem: it, Entries: items})
		}
		return rq.json(http.StatusOK, items)
	case e.Type == "commit":
		it := h.contentItem(v.Repo, refName, e)
		it.Type = "submodule"
		return rq.json(http.StatusOK, it)
	case raw:
		if e.Size > maxContentRaw {
			return gatehouse.E("contents", gatehouse.Forbidden, "This file is too large to be returned by the API (100 MB at most).")
		}
		hd := rq.w.Header()
		hd.Set("Content-Type", mediaRaw+"; charset=utf-8")
		hd.Set("Content-Length", strconv.FormatInt(e.Size, 10))
		hd.Set("Content-Security-Policy", "default-src 'none'; sandbox")
		hd.Set("X-Content-Type-Options", "nosniff")
		rq.w.WriteHeader(http.StatusOK)
		if err := v.WriteBlob(ctx, e, rq.w); err != nil {
			h.log.Warn("streaming a file failed", "repo", v.Repo.FullName(), "err", err)
		}
		return nil
	}
	it := h.contentItem(v.Repo, refName, e)
	if e.IsSymlink() {
		target, _, err := v.ReadBlob(ctx, e, 4096)
		if err != nil {
			return err
		}
		it.Type, it.Target = "symlink", string(target)
		return rq.json(http.StatusOK, it)
	}
	it.Encoding, it.Content = "none", ptr("")
	if e.Size <= maxContentBase64 {
		data, _, err := v.ReadBlob(ctx, e, maxContentBase64)
		if err != nil {
			return err
		}
		it.Encoding, it.Content = "base64", ptr(wrap60(base64.StdEncoding.EncodeToString(data)))
	}
	return rq.json(http.StatusOK, it)
}

// handleReadme is GET /repos/{owner}/{repo}/readme[/{dir...}]?ref=: the
// README of a directory (the top by default), as a file of the contents
// API.
func (h *Handler) handleReadme(rq *request) error {
	v, err := rq.view()
	if err != nil {
		return err
	}
	if encodedSlash(rq.Request) {
		return errNotFound
	}
	ref, refName, err := resolveRef(rq, v, rq.URL.Query().Get("ref"))
	if err != nil {
		return err
	}
	e, data, more, err := v.Readme(rq.Context(), ref.Commit, rq.PathValue("dir"), maxReadme)
	if err != nil {
		return err
	}
	if more {
		return gatehouse.E("readme", gatehouse.Forbidden, "This README is too large to be returned by the API.")
	}
	if accepts(rq.Request, mediaRaw, mediaRawV3) {
		hd := rq.w.Header()
		hd.Set("Content-Type", mediaRaw+"; charset=utf-8")
		hd.Set("Content-Security-Policy", "default-src 'none'; sandbox")
		rq.w.WriteHeader(http.StatusOK)
		rq.w.Write(data)
		return nil
	}
	it := h.contentItem(v.Repo, refName, e)
	it.Encoding, it.Content = "base64", ptr(wrap60(base64.StdEncoding.EncodeToString(data)))
	return rq.json(http.StatusOK, it)
}

// commitRef is a commit's sha and API URL, as branches and tags name it.
type commitRef struct {
	SHA string `json:"sha"`
	URL string `json:"url"`
}

// shortBranch is GitHub's "short-branch".
type shortBranch struct {
	Name      string    `json:"name"`
	Commit    commitRef `json:"commit"`
	Protected bool      `json:"protected"`
}

// branchProtection is the protection object of a branch without any.
type branchProtection struct {
	Enabled              bool `json:"enabled"`
	RequiredStatusChecks struct {
		EnforcementLevel string   `json:"enforcement_level"`
		Contexts         []string `json:"contexts"`
		Checks           []string `json:"checks"`
	} `json:"required_status_checks"`
}

// branchFull is GitHub's "branch-with-protection".
type branchFull struct {
	Name   string     `json:"name"`
	Commit commitJSON `json:"commit"`
	Links  struct {
		Self string `json:"self"`
		HTML string `json:"html"`
	} `json:"_links"`
	Protected     bool             `json:"protected"`
	Protection    branchProtection `json:"protection"`
	ProtectionURL string           `json:"protection_url"`
}

// handleBranchList is GET /repos/{owner}/{repo}/branches, by name, paged.
// No branch is protected here, so ?protected=true lists none.
func (h *Handler) handleBranchList(rq *request) error {
	v, err := rq.view()
	if err != nil {
		return err
	}
	api := h.apiBase + "/repos/" + v.Repo.FullName()
	if rq.URL.Query().Get("protected") == "true" {
		return rq.json(http.StatusOK, []shortBranch{})
	}
	p := rq.page()
	refs, more, err := v.ListRefs(rq.Context(), gitrepo.Branches, p)
	if err != nil {
		return err
	}
	rq.setLink(p, more, 0)
	out := make([]shortBranch, 0, len(refs))
	for _, r := range refs {
		out = append(out, shortBranch{Name: r.Name, Commit: commitRef{SHA: r.Commit, URL: api + "/commits/" + r.Commit}})
	}
	return rq.json(http.StatusOK, out)
}

// handleBranchGet is GET /repos/{owner}/{repo}/branches/{branch...}: the
// branch with its commit. A branch name may hold slashes, sent plain or
// as %2F (go-github escapes them).
func (h *Handler) handleBranchGet(rq *request) error {
	v, err := rq.view()
	if err != nil {
		return err
	}
	name := rq.PathValue("branch")
	if !gitrepo.ValidRefName(name) {
		return gatehouse.E("branch", gatehouse.NotFound, "Branch not found")
	}
	ref, err := v.Resolve(rq.Context(), "refs/heads/"+name)
	if err != nil {
		if gatehouse.IsKind(err, gatehouse.NotFound) {
			return gatehouse.E("branch", gatehouse.NotFound, "Branch not found")
		}
		return err
	}
	c, err := v.Commit(rq.Context(), ref.Commit)
	if err != nil {
		return err
	}
	api := h.apiBase + "/repos/" + v.Repo.FullName()
	out := branchFull{Name: name, Commit: h.commitJSON(v.Repo, c)}
	out.Links.Self = api + "/branches/" + escapePath(name)
	out.Links.HTML = h.base + "/" + v.Repo.FullName() + "/tree/" + escapePath(name)
	out.Protection.RequiredStatusChecks.EnforcementLevel = "off"
	out.Protection.RequiredStatusChecks.Contexts = []string{}
	out.Protection.RequiredStatusChecks.Checks = []string{}
	out.ProtectionURL = api + "/branches/" + escapePath(name) + "/protection"
	return rq.json(http.StatusOK, out)
}

// tag is GitHub's "tag" of GET /repos/{owner}/{repo}/tags.
type tag struct {
	Name       string    `json:"name"`
	ZipballURL string    `json:"zipball_url"`
	TarballURL string    `json:"tarball_url"`
	Commit     commitRef `json:"commit"`
	NodeID     string    `json:"node_id"`
}

// handleTagList is GET /repos/{owner}/{repo}/tags, newest first, paged.
func (h *Handler) handleTagList(rq *request) error {
	v, err := rq.view()
	if err != nil {
		return err
	}
	api := h.apiBase + "/repos/" + v.Repo.FullName()
	p := rq.page()
	refs, more, err := v.ListRefs(rq.Context(), gitrepo.Tags, p)
	if err != nil {
		return err
	}
	rq.setLink(p, more, 0)
	out := make([]tag, 0, len(refs))
	for _, r := range refs {
		if r.Commit == "" {
			continue // a tag of a tree or a blob: no commit to show
		}
		out = append(out, tag{
			Name:       r.Name,
			ZipballURL: api + "/zipball/refs/tags/" + escapePath(r.Name),
			TarballURL: api + "/tarball/refs/tags/" + escapePath(r.Name),
			Commit:     commitRef{SHA: r.Commit, URL: api + "/commits/" + r.Commit},
			NodeID:     refNodeID(v.Repo, r.Full),
		})
	}
	return rq.json(http.StatusOK, out)
}

// refNodeID is a ref's global node id, GitHub's legacy form.
func refNodeID(r *gatehouse.Repo, full string) string {
	return base64.StdEncoding.EncodeToString([]byte("03:Ref" + strconv.FormatInt(r.ID, 10) + ":" + full))
}

// gitPerson is the author or committer of a git commit.
type gitPerson struct {
	Name  string    `json:"name"`
	Email string    `json:"email"`
	Date  timestamp `json:"date"`
}

// verification says a commit is not signed: Gatehouse checks no
// signatures.
type verification struct {
	Verified   bool      `json:"verified"`
	Reason     string    `json:"reason"`
	Signature  *string   `json:"signature"`
	Payload    *string   `json:"payload"`
	VerifiedAt timestamp `json:"verified_at"`
}

// gitCommit is the "commit" object inside GitHub's commit.
type gitCommit struct {
	URL          string       `json:"url"`
	Author       gitPerson    `json:"author"`
	Committer    gitPerson    `json:"committer"`
	Message      string       `json:"message"`
	Tree         commitRef    `json:"tree"`
	CommentCount int          `json:"comment_count"`
	Verification verification `json:"verification"`
}

type parentRef struct {
	URL     string `json:"url"`
	SHA     string `json:"sha"`
	HTMLURL string `json:"html_url"`
}

// commitStats are a commit's line counts.
type commitStats struct {
	Total     int `json:"total"`
	Additions int `json:"additions"`
	Deletions int `json:"deletions"`
}

// commitFile is GitHub's "diff-entry".
type commitFile struct {
	SHA              string  `json:"sha"`
	Filename         string  `json:"filename"`
	Status           string  `json:"status"`
	Additions        int     `json:"additions"`
	Deletions        int     `json:"deletions"`
	Changes          int     `json:"changes"`
	BlobURL          string  `json:"blob_url"`
	RawURL           string  `json:"raw_url"`
	ContentsURL      string  `json:"contents_url"`
	Patch            *string `json:"patch,omitempty"`
	PreviousFilename string  `json:"previous_filename,omitempty"`
}

// commitJSON is GitHub's "commit": in lists without stats and files.
// author and committer (the GitHub accounts) are null: commits name
// e-mail addresses, and Gatehouse does not tie them to accounts.
type commitJSON struct {
	URL         string        `json:"url"`
	SHA         string        `json:"sha"`
	NodeID      string        `json:"node_id"`
	HTMLURL     string        `json:"html_url"`
	CommentsURL string        `json:"comments_url"`
	Commit      gitCommit     `json:"commit"`
	Author      *simpleUser   `json:"author"`
	Committer   *simpleUser   `json:"committer"`
	Parents     []parentRef   `json:"parents"`
	Stats       *commitStats  `json:"stats,omitempty"`
	Files       *[]commitFile `json:"files,omitempty"`
}

func (h *Handler) commitJSON(r *gatehouse.Repo, c *gitrepo.Commit) commitJSON {
	api := h.apiBase + "/repos/" + r.FullName()
	web := h.base + "/" + r.FullName()
	out := commitJSON{
		URL:         api + "/commits/" + c.ID,
		SHA:         c.ID,
		NodeID:      base64.StdEncoding.EncodeToString([]byte("06:Commit" + strconv.FormatInt(r.ID, 10) + ":" + c.ID)),
		HTMLURL:     web + "/commit/" + c.ID,
		CommentsURL: api + "/commits/" + c.ID + "/comments",
		Commit: gitCommit{
			URL:          api + "/git/commits/" + c.ID,
			Author:       gitPerson{Name: c.Author.Name, Email: c.Author.Email, Date: timestamp(c.Author.When)},
			Committer:    gitPerson{Name: c.Committer.Name, Email: c.Committer.Email, Date: timestamp(c.Committer.When)},
			Message:      c.Message,
			Tree:         commitRef{SHA: c.Tree, URL: api + "/git/trees/" + c.Tree},
			Verification: verification{Reason: "unsigned"},
		},
		Parents: []parentRef{},
	}
	for _, p := range c.Parents {
		out.Parents = append(out.Parents, parentRef{URL: api + "/commits/" + p, SHA: p, HTMLURL: web + "/commit/" + p})
	}
	return out
}

// fileStatus is GitHub's word for git's status letter.
func fileStatus(s string) string {
	switch s {
	case "A":
		return "added"
	case "D":
		return "removed"
	case "R":
		return "renamed"
	case "C":
		return "copied"
	case "T":
		return "changed"
	}
	return "modified"
}

// files turns the diff from base to commit into GitHub's files list; a
// removed file's URLs point into base, where it still is.
func (h *Handler) files(r *gatehouse.Repo, base, commit string, d *gitrepo.Diff) []commitFile {
	web := h.base + "/" + r.FullName()
	api := h.apiBase + "/repos/" + r.FullName()
	out := make([]commitFile, 0, len(d.Files))
	for _, f := range d.Files {
		cf := commitFile{SHA: f.NewID, Filename: f.Path, Status: fileStatus(f.Status),
			Additions: max(f.Additions, 0), Deletions: max(f.Deletions, 0), PreviousFilename: f.OldPath}
		cf.Changes = cf.Additions + cf.Deletions
		p := escapePath(f.Path)
		at := commit
		if f.Status == "D" && base != "" {
			cf.SHA, at = f.OldID, base
		}
		cf.BlobURL = web + "/blob/" + at + "/" + p
		cf.RawURL = web + "/raw/" + at + "/" + p
		cf.ContentsURL = api + "/contents/" + p + "?ref=" + url.QueryEscape(at)
		if f.Patch != "" {
			cf.Patch = ptr(f.Patch)
		}
		out = append(out, cf)
	}
	return out
}

// handleCommitList is GET /repos/{owner}/{repo}/commits?sha=&path=: the
// history of a branch, tag or commit (the default branch by default),
// newest first, paged with a Link header. An empty repository answers
// 409, as on GitHub.
func (h *Handler) handleCommitList(rq *request) error {
	v, err := rq.view()
	if err != nil {
		return err
	}
	q := rq.URL.Query()
	for _, unsupported := range []string{"author", "committer", "since", "until"} {
		if q.Get(unsupported) != "" {
			return validation("Commit", unsupported, "invalid", unsupported+" is not supported by this server")
		}
	}
	ref, err := v.Resolve(rq.Context(), q.Get("sha"))
	if err != nil {
		if q.Get("sha") == "" && gatehouse.IsKind(err, gatehouse.NotFound) {
			writeError(rq.w, http.StatusConflict, "Git Repository is empty.", nil)
			return nil
		}
		return err
	}
	p := rq.page()
	cs, more, err := v.Log(rq.Context(), ref.Commit, strings.Trim(q.Get("path"), "/"), p)
	if err != nil {
		return err
	}
	rq.setLink(p, more, 0)
	out := make([]commitJSON, 0, len(cs))
	for i := range cs {
		out = append(out, h.commitJSON(v.Repo, &cs[i]))
	}
	return rq.json(http.StatusOK, out)
}

// handleCommitGet is GET /repos/{owner}/{repo}/commits/{ref...}: one
// commit with its stats and at most 300 files, their patches bounded.
func (h *Handler) handleCommitGet(rq *request) error {
	v, err := rq.view()
	if err != nil {
		return err
	}
	name := rq.PathValue("ref")
	c, err := v.Commit(rq.Context(), name)
	if err != nil {
		if gatehouse.IsKind(err, gatehouse.NotFound) {
			return &invalid{message: "No commit found for SHA: " + name}
		}
		return err
	}
	d, err := v.Diff(rq.Context(), c, gitrepo.DiffLimits{MaxFiles: maxCommitFiles})
	if err != nil {
		return err
	}
	out := h.commitJSON(v.Repo, c)
	out.Stats = &commitStats{Total: d.Additions + d.Deletions, Additions: d.Additions, Deletions: d.Deletions}
	base := ""
	if len(c.Parents) > 0 {
		base = c.Parents[0]
	}
	files := h.files(v.Repo, base, c.ID, d)
	out.Files = &files
	return rq.json(http.StatusOK, out)
}

// gitRef is GitHub's "git-ref".
type gitRef struct {
	Ref    string `json:"ref"`
	NodeID string `json:"node_id"`
	URL    string `json:"url"`
	Object struct {
		SHA  string `json:"sha"`
		Type string `json:"type"`
		URL  string `json:"url"`
	} `json:"object"`
}

func (h *Handler) gitRef(r *gatehouse.Repo, ri gitrepo.RefInfo) gitRef {
	api := h.apiBase + "/repos/" + r.FullName()
	out := gitRef{Ref: ri.Full, NodeID: refNodeID(r, ri.Full), URL: api + "/git/" + escapePath(ri.Full)}
	out.Object.SHA, out.Object.Type = ri.Object, ri.ObjectType
	kind := ri.ObjectType + "s"
	if ri.ObjectType == "blob" || ri.ObjectType == "tree" || ri.ObjectType == "tag" || ri.ObjectType == "commit" {
		out.Object.URL = api + "/git/" + kind + "/" + ri.Object
	}
	return out
}

// maxMatchingRefs bounds a list of matching refs.
const maxMatchingRefs = 1000

// refPrefix turns the {ref...} of the git refs routes ("heads/main",
// "refs/heads/main" tolerated) into a full ref name or prefix.
func refPrefix(rq *request) (string, bool) {
	name := strings.TrimPrefix(rq.PathValue("ref"), "refs/")
	full := "refs/" + name
	if name == "" || strings.ContainsAny(full, "\x00\n") || strings.Contains(full, "..") {
		return "", false
	}
	return full, true
}

// handleGitRefList is GET /repos/{owner}/{repo}/git/refs: every ref, by
// name, paged.
func (h *Handler) handleGitRefList(rq *request) error {
	v, err := rq.view()
	if err != nil {
		return err
	}
	p := rq.page()
	refs, more, err := v.ListRefs(rq.Context(), gitrepo.AllRefs, p)
	if err != nil {
		return err
	}
	if len(refs) == 0 && p.Page <= 1 {
		writeError(rq.w, http.StatusConflict, "Git Repository is empty.", nil)
		return nil
	}
	rq.setLink(p, more, 0)
	out := make([]gitRef, 0, len(refs))
	for _, r := range refs {
		out = append(out, h.gitRef(v.Repo, r))
	}
	return rq.json(http.StatusOK, out)
}

// matching lists the refs under prefix, at most maxMatchingRefs.
func (h *Handler) matching(rq *request, v *service.RepoView, prefix string) ([]gitRef, error) {
	refs, err := v.MatchRefs(rq.Context(), prefix, maxMatchingRefs)
	if err != nil {
		return nil, err
	}
	out := make([]gitRef, 0, len(refs))
	for _, r := range refs {
		out = append(out, h.gitRef(v.Repo, r))
	}
	return out, nil
}

// handleGitRefGet is GET /repos/{owner}/{repo}/git/ref/{ref...}: one ref,
// named exactly ("heads/main", "tags/v1.0").
func (h *Handler) handleGitRefGet(rq *request) error {
	v, err := rq.view()
	if err != nil {
		return err
	}
	full, ok := refPrefix(rq)
	if !ok {
		return errNotFound
	}
	refs, err := h.matching(rq, v, full)
	if err != nil {
		return err
	}
	for _, r := range refs {
		if r.Ref == full {
			return rq.json(http.StatusOK, r)
		}
	}
	return errNotFound
}

// handleGitRefsPrefix is GET /repos/{owner}/{repo}/git/refs/{ref...}, the
// older form clients still call: the ref itself when the name is exact,
// otherwise the refs it is a prefix of, 404 when none.
func (h *Handler) handleGitRefsPrefix(rq *request) error {
	v, err := rq.view()
	if err != nil {
		return err
	}
	full, ok := refPrefix(rq)
	if !ok {
		return errNotFound
	}
	refs, err := h.matching(rq, v, full)
	if err != nil {
		return err
	}
	for _, r := range refs {
		if r.Ref == full {
			return rq.json(http.StatusOK, r)
		}
	}
	if len(refs) == 0 {
		return errNotFound
	}
	return rq.json(http.StatusOK, refs)
}

// handleMatchingRefs is GET /repos/{owner}/{repo}/git/matching-refs/{ref...}:
// the refs that start with the name, possibly none.
func (h *Handler) handleMatchingRefs(rq *request) error {
	v, err := rq.view()
	if err != nil {
		return err
	}
	full, ok := refPrefix(rq)
	if !ok {
		return rq.json(http.StatusOK, []gitRef{})
	}
	refs, err := h.matching(rq, v, full)
	if err != nil {
		return err
	}
	return rq.json(http.StatusOK, refs)
}

// comparison is GitHub's "commit-comparison".
type comparison struct {
	URL             string       `json:"url"`
	HTMLURL         string       `json:"html_url"`
	PermalinkURL    string       `json:"permalink_url"`
	DiffURL         string       `json:"diff_url"`
	PatchURL        string       `json:"patch_url"`
	BaseCommit      commitJSON   `json:"base_commit"`
	MergeBaseCommit commitJSON   `json:"merge_base_commit"`
	Status          string       `json:"status"`
	AheadBy         int          `json:"ahead_by"`
	BehindBy        int          `json:"behind_by"`
	TotalCommits    int          `json:"total_commits"`
	Commits         []commitJSON `json:"commits"`
	Files           []commitFile `json:"files"`
}

// handleCompare is GET /repos/{owner}/{repo}/compare/{basehead...}
// ("BASE...HEAD", or "BASE..HEAD"): the commits head has since the merge
// base (at most 250) and the diff from the merge base, as git diff
// BASE...HEAD. Comparing across forks (USER:BRANCH) is not supported.
func (h *Handler) handleCompare(rq *request) error {
	v, err := rq.view()
	if err != nil {
		return err
	}
	bh := rq.PathValue("basehead")
	base, head, ok := strings.Cut(bh, "...")
	if !ok {
		base, head, ok = strings.Cut(bh, "..")
	}
	if !ok || base == "" || head == "" || strings.Contains(base, ":") || strings.Contains(head, ":") {
		return errNotFound
	}
	c, b, hd, err := v.Compare(rq.Context(), base, head, gitrepo.DiffLimits{MaxFiles: maxCommitFiles})
	if err != nil {
		if errors.Is(err, gitrepo.ErrNoMergeBase) {
			return gatehouse.E("compare", gatehouse.NotFound, "No common ancestor between "+base+" and "+head+".")
		}
		return err
	}
	api := h.apiBase + "/repos/" + v.Repo.FullName()
	web := h.base + "/" + v.Repo.FullName()
	baseCommit, err := v.Commit(rq.Context(), b.Commit)
	if err != nil {
		return err
	}
	mb, err := v.Commit(rq.Context(), c.MergeBase)
	if err != nil {
		return err
	}
	out := comparison{
		URL:             api + "/compare/" + escapePath(base) + "..." + escapePath(head),
		HTMLURL:         web + "/compare/" + escapePath(base) + "..." + escapePath(head),
		PermalinkURL:    web + "/compare/" + b.Commit[:7] + "..." + hd.Commit[:7],
		DiffURL:         web + "/compare/" + escapePath(base) + "..." + escapePath(head) + ".diff",
		PatchURL:        web + "/compare/" + escapePath(base) + "..." + escapePath(head) + ".patch",
		BaseCommit:      h.commitJSON(v.Repo, baseCommit),
		MergeBaseCommit: h.commitJSON(v.Repo, mb),
		AheadBy:         c.Ahead,
		BehindBy:        c.Behind,
		TotalCommits:    c.Ahead,
		Commits:         []commitJSON{},
		Files:           h.files(v.Repo, c.MergeBase, hd.Commit, c.Diff),
	}
	switch {
	case c.Ahead == 0 && c.Behind == 0:
		out.Status = "identical"
	case c.Behind == 0:
		out.Status = "ahead"
	case c.Ahead == 0:
		out.Status = "behind"
	default:
		out.Status = "diverged"
	}
	for i := range c.Commits {
		out.Commits = append(out.Commits, h.commitJSON(v.Repo, &c.Commits[i]))
	}
	return rq.json(http.StatusOK, out)
}

// handleArchiveLink is GET /repos/{owner}/{repo}/{tarball|zipball}[/{ref...}]:
// like GitHub, a 302 to the download, which names the resolved commit so
// that the link keeps its content. The download is served by this API
// (handleArchive), so a client that follows the redirect with its token
// (same host) gets private repositories too.
func (h *Handler) handleArchiveLink(rq *request) error {
	v, err := rq.view()
	if err != nil {
		return err
	}
	format := "legacy.tar.gz"
	if strings.Contains(rq.route.pattern, "/zipball") {
		format = "legacy.zip"
	}
	ref, err := v.Resolve(rq.Context(), rq.PathValue("ref"))
	if err != nil {
		return err
	}
	rq.w.Header().Set("Location", h.apiBase+"/repos/"+v.Repo.FullName()+"/"+format+"/"+ref.Commit)
	rq.w.WriteHeader(http.StatusFound)
	return nil
}

// handleArchive is GET /repos/{owner}/{repo}/legacy.{tar.gz|zip}/{ref...},
// where handleArchiveLink sends clients (codeload's paths): the archive
// streamed from git archive, the files under OWNER-REPO-SHORTID/.
func (h *Handler) handleArchive(rq *request) error {
	v, err := rq.view()
	if err != nil {
		return err
	}
	format, ctype, ext := gitrepo.TarGz, "application/x-gzip", ".tar.gz"
	if strings.Contains(rq.route.pattern, "legacy.zip") {
		format, ctype, ext = gitrepo.Zip, "application/zip", ".zip"
	}
	ref, err := v.Resolve(rq.Context(), rq.PathValue("ref"))
	if err != nil {
		return err
	}
	ref = gitrepo.Ref{Name: ref.Commit, Kind: "commit", Commit: ref.Commit}
	name := v.Repo.Owner + "-" + v.Repo.Name + "-" + ref.Commit[:7] + ext
	hd := rq.w.Header()
	hd.Set("Content-Type", ctype)
	hd.Set("Content-Disposition", mime.FormatMediaType("attachment", map[string]string{"filename": name}))
	hd.Set("Cache-Control", "private, max-age=300")
	rq.w.WriteHeader(http.StatusOK)
	if err := v.Archive(rq.Context(), ref, format, rq.w); err != nil && rq.Context().Err() == nil {
		// The status is sent: the client sees a cut download.
		h.log.Warn("streaming an archive failed", "repo", v.Repo.FullName(), "err", err)
	}
	return nil
}
