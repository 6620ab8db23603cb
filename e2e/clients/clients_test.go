// Package clients_test drives the built gatehouse binary with Git
// implementations other than the git command line, over smart HTTP with a
// personal access token, through the server's fast paths: the ref
// advertisement answered without a git process, the pack cache, and kept
// answers that replay a whole clone answer (docs/pack-cache.md).
//
//   - go-git (pure Go): ls-remote, bare and non-bare clones three times in
//     a row (generated, then from the cache, then a kept answer), a fetch
//     after a push made with real git, and the errors go-git maps from the
//     server's refusals (a wrong token, a missing repository, another
//     user's private repository).
//   - libgit2, through pygit2 (Debian's python3-pygit2): ls-remote, bare
//     clones through the cache, a fetch after a push, and a wrong token.
//
// Every answer is compared with what real git sees of the same server, and
// the server's /metrics must show the later clones as pack cache hits.
package clients_test

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/testenv"
)

// Metric names read from /metrics.
const (
	hits     = "gatehouse_pack_cache_hits_total"
	misses   = "gatehouse_pack_cache_misses_total"
	uncached = "gatehouse_pack_cache_uncached_total"
)

// site is a server with alice, her token, and real git that offers the
// token through a credential helper (never in a URL or on a command line).
type site struct {
	t   *testing.T
	s   *testenv.Server
	g   *testenv.Git
	tok string
	pw  string         // alice's account password
	ids map[string]int // owner/name → the repository's number, in the order created
}

func start(t *testing.T) *site {
	t.Helper()
	// Every client of these tests comes from 127.0.0.1.
	s := testenv.Start(t, testenv.Options{Args: []string{"--git-max-processes-per-client", "64"}})
	st := &site{t: t, s: s, g: testenv.NewGit(t, ""), ids: map[string]int{}}
	st.pw = s.CreateUser("alice", false)
	st.tok = s.Token("alice", "clients", "repo", "")
	st.g.UseCredentialHelper()
	return st
}

// url is the clone URL of alice/name, without credentials.
func (st *site) url(name string) string { return st.s.RepoURL("alice/" + name) }

// git runs real git as alice and fails the test on error.
func (st *site) git(dir string, args ...string) string {
	st.t.Helper()
	return strings.TrimSpace(st.g.MustRunAs(dir, "alice", st.tok, args...))
}

// create makes the private repository full (owner/name).
func (st *site) create(full string) {
	st.t.Helper()
	st.s.Admin("repo", "create", full, "--private")
	st.ids[full] = len(st.ids) + 1
}

// history creates alice/name and pushes, with real git, a history with a
// merge, two branches, an annotated and a lightweight tag; it waits for
// the server's repack after the push (which would change the pack
// cache's keys under the test) and returns the work tree.
func (st *site) history(name string) string {
	st.t.Helper()
	st.create("alice/" + name)
	work := st.t.TempDir()
	g := st.g
	commit := func(file, text, msg string) {
		st.t.Helper()
		p := filepath.Join(work, file)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			st.t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
			st.t.Fatal(err)
		}
		g.MustRun(work, "add", ".")
		g.MustRun(work, "commit", "-q", "-m", msg)
	}
	g.MustRun(work, "init", "-q", "-b", "main")
	commit("README", "# "+name+"\n", "first")
	commit("src/a.txt", strings.Repeat("a line of a\n", 200), "second")
	g.MustRun(work, "checkout", "-q", "-b", "dev")
	commit("src/dev.txt", "on dev\n", "dev work")
	g.MustRun(work, "checkout", "-q", "main")
	commit("src/b.txt", strings.Repeat("a line of b\n", 200), "third")
	g.MustRun(work, "merge", "-q", "--no-ff", "-m", "merge dev", "dev")
	g.MustRun(work, "tag", "-a", "-m", "release 1", "v1")
	g.MustRun(work, "tag", "light", "HEAD~1")
	g.MustRun(work, "checkout", "-q", "dev")
	commit("src/dev.txt", "on dev\nand more\n", "more dev work")
	g.MustRun(work, "checkout", "-q", "main")
	st.git(work, "push", "-q", st.url(name), "refs/heads/*:refs/heads/*", "refs/tags/*:refs/tags/*")
	st.waitRepacked("alice/" + name)
	return work
}

// commitAndPush adds a commit to main in work, pushes it with real git
// and returns it.
func (st *site) commitAndPush(work, name string) string {
	st.t.Helper()
	if err := os.WriteFile(filepath.Join(work, "NEWS"), []byte(fmt.Sprintln("news at", time.Now().UnixNano())), 0o644); err != nil {
		st.t.Fatal(err)
	}
	st.g.MustRun(work, "add", ".")
	st.g.MustRun(work, "commit", "-q", "-m", "news")
	st.git(work, "push", "-q", st.url(name), "main")
	return st.git(work, "rev-parse", "HEAD")
}

