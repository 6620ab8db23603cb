package web

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"

	"github.com/gatehouse/gatehouse/internal/testenv"
)

var fineGrainedRe = regexp.MustCompile(`^gtp_pat_[0-9A-Za-z]{36}$`)

// signIn signs login in through the sign-in page.
func (p *page) signIn(login, password string) {
	p.t.Helper()
	p.run("open sign-in", chromedp.Navigate(p.base+"/login"), chromedp.WaitVisible("#login", chromedp.ByQuery))
	p.run("sign in as "+login, chromedp.SendKeys("#login", login, chromedp.ByQuery), chromedp.SendKeys("#password", password, chromedp.ByQuery),
		chromedp.Submit("#password", chromedp.ByQuery))
	p.waitPath("/")
}

// signOut signs out through the avatar menu.
func (p *page) signOut() {
	p.t.Helper()
	p.run("open avatar menu", chromedp.Click("#avatar-menu summary", chromedp.ByQuery), chromedp.WaitVisible("#avatar-menu .menu-list", chromedp.ByQuery))
	p.clickText("#avatar-menu", "Sign out")
	p.waitPath("/login")
}

// sudo confirms the password on the sudo prompt, then waits for back.
func (p *page) sudo(password, back string) {
	p.t.Helper()
	p.waitPath("/sudo")
	p.run("sudo password", chromedp.SendKeys("#sudo-password", password, chromedp.ByQuery), chromedp.Submit("#sudo-password", chromedp.ByQuery))
	p.waitPath(back)
}

