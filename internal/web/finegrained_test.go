package web

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/gatehouse/gatehouse"
	"github.com/gatehouse/gatehouse/internal/service"
	"github.com/gatehouse/gatehouse/internal/token"
)

// fgSecretRe matches a fine-grained token of the test instance.
var fgSecretRe = regexp.MustCompile(`gtp_pat_[0-9A-Za-z]{36}`)

// fgGolden is golden with fine-grained secrets replaced too.
func fgGolden(t *testing.T, name, body string) {
	t.Helper()
	golden(t, name, fgSecretRe.ReplaceAllString(body, "gtp_pat_SECRET"))
}

// fgEnv is alice, owner of the organization acme with the private
// repository acme/app, the public acme/site and acme/docs; bob, a member;
// carol, in no organization; and widgets, an organization of alice's
// that restricts fine-grained tokens, which bob belongs to as well.
type fgEnv struct {
	*env
	alice, bob, carol *gatehouse.User
	acme, widgets     *gatehouse.User
}

func newFGEnv(t *testing.T) *fgEnv {
	t.Helper()
	ctx := context.Background()
	e := &fgEnv{env: newEnv(t)}
	e.alice = e.user("alice", true)
	e.bob = e.user("bob", false)
	e.carol = e.user("carol", false)
	var err error
	if e.acme, err = e.svc.CreateOrg(ctx, system, service.NewOrg{Login: "acme", Owner: "alice"}); err != nil {
		t.Fatal(err)
	}
	if e.widgets, err = e.svc.CreateOrg(ctx, system, service.NewOrg{Login: "widgets", Owner: "alice"}); err != nil {
		t.Fatal(err)
	}
	for _, org := range []*gatehouse.User{e.acme, e.widgets} {
		if _, err := e.svc.SetMembership(ctx, system, org, "bob", gatehouse.OrgMember); err != nil {
			t.Fatal(err)
		}
	}
	p := gatehouse.DefaultTokenPolicy(e.widgets.ID)
	p.RestrictFineGrained = true
	if err := e.svc.SetOrgTokenPolicy(ctx, system, e.widgets, p); err != nil {
		t.Fatal(err)
	}
	for _, nr := range []service.NewRepo{
		{Owner: "acme", Name: "app", Private: true, Description: "The app"},
		{Owner: "acme", Name: "site"},
		{Owner: "acme", Name: "docs"},
		{Owner: "bob", Name: "dotfiles", Private: true},
		{Owner: "carol", Name: "secret", Private: true},
	} {
		if _, err := e.svc.CreateRepo(ctx, system, nr); err != nil {
			t.Fatal(err)
		}
	}
	return e
}

// fgToken returns the user's only fine-grained token named name.
func (e *fgEnv) fgToken(t *testing.T, userID int64, name string) *gatehouse.Token {
	t.Helper()
	tokens, err := e.svc.ListUserTokens(context.Background(), system, userID)
	if err != nil {
		t.Fatal(err)
	}
	for _, tk := range tokens {
		if tk.FineGrained() && tk.Note == name {
			return tk
		}
	}
	t.Fatalf("no fine-grained token %q", name)
	return nil
}

func fgPath(id int64, rest string) string {
	return "/settings/personal-access-tokens/" + strconv.FormatInt(id, 10) + rest
}

// TestFineGrainedPagesGolden renders the fine-grained pages in their
// usual states, in English and Japanese.
func TestFineGrainedPagesGolden(t *testing.T) {
	ctx := context.Background()
	e := newFGEnv(t)
	bc := e.client()
	bc.signIn("bob", true)
	fgGolden(t, "fg_tokens_empty", bc.get("/settings/personal-access-tokens").Body)
	fgGolden(t, "fg_token_new", bc.get("/settings/personal-access-tokens/new").Body)
	fgGolden(t, "fg_token_new_prefill", bc.get("/settings/personal-access-tokens/new?name=Deploy+bot&description=Ships+the+app&target_name=acme&expires_in=7&contents=write&members=read&bogus=write").Body)
	res := bc.post("/settings/personal-access-tokens/new", "/settings/personal-access-tokens", url.Values{
		"name": {" "}, "target_name": {"acme"}, "expires": {"none"}, "repository_access": {"selected"},
		"description": {"kept"}, "profile": {"write"}, "contents": {"read"}})
	wantStatus(t, "form with mistakes", res, http.StatusUnprocessableEntity)
	fgGolden(t, "fg_token_new_errors", res.Body)

	res = bc.post("/settings/personal-access-tokens/new", "/settings/personal-access-tokens", url.Values{
		"name": {"deploy"}, "target_name": {"acme"}, "expires": {"30"}, "repository_access": {"selected"},
		"repositories": {"app"}, "selection_owner": {"acme"}, "contents": {"read"}})
	wantStatus(t, "create", res, http.StatusSeeOther)
	fgGolden(t, "fg_tokens_created_pending", bc.get("/settings/personal-access-tokens").Body)
	tk := e.fgToken(t, e.bob.ID, "deploy")
	fgGolden(t, "fg_token", bc.get(fgPath(tk.ID, "")).Body)
	fgGolden(t, "fg_token_regenerate", bc.get(fgPath(tk.ID, "/regenerate")).Body)
	fgGolden(t, "fg_token_delete", bc.get(fgPath(tk.ID, "/delete")).Body)

	ac := e.client()
	ac.signIn("alice", true)
	fgGolden(t, "org_settings_tokens", ac.get("/organizations/acme/settings/personal-access-tokens").Body)
	fgGolden(t, "org_settings_token_requests", ac.get("/organizations/acme/settings/personal-access-token-requests").Body)
	if _, err := e.svc.ReviewTokenRequest(ctx, system, e.acme, tk.ID, true, "ok for the release"); err != nil {
		t.Fatal(err)
	}
	fgGolden(t, "org_settings_tokens_active", ac.get("/organizations/acme/settings/personal-access-tokens/active").Body)
	fgGolden(t, "fg_token_approved", bc.get(fgPath(tk.ID, "")).Body)

	bc.lang = "ja"
	fgGolden(t, "ja_fg_token_new", bc.get("/settings/personal-access-tokens/new?target_name=acme").Body)
	fgGolden(t, "ja_fg_tokens", bc.get("/settings/personal-access-tokens").Body)
	ac.lang = "ja"
	fgGolden(t, "ja_org_settings_tokens", ac.get("/organizations/acme/settings/personal-access-tokens").Body)
}

