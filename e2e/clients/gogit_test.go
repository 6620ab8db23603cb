package clients_test

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/config"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/object"
	"github.com/go-git/go-git/v5/plumbing/transport"
	githttp "github.com/go-git/go-git/v5/plumbing/transport/http"
	"github.com/go-git/go-git/v5/storage/memory"
)

// opTimeout bounds each go-git operation.
const opTimeout = 30 * time.Second

func (st *site) auth() *githttp.BasicAuth {
	return &githttp.BasicAuth{Username: "alice", Password: st.tok}
}

// goGitList lists the refs of url as go-git sees them, HEAD resolved, in
// the shape of remoteView.
func goGitList(url string, auth transport.AuthMethod) (remoteView, error) {
	rem := git.NewRemote(memory.NewStorage(), &config.RemoteConfig{Name: "origin", URLs: []string{url}})
	ctx, cancel := context.WithTimeout(context.Background(), opTimeout)
	defer cancel()
	refs, err := rem.ListContext(ctx, &git.ListOptions{Auth: auth, PeelingOption: git.AppendPeeled})
	if err != nil {
		return remoteView{}, err
	}
	v := remoteView{refs: map[string]string{}}
	for _, r := range refs {
		if r.Type() == plumbing.SymbolicReference {
			if r.Name() == plumbing.HEAD {
				v.head = r.Target().String()
			}
			continue
		}
		v.refs[r.Name().String()] = r.Hash().String()
	}
	if v.head != "" {
		v.refs["HEAD"] = v.refs[v.head]
	}
	return v, nil
}

