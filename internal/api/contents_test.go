package api

import (
	"archive/zip"
	"bytes"
	"compress/gzip"
	"context"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// history pushes a fixed history to repository id, so that every commit
// id is the same on every run:
//
//	c1 "Add the docs": README.md, docs/guide.md, docs/README.md, src/main.go, link -> ../../etc/passwd
//	c2 "Change main": src/main.go changed, docs/guide.md removed
//
// on main; feature/x (c2 + feature.txt); tags v1.0 (annotated, at c1) and
// v2.0 (lightweight, at c2).
func history(t testing.TB, bare string) {
	t.Helper()
	work := t.TempDir()
	env := []string{"PATH=" + os.Getenv("PATH"), "HOME=" + work, "GIT_CONFIG_NOSYSTEM=1", "GIT_CONFIG_GLOBAL=/dev/null",
		"GIT_AUTHOR_NAME=Alice Liddell", "GIT_AUTHOR_EMAIL=alice@example.com",
		"GIT_COMMITTER_NAME=Alice Liddell", "GIT_COMMITTER_EMAIL=alice@example.com"}
	n := 0
	git := func(args ...string) {
		t.Helper()
		n++
		date := time.Date(2026, 4, 1, 10, n, 0, 0, time.UTC).Format(time.RFC3339)
		cmd := exec.Command("git", args...)
		cmd.Dir = work
		cmd.Env = append(env, "GIT_AUTHOR_DATE="+date, "GIT_COMMITTER_DATE="+date)
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("git %s: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
	write := func(name, content string) {
		t.Helper()
		p := filepath.Join(work, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	git("init", "-q", "--initial-branch=main")
	write("README.md", "# browse\n\nA repository to read.\n")
	write("docs/README.md", "# Docs\n")
	write("docs/guide.md", "Read me first.\n")
	write("src/main.go", "package main\n\nfunc main() {}\n")
	if err := os.Symlink("../../etc/passwd", filepath.Join(work, "link")); err != nil {
		t.Fatal(err)
	}
	git("add", "-A")
	git("commit", "-q", "-m", "Add the docs")
	git("tag", "-a", "-m", "The first version", "v1.0")
	write("src/main.go", "package main\n\nimport \"fmt\"\n\nfunc main() { fmt.Println(\"hi\") }\n")
	git("rm", "-q", "docs/guide.md")
	git("add", "-A")
	git("commit", "-q", "-m", "Change main\n\nSay hi.")
	git("tag", "v2.0")
	git("checkout", "-q", "-b", "feature/x")
	write("feature.txt", "new\n")
	git("add", "-A")
	git("commit", "-q", "-m", "Add a feature")
	git("push", "-q", bare, "refs/heads/*:refs/heads/*", "refs/tags/*:refs/tags/*")
}

// browseEnv is the API over alice's public repository "browse" holding
// history, her private "secret" (the same history) and her empty "empty".
func browseEnv(t *testing.T) *env {
	t.Helper()
	e := newEnv(t)
	for _, r := range []struct {
		name    string
		private bool
	}{{"browse", false}, {"secret", true}} {
		repo := e.repo(t, e.alice, r.name, r.private)
		history(t, e.repos.Path(repo.ID))
	}
	e.repo(t, e.alice, "empty", false)
	return e
}

// TestContentGolden locks the JSON of the content routes.
func TestContentGolden(t *testing.T) {
	e := browseEnv(t)
	tok := "token " + e.token(t, e.alice, "all", allScopes()...)
	base := Prefix + "/repos/alice/browse"
	for _, tc := range []struct {
		name, path string
		header     http.Header
	}{
		{"contents_file", base + "/contents/README.md", nil},
		{"contents_dir", base + "/contents/docs?ref=v1.0", nil},
		{"contents_root", base + "/contents/", nil},
		{"contents_symlink", base + "/contents/link", nil},
		{"contents_object", base + "/contents/src", http.Header{"Accept": {mediaObject}}},
		{"readme_dir", base + "/readme/docs", nil},
		{"branches", base + "/branches", nil},
		{"branch_get", base + "/branches/feature%2Fx", nil},
		{"tags", base + "/tags", nil},
		{"commits", base + "/commits?per_page=1&sha=main", nil},
		{"commit_get", base + "/commits/main", nil},
		{"git_refs", base + "/git/refs", nil},
		{"git_ref", base + "/git/ref/tags/v1.0", nil},
		{"git_refs_prefix", base + "/git/refs/heads", nil},
		{"matching_refs", base + "/git/matching-refs/heads/fea", nil},
		{"compare", base + "/compare/v1.0...feature/x", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := e.doWith(t, "GET", tc.path, tok, tc.header, nil)
			if w.Code != http.StatusOK {
				t.Fatalf("status %d: %s", w.Code, w.Body)
			}
			goldenJSON(t, tc.name, w)
		})
	}
}

func TestContentBehaviour(t *testing.T) {
	e := browseEnv(t)
	tok := "token " + e.token(t, e.alice, "all", allScopes()...)
	base := Prefix + "/repos/alice/browse"

	// The raw media type: the bytes, never as HTML.
	w := e.doWith(t, "GET", base+"/contents/src/main.go?ref=v1.0", "", http.Header{"Accept": {"application/vnd.github.raw"}}, nil)
	if w.Code != 200 || w.Body.String() != "package main\n\nfunc main() {}\n" || !strings.HasPrefix(w.Header().Get("Content-Type"), "application/vnd.github.raw") ||
		w.Header().Get("X-Content-Type-Options") != "nosniff" {
		t.Errorf("raw contents: %d %q %v", w.Code, w.Body, w.Header())
	}

	// Paging the history with a Link header.
	w = e.do(t, "GET", base+"/commits?sha=feature/x&per_page=1&page=2", tok, nil)
	commits := decodeBody[[]map[string]any](t, w)
	link := w.Header().Get("Link")
	if w.Code != 200 || len(commits) != 1 || commits[0]["commit"].(map[string]any)["message"] != "Change main\n\nSay hi." ||
		!strings.Contains(link, `page=3&per_page=1&sha=feature%2Fx>; rel="next"`) || !strings.Contains(link, `rel="prev"`) {
		t.Errorf("commits page 2: %d %s %s", w.Code, link, w.Body)
	}
	w = e.do(t, "GET", base+"/commits?path=docs/guide.md", tok, nil)
	if commits := decodeBody[[]map[string]any](t, w); len(commits) != 2 {
		t.Errorf("history of docs/guide.md: %s", w.Body)
	}
	w = e.do(t, "GET", Prefix+"/repos/alice/empty/commits", tok, nil)
	expectError(t, w, http.StatusConflict, "Git Repository is empty.")

	// Archives: a 302 naming the commit, then the stream.
	for _, tc := range []struct{ link, magic string }{{"/tarball/v1.0", "\x1f\x8b"}, {"/zipball", "PK"}, {"/tarball", "\x1f\x8b"}} {
		w = e.do(t, "GET", base+tc.link, tok, nil)
		loc := w.Header().Get("Location")
		if w.Code != http.StatusFound || !strings.HasPrefix(loc, testBase+base+"/legacy.") {
			t.Fatalf("%s: %d %q", tc.link, w.Code, loc)
		}
		w = e.do(t, "GET", strings.TrimPrefix(loc, testBase), tok, nil)
		if w.Code != 200 || !strings.HasPrefix(w.Body.String(), tc.magic) || !strings.Contains(w.Header().Get("Content-Disposition"), "alice-browse-") {
			t.Fatalf("%s download: %d %v", tc.link, w.Code, w.Header())
		}
		if tc.magic == "PK" {
			zr, err := zip.NewReader(bytes.NewReader(w.Body.Bytes()), int64(w.Body.Len()))
			if err != nil || len(zr.File) == 0 || !strings.HasPrefix(zr.File[0].Name, "alice-browse-") {
				t.Fatalf("zip: %v", err)
			}
		} else {
			gz, err := gzip.NewReader(w.Body)
			if err != nil {
				t.Fatal(err)
			}
			if b, _ := io.ReadAll(gz); !bytes.Contains(b, []byte("README.md")) {
				t.Fatal("tarball lacks README.md")
			}
		}
	}

	// The private copy: the same answers for alice, 404 for everyone else.
	bob := "token " + e.token(t, e.bob, "bob", allScopes()...)
	for _, p := range []string{"/contents/README.md", "/readme", "/branches", "/tags", "/commits", "/git/refs", "/compare/v1.0...main", "/tarball", "/legacy.zip/main"} {
		if w := e.do(t, "GET", Prefix+"/repos/alice/secret"+p, tok, nil); w.Code/100 != 2 && w.Code != http.StatusFound {
			t.Errorf("alice %s: %d %s", p, w.Code, w.Body)
		}
		for _, who := range []string{"", bob} {
			w := e.do(t, "GET", Prefix+"/repos/alice/secret"+p, who, nil)
			expectError(t, w, http.StatusNotFound, msgNotFound)
		}
	}
	if strings.Contains(e.logs.String(), "root:") {
		t.Error("a file outside the repository reached the log")
	}
}

// Path and ref tricks are refused (404) or read exactly as git reads
// them; nothing outside the repository is ever read.
func TestContentTricks(t *testing.T) {
	e := browseEnv(t)
	tok := "token " + e.token(t, e.alice, "all", allScopes()...)
	base := Prefix + "/repos/alice/browse"
	for _, p := range []string{
		"/contents/%2e%2e/%2e%2e/config",
		"/contents/docs%2FREADME.md",
		"/contents/docs%2freadme.md",
		"/contents/a%00b",
		"/contents/docs/..%2F..%2Fconfig",
		"/contents/README.md?ref=--output=/tmp/pwned",
		"/contents/README.md?ref=../../config",
		"/contents/README.md?ref=main:README.md",
		"/contents/README.md?ref=main..v1.0",
		"/contents/README.md?ref=main%00",
		"/contents/README.md?ref=-h",
		"/contents/README.md?ref=main@{0}",
		"/contents/README.md?ref=refs/../../config",
		"/contents/nope",
		"/contents/README.md/x",
		"/readme/..%2F..",
		"/branches/..%2F..%2Fconfig",
		"/branches/-x",
		"/branches/v1.0", // a tag, not a branch
		"/commits/--all",
		"/commits/main..v1.0",
		"/commits?sha=--all",
		"/commits?path=../../etc/passwd",
		"/commits?path=docs/./x",
		"/git/ref/heads/nope",
		"/git/ref/..%2Fconfig",
		"/git/refs/nope",
		"/compare/main...--output=x",
		"/compare/main",
		"/compare/user:main...main",
		"/tarball/--remote=x",
		"/legacy.zip/--format=tar",
	} {
		w := e.do(t, "GET", base+p, tok, nil)
		if w.Code != http.StatusNotFound && w.Code != http.StatusUnprocessableEntity {
			t.Errorf("GET %s: %d, want 404: %s", p, w.Code, w.Body)
		}
	}
	// The symbolic link to /etc/passwd is the link's own text.
	w := e.doWith(t, "GET", base+"/contents/link", tok, http.Header{"Accept": {"application/vnd.github.raw"}}, nil)
	if strings.Contains(w.Body.String(), "root:") {
		t.Fatal("a symbolic link was followed out of the repository")
	}
	// Names git reads in other ways resolve the way git does: a short id,
	// a full ref, a tag peeled to its commit.
	w = e.do(t, "GET", base+"/commits/v1.0", tok, nil)
	full := decodeBody[map[string]any](t, w)["sha"].(string)
	for _, ref := range []string{full[:7], "refs/tags/v1.0", "tags/v1.0", full} {
		w := e.do(t, "GET", base+"/commits/"+ref, tok, nil)
		if w.Code != 200 || decodeBody[map[string]any](t, w)["sha"] != full {
			t.Errorf("commits/%s: %d %s", ref, w.Code, w.Body)
		}
	}
}

// The contents of a large tree are cut at 1,000 entries.
func TestContentsLargeDirectory(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a 1,200-file tree")
	}
	e := newEnv(t)
	repo := e.repo(t, e.alice, "wide", false)
	ctx := context.Background()
	var in bytes.Buffer
	in.WriteString("commit refs/heads/main\ncommitter A <a@example.com> 1700000000 +0000\ndata 4\nwide\n")
	for i := 0; i < 1200; i++ {
		in.WriteString("M 100644 inline f" + strings.Repeat("0", 4-len(itoa(i))) + itoa(i) + "\ndata 2\nx\n\n")
	}
	cmd := exec.CommandContext(ctx, "git", "-C", e.repos.Path(repo.ID), "fast-import", "--quiet")
	cmd.Stdin = &in
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("fast-import: %v %s", err, out)
	}
	w := e.do(t, "GET", Prefix+"/repos/alice/wide/contents/", "", nil)
	if items := decodeBody[[]map[string]any](t, w); len(items) != maxContentEntries {
		t.Fatalf("%d entries", len(items))
	}
}
