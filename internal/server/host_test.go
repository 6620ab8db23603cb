package server

import (
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse"
	"github.com/gatehouse/gatehouse/internal/api"
	"github.com/gatehouse/gatehouse/internal/gitrepo"
	"github.com/gatehouse/gatehouse/internal/service"
	"github.com/gatehouse/gatehouse/internal/sqldb"
	"github.com/gatehouse/gatehouse/internal/tlsutil"
)

func TestBases(t *testing.T) {
	tests := []struct {
		name   string
		scheme string
		addr   string
		certs  []string
		want   []string
	}{
		{"loopback", "http", "127.0.0.1:3000", nil,
			[]string{"http://127.0.0.1:3000", "http://localhost:3000", "http://[::1]:3000"}},
		{"loopback v6 with self-signed names", "https", "[::1]:3000", []string{"localhost", "127.0.0.1", "::1"},
			[]string{"https://[::1]:3000", "https://localhost:3000", "https://127.0.0.1:3000"}},
		{"every interface, default port, operator's certificate", "https", "0.0.0.0:443", []string{"Git.Example.com", "*.example.com", "10.0.0.5"},
			[]string{"https://localhost:443", "https://localhost", "https://127.0.0.1:443", "https://127.0.0.1",
				"https://[::1]:443", "https://[::1]", "https://git.example.com:443", "https://git.example.com",
				"https://10.0.0.5:443", "https://10.0.0.5"}},
		{"one interface: no loopback names", "http", "10.0.0.11:3000", nil,
			[]string{"http://10.0.0.11:3000"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			addr, err := net.ResolveTCPAddr("tcp", tt.addr)
			if err != nil {
				t.Fatal(err)
			}
			if got := Bases(tt.scheme, addr, tt.certs); !slices.Equal(got, tt.want) {
				t.Errorf("Bases(%s, %s, %q)\n got %q\nwant %q", tt.scheme, tt.addr, tt.certs, got, tt.want)
			}
		})
	}
}

