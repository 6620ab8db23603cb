package web

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/gatehouse/gatehouse"
	"github.com/gatehouse/gatehouse/internal/service"
)

func tokenCount(t *testing.T, e *env, userID int64) int {
	t.Helper()
	tokens, err := e.svc.ListUserTokens(context.Background(), system, userID)
	if err != nil {
		t.Fatal(err)
	}
	return len(tokens)
}

// TestCSRF shows that a state change needs both a same-site request and
// the session's form token: a cross-site POST is refused even with a valid
// session cookie and token, and a same-site POST without the token too.
func TestCSRF(t *testing.T) {
	e := newEnv(t)
	u := e.user("alice", false)
	c := e.client()
	c.signIn("alice", true)
	m := csrfRe.FindStringSubmatch(c.get("/settings/tokens/new").Body)
	if m == nil {
		t.Fatal("no form token on the new-token page")
	}
	good := url.Values{"csrf_token": {m[1]}, "note": {"n"}, "expires": {"7"}}
	for _, tc := range []struct {
		name string
		form url.Values
		hdr  map[string]string
	}{
		{"cross-site fetch metadata", good, map[string]string{"Sec-Fetch-Site": "cross-site"}},
		{"same-site but other origin", good, map[string]string{"Sec-Fetch-Site": "same-site"}},
		{"foreign Origin header", good, map[string]string{"Origin": "https://evil.example"}},
		{"no form token", url.Values{"note": {"n"}, "expires": {"7"}}, nil},
		{"wrong form token", url.Values{"csrf_token": {"forged"}, "note": {"n"}, "expires": {"7"}}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res := c.do("POST", "/settings/tokens", tc.form, tc.hdr)
			wantStatus(t, tc.name, res, http.StatusForbidden)
			if !strings.Contains(res.Body, "another site") {
				t.Errorf("refusal page does not explain itself:\n%s", res.Body)
			}
			if n := tokenCount(t, e, u.ID); n != 0 {
				t.Fatalf("a refused POST created %d tokens", n)
			}
		})
	}
	// The same request from the page itself goes through.
	res := c.do("POST", "/settings/tokens", good, map[string]string{"Sec-Fetch-Site": "same-origin"})
	wantStatus(t, "same-origin POST", res, http.StatusSeeOther)
	if tokenCount(t, e, u.ID) != 1 {
		t.Fatal("the accepted POST did not create the token")
	}

	// Behind a proxy that rewrites Host, the published origin is trusted.
	good.Set("note", "via proxy")
	res = c.do("POST", "/settings/tokens", good, map[string]string{"Origin": "https://git.example.com"})
	wantStatus(t, "POST from the external URL's origin", res, http.StatusSeeOther)

	// Sign-in and setup forms are protected before there is a session.
	anon := e.client()
	res = anon.do("POST", "/login", url.Values{"login": {"alice"}, "password": {testPassword}}, nil)
	wantStatus(t, "login without form token", res, http.StatusForbidden)
	res = anon.do("POST", "/login", url.Values{"login": {"alice"}, "password": {testPassword}}, map[string]string{"Sec-Fetch-Site": "cross-site"})
	wantStatus(t, "cross-site login", res, http.StatusForbidden)
}