// TestGoGit lists, clones and fetches alice's private repository with
// go-git: the list is real git's ls-remote; of three clones in a row,
// bare and then non-bare, the first is generated and the others are
// served from the pack cache (the third from the kept answer, when it was
// kept), and each has real git's refs and the whole history; after a push
// with real git, a fetch into the first clones brings the new commit, and
// a second fetch finds nothing new.
func TestGoGit(t *testing.T) {
	t.Parallel()
	st := start(t)
	work := st.history("app")
	url := st.url("app")
	want := st.lsRemote("app")
	allCommits := st.git(work, "rev-list", "--count", "--all")
	headCommits := st.git(work, "rev-list", "--count", "HEAD")

	// (a) ls-remote.
	got, err := goGitList(url, st.auth())
	if err != nil {
		t.Fatalf("go-git list: %v", err)
	}
	if got.head != want.head {
		t.Errorf("go-git sees HEAD → %q, real git %q", got.head, want.head)
	}
	if d := sameMap(got.refs, want.refs); d != "" {
		t.Errorf("go-git's list differs from git ls-remote:\n%s", d)
	}

	// (b) Clones, three of each kind in a row.
	first := map[bool]string{} // bare → the first clone's directory
	for _, bare := range []bool{true, false} {
		kind := map[bool]string{true: "bare", false: "non-bare"}[bare]
		// Each kind starts from an empty cache, so that its first clone
		// is generated whatever the other kind's request was.
		st.clearCache()
		for i := 0; i < 3; i++ {
			before := st.counters()
			dir := filepath.Join(t.TempDir(), kind+strconv.Itoa(i))
			var progress bytes.Buffer
			ctx, cancel := context.WithTimeout(context.Background(), opTimeout)
			r, err := git.PlainCloneContext(ctx, dir, bare, &git.CloneOptions{URL: url, Auth: st.auth(), Progress: &progress})
			cancel()
			if err != nil {
				t.Fatalf("go-git %s clone %d: %v", kind, i, err)
			}
			delta := st.counters().since(before)
			generated := strings.Contains(progress.String(), "Enumerating objects")
			switch i {
			case 0:
				if delta.misses != 1 || delta.hits != 0 || !generated {
					t.Errorf("%s clone %d: %v, progress %q; want a generated pack (1 miss)", kind, i, delta, progress.String())
				}
				first[bare] = dir
			default:
				if delta.hits != 1 || delta.misses != 0 || progress.Len() != 0 {
					t.Errorf("%s clone %d: %v, progress %q; want a cache hit without progress", kind, i, delta, progress.String())
				}
			}
			if i == 1 {
				// The second clone's answer, made from a cache hit, is
				// kept, and the third is that answer replayed. go-git
				// hangs up once it has read the pack, often before
				// upload-pack has reported success: the server keeps
				// the answer because it is whole (a flush at its end,
				// the pack's checksum right).
				if !st.waitAnswers(1) {
					t.Errorf("%s clone %d: its answer was not kept", kind, i)
				}
			}
			st.checkGoGitClone(r, dir, bare, want, allCommits, headCommits)
		}
	}

	// (c) A push with real git, then a fetch with go-git into the first
	// clone of each kind: not cacheable (it has haves), and it brings
	// the new commit.
	head := st.commitAndPush(work, "app")
	for _, bare := range []bool{true, false} {
		r, err := git.PlainOpen(first[bare])
		if err != nil {
			t.Fatal(err)
		}
		before := st.counters()
		ctx, cancel := context.WithTimeout(context.Background(), opTimeout)
		err = r.FetchContext(ctx, &git.FetchOptions{Auth: st.auth()})
		cancel()
		if err != nil {
			t.Fatalf("go-git fetch (bare %v) after a push: %v", bare, err)
		}
		if d := st.counters().since(before); d.uncached != 1 || d.hits != 0 || d.misses != 0 {
			t.Errorf("go-git fetch (bare %v): %v, want 1 uncached pack", bare, d)
		}
		ref, err := r.Reference("refs/remotes/origin/main", true)
		if err != nil || ref.Hash().String() != head {
			t.Fatalf("after the fetch (bare %v), origin/main is %v (%v), want %s", bare, ref, err, head)
		}
		c, err := r.CommitObject(plumbing.NewHash(head))
		if err != nil || c.Message != "news\n" {
			t.Fatalf("the fetched commit (bare %v): %v, %v", bare, c, err)
		}
		if n, want := countCommits(t, r, &git.LogOptions{From: c.Hash}), st.git(work, "rev-list", "--count", head); n != want {
			t.Errorf("go-git walks %s commits from the fetched one (bare %v), git rev-list %s", n, bare, want)
		}
		// Nothing new: an up-to-date fetch is only the advertisement.
		ctx, cancel = context.WithTimeout(context.Background(), opTimeout)
		err = r.FetchContext(ctx, &git.FetchOptions{Auth: st.auth()})
		cancel()
		if !errors.Is(err, git.NoErrAlreadyUpToDate) {
			t.Errorf("the second fetch (bare %v): %v, want %v", bare, err, git.NoErrAlreadyUpToDate)
		}
		st.g.MustRun(first[bare], "fsck", "--strict", "--no-dangling")
	}
	// Real git and go-git agree on the new state too.
	now := st.lsRemote("app")
	if now.refs["refs/heads/main"] != head {
		t.Errorf("ls-remote after the push: main %s, want %s", now.refs["refs/heads/main"], head)
	}
	got, err = goGitList(url, st.auth())
	if err != nil {
		t.Fatalf("go-git list after the push: %v", err)
	}
	if d := sameMap(got.refs, now.refs); d != "" {
		t.Errorf("after the push go-git's list differs from git ls-remote:\n%s", d)
	}
}

