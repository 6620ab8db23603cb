package web

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/gatehouse/gatehouse/internal/token"
)

func TestRegenerate(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	u := e.user("alice", false)
	c := e.client()
	c.signIn("alice", true)
	c.post("/settings/tokens/new", "/settings/tokens", url.Values{"note": {"ci"}, "expires": {"7"}, "scopes": {"repo"}})
	first := secretRe.FindString(c.get("/settings/tokens").Body)
	if first == "" {
		t.Fatal("no token shown")
	}
	res := c.post("/settings/tokens/1/regenerate", "/settings/tokens/1/regenerate", url.Values{"expires": {"custom"}, "expires_date": {"2030-12-31"}})
	wantStatus(t, "regenerate", res, http.StatusSeeOther)
	page := c.get("/settings/tokens").Body
	second := secretRe.FindString(page)
	if second == "" || second == first || !strings.Contains(page, "old value no longer works") {
		t.Fatalf("regenerated token not shown (first %q, second %q)", first, second)
	}
	if _, err := e.st.FindTokenByHash(ctx, token.Hash(first)); err == nil {
		t.Error("the old secret still works")
	}
	tok, err := e.st.FindTokenByHash(ctx, token.Hash(second))
	if err != nil || tok.ID != 1 || tok.Note != "ci" || tok.UserID != u.ID || tok.ExpiresAt.Format("2006-01-02 15:04:05") != "2030-12-31 23:59:59" {
		t.Fatalf("regenerated token %+v, %v", tok, err)
	}
}

func TestAdminPages(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	e.user("root", true)
	c := e.client()
	c.signIn("root", true)
	res := c.post("/admin/users", "/admin/users", url.Values{"login": {"settings"}, "email": {"s@example.com"}, "password": {testPassword}})
	wantStatus(t, "reserved login", res, http.StatusUnprocessableEntity)
	res = c.post("/admin/users", "/admin/users", url.Values{"login": {"carol"}, "email": {"c@example.com"}, "password": {testPassword}})
	wantStatus(t, "create user", res, http.StatusSeeOther)
	carol, err := e.st.FindUserByLogin(ctx, "carol")
	if err != nil {
		t.Fatal(err)
	}
	res = c.post("/admin/users", "/admin/users/2/promote", nil)
	wantStatus(t, "promote", res, http.StatusSeeOther)
	if u, _ := e.st.FindUserByID(ctx, carol.ID); !u.SiteAdmin {
		t.Fatal("not promoted")
	}
	cc := e.client()
	cc.signIn("carol", true)
	cc.post("/settings/tokens/new", "/settings/tokens", url.Values{"note": {"carol's"}, "expires": {"none"}})
	page := c.get("/admin/tokens").Body
	if !strings.Contains(page, "carol&#39;s") || !strings.Contains(page, `href="/carol"`) || secretRe.MatchString(page) {
		t.Fatalf("admin token list:\n%s", page)
	}
	res = c.post("/admin/tokens", "/admin/tokens/1/revoke", nil)
	wantStatus(t, "revoke", res, http.StatusSeeOther)
	if n := tokenCount(t, e, carol.ID); n != 0 {
		t.Fatal("token not revoked")
	}
}

func TestRepoRoutes(t *testing.T) {
	e := newEnv(t)
	e.user("alice", false)
	c := e.client()
	c.signIn("alice", false)
	res := c.post("/new", "/new", url.Values{"name": {"pub"}, "visibility": {"public"}, "readme": {"1"}})
	wantStatus(t, "create", res, http.StatusSeeOther)
	res = e.client().get("/alice/pub.git")
	if res.Status != http.StatusMovedPermanently || res.Location != "/alice/pub" {
		t.Errorf("/alice/pub.git: %d %s", res.Status, res.Location)
	}
	anon := e.client()
	res = anon.get("/alice/pub")
	wantStatus(t, "public repo, anonymous", res, http.StatusOK)
	if !strings.Contains(res.Body, `<h1 id="user-content-pub">pub</h1>`) {
		t.Error("README not rendered")
	}
	wantStatus(t, "missing user", anon.get("/nobody"), http.StatusNotFound)
	wantStatus(t, "profile", anon.get("/alice"), http.StatusOK)
	wantStatus(t, "avatar", anon.get("/avatars/alice"), http.StatusOK)
	res = anon.get("/")
	if res.Status != http.StatusSeeOther || res.Location != "/login" {
		t.Errorf("anonymous home: %d %s", res.Status, res.Location)
	}
	res = anon.get("/settings/tokens")
	if res.Status != http.StatusSeeOther || res.Location != "/login?return_to=%2Fsettings%2Ftokens" {
		t.Errorf("anonymous settings: %d %s", res.Status, res.Location)
	}
}
