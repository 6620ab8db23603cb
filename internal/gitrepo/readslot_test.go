package gitrepo

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"
)

// TestBrowsingProcessesAreBounded is the regression for browsing starting
// a git process per request with no bound: with MaxReads reads running,
// the next waits, then fails as timed out without starting git; once a
// turn is given back it goes through.
func TestBrowsingProcessesAreBounded(t *testing.T) {
	old := readWait
	readWait = 50 * time.Millisecond
	t.Cleanup(func() { readWait = old })
	d := &Dir{Root: t.TempDir()}
	ctx := context.Background()
	var releases []func()
	for range MaxReads {
		release, err := d.readSlot(ctx)
		if err != nil {
			t.Fatal(err)
		}
		releases = append(releases, release)
	}
	_, err := d.ListTree(ctx, 1, strings.Repeat("a", 40), "", 10)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("read %d while %d run: %v, want a timeout before git starts", MaxReads+1, MaxReads, err)
	}
	releases[0]()
	release, err := d.readSlot(ctx)
	if err != nil {
		t.Fatalf("a turn given back: %v", err)
	}
	release()
	for _, r := range releases[1:] {
		r()
	}
}
