package web

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/browser"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"

	"github.com/gatehouse/gatehouse/internal/testenv"
)

const (
	adminLogin    = "alice"
	adminPassword = "correct horse battery"
)

// newBrowser starts headless Chromium with a fresh profile and the flags
// that keep it off the network except for our server.
func newBrowser(t *testing.T) context.Context {
	t.Helper()
	// Not t.TempDir: Chromium's helper processes may still be writing to
	// the profile for a moment after the browser is gone, and TempDir fails
	// the test when it cannot remove the folder.
	profile, err := os.MkdirTemp("", "gatehouse-chromium-")
	if err != nil {
		t.Fatal(err)
	}
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(chromium(t)),
		chromedp.UserDataDir(profile),
		// Chromium's singleton socket goes to TMPDIR: keep it in the
		// profile, which is removed, rather than in /tmp.
		chromedp.Env("TMPDIR="+profile),
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.WindowSize(1280, 900),
	)
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelCtx := chromedp.NewContext(actx, chromedp.WithLogf(t.Logf))
	ctx, cancelTimeout := context.WithTimeout(ctx, 4*time.Minute)
	t.Cleanup(func() {
		cancelTimeout()
		cancelCtx()
		cancelAlloc()
		for i := 0; i < 50; i++ {
			if os.RemoveAll(profile) == nil {
				return
			}
			time.Sleep(100 * time.Millisecond)
		}
		t.Logf("could not remove the Chromium profile %s", profile)
	})
	if err := chromedp.Run(ctx); err != nil {
		t.Fatalf("start Chromium: %v", err)
	}
	return ctx
}

// page wraps the browser context with helpers that fail the test.
type page struct {
	t    *testing.T
	ctx  context.Context
	base string
	shot string // screenshot folder
}

func (p *page) run(what string, actions ...chromedp.Action) {
	p.t.Helper()
	if err := chromedp.Run(p.ctx, actions...); err != nil {
		p.t.Fatalf("%s: %v", what, err)
	}
}

