package gitrepo

import (
	"context"
	"errors"
	"path/filepath"
	"testing"
)

func TestTreeAndReadFile(t *testing.T) {
	ctx := context.Background()
	d := &Dir{Root: filepath.Join(t.TempDir(), "repos")}
	tmp, err := d.Prepare(ctx, "main")
	if err != nil {
		t.Fatal(err)
	}
	if err := d.Commit(tmp, 1); err != nil {
		t.Fatal(err)
	}
	if _, err := d.Tree(ctx, 1, "main"); !errors.Is(err, ErrNoBranch) {
		t.Fatalf("empty repository: %v", err)
	}
	files := map[string][]byte{"README.md": []byte("# hi\n"), "big.txt": make([]byte, 2048), "a b.txt": []byte("x")}
	if _, err := d.InitialCommit(ctx, 1, "main", files, Signature{Name: "T", Email: "t@example.com"}, "first\n"); err != nil {
		t.Fatal(err)
	}
	entries, err := d.Tree(ctx, 1, "main")
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 3 || entries[0].Name != "README.md" || entries[1].Name != "a b.txt" || entries[2].Size != 2048 || entries[2].Type != "blob" {
		t.Fatalf("tree: %+v", entries)
	}
	if b, err := d.ReadFile(ctx, 1, "main", "README.md", 100); err != nil || string(b) != "# hi\n" {
		t.Fatalf("ReadFile = %q, %v", b, err)
	}
	if _, err := d.ReadFile(ctx, 1, "main", "big.txt", 1024); !errors.Is(err, ErrTooLarge) {
		t.Fatalf("large file: %v", err)
	}
	for _, bad := range []string{"-main", "a..b", "main:README.md", ""} {
		if _, err := d.Tree(ctx, 1, bad); err == nil || errors.Is(err, ErrNoBranch) {
			t.Errorf("branch %q accepted: %v", bad, err)
		}
	}
}
