package web

import (
	"context"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/gatehouse/gatehouse"
	"github.com/gatehouse/gatehouse/internal/authz"
	"github.com/gatehouse/gatehouse/internal/service"
	"github.com/gatehouse/gatehouse/internal/token"
)

// publicPages are the entries of the route table meant for everyone. A
// page added as public that is not listed here fails
// TestRouteDeclarations: declare it signedIn or siteAdmin, or add it here
// if strangers really may use it.
var publicPages = map[string]bool{
	"GET /static/{file}":   true,
	"GET /avatars/{login}": true,
	"GET /{$}":             true,
	"GET /setup":           true,
	"POST /setup":          true,
	"GET /login":           true,
	"POST /login":          true,
	"GET /{owner}":         true,
	"GET /{owner}/{repo}":  true,
	// Browsing a repository (browseViews); the service decides who may
	// read it.
	"GET /{owner}/{repo}/{view}":           true,
	"GET /{owner}/{repo}/{view}/{rest...}": true,
}

// browsePaths are the pages of every browse view in the walk's
// repository alice/open (a README on main): each is walked like the
// entry of the route table that serves it.
var browsePaths = map[string]string{
	"tree":     "/alice/open/tree/main",
	"blob":     "/alice/open/blob/main/README.md",
	"raw":      "/alice/open/raw/main/README.md",
	"commits":  "/alice/open/commits/main",
	"commit":   "/alice/open/commit/main",
	"branches": "/alice/open/branches",
	"tags":     "/alice/open/tags",
	"archive":  "/alice/open/archive/main.zip",
}

// openWhenPrivate are the public pages an anonymous visitor still reaches
// in private mode: what it takes to sign in or set the instance up.
var openWhenPrivate = map[string]bool{
	"GET /static/{file}": true,
	"GET /{$}":           true,
	"GET /setup":         true,
	"POST /setup":        true,
	"GET /login":         true,
	"POST /login":        true,
}

// under reports whether pattern is prefix or a path below it.
func under(pattern, prefix string) bool {
	return pattern == prefix || strings.HasPrefix(pattern, prefix+"/")
}

// TestRouteDeclarations checks the declarations of the route table
// against the rules of the UI, so that a page declared with too little
// protection fails here even before the walk below tries it.
func TestRouteDeclarations(t *testing.T) {
	h := &Handler{}
	seen := map[string]bool{}
	for _, p := range h.table() {
		key := p.method + " " + p.pattern
		if seen[key] {
			t.Errorf("%s is declared twice", key)
		}
		seen[key] = true
		if p.method != http.MethodGet && p.method != http.MethodPost {
			t.Errorf("%s: the walk knows only GET and POST pages", key)
		}
		if p.handle == nil {
			t.Errorf("%s has no handler", key)
		}
		switch {
		case under(p.pattern, "/settings") || under(p.pattern, "/new"):
			if p.access != signedIn {
				t.Errorf("%s is a personal page: declare it signedIn (access %d)", key, p.access)
			}
		case under(p.pattern, "/organizations"):
			if p.access != signedIn {
				t.Errorf("%s creates or manages an organization: declare it signedIn (access %d)", key, p.access)
			}
		case under(p.pattern, "/admin"):
			if p.access != siteAdmin {
				t.Errorf("%s is site administration: declare it siteAdmin (access %d)", key, p.access)
			}
		case under(p.pattern, "/{owner}/{repo}/settings"):
			if p.access != signedIn {
				t.Errorf("%s manages a repository: declare it signedIn (access %d)", key, p.access)
			}
		}
		if p.access == public && !publicPages[key] {
			t.Errorf("%s is declared public but is not one of the pages meant for everyone", key)
		}
		if publicPages[key] && p.access != public {
			t.Errorf("%s is listed as public but declared with access %d", key, p.access)
		}
		// Every change an administrator makes, everything about a token
		// of either kind but the lists, and whatever decides who reaches
		// an organization's repositories (members, teams, base
		// permission, its personal access token policy and requests)
		// needs a fresh password.
		orgAccess := false
		for _, s := range []string{"members", "teams", "member-privileges", "personal-access-tokens", "personal-access-token-requests"} {
			orgAccess = orgAccess || under(p.pattern, "/organizations/{org}/settings/"+s)
		}
		// So does everything about an SSH key or a deploy key but the
		// list: a key is a credential too.
		keyChange := (under(p.pattern, "/settings/keys") && key != "GET /settings/keys") ||
			(under(p.pattern, "/{owner}/{repo}/settings/keys") && key != "GET /{owner}/{repo}/settings/keys")
		needsSudo := (under(p.pattern, "/admin") && p.method == http.MethodPost) ||
			(under(p.pattern, "/settings/tokens") && key != "GET /settings/tokens") ||
			(under(p.pattern, "/settings/personal-access-tokens") && key != "GET /settings/personal-access-tokens") || orgAccess || keyChange
		if needsSudo && !p.sudo {
			t.Errorf("%s must be declared sudo", key)
		}
		if p.sudo && p.access == public {
			t.Errorf("%s asks for sudo mode but is public; sudo needs a session", key)
		}
	}
	for key := range publicPages {
		if !seen[key] {
			t.Errorf("publicPages lists %s, which is not in the table", key)
		}
	}
	for key := range openWhenPrivate {
		if !publicPages[key] {
			t.Errorf("openWhenPrivate lists %s, which is not a public page", key)
		}
	}
}

