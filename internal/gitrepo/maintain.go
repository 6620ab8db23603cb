package gitrepo

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// NeedsRepack reports whether repository id would serve clones faster after
// a full repack: it has loose objects, more than one pack (every push adds
// one), or no reachability bitmap (without which every clone walks the
// whole history to count objects).
func (d *Dir) NeedsRepack(id int64) bool {
	dir := filepath.Join(d.Path(id), "objects", "pack")
	entries, err := os.ReadDir(dir)
	if err != nil {
		return false
	}
	packs, bitmaps := 0, 0
	for _, e := range entries {
		switch {
		case strings.HasSuffix(e.Name(), ".pack"):
			packs++
		case strings.HasSuffix(e.Name(), ".bitmap"):
			bitmaps++
		}
	}
	if packs > 1 || (packs == 1 && bitmaps == 0) {
		return true
	}
	loose, _ := filepath.Glob(filepath.Join(d.Path(id), "objects", "[0-9a-f][0-9a-f]"))
	return len(loose) > 0
}

// Repack rewrites repository id into one pack with a reachability bitmap.
// It is safe while the repository is served: git swaps packs atomically and
// readers that still hold an old pack open keep reading it.
func (d *Dir) Repack(ctx context.Context, id int64) error {
	d.RemoveLeftovers(id, time.Now())
	cmd := d.command(ctx, d.Path(id), "repack", "-a", "-d", "-q", "--write-bitmap-index")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("git repack: %v: %s", err, bytes.TrimSpace(stderr.Bytes()))
	}
	// A commit-graph with changed-path Bloom filters lets the history of
	// one file skip the commits that do not touch it, instead of reading
	// every tree of the history.
	stderr.Reset()
	cmd = d.command(ctx, d.Path(id), "commit-graph", "write", "--reachable", "--changed-paths")
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("git commit-graph: %v: %s", err, bytes.TrimSpace(stderr.Bytes()))
	}
	return nil
}

// Ages after which RemoveLeftovers takes what an interrupted git left. They
// are ages, not "no git is running here", because several nodes may serve
// one data directory: a push's quarantine lives as long as the push, and
// a ref lock as long as one ref update.
const (
	quarantineLeftoverAge = 24 * time.Hour
	lockLeftoverAge       = 10 * time.Minute
)

// RemoveLeftovers removes what a git process killed mid-push leaves in
// repository id: quarantine directories (objects/tmp_objdir-incoming-*,
// as large as the push, which git itself only prunes after two weeks) and
// stale ref locks (which would block every later push to that ref). It
// reports how many it removed; failures are left for the next time.
func (d *Dir) RemoveLeftovers(id int64, now time.Time) int {
	n := 0
	root := d.Path(id)
	old := func(path string, age time.Duration) bool {
		fi, err := os.Lstat(path)
		return err == nil && now.Sub(fi.ModTime()) > age
	}
	tmp, _ := filepath.Glob(filepath.Join(root, "objects", "tmp_objdir-*"))
	for _, p := range tmp {
		if old(p, quarantineLeftoverAge) && os.RemoveAll(p) == nil {
			n++
		}
	}
	locks := []string{filepath.Join(root, "packed-refs.lock"), filepath.Join(root, "HEAD.lock")}
	_ = filepath.WalkDir(filepath.Join(root, "refs"), func(p string, e os.DirEntry, err error) error {
		if err == nil && !e.IsDir() && strings.HasSuffix(p, ".lock") {
			locks = append(locks, p)
		}
		return nil
	})
	for _, p := range locks {
		if old(p, lockLeftoverAge) && os.Remove(p) == nil {
			n++
		}
	}
	return n
}