// A member creates a token for the organization through the form: the
// token is pending, shown once with a note saying so, and listed with
// its owner, repositories and badge.
func TestFineGrainedCreate(t *testing.T) {
	e := newFGEnv(t)
	bc := e.client()
	bc.signIn("bob", true)
	form := bc.get("/settings/personal-access-tokens/new").Body
	mustContain(t, "the form", form,
		`<option value="bob" selected data-max-days="0">bob</option>`,
		`<option value="acme" data-org="1" data-max-days="0">acme</option>`,
		`<option value="widgets" disabled data-org="1" data-max-days="0">widgets (does not allow fine-grained tokens)</option>`,
		"acme requires an owner to approve the token before it can reach private resources.",
		"widgets does not allow fine-grained personal access tokens.",
		`value="public" checked`, `name="repositories" value="dotfiles"`, `<span class="badge" id="perm-metadata">Read-only, always</span>`,
		`<select id="perm-contents" name="contents" class="compact level">`, `<option value="none" selected>No access</option>`,
		`<option value="30" selected>30 days</option>`, `<option value="none">No expiration</option>`)
	if strings.Contains(form, `value="app"`) {
		t.Error("the form for bob's own account lists acme's repositories")
	}

	res := bc.post("/settings/personal-access-tokens/new", "/settings/personal-access-tokens", url.Values{
		"name": {"release"}, "description": {"Ships the app"}, "target_name": {"acme"}, "expires": {"7"},
		"repository_access": {"selected"}, "repositories": {"app", "site"}, "selection_owner": {"acme"},
		"contents": {"read"}, "members": {"read"}})
	if res.Status != http.StatusSeeOther || res.Location != "/settings/personal-access-tokens" {
		t.Fatalf("create: %d %q\n%s", res.Status, res.Location, res.Body)
	}
	list := bc.get("/settings/personal-access-tokens").Body
	secret := fgSecretRe.FindString(list)
	if secret == "" {
		t.Fatal("the new token is not shown")
	}
	mustContain(t, "the list after creating", list, "Your new fine-grained personal access token", `id="pending-notice"`,
		"acme requires an owner&#39;s approval", `<span class="badge warn">Pending approval</span>`, "2 selected repositories",
		`data-copy="new-token"`, "Expires on Fri, Jun 21 2030.")
	if again := bc.get("/settings/personal-access-tokens").Body; fgSecretRe.MatchString(again) || strings.Contains(again, "pending-notice") {
		t.Fatal("the token is shown a second time")
	}
	tk := e.fgToken(t, e.bob.ID, "release")
	if tk.Approval != gatehouse.TokenPending || tk.TargetID != e.acme.ID || tk.Repos != gatehouse.SelectedRepos || len(tk.RepoIDs) != 2 ||
		tk.Permissions["contents"] != 1 || tk.Permissions["members"] != 1 || tk.Description != "Ships the app" || tk.Hash != token.Hash(secret) {
		t.Fatalf("the stored token: %+v", tk)
	}
	// Classic pages are about classic tokens.
	if classic := bc.get("/settings/tokens").Body; strings.Contains(classic, "release") {
		t.Error("the classic list shows the fine-grained token")
	}

	// For his own account, with no expiration and account permissions.
	res = bc.post("/settings/personal-access-tokens/new", "/settings/personal-access-tokens", url.Values{
		"name": {"dotfiles"}, "target_name": {"bob"}, "expires": {"none"}, "repository_access": {"all"}, "profile": {"write"}})
	wantStatus(t, "own account", res, http.StatusSeeOther)
	own := e.fgToken(t, e.bob.ID, "dotfiles")
	if own.Approval != gatehouse.TokenApproved || own.TargetID != e.bob.ID || !own.ExpiresAt.IsZero() || own.Permissions["profile"] != 2 {
		t.Fatalf("bob's own token: %+v", own)
	}
	list = bc.get("/settings/personal-access-tokens").Body
	mustContain(t, "the list", list, "All repositories", "This token never expires.")

	// alice owns acme: her token is approved at once, without the note.
	ac := e.client()
	ac.signIn("alice", true)
	mustContain(t, "alice's form", ac.get("/settings/personal-access-tokens/new").Body, "acme asks owners to approve tokens; you are an owner, so yours work at once.")
	res = ac.post("/settings/personal-access-tokens/new", "/settings/personal-access-tokens", url.Values{
		"name": {"ops"}, "target_name": {"acme"}, "expires": {"30"}, "repository_access": {"all"}, "administration": {"write"}})
	wantStatus(t, "owner's token", res, http.StatusSeeOther)
	if list := ac.get("/settings/personal-access-tokens").Body; strings.Contains(list, "pending-notice") || !fgSecretRe.MatchString(list) {
		t.Error("the owner's token is said to be pending, or not shown")
	}
	if tk := e.fgToken(t, e.alice.ID, "ops"); tk.Approval != gatehouse.TokenApproved {
		t.Errorf("the owner's token is %q", tk.Approval)
	}
	// The site admin's inventory shows the kind.
	mustContain(t, "admin tokens", ac.get("/admin/tokens").Body, `ops <span class="badge">Fine-grained</span>`, "administration:write")
}

