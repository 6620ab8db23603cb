package web

import (
	"bufio"
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/gitrepo"
	"github.com/gatehouse/gatehouse/internal/service"
	"github.com/gatehouse/gatehouse/internal/sqldb"
)

// BenchmarkBrowseLarge times the browsing pages on a generated repository
// of GATEHOUSE_BENCH_FILES files (default 100,000: src/mNNN/fNNNNN.go,
// 1,000 directories of 100) and GATEHOUSE_BENCH_COMMITS commits (default
// 50,000, each changing one file), and reports each page's p50 and p99.
// Generating takes a minute or two; run it with bench/browse.sh or
//
//	go test ./internal/web -run '^$' -bench BrowseLarge -benchtime 30x
func BenchmarkBrowseLarge(b *testing.B) {
	files := envInt("GATEHOUSE_BENCH_FILES", 100000)
	commits := envInt("GATEHOUSE_BENCH_COMMITS", 50000)
	e := newBenchEnv(b)
	repo, err := e.svc.CreateRepo(context.Background(), system, service.NewRepo{Owner: "alice", Name: "big"})
	if err != nil {
		b.Fatal(err)
	}
	start := time.Now()
	generate(b, e.repos.Path(repo.ID), files, commits)
	// As the server does after a push: one pack, a bitmap, a commit-graph.
	if err := e.repos.Repack(context.Background(), repo.ID); err != nil {
		b.Fatal(err)
	}
	b.Logf("generated %d files, %d commits in %v (repacked)", files, commits, time.Since(start).Round(time.Second))
	last := fmt.Sprintf("src/m%03d/f%05d.go", (files-1)/100, files-1)
	pages := []struct{ name, path string }{
		{"tree_root", "/alice/big/tree/main"},
		{"tree_1000_dirs", "/alice/big/tree/main/src"},
		{"tree_100_files", fmt.Sprintf("/alice/big/tree/main/src/m%03d", files/200)},
		{"blob", "/alice/big/blob/main/" + last},
		{"raw", "/alice/big/raw/main/" + last},
		{"commits", "/alice/big/commits/main"},
		{"commits_page_1000", "/alice/big/commits/main?page=1000"},
		{"commits_of_file", "/alice/big/commits/main/" + last},
		{"commit", "/alice/big/commit/main"},
	}
	hc := &http.Client{}
	for _, p := range pages {
		b.Run(p.name, func(b *testing.B) {
			var ds []time.Duration
			for b.Loop() {
				t0 := time.Now()
				resp, err := hc.Get(e.url + p.path)
				if err != nil {
					b.Fatal(err)
				}
				_, _ = bufio.NewReader(resp.Body).WriteTo(discard{})
				resp.Body.Close()
				ds = append(ds, time.Since(t0))
				if resp.StatusCode != 200 {
					b.Fatalf("%s: %d", p.path, resp.StatusCode)
				}
			}
			slices.Sort(ds)
			b.ReportMetric(float64(ds[len(ds)/2].Microseconds())/1000, "p50-ms")
			b.ReportMetric(float64(ds[min(len(ds)-1, len(ds)*99/100)].Microseconds())/1000, "p99-ms")
		})
	}
}

type discard struct{}

func (discard) Write(p []byte) (int, error) { return len(p), nil }

func envInt(name string, def int) int {
	if n, err := strconv.Atoi(os.Getenv(name)); err == nil && n > 0 {
		return n
	}
	return def
}

// benchEnv is the web UI over a fresh SQLite store, served by httptest,
// with the user alice.
type benchEnv struct {
	svc   *service.Service
	repos *gitrepo.Dir
	url   string
}

func newBenchEnv(b *testing.B) *benchEnv {
	b.Helper()
	dir := b.TempDir()
	st, err := sqldb.Open(context.Background(), filepath.Join(dir, "g.db"))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { st.Close() })
	repos := &gitrepo.Dir{Root: filepath.Join(dir, "repos")}
	svc := service.MustNew(service.Config{Store: st, Audit: st, Keys: st, Sessions: st, Reminders: st, Orgs: st, Repos: repos,
		Mailer: discardMailer{}, ExternalURL: "https://git.example.com"})
	srv := httptest.NewServer(New(Config{Service: svc, Repos: repos, ExternalURL: "https://git.example.com",
		Log: slog.New(slog.DiscardHandler)}))
	b.Cleanup(srv.Close)
	if _, err := svc.CreateUser(context.Background(), system, service.NewUser{Login: "alice", Email: "alice@example.com"}); err != nil {
		b.Fatal(err)
	}
	return &benchEnv{svc: svc, repos: repos, url: srv.URL}
}

// generate writes the synthetic history into the bare repository at bare
// with git fast-import: one commit adding every file, then commits that
// each rewrite one file.
func generate(b *testing.B, bare string, files, commits int) {
	b.Helper()
	cmd := exec.Command("git", "-C", bare, "fast-import", "--quiet", "--force")
	cmd.Stderr = os.Stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		b.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	w := bufio.NewWriterSize(stdin, 1<<20)
	path := func(i int) string { return fmt.Sprintf("src/m%03d/f%05d.go", i/100, i) }
	const t0 = 1700000000
	for c := 1; c <= commits; c++ {
		msg := fmt.Sprintf("change %d", c)
		fmt.Fprintf(w, "commit refs/heads/main\ncommitter Bench <bench@example.com> %d +0000\ndata %d\n%s\n", t0+c*60, len(msg), msg)
		if c == 1 {
			readme := "# big\n\nA generated repository.\n"
			fmt.Fprintf(w, "M 100644 inline README.md\ndata %d\n%s\n", len(readme), readme)
			for i := 0; i < files; i++ {
				body := fmt.Sprintf("package m%03d\n\n// F%d is file %d.\nfunc F%d() int { return %d }\n", i/100, i, i, i, i)
				fmt.Fprintf(w, "M 100644 inline %s\ndata %d\n%s\n", path(i), len(body), body)
			}
			continue
		}
		i := (c * 7919) % files
		if c == commits {
			i = files - 1
		}
		body := fmt.Sprintf("package m%03d\n\n// F%d was changed by commit %d.\nfunc F%d() int { return %d }\n", i/100, i, c, i, c)
		fmt.Fprintf(w, "M 100644 inline %s\ndata %d\n%s\n", path(i), len(body), body)
	}
	if err := w.Flush(); err != nil {
		b.Fatal(err)
	}
	stdin.Close()
	if err := cmd.Wait(); err != nil {
		b.Fatal(err)
	}
}
