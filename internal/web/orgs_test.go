package web

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/gatehouse/gatehouse"
	"github.com/gatehouse/gatehouse/internal/service"
)

// follow fetches the page a redirect points to.
func (c *client) follow(what string, res response) response {
	c.e.t.Helper()
	if res.Status != http.StatusSeeOther || !strings.HasPrefix(res.Location, "/") {
		c.e.t.Fatalf("%s: status %d (Location %q), want a redirect\n%s", what, res.Status, res.Location, res.Body)
	}
	return c.get(res.Location)
}

// mustContain fails unless body contains every one of wants.
func mustContain(t *testing.T, what, body string, wants ...string) {
	t.Helper()
	for _, w := range wants {
		if !strings.Contains(body, w) {
			t.Errorf("%s lacks %q", what, w)
		}
	}
}

// TestOrgPagesGolden renders the organization pages in their usual
// states: the form, the page at /ORG with each tab, every settings page,
// the owner picker, and Japanese.
func TestOrgPagesGolden(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	e.user("alice", false)
	e.user("bob", false)
	e.user("carol", false)
	c := e.client()
	c.signIn("alice", true)

	golden(t, "org_new", c.get("/organizations/new").Body)
	res := c.post("/organizations/new", "/organizations/new", url.Values{"login": {"-bad"}, "email": {"nope"}})
	wantStatus(t, "org form with mistakes", res, http.StatusUnprocessableEntity)
	golden(t, "org_new_errors", res.Body)
	res = c.post("/organizations/new", "/organizations/new", url.Values{"login": {"acme"}, "name": {"Acme Corporation"}, "email": {"ops@acme.example"}})
	if res.Location != "/acme" {
		t.Fatalf("a new organization redirects to %q", res.Location)
	}
	golden(t, "org_created", c.follow("create organization", res).Body)

	acme, err := e.svc.FindOrg(ctx, system, "acme")
	if err != nil {
		t.Fatal(err)
	}
	for _, nr := range []service.NewRepo{
		{Owner: "acme", Name: "website", Description: "The public site"},
		{Owner: "acme", Name: "payroll", Private: true},
	} {
		if _, err := e.svc.CreateRepo(ctx, system, nr); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := e.svc.SetMembership(ctx, system, acme, "bob", gatehouse.OrgMember); err != nil {
		t.Fatal(err)
	}
	name, desc, secret := "Web team", "Keeps the site up", "secret"
	if _, err := e.svc.CreateTeam(ctx, system, acme, service.TeamChange{Name: &name, Description: &desc}); err != nil {
		t.Fatal(err)
	}
	board := "Board"
	if _, err := e.svc.CreateTeam(ctx, system, acme, service.TeamChange{Name: &board, Privacy: &secret}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.svc.SetTeamMembership(ctx, system, acme, "web-team", "bob", gatehouse.TeamMaintainer); err != nil {
		t.Fatal(err)
	}
	if err := e.svc.SetTeamRepo(ctx, system, acme, "web-team", "acme", "website", gatehouse.PermWrite); err != nil {
		t.Fatal(err)
	}

	golden(t, "org", c.get("/acme").Body)
	golden(t, "org_people", c.get("/acme?tab=people").Body)
	golden(t, "org_teams", c.get("/acme?tab=teams").Body)
	golden(t, "org_settings_profile", c.get("/organizations/acme/settings/profile").Body)
	golden(t, "org_settings_members", c.get("/organizations/acme/settings/members").Body)
	golden(t, "org_settings_teams", c.get("/organizations/acme/settings/teams").Body)
	golden(t, "org_settings_team", c.get("/organizations/acme/settings/teams/web-team").Body)
	golden(t, "org_settings_privileges", c.get("/organizations/acme/settings/member-privileges").Body)
	golden(t, "repo_new_owner", c.get("/new?owner=acme").Body)

	// bob, a member, sees the people and the visible team, not the
	// secret one, and no settings; carol, an outsider, sees the public
	// repository only.
	bc := e.client()
	bc.signIn("bob", false)
	golden(t, "org_member", bc.get("/acme?tab=teams").Body)
	cc := e.client()
	cc.signIn("carol", false)
	res = cc.get("/acme")
	wantStatus(t, "organization page for an outsider", res, http.StatusOK)
	golden(t, "org_outsider", res.Body)

	c.lang = "ja"
	golden(t, "ja_org", c.get("/acme").Body)
	golden(t, "ja_org_settings_members", c.get("/organizations/acme/settings/members").Body)
	golden(t, "ja_org_settings_team", c.get("/organizations/acme/settings/teams/web-team").Body)
	golden(t, "ja_org_new", c.get("/organizations/new").Body)
}

// What the organization page shows depends on who looks, and the service
// decides: outsiders see neither private repositories nor memberships,
// and asking for the people tab gets the not-found page; members see
// private repositories through the base permission; secret teams are for
// their members and the owners.
func TestOrgPageVisibility(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	e.user("root", true)
	e.user("alice", false)
	e.user("bob", false)
	e.user("carol", false)
	acme, err := e.svc.CreateOrg(ctx, system, service.NewOrg{Login: "acme", Owner: "alice"})
	if err != nil {
		t.Fatal(err)
	}
	for _, nr := range []service.NewRepo{{Owner: "acme", Name: "open"}, {Owner: "acme", Name: "vault", Private: true}} {
		if _, err := e.svc.CreateRepo(ctx, system, nr); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := e.svc.SetMembership(ctx, system, acme, "bob", gatehouse.OrgMember); err != nil {
		t.Fatal(err)
	}
	secret, name := "secret", "Hidden"
	if _, err := e.svc.CreateTeam(ctx, system, acme, service.TeamChange{Name: &name, Privacy: &secret}); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		viewer                  string
		vault, people, settings bool
		hidden                  bool // sees the secret team
	}{
		{"alice", true, true, true, true},
		{"bob", true, true, false, false},
		{"carol", false, false, false, false},
		{"root", false, false, false, false},
		{"", false, false, false, false},
	} {
		c := e.client()
		if tc.viewer != "" {
			c.signIn(tc.viewer, true)
		}
		res := c.get("/acme")
		wantStatus(t, "/acme as "+tc.viewer, res, http.StatusOK)
		mustContain(t, "/acme as "+tc.viewer, res.Body, `href="/acme/open"`, `<span class="badge">Organization</span>`)
		if got := strings.Contains(res.Body, "vault"); got != tc.vault {
			t.Errorf("%q sees the private repository: %v, want %v", tc.viewer, got, tc.vault)
		}
		if got := strings.Contains(res.Body, `href="/acme?tab=people"`); got != tc.people {
			t.Errorf("%q is offered the people tab: %v, want %v", tc.viewer, got, tc.people)
		}
		if got := strings.Contains(res.Body, `/organizations/acme/settings/profile`); got != tc.settings {
			t.Errorf("%q is offered the settings: %v, want %v", tc.viewer, got, tc.settings)
		}
		people := c.get("/acme?tab=people")
		if tc.people {
			wantStatus(t, "people as "+tc.viewer, people, http.StatusOK)
			mustContain(t, "people as "+tc.viewer, people.Body, `href="/alice"`, `href="/bob"`, "Owner", "Member")
			teams := c.get("/acme?tab=teams")
			if got := strings.Contains(teams.Body, "Hidden"); got != tc.hidden {
				t.Errorf("%q sees the secret team: %v, want %v", tc.viewer, got, tc.hidden)
			}
		} else {
			wantStatus(t, "people as "+tc.viewer, people, http.StatusNotFound)
			if strings.Contains(people.Body, `href="/bob"`) {
				t.Errorf("%q learns the members", tc.viewer)
			}
		}
		settings := c.get("/organizations/acme/settings/members")
		switch {
		case tc.viewer == "":
			wantStatus(t, "settings anonymously", settings, http.StatusSeeOther)
		case tc.settings:
			wantStatus(t, "settings as "+tc.viewer, settings, http.StatusOK)
		default:
			wantStatus(t, "settings as "+tc.viewer, settings, http.StatusNotFound)
		}
	}
	// A user's page is still a profile.
	c := e.client()
	if res := c.get("/bob"); !strings.Contains(res.Body, "No repositories to show.") || strings.Contains(res.Body, "Organization") {
		t.Errorf("bob's profile renders as an organization:\n%s", res.Body)
	}
}

// An owner runs an organization from its settings: members and roles,
// teams with members and repository grants, the base permission; each
// change reaches the service, lands in the audit log under its own name
// in both languages, and the rules hold (one owner at least).
func TestOrgSettingsFlow(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	e.user("root", true)
	e.user("alice", false)
	bob := e.user("bob", false)
	e.user("carol", false)
	c := e.client()
	c.signIn("alice", true)
	res := c.post("/organizations/new", "/organizations/new", url.Values{"login": {"acme"}})
	wantStatus(t, "create organization", res, http.StatusSeeOther)
	mustContain(t, "the new organization", c.follow("create", res).Body, "Organization acme created. You are its owner.")
	acme, err := e.svc.FindOrg(ctx, system, "acme")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.svc.CreateRepo(ctx, system, service.NewRepo{Owner: "acme", Name: "app", Private: true}); err != nil {
		t.Fatal(err)
	}
	members := "/organizations/acme/settings/members"

	// Members and roles.
	res = c.post(members, members, url.Values{"login": {"nobody"}, "role": {"member"}})
	wantStatus(t, "add an unknown user", res, http.StatusUnprocessableEntity)
	mustContain(t, "unknown user", res.Body, "There is no user named nobody.")
	res = c.post(members, members, url.Values{"login": {"bob"}, "role": {"member"}})
	mustContain(t, "bob added", c.follow("add bob", res).Body, "bob is now a member of acme.", `id="role-bob"`)
	res = c.post(members, members, url.Values{"login": {"carol"}, "role": {"admin"}})
	mustContain(t, "carol added", c.follow("add carol", res).Body, "carol is now an owner of acme.")
	res = c.post(members, members, url.Values{"login": {"carol"}, "role": {"member"}})
	c.follow("demote carol", res)
	if m, err := e.svc.Membership(ctx, system, acme, "carol"); err != nil || m.Role != gatehouse.OrgMember {
		t.Fatalf("carol after the role change: %+v, %v", m, err)
	}
	// alice is the last owner: neither demoted nor removed.
	res = c.post(members, members, url.Values{"login": {"alice"}, "role": {"member"}})
	wantStatus(t, "demote the last owner", res, http.StatusUnprocessableEntity)
	mustContain(t, "last owner", res.Body, "must keep at least one owner")
	res = c.post(members, members+"/alice/remove", nil)
	mustContain(t, "remove the last owner", c.follow("remove alice", res).Body, "must keep at least one owner")
	if m, err := e.svc.Membership(ctx, system, acme, "alice"); err != nil || m.Role != gatehouse.OrgOwner {
		t.Fatalf("alice after the refusals: %+v, %v", m, err)
	}
	res = c.post(members, members+"/carol/remove", nil)
	mustContain(t, "carol removed", c.follow("remove carol", res).Body, "carol was removed from acme")
	if _, err := e.svc.Membership(ctx, system, acme, "carol"); !gatehouse.IsKind(err, gatehouse.NotFound) {
		t.Fatalf("carol is still a member: %v", err)
	}

	// Teams.
	teams := "/organizations/acme/settings/teams"
	res = c.post(teams, teams, url.Values{"name": {"!!!"}})
	wantStatus(t, "team without a name", res, http.StatusUnprocessableEntity)
	res = c.post(teams, teams, url.Values{"name": {"Core Devs"}, "description": {"The core"}, "privacy": {"closed"}})
	if res.Location != teams+"/core-devs" {
		t.Fatalf("a new team redirects to %q", res.Location)
	}
	res = c.post(teams, teams, url.Values{"name": {"core devs"}})
	wantStatus(t, "team of a taken slug", res, http.StatusUnprocessableEntity)
	mustContain(t, "taken team", res.Body, "already has a team with this name")
	team := teams + "/core-devs"
	res = c.post(team, team+"/members", url.Values{"login": {"bob"}, "role": {"member"}})
	mustContain(t, "bob in the team", c.follow("add bob to the team", res).Body, "bob is now a member of team Core Devs.")
	res = c.post(team, team+"/repos", url.Values{"repo": {"app"}, "permission": {"push"}})
	mustContain(t, "grant", c.follow("grant app", res).Body, "Team Core Devs now has Write access to acme/app.", `<option value="push" selected>`)
	repo, err := e.st.FindRepo(ctx, "acme", "app")
	if err != nil {
		t.Fatal(err)
	}
	bobActor := &gatehouse.Actor{User: bob}
	if p, err := e.svc.Role(ctx, bobActor, repo); err != nil || p != gatehouse.PermWrite {
		t.Fatalf("bob's role on acme/app through the team: %v, %v", p, err)
	}
	res = c.post(team, team+"/repos", url.Values{"repo": {"missing"}, "permission": {"push"}})
	wantStatus(t, "grant a missing repository", res, http.StatusUnprocessableEntity)
	res = c.post(team, team+"/repos", url.Values{"repo": {"app"}, "permission": {"bogus"}})
	wantStatus(t, "grant a bogus permission", res, http.StatusUnprocessableEntity)

	// Base permission.
	privileges := "/organizations/acme/settings/member-privileges"
	res = c.post(privileges, privileges, url.Values{"base_permission": {"none"}})
	mustContain(t, "base permission", c.follow("set base permission", res).Body, "Base permission set to No permission.")
	if org, _ := e.svc.FindOrg(ctx, system, "acme"); org.BasePermission != gatehouse.PermNone {
		t.Fatalf("base permission %v, want none", org.BasePermission)
	}

	// Out of the team, bob keeps nothing (base permission none): the
	// change holds on the very next request.
	res = c.post(team, team+"/members/bob/remove", nil)
	mustContain(t, "bob out of the team", c.follow("remove bob from the team", res).Body, "bob was removed from team Core Devs.")
	if p, err := e.svc.Role(ctx, bobActor, repo); err != nil || p != gatehouse.PermNone {
		t.Fatalf("bob's role on acme/app after leaving the team: %v, %v", p, err)
	}
	res = c.post(team, team+"/repos", url.Values{"repo": {"app"}, "permission": {"none"}})
	mustContain(t, "grant removed", c.follow("remove the grant", res).Body, "Team Core Devs no longer has access to acme/app.")
	res = c.post(team, team+"/delete", nil)
	if res.Location != teams {
		t.Fatalf("deleting a team redirects to %q", res.Location)
	}
	mustContain(t, "team deleted", c.get(teams).Body, "Team Core Devs deleted.", "No teams yet.")
	res = c.post(teams, "/organizations/acme/settings/profile", url.Values{"name": {"Acme Inc."}, "email": {"bad"}})
	wantStatus(t, "profile with a bad email", res, http.StatusUnprocessableEntity)
	res = c.post(teams, "/organizations/acme/settings/profile", url.Values{"name": {"Acme Inc."}, "description": {"We make things"}})
	mustContain(t, "profile", c.follow("save profile", res).Body, "Organization profile saved.", `value="Acme Inc."`)

	// The audit log names every action, in English and in Japanese.
	admin := e.client()
	admin.signIn("root", false)
	log := admin.get("/admin/audit-log").Body
	mustContain(t, "the audit log", log, "Organization created", "Added to organization", "Organization role changed",
		"Removed from organization", "Team created", "Added to team", "Repository granted to team", "Base permission changed",
		"Removed from team", "Repository removed from team", "Team deleted", "Organization profile changed",
		`<strong class="audit-target">acme/core-devs</strong>`, "org.update_default_repository_permission")
	for key := range auditActionKeys {
		if strings.HasPrefix(string(key), "org.") || strings.HasPrefix(string(key), "team.") || strings.HasPrefix(string(key), "repo.") {
			for _, lang := range Languages {
				if msg := localizer(lang).T(auditActionKeys[key]); msg == auditActionKeys[key] || msg == "" {
					t.Errorf("%s: %s is not named", lang, key)
				}
			}
		}
	}
	admin.lang = "ja"
	mustContain(t, "the Japanese audit log", admin.get("/admin/audit-log").Body, "Organization を作成", "Team にリポジトリを付与", "基本権限を変更")
	// bob's security log tells him what happened to his memberships.
	bc := e.client()
	bc.signIn("bob", false)
	mustContain(t, "bob's security log", bc.get("/settings/security-log").Body, "Added to organization", "Removed from team")
}

// Membership and team changes need sudo mode: a form posted after it ran
// out asks for the password and comes back to the page of the form.
func TestOrgSettingsNeedSudo(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	e.user("alice", false)
	e.user("bob", false)
	if _, err := e.svc.CreateOrg(ctx, system, service.NewOrg{Login: "acme", Owner: "alice"}); err != nil {
		t.Fatal(err)
	}
	c := e.client()
	c.signIn("alice", false)
	res := c.get("/organizations/acme/settings/members")
	if res.Status != http.StatusSeeOther || res.Location != "/sudo?return_to="+url.QueryEscape("/organizations/acme/settings/members") {
		t.Fatalf("members page without sudo: %d %q", res.Status, res.Location)
	}
	// The profile is not sensitive.
	wantStatus(t, "profile without sudo", c.get("/organizations/acme/settings/profile"), http.StatusOK)
	for path, back := range map[string]string{
		"/organizations/acme/settings/members":                       "/organizations/acme/settings/members",
		"/organizations/acme/settings/members/bob/remove":            "/organizations/acme/settings/members",
		"/organizations/acme/settings/teams":                         "/organizations/acme/settings/teams",
		"/organizations/acme/settings/teams/devs/members":            "/organizations/acme/settings/teams/devs",
		"/organizations/acme/settings/teams/devs/members/bob/remove": "/organizations/acme/settings/teams/devs",
		"/organizations/acme/settings/teams/devs/repos":              "/organizations/acme/settings/teams/devs",
		"/organizations/acme/settings/teams/devs/delete":             "/organizations/acme/settings/teams",
		"/organizations/acme/settings/member-privileges":             "/organizations/acme/settings/member-privileges",
	} {
		if got := sudoReturnForPost(path); got != back {
			t.Errorf("sudoReturnForPost(%q) = %q, want %q", path, got, back)
		}
	}
	res = c.post("/organizations/acme/settings/profile", "/organizations/acme/settings/members", url.Values{"login": {"bob"}, "role": {"member"}})
	wantStatus(t, "add a member without sudo", res, http.StatusUnauthorized)
	mustContain(t, "sudo prompt", res.Body, sudoForm, `name="return_to" value="/organizations/acme/settings/members"`)
	acme, _ := e.svc.FindOrg(ctx, system, "acme")
	if _, err := e.svc.Membership(ctx, system, acme, "bob"); !gatehouse.IsKind(err, gatehouse.NotFound) {
		t.Fatalf("bob was added without sudo: %v", err)
	}
}

// The new-repository form offers the viewer and their organizations;
// members create the organization's repositories, outsiders cannot, even
// by posting another owner.
func TestRepoOwnerPicker(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	e.user("alice", false)
	e.user("bob", false)
	e.user("carol", false)
	acme, err := e.svc.CreateOrg(ctx, system, service.NewOrg{Login: "acme", Owner: "alice"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.svc.SetMembership(ctx, system, acme, "bob", gatehouse.OrgMember); err != nil {
		t.Fatal(err)
	}
	bc := e.client()
	bc.signIn("bob", false)
	form := bc.get("/new?owner=acme").Body
	mustContain(t, "bob's form", form, `<select id="owner" name="owner"`, `<option value="bob">bob</option>`, `<option value="acme" selected>acme</option>`)
	mustContain(t, "bob's menu", form, `<a href="/acme" class="menu-org">`)
	res := bc.post("/new", "/new", url.Values{"owner": {"acme"}, "name": {"shared"}, "visibility": {"private"}})
	if res.Status != http.StatusSeeOther || res.Location != "/acme/shared" {
		t.Fatalf("bob creating acme/shared: %d %q\n%s", res.Status, res.Location, res.Body)
	}
	res = bc.post("/new", "/new", url.Values{"owner": {"acme"}, "name": {"shared"}})
	wantStatus(t, "a taken name in the organization", res, http.StatusUnprocessableEntity)
	mustContain(t, "taken", res.Body, "acme already has a repository with this name.")

	cc := e.client()
	cc.signIn("carol", false)
	if form := cc.get("/new").Body; strings.Contains(form, `name="owner"`) {
		t.Error("carol, in no organization, is offered an owner picker")
	}
	res = cc.post("/new", "/new", url.Values{"owner": {"acme"}, "name": {"intrusion"}, "visibility": {"public"}})
	wantStatus(t, "an outsider creating for acme", res, http.StatusUnprocessableEntity)
	mustContain(t, "outsider", res.Body, "You cannot create repositories for this owner.")
	if _, err := e.st.FindRepo(ctx, "acme", "intrusion"); !gatehouse.IsKind(err, gatehouse.NotFound) {
		t.Fatalf("the outsider's repository exists: %v", err)
	}
}

// When the instance keeps organizations to site admins, users are told
// so, offered no link, and refused by the service.
func TestOrgCreationForAdminsOnly(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, func(c *service.Config) { c.NoUserOrgs = true })
	e.user("root", true)
	e.user("alice", false)
	c := e.client()
	c.signIn("alice", false)
	res := c.get("/organizations/new")
	wantStatus(t, "form for a user", res, http.StatusForbidden)
	mustContain(t, "refusal", res.Body, "only site administrators create organizations")
	if strings.Contains(c.get("/").Body, "/organizations/new") {
		t.Error("the menu offers a form the user may not use")
	}
	res = c.do("POST", "/organizations/new", url.Values{"login": {"acme"}, "csrf_token": {csrfRe.FindStringSubmatch(c.get("/").Body)[1]}}, nil)
	wantStatus(t, "create as a user", res, http.StatusForbidden)
	if _, err := e.svc.FindOrg(ctx, system, "acme"); !gatehouse.IsKind(err, gatehouse.NotFound) {
		t.Fatalf("the organization exists: %v", err)
	}
	a := e.client()
	a.signIn("root", false)
	res = a.post("/organizations/new", "/organizations/new", url.Values{"login": {"acme"}})
	wantStatus(t, "create as a site admin", res, http.StatusSeeOther)
	res = a.post("/organizations/new", "/organizations/new", url.Values{"login": {"ACME"}})
	mustContain(t, "taken", res.Body, "already taken by a user or an organization")
	res = a.post("/organizations/new", "/organizations/new", url.Values{"login": {"alice"}})
	mustContain(t, "a user's login", res.Body, "already taken by a user or an organization")
	res = a.post("/organizations/new", "/organizations/new", url.Values{"login": {"settings"}})
	mustContain(t, "reserved", res.Body, "reserved for one of the server&#39;s own pages")
}
