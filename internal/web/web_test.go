package web

import (
	"context"
	"flag"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse"
	"github.com/gatehouse/gatehouse/internal/authz"
	"github.com/gatehouse/gatehouse/internal/gitrepo"
	"github.com/gatehouse/gatehouse/internal/service"
	"github.com/gatehouse/gatehouse/internal/sqldb"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

// fixedNow is the clock of every handler test: far enough in the future
// that the stores' own wall-clock checks (session expiry) agree with it.
var fixedNow = time.Date(2030, 6, 14, 9, 30, 0, 0, time.UTC)

const testPassword = "a good long password"

// fakeThrottle locks a client out after max failures.
type fakeThrottle struct {
	mu       sync.Mutex
	max      int
	failures map[string]int
}

func (f *fakeThrottle) Failed(ip string) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.failures[ip]++
	return f.failures[ip] >= f.max
}

func (f *fakeThrottle) Locked(ip string) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.failures[ip] >= f.max
}

// env is a web handler over a fresh database, served by httptest.
type env struct {
	t    *testing.T
	st   *sqldb.DB
	svc  *service.Service
	srv  *httptest.Server
	thr  *fakeThrottle
	base string
}

func newEnv(t *testing.T) *env {
	t.Helper()
	dir := t.TempDir()
	st, err := sqldb.Open(context.Background(), filepath.Join(dir, "g.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	repos := &gitrepo.Dir{Root: filepath.Join(dir, "repos")}
	now := func() time.Time { return fixedNow }
	svc := &service.Service{Store: st, Repos: repos, Audit: st, Now: now}
	e := &env{t: t, st: st, svc: svc, thr: &fakeThrottle{max: 5, failures: map[string]int{}}}
	e.srv = httptest.NewUnstartedServer(nil)
	e.srv.Start()
	t.Cleanup(e.srv.Close)
	e.base = e.srv.URL
	h := New(Config{Store: st, Sessions: st, Service: svc, Authz: &authz.Authorizer{Store: st}, Throttle: e.thr,
		Repos: repos, ExternalURL: "https://git.example.com", Now: now})
	e.srv.Config.Handler = h
	return e
}

// user creates an account with testPassword.
func (e *env) user(login string, admin bool) *gatehouse.User {
	e.t.Helper()
	u, err := e.svc.CreateUser(context.Background(), service.NewUser{Login: login, Email: login + "@example.com", Password: testPassword, SiteAdmin: admin})
	if err != nil {
		e.t.Fatal(err)
	}
	return u
}

// client is a browser: a cookie jar and the language it asks for.
type client struct {
	e    *env
	hc   *http.Client
	lang string
}

func (e *env) client() *client {
	jar, _ := cookiejar.New(nil)
	return &client{e: e, hc: &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error {
		return http.ErrUseLastResponse
	}}}
}

// response is what a request returned.
type response struct {
	Status   int
	Location string
	Body     string
}

func (c *client) do(method, path string, form url.Values, hdr map[string]string) response {
	c.e.t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequest(method, c.e.base+path, body)
	if err != nil {
		c.e.t.Fatal(err)
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	if c.lang != "" {
		req.Header.Set("Accept-Language", c.lang)
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	res, err := c.hc.Do(req)
	if err != nil {
		c.e.t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return response{Status: res.StatusCode, Location: res.Header.Get("Location"), Body: string(b)}
}

func (c *client) get(path string) response { c.e.t.Helper(); return c.do("GET", path, nil, nil) }

var csrfRe = regexp.MustCompile(`name="csrf_token" value="([^"]+)"`)

// post sends a form as the page at from would, with that page's token.
func (c *client) post(from, path string, form url.Values) response {
	c.e.t.Helper()
	page := c.get(from)
	m := csrfRe.FindStringSubmatch(page.Body)
	if m == nil {
		c.e.t.Fatalf("GET %s (%d) has no form token:\n%s", from, page.Status, page.Body)
	}
	if form == nil {
		form = url.Values{}
	}
	form.Set("csrf_token", m[1])
	return c.do("POST", path, form, nil)
}

// signIn signs in through the form and enters sudo mode when asked.
func (c *client) signIn(login string, sudo bool) {
	c.e.t.Helper()
	res := c.post("/login", "/login", url.Values{"login": {login}, "password": {testPassword}})
	if res.Status != http.StatusSeeOther {
		c.e.t.Fatalf("sign in as %s: %d\n%s", login, res.Status, res.Body)
	}
	if sudo {
		res = c.post("/settings/profile", "/sudo", url.Values{"password": {testPassword}, "return_to": {"/"}})
		if res.Status != http.StatusSeeOther {
			c.e.t.Fatalf("sudo: %d\n%s", res.Status, res.Body)
		}
	}
}

var (
	secretRe = regexp.MustCompile(`gtp_[0-9A-Za-z]{36}`)
	codeRe   = regexp.MustCompile(`code=[0-9a-f]{48}|name="code" value="[0-9a-f]{48}"`)
)

// lastEightRe matches the random tail of a token in audit log details.
var lastEightRe = regexp.MustCompile(`last_eight=[A-Za-z0-9]{8}`)

// golden compares a page with testdata/NAME.html after replacing what
// changes from run to run (form tokens, token secrets, setup codes, the
// real date on which rows were stored).
func golden(t *testing.T, name string, body string) {
	t.Helper()
	body = csrfRe.ReplaceAllString(body, `name="csrf_token" value="CSRF"`)
	body = secretRe.ReplaceAllString(body, "gtp_SECRET")
	body = codeRe.ReplaceAllString(body, "SETUPCODE")
	body = lastEightRe.ReplaceAllString(body, "last_eight=LASTEIGHT")
	today := time.Now().UTC()
	for _, lang := range Languages {
		body = strings.ReplaceAll(body, localizer(lang).Date(today), "TODAY")
	}
	file := filepath.Join("testdata", name+".html")
	if *update {
		if err := os.WriteFile(file, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(file)
	if err != nil {
		t.Fatalf("%v (run go test ./internal/web -update to create it)", err)
	}
	if string(want) != body {
		t.Errorf("page %s differs from %s (run with -update to accept):\n%s", name, file, diff(string(want), body))
	}
}

// diff shows the first differing lines.
func diff(want, got string) string {
	wl, gl := strings.Split(want, "\n"), strings.Split(got, "\n")
	for i := 0; i < len(wl) || i < len(gl); i++ {
		var w, g string
		if i < len(wl) {
			w = wl[i]
		}
		if i < len(gl) {
			g = gl[i]
		}
		if w != g {
			return "line " + strconv.Itoa(i+1) + ":\n  want: " + w + "\n  got:  " + g
		}
	}
	return ""
}

func wantStatus(t *testing.T, what string, res response, status int) {
	t.Helper()
	if res.Status != status {
		t.Fatalf("%s: status %d, want %d\n%s", what, res.Status, status, res.Body)
	}
}