// Mistakes re-render the form with what was typed, each explained.
func TestFineGrainedFormErrors(t *testing.T) {
	e := newFGEnv(t)
	bc := e.client()
	bc.signIn("bob", true)
	post := func(v url.Values) response {
		t.Helper()
		return bc.post("/settings/personal-access-tokens/new", "/settings/personal-access-tokens", v)
	}
	for _, tc := range []struct {
		name  string
		form  url.Values
		wants []string
	}{
		{"blank name and no repository", url.Values{"name": {""}, "target_name": {"acme"}, "repository_access": {"selected"}, "expires": {"30"}, "description": {"my words"}},
			[]string{"Give the token a name.", "Choose at least one repository", ">my words</textarea>", `value="selected" id="access-selected" checked`}},
		{"unknown repository", url.Values{"name": {"x"}, "target_name": {"acme"}, "repository_access": {"selected"}, "repositories": {"nope"}, "expires": {"30"}},
			[]string{"acme has no repository named “nope” that you can see."}},
		{"another owner's private repository", url.Values{"name": {"x"}, "target_name": {"bob"}, "repository_access": {"selected"}, "repositories": {"carol/secret"}, "expires": {"30"}},
			[]string{"bob has no repository named “carol/secret” that you can see."}},
		{"account permission for an organization", url.Values{"name": {"x"}, "target_name": {"acme"}, "repository_access": {"all"}, "git_ssh_keys": {"read"}, "expires": {"30"}},
			[]string{"Git SSH keys is an account permission", `<option value="read" selected>Read-only</option>`}},
		{"organization permission for the account", url.Values{"name": {"x"}, "target_name": {"bob"}, "repository_access": {"all"}, "members": {"write"}, "expires": {"30"}},
			[]string{"Members is an organization permission"}},
		{"no expiration for an organization", url.Values{"name": {"kept name"}, "target_name": {"acme"}, "repository_access": {"public"}, "expires": {"none"}},
			[]string{"A token for acme must expire.", `value="kept name"`, `<option value="acme" selected data-org="1"`}},
		{"restricted organization", url.Values{"name": {"x"}, "target_name": {"widgets"}, "repository_access": {"public"}, "expires": {"30"}},
			[]string{"widgets does not allow fine-grained personal access tokens. Choose another resource owner."}},
		{"not a member", url.Values{"name": {"x"}, "target_name": {"carol"}, "repository_access": {"public"}, "expires": {"30"}},
			[]string{"Choose your account or one of your organizations."}},
		{"bad level", url.Values{"name": {"x"}, "target_name": {"bob"}, "repository_access": {"public"}, "contents": {"admin"}, "expires": {"30"}},
			[]string{"Choose no access, read-only or read and write for Contents."}},
		{"past date", url.Values{"name": {"x"}, "target_name": {"bob"}, "repository_access": {"public"}, "expires": {"custom"}, "expires_date": {"2020-01-01"}},
			[]string{"Choose a date in the future.", `value="2020-01-01"`}},
		{"repositories of the previous owner", url.Values{"name": {"x"}, "target_name": {"bob"}, "repository_access": {"selected"}, "repositories": {"app"}, "selection_owner": {"acme"}, "expires": {"30"}},
			[]string{"Choose at least one repository"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res := post(tc.form)
			wantStatus(t, tc.name, res, http.StatusUnprocessableEntity)
			mustContain(t, tc.name, res.Body, tc.wants...)
		})
	}
	if n := tokenCount(t, e.env, e.bob.ID); n != 0 {
		t.Fatalf("the refused forms created %d tokens", n)
	}
	// The chosen repositories stay chosen.
	res := post(url.Values{"name": {""}, "target_name": {"acme"}, "repository_access": {"selected"}, "repositories": {"app", "docs"}, "selection_owner": {"acme"}, "expires": {"30"}})
	wantStatus(t, "blank name with repositories", res, http.StatusUnprocessableEntity)
	mustContain(t, "kept repositories", res.Body, `name="repositories" value="app" checked`, `name="repositories" value="docs" checked`,
		`name="repositories" value="site">`)

	// A name already in use, across both kinds.
	if _, err := e.svc.CreateToken(context.Background(), system, service.NewToken{UserID: e.bob.ID, Note: "laptop"}); err != nil {
		t.Fatal(err)
	}
	res = post(url.Values{"name": {"laptop"}, "target_name": {"bob"}, "repository_access": {"public"}, "expires": {"30"}})
	wantStatus(t, "taken name", res, http.StatusUnprocessableEntity)
	mustContain(t, "taken name", res.Body, "You already have a token with this name.")

	// An organization's longest lifetime.
	p := gatehouse.DefaultTokenPolicy(e.acme.ID)
	p.MaxFineGrainedDays = 20
	if err := e.svc.SetOrgTokenPolicy(context.Background(), system, e.acme, p); err != nil {
		t.Fatal(err)
	}
	form := bc.get("/settings/personal-access-tokens/new?target_name=acme").Body
	mustContain(t, "form for acme with a limit", form, `<option value="7" selected>7 days</option>`, `<option value="30" disabled>30 days</option>`,
		`<option value="custom">`, `max="2030-07-03"`, "acme allows fine-grained tokens that live at most 20 days.")
	for _, tc := range []struct{ expires, date string }{{"30", ""}, {"custom", "2030-07-04"}} {
		res = post(url.Values{"name": {"x"}, "target_name": {"acme"}, "repository_access": {"public"}, "expires": {tc.expires}, "expires_date": {tc.date}})
		wantStatus(t, "beyond acme's limit", res, http.StatusUnprocessableEntity)
		mustContain(t, "beyond acme's limit", res.Body, "acme allows fine-grained tokens that live at most 20 days. Choose an earlier expiration.")
	}
	res = post(url.Values{"name": {"x"}, "target_name": {"acme"}, "repository_access": {"public"}, "expires": {"custom"}, "expires_date": {"2030-07-03"}})
	wantStatus(t, "last day acme allows", res, http.StatusSeeOther)
}