// TestFineGrainedTokenInBrowser is a member asking for a fine-grained
// token for an organization by clicking through the form in Chromium
// (resource owner, only select repositories with the search-as-you-type
// picker, contents read), the token staying pending and git refusing it,
// an owner approving it on the organization's pending requests and git
// then cloning with it; and the owner restricting classic tokens, which
// git then refuses with a message that names the organization.
func TestFineGrainedTokenInBrowser(t *testing.T) {
	chromium(t)
	g := newGit(t)
	srv := testenv.Start(t, testenv.Options{})
	alicePW := srv.CreateUser("alice", false)
	bobPW := srv.CreateUser("bob", false)
	srv.CreateOrg("acme", "alice", "bob")
	srv.Admin("repo", "create", "acme/app", "--private")
	srv.Admin("repo", "create", "acme/website")
	remote := srv.RepoURL("acme/app")

	t.Log("alice pushes a first commit to the private acme/app")
	aliceTok := srv.Token("alice", "push", "repo", "7d")
	work := t.TempDir()
	src := filepath.Join(work, "src")
	g.MustRun(work, "init", "-q", "-b", "main", src)
	if err := os.WriteFile(filepath.Join(src, "README.md"), []byte("# App\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	g.MustRun(src, "add", ".")
	g.MustRun(src, "commit", "-q", "-m", "first")
	g.MustRunAs(src, "alice", aliceTok, "push", "-q", remote, "main")

	p := &page{t: t, ctx: newBrowser(t), base: srv.URL, shot: artifacts(t)}

	t.Log("bob: avatar menu → Settings → Developer settings → Fine-grained tokens → Generate new token")
	p.signIn("bob", bobPW)
	p.run("open avatar menu", chromedp.Click("#avatar-menu summary", chromedp.ByQuery), chromedp.WaitVisible("#avatar-menu .menu-list", chromedp.ByQuery))
	p.clickText("#avatar-menu", "Settings")
	p.waitPath("/settings/profile")
	p.clickText("nav.side", "Developer settings")
	p.waitPath("/settings/developers")
	p.clickText("nav.side", "Fine-grained tokens")
	p.waitPath("/settings/personal-access-tokens")
	if h := p.text("h1"); h != "Fine-grained personal access tokens" {
		t.Errorf("the list's heading is %q", h)
	}
	p.clickText("main", "Generate new token")
	p.sudo(bobPW, "/settings/personal-access-tokens/new")

	t.Log("the form: acme as resource owner, only app, contents read")
	p.run("fill name", chromedp.SendKeys("#name", "app deploy", chromedp.ByQuery),
		chromedp.SendKeys("#description", "Clones the app for the release job", chromedp.ByQuery))
	if !p.exists(`#target_name option[value="acme"]`) {
		t.Fatal("acme is not offered as resource owner")
	}
	p.run("choose acme", chromedp.SetValue("#target_name", "acme", chromedp.ByQuery),
		chromedp.Evaluate(`document.getElementById("target_name").dispatchEvent(new Event("change"))`, nil))
	var hidden struct{ Account, Org, Never bool }
	p.eval(`({Account: document.getElementById("perms-account").hidden, Org: document.getElementById("perms-organization").hidden,
		Never: document.querySelector('#expires option[value="none"]').disabled})`, &hidden)
	if !hidden.Account || hidden.Org || !hidden.Never {
		t.Errorf("with acme chosen: account permissions hidden=%v, organization permissions hidden=%v, no expiration disabled=%v", hidden.Account, hidden.Org, hidden.Never)
	}
	if notes := p.text("#owner-notes"); !strings.Contains(notes, "acme requires an owner to approve") {
		t.Errorf("the owner notes say %q", notes)
	}
	p.run("only select repositories", chromedp.Click(`input[name="repository_access"][value="selected"]`, chromedp.ByQuery),
		chromedp.WaitVisible("#repo_query", chromedp.ByQuery))
	if p.exists("#repo-search") {
		t.Error("the picker's Search button is still there with the script")
	}
	p.run("acme's repositories listed", chromedp.Poll(`!!document.querySelector('#repo-results input[value="website"]')`, nil,
		chromedp.WithPollingTimeout(5*time.Second)))
	p.run("search as you type", chromedp.SendKeys("#repo_query", "ap", chromedp.ByQuery),
		chromedp.Poll(`!!document.querySelector('#repo-results input[value="app"]') && !document.querySelector('#repo-results input[value="website"]')`, nil,
			chromedp.WithPollingTimeout(5*time.Second)))
	p.run("choose app", chromedp.Click(`#repo-results input[value="app"]`, chromedp.ByQuery),
		chromedp.WaitVisible(`#repo-selected input[value="app"]`, chromedp.ByQuery))
	p.run("contents read", chromedp.SetValue("#perm-contents", "read", chromedp.ByQuery))
	p.screenshot("en-fine-grained-token-form")
	p.clickText("#fg-token-form", "Generate token")
	p.waitPath("/settings/personal-access-tokens")

	t.Log("the token is shown once, said to be pending")
	secret := p.text("#new-token")
	if !fineGrainedRe.MatchString(secret) {
		t.Fatalf("the page shows %q, not a fine-grained token", secret)
	}
	srv.AddSecret(secret)
	if note := p.text("#pending-notice"); !strings.Contains(note, "acme requires an owner's approval") {
		t.Errorf("the pending note says %q", note)
	}
	if row := p.text("#fg-token-list"); !strings.Contains(row, "app deploy") || !strings.Contains(row, "Pending approval") ||
		!strings.Contains(row, "acme") || !strings.Contains(row, "1 selected repository") {
		t.Errorf("the token's row: %q", row)
	}
	p.screenshot("en-fine-grained-token-pending")

	t.Log("pending, the token does not reach acme/app")
	r := g.RunAs(work, "bob", secret, "clone", "-q", remote, "pending")
	if r.Err == nil {
		t.Fatalf("clone with the pending token succeeded:\n%s", r.Stderr)
	}
	if !strings.Contains(r.Stderr, "Repository not found") {
		t.Errorf("clone with the pending token failed oddly:\n%s", r.Stderr)
	}
	var tokenPage string
	p.eval(`document.querySelector("#fg-token-list .token-note").getAttribute("href")`, &tokenPage)
	p.clickText("#fg-token-list", "app deploy")
	p.waitPath(tokenPage)
	if state := p.text("#approval-state"); !strings.Contains(state, "Waiting for an owner of acme") {
		t.Errorf("the token's page says %q", state)
	}
	p.screenshot("en-fine-grained-token-page")
	p.signOut()

	t.Log("alice approves the request in acme's settings")
	p.signIn("alice", alicePW)
	p.run("open organization settings", chromedp.Navigate(srv.URL+"/organizations/acme/settings/profile"), chromedp.WaitVisible("nav.side", chromedp.ByQuery))
	p.clickText("nav.side", "Pending requests")
	p.sudo(alicePW, "/organizations/acme/settings/personal-access-token-requests")
	if req := p.text("#token-requests"); !strings.Contains(req, "bob") || !strings.Contains(req, "app deploy") || !strings.Contains(req, "acme/app") {
		t.Errorf("the pending request: %q", req)
	}
	p.run("give a reason", chromedp.SendKeys("#token-requests textarea", "for the release job", chromedp.ByQuery))
	p.screenshot("en-org-token-requests")
	p.clickText("#token-requests", "Approve")
	p.waitPath("/organizations/acme/settings/personal-access-token-requests")
	if msg := p.text(".flash"); msg != "Token “app deploy” approved." {
		t.Errorf("after approving the page says %q", msg)
	}

	t.Log("approved, the same token clones acme/app")
	g.MustRunAs(work, "bob", secret, "clone", "-q", remote, "approved")
	if b, err := os.ReadFile(filepath.Join(work, "approved", "README.md")); err != nil || string(b) != "# App\n" {
		t.Fatalf("cloned README: %q, %v", b, err)
	}

	t.Log("alice restricts classic tokens; bob's classic token is refused, naming acme")
	bobClassic := srv.Token("bob", "classic laptop", "repo", "7d")
	g.MustRunAs(work, "bob", bobClassic, "clone", "-q", remote, "classic-before")
	p.clickText("nav.side", "Personal access tokens")
	p.waitPath("/organizations/acme/settings/personal-access-tokens")
	p.run("restrict classic tokens", chromedp.Click(`input[name="classic"][value="restrict"]`, chromedp.ByQuery))
	p.screenshot("en-org-token-policy")
	p.clickText("#token-policy-form", "Save policy")
	p.waitPath("/organizations/acme/settings/personal-access-tokens")
	if msg := p.text(".flash"); msg != "Personal access token policy of acme saved." {
		t.Errorf("after saving the policy the page says %q", msg)
	}
	var restricted bool
	p.eval(`document.querySelector('input[name="classic"][value="restrict"]').checked`, &restricted)
	if !restricted {
		t.Error("the saved policy does not show classic tokens restricted")
	}
	r = g.RunAs(work, "bob", bobClassic, "clone", "-q", remote, "classic-after")
	if r.Err == nil {
		t.Fatalf("clone with a classic token of a restricted organization succeeded:\n%s", r.Stderr)
	}
	if !strings.Contains(r.Stderr, "acme") || !strings.Contains(r.Stderr, "fine-grained") {
		t.Errorf("the refusal does not name acme and the way out:\n%s", r.Stderr)
	}
	g.MustRunAs(work, "bob", secret, "clone", "-q", remote, "fine-grained-after")

	t.Log("bob takes contents away from his token on its access page; git refuses it at once")
	p.signOut()
	p.signIn("bob", bobPW)
	p.run("open the token's page", chromedp.Navigate(srv.URL+tokenPage))
	p.sudo(bobPW, tokenPage)
	p.clickText(".actions", "Change access")
	p.waitPath(tokenPage + "/access")
	var form struct {
		Selected bool
		Contents string
	}
	p.eval(`({Selected: !!document.querySelector('#repo-selected input[value="app"]:checked'), Contents: document.getElementById("perm-contents").value})`, &form)
	if !form.Selected || form.Contents != "read" {
		t.Errorf("the access page shows app selected=%v, contents %q; want the token's own access", form.Selected, form.Contents)
	}
	p.run("contents none", chromedp.SetValue("#perm-contents", "none", chromedp.ByQuery))
	p.screenshot("en-fine-grained-token-access")
	p.clickText("#fg-token-form", "Save access")
	p.waitPath(tokenPage)
	if msg := p.text(".flash"); msg != "The access of app deploy changed." {
		t.Errorf("after saving the access the page says %q", msg)
	}
	if state := p.text("#approval-state"); !strings.HasPrefix(state, "Approved") {
		t.Errorf("a narrower token is no longer approved: %q", state)
	}
	r = g.RunAs(work, "bob", secret, "clone", "-q", remote, "no-contents")
	if r.Err == nil || !strings.Contains(r.Stderr, `"contents: read"`) {
		t.Errorf("clone with contents taken away: %v\n%s", r.Err, r.Stderr)
	}

	t.Log("the form in Japanese")
	p.run("ask for Japanese", network.Enable(), network.SetExtraHTTPHeaders(network.Headers{"Accept-Language": "ja,en;q=0.5"}))
	p.run("Japanese form", chromedp.Navigate(srv.URL+"/settings/personal-access-tokens/new?name=CI&target_name=acme&expires_in=7&contents=read"),
		chromedp.WaitVisible("#fg-token-form", chromedp.ByQuery))
	p.waitPath("/settings/personal-access-tokens/new")
	if h := p.text("h1"); h != "新しい Fine-grained 個人用アクセストークン" {
		t.Errorf("the Japanese heading is %q", h)
	}
	p.run("only select repositories", chromedp.Click(`input[name="repository_access"][value="selected"]`, chromedp.ByQuery),
		chromedp.WaitVisible(`#repo-results input[value="app"]`, chromedp.ByQuery))
	p.screenshot("ja-fine-grained-token-form")
}
