package web

import (
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/gatehouse/gatehouse/internal/testenv"
)

// TestBrowseRepository is a visitor reading a public repository in
// Chromium: from the repository page into a directory, a file with its
// highlighted lines, a line anchor, the switcher to a tag (the same file
// as it was then), the file's history and one commit with its diff.
func TestBrowseRepository(t *testing.T) {
	chromium(t)
	g := newGit(t)
	srv := testenv.Start(t, testenv.Options{})
	srv.CreateUser("alice", false)
	tok := srv.Token("alice", "push", "repo", "7d")

	req, err := http.NewRequest("POST", srv.URL+"/api/v3/user/repos", strings.NewReader(`{"name":"demo","description":"A demo"}`))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "token "+tok)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("create repository: %d %s", resp.StatusCode, body)
	}

	work := filepath.Join(t.TempDir(), "demo")
	g.MustRun("", "init", "-q", work)
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
	var guide strings.Builder
	for i := 1; i <= 30; i++ {
		fmt.Fprintf(&guide, "Step %d of the guide.\n", i)
	}
	write("README.md", "# demo\n\nA repository to **browse**.\n")
	write("docs/guide.md", guide.String())
	write("src/app.go", "package app\n\n// Hello greets.\nfunc Hello() string { return \"hello\" }\n")
	g.MustRun(work, "add", "-A")
	g.MustRun(work, "commit", "-q", "-m", "Start the guide")
	g.MustRun(work, "tag", "v1.0")
	write("docs/guide.md", strings.Replace(guide.String(), "Step 12 of the guide.", "Step 12, rewritten.", 1))
	g.MustRun(work, "commit", "-q", "-am", "Rewrite step 12")
	g.MustRunAs(work, "alice", tok, "push", "-q", srv.RepoURL("alice/demo"), "main", "v1.0")

	p := &page{t: t, ctx: newBrowser(t), base: srv.URL, shot: artifacts(t)}
	t.Log("the repository page links into its directories")
	p.run("open repository", chromedp.Navigate(srv.URL+"/alice/demo"), chromedp.WaitVisible(".file-list", chromedp.ByQuery))
	p.clickText(".file-list", "docs/")
	p.waitPath("/alice/demo/tree/main/docs")
	if got := p.text(".path"); got != "demo / docs" {
		t.Errorf("breadcrumbs %q", got)
	}
	if got := p.text(".tree-table .entry-commit"); got != "Rewrite step 12" {
		t.Errorf("last commit of guide.md: %q", got)
	}
	p.screenshot("en-browse-tree")

	t.Log("a file, highlighted, with line numbers")
	p.clickText(".tree-table", "guide.md")
	p.waitPath("/alice/demo/blob/main/docs/guide.md")
	var lines int
	p.eval(`document.querySelectorAll("table.lines tr[id^=L]").length`, &lines)
	if lines != 30 {
		t.Errorf("%d numbered lines, want 30", lines)
	}
	if got := p.text("#L12 .lc"); got != "Step 12, rewritten." {
		t.Errorf("line 12 reads %q", got)
	}

	t.Log("a line anchor marks its line")
	p.clickText("#L12", "12")
	var target struct{ Hash, ID, Background string }
	p.eval(`({Hash: location.hash, ID: document.querySelector(":target") && document.querySelector(":target").id,
		Background: getComputedStyle(document.querySelector("#L12")).backgroundColor})`, &target)
	if target.Hash != "#L12" || target.ID != "L12" || target.Background == "rgba(0, 0, 0, 0)" {
		t.Errorf("after following the anchor: %+v", target)
	}
	p.screenshot("en-browse-blob-anchor")

	t.Log("switch to the tag: the same file as it was")
	p.run("open switcher", chromedp.Click("#ref-switcher summary", chromedp.ByQuery), chromedp.WaitVisible("#ref-switcher .ref-list", chromedp.ByQuery))
	p.screenshot("en-browse-switcher")
	p.clickText("#ref-switcher", "v1.0")
	p.waitPath("/alice/demo/blob/v1.0/docs/guide.md")
	if got := p.text("#current-ref"); got != "v1.0" {
		t.Errorf("the switcher shows %q", got)
	}
	if got := p.text("#L12 .lc"); got != "Step 12 of the guide." {
		t.Errorf("line 12 at v1.0 reads %q", got)
	}

	t.Log("the file's history, then a commit")
	p.run("back to main", chromedp.Navigate(srv.URL+"/alice/demo/blob/main/docs/guide.md"), chromedp.WaitVisible("table.lines", chromedp.ByQuery))
	p.clickText(".blob-head", "History")
	p.waitPath("/alice/demo/commits/main/docs/guide.md")
	var subjects []string
	p.eval(`[...document.querySelectorAll(".commit-subject")].map(e => e.textContent)`, &subjects)
	if strings.Join(subjects, "|") != "Rewrite step 12|Start the guide" {
		t.Errorf("history %q", subjects)
	}
	p.screenshot("en-browse-commits")
	p.clickText(".commit-list", "Rewrite step 12")
	var path string
	p.eval("location.pathname", &path)
	if !strings.HasPrefix(path, "/alice/demo/commit/") {
		p.waitPath("/alice/demo/commit/") // fails with where the browser is
	}
	p.run("wait for the diff", chromedp.WaitVisible("table.diff", chromedp.ByQuery))
	var del, add string
	p.eval(`document.querySelector("tr.d-del .lc").textContent`, &del)
	p.eval(`document.querySelector("tr.d-add .lc").textContent`, &add)
	if del != "-Step 12 of the guide." || add != "+Step 12, rewritten." {
		t.Errorf("diff lines %q %q", del, add)
	}
	if got := p.text(".diff-summary"); got != "1 changed files with 1 additions and 1 deletions" {
		t.Errorf("summary %q", got)
	}
	p.screenshot("en-browse-commit")
}
