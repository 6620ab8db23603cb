package web

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"

	"github.com/gatehouse/gatehouse/internal/testenv"
)

// TestOrganizationInBrowser is an owner setting up an organization by
// clicking through the pages in Chromium: the avatar menu → New
// organization, a private repository through the owner picker, the
// members page (after confirming the password), a team with a member and
// a push grant on the repository; then the member pushes to it with a
// token through real git, and the push shows on the repository page.
func TestOrganizationInBrowser(t *testing.T) {
	chromium(t)
	g := newGit(t)
	srv := testenv.Start(t, testenv.Options{})
	alicePW := srv.CreateUser("alice", false)
	srv.CreateUser("bob", false)
	p := &page{t: t, ctx: newBrowser(t), base: srv.URL, shot: artifacts(t)}

	t.Log("sign in")
	p.run("open sign-in", chromedp.Navigate(srv.URL+"/login"), chromedp.WaitVisible("#login", chromedp.ByQuery))
	p.run("sign in", chromedp.SendKeys("#login", "alice", chromedp.ByQuery), chromedp.SendKeys("#password", alicePW, chromedp.ByQuery),
		chromedp.Submit("#password", chromedp.ByQuery))
	p.waitPath("/")

	t.Log("avatar menu → New organization")
	p.run("open avatar menu", chromedp.Click("#avatar-menu summary", chromedp.ByQuery), chromedp.WaitVisible("#avatar-menu .menu-list", chromedp.ByQuery))
	p.clickText("#avatar-menu", "New organization")
	p.waitPath("/organizations/new")
	p.run("fill organization form", chromedp.SendKeys("#login", "acme", chromedp.ByQuery),
		chromedp.SendKeys("#name", "Acme Corporation", chromedp.ByQuery))
	p.screenshot("en-org-new")
	p.clickText("#org-form", "Create organization")
	p.waitPath("/acme")
	if msg := p.text(".flash"); !strings.Contains(msg, "Organization acme created") {
		t.Errorf("after creating the organization the page says %q", msg)
	}
	if h := p.text("h1"); !strings.Contains(h, "Acme Corporation") {
		t.Errorf("organization page heading %q", h)
	}

	t.Log("the avatar menu lists the organization; a repository through the owner picker")
	p.run("open avatar menu", chromedp.Click("#avatar-menu summary", chromedp.ByQuery), chromedp.WaitVisible("#menu-orgs", chromedp.ByQuery))
	if orgs := p.text("#avatar-menu .menu-org"); orgs != "acme" {
		t.Errorf("the avatar menu lists %q under the organizations", orgs)
	}
	p.screenshot("en-avatar-menu-orgs")
	p.run("close avatar menu", chromedp.Click("#avatar-menu summary", chromedp.ByQuery))
	p.clickText("main", "New repository")
	p.waitPath("/new")
	var owner string
	p.run("read owner", chromedp.Value("#owner", &owner, chromedp.ByQuery))
	if owner != "acme" {
		t.Errorf("the owner picker starts at %q, want acme (from the organization's page)", owner)
	}
	p.run("fill repository form", chromedp.SendKeys("#name", "app", chromedp.ByQuery),
		chromedp.Click(`input[name="readme"]`, chromedp.ByQuery))
	p.screenshot("en-repo-new-owner-picker")
	p.clickText("main form", "Create repository")
	p.waitPath("/acme/app")

	t.Log("Settings → Members asks for the password, then adds bob")
	p.run("open organization", chromedp.Navigate(srv.URL+"/acme"), chromedp.WaitVisible(".tabs", chromedp.ByQuery))
	p.clickText(".profile-head", "Settings")
	p.waitPath("/organizations/acme/settings/profile")
	p.clickText("nav.side", "Members")
	p.waitPath("/sudo")
	p.run("sudo password", chromedp.SendKeys("#sudo-password", alicePW, chromedp.ByQuery), chromedp.Submit("#sudo-password", chromedp.ByQuery))
	p.waitPath("/organizations/acme/settings/members")
	p.run("fill member form", chromedp.SendKeys("#member-login", "bob", chromedp.ByQuery))
	p.clickText("#add-member-form", "Add member")
	p.waitPath("/organizations/acme/settings/members")
	if msg := p.text(".flash"); msg != "bob is now a member of acme." {
		t.Errorf("after adding bob the page says %q", msg)
	}
	if table := p.text("#members"); !strings.Contains(table, "alice") || !strings.Contains(table, "bob") {
		t.Errorf("members table: %q", table)
	}
	p.screenshot("en-org-members")

	t.Log("Teams → a team with bob, granted push on acme/app")
	p.clickText("nav.side", "Teams")
	p.waitPath("/organizations/acme/settings/teams")
	p.run("fill team form", chromedp.SendKeys("#team-name", "Developers", chromedp.ByQuery),
		chromedp.SendKeys("#team-description", "People who ship the app", chromedp.ByQuery))
	p.clickText("#new-team-form", "Create team")
	p.waitPath("/organizations/acme/settings/teams/developers")
	p.run("fill team member", chromedp.SendKeys("#team-member-login", "bob", chromedp.ByQuery))
	p.clickText("#add-team-member-form", "Add to team")
	p.waitPath("/organizations/acme/settings/teams/developers")
	p.run("choose repository and permission", chromedp.SetValue("#team-repo", "app", chromedp.ByQuery),
		chromedp.SetValue("#team-permission", "push", chromedp.ByQuery))
	p.clickText("#add-team-repo-form", "Add repository")
	p.waitPath("/organizations/acme/settings/teams/developers")
	if msg := p.text(".flash"); msg != "Team Developers now has Write access to acme/app." {
		t.Errorf("after the grant the page says %q", msg)
	}
	var perm string
	p.run("read the grant", chromedp.Value("#perm-app", &perm, chromedp.ByQuery))
	if perm != "push" {
		t.Errorf("the grant on app shows %q, want push", perm)
	}
	if members := p.text("#team-member-list"); !strings.Contains(members, "bob") {
		t.Errorf("team members: %q", members)
	}
	p.screenshot("en-org-team")

	t.Log("bob pushes to acme/app with a token, through real git")
	bobTok := srv.Token("bob", "laptop", "repo", "7d")
	remote := srv.URL + "/acme/app.git"
	work := t.TempDir()
	g.MustRunAs(work, "bob", bobTok, "clone", "-q", remote, "app")
	dir := filepath.Join(work, "app")
	if err := os.WriteFile(filepath.Join(dir, "from-bob.txt"), []byte("hello from bob\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	g.MustRun(dir, "add", ".")
	g.MustRun(dir, "commit", "-q", "-m", "bob's first change")
	g.MustRunAs(dir, "bob", bobTok, "push", "-q", "origin", "main")
	p.run("open repository", chromedp.Navigate(srv.URL+"/acme/app"), chromedp.WaitVisible(".file-list", chromedp.ByQuery))
	if files := p.text(".file-list"); !strings.Contains(files, "from-bob.txt") {
		t.Errorf("the repository page lists %q, without bob's file", files)
	}
	p.screenshot("en-org-repo-after-push")

	t.Log("the organization page: repositories, people, teams; and in Japanese")
	p.run("people tab", chromedp.Navigate(srv.URL+"/acme?tab=people"), chromedp.WaitVisible("#people", chromedp.ByQuery))
	if people := p.text("#people"); !strings.Contains(people, "alice") || !strings.Contains(people, "Owner") || !strings.Contains(people, "bob") {
		t.Errorf("people tab: %q", people)
	}
	p.screenshot("en-org-people")
	p.run("ask for Japanese", network.Enable(), network.SetExtraHTTPHeaders(network.Headers{"Accept-Language": "ja"}))
	p.run("teams tab in Japanese", chromedp.Navigate(srv.URL+"/acme?tab=teams"), chromedp.WaitVisible("#teams", chromedp.ByQuery))
	if tab := p.text(`.tabs a[aria-current="page"]`); tab != "Team" {
		t.Errorf("the Japanese teams tab is %q", tab)
	}
	p.screenshot("ja-org-teams")
	p.run("team settings in Japanese", chromedp.Navigate(srv.URL+"/organizations/acme/settings/teams/developers"), chromedp.WaitVisible("#team-repo-list", chromedp.ByQuery))
	p.screenshot("ja-org-team")
	p.run("narrow window", chromedp.EmulateViewport(390, 844))
	p.screenshot("ja-org-team-phone")

	if log := srv.Log(); strings.Contains(log, bobTok) || strings.Contains(log, alicePW) {
		t.Error("the server log contains a secret")
	}
}