var placeholderRe = regexp.MustCompile(`\{(\$|[A-Za-z_]+)(\.\.\.)?\}`)

// concretePath fills the wildcards of pattern from values; a wildcard the
// walk does not know fails the test, so that a new one gets a value here.
func concretePath(t *testing.T, pattern string, values map[string]string) string {
	t.Helper()
	return placeholderRe.ReplaceAllStringFunc(pattern, func(m string) string {
		name := placeholderRe.FindStringSubmatch(m)[1]
		v, ok := values[name]
		if !ok {
			t.Fatalf("%s: the route walk has no value for {%s}; add one", pattern, name)
		}
		return v
	})
}

// walker is one kind of viewer the route walk tries every page as.
type walker struct {
	name string
	c    *client
	// live: a session of an unsuspended user; the others are anonymous
	// to every page.
	live  bool
	admin bool
	sudo  bool
	// owner owns the tokens that {id} and {pat} name, the organization that {org}
	// names, the SSH key that {key} names and the repository whose
	// settings and deploy key ({deploykey}) the walk visits.
	owner bool
	// csrf is the session's form token ("" when not live).
	csrf string
	// reseed puts a cookie the server cleared back before each request,
	// so that every request presents it.
	reseed func()
}

func (w *walker) do(method, path string, form url.Values) response {
	if w.reseed != nil {
		w.reseed()
	}
	return w.c.do(method, path, form, nil)
}

// expected is what the route table's declarations promise for a request.
type expected struct {
	send     bool   // false: the request would change something; not sent
	status   int    // 0: whatever the handler answers, as long as no guard refused
	location string // for a redirect
	contains string // a text the page must show
	ok       bool   // the page must render (200), after its own redirect
}

const (
	signedOutText = "Your session has ended."
	csrfText      = "another site"
	notFoundText  = "There is nothing here"
	sudoForm      = `<form method="post" action="/sudo"`
)

