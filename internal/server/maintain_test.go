package server

import (
	"context"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/gitrepo"
)

// TestRepackAfterSkippedTurn is the repack of issue 12: a turn that found
// nothing to repack (the push before added no objects, or git's empty
// probe before a large push) must not hold back the repack of the push
// that brings objects, as it did for the whole interval.
func TestRepackAfterSkippedTurn(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	d := &gitrepo.Dir{Root: t.TempDir()}
	tmp, err := d.Prepare(ctx, "main")
	if err != nil {
		t.Fatal(err)
	}
	if err := d.Commit(tmp, 1); err != nil {
		t.Fatal(err)
	}
	work := t.TempDir()
	git := func(args ...string) {
		t.Helper()
		cmd := exec.Command("git", args...)
		cmd.Dir = work
		cmd.Env = append(os.Environ(), "GIT_AUTHOR_NAME=t", "GIT_AUTHOR_EMAIL=t@e", "GIT_COMMITTER_NAME=t", "GIT_COMMITTER_EMAIL=t@e",
			"GIT_CONFIG_GLOBAL=/dev/null", "GIT_CONFIG_NOSYSTEM=1")
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("git %v: %v\n%s", args, err, out)
		}
	}
	push := func(file string) {
		t.Helper()
		os.WriteFile(filepath.Join(work, file), []byte(strings.Repeat(file+"\n", 100)), 0o644)
		git("add", file)
		git("commit", "-q", "-m", file)
		git("push", "-q", d.Path(1), "main")
	}
	git("init", "-q", "-b", "main")
	push("a")
	if err := d.Repack(ctx, 1); err != nil {
		t.Fatal(err)
	}

	m := newMaintainer(d, slog.New(slog.DiscardHandler))
	m.delay, m.interval = 10*time.Millisecond, time.Hour
	go m.run(ctx)
	m.schedule(1) // nothing to repack: a skipped turn
	waitFor(t, func() bool { m.mu.Lock(); defer m.mu.Unlock(); return len(m.pending) == 0 })
	push("b")
	if !d.NeedsRepack(1) {
		t.Fatal("the push left nothing to repack")
	}
	m.schedule(1)
	waitFor(t, func() bool { return !d.NeedsRepack(1) })
	// That repack counts: the next push waits for the interval.
	push("c")
	m.schedule(1)
	time.Sleep(1500 * time.Millisecond)
	if !d.NeedsRepack(1) {
		t.Error("repacked again within the interval")
	}
}

func waitFor(t *testing.T, ok func() bool) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); !ok(); time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("timed out")
		}
	}
}
