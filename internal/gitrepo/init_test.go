package gitrepo

import (
	"context"
	"os/exec"
	"strings"
	"testing"
	"time"
)

func TestInitialCommit(t *testing.T) {
	if _, err := exec.LookPath("git"); err != nil {
		t.Skip("git not installed")
	}
	ctx := context.Background()
	d := &Dir{Root: t.TempDir()}
	tmp, err := d.Prepare(ctx, "main")
	if err != nil {
		t.Fatal(err)
	}
	if err := d.Commit(tmp, 7); err != nil {
		t.Fatal(err)
	}
	sig := Signature{Name: "Alice", Email: "alice@example.com", When: time.Unix(1700000000, 0)}
	id, err := d.InitialCommit(ctx, 7, "main", map[string][]byte{"README.md": []byte("# demo\n")}, sig, "Initial commit\n")
	if err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command("git", "-C", d.Path(7), "log", "--format=%H %an <%ae> %at %s", "main").Output()
	if err != nil {
		t.Fatal(err)
	}
	if want := id + " Alice <alice@example.com> 1700000000 Initial commit"; strings.TrimSpace(string(out)) != want {
		t.Fatalf("log %q, want %q", out, want)
	}
	data, err := d.ReadFile(ctx, 7, "main", "README.md", 100)
	if err != nil || string(data) != "# demo\n" {
		t.Fatalf("README = %q, %v", data, err)
	}
	// The branch exists now: a second initial commit must not replace it.
	if _, err := d.InitialCommit(ctx, 7, "main", map[string][]byte{"X": nil}, sig, "again\n"); err == nil {
		t.Fatal("second initial commit succeeded")
	}
	if _, err := d.InitialCommit(ctx, 7, "other", map[string][]byte{"a/b": nil}, sig, "x\n"); err == nil {
		t.Fatal("file name with a slash accepted")
	}
}
