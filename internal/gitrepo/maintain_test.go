package gitrepo

import (
	"os"
	"path/filepath"
	"testing"
	"time"
)

// TestRemoveLeftovers checks that what a killed push leaves — its
// quarantine and a ref lock — goes once old enough, and that fresh ones
// (a push running now, on this node or another) stay.
func TestRemoveLeftovers(t *testing.T) {
	d := &Dir{Root: t.TempDir()}
	root := d.Path(7)
	now := time.Now()
	mk := func(rel string, dir bool, age time.Duration) string {
		p := filepath.Join(root, rel)
		os.MkdirAll(filepath.Dir(p), 0o700)
		if dir {
			os.MkdirAll(p, 0o700)
			os.WriteFile(filepath.Join(p, "pack"), []byte("x"), 0o600)
		} else {
			os.WriteFile(p, []byte("x"), 0o600)
		}
		when := now.Add(-age)
		os.Chtimes(p, when, when)
		return p
	}
	oldQ := mk("objects/tmp_objdir-incoming-old", true, 48*time.Hour)
	newQ := mk("objects/tmp_objdir-incoming-new", true, time.Minute)
	oldL := mk("refs/heads/main.lock", false, time.Hour)
	newL := mk("refs/heads/dev.lock", false, time.Second)
	ref := mk("refs/heads/main", false, 48*time.Hour)
	if n := d.RemoveLeftovers(7, now); n != 2 {
		t.Fatalf("removed %d, want 2", n)
	}
	for _, p := range []string{oldQ, oldL} {
		if _, err := os.Stat(p); !os.IsNotExist(err) {
			t.Errorf("%s is still there", p)
		}
	}
	for _, p := range []string{newQ, newL, ref} {
		if _, err := os.Stat(p); err != nil {
			t.Errorf("%s was removed: %v", p, err)
		}
	}
}
