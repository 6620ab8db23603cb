package web

import (
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/gatehouse/gatehouse/internal/testenv"
)

// browserless is a signed-in HTTP client of the built server: a cookie jar
// that sends forms with the token of the page that shows them.
type browserless struct {
	t    *testing.T
	base string
	hc   *http.Client
}

var (
	formTokenRe  = regexp.MustCompile(`name="csrf_token" value="([^"]+)"`)
	secretInPage = regexp.MustCompile(`gtp_[0-9A-Za-z]{36}`)
)

func newBrowserless(t *testing.T, base string) *browserless {
	jar, _ := cookiejar.New(nil)
	return &browserless{t: t, base: base, hc: &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error {
		return http.ErrUseLastResponse
	}}}
}

func (b *browserless) do(req *http.Request) (int, string) {
	b.t.Helper()
	res, err := b.hc.Do(req)
	if err != nil {
		b.t.Fatal(err)
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(res.Body)
	return res.StatusCode, string(body)
}

func (b *browserless) get(path string) string {
	b.t.Helper()
	req, _ := http.NewRequest("GET", b.base+path, nil)
	status, body := b.do(req)
	if status != http.StatusOK {
		b.t.Fatalf("GET %s: %d\n%s", path, status, body)
	}
	return body
}

// post sends form to path as the page at from would.
func (b *browserless) post(from, path string, form url.Values) {
	b.t.Helper()
	m := formTokenRe.FindStringSubmatch(b.get(from))
	if m == nil {
		b.t.Fatalf("GET %s shows no form", from)
	}
	form.Set("csrf_token", m[1])
	req, _ := http.NewRequest("POST", b.base+path, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if status, body := b.do(req); status != http.StatusSeeOther {
		b.t.Fatalf("POST %s: %d, want a redirect\n%s", path, status, body)
	}
}

// TestSecurityLog creates and deletes a token through the pages of the
// built server, uses the dead token on the API, revokes another from the
// command line, and reads it all back in the owner's security log and the
// site admin's audit log, which name tokens but never show a secret.
func TestSecurityLog(t *testing.T) {
	srv := testenv.Start(t, testenv.Options{})
	b := newBrowserless(t, srv.URL)
	srv.AddSecret(adminPassword)
	setup, err := url.Parse(srv.SetupLink(t))
	if err != nil {
		t.Fatal(err)
	}
	code := setup.Query().Get("code")
	b.post("/setup?code="+code, "/setup", url.Values{"code": {code}, "login": {adminLogin}, "email": {"alice@example.com"},
		"password": {adminPassword}, "password_confirm": {adminPassword}})
	b.post("/settings/profile", "/sudo", url.Values{"password": {adminPassword}, "return_to": {"/settings/tokens"}})

	b.post("/settings/tokens/new", "/settings/tokens", url.Values{"note": {"audit me"}, "expires": {"7"}, "scopes": {"repo"}})
	secret := secretInPage.FindString(b.get("/settings/tokens"))
	if secret == "" {
		t.Fatal("the new token is not shown")
	}
	srv.AddSecret(secret)
	b.post("/settings/tokens/1/delete", "/settings/tokens/1/delete", url.Values{})

	req, _ := http.NewRequest("GET", srv.URL+"/api/v3/user", nil)
	req.Header.Set("Authorization", "token "+secret)
	if status, _ := b.do(req); status != http.StatusUnauthorized {
		t.Fatalf("the deleted token gets %d on the API, want 401", status)
	}

	srv.AddSecret(strings.TrimSpace(srv.Admin("token", "create", "--user", adminLogin, "--note", "from the shell", "--expires", "7d")))
	srv.Admin("token", "revoke", "2")

	page := b.get("/settings/security-log")
	for _, want := range []string{"Token created", "Token deleted", "audit me", "personal_access_token.destroy",
		"Token revoked by an administrator", "from the shell", "System", "127.0.0.1"} {
		if !strings.Contains(page, want) {
			t.Errorf("the security log does not show %q", want)
		}
	}
	revoked, deleted, created := strings.Index(page, "personal_access_token.admin_revoke"),
		strings.Index(page, "personal_access_token.destroy"), strings.LastIndex(page, "personal_access_token.create")
	if revoked < 0 || revoked > deleted || deleted > created {
		t.Error("the security log does not list the newest event first")
	}
	admin := b.get("/admin/audit-log")
	if !strings.Contains(admin, "Failed authentication") || !strings.Contains(admin, "Unknown or revoked token") {
		t.Error("the audit log does not show the refused token")
	}
	for name, body := range map[string]string{"security log": page, "audit log": admin, "server log": srv.Log()} {
		if strings.Contains(body, secret) || strings.Contains(body, secret[4:]) {
			t.Errorf("the %s shows the secret", name)
		}
	}
}