// expect derives the outcome of method path for w from the declarations
// of p alone, in the order the guard applies them.
func expect(p page, w *walker, path string, withCSRF, private bool) expected {
	key := p.method + " " + p.pattern
	get := p.method == http.MethodGet
	closed := p.access != public || (private && !openWhenPrivate[key])
	ownToken := !(strings.Contains(p.pattern, "{id}") || strings.Contains(p.pattern, "{pat}") || strings.Contains(p.pattern, "{org}") ||
		strings.Contains(p.pattern, "{key}") || under(p.pattern, "/{owner}/{repo}/settings")) || w.owner
	switch {
	case !w.live && closed && get:
		return expected{send: true, status: http.StatusSeeOther, location: "/login?return_to=" + url.QueryEscape(path)}
	case !w.live && closed:
		return expected{send: true, status: http.StatusUnauthorized, contains: signedOutText}
	case p.access == public && get:
		return expected{send: true}
	case p.access == public:
		// Sign-in and setup check their own forms; posting them would
		// sign in or set up.
		return expected{}
	case p.access == siteAdmin && !w.admin:
		return expected{send: true, status: http.StatusNotFound, contains: notFoundText}
	case !get && !withCSRF:
		return expected{send: true, status: http.StatusForbidden, contains: csrfText}
	case p.sudo && !w.sudo && get:
		return expected{send: true, status: http.StatusSeeOther, location: "/sudo?return_to=" + url.QueryEscape(path)}
	case p.sudo && !w.sudo:
		return expected{send: true, status: http.StatusUnauthorized, contains: sudoForm}
	case p.access == signedIn && !ownToken:
		// Past the guard, someone else's token or key, or an
		// organization or repository the viewer does not administer, is
		// not found, and a form about it changes nothing.
		return expected{send: true, status: http.StatusNotFound, contains: notFoundText}
	case get:
		return expected{send: true, ok: true}
	}
	return expected{} // allowed: the walk must not change anything
}

// refusedByGuard reports whether res is one of the guard's refusals.
func refusedByGuard(res response) bool {
	switch res.Status {
	case http.StatusUnauthorized, http.StatusForbidden:
		return true
	case http.StatusSeeOther:
		return strings.HasPrefix(res.Location, "/login?return_to=") || strings.HasPrefix(res.Location, "/sudo?return_to=")
	}
	return false
}

// TestRouteWalk tries every entry of the route table as every kind of
// viewer and checks that what happens is what the entry declares: its
// access level, the form token of a signed-in POST, and sudo mode. The
// expected outcome comes from the declaration, so a page declared with
// the wrong protection, or one the guard fails to apply, shows up here.
func TestRouteWalk(t *testing.T) {
	for _, private := range []bool{false, true} {
		t.Run("private="+strconv.FormatBool(private), func(t *testing.T) { walkRoutes(t, private) })
	}
}