func TestSudoMode(t *testing.T) {
	e := newEnv(t)
	u := e.user("alice", false)
	c := e.client()
	c.signIn("alice", false)
	existing, err := e.svc.CreateToken(context.Background(), system, service.NewToken{UserID: u.ID, Note: "existing", Scopes: []string{"gist"}})
	if err != nil {
		t.Fatal(err)
	}
	edit := fmt.Sprintf("/settings/tokens/%d", existing.Token.ID)
	for _, path := range []string{"/settings/tokens/new", "/settings/tokens/revoke-all", edit} {
		res := c.get(path)
		if res.Status != http.StatusSeeOther || !strings.HasPrefix(res.Location, "/sudo?return_to=") {
			t.Errorf("GET %s outside sudo mode: %d %s", path, res.Status, res.Location)
		}
	}
	// A POST outside sudo mode gets the prompt and changes nothing.
	res := c.post("/settings/profile", "/settings/tokens", url.Values{"note": {"n"}, "expires": {"7"}})
	wantStatus(t, "create outside sudo mode", res, http.StatusUnauthorized)
	if !strings.Contains(res.Body, `name="return_to" value="/settings/tokens/new"`) || tokenCount(t, e, u.ID) != 1 {
		t.Fatal("a token was created outside sudo mode, or the prompt does not return to the form")
	}
	// Widening an existing token is as sensitive as creating one.
	res = c.post("/settings/profile", edit, url.Values{"note": {"existing"}, "scopes": {"repo", "site_admin"}})
	wantStatus(t, "edit outside sudo mode", res, http.StatusUnauthorized)
	if tk, _ := e.st.FindTokenByID(context.Background(), existing.Token.ID); strings.Join(tk.Scopes, ",") != "gist" {
		t.Fatalf("scopes changed outside sudo mode: %v", tk.Scopes)
	}
	res = c.post("/sudo", "/sudo", url.Values{"password": {"wrong"}, "return_to": {"/settings/tokens/new"}})
	wantStatus(t, "wrong sudo password", res, http.StatusUnauthorized)
	res = c.post("/sudo", "/sudo", url.Values{"password": {testPassword}, "return_to": {"https://evil.example/"}})
	if res.Status != http.StatusSeeOther || res.Location != "/" {
		t.Errorf("sudo with a foreign return_to redirects to %q", res.Location)
	}
	wantStatus(t, "new token in sudo mode", c.get("/settings/tokens/new"), http.StatusOK)
	wantStatus(t, "edit in sudo mode", c.get(edit), http.StatusOK)
}

func TestSignInThrottle(t *testing.T) {
	e := newEnv(t)
	e.user("alice", false)
	c := e.client()
	for i := 0; i < maxFailures-1; i++ {
		wantStatus(t, "wrong password", c.post("/login", "/login", url.Values{"login": {"alice"}, "password": {"wrong"}}), http.StatusUnauthorized)
	}
	wantStatus(t, "last try", c.post("/login", "/login", url.Values{"login": {"alice"}, "password": {"wrong"}}), http.StatusTooManyRequests)
	// Locked out: even the right password is refused for now, from any
	// browser at that address.
	res := c.post("/login", "/login", url.Values{"login": {"alice"}, "password": {testPassword}})
	wantStatus(t, "right password while locked", res, http.StatusTooManyRequests)
	res = e.client().post("/login", "/login", url.Values{"login": {"alice"}, "password": {testPassword}})
	wantStatus(t, "right password from another browser while locked", res, http.StatusTooManyRequests)
	// The lock-out ends with the window.
	e.clock.Set(fixedNow.Add(failureWindow))
	res = c.post("/login", "/login", url.Values{"login": {"alice"}, "password": {testPassword}})
	wantStatus(t, "right password after the window", res, http.StatusSeeOther)
}

