package api_test

import (
	"context"
	"encoding/base64"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-github/v89/github"

	"github.com/gatehouse/gatehouse/internal/testenv"
)

// pushDemo gives alice/NAME a history pushed with real git: "Start"
// (README.md, docs/guide.md, src/app.go), tag v1.0, "Change the guide" on
// main, and a branch feature/x with "Add a feature".
func pushDemo(t *testing.T, s *server, tok, name string) {
	t.Helper()
	g := testenv.NewGit(t, s.CAFile)
	g.UseCredentialHelper()
	work := filepath.Join(t.TempDir(), name)
	g.MustRun("", "init", "-q", work)
	write := func(p, content string) {
		t.Helper()
		full := filepath.Join(work, p)
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(full, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("README.md", "# "+name+"\n\nRead through the API.\n")
	write("docs/guide.md", "First steps.\n")
	write("src/app.go", "package app\n")
	g.MustRun(work, "add", "-A")
	g.MustRun(work, "commit", "-q", "-m", "Start")
	g.MustRun(work, "tag", "-a", "-m", "one", "v1.0")
	write("docs/guide.md", "First steps.\nSecond steps.\n")
	g.MustRun(work, "commit", "-q", "-am", "Change the guide")
	g.MustRun(work, "checkout", "-q", "-b", "feature/x")
	write("feature.txt", "new\n")
	g.MustRun(work, "add", "-A")
	g.MustRun(work, "commit", "-q", "-m", "Add a feature")
	g.MustRunAs(work, "alice", tok, "push", "-q", s.URL+"/alice/"+name+".git", "main", "feature/x", "v1.0")
}

// TestGoGitHubBrowse reads a repository through go-github as a tool
// would: contents, README, branches, tags, history, one commit, a
// comparison, a ref and an archive link.
func TestGoGitHubBrowse(t *testing.T) {
	s := startServer(t)
	tok := s.Token("alice", "browse", "repo", "7d")
	hc := s.Client(t)
	hc.Timeout = 30 * time.Second
	client, err := github.NewClient(github.WithHTTPClient(hc), github.WithAuthToken(tok), github.WithEnterpriseURLs(s.base, s.base))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if _, _, err := client.Repositories.Create(ctx, "", &github.Repository{Name: github.Ptr("demo"), Private: github.Ptr(true)}); err != nil {
		t.Fatal(err)
	}
	pushDemo(t, s, tok, "demo")

	file, _, _, err := client.Repositories.GetContents(ctx, "alice", "demo", "docs/guide.md", nil)
	if err != nil {
		t.Fatal(err)
	}
	if text, err := file.GetContent(); err != nil || text != "First steps.\nSecond steps.\n" || file.GetType() != "file" || file.GetSHA() == "" {
		t.Errorf("GetContents file: %q %v %+v", text, err, file)
	}
	_, dir, _, err := client.Repositories.GetContents(ctx, "alice", "demo", "", &github.RepositoryContentGetOptions{Ref: "v1.0"})
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range dir {
		names = append(names, e.GetName()+":"+e.GetType())
	}
	if strings.Join(names, " ") != "docs:dir src:dir README.md:file" {
		t.Errorf("GetContents directory at v1.0: %v", names)
	}
	readme, _, err := client.Repositories.GetReadme(ctx, "alice", "demo", nil)
	if text, _ := readme.GetContent(); err != nil || !strings.HasPrefix(text, "# demo") {
		t.Errorf("GetReadme: %q %v", text, err)
	}

	branches, _, err := client.Repositories.ListBranches(ctx, "alice", "demo", nil)
	if err != nil || len(branches) != 2 || branches[0].GetName() != "feature/x" || branches[1].GetName() != "main" || branches[1].GetCommit().GetSHA() == "" {
		t.Fatalf("ListBranches: %+v %v", branches, err)
	}
	feature, _, err := client.Repositories.GetBranch(ctx, "alice", "demo", "feature/x", 0)
	if err != nil || feature.GetCommit().GetCommit().GetMessage() != "Add a feature" {
		t.Errorf("GetBranch feature/x: %+v %v", feature, err)
	}
	tags, _, err := client.Repositories.ListTags(ctx, "alice", "demo", nil)
	if err != nil || len(tags) != 1 || tags[0].GetName() != "v1.0" {
		t.Errorf("ListTags: %+v %v", tags, err)
	}
	ref, _, err := client.Git.GetRef(ctx, "alice", "demo", "heads/feature/x")
	if err != nil || ref.GetObject().GetSHA() != feature.GetCommit().GetSHA() || ref.GetObject().GetType() != "commit" {
		t.Errorf("GetRef: %+v %v", ref, err)
	}

	// The history of feature/x, one commit a page, following Link.
	var subjects []string
	opts := &github.CommitsListOptions{SHA: "feature/x", ListOptions: github.ListOptions{PerPage: 1}}
	for {
		page, resp, err := client.Repositories.ListCommits(ctx, "alice", "demo", opts)
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range page {
			subjects = append(subjects, c.GetCommit().GetMessage())
		}
		if resp.NextPage == 0 {
			break
		}
		opts.Page = resp.NextPage
	}
	if strings.Join(subjects, "|") != "Add a feature|Change the guide|Start" {
		t.Errorf("ListCommits: %q", subjects)
	}
	guideOnly, _, err := client.Repositories.ListCommits(ctx, "alice", "demo", &github.CommitsListOptions{Path: "docs/guide.md"})
	if err != nil || len(guideOnly) != 2 {
		t.Errorf("ListCommits of docs/guide.md: %d %v", len(guideOnly), err)
	}

	commit, _, err := client.Repositories.GetCommit(ctx, "alice", "demo", "main", nil)
	if err != nil {
		t.Fatal(err)
	}
	if commit.GetCommit().GetMessage() != "Change the guide" || len(commit.Files) != 1 || commit.Files[0].GetFilename() != "docs/guide.md" ||
		commit.Files[0].GetStatus() != "modified" || commit.GetStats().GetAdditions() != 1 || !strings.Contains(commit.Files[0].GetPatch(), "+Second steps.") {
		t.Errorf("GetCommit: %+v", commit)
	}

	cmp, _, err := client.Repositories.CompareCommits(ctx, "alice", "demo", "v1.0", "feature/x", nil)
	if err != nil {
		t.Fatal(err)
	}
	if cmp.GetStatus() != "ahead" || cmp.GetAheadBy() != 2 || cmp.GetBehindBy() != 0 || len(cmp.Commits) != 2 || len(cmp.Files) != 2 {
		t.Errorf("CompareCommits: %s ahead %d behind %d, %d commits, %d files", cmp.GetStatus(), cmp.GetAheadBy(), cmp.GetBehindBy(), len(cmp.Commits), len(cmp.Files))
	}

	for _, format := range []github.ArchiveFormat{github.Tarball, github.Zipball} {
		link, resp, err := client.Repositories.GetArchiveLink(ctx, "alice", "demo", format, &github.RepositoryContentGetOptions{Ref: "v1.0"}, 0)
		if err != nil || resp.StatusCode != http.StatusFound || link == nil || link.Host != s.host {
			t.Fatalf("GetArchiveLink %s: %v %v", format, link, err)
		}
		// The link serves the private repository to the token's holder.
		req, _ := http.NewRequest("GET", link.String(), nil)
		req.Header.Set("Authorization", "token "+tok)
		dl, err := hc.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		head := make([]byte, 2)
		_, _ = io.ReadFull(dl.Body, head)
		dl.Body.Close()
		if dl.StatusCode != 200 || (string(head) != "\x1f\x8b" && string(head) != "PK") {
			t.Errorf("download %s: %d %q", format, dl.StatusCode, head)
		}
		// Without the token it does not exist.
		anon, err := hc.Get(link.String())
		if err != nil {
			t.Fatal(err)
		}
		anon.Body.Close()
		if anon.StatusCode != http.StatusNotFound {
			t.Errorf("anonymous download of a private archive: %d", anon.StatusCode)
		}
	}
}

// TestGHBrowse: gh repo view shows the README of a pushed repository, and
// gh api returns a file's contents.
func TestGHBrowse(t *testing.T) {
	gh := testenv.RequireOneOf(t, "gh", "apt-get install -y gh", "gh")
	s := startServer(t)
	tok := s.Token("alice", "gh", "repo,read:org", "7d")
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	session := newGH(t, ctx, s, gh, tok)
	session.run("repo", "create", "shown", "--public")
	pushDemo(t, s, tok, "shown")
	if out := session.run("repo", "view", "alice/shown"); !strings.Contains(out, "Read through the API.") {
		t.Errorf("gh repo view does not show the README:\n%s", out)
	}
	out := session.run("api", "repos/alice/shown/contents/docs/guide.md?ref=v1.0", "--jq", ".content")
	b, err := base64.StdEncoding.DecodeString(strings.ReplaceAll(strings.TrimSpace(out), "\n", ""))
	if err != nil || string(b) != "First steps.\n" {
		t.Errorf("gh api contents: %q %q %v", out, b, err)
	}
	if out := session.run("api", "repos/alice/shown/contents/README.md", "-H", "Accept: application/vnd.github.raw"); !strings.HasPrefix(out, "# shown") {
		t.Errorf("gh api raw contents: %q", out)
	}
}