// The picker works without the script (the Search button re-renders the
// form) and with it (the JSON it fetches).
func TestFineGrainedPicker(t *testing.T) {
	e := newFGEnv(t)
	bc := e.client()
	bc.signIn("bob", true)
	res := bc.post("/settings/personal-access-tokens/new", "/settings/personal-access-tokens", url.Values{
		"op": {"search"}, "name": {"draft"}, "target_name": {"acme"}, "expires": {"60"}, "repository_access": {"selected"},
		"repositories": {"docs"}, "selection_owner": {"acme"}, "repo_query": {"p"}, "contents": {"write"}})
	wantStatus(t, "search", res, http.StatusOK)
	mustContain(t, "search results", res.Body, `value="draft"`, `<option value="60" selected>`, `name="repositories" value="docs" checked`,
		`name="repositories" value="app">`, `value="p"`, `<option value="write" selected>Read and write</option>`)
	if strings.Contains(res.Body, `name="repositories" value="site"`) || strings.Contains(res.Body, `class="error"`) {
		t.Error("the search lists a repository that does not match, or shows errors")
	}
	if n := tokenCount(t, e.env, e.bob.ID); n != 0 {
		t.Fatal("a search created a token")
	}
	res = bc.post("/settings/personal-access-tokens/new", "/settings/personal-access-tokens", url.Values{
		"op": {"search"}, "target_name": {"acme"}, "repository_access": {"selected"}, "repo_query": {"zzz"}})
	mustContain(t, "no match", res.Body, "No repository matches “zzz”.")

	get := func(query string) (int, pickerAnswer, string) {
		t.Helper()
		r := bc.get("/settings/personal-access-tokens/repositories?" + query)
		var a pickerAnswer
		if r.Status < 500 {
			if err := json.Unmarshal([]byte(r.Body), &a); err != nil {
				t.Fatalf("%s: %v\n%s", query, err, r.Body)
			}
		}
		return r.Status, a, r.Body
	}
	status, a, _ := get("target_name=acme&q=")
	if status != http.StatusOK || a.Owner != "acme" || len(a.Repositories) != 3 || a.Repositories[0].Name != "app" || !a.Repositories[0].Private || a.Repositories[0].FullName != "acme/app" {
		t.Fatalf("all of acme's: %d %+v", status, a)
	}
	status, a, _ = get("target_name=acme&q=S&selected=docs")
	if status != http.StatusOK || len(a.Repositories) != 1 || a.Repositories[0].Name != "site" {
		t.Fatalf("matching s without docs: %d %+v", status, a)
	}
	if status, a, _ = get("target_name=carol"); status != http.StatusNotFound || len(a.Repositories) != 0 {
		t.Fatalf("another user's repositories: %d %+v", status, a)
	}
	if status, a, _ = get(""); status != http.StatusOK || a.Owner != "bob" || len(a.Repositories) != 1 {
		t.Fatalf("the viewer's own: %d %+v", status, a)
	}
	// carol does not see acme's repositories, even by asking.
	cc := e.client()
	cc.signIn("carol", true)
	r := cc.get("/settings/personal-access-tokens/repositories?target_name=acme")
	if r.Status != http.StatusNotFound || strings.Contains(r.Body, "app") {
		t.Fatalf("carol asking for acme's repositories: %d %s", r.Status, r.Body)
	}
	// The picker needs sudo mode like the form: no list otherwise.
	nc := e.client()
	nc.signIn("bob", false)
	if r := nc.get("/settings/personal-access-tokens/repositories?target_name=acme"); r.Status != http.StatusSeeOther {
		t.Fatalf("the picker outside sudo mode: %d", r.Status)
	}
}

// Template URLs fill the form.
func TestFineGrainedTemplateURL(t *testing.T) {
	e := newFGEnv(t)
	bc := e.client()
	bc.signIn("bob", true)
	body := bc.get("/settings/personal-access-tokens/new?name=CI&description=Builds&target_name=acme&expires_in=45&contents=read&administration=write&metadata=write").Body
	mustContain(t, "prefilled", body, `value="CI"`, ">Builds</textarea>", `<option value="acme" selected data-org="1"`,
		`<option value="custom" selected>`, `value="2030-07-29"`, `<select id="perm-administration" name="administration" class="compact level"><option value="none">No access</option><option value="read">Read-only</option><option value="write" selected>`,
		`<select id="perm-contents" name="contents" class="compact level"><option value="none">No access</option><option value="read" selected>`)
	body = bc.get("/settings/personal-access-tokens/new?expires_in=7&target_name=widgets").Body
	mustContain(t, "7 days, restricted owner", body, `<option value="7" selected>`, `<option value="bob" selected`)
}