// waitPath waits until the browser shows path (without query) in a
// document that has loaded and that no earlier waitPath has seen. The last
// condition matters when a form posts back to its own page: the old
// document has the right path until the new one replaces it. Evaluations
// fail while a navigation is under way, so errors only end the wait at the
// deadline.
func (p *page) waitPath(path string) {
	p.t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	var last string
	for time.Now().Before(deadline) {
		var st struct {
			Path, State string
			Seen        bool
		}
		err := chromedp.Run(p.ctx, chromedp.Evaluate(`({Path: location.pathname, State: document.readyState, Seen: window.__e2eSeen === true})`, &st))
		if err == nil && st.Path == path && st.State == "complete" && !st.Seen {
			var marked bool
			if chromedp.Run(p.ctx, chromedp.Evaluate(`window.__e2eSeen = true`, &marked)) == nil {
				return
			}
		}
		if err != nil {
			last = err.Error()
		} else {
			last = st.Path + " (" + st.State + ")"
			if st.Seen {
				last += ", the document before the last step"
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	p.t.Fatalf("waited for %s, the browser is at %s", path, last)
}

func (p *page) text(sel string) string {
	p.t.Helper()
	var s string
	p.run("read "+sel, chromedp.Text(sel, &s, chromedp.ByQuery, chromedp.NodeVisible))
	return strings.TrimSpace(s)
}

func (p *page) eval(js string, out any) {
	p.t.Helper()
	p.run("evaluate "+js, chromedp.Evaluate(js, out))
}

func (p *page) exists(sel string) bool {
	p.t.Helper()
	var ok bool
	p.eval(fmt.Sprintf("document.querySelector(%q) !== null", sel), &ok)
	return ok
}

// clickLink clicks the link or button whose visible text is exactly text,
// inside the element matched by within (CSS).
func (p *page) clickText(within, text string) {
	p.t.Helper()
	var ok bool
	js := fmt.Sprintf(`(() => {
		const root = document.querySelector(%q);
		if (!root) return false;
		const el = [...root.querySelectorAll("a, button, summary")].find(e => e.textContent.trim() === %q);
		if (!el) return false;
		el.setAttribute("data-e2e-target", "1");
		return true;
	})()`, within, text)
	p.eval(js, &ok)
	if !ok {
		var html string
		p.eval("document.body.innerText", &html)
		p.t.Fatalf("no link or button %q in %s; the page says:\n%s", text, within, html)
	}
	p.run("click "+text, chromedp.Click(`[data-e2e-target="1"]`, chromedp.ByQuery, chromedp.NodeVisible))
}

func (p *page) screenshot(name string) {
	p.t.Helper()
	var buf []byte
	p.run("screenshot "+name, chromedp.FullScreenshot(&buf, 100))
	file := filepath.Join(p.shot, name+".png")
	if err := os.WriteFile(file, buf, 0o644); err != nil {
		p.t.Fatal(err)
	}
	p.t.Logf("screenshot: %s", file)
}

var tokenRe = regexp.MustCompile(`^gtp_[0-9A-Za-z]{36}$`)

// expiryDate formats a day the way the English pages do.
func expiryDate(d time.Time) string { return d.UTC().Format("Mon, Jan 2 2006") }

// TestTokenLifecycle is the walk GitHub's documentation describes, end to end:
// first-run setup, sign in, the avatar menu to the token page, sudo mode,
// generating a 7-day repo token, copying it, cloning a private repository
// with it through real git, deleting it, and git being refused after.
func TestTokenLifecycle(t *testing.T) {
	chromium(t)
	g := newGit(t)
	srv := testenv.Start(t, testenv.Options{})
	setupURL := srv.SetupLink(t)
	srv.AddSecret(adminPassword)
	p := &page{t: t, ctx: newBrowser(t), base: srv.URL, shot: artifacts(t)}

	t.Log("first-run setup creates the site admin")
	p.run("open setup link", chromedp.Navigate(setupURL), chromedp.WaitVisible("#login", chromedp.ByQuery))
	p.run("fill setup form",
		chromedp.SendKeys("#login", adminLogin, chromedp.ByQuery),
		chromedp.SendKeys("#email", "alice@example.com", chromedp.ByQuery),
		chromedp.SendKeys("#password", adminPassword, chromedp.ByQuery),
		chromedp.SendKeys("#password_confirm", adminPassword, chromedp.ByQuery),
	)
	p.clickText("form", "Create administrator account")
	p.waitPath("/")
	if h := p.text("h1"); h != "Your repositories" {
		t.Fatalf("after setup the page heading is %q", h)
	}
	t.Log("the setup link works only once")
	p.run("reopen setup link", chromedp.Navigate(setupURL), chromedp.WaitVisible("main", chromedp.ByQuery))
	if p.exists("#password_confirm") {
		t.Fatal("the setup form is offered a second time")
	}

	t.Log("sign out through the avatar menu, then sign in")
	p.run("open home", chromedp.Navigate(srv.URL+"/"), chromedp.WaitVisible("#avatar-menu", chromedp.ByQuery))
	p.run("open avatar menu", chromedp.Click("#avatar-menu summary", chromedp.ByQuery))
	p.clickText("#avatar-menu", "Sign out")
	p.waitPath("/login")
	p.run("wrong password",
		chromedp.SendKeys("#login", adminLogin, chromedp.ByQuery),
		chromedp.SendKeys("#password", "not the password", chromedp.ByQuery),
		chromedp.Submit("#password", chromedp.ByQuery),
		chromedp.WaitVisible("#login-error", chromedp.ByQuery),
	)
	p.run("right password",
		chromedp.SetValue("#login", adminLogin, chromedp.ByQuery),
		chromedp.SendKeys("#password", adminPassword, chromedp.ByQuery),
		chromedp.Submit("#password", chromedp.ByQuery),
	)
	p.waitPath("/")

	t.Log("avatar menu → Settings → Developer settings → Personal access tokens, by clicking")
	p.run("open avatar menu", chromedp.Click("#avatar-menu summary", chromedp.ByQuery), chromedp.WaitVisible("#avatar-menu .menu-list", chromedp.ByQuery))
	p.screenshot("en-avatar-menu")
	p.clickText("#avatar-menu", "Settings")
	p.waitPath("/settings/profile")
	p.clickText("nav.side", "Developer settings")
	p.waitPath("/settings/developers")
	p.clickText("nav.side", "Personal access tokens")
	p.waitPath("/settings/tokens")

	t.Log("Generate new token asks for the password first (sudo mode)")
	p.clickText("main", "Generate new token")
	p.waitPath("/sudo")
	if h := p.text("h1"); h != "Confirm it is you" {
		t.Fatalf("sudo prompt heading is %q", h)
	}
	p.run("wrong sudo password",
		chromedp.SendKeys("#sudo-password", "wrong", chromedp.ByQuery),
		chromedp.Submit("#sudo-password", chromedp.ByQuery),
		chromedp.WaitVisible("#sudo-error", chromedp.ByQuery),
	)
	p.run("sudo password",
		chromedp.SendKeys("#sudo-password", adminPassword, chromedp.ByQuery),
		chromedp.Submit("#sudo-password", chromedp.ByQuery),
	)
	p.waitPath("/settings/tokens/new")

	t.Log("the form: 30 days by default, the date follows the choice, no-expiration warns")
	var choice string
	p.run("read default expiration", chromedp.Value("#expires", &choice, chromedp.ByQuery))
	if choice != "30" {
		t.Errorf("default expiration is %q, want 30", choice)
	}
	if got, want := p.text("#expiry-help"), expiryDate(time.Now().AddDate(0, 0, 30)); !strings.Contains(got, want) {
		t.Errorf("expiry help %q does not name %q", got, want)
	}
	p.screenshot("en-new-token-form")
	p.run("choose no expiration", chromedp.SetValue("#expires", "none", chromedp.ByQuery),
		chromedp.Evaluate(`document.getElementById("expires").dispatchEvent(new Event("change"))`, nil),
		chromedp.WaitVisible("#never-warning", chromedp.ByQuery))
	p.run("choose 7 days", chromedp.SetValue("#expires", "7", chromedp.ByQuery),
		chromedp.Evaluate(`document.getElementById("expires").dispatchEvent(new Event("change"))`, nil),
		chromedp.WaitNotVisible("#never-warning", chromedp.ByQuery))
	if got, want := p.text("#expiry-help"), expiryDate(time.Now().AddDate(0, 0, 7)); !strings.Contains(got, want) {
		t.Errorf("after choosing 7 days the help says %q, want it to name %q", got, want)
	}
	p.run("fill note", chromedp.SendKeys("#note", "e2e laptop", chromedp.ByQuery))
	p.run("check repo", chromedp.Click(`input[value="repo"]`, chromedp.ByQuery))
	var child struct{ Checked, Disabled bool }
	p.eval(`(() => { const c = document.querySelector('input[value="repo:status"]'); return {Checked: c.checked, Disabled: c.disabled}; })()`, &child)
	if !child.Checked || !child.Disabled {
		t.Errorf("checking repo left repo:status checked=%v disabled=%v, want both true", child.Checked, child.Disabled)
	}
	p.clickText("#token-form", "Generate token")
	p.waitPath("/settings/tokens")

	t.Log("the token is shown once, with a working copy button")
	secret := p.text("#new-token")
	if !tokenRe.MatchString(secret) {
		t.Fatalf("the page shows %q, not a token", secret)
	}
	srv.AddSecret(secret)
	p.screenshot("en-generated-token")
	p.run("grant clipboard access", chromedp.ActionFunc(func(ctx context.Context) error {
		for _, name := range []string{"clipboard-read", "clipboard-write"} {
			err := browser.SetPermission(&browser.PermissionDescriptor{Name: name}, browser.PermissionSettingGranted).
				WithOrigin(srv.URL).Do(ctx)
			if err != nil {
				return fmt.Errorf("grant %s: %w", name, err)
			}
		}
		return nil
	}))
	p.run("click copy", chromedp.Click(`button[data-copy="new-token"]`, chromedp.ByQuery))
	p.run("copy confirms", chromedp.Poll(`document.querySelector('button[data-copy="new-token"]').textContent === "Copied!"`, nil,
		chromedp.WithPollingTimeout(5*time.Second)))
	var clip string
	p.run("read clipboard", chromedp.Evaluate(`navigator.clipboard.readText()`, &clip, func(ep *runtime.EvaluateParams) *runtime.EvaluateParams {
		return ep.WithAwaitPromise(true)
	}))
	if clip != secret {
		t.Errorf("clipboard holds %q, want the token", clip)
	}
	p.run("reload", chromedp.Reload(), chromedp.WaitVisible(".token-list", chromedp.ByQuery))
	if p.exists("#new-token") {
		t.Fatal("the token is shown again after a reload")
	}
	if row := p.text(".token-list"); !strings.Contains(row, "e2e laptop") || !strings.Contains(row, "repo") ||
		!strings.Contains(row, "Never used") || !strings.Contains(row, expiryDate(time.Now().AddDate(0, 0, 7))) {
		t.Errorf("token list row: %q", row)
	}
	p.screenshot("en-token-list")

	t.Log("the token clones a private repository with real git")
	srv.Admin("repo", "create", adminLogin+"/secret", "--private")
	remote := srv.URL + "/" + adminLogin + "/secret.git"
	work := t.TempDir()
	src := filepath.Join(work, "src")
	g.MustRun(work, "init", "-q", src)
	readme := "# Secret project\n\nSome *emphasis* and a [link](https://example.com).\n\n<script>alert(1)</script>\n"
	if err := os.WriteFile(filepath.Join(src, "README.md"), []byte(readme), 0o644); err != nil {
		t.Fatal(err)
	}
	g.MustRun(src, "add", ".")
	g.MustRun(src, "commit", "-q", "-m", "first")
	g.MustRunAs(src, adminLogin, secret, "push", "-q", remote, "main")
	g.MustRunAs(work, adminLogin, secret, "clone", "-q", remote, "clone1")
	if b, err := os.ReadFile(filepath.Join(work, "clone1", "README.md")); err != nil || string(b) != readme {
		t.Fatalf("cloned README: %q, %v", b, err)
	}

	t.Log("the repository page shows the clone URL, the files and the README, escaped")
	p.run("open repository", chromedp.Navigate(srv.URL+"/"+adminLogin+"/secret"), chromedp.WaitVisible(".markdown", chromedp.ByQuery))
	var cloneURL string
	p.run("read clone URL", chromedp.Value("#clone-url", &cloneURL, chromedp.ByQuery))
	if cloneURL != remote {
		t.Errorf("clone URL %q, want %q", cloneURL, remote)
	}
	if h := p.text(".markdown h1"); h != "Secret project" {
		t.Errorf("README heading %q", h)
	}
	// Raw HTML is sanitized as on GitHub: the script is dropped, the
	// Markdown around it rendered.
	if p.exists(".markdown script") || strings.Contains(p.text(".markdown"), "alert(1)") || !p.exists(".markdown em") {
		t.Error("the README's script survived, or its Markdown was not rendered")
	}
	p.screenshot("en-repository")

	t.Log("delete the token in the UI; the same clone now fails")
	p.run("back to tokens", chromedp.Navigate(srv.URL+"/settings/tokens"), chromedp.WaitVisible(".token-list", chromedp.ByQuery))
	p.clickText(".token-list", "Delete")
	p.run("confirmation", chromedp.WaitVisible("#confirm-delete", chromedp.ByQuery))
	if h := p.text("h1"); h != "Delete this token?" {
		t.Errorf("confirmation heading %q", h)
	}
	p.run("confirm", chromedp.Click("#confirm-delete", chromedp.ByQuery))
	p.waitPath("/settings/tokens")
	if msg := p.text(".flash"); !strings.Contains(msg, "e2e laptop") {
		t.Errorf("after deleting the page says %q", msg)
	}
	r := g.RunAs(work, adminLogin, secret, "clone", "-q", remote, "clone2")
	out := r.Stdout + r.Stderr
	if r.Err == nil {
		t.Fatalf("clone with the deleted token succeeded:\n%s", out)
	}
	if !strings.Contains(out, "Authentication failed") && !strings.Contains(out, "Bad credentials") {
		t.Errorf("clone with the deleted token failed oddly:\n%s", out)
	}

	t.Log("Japanese for Accept-Language: ja")
	p.run("ask for Japanese", network.Enable(), network.SetExtraHTTPHeaders(network.Headers{"Accept-Language": "ja,en;q=0.5"}))
	p.run("token list in Japanese", chromedp.Navigate(srv.URL+"/settings/tokens"), chromedp.WaitVisible("h1", chromedp.ByQuery))
	var lang string
	p.eval(`document.documentElement.lang`, &lang)
	if lang != "ja" || p.text("h1") != "個人用アクセストークン" {
		t.Fatalf("lang=%q heading=%q, want Japanese", lang, p.text("h1"))
	}
	p.clickText("main", "新しいトークンを生成")
	p.waitPath("/settings/tokens/new")
	if help := p.text("#expiry-help"); !strings.Contains(help, "年") {
		t.Errorf("Japanese expiry help %q has no Japanese date", help)
	}
	p.run("fill Japanese form", chromedp.SendKeys("#note", "日本語のトークン", chromedp.ByQuery),
		chromedp.Click(`input[value="read:user"]`, chromedp.ByQuery), chromedp.Click(`input[value="user"]`, chromedp.ByQuery))
	p.screenshot("ja-new-token-form")
	p.clickText("#token-form", "トークンを生成")
	p.waitPath("/settings/tokens")
	if !tokenRe.MatchString(p.text("#new-token")) {
		t.Fatal("no token on the Japanese page")
	}
	if p.exists("#dropped-notice") {
		t.Error("the disabled child was submitted and reported as dropped")
	}
	p.screenshot("ja-generated-token")
	p.run("reload Japanese list", chromedp.Reload(), chromedp.WaitVisible(".token-list", chromedp.ByQuery))
	p.screenshot("ja-token-list")

	t.Log("phone width")
	p.run("narrow window", chromedp.EmulateViewport(390, 844))
	p.screenshot("ja-token-list-phone")
	p.run("English again", network.SetExtraHTTPHeaders(network.Headers{"Accept-Language": "en"}),
		chromedp.Navigate(srv.URL+"/settings/tokens/new"), chromedp.WaitVisible("#token-form", chromedp.ByQuery))
	p.screenshot("en-new-token-form-phone")

	if strings.Contains(srv.Log(), secret) {
		t.Error("the server log contains the token")
	}
}