// TestCertNames: the names of --tls-self-signed's certificate are the
// ones Bases adds.
func TestCertNames(t *testing.T) {
	ss, err := tlsutil.EnsureSelfSigned(t.TempDir(), []string{"git.internal"}, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := tlsutil.Config(ss.CertFile, ss.KeyFile)
	if err != nil {
		t.Fatal(err)
	}
	got := CertNames(cfg)
	slices.Sort(got)
	if want := []string{"127.0.0.1", "::1", "git.internal", "localhost"}; !slices.Equal(got, want) {
		t.Errorf("CertNames = %q, want %q", got, want)
	}
	if CertNames(nil) != nil {
		t.Error("CertNames(nil) is not empty")
	}
}

// hostEnv is a server over a real store, with alice, two repositories of
// hers and a token.
type hostEnv struct {
	h     http.Handler
	token string
}

func newHostEnv(t *testing.T, external string, bases []string, rate api.RateLimit) *hostEnv {
	t.Helper()
	ctx := context.Background()
	dir := t.TempDir()
	st, err := sqldb.Open(ctx, filepath.Join(dir, "gatehouse.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	repos := &gitrepo.Dir{Root: filepath.Join(dir, "repositories")}
	svc := service.MustNew(service.Config{
		Store: st, Audit: st, Keys: st, Sessions: st, Reminders: st, Orgs: st,
		Repos: repos, Mailer: hostTestMailer{}, ExternalURL: external,
	})
	system := gatehouse.SystemActor()
	alice, err := svc.CreateUser(ctx, system, service.NewUser{Login: "alice", Email: "alice@example.com"})
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"one", "two"} {
		if _, err := svc.CreateRepo(ctx, system, service.NewRepo{Owner: "alice", Name: name}); err != nil {
			t.Fatal(err)
		}
	}
	it, err := svc.CreateToken(ctx, system, service.NewToken{UserID: alice.ID, Note: "t", Scopes: []string{"repo"}, Expires: "never"})
	if err != nil {
		t.Fatal(err)
	}
	s := New(svc, Options{Repos: repos, ExternalURL: external, Bases: bases, RateLimit: rate})
	return &hostEnv{h: s.Handler(), token: it.Secret}
}

type hostTestMailer struct{}

func (hostTestMailer) Send(context.Context, gatehouse.Message) error { return nil }

// get requests path from a loopback client with the given Host header.
func (e *hostEnv) get(t *testing.T, host, path string, auth bool) *http.Response {
	t.Helper()
	req := httptest.NewRequest("GET", path, nil)
	req.Host = host
	req.RemoteAddr = "127.0.0.1:50000"
	if auth {
		req.Header.Set("Authorization", "Bearer "+e.token)
	}
	w := httptest.NewRecorder()
	e.h.ServeHTTP(w, req)
	return w.Result()
}

// repoURLs returns every URL-valued field of the repositories in a
// /user/repos answer, and the Link header.
func repoURLs(t *testing.T, resp *http.Response) []string {
	t.Helper()
	if resp.StatusCode != 200 {
		b, _ := io.ReadAll(resp.Body)
		t.Fatalf("status %d: %s", resp.StatusCode, b)
	}
	var repos []map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&repos); err != nil {
		t.Fatal(err)
	}
	if len(repos) == 0 {
		t.Fatal("no repositories")
	}
	var urls []string
	for _, r := range repos {
		for _, k := range []string{"url", "html_url", "clone_url"} {
			urls = append(urls, r[k].(string))
		}
	}
	if link := resp.Header.Get("Link"); link != "" {
		for _, part := range strings.Split(link, ",") {
			u, _, _ := strings.Cut(strings.TrimSpace(part), ">")
			urls = append(urls, strings.TrimPrefix(u, "<"))
		}
	} else {
		t.Error("no Link header")
	}
	return urls
}

func TestURLsFollowHost(t *testing.T) {
	const listen = "http://127.0.0.1:3000"
	addr := &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 3000}
	e := newHostEnv(t, listen, Bases("http", addr, nil), api.RateLimit{})
	for _, tt := range []struct{ host, want string }{
		{"localhost:3000", "http://localhost:3000/"},
		{"LocalHost:3000", "http://localhost:3000/"},
		{"127.0.0.1:3000", listen + "/"},
		{"[::1]:3000", "http://[::1]:3000/"},
		// Names the server does not answer to, or another port: the
		// listen address, never the header.
		{"evil.example", listen + "/"},
		{"evil.example:3000", listen + "/"},
		{"localhost:4000", listen + "/"},
		{"localhost", listen + "/"},
		{"", listen + "/"},
	} {
		t.Run(tt.host, func(t *testing.T) {
			for _, u := range repoURLs(t, e.get(t, tt.host, "/api/v3/user/repos?per_page=1", true)) {
				if !strings.HasPrefix(u, tt.want) {
					t.Errorf("Host %q: URL %s, want it to start with %s", tt.host, u, tt.want)
				}
			}
			resp := e.get(t, tt.host, "/alice/one", false)
			body, _ := io.ReadAll(resp.Body)
			if resp.StatusCode != 200 || !strings.Contains(string(body), tt.want+"alice/one.git") {
				t.Errorf("Host %q: repository page (%d) has no clone URL %salice/one.git", tt.host, resp.StatusCode, tt.want)
			}
			if strings.Contains(string(body), "evil.example") {
				t.Errorf("Host %q: the page names the forged host", tt.host)
			}
		})
	}
}

func TestExternalURLWins(t *testing.T) {
	const external = "https://git.example.com"
	e := newHostEnv(t, external, nil, api.RateLimit{})
	for _, host := range []string{"localhost:3000", "127.0.0.1:3000", "evil.example"} {
		for _, u := range repoURLs(t, e.get(t, host, "/api/v3/user/repos?per_page=1", true)) {
			if !strings.HasPrefix(u, external+"/") {
				t.Errorf("Host %q: URL %s, want %s", host, u, external)
			}
		}
	}
}

// TestRateLimitSharedAcrossHosts: a client has one budget whatever name
// it connects with.
func TestRateLimitSharedAcrossHosts(t *testing.T) {
	addr := &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 3000}
	e := newHostEnv(t, "http://127.0.0.1:3000", Bases("http", addr, nil), api.RateLimit{PerHour: 2})
	for i, tt := range []struct {
		host          string
		status        int
		remainingWant string
	}{
		{"localhost:3000", 200, "1"},
		{"127.0.0.1:3000", 200, "0"},
		{"[::1]:3000", 403, "0"},
		{"evil.example", 403, "0"},
	} {
		resp := e.get(t, tt.host, "/api/v3/user", true)
		if resp.StatusCode != tt.status || resp.Header.Get("X-Ratelimit-Remaining") != tt.remainingWant {
			t.Errorf("call %d via %s: %d, remaining %q; want %d, %q", i+1, tt.host, resp.StatusCode,
				resp.Header.Get("X-Ratelimit-Remaining"), tt.status, tt.remainingWant)
		}
	}
}
