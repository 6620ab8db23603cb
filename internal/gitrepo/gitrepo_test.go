package gitrepo

import (
	"context"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestPrepareCommitRepack(t *testing.T) {
	if _, err := exec.LookPath("git"); err != nil {
		t.Skip("SKIPPING: git is not installed")
	}
	ctx := context.Background()
	d := &Dir{Root: filepath.Join(t.TempDir(), "repos")}
	tmp, err := d.Prepare(ctx, "main")
	if err != nil {
		t.Fatal(err)
	}
	if err := d.Commit(tmp, 7); err != nil || !d.Exists(7) {
		t.Fatalf("Commit: %v", err)
	}
	// Two pushes' worth of packs, as receive-pack leaves them.
	work := t.TempDir()
	git := func(dir string, args ...string) {
		t.Helper()
		cmd := exec.Command("git", args...)
		cmd.Dir = dir
		cmd.Env = append(os.Environ(), "GIT_AUTHOR_NAME=t", "GIT_AUTHOR_EMAIL=t@e", "GIT_COMMITTER_NAME=t", "GIT_COMMITTER_EMAIL=t@e")
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("git %v: %v\n%s", args, err, out)
		}
	}
	git(work, "init", "-q", "-b", "feature")
	for i := 0; i < 2; i++ {
		os.WriteFile(filepath.Join(work, "f"), []byte(strings.Repeat("x", i+1)), 0o644)
		git(work, "add", ".")
		git(work, "commit", "-q", "-m", "c")
		git(work, "-c", "transfer.unpackLimit=1", "push", "-q", d.Path(7), "feature")
	}
	// HEAD named main, which does not exist; the only branch is chosen.
	head, err := d.FixHead(ctx, 7)
	if err != nil || head != "feature" {
		t.Fatalf("FixHead = %q, %v", head, err)
	}
	if !d.NeedsRepack(7) {
		t.Fatal("two packs without a bitmap should need a repack")
	}
	if err := d.Repack(ctx, 7); err != nil {
		t.Fatal(err)
	}
	if d.NeedsRepack(7) {
		t.Fatal("still needs a repack after repacking")
	}
	if err := d.Remove(7); err != nil || d.Exists(7) {
		t.Fatalf("Remove: %v", err)
	}
}

// A cancelled request kills git at once, even while git waits for input.
func TestRunKilledOnCancel(t *testing.T) {
	if _, err := exec.LookPath("git"); err != nil {
		t.Skip("SKIPPING: git is not installed")
	}
	d := &Dir{Root: filepath.Join(t.TempDir(), "repos")}
	tmp, err := d.Prepare(context.Background(), "main")
	if err != nil {
		t.Fatal(err)
	}
	d.Commit(tmp, 1)
	pr, pw := io.Pipe() // a client that never finishes sending
	defer pw.Close()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- d.Run(ctx, 1, ReceivePack, RunOptions{Stdin: pr, Stdout: io.Discard})
	}()
	time.Sleep(200 * time.Millisecond)
	cancel()
	select {
	case err := <-done:
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("Run = %v, want context.Canceled", err)
		}
	case <-time.After(3 * time.Second):
		t.Fatal("git still running 3s after the request was cancelled")
	}
}
