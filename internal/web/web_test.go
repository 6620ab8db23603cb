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
	"github.com/gatehouse/gatehouse/internal/auth"
	"github.com/gatehouse/gatehouse/internal/gitrepo"
	"github.com/gatehouse/gatehouse/internal/service"
	"github.com/gatehouse/gatehouse/internal/sqldb"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

// fixedNow is the clock of every handler test: far enough in the future
// that the stores' own wall-clock checks (session expiry) agree with it.
var fixedNow = time.Date(2030, 6, 14, 9, 30, 0, 0, time.UTC)

const testPassword = "a good long password"

// maxFailures is the sign-in throttle of every handler test: the
// service locks a client address out after this many failures within
// failureWindow.
const (
	maxFailures   = 5
	failureWindow = 15 * time.Minute
)

// clock is the test's clock, shared by the service and the handler; the
// handler's goroutines read it while a test moves it.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = t
}

// discardMailer accepts every message; no handler test reads mail.
type discardMailer struct{}

func (discardMailer) Send(context.Context, gatehouse.Message) error { return nil }

// system is the actor of the test's own set-up calls.
var system = gatehouse.SystemActor()

// env is a web handler over a fresh database, served by httptest.
type env struct {
	t     *testing.T
	st    *sqldb.DB
	repos *gitrepo.Dir
	svc   *service.Service
	clock *clock
	h     *Handler
	srv   *httptest.Server
	base  string
}

// envOption changes the service's configuration before it is built.
type envOption func(*service.Config)

// privateMode builds the service in private mode.
func privateMode(c *service.Config) { c.PrivateMode = true }

func newEnv(t *testing.T, opts ...envOption) *env {
	t.Helper()
	dir := t.TempDir()
	st, err := sqldb.Open(context.Background(), filepath.Join(dir, "g.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	repos := &gitrepo.Dir{Root: filepath.Join(dir, "repos")}
	clk := &clock{t: fixedNow}
	e := &env{t: t, st: st, repos: repos, clock: clk}
	e.svc = e.service(clk.Now, opts...)
	e.srv = httptest.NewUnstartedServer(nil)
	e.srv.Start()
	t.Cleanup(e.srv.Close)
	e.base = e.srv.URL
	h := New(Config{Service: e.svc, Repos: repos, ExternalURL: "https://git.example.com", Now: clk.Now})
	e.h = h
	e.srv.Config.Handler = h
	return e
}

// service builds a service over the env's stores with the given clock.
func (e *env) service(now func() time.Time, opts ...envOption) *service.Service {
	cfg := service.Config{Store: e.st, Audit: e.st, Keys: e.st, Sessions: e.st, Reminders: e.st, Orgs: e.st, Repos: e.repos,
		Mailer: discardMailer{}, ExternalURL: "https://git.example.com",
		Auth: auth.Config{MaxFailures: maxFailures, FailureWindow: failureWindow}, Now: now}
	for _, o := range opts {
		o(&cfg)
	}
	return service.MustNew(cfg)
}

// user creates an account with testPassword.
func (e *env) user(login string, admin bool) *gatehouse.User {
	e.t.Helper()
	u, err := e.svc.CreateUser(context.Background(), system, service.NewUser{Login: login, Email: login + "@example.com", Password: testPassword, SiteAdmin: admin})
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
