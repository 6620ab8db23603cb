package clients_test

import (
	"bytes"
	"context"
	"encoding/json"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/testenv"
)

// scriptTimeout bounds one run of testdata/libgit2.py.
const scriptTimeout = 60 * time.Second

// pygit2Python returns a python3 that imports pygit2: the one on PATH or
// the system's (Debian's python3-pygit2 installs for /usr/bin/python3,
// which a python3 earlier on PATH may not be).
func pygit2Python(t *testing.T) string {
	t.Helper()
	var tried []string
	for _, c := range []string{"python3", "/usr/bin/python3"} {
		p, err := exec.LookPath(c)
		if err != nil {
			continue
		}
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		out, err := exec.CommandContext(ctx, p, "-c", "import pygit2").CombinedOutput()
		cancel()
		if err == nil {
			return p
		}
		tried = append(tried, p+": "+strings.TrimSpace(lastLine(string(out))))
	}
	testenv.Missing(t, "libgit2's Python bindings (pygit2) cannot be imported ("+strings.Join(tried, "; ")+"); install them with: apt-get install -y python3-pygit2")
	return ""
}

func lastLine(s string) string {
	s = strings.TrimSpace(s)
	return s[strings.LastIndex(s, "\n")+1:]
}

// libgit2Result is what testdata/libgit2.py prints.
type libgit2Result struct {
	Error           string            `json:"error"`
	Bare            bool              `json:"bare"`
	Head            string            `json:"head"`
	HeadRef         string            `json:"head_ref"`
	Refs            map[string]string `json:"refs"`
	Symrefs         map[string]string `json:"symrefs"`
	Commits         int               `json:"commits"`
	HeadCommits     int               `json:"head_commits"`
	Progress        string            `json:"progress"`
	ReceivedObjects int               `json:"received_objects"`
	Libgit2         string            `json:"libgit2"`
}

// libgit2 runs testdata/libgit2.py with python, on alice/name with token
// given in the environment, and returns what it printed. A libgit2 error
// is a result with Error set; anything else that fails fails the test.
func (st *site) libgit2(python, name, token string, args ...string) libgit2Result {
	st.t.Helper()
	script, err := filepath.Abs(filepath.Join("testdata", "libgit2.py"))
	if err != nil {
		st.t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), scriptTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, python, append([]string{script}, args...)...)
	home := st.t.TempDir() // no user or system configuration for libgit2
	cmd.Env = append(append([]string{}, st.g.Env...),
		"HOME="+home, "XDG_CONFIG_HOME="+filepath.Join(home, ".config"),
		"PYTHONDONTWRITEBYTECODE=1",
		"E2E_URL="+st.url(name), "E2E_USER=alice", "E2E_TOKEN="+token)
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	began := time.Now()
	runErr := cmd.Run()
	var r libgit2Result
	if err := json.Unmarshal(out.Bytes(), &r); err != nil || runErr != nil && r.Error == "" {
		st.t.Fatalf("libgit2.py %s (%v, after %v): %v\nstdout: %s\nstderr: %s", strings.Join(args, " "), runErr, time.Since(began).Round(time.Millisecond), err, out.String(), errOut.String())
	}
	return r
}

