package service

import (
	"context"
	"errors"
	"fmt"
	"io"
	"path"
	"strings"
	"time"

	"github.com/gatehouse/gatehouse"
	"github.com/gatehouse/gatehouse/internal/authz"
	"github.com/gatehouse/gatehouse/internal/gitrepo"
)

// RepoView is a repository the actor may read, for the reads of one
// request: the tree, files, history, branches and tags the web pages and
// the REST API show. Only OpenRepo makes one, after the one authorization
// decision, so a transport cannot read a repository the actor may not see;
// and a page that makes several reads asks that question once.
type RepoView struct {
	Repo *gatehouse.Repo
	// Perm is the actor's role on the repository.
	Perm gatehouse.Permission

	s *Service
}

// OpenRepo decides, with authz.Repo, whether the actor may read owner/name
// and returns the view to read it through. Errors: those of Repo —
// Unauthenticated (anonymous callers, public instance or private mode),
// NotFound (no such repository, or a private one the actor may not see),
// Internal.
func (s *Service) OpenRepo(ctx context.Context, actor *gatehouse.Actor, owner, name string) (*RepoView, error) {
	repo, perm, err := s.Repo(ctx, actor, owner, name, authz.Read)
	if err != nil {
		return nil, err
	}
	return &RepoView{Repo: repo, Perm: perm, s: s}, nil
}

// browseErr gives a git read's failure its kind: names refused or not
// found are NotFound (with GitHub's words where clients show them), a read
// that ran out of time is Unavailable, the rest Internal.
func browseErr(op string, err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, gitrepo.ErrInvalidName), errors.Is(err, gitrepo.ErrPathNotFound):
		return &gatehouse.Error{Op: op, Kind: gatehouse.NotFound, Msg: "Not Found", Err: err}
	case errors.Is(err, gitrepo.ErrRefNotFound):
		return &gatehouse.Error{Op: op, Kind: gatehouse.NotFound, Msg: "No commit found for the ref", Err: err}
	case errors.Is(err, gitrepo.ErrNoMergeBase):
		return &gatehouse.Error{Op: op, Kind: gatehouse.NotFound, Msg: "No common ancestor between the two commits", Err: err}
	case errors.Is(err, context.DeadlineExceeded):
		return &gatehouse.Error{Op: op, Kind: gatehouse.Unavailable, Msg: "Reading the repository took too long", Err: err}
	}
	return gatehouse.Wrap(op, gatehouse.Internal, err)
}

// Resolve reads name as git would (branch, tag, full ref or commit id);
// "" is the default branch. Errors: NotFound (a name refused or naming
// nothing: an empty repository's default branch included), Unavailable,
// Internal.
func (v *RepoView) Resolve(ctx context.Context, name string) (gitrepo.Ref, error) {
	if name == "" {
		name = v.Repo.DefaultBranch
	}
	ref, err := v.s.repos.Resolve(ctx, v.Repo.ID, name)
	return ref, browseErr("resolve ref", err)
}

// ResolvePath splits "REF/PATH" of a /tree/ or /blob/ URL, the longest
// matching branch or tag winning. Errors: as Resolve.
func (v *RepoView) ResolvePath(ctx context.Context, refPath string) (gitrepo.Ref, string, error) {
	ref, p, err := v.s.repos.ResolvePath(ctx, v.Repo.ID, refPath)
	return ref, p, browseErr("resolve path", err)
}

// Stat returns what is at p in commit (a resolved id). Errors: NotFound,
// Unavailable, Internal.
func (v *RepoView) Stat(ctx context.Context, commit, p string) (gitrepo.TreeEntry, error) {
	e, err := v.s.repos.Stat(ctx, v.Repo.ID, commit, p)
	return e, browseErr("read path", err)
}

// ListTree lists the directory e (from Stat), at most limit entries.
func (v *RepoView) ListTree(ctx context.Context, e gitrepo.TreeEntry, limit int) (*gitrepo.Listing, error) {
	if e.Type != "tree" {
		return nil, gatehouse.E("list tree", gatehouse.NotFound, "Not Found")
	}
	l, err := v.s.repos.ListTree(ctx, v.Repo.ID, e.ID, e.Path, limit)
	return l, browseErr("list tree", err)
}

// ReadBlob returns the first limit bytes of the file e and whether it has
// more.
func (v *RepoView) ReadBlob(ctx context.Context, e gitrepo.TreeEntry, limit int64) ([]byte, bool, error) {
	if e.Type != "blob" {
		return nil, false, gatehouse.E("read file", gatehouse.NotFound, "Not Found")
	}
	b, more, err := v.s.repos.ReadBlob(ctx, v.Repo.ID, e.ID, limit)
	return b, more, browseErr("read file", err)
}

// WriteBlob streams the whole file e to w.
func (v *RepoView) WriteBlob(ctx context.Context, e gitrepo.TreeEntry, w io.Writer) error {
	if e.Type != "blob" {
		return gatehouse.E("read file", gatehouse.NotFound, "Not Found")
	}
	return browseErr("read file", v.s.repos.WriteBlob(ctx, v.Repo.ID, e.ID, w))
}

// Log returns a page of the history of commit, newest first, restricted
// to p when it is not "", and whether a next page exists.
func (v *RepoView) Log(ctx context.Context, commit, p string, page gatehouse.Page) ([]gitrepo.Commit, bool, error) {
	n := page.Limit()
	cs, err := v.s.repos.Log(ctx, v.Repo.ID, commit, p, page.Offset(), n+1)
	if err != nil {
		return nil, false, browseErr("list commits", err)
	}
	if len(cs) > n {
		return cs[:n], true, nil
	}
	return cs, false, nil
}

