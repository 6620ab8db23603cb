package web

import (
	"context"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/service"
)

// pushHistory pushes a fixed history (the same commit ids on every run)
// to the bare repository at bare:
//
//	"Start": README.md, cmd/main.go, docs/guide.md, logo.png, page.html,
//	         icon.svg, data.bin, link -> ../../../etc/passwd
//	"Greet": cmd/main.go changed, docs/guide.md removed
//
// on main; tag v1.0 (annotated) at "Start"; branch release/1.x at "Start".
func pushHistory(t *testing.T, bare string) {
	t.Helper()
	work := t.TempDir()
	env := []string{"PATH=" + os.Getenv("PATH"), "HOME=" + work, "GIT_CONFIG_NOSYSTEM=1", "GIT_CONFIG_GLOBAL=/dev/null",
		"GIT_AUTHOR_NAME=Alice Liddell", "GIT_AUTHOR_EMAIL=alice@example.com",
		"GIT_COMMITTER_NAME=Alice Liddell", "GIT_COMMITTER_EMAIL=alice@example.com"}
	n := 0
	git := func(args ...string) {
		t.Helper()
		n++
		date := time.Date(2030, 6, 1, 8, n, 0, 0, time.UTC).Format(time.RFC3339)
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
	write("README.md", "# Notes\n\nThings to **remember**.\n")
	write("cmd/main.go", "package main\n\nfunc main() {}\n")
	write("docs/guide.md", "Read me first.\n")
	write("logo.png", "\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01")
	write("page.html", "<script>alert(document.cookie)</script>\n")
	write("icon.svg", `<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>`)
	write("data.bin", "\x00\x01\x02binary")
	if err := os.Symlink("../../../etc/passwd", filepath.Join(work, "link")); err != nil {
		t.Fatal(err)
	}
	git("add", "-A")
	git("commit", "-q", "-m", "Start")
	git("tag", "-a", "-m", "One", "v1.0")
	git("branch", "release/1.x")
	write("cmd/main.go", "package main\n\nimport \"fmt\"\n\n// main greets.\nfunc main() { fmt.Println(\"<hello>\") }\n")
	git("rm", "-q", "docs/guide.md")
	git("add", "-A")
	git("commit", "-q", "-m", "Greet\n\nSay <hello> to everyone.")
	git("push", "-q", bare, "refs/heads/*:refs/heads/*", "refs/tags/*:refs/tags/*")
}

// browseEnv has alice's public notes and private diary, both holding
// pushHistory, and the users alice and bob.
func browseEnv(t *testing.T) *env {
	t.Helper()
	ctx := context.Background()
	e := newEnv(t)
	e.user("alice", false)
	e.user("bob", false)
	for _, r := range []struct {
		name    string
		private bool
	}{{"notes", false}, {"diary", true}} {
		repo, err := e.svc.CreateRepo(ctx, system, service.NewRepo{Owner: "alice", Name: r.name, Private: r.private})
		if err != nil {
			t.Fatal(err)
		}
		pushHistory(t, e.repos.Path(repo.ID))
	}
	return e
}

func TestBrowsePagesGolden(t *testing.T) {
	e := browseEnv(t)
	c := e.client()
	c.signIn("alice", false)
	for _, tc := range []struct{ name, path string }{
		{"browse_tree", "/alice/notes/tree/main"},
		{"browse_tree_dir", "/alice/notes/tree/v1.0/docs"},
		{"browse_blob", "/alice/notes/blob/main/cmd/main.go"},
		{"browse_blob_image", "/alice/notes/blob/release/1.x/logo.png"},
		{"browse_blob_binary", "/alice/notes/blob/main/data.bin"},
		{"browse_blob_symlink", "/alice/notes/blob/main/link"},
		{"browse_commits", "/alice/notes/commits/main"},
		{"browse_commit", "/alice/notes/commit/main"},
		{"browse_branches", "/alice/notes/branches"},
		{"browse_tags", "/alice/notes/tags"},
	} {
		res := c.get(tc.path)
		wantStatus(t, tc.path, res, http.StatusOK)
		golden(t, tc.name, res.Body)
	}
	ja := e.client()
	ja.lang = "ja"
	for _, tc := range []struct{ name, path string }{
		{"ja_browse_tree", "/alice/notes/tree/main"},
		{"ja_browse_commit", "/alice/notes/commit/main"},
	} {
		res := ja.get(tc.path)
		wantStatus(t, tc.path, res, http.StatusOK)
		golden(t, tc.name, res.Body)
	}
}

func TestBrowsePages(t *testing.T) {
	e := browseEnv(t)
	anon := e.client()
	// The README of the directory, line anchors, the switcher pointing
	// at the same file on every ref, the highlighted code escaped.
	res := anon.get("/alice/notes/tree/main")
	for _, want := range []string{"<strong>remember</strong>", `href="/alice/notes/tree/main/cmd"`, `href="/alice/notes/blob/main/README.md"`,
		`href="/alice/notes/archive/main.zip"`, "Greet", `href="/alice/notes/tree/v1.0"`, `href="/alice/notes/tree/release/1.x"`} {
		if !strings.Contains(res.Body, want) {
			t.Errorf("tree page lacks %s", want)
		}
	}
	res = anon.get("/alice/notes/blob/main/cmd/main.go")
	for _, want := range []string{`<tr id="L6"><td class="ln"><a href="#L6">6</a>`, `href="/alice/notes/blob/v1.0/cmd/main.go"`,
		"&lt;hello&gt;", `<link rel="stylesheet" href="/static/highlight.css">`, `class="kn"`} {
		if !strings.Contains(res.Body, want) {
			t.Errorf("blob page lacks %s", want)
		}
	}
	if strings.Contains(res.Body, "<hello>") || strings.Contains(res.Body, "style=") {
		t.Error("the blob page holds unescaped code or an inline style")
	}
	// Directories and files redirect to their own view.
	if res := anon.get("/alice/notes/blob/main/cmd"); res.Status != http.StatusSeeOther || res.Location != "/alice/notes/tree/main/cmd" {
		t.Errorf("blob of a directory: %d %s", res.Status, res.Location)
	}
	if res := anon.get("/alice/notes/tree/main/README.md"); res.Status != http.StatusSeeOther || res.Location != "/alice/notes/blob/main/README.md" {
		t.Errorf("tree of a file: %d %s", res.Status, res.Location)
	}
	// History paging and a path's history.
	res = anon.get("/alice/notes/commits/main/docs/guide.md")
	if res.Status != 200 || !strings.Contains(res.Body, "Greet") || !strings.Contains(res.Body, "Start") {
		t.Errorf("history of docs/guide.md: %d", res.Status)
	}
	res = anon.get("/alice/notes/commit/main")
	if !strings.Contains(res.Body, `<tr class="d-add"><td class="lc">&#43;func main() { fmt.Println(&#34;&lt;hello&gt;&#34;) }</td></tr>`) {
		t.Errorf("commit page lacks the escaped added line:\n%s", res.Body)
	}
}

// rawGet fetches path and returns the response with its body.
func rawGet(t *testing.T, e *env, path string) (*http.Response, string) {
	t.Helper()
	resp, err := http.Get(e.base + path)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

// The raw view never serves HTML or anything a browser would run from
// this origin: text as text/plain, raster images as themselves, the rest
// (SVG included) as downloads, always sandboxed and never sniffed.
func TestRawIsNeverActive(t *testing.T) {
	e := browseEnv(t)
	for _, tc := range []struct {
		path, ctype, disposition, body string
	}{
		{"/alice/notes/raw/main/README.md", "text/plain; charset=utf-8", "inline", "# Notes\n\nThings to **remember**.\n"},
		{"/alice/notes/raw/main/page.html", "text/plain; charset=utf-8", "inline", "<script>alert(document.cookie)</script>\n"},
		{"/alice/notes/raw/main/icon.svg", "image/svg+xml", "attachment", ""},
		{"/alice/notes/raw/main/logo.png", "image/png", "inline", ""},
		{"/alice/notes/raw/main/data.bin", "application/octet-stream", "attachment", ""},
		{"/alice/notes/raw/v1.0/docs/guide.md", "text/plain; charset=utf-8", "inline", "Read me first.\n"},
		{"/alice/notes/raw/main/link", "text/plain; charset=utf-8", "inline", "../../../etc/passwd"},
	} {
		resp, body := rawGet(t, e, tc.path)
		h := resp.Header
		if resp.StatusCode != 200 || h.Get("Content-Type") != tc.ctype || !strings.HasPrefix(h.Get("Content-Disposition"), tc.disposition) ||
			h.Get("X-Content-Type-Options") != "nosniff" || !strings.Contains(h.Get("Content-Security-Policy"), "sandbox") {
			t.Errorf("%s: %d %v", tc.path, resp.StatusCode, h)
		}
		if tc.body != "" && body != tc.body {
			t.Errorf("%s: body %q", tc.path, body)
		}
	}
	resp, _ := rawGet(t, e, "/alice/notes/archive/v1.0.tar.gz")
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "application/x-gzip" || !strings.Contains(resp.Header.Get("Content-Disposition"), "notes-v1.0.tar.gz") {
		t.Errorf("archive: %d %v", resp.StatusCode, resp.Header)
	}
}

// A private repository is not found, on every view, by those who may not
// read it; its owner reads it.
func TestBrowsePrivate(t *testing.T) {
	e := browseEnv(t)
	owner := e.client()
	owner.signIn("alice", false)
	bob := e.client()
	bob.signIn("bob", false)
	for _, p := range browsePaths {
		p = strings.Replace(p, "/alice/open/", "/alice/diary/", 1)
		if res := owner.get(p); res.Status != http.StatusOK {
			t.Errorf("alice: GET %s: %d", p, res.Status)
		}
		for name, c := range map[string]*client{"anonymous": e.client(), "bob": bob} {
			res := c.get(p)
			if res.Status != http.StatusNotFound || strings.Contains(res.Body, "Notes") || strings.Contains(res.Body, "diary") && strings.Contains(res.Body, "README") {
				t.Errorf("%s: GET %s: %d", name, p, res.Status)
			}
		}
	}
}

// Path and ref tricks are not found; nothing outside the repository is
// ever shown.
func TestBrowseTricks(t *testing.T) {
	e := browseEnv(t)
	c := e.client()
	for _, p := range []string{
		"/alice/notes/tree/main/%2e%2e/%2e%2e",
		"/alice/notes/blob/main/docs%2Fguide.md",
		"/alice/notes/blob/main/cmd%2fmain.go",
		"/alice/notes/raw/main/a%00b",
		"/alice/notes/raw/main/..%5c..%5cconfig",
		"/alice/notes/tree/-main",
		"/alice/notes/tree/--output=x/y",
		"/alice/notes/blob/main:README.md",
		"/alice/notes/blob/main..v1.0/README.md",
		"/alice/notes/raw/main@{0}/README.md",
		"/alice/notes/raw/HEAD~1/README.md",
		"/alice/notes/tree/nope",
		"/alice/notes/blob/main/nope.md",
		"/alice/notes/commits/main/../../etc",
		"/alice/notes/commit/--all",
		"/alice/notes/commit/main..v1.0",
		"/alice/notes/archive/--remote=x.zip",
		"/alice/notes/archive/main.exe",
		"/alice/notes/branches/x",
		"/alice/notes/nosuchview/main",
	} {
		res := c.get(p)
		// A path that is not clean is redirected to its clean form by the
		// server's router, which then is not found either.
		for i := 0; i < 3 && (res.Status == http.StatusMovedPermanently || res.Status == http.StatusTemporaryRedirect); i++ {
			res = c.get(res.Location)
		}
		if res.Status != http.StatusNotFound {
			t.Errorf("GET %s: %d %s", p, res.Status, res.Location)
		}
		if strings.Contains(res.Body, "root:") || strings.Contains(res.Body, "[core]") {
			t.Errorf("GET %s shows a file outside the repository", p)
		}
	}
}