func TestSessionCookie(t *testing.T) {
	e := newEnv(t)
	e.user("alice", false)
	c := e.client()
	page := c.get("/login")
	form := url.Values{"login": {"alice"}, "password": {testPassword}, "csrf_token": {csrfRe.FindStringSubmatch(page.Body)[1]}}
	req, _ := http.NewRequest("POST", e.base+"/login", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	res, err := c.hc.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	var session *http.Cookie
	for _, ck := range res.Cookies() {
		if strings.HasSuffix(ck.Name, sessionCookie) && ck.Value != "" {
			session = ck
		}
	}
	// The test server speaks plain HTTP, but ExternalURL is https://, as
	// behind a TLS-terminating proxy: the cookie must be Secure.
	if session == nil || !session.HttpOnly || !session.Secure || session.SameSite != http.SameSiteLaxMode || session.Name != "__Host-"+sessionCookie {
		t.Fatalf("session cookie %+v", session)
	}
}

func TestSuspensionEndsSessions(t *testing.T) {
	e := newEnv(t)
	e.user("root", true)
	bob := e.user("bob", false)
	admin, bc := e.client(), e.client()
	admin.signIn("root", true)
	bc.signIn("bob", false)
	wantStatus(t, "bob signed in", bc.get("/settings/profile"), http.StatusOK)
	res := admin.post("/admin/users", "/admin/users/2/suspend", nil)
	wantStatus(t, "suspend", res, http.StatusSeeOther)
	res = bc.get("/settings/profile")
	if res.Status != http.StatusSeeOther || !strings.HasPrefix(res.Location, "/login") {
		t.Fatalf("suspended user still signed in: %d %s", res.Status, res.Location)
	}
	u, _ := e.st.FindUserByID(context.Background(), bob.ID)
	if !u.Suspended {
		t.Fatal("not suspended")
	}
	// Admins cannot suspend themselves.
	admin.post("/admin/users", "/admin/users/1/suspend", nil)
	if u, _ := e.st.FindUserByLogin(context.Background(), "root"); u.Suspended {
		t.Fatal("an admin suspended themselves")
	}
}

func TestRevokeAllNeedsUsername(t *testing.T) {
	e := newEnv(t)
	u := e.user("alice", false)
	c := e.client()
	c.signIn("alice", true)
	for _, note := range []string{"a", "b"} {
		c.post("/settings/tokens/new", "/settings/tokens", url.Values{"note": {note}, "expires": {"7"}})
	}
	if tokenCount(t, e, u.ID) != 2 {
		t.Fatal("setup failed")
	}
	res := c.post("/settings/tokens/revoke-all", "/settings/tokens/revoke-all", url.Values{"confirm": {"bob"}})
	wantStatus(t, "wrong name", res, http.StatusUnprocessableEntity)
	if tokenCount(t, e, u.ID) != 2 {
		t.Fatal("revoked with the wrong name")
	}
	res = c.post("/settings/tokens/revoke-all", "/settings/tokens/revoke-all", url.Values{"confirm": {"alice"}})
	wantStatus(t, "revoke all", res, http.StatusSeeOther)
	if tokenCount(t, e, u.ID) != 0 {
		t.Fatal("tokens left after revoke all")
	}
	if body := c.get("/settings/tokens").Body; !strings.Contains(body, "Revoked 2 tokens.") {
		t.Error("no confirmation of the revocation")
	}
}

func TestUserLanguageSetting(t *testing.T) {
	e := newEnv(t)
	e.user("alice", false)
	c := e.client()
	c.signIn("alice", false)
	res := c.post("/settings/profile", "/settings/profile", url.Values{"name": {"A"}, "email": {"alice@example.com"}, "locale": {"ja"}})
	wantStatus(t, "save profile", res, http.StatusSeeOther)
	c.lang = "en-US,en"
	if body := c.get("/settings/tokens").Body; !strings.Contains(body, `<html lang="ja">`) {
		t.Fatal("the user's language setting does not win over the browser's")
	}
	if u, _ := e.st.FindUserByLogin(context.Background(), "alice"); u.Locale != "ja" {
		t.Fatalf("locale stored as %q", u.Locale)
	}
	res = c.post("/settings/profile", "/settings/profile", url.Values{"email": {"alice@example.com"}, "locale": {"xx"}})
	wantStatus(t, "unknown language", res, http.StatusUnprocessableEntity)
	_ = gatehouse.Invalid
}

func TestPolicyOnNewTokenPage(t *testing.T) {
	e := newEnv(t)
	e.user("root", true)
	c := e.client()
	c.signIn("root", true)
	res := c.post("/admin/policy", "/admin/policy", url.Values{"max_lifetime_days": {"400"}})
	wantStatus(t, "too many days", res, http.StatusUnprocessableEntity)
	c.post("/admin/policy", "/admin/policy", url.Values{"require_expiration": {"1"}, "max_lifetime_days": {"20"}})
	page := c.get("/settings/tokens/new").Body
	if strings.Contains(page, `value="none"`) || strings.Contains(page, `value="30"`) || !strings.Contains(page, `max="2030-07-04"`) {
		t.Errorf("the form offers what the policy forbids")
	}
	for _, tc := range []struct{ expires, date, msg string }{
		{"none", "", "requires tokens to expire"},
		{"90", "", "at most 20 days"},
		{"custom", "2030-07-05", "at most 20 days"},
	} {
		res := c.post("/settings/tokens/new", "/settings/tokens", url.Values{"note": {"x"}, "expires": {tc.expires}, "expires_date": {tc.date}})
		if res.Status != http.StatusUnprocessableEntity || !strings.Contains(res.Body, tc.msg) {
			t.Errorf("expires=%s %s: %d, page lacks %q", tc.expires, tc.date, res.Status, tc.msg)
		}
	}
	res = c.post("/settings/tokens/new", "/settings/tokens", url.Values{"note": {"x"}, "expires": {"custom"}, "expires_date": {"2030-07-04"}})
	wantStatus(t, "last allowed day", res, http.StatusSeeOther)
}