// The token's page: details, edit, regenerate, delete; someone else's
// token is not found, and each kind's pages send the other kind to its
// own.
func TestFineGrainedTokenPages(t *testing.T) {
	ctx := context.Background()
	e := newFGEnv(t)
	issued, err := e.svc.CreateFineGrainedToken(ctx, system, service.NewFineGrained{UserID: e.bob.ID, Name: "deploy", Description: "first",
		Owner: "acme", Repos: gatehouse.SelectedRepos, RepoNames: []string{"app"}, Permissions: token.Perms{"contents": token.ReadOnly}, Expires: "30d"})
	if err != nil {
		t.Fatal(err)
	}
	id := issued.Token.ID
	classic, err := e.svc.CreateToken(ctx, system, service.NewToken{UserID: e.bob.ID, Note: "classic", Scopes: []string{"repo"}})
	if err != nil {
		t.Fatal(err)
	}
	bc := e.client()
	bc.signIn("bob", true)
	page := bc.get(fgPath(id, "")).Body
	mustContain(t, "the token's page", page, "Waiting for an owner of acme to approve this token.", `<a class="mono" href="/acme/app">acme/app</a>`,
		"<strong>Contents</strong> <code>contents</code>: Read-only", "<strong>Metadata</strong> <code>metadata</code>: Read-only", `>first</textarea>`)

	res := bc.post(fgPath(id, ""), fgPath(id, ""), url.Values{"name": {""}, "description": {"second"}})
	wantStatus(t, "blank name", res, http.StatusUnprocessableEntity)
	mustContain(t, "blank name", res.Body, "Give the token a name.", ">second</textarea>")
	res = bc.post(fgPath(id, ""), fgPath(id, ""), url.Values{"name": {"classic"}, "description": {"second"}})
	wantStatus(t, "taken name", res, http.StatusUnprocessableEntity)
	mustContain(t, "taken name", res.Body, "You already have a token with this name.", `value="classic"`)
	res = bc.post(fgPath(id, ""), fgPath(id, ""), url.Values{"name": {"deploy v2"}, "description": {"second"}})
	mustContain(t, "renamed", bc.follow("rename", res).Body, "Token “deploy v2” updated.", ">second</textarea>")

	// Regenerate: acme's tokens must expire.
	form := bc.get(fgPath(id, "/regenerate")).Body
	if strings.Contains(form, `value="none"`) {
		t.Error("the regenerate form offers no expiration for an organization's token")
	}
	res = bc.post(fgPath(id, "/regenerate"), fgPath(id, "/regenerate"), url.Values{"expires": {"none"}})
	wantStatus(t, "regenerate without expiration", res, http.StatusUnprocessableEntity)
	mustContain(t, "regenerate without expiration", res.Body, "A token for acme must expire.")
	res = bc.post(fgPath(id, "/regenerate"), fgPath(id, "/regenerate"), url.Values{"expires": {"7"}})
	wantStatus(t, "regenerate", res, http.StatusSeeOther)
	list := bc.get("/settings/personal-access-tokens").Body
	secret := fgSecretRe.FindString(list)
	mustContain(t, "regenerated", list, "Your regenerated token: the old value no longer works.", `id="pending-notice"`)
	if got, _ := e.st.FindTokenByID(ctx, id); secret == "" || got.Hash != token.Hash(secret) || got.Hash == issued.Token.Hash {
		t.Fatal("the regenerated secret is not the stored one")
	}

	// Someone else's token does not exist for them, on every page.
	ac := e.client()
	ac.signIn("alice", true)
	for _, path := range []string{fgPath(id, ""), fgPath(id, "/regenerate"), fgPath(id, "/delete")} {
		wantStatus(t, "alice GET "+path, ac.get(path), http.StatusNotFound)
		wantStatus(t, "alice POST "+path, ac.post("/settings/personal-access-tokens", path, url.Values{"name": {"stolen"}, "expires": {"7"}}), http.StatusNotFound)
	}
	wantStatus(t, "a bad id", bc.get("/settings/personal-access-tokens/x1"), http.StatusNotFound)
	if got, _ := e.st.FindTokenByID(ctx, id); got.Note != "deploy v2" {
		t.Fatalf("alice changed bob's token: %+v", got)
	}

	// Each kind's pages send the other kind to its own.
	for from, to := range map[string]string{
		fgPath(classic.Token.ID, ""):                                    "/settings/tokens/" + strconv.FormatInt(classic.Token.ID, 10),
		fgPath(classic.Token.ID, "/delete"):                             "/settings/tokens/" + strconv.FormatInt(classic.Token.ID, 10) + "/delete",
		"/settings/tokens/" + strconv.FormatInt(id, 10):                 fgPath(id, ""),
		"/settings/tokens/" + strconv.FormatInt(id, 10) + "/regenerate": fgPath(id, "/regenerate"),
	} {
		if res := bc.get(from); res.Status != http.StatusSeeOther || res.Location != to {
			t.Errorf("GET %s: %d %q, want a redirect to %s", from, res.Status, res.Location, to)
		}
	}
	wantStatus(t, "update a classic token as fine-grained", bc.post(fgPath(id, ""), fgPath(classic.Token.ID, ""), url.Values{"name": {"x"}}), http.StatusNotFound)
	wantStatus(t, "update a fine-grained token as classic", bc.post(fgPath(id, ""), "/settings/tokens/"+strconv.FormatInt(id, 10), url.Values{"note": {"x"}}), http.StatusNotFound)

	// Delete.
	mustContain(t, "delete confirmation", bc.get(fgPath(id, "/delete")).Body, "Delete this token?", `id="confirm-delete"`)
	res = bc.post(fgPath(id, "/delete"), fgPath(id, "/delete"), nil)
	mustContain(t, "deleted", bc.follow("delete", res).Body, "Token “deploy v2” deleted.", "You have no fine-grained tokens.")
	if _, err := e.st.FindTokenByID(ctx, id); !gatehouse.IsKind(err, gatehouse.NotFound) {
		t.Fatalf("the token is still there: %v", err)
	}
}