func walkRoutes(t *testing.T, private bool) {
	ctx := context.Background()
	var opts []envOption
	if private {
		opts = append(opts, privateMode)
	}
	e := newEnv(t, opts...)
	root := e.user("root", true)
	alice := e.user("alice", false)
	bob := e.user("bob", false)
	mallory := e.user("mallory", false)
	if _, err := e.svc.CreateRepo(ctx, system, service.NewRepo{Owner: "alice", Name: "open", Readme: true}); err != nil {
		t.Fatal(err)
	}
	tok, err := e.svc.CreateToken(ctx, system, service.NewToken{UserID: alice.ID, Note: "walk", Scopes: []string{"repo"}})
	if err != nil {
		t.Fatal(err)
	}
	// alice owns the organization acme, with a team devs granted push
	// on acme/tools; bob, root and mallory do not belong to it.
	acme, err := e.svc.CreateOrg(ctx, system, service.NewOrg{Login: "acme", Owner: "alice"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.svc.CreateRepo(ctx, system, service.NewRepo{Owner: "acme", Name: "tools", Private: true}); err != nil {
		t.Fatal(err)
	}
	devs := "devs"
	if _, err := e.svc.CreateTeam(ctx, system, acme, service.TeamChange{Name: &devs}); err != nil {
		t.Fatal(err)
	}
	if err := e.svc.SetTeamRepo(ctx, system, acme, "devs", "acme", "tools", gatehouse.PermWrite); err != nil {
		t.Fatal(err)
	}
	// alice has a fine-grained token for acme (approved: she owns it),
	// which {pat} names on her pages and on acme's.
	fine, err := e.svc.CreateFineGrainedToken(ctx, system, service.NewFineGrained{UserID: alice.ID, Name: "walk fine-grained",
		Owner: "acme", Repos: gatehouse.SelectedRepos, RepoNames: []string{"tools"}, Permissions: token.Perms{"contents": token.ReadOnly}, Expires: "30d"})
	if err != nil {
		t.Fatal(err)
	}
	// alice has an SSH key, and alice/open a deploy key.
	pub, _ := testKey(t, 1, "walk@laptop")
	key, err := e.svc.CreateKey(ctx, system, alice.ID, "walk", pub)
	if err != nil {
		t.Fatal(err)
	}
	open, _, err := e.svc.Repo(ctx, system, "alice", "open", authz.Read)
	if err != nil {
		t.Fatal(err)
	}
	deployPub, _ := testKey(t, 2, "walk@ci")
	deployKey, err := e.svc.CreateDeployKey(ctx, system, open, "ci", deployPub, true)
	if err != nil {
		t.Fatal(err)
	}
	statics, err := fs.ReadDir(files, "static")
	if err != nil || len(statics) == 0 {
		t.Fatalf("no static files: %v", err)
	}
	values := map[string]string{
		"$":      "",
		"file":   statics[0].Name(),
		"login":  "alice",
		"owner":  "alice",
		"repo":   "open",
		"id":     strconv.FormatInt(tok.Token.ID, 10),
		"pat":    strconv.FormatInt(fine.Token.ID, 10),
		"action": "suspend",
		"org":    "acme",
		"team":   "devs",
		"view":   "tree",
		"rest":   "main",

		"key":       strconv.FormatInt(key.ID, 10),
		"deploykey": strconv.FormatInt(deployKey.ID, 10),
	}

	signedInAs := func(name, login string, sudo, admin, owner bool) *walker {
		c := e.client()
		c.signIn(login, sudo)
		page := c.get("/settings/profile")
		m := csrfRe.FindStringSubmatch(page.Body)
		if page.Status != http.StatusOK || m == nil {
			t.Fatalf("%s: no form token on the profile page (%d)", name, page.Status)
		}
		return &walker{name: name, c: c, live: true, admin: admin, sudo: sudo, owner: owner, csrf: m[1]}
	}
	// mallory is signed in, then suspended behind her back: only the flag
	// changes, her session row stays, and her cookie is sent with every
	// request even after the server asks the browser to drop it.
	suspended := signedInAs("suspended user", "mallory", true, false, false)
	base, _ := url.Parse(e.base)
	cookies := suspended.c.hc.Jar.Cookies(base)
	m, err := e.st.FindUserByID(ctx, mallory.ID)
	if err != nil {
		t.Fatal(err)
	}
	m.Suspended = true
	if err := e.st.UpdateUser(ctx, m); err != nil {
		t.Fatal(err)
	}
	suspended.live, suspended.sudo = false, false
	suspended.reseed = func() { suspended.c.hc.Jar.SetCookies(base, cookies) }

	walkers := []*walker{
		{name: "anonymous", c: e.client()},
		signedInAs("user", "alice", true, false, true),
		signedInAs("other user", "bob", true, false, false),
		signedInAs("site admin", "root", true, true, false),
		suspended,
		signedInAs("user without sudo", "alice", false, false, true),
		signedInAs("site admin without sudo", "root", false, true, false),
	}

	for _, p := range e.h.table() {
		key := p.method + " " + p.pattern
		path := concretePath(t, p.pattern, values)
		// The concrete path must reach this very entry.
		if _, got := e.h.mux.Handler(httptest.NewRequest(p.method, path, nil)); got != key {
			t.Errorf("%s %s is routed to %q, not to %s; pick other values for the walk", p.method, path, got, key)
			continue
		}
		variants := []bool{false}
		if p.method == http.MethodPost {
			variants = []bool{false, true}
		}
		for _, w := range walkers {
			for _, withCSRF := range variants {
				want := expect(p, w, path, withCSRF, private)
				if !want.send {
					continue
				}
				what := w.name + ": " + p.method + " " + path
				var form url.Values
				if p.method == http.MethodPost {
					what += " without form token"
					form = url.Values{"probe": {"1"}}
					if withCSRF {
						what = strings.TrimSuffix(what, " without form token") + " with form token"
						token := w.csrf
						if token == "" {
							token = "forged"
						}
						form.Set("csrf_token", token)
					}
				}
				res := w.do(p.method, path, form)
				checkOutcome(t, w, what, res, want)
			}
		}
	}

	// Every browse view, through the entry that serves it: what the
	// declaration promises, and the page itself for whoever passes.
	views := e.h.browseViews()
	if len(views) != len(browsePaths) {
		t.Errorf("browseViews has %d views, browsePaths %d: give every view a path", len(views), len(browsePaths))
	}
	for view, path := range browsePaths {
		if _, ok := views[view]; !ok {
			t.Errorf("browsePaths names %s, which browseViews lacks", view)
			continue
		}
		_, key := e.h.mux.Handler(httptest.NewRequest("GET", path, nil))
		var p page
		for _, q := range e.h.table() {
			if q.method+" "+q.pattern == key {
				p = q
			}
		}
		if p.handle == nil {
			t.Errorf("%s is routed to %q, not to a browse entry", path, key)
			continue
		}
		for _, w := range walkers {
			want := expect(p, w, path, false, private)
			res := w.do("GET", path, nil)
			checkOutcome(t, w, w.name+": GET "+path, res, want)
			if want.status == 0 && res.Status != http.StatusOK {
				t.Errorf("%s: GET %s: status %d, want the page", w.name, path, res.Status)
			}
		}
	}

	// /USER.keys is served by the entry GET /{owner} (handleOwner):
	// walked as that entry, with alice's key as its text for whoever
	// passes.
	for _, q := range e.h.table() {
		if q.method+" "+q.pattern != "GET /{owner}" {
			continue
		}
		for _, w := range walkers {
			want := expect(q, w, "/alice.keys", false, private)
			res := w.do("GET", "/alice.keys", nil)
			checkOutcome(t, w, w.name+": GET /alice.keys", res, want)
			if want.status == 0 && (res.Status != http.StatusOK || res.Body != key.Key+"\n") {
				t.Errorf("%s: GET /alice.keys: %d %q, want alice's key", w.name, res.Status, res.Body)
			}
		}
	}

	// The walk changed nothing: every session still works, sudo mode is
	// where it was, no account, token or key changed.
	for _, w := range walkers {
		res := w.do("GET", "/settings/profile", nil)
		if w.live != (res.Status == http.StatusOK) {
			t.Errorf("%s after the walk: GET /settings/profile %d %s", w.name, res.Status, res.Location)
		}
		if w.live {
			res = w.do("GET", "/settings/tokens/new", nil)
			if w.sudo != (res.Status == http.StatusOK) {
				t.Errorf("%s after the walk: GET /settings/tokens/new %d %s", w.name, res.Status, res.Location)
			}
		}
	}
	for _, u := range []*gatehouse.User{root, alice, bob} {
		got, err := e.st.FindUserByID(ctx, u.ID)
		if err != nil || got.Suspended || got.SiteAdmin != u.SiteAdmin {
			t.Errorf("%s changed during the walk: %+v, %v", u.Login, got, err)
		}
	}
	if n, _ := e.st.CountUsers(ctx); n != 4 {
		t.Errorf("%d users after the walk, want 4", n)
	}
	members, err := e.svc.ListMembers(ctx, system, acme, "", gatehouse.Page{})
	if err != nil || len(members) != 1 || members[0].User.ID != alice.ID || members[0].Role != gatehouse.OrgOwner {
		t.Errorf("acme's members changed during the walk: %+v, %v", members, err)
	}
	if teams, err := e.svc.ListTeams(ctx, system, acme, gatehouse.Page{}); err != nil || len(teams) != 1 {
		t.Errorf("acme's teams changed during the walk: %+v, %v", teams, err)
	}
	if grants, err := e.svc.ListTeamRepos(ctx, system, acme, "devs", gatehouse.Page{}); err != nil || len(grants) != 1 || grants[0].Permission != gatehouse.PermWrite {
		t.Errorf("devs's grants changed during the walk: %+v, %v", grants, err)
	}
	if org, err := e.svc.FindOrg(ctx, system, "acme"); err != nil || org.BasePermission != gatehouse.PermRead || org.Name != "" {
		t.Errorf("acme changed during the walk: %+v, %v", org, err)
	}
	if keys, err := e.svc.ListKeys(ctx, system, alice.ID, gatehouse.Page{}); err != nil || len(keys) != 1 || keys[0].ID != key.ID {
		t.Errorf("alice's SSH keys changed during the walk: %+v, %v", keys, err)
	}
	if keys, err := e.svc.ListDeployKeys(ctx, system, open, gatehouse.Page{}); err != nil || len(keys) != 1 || keys[0].ID != deployKey.ID || !keys[0].ReadOnly {
		t.Errorf("alice/open's deploy keys changed during the walk: %+v, %v", keys, err)
	}
	got, err := e.st.FindTokenByID(ctx, tok.Token.ID)
	if err != nil || got.Note != "walk" || strings.Join(got.Scopes, ",") != "repo" || got.Hash != tok.Token.Hash {
		t.Errorf("alice's token changed during the walk: %+v, %v", got, err)
	}
	fg, err := e.st.FindTokenByID(ctx, fine.Token.ID)
	if err != nil || fg.Note != "walk fine-grained" || fg.Hash != fine.Token.Hash || fg.Approval != gatehouse.TokenApproved || len(fg.RepoIDs) != 1 {
		t.Errorf("alice's fine-grained token changed during the walk: %+v, %v", fg, err)
	}
	if p, err := e.svc.OrgTokenPolicy(ctx, system, acme); err != nil || p != gatehouse.DefaultTokenPolicy(acme.ID) {
		t.Errorf("acme's token policy changed during the walk: %+v, %v", p, err)
	}
	for _, u := range []*gatehouse.User{root, alice, bob} {
		want := 0
		if u.ID == alice.ID {
			want = 2
		}
		if n := tokenCount(t, e, u.ID); n != want {
			t.Errorf("%s has %d tokens after the walk, want %d", u.Login, n, want)
		}
	}
}

func checkOutcome(t *testing.T, w *walker, what string, res response, want expected) {
	t.Helper()
	if res.Status >= 500 {
		t.Errorf("%s: status %d\n%s", what, res.Status, res.Body)
		return
	}
	if want.status != 0 && res.Status != want.status {
		t.Errorf("%s: status %d, want %d (Location %q)", what, res.Status, want.status, res.Location)
		return
	}
	if want.location != "" && res.Location != want.location {
		t.Errorf("%s: redirects to %q, want %q", what, res.Location, want.location)
	}
	if want.contains != "" && !strings.Contains(res.Body, want.contains) {
		t.Errorf("%s: the page lacks %q:\n%s", what, want.contains, res.Body)
	}
	if want.status == 0 && refusedByGuard(res) {
		t.Errorf("%s: refused (%d %s) though the page is open to this viewer", what, res.Status, res.Location)
	}
	if want.ok {
		if res.Status == http.StatusSeeOther && strings.HasPrefix(res.Location, "/") && !refusedByGuard(res) {
			res = w.do("GET", res.Location, nil)
		}
		if res.Status != http.StatusOK {
			t.Errorf("%s: status %d (Location %q), want the page", what, res.Status, res.Location)
		}
	}
}

// In private mode anonymous visitors are asked to sign in before they
// learn anything, a public repository and the existence of accounts
// included; the sign-in page itself still renders.
func TestPrivateModeAsksToSignIn(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, privateMode)
	e.user("alice", false)
	if _, err := e.svc.CreateRepo(ctx, system, service.NewRepo{Owner: "alice", Name: "open"}); err != nil {
		t.Fatal(err)
	}
	anon := e.client()
	for _, path := range []string{"/alice", "/alice/open", "/nobody", "/nobody/nothing", "/avatars/alice"} {
		res := anon.get(path)
		if want := "/login?return_to=" + url.QueryEscape(path); res.Status != http.StatusSeeOther || res.Location != want {
			t.Errorf("anonymous GET %s in private mode: %d %q, want a redirect to %s", path, res.Status, res.Location, want)
		}
	}
	res := anon.get("/login")
	wantStatus(t, "sign-in page in private mode", res, http.StatusOK)
	if !strings.Contains(res.Body, `name="password"`) {
		t.Error("the sign-in page in private mode has no password field")
	}
	// Signed in, the same pages are there.
	c := e.client()
	c.signIn("alice", false)
	wantStatus(t, "profile in private mode, signed in", c.get("/alice"), http.StatusOK)
	wantStatus(t, "public repository in private mode, signed in", c.get("/alice/open"), http.StatusOK)
}
