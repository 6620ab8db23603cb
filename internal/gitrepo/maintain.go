package gitrepo

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
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
	cmd := d.command(ctx, d.Path(id), "repack", "-a", "-d", "-q", "--write-bitmap-index")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("git repack: %v: %s", err, bytes.TrimSpace(stderr.Bytes()))
	}
	return nil
}