// Forms need the session's form token and sudo mode; a form posted after
// sudo mode ran out returns to its page.
func TestFineGrainedCSRFAndSudo(t *testing.T) {
	e := newFGEnv(t)
	bc := e.client()
	bc.signIn("bob", true)
	good := url.Values{"name": {"n"}, "target_name": {"bob"}, "repository_access": {"public"}, "expires": {"7"}}
	res := bc.do("POST", "/settings/personal-access-tokens", good, nil)
	wantStatus(t, "no form token", res, http.StatusForbidden)
	res = bc.do("POST", "/settings/personal-access-tokens", good, map[string]string{"Sec-Fetch-Site": "cross-site"})
	wantStatus(t, "cross-site", res, http.StatusForbidden)
	if n := tokenCount(t, e.env, e.bob.ID); n != 0 {
		t.Fatalf("a refused POST created %d tokens", n)
	}

	nc := e.client()
	nc.signIn("bob", false)
	res = nc.get("/settings/personal-access-tokens/new?name=x")
	if res.Status != http.StatusSeeOther || res.Location != "/sudo?return_to="+url.QueryEscape("/settings/personal-access-tokens/new?name=x") {
		t.Fatalf("the form outside sudo mode: %d %q", res.Status, res.Location)
	}
	wantStatus(t, "the list outside sudo mode", nc.get("/settings/personal-access-tokens"), http.StatusOK)
	res = nc.post("/settings/personal-access-tokens", "/settings/personal-access-tokens", good)
	wantStatus(t, "create outside sudo mode", res, http.StatusUnauthorized)
	mustContain(t, "sudo prompt", res.Body, sudoForm, `name="return_to" value="/settings/personal-access-tokens/new"`)
	if n := tokenCount(t, e.env, e.bob.ID); n != 0 {
		t.Fatal("a token was created outside sudo mode")
	}
	for path, back := range map[string]string{
		"/settings/personal-access-tokens":                              "/settings/personal-access-tokens/new",
		"/settings/personal-access-tokens/4":                            "/settings/personal-access-tokens/4",
		"/settings/personal-access-tokens/4/regenerate":                 "/settings/personal-access-tokens/4/regenerate",
		"/settings/personal-access-tokens/4/delete":                     "/settings/personal-access-tokens/4/delete",
		"/organizations/acme/settings/personal-access-tokens":           "/organizations/acme/settings/personal-access-tokens",
		"/organizations/acme/settings/personal-access-tokens/4/revoke":  "/organizations/acme/settings/personal-access-tokens/active",
		"/organizations/acme/settings/personal-access-token-requests/4": "/organizations/acme/settings/personal-access-token-requests",
	} {
		if got := sudoReturnForPost(path); got != back {
			t.Errorf("sudoReturnForPost(%q) = %q, want %q", path, got, back)
		}
	}
	ac := e.client()
	ac.signIn("alice", false)
	res = ac.get("/organizations/acme/settings/personal-access-token-requests")
	if res.Status != http.StatusSeeOther || !strings.HasPrefix(res.Location, "/sudo?return_to=") {
		t.Fatalf("the requests page outside sudo mode: %d %q", res.Status, res.Location)
	}
}