// TestLibgit2 lists, clones and fetches alice's private repository with
// libgit2 (pygit2), the token offered in answer to the server's 401: the
// list is real git's ls-remote; of three bare clones the first is
// generated and the others served from the pack cache, each with real
// git's refs and the whole history; after a push with real git a fetch
// brings the new commit; and a wrong token is refused.
func TestLibgit2(t *testing.T) {
	t.Parallel()
	python := pygit2Python(t)
	st := start(t)
	work := st.history("app")
	want := st.lsRemote("app")
	allCommits := st.git(work, "rev-list", "--count", "--all")
	headCommits := st.git(work, "rev-list", "--count", "HEAD")

	// ls-remote.
	ls := st.libgit2(python, "app", st.tok, "ls")
	if ls.Error != "" {
		t.Fatalf("libgit2 ls-remote: %s", ls.Error)
	}
	t.Logf("libgit2 %s", ls.Libgit2)
	if d := sameMap(ls.Refs, want.refs); d != "" {
		t.Errorf("libgit2's ls-remote differs from git's:\n%s", d)
	}
	if ls.Symrefs["HEAD"] != want.head {
		t.Errorf("libgit2 sees HEAD → %q, real git %q", ls.Symrefs["HEAD"], want.head)
	}

	// Three bare clones in a row.
	var first string
	for i := 0; i < 3; i++ {
		before := st.counters()
		dir := filepath.Join(t.TempDir(), "c"+strconv.Itoa(i)+".git")
		r := st.libgit2(python, "app", st.tok, "clone", dir)
		if r.Error != "" {
			t.Fatalf("libgit2 clone %d: %s", i, r.Error)
		}
		delta := st.counters().since(before)
		generated := strings.Contains(r.Progress, "Enumerating objects")
		if i == 0 {
			first = dir
			if delta.misses != 1 || delta.hits != 0 || !generated {
				t.Errorf("libgit2 clone %d: %v, progress %q; want a generated pack (1 miss)", i, delta, r.Progress)
			}
		} else if delta.hits != 1 || delta.misses != 0 || r.Progress != "" {
			t.Errorf("libgit2 clone %d: %v, progress %q; want a cache hit without progress", i, delta, r.Progress)
		}
		if i == 1 && !st.waitAnswers(1) {
			t.Errorf("libgit2 clone %d, a cache hit: its answer was not kept", i)
		}
		st.checkLibgit2Clone(r, dir, want, allCommits, headCommits)
	}

	// A push with real git, then a fetch with libgit2 into the first
	// clone: not cacheable (it has haves), and it brings the commit.
	head := st.commitAndPush(work, "app")
	before := st.counters()
	f := st.libgit2(python, "app", st.tok, "fetch", first)
	if f.Error != "" {
		t.Fatalf("libgit2 fetch after a push: %s", f.Error)
	}
	if d := st.counters().since(before); d.uncached != 1 || d.hits != 0 || d.misses != 0 {
		t.Errorf("libgit2 fetch: %v, want 1 uncached pack", d)
	}
	if got := f.Refs["refs/remotes/origin/main"]; got != head {
		t.Errorf("after the fetch origin/main is %q, want %s", got, head)
	}
	if f.ReceivedObjects == 0 {
		t.Error("the fetch received no objects")
	}
	if n := st.git(work, "rev-list", "--count", "--all"); strconv.Itoa(f.Commits) != n {
		t.Errorf("after the fetch libgit2 walks %d commits from all refs, git rev-list --all %s", f.Commits, n)
	}
	if got := st.git(first, "cat-file", "-t", head); got != "commit" {
		t.Errorf("real git finds the fetched commit as %q", got)
	}
	st.g.MustRun(first, "fsck", "--strict", "--no-dangling")
	// Nothing new: only the advertisement, no pack.
	before = st.counters()
	if f := st.libgit2(python, "app", st.tok, "fetch", first); f.Error != "" || f.ReceivedObjects != 0 {
		t.Errorf("the second fetch: %q, %d objects", f.Error, f.ReceivedObjects)
	}
	if d := st.counters().since(before); d != (counters{}) {
		t.Errorf("the second fetch made a pack: %v", d)
	}

	// A wrong token is refused, within the time bound. libgit2 offers the
	// same credentials again on each 401 until it gives up; that many
	// failures from this address must not lock the right token out.
	refused := strings.Count(st.s.Log(), `"status":401`)
	bad := st.libgit2(python, "app", "ghp_"+strings.Repeat("0", 36), "ls")
	refused = strings.Count(st.s.Log(), `"status":401`) - refused
	t.Logf("libgit2 with a wrong token, after %d refusals: %s", refused, bad.Error)
	if bad.Error == "" || len(bad.Refs) != 0 {
		t.Errorf("libgit2 with a wrong token: %+v", bad)
	}
	if ls := st.libgit2(python, "app", st.tok, "ls"); ls.Error != "" || ls.Refs["refs/heads/main"] != head {
		t.Errorf("libgit2 with the right token after the wrong one: %q, main at %q", ls.Error, ls.Refs["refs/heads/main"])
	}
}

// checkLibgit2Clone compares a libgit2 bare clone with real git's view:
// HEAD, the branches, the tags, the whole history (libgit2's walk against
// git rev-list), and real git's fsck of what libgit2 wrote.
func (st *site) checkLibgit2Clone(r libgit2Result, dir string, want remoteView, allCommits, headCommits string) {
	t := st.t
	t.Helper()
	if !r.Bare {
		t.Errorf("%s: not bare", dir)
	}
	if r.Head != want.refs["HEAD"] || r.HeadRef != want.head {
		t.Errorf("%s: HEAD is %s at %s, real git sees %s at %s", dir, r.HeadRef, r.Head, want.head, want.refs["HEAD"])
	}
	branches, tags := map[string]string{}, map[string]string{}
	for name, oid := range r.Refs {
		if name == "refs/remotes/origin/HEAD" {
			// As real git's clone: the server's HEAD, as a symbolic ref.
			if want := "ref: refs/remotes/origin/" + strings.TrimPrefix(want.head, "refs/heads/"); oid != want {
				t.Errorf("%s: refs/remotes/origin/HEAD is %q, want %q", dir, oid, want)
			}
			continue
		}
		if b, ok := strings.CutPrefix(name, "refs/remotes/origin/"); ok {
			branches[b] = oid
		} else if strings.HasPrefix(name, "refs/tags/") {
			tags[name] = oid
		}
	}
	if d := sameMap(branches, want.branches()); d != "" {
		t.Errorf("%s: remote-tracking branches differ from the server's branches:\n%s", dir, d)
	}
	if d := sameMap(tags, want.tags()); d != "" {
		t.Errorf("%s: tags differ from the server's:\n%s", dir, d)
	}
	if strconv.Itoa(r.Commits) != allCommits || strconv.Itoa(r.HeadCommits) != headCommits {
		t.Errorf("%s: libgit2 walks %d commits from all refs and %d from HEAD; git rev-list %s and %s", dir, r.Commits, r.HeadCommits, allCommits, headCommits)
	}
	st.g.MustRun(dir, "fsck", "--strict", "--no-dangling")
}
