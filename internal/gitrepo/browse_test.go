package gitrepo

import (
	"archive/zip"
	"bytes"
	"compress/gzip"
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

// browseFixture is repository 1 with this history on main:
//
//	c1 "first": README.md, docs/guide.md, src/main.go, logo.png (binary)
//	c2 "second": src/main.go changed, docs/old.md added, link -> ../../../../etc/passwd
//	c3 "third": docs/old.md renamed to docs/new.md, README.md changed
//
// and branch feature/x (c3 + "feature" commit adding feature.txt), tag
// v1.0 (annotated, at c2), tag feature (lightweight, at c1: a tag named
// like the first segment of the branch feature/x).
type browseFixture struct {
	d          *Dir
	c1, c2, c3 string
	feature    string
	work       string
}

func gitIn(t testing.TB, dir string, args ...string) string {
	t.Helper()
	cmd := exec.Command("git", args...)
	cmd.Dir = dir
	cmd.Env = append(cleanEnv(), "GIT_AUTHOR_NAME=Ann Author", "GIT_AUTHOR_EMAIL=ann@example.com",
		"GIT_COMMITTER_NAME=Ann Author", "GIT_COMMITTER_EMAIL=ann@example.com")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("git %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return strings.TrimSpace(string(out))
}

func writeFile(t testing.TB, root, name, content string) {
	t.Helper()
	p := filepath.Join(root, name)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

func commitAt(t testing.TB, work, msg string, when int) string {
	t.Helper()
	gitIn(t, work, "add", "-A")
	date := time.Unix(int64(1700000000+when*3600), 0).UTC().Format(time.RFC3339)
	cmd := exec.Command("git", "commit", "-q", "-m", msg)
	cmd.Dir = work
	cmd.Env = append(cleanEnv(), "GIT_AUTHOR_NAME=Ann Author", "GIT_AUTHOR_EMAIL=ann@example.com",
		"GIT_COMMITTER_NAME=Ann Author", "GIT_COMMITTER_EMAIL=ann@example.com",
		"GIT_AUTHOR_DATE="+date, "GIT_COMMITTER_DATE="+date)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("git commit: %v\n%s", err, out)
	}
	return gitIn(t, work, "rev-parse", "HEAD")
}

func newBrowseFixture(t testing.TB) *browseFixture {
	t.Helper()
	ctx := context.Background()
	d := &Dir{Root: filepath.Join(t.TempDir(), "repos")}
	tmp, err := d.Prepare(ctx, "main")
	if err != nil {
		t.Fatal(err)
	}
	if err := d.Commit(tmp, 1); err != nil {
		t.Fatal(err)
	}
	work := filepath.Join(t.TempDir(), "work")
	gitIn(t, "", "init", "-q", "--initial-branch=main", work)
	f := &browseFixture{d: d, work: work}
	writeFile(t, work, "README.md", "# Demo\n\nHello.\n")
	writeFile(t, work, "docs/guide.md", "Read me first.\n")
	writeFile(t, work, "src/main.go", "package main\n\nfunc main() {}\n")
	writeFile(t, work, "logo.png", "\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR")
	f.c1 = commitAt(t, work, "first", 1)
	writeFile(t, work, "src/main.go", "package main\n\nimport \"fmt\"\n\nfunc main() { fmt.Println(1) }\n")
	writeFile(t, work, "docs/old.md", strings.Repeat("old line\n", 20))
	if err := os.Symlink("../../../../etc/passwd", filepath.Join(work, "link")); err != nil {
		t.Fatal(err)
	}
	f.c2 = commitAt(t, work, "second\n\nWith a body.", 2)
	gitIn(t, work, "tag", "-a", "-m", "version one", "v1.0", f.c2)
	gitIn(t, work, "tag", "feature", f.c1)
	gitIn(t, work, "mv", "docs/old.md", "docs/new.md")
	writeFile(t, work, "README.md", "# Demo\n\nHello, world.\n")
	f.c3 = commitAt(t, work, "third", 3)
	gitIn(t, work, "checkout", "-q", "-b", "feature/x")
	writeFile(t, work, "feature.txt", "new\n")
	f.feature = commitAt(t, work, "feature", 4)
	gitIn(t, work, "checkout", "-q", "main")
	gitIn(t, work, "push", "-q", d.Path(1), "refs/heads/*:refs/heads/*", "refs/tags/*:refs/tags/*")
	return f
}

func TestResolve(t *testing.T) {
	ctx := context.Background()
	f := newBrowseFixture(t)
	for _, tc := range []struct {
		name, kind, short, commit string
	}{
		{"main", "branch", "main", f.c3},
		{"feature/x", "branch", "feature/x", f.feature},
		{"v1.0", "tag", "v1.0", f.c2}, // annotated: peeled to its commit
		{"feature", "tag", "feature", f.c1},
		{"refs/heads/main", "branch", "main", f.c3},
		{"heads/main", "branch", "main", f.c3},
		{"HEAD", "ref", "HEAD", f.c3},
		{f.c2, "commit", f.c2, f.c2},
		{f.c2[:10], "commit", f.c2[:10], f.c2},
	} {
		ref, err := f.d.Resolve(ctx, 1, tc.name)
		if err != nil {
			t.Errorf("Resolve(%q): %v", tc.name, err)
			continue
		}
		if ref.Kind != tc.kind || ref.Name != tc.short || ref.Commit != tc.commit {
			t.Errorf("Resolve(%q) = %+v, want %s %s %s", tc.name, ref, tc.kind, tc.short, tc.commit)
		}
	}
	for _, bad := range []string{"", "-main", "--output=/tmp/x", "main..feature", "main:README.md", "../config",
		"refs/../config", "a\x00b", "main^{tree}", "@{-1}", "main~1", "main@{0}", "/etc/passwd", "a b", "main\nHEAD", "x.lock", ".hidden"} {
		if _, err := f.d.Resolve(ctx, 1, bad); !errors.Is(err, ErrInvalidName) {
			t.Errorf("Resolve(%q): %v, want ErrInvalidName", bad, err)
		}
	}
	for _, missing := range []string{"nope", "refs/heads/nope", "0000000000000000000000000000000000000000", "deadbeef", "refs/tags"} {
		if _, err := f.d.Resolve(ctx, 1, missing); !errors.Is(err, ErrRefNotFound) {
			t.Errorf("Resolve(%q): %v, want ErrRefNotFound", missing, err)
		}
	}
	// A tree or blob id is not a commit.
	tree := gitIn(t, f.work, "rev-parse", "main^{tree}")
	if _, err := f.d.Resolve(ctx, 1, tree); !errors.Is(err, ErrRefNotFound) {
		t.Errorf("Resolve(tree id): %v", err)
	}
}

func TestResolvePath(t *testing.T) {
	ctx := context.Background()
	f := newBrowseFixture(t)
	for _, tc := range []struct {
		in, ref, path, commit string
	}{
		{"main", "main", "", f.c3},
		{"main/", "main", "", f.c3},
		{"main/docs/guide.md", "main", "docs/guide.md", f.c3},
		// The longest ref wins: the branch feature/x, not the tag feature.
		{"feature/x/feature.txt", "feature/x", "feature.txt", f.feature},
		{"feature/x", "feature/x", "", f.feature},
		{"feature/src/main.go", "feature", "src/main.go", f.c1},
		{"v1.0/src", "v1.0", "src", f.c2},
		{f.c1 + "/README.md", f.c1, "README.md", f.c1},
		{f.c1[:7] + "/docs", f.c1[:7], "docs", f.c1},
		{"HEAD/docs", "HEAD", "docs", f.c3},
		{"main/%2e%2e", "main", "%2e%2e", f.c3}, // a name, taken literally
	} {
		ref, p, err := f.d.ResolvePath(ctx, 1, tc.in)
		if err != nil {
			t.Errorf("ResolvePath(%q): %v", tc.in, err)
			continue
		}
		if ref.Name != tc.ref || p != tc.path || ref.Commit != tc.commit {
			t.Errorf("ResolvePath(%q) = %+v %q, want %s %q %s", tc.in, ref, p, tc.ref, tc.path, tc.commit)
		}
	}
	for _, bad := range []string{"", "main/../../etc/passwd", "main/docs/../../../x", "main/a//b", "main/./README.md",
		"main/a\x00b", "-main/x", "--upload-pack=touch/x", "../config", "main\n/x"} {
		if _, _, err := f.d.ResolvePath(ctx, 1, bad); !errors.Is(err, ErrInvalidName) {
			t.Errorf("ResolvePath(%q): %v, want ErrInvalidName", bad, err)
		}
	}
	if _, _, err := f.d.ResolvePath(ctx, 1, "nope/x"); !errors.Is(err, ErrRefNotFound) {
		t.Errorf("ResolvePath(nope/x): %v", err)
	}
}

func TestStatListRead(t *testing.T) {
	ctx := context.Background()
	f := newBrowseFixture(t)
	top, err := f.d.Stat(ctx, 1, f.c3, "")
	if err != nil || top.Type != "tree" {
		t.Fatalf("Stat top: %+v %v", top, err)
	}
	l, err := f.d.ListTree(ctx, 1, top.ID, "", 100)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range l.Entries {
		names = append(names, e.Name)
	}
	if got := strings.Join(names, " "); got != "docs src README.md link logo.png" || l.Truncated {
		t.Errorf("top listing %q (truncated %v)", got, l.Truncated)
	}
	docs, err := f.d.Stat(ctx, 1, f.c3, "docs")
	if err != nil || docs.Type != "tree" || docs.Path != "docs" || docs.Name != "docs" {
		t.Fatalf("Stat docs: %+v %v", docs, err)
	}
	l, err = f.d.ListTree(ctx, 1, docs.ID, "docs", 1)
	if err != nil || len(l.Entries) != 1 || !l.Truncated || l.Entries[0].Path != "docs/guide.md" {
		t.Fatalf("docs listing cut at 1: %+v %v", l, err)
	}
	guide, err := f.d.Stat(ctx, 1, f.c3, "docs/guide.md")
	if err != nil || guide.Type != "blob" || guide.Size != 15 || guide.Mode != "100644" {
		t.Fatalf("Stat guide: %+v %v", guide, err)
	}
	b, more, err := f.d.ReadBlob(ctx, 1, guide.ID, 4)
	if err != nil || string(b) != "Read" || !more {
		t.Fatalf("ReadBlob cut: %q %v %v", b, more, err)
	}
	b, more, err = f.d.ReadBlob(ctx, 1, guide.ID, 1<<20)
	if err != nil || string(b) != "Read me first.\n" || more {
		t.Fatalf("ReadBlob: %q %v %v", b, more, err)
	}
	var buf bytes.Buffer
	if err := f.d.WriteBlob(ctx, 1, guide.ID, &buf); err != nil || buf.String() != "Read me first.\n" {
		t.Fatalf("WriteBlob: %q %v", buf.String(), err)
	}
	// A symbolic link is its target's name, never the target's content.
	link, err := f.d.Stat(ctx, 1, f.c3, "link")
	if err != nil || !link.IsSymlink() {
		t.Fatalf("Stat link: %+v %v", link, err)
	}
	b, _, _ = f.d.ReadBlob(ctx, 1, link.ID, 1<<20)
	if string(b) != "../../../../etc/passwd" {
		t.Fatalf("link reads %q", b)
	}
	for _, p := range []string{"nope", "docs/nope.md", "README.md/x", "%2e%2e"} {
		if _, err := f.d.Stat(ctx, 1, f.c3, p); !errors.Is(err, ErrPathNotFound) {
			t.Errorf("Stat(%q): %v, want ErrPathNotFound", p, err)
		}
	}
	for _, p := range []string{"..", "../1.git/config", "docs/../..", "a\x00b"} {
		if _, err := f.d.Stat(ctx, 1, f.c3, p); !errors.Is(err, ErrInvalidName) {
			t.Errorf("Stat(%q): %v, want ErrInvalidName", p, err)
		}
	}
	for _, c := range []string{"main", "-p", "HEAD", "../x"} {
		if _, err := f.d.Stat(ctx, 1, c, ""); !errors.Is(err, ErrInvalidName) {
			t.Errorf("Stat with commit %q: %v, want ErrInvalidName (only resolved ids)", c, err)
		}
	}
}

func TestLogAndCommit(t *testing.T) {
	ctx := context.Background()
	f := newBrowseFixture(t)
	cs, err := f.d.Log(ctx, 1, f.c3, "", 0, 2)
	if err != nil || len(cs) != 2 || cs[0].ID != f.c3 || cs[1].ID != f.c2 {
		t.Fatalf("Log page 1: %+v %v", cs, err)
	}
	cs, err = f.d.Log(ctx, 1, f.c3, "", 2, 2)
	if err != nil || len(cs) != 1 || cs[0].ID != f.c1 || len(cs[0].Parents) != 0 {
		t.Fatalf("Log page 2: %+v %v", cs, err)
	}
	cs, err = f.d.Log(ctx, 1, f.c3, "src/main.go", 0, 10)
	if err != nil || len(cs) != 2 || cs[0].ID != f.c2 {
		t.Fatalf("Log of src/main.go: %+v %v", cs, err)
	}
	c, err := f.d.ReadCommit(ctx, 1, f.c2)
	if err != nil {
		t.Fatal(err)
	}
	if c.Subject() != "second" || c.Body() != "With a body." || c.Author.Name != "Ann Author" || c.Author.Email != "ann@example.com" ||
		!c.Author.When.Equal(time.Unix(1700000000+2*3600, 0)) || len(c.Parents) != 1 || c.Parents[0] != f.c1 || c.Tree == "" {
		t.Fatalf("commit %+v", c)
	}
	last, err := f.d.LastCommits(ctx, 1, f.c3, "", []string{"docs", "src", "README.md", "logo.png", "link"}, 100, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if last["docs"].ID != f.c3 || last["src"].ID != f.c2 || last["logo.png"].ID != f.c1 || last["README.md"].Message != "third" || len(last) != 5 {
		t.Fatalf("last commits %+v", last)
	}
	last, err = f.d.LastCommits(ctx, 1, f.c3, "docs", []string{"guide.md", "new.md"}, 100, 5*time.Second)
	if err != nil || last["guide.md"].ID != f.c1 || last["new.md"].ID != f.c3 {
		t.Fatalf("last commits in docs %+v %v", last, err)
	}
}

func TestDiffAndCompare(t *testing.T) {
	ctx := context.Background()
	f := newBrowseFixture(t)
	d, err := f.d.Diff(ctx, 1, f.c2, f.c3, DiffLimits{})
	if err != nil {
		t.Fatal(err)
	}
	if len(d.Files) != 2 || d.FilesCut || d.PatchCut {
		t.Fatalf("diff c2..c3: %+v", d)
	}
	readme, rename := d.Files[0], d.Files[1]
	if readme.Path != "README.md" || readme.Status != "M" || readme.Additions != 1 || readme.Deletions != 1 ||
		!strings.HasPrefix(readme.Patch, "@@ -1,3 +1,3 @@") || !strings.Contains(readme.Patch, "+Hello, world.") {
		t.Errorf("README diff %+v", readme)
	}
	if rename.Status != "R" || rename.OldPath != "docs/old.md" || rename.Path != "docs/new.md" || rename.Additions != 0 || rename.Patch != "" {
		t.Errorf("rename %+v", rename)
	}
	// The root commit against nothing, a binary file among them.
	d, err = f.d.Diff(ctx, 1, "", f.c1, DiffLimits{})
	if err != nil || len(d.Files) != 4 {
		t.Fatalf("root diff: %+v %v", d, err)
	}
	for _, fd := range d.Files {
		if fd.Status != "A" {
			t.Errorf("root diff: %s is %s", fd.Path, fd.Status)
		}
		if fd.Path == "logo.png" && (!fd.Binary || fd.Patch != "") {
			t.Errorf("binary file %+v", fd)
		}
	}
	if d.Additions != 7 {
		t.Errorf("root diff adds %d lines", d.Additions)
	}
	// Limits: one file, a few bytes of patch.
	d, err = f.d.Diff(ctx, 1, "", f.c1, DiffLimits{MaxFiles: 1})
	if err != nil || len(d.Files) != 1 || !d.FilesCut {
		t.Fatalf("diff cut at one file: %+v %v", d, err)
	}
	d, err = f.d.Diff(ctx, 1, f.c1, f.c2, DiffLimits{MaxBytes: 200})
	if err != nil || !d.PatchCut || len(d.Files) != 3 {
		t.Fatalf("diff cut at 200 bytes: %+v %v", d, err)
	}
	if !d.Files[len(d.Files)-1].PatchCut {
		t.Errorf("the last file's patch is not marked cut: %+v", d.Files)
	}

	c, err := f.d.Compare(ctx, 1, f.c1, f.feature, 250, DiffLimits{})
	if err != nil {
		t.Fatal(err)
	}
	if c.MergeBase != f.c1 || c.Ahead != 3 || c.Behind != 0 || len(c.Commits) != 3 || c.Commits[0].ID != f.c2 || c.Commits[2].ID != f.feature {
		t.Fatalf("compare %+v", c)
	}
	c, err = f.d.Compare(ctx, 1, f.feature, f.c2, 250, DiffLimits{})
	if err != nil || c.Ahead != 0 || c.Behind != 2 || len(c.Commits) != 0 || len(c.Diff.Files) != 0 {
		t.Fatalf("compare behind %+v %v", c, err)
	}
}

func TestListRefsAndArchive(t *testing.T) {
	ctx := context.Background()
	f := newBrowseFixture(t)
	bs, err := f.d.ListRefs(ctx, 1, Branches, 0, 10)
	if err != nil || len(bs) != 2 || bs[0].Name != "feature/x" || bs[1].Name != "main" || bs[1].Commit != f.c3 || bs[1].Date.IsZero() {
		t.Fatalf("branches %+v %v", bs, err)
	}
	bs, err = f.d.ListRefs(ctx, 1, Branches, 1, 10)
	if err != nil || len(bs) != 1 || bs[0].Name != "main" {
		t.Fatalf("branches after skip %+v %v", bs, err)
	}
	ts, err := f.d.ListRefs(ctx, 1, Tags, 0, 10)
	if err != nil || len(ts) != 2 {
		t.Fatalf("tags %+v %v", ts, err)
	}
	for _, tg := range ts {
		switch tg.Name {
		case "v1.0":
			if tg.ObjectType != "tag" || tg.Commit != f.c2 || tg.Object == f.c2 {
				t.Errorf("annotated tag %+v", tg)
			}
		case "feature":
			if tg.ObjectType != "commit" || tg.Commit != f.c1 {
				t.Errorf("lightweight tag %+v", tg)
			}
		}
	}
	all, err := f.d.ListRefs(ctx, 1, AllRefs, 0, 1)
	if err != nil || len(all) != 1 || all[0].Full != "refs/heads/feature/x" {
		t.Fatalf("all refs, limit 1: %+v %v", all, err)
	}

	var tgz bytes.Buffer
	if err := f.d.Archive(ctx, 1, f.c3, TarGz, "demo-main", &tgz); err != nil {
		t.Fatal(err)
	}
	zr, err := gzip.NewReader(&tgz)
	if err != nil {
		t.Fatal(err)
	}
	tarData, _ := io.ReadAll(zr)
	if !bytes.Contains(tarData, []byte("demo-main/docs/guide.md")) {
		t.Error("tar.gz lacks demo-main/docs/guide.md")
	}
	var zbuf bytes.Buffer
	if err := f.d.Archive(ctx, 1, f.c3, Zip, "../../evil", &zbuf); err != nil {
		t.Fatal(err)
	}
	zf, err := zip.NewReader(bytes.NewReader(zbuf.Bytes()), int64(zbuf.Len()))
	if err != nil {
		t.Fatal(err)
	}
	for _, file := range zf.File {
		if strings.Contains(file.Name, "..") || !strings.HasPrefix(file.Name, "evil/") {
			t.Errorf("zip entry %q escapes its prefix", file.Name)
		}
	}
	if err := f.d.Archive(ctx, 1, "main", Zip, "x", io.Discard); !errors.Is(err, ErrInvalidName) {
		t.Errorf("archive of an unresolved name: %v", err)
	}
}

// A read gives up with the context: a cancelled request stops git.
func TestBrowseCancelled(t *testing.T) {
	f := newBrowseFixture(t)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := f.d.Log(ctx, 1, f.c3, "", 0, 10); err == nil {
		t.Fatal("Log ran with a cancelled context")
	}
}

func FuzzCleanPath(f *testing.F) {
	for _, s := range []string{"", "a/b", "../x", "a/./b", "/a/", "a\x00b", "a//b", "..", "%2e%2e"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		p, err := CleanPath(s)
		if err != nil {
			return
		}
		if strings.ContainsAny(p, "\x00\n") || strings.HasPrefix(p, "/") || strings.HasSuffix(p, "/") {
			t.Fatalf("CleanPath(%q) = %q", s, p)
		}
		for _, seg := range strings.Split(p, "/") {
			if p != "" && (seg == "" || seg == "." || seg == "..") {
				t.Fatalf("CleanPath(%q) = %q keeps segment %q", s, p, seg)
			}
		}
	})
}

func FuzzValidRefName(f *testing.F) {
	for _, s := range []string{"main", "feature/x", "-x", "a..b", "a:b", "refs/heads/main", "@{1}", "a\nb"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if !ValidRefName(s) {
			return
		}
		if strings.HasPrefix(s, "-") || strings.Contains(s, "..") || strings.ContainsAny(s, ":\x00\n ^~") {
			t.Fatalf("ValidRefName(%q) accepted", s)
		}
	})
}
