package gitrepo

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// refsRepo makes repository 1 under a new Dir with branches and tags,
// some packed and some loose, and returns the Dir.
func refsRepo(tb testing.TB) *Dir {
	tb.Helper()
	d := &Dir{Root: tb.TempDir()}
	work := tb.TempDir()
	run := func(dir string, args ...string) {
		tb.Helper()
		cmd := exec.Command("git", args...)
		cmd.Dir = dir
		cmd.Env = append(os.Environ(), "GIT_CONFIG_NOSYSTEM=1", "HOME="+work,
			"GIT_AUTHOR_NAME=t", "GIT_AUTHOR_EMAIL=t@example.com", "GIT_COMMITTER_NAME=t", "GIT_COMMITTER_EMAIL=t@example.com")
		if out, err := cmd.CombinedOutput(); err != nil {
			tb.Fatalf("git %v: %v\n%s", args, err, out)
		}
	}
	bare := d.Path(1)
	run(d.Root, "init", "-q", "--bare", "-b", "main", bare)
	run(work, "init", "-q", "-b", "main")
	run(work, "commit", "-q", "--allow-empty", "-m", "one")
	run(work, "tag", "-a", "v1", "-m", "v1")
	run(work, "branch", "feature/x")
	run(work, "push", "-q", bare, "--all")
	run(work, "push", "-q", bare, "--tags")
	run(bare, "pack-refs", "--all")
	run(work, "commit", "-q", "--allow-empty", "-m", "two")
	run(work, "push", "-q", bare, "main", "main:refs/heads/loose")
	return d
}

// TestRefsReadsWhatGitLists checks that the refs read from disk are what
// git for-each-ref lists, packed and loose ones alike, a loose ref over a
// packed one included.
func TestRefsReadsWhatGitLists(t *testing.T) {
	d := refsRepo(t)
	got, err := d.Refs(context.Background(), 1)
	if err != nil {
		t.Fatal(err)
	}
	want, err := d.command(context.Background(), d.Path(1), "for-each-ref", "--format=%(objectname) %(refname)").Output()
	if err != nil {
		t.Fatal(err)
	}
	if got != string(want) {
		t.Fatalf("Refs:\n%s\nfor-each-ref:\n%s", got, want)
	}
	// A state the reader does not understand (a symbolic ref under refs/)
	// falls back to git, and still answers.
	if err := os.WriteFile(filepath.Join(d.Path(1), "refs", "heads", "sym"), []byte("ref: refs/heads/main\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if out, err := d.Refs(context.Background(), 1); err != nil || out == "" {
		t.Fatalf("fallback: %q, %v", out, err)
	}
}

// BenchmarkRefs is the cost of the before/after ref snapshot every push
// takes.
func BenchmarkRefs(b *testing.B) {
	d := refsRepo(b)
	ctx := context.Background()
	b.Run("disk", func(b *testing.B) {
		for b.Loop() {
			if _, err := d.Refs(ctx, 1); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("for-each-ref", func(b *testing.B) {
		for b.Loop() {
			if _, err := d.command(ctx, d.Path(1), "for-each-ref", "--format=%(objectname) %(refname)").Output(); err != nil {
				b.Fatal(err)
			}
		}
	})
}
