package web

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse"
	"github.com/gatehouse/gatehouse/internal/service"
)

// TestPagesGolden renders every page in the states worth seeing and
// compares the HTML with testdata. Refresh after an intended change with
// go test ./internal/web -run TestPagesGolden -update.
func TestPagesGolden(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)

	anon := e.client()
	code, err := e.svc.PrepareSetup(ctx)
	if err != nil {
		t.Fatal(err)
	}
	res := anon.get("/setup?code=" + code)
	wantStatus(t, "setup", res, http.StatusOK)
	golden(t, "setup", res.Body)
	res = anon.post("/setup?code="+code, "/setup", url.Values{"code": {code}, "login": {"-bad-"}, "email": {"nope"}, "password": {"short"}, "password_confirm": {"short"}})
	wantStatus(t, "setup with mistakes", res, http.StatusUnprocessableEntity)
	golden(t, "setup_errors", res.Body)
	res = anon.post("/setup?code="+code, "/setup", url.Values{"code": {code}, "login": {"alice"}, "email": {"alice@example.com"}, "name": {"Alice Liddell"},
		"password": {testPassword}, "password_confirm": {testPassword}})
	wantStatus(t, "setup", res, http.StatusSeeOther)
	res = anon.get("/setup?code=" + code)
	wantStatus(t, "setup used", res, http.StatusNotFound)
	golden(t, "setup_used", res.Body)

	alice, err := e.st.FindUserByLogin(ctx, "alice")
	if err != nil || !alice.SiteAdmin {
		t.Fatalf("setup made %+v, %v", alice, err)
	}
	bob := e.user("bob", false)

	visitor := e.client()
	res = visitor.get("/login")
	golden(t, "login", res.Body)
	res = visitor.post("/login", "/login", url.Values{"login": {"alice"}, "password": {"wrong"}})
	wantStatus(t, "wrong password", res, http.StatusUnauthorized)
	golden(t, "login_failed", res.Body)

	c := e.client()
	c.signIn("alice", false)
	res = c.get("/settings/tokens/new")
	wantStatus(t, "new token without sudo", res, http.StatusSeeOther)
	if res.Location != "/sudo?return_to=%2Fsettings%2Ftokens%2Fnew" {
		t.Errorf("sudo redirect to %q", res.Location)
	}
	res = c.get(res.Location)
	golden(t, "sudo", res.Body)
	res = c.post("/sudo?return_to=%2Fsettings%2Ftokens%2Fnew", "/sudo", url.Values{"password": {testPassword}, "return_to": {"/settings/tokens/new"}})
	wantStatus(t, "sudo", res, http.StatusSeeOther)

	// Repositories: one with a README, one empty, one of bob's.
	if _, err := e.svc.CreateRepo(ctx, &gatehouse.Actor{User: alice}, service.NewRepo{Owner: "alice", Name: "notes", Description: "Things to remember", Readme: true}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.svc.CreateRepo(ctx, system, service.NewRepo{Owner: "alice", Name: "empty", Private: true}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.svc.CreateRepo(ctx, system, service.NewRepo{Owner: "bob", Name: "hidden", Private: true}); err != nil {
		t.Fatal(err)
	}
	golden(t, "home", c.get("/").Body)
	golden(t, "profile", c.get("/alice").Body)
	golden(t, "repo", c.get("/alice/notes").Body)
	golden(t, "repo_empty", c.get("/alice/empty").Body)
	golden(t, "repo_new", c.get("/new").Body)
	res = c.post("/new", "/new", url.Values{"name": {"notes"}, "visibility": {"public"}})
	wantStatus(t, "duplicate repository", res, http.StatusUnprocessableEntity)
	golden(t, "repo_new_taken", res.Body)
	res = c.post("/new", "/new", url.Values{"name": {"fresh"}, "visibility": {"private"}, "readme": {"1"}})
	wantStatus(t, "create repository", res, http.StatusSeeOther)
	if res.Location != "/alice/fresh" {
		t.Errorf("new repository redirects to %q", res.Location)
	}
	anonRepo := e.client().get("/bob/hidden")
	wantStatus(t, "anonymous private repo", anonRepo, http.StatusNotFound)
	golden(t, "not_found", anonRepo.Body)

	golden(t, "settings_profile", c.get("/settings/profile").Body)
	golden(t, "settings_developers", c.get("/settings/developers").Body)
	golden(t, "tokens_empty", c.get("/settings/tokens").Body)
	golden(t, "token_new", c.get("/settings/tokens/new").Body)
	golden(t, "token_new_prefill", c.get("/settings/tokens/new?scopes=repo,gist,bogus&description=Deploy+bot").Body)

	res = c.post("/settings/tokens/new", "/settings/tokens", url.Values{"note": {" "}, "expires": {"custom"}, "expires_date": {"2020-01-01"}, "scopes": {"nope"}})
	wantStatus(t, "bad token form", res, http.StatusUnprocessableEntity)
	golden(t, "token_new_errors", res.Body)

	res = c.post("/settings/tokens/new", "/settings/tokens", url.Values{"note": {"laptop"}, "expires": {"7"}, "scopes": {"repo", "repo:status", "gist"}})
	wantStatus(t, "create token", res, http.StatusSeeOther)
	res = c.get("/settings/tokens")
	if !secretRe.MatchString(res.Body) {
		t.Fatal("the new token is not shown")
	}
	golden(t, "tokens_created", res.Body)
	if again := c.get("/settings/tokens"); secretRe.MatchString(again.Body) {
		t.Fatal("the token is shown a second time")
	}
	res = c.post("/settings/tokens/new", "/settings/tokens", url.Values{"note": {"laptop"}, "expires": {"30"}})
	wantStatus(t, "duplicate note", res, http.StatusUnprocessableEntity)
	golden(t, "token_new_taken", res.Body)

	// A never-expiring, an expired and a used token for the list.
	for _, nt := range []service.NewToken{
		{UserID: alice.ID, Note: "forever", Expires: "never"},
		{UserID: alice.ID, Note: "ci", Scopes: []string{"read:org", "workflow"}, Expires: "90d"},
	} {
		if _, err := e.svc.CreateToken(ctx, system, nt); err != nil {
			t.Fatal(err)
		}
	}
	old := e.service(func() time.Time { return fixedNow.AddDate(0, -2, 0) })
	expired, err := old.CreateToken(ctx, system, service.NewToken{UserID: alice.ID, Note: "old", Scopes: []string{"gist"}, Expires: "30d"})
	if err != nil {
		t.Fatal(err)
	}
	if err := e.st.RecordTokenUses(ctx, []gatehouse.TokenUse{
		{TokenID: 1, At: fixedNow.Add(-3 * time.Hour), IP: "127.0.0.1"},
		{TokenID: 3, At: fixedNow.AddDate(0, 0, -20), IP: "127.0.0.1"},
		{TokenID: expired.Token.ID, At: fixedNow.AddDate(0, 0, -45), IP: "127.0.0.1"},
	}); err != nil {
		t.Fatal(err)
	}
	golden(t, "tokens", c.get("/settings/tokens").Body)
	golden(t, "token_edit", c.get("/settings/tokens/1").Body)
	golden(t, "token_edit_never", c.get("/settings/tokens/2").Body)
	golden(t, "token_regenerate", c.get("/settings/tokens/1/regenerate").Body)
	golden(t, "token_delete", c.get("/settings/tokens/1/delete").Body)
	golden(t, "tokens_revoke_all", c.get("/settings/tokens/revoke-all").Body)

	res = c.post("/settings/tokens/1", "/settings/tokens/1", url.Values{"note": {"laptop git"}, "scopes": {"admin:org", "read:org"}})
	wantStatus(t, "update token", res, http.StatusSeeOther)
	golden(t, "tokens_updated", c.get("/settings/tokens").Body)

	// Bob's view of alice's token is a 404.
	bc := e.client()
	bc.signIn("bob", true)
	wantStatus(t, "other user's token", bc.get("/settings/tokens/1"), http.StatusNotFound)
	wantStatus(t, "other user's private repo", bc.get("/alice/empty"), http.StatusNotFound)
	wantStatus(t, "admin pages for a user", bc.get("/admin/users"), http.StatusNotFound)

	golden(t, "admin_users", c.get("/admin/users").Body)
	golden(t, "admin_tokens", c.get("/admin/tokens").Body)
	golden(t, "admin_policy", c.get("/admin/policy").Body)
	golden(t, "security_log", c.get("/settings/security-log").Body)
	golden(t, "admin_audit_log", c.get("/admin/audit-log").Body)
	golden(t, "admin_audit_log_user", c.get("/admin/audit-log?user=bob").Body)
	res = c.get("/admin/audit-log?user=nobody")
	wantStatus(t, "audit log of an unknown user", res, http.StatusOK)
	if !strings.Contains(res.Body, "There is no account named nobody.") {
		t.Error("the audit log does not say that the filter names no account")
	}
	wantStatus(t, "audit log for a user", bc.get("/admin/audit-log"), http.StatusNotFound)
	if body := bc.get("/settings/security-log").Body; strings.Contains(body, "laptop") || !strings.Contains(body, "No events recorded yet.") {
		t.Error("bob's security log shows alice's events")
	}
	res = c.post("/admin/policy", "/admin/policy", url.Values{"require_expiration": {"1"}, "max_lifetime_days": {"45"}})
	wantStatus(t, "save policy", res, http.StatusSeeOther)
	golden(t, "token_new_policy", c.get("/settings/tokens/new").Body)
	_ = bob

	// Japanese.
	c.lang = "ja"
	golden(t, "ja_tokens", c.get("/settings/tokens").Body)
	golden(t, "ja_token_new", c.get("/settings/tokens/new").Body)
	golden(t, "ja_admin_users", c.get("/admin/users").Body)
	golden(t, "ja_security_log", c.get("/settings/security-log").Body)
	golden(t, "ja_repo", c.get("/alice/notes").Body)
	res = c.post("/settings/tokens/new", "/settings/tokens", url.Values{"note": {""}, "expires": {"none"}})
	wantStatus(t, "Japanese errors", res, http.StatusUnprocessableEntity)
	golden(t, "ja_token_new_errors", res.Body)
	if !strings.Contains(res.Body, `lang="ja"`) {
		t.Error("Japanese page without lang=ja")
	}
}
