package cli_test

import (
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/gatehouse/gatehouse/internal/testenv"
)

// browser is a cookie-keeping HTTP client that fills in forms' CSRF
// tokens, speaking the language lang.
type browser struct {
	t    *testing.T
	base string
	lang string
	hc   *http.Client
}

var csrfRE = regexp.MustCompile(`name="csrf_token" value="([^"]+)"`)

func newBrowser(t *testing.T, s *testenv.Server, lang string) *browser {
	jar, _ := cookiejar.New(nil)
	hc := s.Client(t)
	hc.Jar = jar
	hc.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	return &browser{t: t, base: s.URL, lang: lang, hc: hc}
}

func (b *browser) do(method, path string, form url.Values) (int, string) {
	b.t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequest(method, b.base+path, body)
	if err != nil {
		b.t.Fatal(err)
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	req.Header.Set("Accept-Language", b.lang)
	res, err := b.hc.Do(req)
	if err != nil {
		b.t.Fatal(err)
	}
	defer res.Body.Close()
	page, _ := io.ReadAll(res.Body)
	return res.StatusCode, string(page)
}

// submit fetches the form at from and posts it to path with the form's
// CSRF token added.
func (b *browser) submit(from, path string, form url.Values) (int, string) {
	b.t.Helper()
	_, page := b.do("GET", from, nil)
	m := csrfRE.FindStringSubmatch(page)
	if m == nil {
		b.t.Fatalf("GET %s shows no form:\n%s", from, page)
	}
	form.Set("csrf_token", m[1])
	return b.do("POST", path, form)
}

// setupPath is the path and query of the server's setup link.
func setupPath(t *testing.T, s *testenv.Server) (path, code string) {
	u, err := url.Parse(s.SetupLink(t))
	if err != nil {
		t.Fatal(err)
	}
	return u.RequestURI(), u.Query().Get("code")
}

// TestSetupFormExplainsReservedName is the regression for the setup form
// refusing "admin", the most likely first name, as merely invalid: it
// says the name is reserved, in English and in Japanese, and so does the
// site admin's form for new accounts.
func TestSetupFormExplainsReservedName(t *testing.T) {
	s := testenv.Start(t, testenv.Options{})
	path, code := setupPath(t, s)
	const pw = "correct horse battery"
	s.AddSecret(pw)
	form := func(login string) url.Values {
		return url.Values{"code": {code}, "login": {login}, "email": {login + "@example.com"}, "password": {pw}, "password_confirm": {pw}}
	}
	for lang, want := range map[string]string{
		"en":    "The username “admin” is reserved for one of the server",
		"ja-JP": "ユーザー名「admin」はサーバー自身のページ用に予約されています",
	} {
		status, page := newBrowser(t, s, lang).submit(path, "/setup", form("admin"))
		if status != http.StatusUnprocessableEntity || !strings.Contains(page, want) {
			t.Errorf("setup as admin (%s): %d, want 422 and %q in\n%s", lang, status, want, page)
		}
	}
	b := newBrowser(t, s, "en")
	if status, page := b.submit(path, "/setup", form("root")); status != http.StatusSeeOther {
		t.Fatalf("setup as root: %d\n%s", status, page)
	}
	if status, page := b.submit("/settings/profile", "/sudo", url.Values{"password": {pw}, "return_to": {"/admin/users"}}); status != http.StatusSeeOther {
		t.Fatalf("sudo: %d\n%s", status, page)
	}
	status, page := b.submit("/admin/users", "/admin/users", url.Values{"login": {"Settings"}, "email": {"s@example.com"}, "password": {pw}})
	if status != http.StatusUnprocessableEntity || !strings.Contains(page, "The username “Settings” is reserved for one of the server") {
		t.Errorf("admin form with Settings: %d\n%s", status, page)
	}
}

// TestStaleSetupLinkSaysSetupIsDone is the regression for an old setup
// link answering "invalid, sign in instead" once accounts exist: it says
// that setup is done, whether the accounts came from the command line
// while the server ran or before a restart; a link that is only wrong
// says so.
func TestStaleSetupLinkSaysSetupIsDone(t *testing.T) {
	const done = "This instance already has accounts: setup is done. Sign in, or ask a site admin for an account."
	s := testenv.Start(t, testenv.Options{})
	path, _ := setupPath(t, s)
	b := newBrowser(t, s, "en")
	if status, page := b.do("GET", "/setup?code=0123", nil); status != http.StatusNotFound || !strings.Contains(page, "This setup link is not the current one") {
		t.Errorf("a wrong code: %d\n%s", status, page)
	}
	s.CreateUser("alice", true) // while serving, from the command line
	if status, page := b.do("GET", path, nil); status != http.StatusNotFound || !strings.Contains(page, done) {
		t.Errorf("the link after a command-line account: %d, want 404 and %q in\n%s", status, done, page)
	}

	fresh := testenv.Start(t, testenv.Options{})
	path, _ = setupPath(t, fresh)
	fresh.Stop()
	fresh.CreateUser("bob", true)
	again := testenv.Start(t, testenv.Options{Data: fresh.Data})
	if status, page := newBrowser(t, again, "en").do("GET", path, nil); status != http.StatusNotFound || !strings.Contains(page, done) {
		t.Errorf("the link after a restart: %d, want 404 and %q in\n%s", status, done, page)
	}
	if status, page := newBrowser(t, again, "ja").do("GET", path, nil); status != http.StatusNotFound || !strings.Contains(page, "初期設定は完了しています") {
		t.Errorf("the link after a restart, in Japanese: %d\n%s", status, page)
	}
}

// TestServeReportsMissingSiteAdmin checks that serve, started on users
// none of whom is a site admin, says how to make one with commands that
// work from any directory, and stops saying it once there is one.
func TestServeReportsMissingSiteAdmin(t *testing.T) {
	data := filepath.Join(t.TempDir(), "data dir")
	if _, errOut, code := run(t, data, "", "admin", "user", "create", "--username", "alice", "--email", "a@example.com"); code != 0 {
		t.Fatalf("user create: exit %d: %s", code, errOut)
	}
	s := testenv.Start(t, testenv.Options{Data: data})
	log := s.Log()
	for _, want := range []string{
		"No site admin: nobody can open the administration pages.",
		"gatehouse admin user create --username NAME --email E --admin --data '" + data + "'",
		"gatehouse admin user promote USER --data '" + data + "'",
	} {
		if !strings.Contains(log, want) {
			t.Errorf("serve's start-up lacks %q:\n%s", want, log)
		}
	}
	if strings.Contains(log, "setup?code=") {
		t.Errorf("a server with users printed a setup link:\n%s", log)
	}
	s.Stop()
	if _, errOut, code := run(t, data, "", "admin", "user", "promote", "alice"); code != 0 || !strings.Contains(errOut, "alice is now a site admin.") {
		t.Fatalf("promote: exit %d: %s", code, errOut)
	}
	again := testenv.Start(t, testenv.Options{Data: data})
	if strings.Contains(again.Log(), "No site admin") {
		t.Errorf("serve with a site admin still reports none:\n%s", again.Log())
	}
}

// TestFirstServeOffersCommandLine checks that the first start names the
// command-line way to the first site admin beside the setup link.
func TestFirstServeOffersCommandLine(t *testing.T) {
	s := testenv.Start(t, testenv.Options{})
	if want := "or run: gatehouse admin user create --username NAME --email E --admin --data " + s.Data; !strings.Contains(s.Log(), want) {
		t.Errorf("first start lacks %q:\n%s", want, s.Log())
	}
}