// An owner sets the policy, reviews requests and revokes tokens; members
// and strangers find no such pages.
func TestOrgTokenSettings(t *testing.T) {
	ctx := context.Background()
	e := newFGEnv(t)
	mk := func(name string) int64 {
		t.Helper()
		issued, err := e.svc.CreateFineGrainedToken(ctx, system, service.NewFineGrained{UserID: e.bob.ID, Name: name,
			Owner: "acme", Repos: gatehouse.AllRepos, Permissions: token.Perms{"contents": token.ReadOnly}, Expires: "30d"})
		if err != nil {
			t.Fatal(err)
		}
		return issued.Token.ID
	}
	first, second := mk("first"), mk("second")
	ac := e.client()
	ac.signIn("alice", true)
	policy := "/organizations/acme/settings/personal-access-tokens"
	requests := "/organizations/acme/settings/personal-access-token-requests"
	active := "/organizations/acme/settings/personal-access-tokens/active"

	page := ac.get(policy).Body
	mustContain(t, "the policy form", page, `name="fine_grained" value="allow" checked`, `name="classic" value="allow" checked`,
		`id="require_approval" checked`, `<a href="/organizations/acme/settings/personal-access-tokens" aria-current="page">Personal access tokens</a>`)
	res := ac.post(policy, policy, url.Values{"classic": {"restrict"}, "fine_grained": {"allow"}, "max_classic_days": {"0"}, "max_fine_grained_days": {"abc"}})
	wantStatus(t, "bad days", res, http.StatusUnprocessableEntity)
	mustContain(t, "bad days", res.Body, "Enter a number of days from 1 to 3650", `value="abc"`, `name="classic" value="restrict" checked`)
	if p, _ := e.svc.OrgTokenPolicy(ctx, system, e.acme); p.RestrictClassic {
		t.Fatal("a refused form changed the policy")
	}
	res = ac.post(policy, policy, url.Values{"classic": {"restrict"}, "fine_grained": {"allow"}, "require_approval": {"1"}, "max_fine_grained_days": {"90"}})
	mustContain(t, "saved", ac.follow("save policy", res).Body, "Personal access token policy of acme saved.", `name="classic" value="restrict" checked`, `value="90"`)
	if p, _ := e.svc.OrgTokenPolicy(ctx, system, e.acme); !p.RestrictClassic || p.RestrictFineGrained || !p.RequireApproval || p.MaxFineGrainedDays != 90 || p.MaxClassicDays != 0 {
		t.Fatalf("the saved policy: %+v", p)
	}

	list := ac.get(requests).Body
	mustContain(t, "requests", list, `id="request-`+strconv.FormatInt(first, 10)+`"`, `id="request-`+strconv.FormatInt(second, 10)+`"`,
		`<a href="/bob">bob</a> · first`, "All repositories", "<strong>Contents</strong> <code>contents</code>: Read-only")
	res = ac.post(requests, requests+"/"+strconv.FormatInt(first, 10), url.Values{"action": {"approve"}, "reason": {"for the release"}})
	mustContain(t, "approved", ac.follow("approve", res).Body, "Token “first” approved.")
	res = ac.post(requests, requests+"/"+strconv.FormatInt(second, 10), url.Values{"action": {"deny"}, "reason": {"use the shared one"}})
	mustContain(t, "denied", ac.follow("deny", res).Body, "Token “second” denied.", "No requests are waiting.")
	res = ac.post(requests, requests+"/"+strconv.FormatInt(second, 10), url.Values{"action": {"approve"}})
	mustContain(t, "reviewed twice", ac.follow("review again", res).Body, "That request was already reviewed.")
	res = ac.post(requests, requests+"/"+strconv.FormatInt(first, 10), url.Values{"action": {"maybe"}})
	mustContain(t, "bad action", ac.follow("bad action", res).Body, "Choose Approve or Deny.")
	if tk, _ := e.st.FindTokenByID(ctx, first); tk.Approval != gatehouse.TokenApproved || tk.ReviewReason != "for the release" {
		t.Fatalf("first after approval: %+v", tk)
	}
	if tk, _ := e.st.FindTokenByID(ctx, second); tk.Approval != gatehouse.TokenDenied {
		t.Fatalf("second after denial: %+v", tk)
	}

	// bob sees the decisions.
	bc := e.client()
	bc.signIn("bob", true)
	mustContain(t, "bob's list", bc.get("/settings/personal-access-tokens").Body, `<span class="badge danger">Denied</span>`)
	mustContain(t, "bob's approved token", bc.get(fgPath(first, "")).Body, "Approved: this token works on the resources of acme.", "for the release")
	mustContain(t, "bob's denied token", bc.get(fgPath(second, "")).Body, "An owner of acme denied this token", "use the shared one")

	// Active tokens, and revoking one.
	mustContain(t, "active", ac.get(active).Body, `id="active-`+strconv.FormatInt(first, 10)+`"`, "Revoke token first of bob")
	res = ac.post(active, "/organizations/acme/settings/personal-access-tokens/"+strconv.FormatInt(first, 10)+"/revoke", nil)
	mustContain(t, "revoked", ac.follow("revoke", res).Body, "Token “first” of bob revoked.", "No fine-grained tokens reach this organization.")
	if _, err := e.st.FindTokenByID(ctx, first); !gatehouse.IsKind(err, gatehouse.NotFound) {
		t.Fatalf("the revoked token is still there: %v", err)
	}
	res = ac.post(active, "/organizations/acme/settings/personal-access-tokens/"+strconv.FormatInt(first, 10)+"/revoke", nil)
	mustContain(t, "revoked twice", ac.follow("revoke again", res).Body, "That token no longer exists.")

	// A member and a stranger find nothing, and change nothing.
	cc := e.client()
	cc.signIn("carol", true)
	for _, c := range []*client{bc, cc} {
		for _, path := range []string{policy, requests, active} {
			wantStatus(t, "GET "+path, c.get(path), http.StatusNotFound)
		}
		wantStatus(t, "POST policy", c.post("/settings/profile", policy, url.Values{"classic": {"allow"}, "fine_grained": {"restrict"}}), http.StatusNotFound)
		wantStatus(t, "POST review", c.post("/settings/profile", requests+"/"+strconv.FormatInt(second, 10), url.Values{"action": {"approve"}}), http.StatusNotFound)
	}
	if p, _ := e.svc.OrgTokenPolicy(ctx, system, e.acme); !p.RestrictClassic || p.RestrictFineGrained {
		t.Fatalf("a member changed the policy: %+v", p)
	}

	// The audit log names the new events.
	log := ac.get("/admin/audit-log").Body
	mustContain(t, "audit log", log, "Token approval requested", "Token approved by organization", "Token denied by organization",
		"Token revoked by organization", "Token policy changed")
}