// checkGoGitClone compares a go-git clone with real git's view: HEAD, the
// remote-tracking branches, the tags, the whole history (go-git's walk
// against git rev-list), and real git's fsck of what go-git wrote.
func (st *site) checkGoGitClone(r *git.Repository, dir string, bare bool, want remoteView, allCommits, headCommits string) {
	t := st.t
	t.Helper()
	head, err := r.Head()
	if err != nil {
		t.Fatalf("%s: HEAD: %v", dir, err)
	}
	if head.Name().String() != want.head || head.Hash().String() != want.refs["HEAD"] {
		t.Errorf("%s: HEAD is %s at %s, real git sees %s at %s", dir, head.Name(), head.Hash(), want.head, want.refs["HEAD"])
	}
	branches, tags := map[string]string{}, map[string]string{}
	iter, err := r.References()
	if err != nil {
		t.Fatal(err)
	}
	iter.ForEach(func(ref *plumbing.Reference) error {
		name := ref.Name().String()
		if ref.Type() != plumbing.HashReference {
			return nil
		}
		if b, ok := strings.CutPrefix(name, "refs/remotes/origin/"); ok {
			branches[b] = ref.Hash().String()
		} else if strings.HasPrefix(name, "refs/tags/") {
			tags[name] = ref.Hash().String()
		}
		return nil
	})
	if d := sameMap(branches, want.branches()); d != "" {
		t.Errorf("%s: remote-tracking branches differ from the server's branches:\n%s", dir, d)
	}
	if d := sameMap(tags, want.tags()); d != "" {
		t.Errorf("%s: tags differ from the server's:\n%s", dir, d)
	}
	if n := countCommits(t, r, &git.LogOptions{All: true}); n != allCommits {
		t.Errorf("%s: go-git walks %s commits from all refs, git rev-list --all %s", dir, n, allCommits)
	}
	if n := countCommits(t, r, &git.LogOptions{From: head.Hash()}); n != headCommits {
		t.Errorf("%s: go-git walks %s commits from HEAD, git rev-list HEAD %s", dir, n, headCommits)
	}
	tag, err := r.Tag("v1")
	if err != nil {
		t.Errorf("%s: tag v1: %v", dir, err)
	} else if o, err := r.TagObject(tag.Hash()); err != nil || o.Target.String() != want.refs["refs/tags/v1^{}"] {
		t.Errorf("%s: annotated tag v1: %v, %v; real git peels it to %s", dir, o, err, want.refs["refs/tags/v1^{}"])
	}
	if !bare {
		b, err := os.ReadFile(filepath.Join(dir, "src", "dev.txt"))
		if err != nil || string(b) != "on dev\n" {
			t.Errorf("%s: checked-out src/dev.txt: %q, %v", dir, b, err)
		}
	}
	// What go-git wrote is a repository real git accepts whole.
	st.g.MustRun(dir, "fsck", "--strict", "--no-dangling")
}

// countCommits walks the history with go-git.
func countCommits(t *testing.T, r *git.Repository, opts *git.LogOptions) string {
	t.Helper()
	it, err := r.Log(opts)
	if err != nil {
		t.Fatalf("go-git log: %v", err)
	}
	n := 0
	if err := it.ForEach(func(*object.Commit) error { n++; return nil }); err != nil {
		t.Fatalf("go-git log: %v", err)
	}
	return strconv.Itoa(n)
}

// TestGoGitErrors checks the errors go-git makes of the server's
// refusals, for a list and for a clone: a wrong token, no credentials and
// an account password are authentication errors carrying the server's
// words; a repository that does not exist and another user's private one
// are the same "repository not found", so that the answer does not tell
// whether the private repository exists.
func TestGoGitErrors(t *testing.T) {
	t.Parallel()
	st := start(t)
	st.create("alice/app")
	st.s.CreateUser("bob", false)
	st.create("bob/secret")
	bobs := st.s.RepoURL("bob/secret")
	wrong := &githttp.BasicAuth{Username: "alice", Password: "ghp_" + strings.Repeat("0", 36)}
	for _, c := range []struct {
		name   string
		url    string
		auth   transport.AuthMethod
		is     error
		server string // what the server said, which go-git must pass on
	}{
		{"wrong token", st.url("app"), wrong, transport.ErrAuthenticationRequired, "Invalid username or token"},
		{"no credentials", st.url("app"), nil, transport.ErrAuthenticationRequired, "Authentication required"},
		{"account password", st.url("app"), &githttp.BasicAuth{Username: "alice", Password: st.pw}, transport.ErrAuthenticationRequired, "Password authentication is not supported"},
		{"wrong token, missing repository", st.url("nothing"), wrong, transport.ErrAuthenticationRequired, "Invalid username or token"},
		{"missing repository", st.url("nothing"), st.auth(), transport.ErrRepositoryNotFound, "Repository not found."},
		{"another user's private repository", bobs, st.auth(), transport.ErrRepositoryNotFound, "Repository not found."},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := goGitList(c.url, c.auth)
			if !errors.Is(err, c.is) || !strings.Contains(err.Error(), c.server) {
				t.Errorf("list: %v; want %v with %q", err, c.is, c.server)
			}
			t.Logf("list: %v", err)
			dir := filepath.Join(t.TempDir(), "c")
			ctx, cancel := context.WithTimeout(context.Background(), opTimeout)
			defer cancel()
			_, err = git.PlainCloneContext(ctx, dir, true, &git.CloneOptions{URL: c.url, Auth: c.auth})
			if !errors.Is(err, c.is) || !strings.Contains(err.Error(), c.server) {
				t.Errorf("clone: %v; want %v with %q", err, c.is, c.server)
			}
		})
	}
}