// Commit returns the commit a name resolves to.
func (v *RepoView) Commit(ctx context.Context, name string) (*gitrepo.Commit, error) {
	ref, err := v.Resolve(ctx, name)
	if err != nil {
		return nil, err
	}
	c, err := v.s.repos.ReadCommit(ctx, v.Repo.ID, ref.Commit)
	return c, browseErr("read commit", err)
}

// Diff is what c changed against its first parent (everything, for a root
// commit), within lim.
func (v *RepoView) Diff(ctx context.Context, c *gitrepo.Commit, lim gitrepo.DiffLimits) (*gitrepo.Diff, error) {
	base := ""
	if len(c.Parents) > 0 {
		base = c.Parents[0]
	}
	d, err := v.s.repos.Diff(ctx, v.Repo.ID, base, c.ID, lim)
	return d, browseErr("diff commit", err)
}

// MaxCompareCommits is the most commits a comparison lists, as on GitHub.
const MaxCompareCommits = 250

// Compare resolves base and head and compares them as base...head.
func (v *RepoView) Compare(ctx context.Context, base, head string, lim gitrepo.DiffLimits) (*gitrepo.Comparison, gitrepo.Ref, gitrepo.Ref, error) {
	b, err := v.Resolve(ctx, base)
	if err != nil {
		return nil, b, b, err
	}
	h, err := v.Resolve(ctx, head)
	if err != nil {
		return nil, b, h, err
	}
	c, err := v.s.repos.Compare(ctx, v.Repo.ID, b.Commit, h.Commit, MaxCompareCommits, lim)
	return c, b, h, browseErr("compare", err)
}

// ListRefs returns a page of the branches, tags or all refs, and whether a
// next page exists.
func (v *RepoView) ListRefs(ctx context.Context, kind gitrepo.RefKind, page gatehouse.Page) ([]gitrepo.RefInfo, bool, error) {
	n := page.Limit()
	refs, err := v.s.repos.ListRefs(ctx, v.Repo.ID, kind, page.Offset(), n+1)
	if err != nil {
		return nil, false, browseErr("list refs", err)
	}
	if len(refs) > n {
		return refs[:n], true, nil
	}
	return refs, false, nil
}

// MatchRefs lists at most limit refs whose full name starts with prefix.
func (v *RepoView) MatchRefs(ctx context.Context, prefix string, limit int) ([]gitrepo.RefInfo, error) {
	refs, err := v.s.repos.MatchRefs(ctx, v.Repo.ID, prefix, limit)
	return refs, browseErr("list refs", err)
}

// Archive streams ref's tree as format to w, under the folder GitHub would
// name: REPO-BRANCH/ from the web UI's download of a branch or tag,
// OWNER-REPO-SHORTID/ for a commit, as the API's archives are.
func (v *RepoView) Archive(ctx context.Context, ref gitrepo.Ref, format gitrepo.ArchiveFormat, w io.Writer) error {
	prefix := v.Repo.Name + "-" + strings.ReplaceAll(ref.Name, "/", "-")
	if ref.Kind == "commit" {
		prefix = v.Repo.Owner + "-" + v.Repo.Name + "-" + ref.Commit[:min(7, len(ref.Commit))]
	}
	return browseErr("archive", v.s.repos.Archive(ctx, v.Repo.ID, ref.Commit, format, prefix, w))
}

// LastCommits finds the newest commit that changed each entry of a
// directory listing, as far as a bounded walk of the history reaches
// (entries beyond it are missing from the map).
func (v *RepoView) LastCommits(ctx context.Context, commit, dir string, entries []gitrepo.TreeEntry) map[string]gitrepo.Commit {
	names := make([]string, len(entries))
	for i, e := range entries {
		names[i] = e.Name
	}
	found, err := v.s.repos.LastCommits(ctx, v.Repo.ID, commit, dir, names, 400, 400*time.Millisecond)
	if err != nil && ctx.Err() == nil {
		v.s.log.Warn("finding last commits failed", "repo", v.Repo.FullName(), "err", err)
	}
	return found
}

// ReadmeName picks the README among a directory's entries the way GitHub
// does: README.md (or .markdown) first, then plain README or README.txt,
// then any README.*, case-insensitively; "" when there is none.
func ReadmeName(entries []gitrepo.TreeEntry) string {
	best, rank := "", 0
	for _, e := range entries {
		if e.Type != "blob" {
			continue
		}
		ext := path.Ext(e.Name)
		if !strings.EqualFold(strings.TrimSuffix(e.Name, ext), "readme") {
			continue
		}
		r := 1
		switch strings.ToLower(ext) {
		case ".md", ".markdown":
			r = 3
		case "", ".txt":
			r = 2
		}
		if r > rank {
			best, rank = e.Name, r
		}
	}
	return best
}

// Readme finds the README of the directory dir at commit and returns its
// entry and at most limit bytes of it (more reports a longer file).
// Errors: NotFound (no such directory, or no README in it), Unavailable,
// Internal.
func (v *RepoView) Readme(ctx context.Context, commit, dir string, limit int64) (gitrepo.TreeEntry, []byte, bool, error) {
	e, err := v.Stat(ctx, commit, dir)
	if err != nil {
		return e, nil, false, err
	}
	l, err := v.ListTree(ctx, e, 5000)
	if err != nil {
		return e, nil, false, err
	}
	name := ReadmeName(l.Entries)
	if name == "" {
		return e, nil, false, gatehouse.E("readme", gatehouse.NotFound, "Not Found")
	}
	for _, f := range l.Entries {
		if f.Name == name {
			b, more, err := v.ReadBlob(ctx, f, limit)
			return f, b, more, err
		}
	}
	return e, nil, false, fmt.Errorf("readme: %s vanished from its listing", name)
}
