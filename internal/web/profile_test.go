package web

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// TestEmailChangeNeedsSudo is the regression for changing the account's
// address — where security mail goes — without confirming the password,
// and for the form saying whether an address belongs to another account.
func TestEmailChangeNeedsSudo(t *testing.T) {
	e := newEnv(t)
	alice := e.user("alice", false)
	e.user("bob", false)
	c := e.client()
	c.signIn("alice", false)

	res := c.post("/settings/profile", "/settings/profile", url.Values{"name": {"Alice L."}, "email": {alice.Email}})
	wantStatus(t, "name change without sudo", res, http.StatusSeeOther)
	res = c.post("/settings/profile", "/settings/profile", url.Values{"name": {"Alice L."}, "email": {"new@example.com"}})
	wantStatus(t, "e-mail change without sudo", res, http.StatusUnauthorized)
	if !strings.Contains(res.Body, `name="password"`) {
		t.Fatalf("want the password prompt:\n%s", res.Body)
	}
	if u, _ := e.st.FindUserByLogin(t.Context(), "alice"); u.Email != alice.Email {
		t.Fatalf("the address changed without sudo: %s", u.Email)
	}

	res = c.post("/settings/profile", "/sudo", url.Values{"password": {testPassword}, "return_to": {"/settings/profile"}})
	wantStatus(t, "sudo", res, http.StatusSeeOther)
	res = c.post("/settings/profile", "/settings/profile", url.Values{"email": {"bob@example.com"}})
	wantStatus(t, "another account's address", res, http.StatusUnprocessableEntity)
	if strings.Contains(res.Body, "Another account") || strings.Contains(res.Body, "another account") {
		t.Fatalf("the form says the address belongs to another account:\n%s", res.Body)
	}
	res = c.post("/settings/profile", "/settings/profile", url.Values{"email": {"new@example.com"}})
	wantStatus(t, "e-mail change in sudo mode", res, http.StatusSeeOther)
	if u, _ := e.st.FindUserByLogin(t.Context(), "alice"); u.Email != "new@example.com" {
		t.Fatalf("address after the change: %s", u.Email)
	}
}
