package server

import (
	"bufio"
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/gatehouse/gatehouse"
	"github.com/gatehouse/gatehouse/internal/auth"
	"github.com/gatehouse/gatehouse/internal/gitrepo"
	"github.com/gatehouse/gatehouse/internal/metrics"
	"github.com/gatehouse/gatehouse/internal/service"
	"github.com/gatehouse/gatehouse/internal/sqldb"
	"github.com/gatehouse/gatehouse/internal/token"
)

type metricsMailer struct{}

func (metricsMailer) Send(context.Context, gatehouse.Message) error { return nil }

// metricsEnv is a server over a fresh store whose metrics go to a
// registry of its own, as serve wires them.
type metricsEnv struct {
	h     http.Handler
	token string // alice's, with the repo scope
}

func newMetricsEnv(t *testing.T, access string, pack *gitrepo.PackCache) *metricsEnv {
	t.Helper()
	ctx := context.Background()
	dir := t.TempDir()
	st, err := sqldb.Open(ctx, filepath.Join(dir, "gatehouse.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	repos := &gitrepo.Dir{Root: filepath.Join(dir, "repositories"), PackCache: pack}
	reg := metrics.NewRegistry()
	svc := service.MustNew(service.Config{
		Store: st, Audit: st, Keys: st, Sessions: st, Reminders: st, Orgs: st,
		Repos: repos, Mailer: metricsMailer{}, Auth: auth.Config{Observer: metrics.NewTokens(reg)},
	})
	system := gatehouse.SystemActor()
	alice, err := svc.CreateUser(ctx, system, service.NewUser{Login: "alice", Email: "alice@example.com"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := svc.CreateRepo(ctx, system, service.NewRepo{Owner: "alice", Name: "open"}); err != nil {
		t.Fatal(err)
	}
	it, err := svc.CreateToken(ctx, system, service.NewToken{UserID: alice.ID, Note: "t", Scopes: []string{"repo"}, Expires: "never"})
	if err != nil {
		t.Fatal(err)
	}
	s := New(svc, Options{Repos: repos, Metrics: access, Registry: reg, Version: "9.9.9-test"})
	return &metricsEnv{h: s.Handler(), token: it.Secret}
}

// do sends a request from a loopback client (credentials are refused over
// plain HTTP from anywhere else) and returns the status.
func (e *metricsEnv) do(t *testing.T, method, target, auth string) int {
	t.Helper()
	req := httptest.NewRequest(method, target, nil)
	req.RemoteAddr = "127.0.0.1:40000"
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	rec := httptest.NewRecorder()
	e.h.ServeHTTP(rec, req)
	return rec.Code
}

// scrape reads /metrics from a loopback client and returns each series
// with its value.
func (e *metricsEnv) scrape(t *testing.T) map[string]string {
	t.Helper()
	return scrape(t, e.h)
}

// scrape fetches h's /metrics in the text format, from a loopback client.
func scrape(t *testing.T, h http.Handler) map[string]string {
	t.Helper()
	req := httptest.NewRequest("GET", "/metrics", nil)
	req.RemoteAddr = "127.0.0.1:40000"
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	if rec.Code != http.StatusOK {
		t.Fatalf("GET /metrics: %d %s", rec.Code, rec.Body)
	}
	series := map[string]string{}
	sc := bufio.NewScanner(rec.Body)
	for sc.Scan() {
		line := sc.Text()
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		i := strings.LastIndexByte(line, ' ')
		series[line[:i]] = line[i+1:]
	}
	return series
}

// value is series' value in got as a number (0 when absent).
func value(t *testing.T, got map[string]string, series string) float64 {
	t.Helper()
	v, ok := got[series]
	if !ok {
		return 0
	}
	f, err := strconv.ParseFloat(v, 64)
	if err != nil {
		t.Fatalf("%s = %q", series, v)
	}
	return f
}

// delta runs do and returns how much each of series grew meanwhile.
func (e *metricsEnv) delta(t *testing.T, do func(), series ...string) []float64 {
	t.Helper()
	before := e.scrape(t)
	do()
	after := e.scrape(t)
	d := make([]float64, len(series))
	for i, s := range series {
		d[i] = value(t, after, s) - value(t, before, s)
	}
	return d
}

func TestMetricsCountRequests(t *testing.T) {
	e := newMetricsEnv(t, "loopback", nil)
	bad, err := token.Generate(token.DefaultPrefix)
	if err != nil {
		t.Fatal(err)
	}
	const (
		apiOK      = `gatehouse_http_request_duration_seconds_count{code="2xx",group="api",method="GET"}`
		api4xx     = `gatehouse_http_request_duration_seconds_count{code="4xx",group="api",method="GET"}`
		gitOK      = `gatehouse_http_request_duration_seconds_count{code="2xx",group="git",method="GET"}`
		git4xx     = `gatehouse_http_request_duration_seconds_count{code="4xx",group="git",method="POST"}`
		web        = `gatehouse_http_request_duration_seconds_count{code="2xx",group="web",method="GET"}`
		other      = `gatehouse_http_request_duration_seconds_count{code="2xx",group="other",method="GET"}`
		advOK      = `gatehouse_git_http_requests_total{outcome="ok",request="advertisement",service="upload-pack"}`
		advSent    = `gatehouse_git_http_sent_bytes_total{request="advertisement",service="upload-pack"}`
		pushNoAuth = `gatehouse_git_http_requests_total{outcome="refused",request="rpc",service="receive-pack"}`
		tokOK      = `gatehouse_token_checks_total{outcome="ok"}`
		tokBad     = `gatehouse_token_checks_total{outcome="bad"}`
		tokJunk    = `gatehouse_token_checks_total{outcome="malformed"}`
		hit        = `gatehouse_token_cache_lookups_total{result="hit"}`
		miss       = `gatehouse_token_cache_lookups_total{result="miss"}`
	)
	for _, c := range []struct {
		name   string
		do     func()
		series []string
		want   []float64
	}{
		{"an API request with a bad token", func() { e.do(t, "GET", "/api/v3/user", "token "+bad) },
			[]string{api4xx, tokBad, miss, tokOK}, []float64{1, 1, 1, 0}},
		{"an API request with a malformed token", func() { e.do(t, "GET", "/api/v3/user", "token nonsense") },
			[]string{api4xx, tokJunk, miss, tokBad}, []float64{1, 1, 0, 0}},
		{"two API requests with a good token", func() {
			e.do(t, "GET", "/api/v3/user", "token "+e.token)
			e.do(t, "GET", "/api/v3/user", "Bearer "+e.token)
		}, []string{apiOK, tokOK, miss, hit}, []float64{2, 2, 1, 1}},
		{"a ref advertisement", func() {
			if code := e.do(t, "GET", "/alice/open.git/info/refs?service=git-upload-pack", ""); code != 200 {
				t.Errorf("info/refs: %d", code)
			}
		}, []string{gitOK, advOK}, []float64{1, 1}},
		{"a push without credentials", func() {
			if code := e.do(t, "POST", "/alice/open.git/git-receive-pack", ""); code/100 != 4 {
				t.Errorf("git-receive-pack: %d", code)
			}
		}, []string{git4xx, pushNoAuth, tokBad}, []float64{1, 1, 0}},
		{"a page", func() { e.do(t, "GET", "/alice", "") }, []string{web}, []float64{1}},
		// The scrape before counts too, once it has answered.
		{"health", func() { e.do(t, "GET", "/healthz", "") }, []string{other}, []float64{2}},
	} {
		got := e.delta(t, c.do, c.series...)
		for i, s := range c.series {
			if got[i] != c.want[i] {
				t.Errorf("%s: %s grew by %v, want %v", c.name, s, got[i], c.want[i])
			}
		}
	}
	got := e.scrape(t)
	if value(t, got, advSent) <= 0 {
		t.Errorf("%s = %v after an advertisement", advSent, got[advSent])
	}
	for series, want := range map[string]string{
		`gatehouse_build_info{version="9.9.9-test"}`:      "1",
		`gatehouse_git_processes{transport="http"}`:       "0",
		`gatehouse_git_processes_limit{transport="http"}`: "64",
		`gatehouse_git_pushes_total{transport="http"}`:    "0",
	} {
		if got[series] != want {
			t.Errorf("%s = %q, want %s", series, got[series], want)
		}
	}
	for _, prefix := range []string{"go_goroutines", "process_", "gatehouse_http_requests_in_flight"} {
		found := false
		for s := range got {
			found = found || strings.HasPrefix(s, prefix)
		}
		if !found {
			t.Errorf("no %s… in /metrics", prefix)
		}
	}
	for s := range got {
		if strings.Contains(s, `"alice"`) || strings.Contains(s, `"open"`) || strings.Contains(s, "/") || strings.Contains(s, e.token[:10]) {
			t.Errorf("a series names a user, repository or token: %s", s)
		}
	}
}

// A real git clone and push through the instrumented handler: git's
// streaming still works through the wrapped writer, and the push, its
// bytes and its processes are counted.
func TestMetricsRealGit(t *testing.T) {
	if _, err := exec.LookPath("git"); err != nil {
		t.Skip("SKIPPING: git is not installed")
	}
	e := newMetricsEnv(t, "loopback", nil)
	srv := httptest.NewServer(e.h)
	defer srv.Close()
	url := strings.Replace(srv.URL, "http://", "http://alice:"+e.token+"@", 1) + "/alice/open.git"
	dir := t.TempDir()
	git := func(args ...string) {
		t.Helper()
		cmd := exec.Command("git", args...)
		cmd.Dir = dir
		cmd.Env = append(os.Environ(), "GIT_TERMINAL_PROMPT=0", "GIT_CONFIG_NOSYSTEM=1", "HOME="+dir,
			"GIT_AUTHOR_NAME=a", "GIT_AUTHOR_EMAIL=a@example.com", "GIT_COMMITTER_NAME=a", "GIT_COMMITTER_EMAIL=a@example.com")
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("git %s: %v\n%s", args[0], err, out)
		}
	}
	git("init", "-q", "-b", "main", "w")
	dir = filepath.Join(dir, "w")
	if err := os.WriteFile(filepath.Join(dir, "README"), []byte(strings.Repeat("hello\n", 1000)), 0o644); err != nil {
		t.Fatal(err)
	}
	git("add", ".")
	git("commit", "-q", "-m", "first")
	git("push", "-q", url, "main")
	git("clone", "-q", url, filepath.Join(dir, "clone"))

	got := e.scrape(t)
	for series, want := range map[string]float64{
		`gatehouse_git_pushes_total{transport="http"}`:                                                   1,
		`gatehouse_git_http_requests_total{outcome="ok",request="rpc",service="receive-pack"}`:           1,
		`gatehouse_git_http_requests_total{outcome="ok",request="advertisement",service="receive-pack"}`: 1,
		// Protocol v2: ls-refs, then fetch.
		`gatehouse_git_http_requests_total{outcome="ok",request="rpc",service="upload-pack"}`: 2,
		`gatehouse_git_processes{transport="http"}`:                                           0,
		`gatehouse_http_requests_in_flight{group="git"}`:                                      0,
	} {
		if v := value(t, got, series); v != want {
			t.Errorf("%s = %v, want %v", series, v, want)
		}
	}
	for _, series := range []string{
		`gatehouse_git_http_received_bytes_total{request="rpc",service="receive-pack"}`,
		`gatehouse_git_http_sent_bytes_total{request="rpc",service="upload-pack"}`,
	} {
		if value(t, got, series) <= 0 {
			t.Errorf("%s = %q, want more than 0", series, got[series])
		}
	}
}

// Who may read /metrics: --metrics loopback (the default), open, off.
func TestMetricsAccess(t *testing.T) {
	for _, c := range []struct {
		access              string
		loopback, elsewhere int
	}{
		{"", 200, 404},
		{"loopback", 200, 404},
		{"open", 200, 200},
		{"off", 404, 404},
	} {
		e := newMetricsEnv(t, c.access, nil)
		for _, from := range []struct {
			addr string
			want int
		}{{"127.0.0.1:40000", c.loopback}, {"[::1]:40000", c.loopback}, {"203.0.113.5:40000", c.elsewhere}} {
			req := httptest.NewRequest("GET", "/metrics", nil)
			req.RemoteAddr = from.addr
			rec := httptest.NewRecorder()
			e.h.ServeHTTP(rec, req)
			if rec.Code != from.want {
				t.Errorf("--metrics %q from %s: %d, want %d", c.access, from.addr, rec.Code, from.want)
			}
			if rec.Code == 200 && !strings.Contains(rec.Body.String(), "gatehouse_build_info") {
				t.Errorf("--metrics %q: the scrape has no gatehouse_build_info", c.access)
			}
		}
	}
}

// The pack cache's metrics are registered with the server's when the
// repositories have one.
func TestMetricsPackCache(t *testing.T) {
	const hits = "gatehouse_pack_cache_hits_total"
	if _, ok := newMetricsEnv(t, "loopback", nil).scrape(t)[hits]; ok {
		t.Errorf("%s without a pack cache", hits)
	}
	if got := newMetricsEnv(t, "loopback", &gitrepo.PackCache{Generations: 2}).scrape(t)[hits]; got != "0" {
		t.Errorf("%s = %q with a pack cache, want 0", hits, got)
	}
}