// waitRepacked waits until the server has repacked full after its push:
// one pack with a bitmap and a commit-graph, no loose objects.
func (st *site) waitRepacked(full string) {
	st.t.Helper()
	dir := filepath.Join(st.s.Data, "repositories", fmt.Sprintf("%d.git", st.ids[full]))
	for deadline := time.Now().Add(30 * time.Second); !repacked(dir); time.Sleep(50 * time.Millisecond) {
		if time.Now().After(deadline) {
			st.t.Fatalf("the server did not repack %s", full)
		}
	}
}

func repacked(dir string) bool {
	packs, _ := filepath.Glob(filepath.Join(dir, "objects", "pack", "*.pack"))
	bitmaps, _ := filepath.Glob(filepath.Join(dir, "objects", "pack", "*.bitmap"))
	loose, _ := filepath.Glob(filepath.Join(dir, "objects", "[0-9a-f][0-9a-f]"))
	_, graph := os.Stat(filepath.Join(dir, "objects", "info", "commit-graph"))
	return len(packs) == 1 && len(bitmaps) == 1 && len(loose) == 0 && graph == nil
}

// remoteView is a repository as "git ls-remote --symref" shows it.
type remoteView struct {
	head string            // HEAD's symbolic target
	refs map[string]string // name (HEAD and peeled "^{}" included) → object
}

// lsRemote is real git's view of alice/name.
func (st *site) lsRemote(name string) remoteView {
	st.t.Helper()
	v := remoteView{refs: map[string]string{}}
	for _, line := range strings.Split(st.git("", "ls-remote", "--symref", st.url(name)), "\n") {
		left, right, ok := strings.Cut(line, "\t")
		if !ok {
			st.t.Fatalf("ls-remote line %q", line)
		}
		if target, ok := strings.CutPrefix(left, "ref: "); ok {
			if right == "HEAD" {
				v.head = target
			}
			continue
		}
		v.refs[right] = left
	}
	if v.head == "" || v.refs["HEAD"] == "" {
		st.t.Fatalf("ls-remote shows no HEAD: %v", v)
	}
	return v
}

// branches returns the refs/heads/* of a view, by branch name.
func (v remoteView) branches() map[string]string {
	m := map[string]string{}
	for name, oid := range v.refs {
		if b, ok := strings.CutPrefix(name, "refs/heads/"); ok {
			m[b] = oid
		}
	}
	return m
}

// tags returns the refs/tags/* of a view, unpeeled.
func (v remoteView) tags() map[string]string {
	m := map[string]string{}
	for name, oid := range v.refs {
		if strings.HasPrefix(name, "refs/tags/") && !strings.HasSuffix(name, "^{}") {
			m[name] = oid
		}
	}
	return m
}

// metric reads one unlabelled counter from the server's /metrics.
func (st *site) metric(name string) float64 {
	st.t.Helper()
	v, ok := st.s.Metric(st.t, name)
	if !ok {
		st.t.Fatalf("/metrics has no %s", name)
	}
	return v
}

// counters reads the pack cache's hits, misses and uncached packs.
type counters struct{ hits, misses, uncached float64 }

func (st *site) counters() counters {
	st.t.Helper()
	return counters{st.metric(hits), st.metric(misses), st.metric(uncached)}
}

// since is what changed from before to c.
func (c counters) since(before counters) counters {
	return counters{c.hits - before.hits, c.misses - before.misses, c.uncached - before.uncached}
}

func (c counters) String() string {
	return fmt.Sprintf("%g hits, %g misses, %g uncached", c.hits, c.misses, c.uncached)
}

// answers lists the kept answers in the server's pack cache.
func (st *site) answers() []string {
	m, _ := filepath.Glob(filepath.Join(st.s.Data, "cache", "packs", "*.answer"))
	return m
}

// waitAnswers waits up to two seconds for n kept answers, and reports
// whether there are: an answer is kept once upload-pack has exited, which
// may be just after its client has read the last byte.
func (st *site) waitAnswers(n int) bool {
	for deadline := time.Now().Add(2 * time.Second); len(st.answers()) < n; time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			return false
		}
	}
	return true
}

// clearCache removes every entry and kept answer of the pack cache, so
// that the next clone is generated.
func (st *site) clearCache() {
	st.t.Helper()
	all, _ := filepath.Glob(filepath.Join(st.s.Data, "cache", "packs", "*"))
	for _, e := range all {
		if err := os.Remove(e); err != nil {
			st.t.Fatal(err)
		}
	}
}

// sameMap reports the differences between two maps of refs.
func sameMap(got, want map[string]string) string {
	var diff []string
	for k, v := range want {
		if got[k] != v {
			diff = append(diff, fmt.Sprintf("%s: %q, want %q", k, got[k], v))
		}
	}
	for k, v := range got {
		if _, ok := want[k]; !ok {
			diff = append(diff, fmt.Sprintf("%s: %q, not in real git's view", k, v))
		}
	}
	sort.Strings(diff)
	return strings.Join(diff, "\n")
}