// Every permission has a name and a description in every language.
func TestPermissionLabels(t *testing.T) {
	for _, lang := range Languages {
		loc := localizer(lang)
		for _, p := range token.Permissions() {
			for _, key := range []string{permKey(p.Name), permKey(p.Name) + "_desc"} {
				if !loc.Has(key) {
					t.Errorf("%s: no %s", lang, key)
				}
			}
		}
	}
	if en := localizer("en"); en.T("nav.fine_grained_tokens") != "Fine-grained tokens" || en.T("nav.classic_tokens") != "Tokens (classic)" {
		t.Error("the side navigation does not use GitHub's words")
	}
}

// TestFineGrainedAccessPage: bob's approved token for acme shows its
// repositories and permissions on its access page; saving a narrower set
// keeps it approved; adding a repository sends it back for review, and
// the page says so; its page shows the new access; a page in Japanese
// renders; another user's token is not found.
func TestFineGrainedAccessPage(t *testing.T) {
	ctx := context.Background()
	e := newFGEnv(t)
	bc := e.client()
	bc.signIn("bob", true)
	res := bc.post("/settings/personal-access-tokens/new", "/settings/personal-access-tokens", url.Values{
		"name": {"deploy"}, "target_name": {"acme"}, "expires": {"30"}, "repository_access": {"selected"},
		"repositories": {"app", "site"}, "selection_owner": {"acme"}, "contents": {"write"}})
	wantStatus(t, "create", res, http.StatusSeeOther)
	tk := e.fgToken(t, e.bob.ID, "deploy")
	if _, err := e.svc.ReviewTokenRequest(ctx, system, e.acme, tk.ID, true, ""); err != nil {
		t.Fatal(err)
	}
	page := bc.get(fgPath(tk.ID, "/access"))
	wantStatus(t, "access page", page, http.StatusOK)
	fgGolden(t, "fg_token_access", page.Body)
	for _, want := range []string{`value="acme/app"`, `value="acme/site"`, `id="review-note"`} {
		if !strings.Contains(page.Body, want) && !strings.Contains(page.Body, strings.Replace(want, "acme/", "", 1)) {
			t.Errorf("the access page lacks %s", want)
		}
	}

	// Narrower: site only, contents read.
	res = bc.post(fgPath(tk.ID, "/access"), fgPath(tk.ID, "/access"), url.Values{
		"repository_access": {"selected"}, "repositories": {"site"}, "selection_owner": {"acme"}, "contents": {"read"}})
	wantStatus(t, "narrowing", res, http.StatusSeeOther)
	tk = e.fgToken(t, e.bob.ID, "deploy")
	if tk.Approval != gatehouse.TokenApproved || len(tk.RepoIDs) != 1 || tk.Permissions["contents"] != int(token.ReadOnly) {
		t.Fatalf("after narrowing: %+v", tk)
	}
	if body := bc.get(fgPath(tk.ID, "")).Body; !strings.Contains(body, "The access of deploy changed.") || strings.Contains(body, "acme/app") {
		t.Errorf("the token's page after narrowing:\n%s", body)
	}

	// A mistake is shown on the form, and nothing changes.
	res = bc.post(fgPath(tk.ID, "/access"), fgPath(tk.ID, "/access"), url.Values{
		"repository_access": {"selected"}, "selection_owner": {"acme"}, "contents": {"read"}})
	wantStatus(t, "no repository", res, http.StatusUnprocessableEntity)
	if !strings.Contains(res.Body, `id="repositories-error"`) {
		t.Errorf("no error shown for an empty selection:\n%s", res.Body)
	}

	// Wider: app again; the token waits for an owner.
	res = bc.post(fgPath(tk.ID, "/access"), fgPath(tk.ID, "/access"), url.Values{
		"repository_access": {"selected"}, "repositories": {"site", "app"}, "selection_owner": {"acme"}, "contents": {"read"}})
	wantStatus(t, "widening", res, http.StatusSeeOther)
	if tk = e.fgToken(t, e.bob.ID, "deploy"); tk.Approval != gatehouse.TokenPending || len(tk.RepoIDs) != 2 {
		t.Fatalf("after widening: %+v", tk)
	}
	if body := bc.get(fgPath(tk.ID, "")).Body; !strings.Contains(body, "waits for an owner of acme to approve it") || !strings.Contains(body, `id="approval-state"`) {
		t.Errorf("the token's page after widening:\n%s", body)
	}

	// Pending, it may not reach further than the owners see.
	res = bc.post(fgPath(tk.ID, "/access"), fgPath(tk.ID, "/access"), url.Values{
		"repository_access": {"all"}, "contents": {"read"}})
	wantStatus(t, "widening a pending request", res, http.StatusUnprocessableEntity)
	if !strings.Contains(res.Body, "until then its access can only narrow") {
		t.Errorf("widening a pending request:\n%s", res.Body)
	}

	bc.lang = "ja"
	if page := bc.get(fgPath(tk.ID, "/access")); page.Status != http.StatusOK || !strings.Contains(page.Body, "のリポジトリと権限") {
		t.Errorf("the Japanese page: %d", page.Status)
	}
	cc := e.client()
	cc.signIn("carol", true)
	wantStatus(t, "carol on bob's token", cc.get(fgPath(tk.ID, "/access")), http.StatusNotFound)
}
