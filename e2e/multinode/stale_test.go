package multinode_test

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gatehouse/gatehouse/internal/testenv"
)

// TestNeverStale pushes through node A and, the moment each push returns,
// asks node B which refs exist (protocol v0 and v2) and clones through B,
// in a tight loop: B's ref advertisement is answered without git and its
// clones can come from the pack cache or a kept answer, and none of that
// may ever show the state before the push. Each node has its own pack
// cache (--pack-cache-dir), and B's must have kept answers. Then it
// changes a ref on disk, behind both nodes' backs, and expects both to
// show it on the next request.
func TestNeverStale(t *testing.T) {
	// Each node keeps its pack cache on its own disk, as the README
	// advises for nodes that share a data directory.
	c := &cluster{t: t, database: testenv.Postgres(t), data: filepath.Join(t.TempDir(), "data")}
	cacheA, cacheB := filepath.Join(t.TempDir(), "cache-a"), filepath.Join(t.TempDir(), "cache-b")
	node := func(cache string) *testenv.Server {
		return testenv.Start(t, testenv.Options{Data: c.data, Args: []string{"--database", c.database, "--pack-cache-dir", cache}})
	}
	c.a, c.b = node(cacheA), node(cacheB)
	c.user("alice", false)
	c.admin("repo", "create", "alice/ci", "--private")
	tok, _ := c.token("alice", "git", "repo")
	g := testenv.NewGit(t, "")
	urlA := testenv.WithCredentials(c.a.RepoURL("alice/ci"), "alice", tok)
	urlB := testenv.WithCredentials(c.b.RepoURL("alice/ci"), "alice", tok)

	src := t.TempDir()
	g.MustRun(src, "init", "-q", "-b", "main")
	heads := func(url string, version int) string {
		out := g.MustRun("", "-c", fmt.Sprintf("protocol.version=%d", version), "ls-remote", url, "refs/heads/main")
		head, _, _ := strings.Cut(out, "\t")
		return head
	}
	const rounds = 15
	for i := range rounds {
		os.WriteFile(filepath.Join(src, "n.txt"), []byte(fmt.Sprintf("round %d\n", i)), 0o644)
		g.MustRun(src, "add", ".")
		g.MustRun(src, "commit", "-q", "-m", fmt.Sprintf("round %d", i))
		want := strings.TrimSpace(g.MustRun(src, "rev-parse", "HEAD"))
		g.MustRun(src, "push", "-q", urlA, "main")
		for _, v := range []int{0, 2} {
			if got := heads(urlB, v); got != want {
				t.Fatalf("round %d: node B advertises main at %q over protocol v%d right after the push through A, want %s", i, got, v, want)
			}
		}
		// Twice: the second clone of the same state is the one a cache
		// would answer.
		for k := range 2 {
			dst := filepath.Join(t.TempDir(), "clone")
			g.MustRun("", "-c", fmt.Sprintf("protocol.version=%d", 2*k), "clone", "-q", "--bare", urlB, dst)
			if got := strings.TrimSpace(g.MustRun(dst, "rev-parse", "main")); got != want {
				t.Fatalf("round %d: a clone through node B has main at %s, want %s pushed through A", i, got, want)
			}
		}
	}

	if m, _ := filepath.Glob(filepath.Join(c.data, "cache", "packs", "*")); len(m) != 0 {
		t.Errorf("entries in the shared data directory's cache: %v", m)
	}
	if m, _ := filepath.Glob(filepath.Join(cacheB, "*.answer")); len(m) == 0 {
		t.Error("node B kept no answer in its own cache: the clones through it did not go through the cache")
	}

	// A change on disk, made by neither node: main back to its parent.
	dirs, _ := filepath.Glob(filepath.Join(c.data, "repositories", "*.git"))
	if len(dirs) != 1 {
		t.Fatalf("repositories on disk: %v", dirs)
	}
	parent := strings.TrimSpace(g.MustRun(src, "rev-parse", "HEAD~1"))
	g.MustRun(dirs[0], "update-ref", "refs/heads/main", parent)
	for _, node := range []string{urlA, urlB} {
		for _, v := range []int{0, 2} {
			if got := heads(node, v); got != parent {
				t.Fatalf("after update-ref on disk, main is advertised at %q (v%d), want %s", got, v, parent)
			}
		}
		dst := filepath.Join(t.TempDir(), "clone")
		g.MustRun("", "clone", "-q", "--bare", node, dst)
		if got := strings.TrimSpace(g.MustRun(dst, "rev-parse", "main")); got != parent {
			t.Fatalf("after update-ref on disk, a clone has main at %s, want %s", got, parent)
		}
	}
}
