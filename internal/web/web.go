// Package web serves Gatehouse's HTML pages: first-run setup, sign in and
// out, repositories with their deploy keys, organizations with their
// members, teams and settings, personal settings with the personal access
// token and SSH key pages, and site administration, in English and
// Japanese; and /USER.keys, a user's public keys as text.
//
// Pages are rendered on the server with html/template from embedded files
// and work without JavaScript; the small script in static/ only adds the
// copy buttons, the live expiration date, the scope tree behaviour, and
// on the fine-grained token form the repository search as you type and
// the choices that follow the resource owner.
// Every state change is a POST guarded twice against cross-site requests:
// the browser's Sec-Fetch-Site/Origin headers and a per-session token in a
// hidden form field. Creating, regenerating and deleting tokens, adding
// and deleting SSH keys and deploy keys, and changing who reaches an
// organization's repositories, need a password confirmation at most two
// hours old ("sudo mode").
package web

import (
	"context"
	"embed"
	"io/fs"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/gatehouse/gatehouse"
	"github.com/gatehouse/gatehouse/internal/authz"
	"github.com/gatehouse/gatehouse/internal/gitrepo"
	"github.com/gatehouse/gatehouse/internal/httpx"
	"github.com/gatehouse/gatehouse/internal/service"
)

//go:embed templates static locales
var files embed.FS

// Config is what the web UI needs.
type Config struct {
	// Service is the application boundary: every rule, read and change,
	// sessions included, goes through it.
	Service *service.Service
	// Repos reads the content of repositories the service authorized.
	Repos *gitrepo.Dir
	// ExternalURL is the base URL users reach the server at, without a
	// trailing slash; clone URLs are built from it, and an https:// URL
	// marks cookies Secure even behind a TLS-terminating proxy.
	ExternalURL string
	Network     httpx.Network
	Log         *slog.Logger
	// SSHCloneURL returns the SSH clone URL of a repository ("OWNER/REPO"),
	// shown after the HTTPS one; nil when the server does not serve SSH.
	SSHCloneURL func(fullName string) string
	// Now is the clock (tests fix it); default time.Now.
	Now func() time.Time
}

// Handler serves the web UI.
type Handler struct {
	cfg Config
	log *slog.Logger
	// readmes keeps rendered READMEs (rendering a large one costs
	// hundreds of milliseconds), by content and place.
	readmes *readmeCache
	pages   map[string]*pageTemplate
	mux     *http.ServeMux
	root    http.Handler
}

// Durations of a session and of sudo mode.
const (
	sessionLifetime = 14 * 24 * time.Hour
	sudoLifetime    = 2 * time.Hour
)

// New builds the handler. It panics if an embedded template does not
// parse, which tests catch.
func New(cfg Config) *Handler {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	h := &Handler{cfg: cfg, log: cfg.Log, readmes: newReadmeCache(16 << 20)}
	if h.log == nil {
		h.log = slog.Default()
	}
	h.pages = parsedPages()
	h.routes()
	denied := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h.renderError(w, r, http.StatusForbidden, "error.csrf")
	})
	var trusted []string
	if u, err := url.Parse(cfg.ExternalURL); err == nil && u.Scheme != "" && u.Host != "" {
		trusted = append(trusted, u.Scheme+"://"+u.Host)
	}
	root, err := httpx.CrossOrigin(h.withSession(h.mux), denied, trusted...)
	if err != nil {
		h.log.Warn("external URL is not a valid origin; forms work only when the Host header matches", "err", err)
		root, _ = httpx.CrossOrigin(h.withSession(h.mux), denied)
	}
	h.root = root
	return h
}

func (h *Handler) now() time.Time { return h.cfg.Now() }

// ServeHTTP implements http.Handler.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	hdr := w.Header()
	hdr.Set("X-Content-Type-Options", "nosniff")
	hdr.Set("X-Frame-Options", "DENY")
	hdr.Set("Referrer-Policy", "same-origin")
	hdr.Set("Content-Security-Policy", "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; "+
		"connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
	h.root.ServeHTTP(w, r)
}

// access is what a page asks of its viewer, decided by authz.
type access int

const (
	// public pages are for everyone (each handler still asks the service,
	// which applies the rules of what it shows).
	public access = iota
	// signedIn pages need a signed-in, unsuspended viewer: others are sent
	// to the sign-in page (GET) or refused (POST).
	signedIn
	// siteAdmin pages need authz.SiteAdmin; others get a 404, so the admin
	// pages do not announce themselves.
	siteAdmin
)

// page is one line of the web UI's route table. Everything enforced
// before a handler runs is declared here, and nowhere else.
type page struct {
	method  string
	pattern string
	access  access
	// sudo: the page needs a password confirmation at most two hours old.
	sudo   bool
	handle http.HandlerFunc
}

// table is the route table of the web UI: every page, once.
func (h *Handler) table() []page {
	static, _ := fs.Sub(files, "static")
	fileServer := http.StripPrefix("/static/", http.FileServerFS(static))
	return []page{
		{"GET", "/static/{file}", public, false, func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Cache-Control", "public, max-age=3600")
			fileServer.ServeHTTP(w, r)
		}},
		{"GET", "/avatars/{login}", public, false, h.handleAvatar},
		{"GET", "/{$}", public, false, h.handleHome},

		{"GET", "/setup", public, false, h.handleSetupForm},
		{"POST", "/setup", public, false, h.handleSetup},
		{"GET", "/login", public, false, h.handleLoginForm},
		{"POST", "/login", public, false, h.handleLogin},
		{"POST", "/logout", signedIn, false, h.handleLogout},
		{"GET", "/sudo", signedIn, false, h.handleSudoForm},
		{"POST", "/sudo", signedIn, false, h.handleSudo},

		{"GET", "/settings", signedIn, false, redirectTo("/settings/profile")},
		{"GET", "/settings/profile", signedIn, false, h.handleProfileForm},
		{"POST", "/settings/profile", signedIn, false, h.handleProfile},
		{"GET", "/settings/security-log", signedIn, false, h.handleSecurityLog},
		{"GET", "/settings/developers", signedIn, false, h.handleDevelopers},
		{"GET", "/settings/tokens", signedIn, false, h.handleTokens},
		{"POST", "/settings/tokens", signedIn, true, h.handleTokenCreate},
		{"GET", "/settings/tokens/new", signedIn, true, h.handleTokenNew},
		{"GET", "/settings/tokens/revoke-all", signedIn, true, h.handleRevokeAllForm},
		{"POST", "/settings/tokens/revoke-all", signedIn, true, h.handleRevokeAll},
		// Editing can widen a token's scopes: as sensitive as creating one.
		{"GET", "/settings/tokens/{id}", signedIn, true, h.handleTokenEdit},
		{"POST", "/settings/tokens/{id}", signedIn, true, h.handleTokenUpdate},
		{"GET", "/settings/tokens/{id}/regenerate", signedIn, true, h.handleRegenerateForm},
		{"POST", "/settings/tokens/{id}/regenerate", signedIn, true, h.handleRegenerate},
		{"GET", "/settings/tokens/{id}/delete", signedIn, true, h.handleDeleteForm},
		{"POST", "/settings/tokens/{id}/delete", signedIn, true, h.handleDelete},
		// Fine-grained tokens (finegrained.go): like classic ones, all
		// but the list need sudo mode; {pat} is a token id. The picker's
		// JSON (…/repositories) serves the form's script.
		{"GET", "/settings/personal-access-tokens", signedIn, false, h.handleFineGrainedTokens},
		{"POST", "/settings/personal-access-tokens", signedIn, true, h.handleFineGrainedCreate},
		{"GET", "/settings/personal-access-tokens/new", signedIn, true, h.handleFineGrainedNew},
		{"GET", "/settings/personal-access-tokens/repositories", signedIn, true, h.handleFineGrainedRepos},
		{"GET", "/settings/personal-access-tokens/{pat}", signedIn, true, h.handleFineGrainedToken},
		{"POST", "/settings/personal-access-tokens/{pat}", signedIn, true, h.handleFineGrainedUpdate},
		{"GET", "/settings/personal-access-tokens/{pat}/access", signedIn, true, h.handleFineGrainedAccessForm},
		{"POST", "/settings/personal-access-tokens/{pat}/access", signedIn, true, h.handleFineGrainedAccess},
		{"GET", "/settings/personal-access-tokens/{pat}/regenerate", signedIn, true, h.handleFineGrainedRegenerateForm},
		{"POST", "/settings/personal-access-tokens/{pat}/regenerate", signedIn, true, h.handleFineGrainedRegenerate},
		{"GET", "/settings/personal-access-tokens/{pat}/delete", signedIn, true, h.handleFineGrainedDeleteForm},
		{"POST", "/settings/personal-access-tokens/{pat}/delete", signedIn, true, h.handleFineGrainedDelete},
		// SSH keys (keys.go): adding or deleting one changes who can push
		// as the viewer, as sensitive as a token.
		{"GET", "/settings/keys", signedIn, false, h.handleKeys},
		{"POST", "/settings/keys", signedIn, true, h.handleKeyCreate},
		{"GET", "/settings/keys/new", signedIn, true, h.handleKeyNew},
		{"GET", "/settings/keys/{key}/delete", signedIn, true, h.handleKeyDeleteForm},
		{"POST", "/settings/keys/{key}/delete", signedIn, true, h.handleKeyDelete},

		{"GET", "/new", signedIn, false, h.handleRepoNew},
		{"POST", "/new", signedIn, false, h.handleRepoCreate},

		// Organizations. Whether the viewer may create one, or manages
		// the one named, is the service's decision in each handler; the
		// settings that decide who reaches the organization's
		// repositories (members, teams, base permission) need sudo mode.
		{"GET", "/organizations/new", signedIn, false, h.handleOrgNew},
		{"POST", "/organizations/new", signedIn, false, h.handleOrgCreate},
		{"GET", "/organizations/{org}/settings", signedIn, false, h.handleOrgSettings},
		{"GET", "/organizations/{org}/settings/profile", signedIn, false, h.handleOrgProfileForm},
		{"POST", "/organizations/{org}/settings/profile", signedIn, false, h.handleOrgProfile},
		{"GET", "/organizations/{org}/settings/members", signedIn, true, h.handleOrgMembers},
		{"POST", "/organizations/{org}/settings/members", signedIn, true, h.handleOrgMemberSet},
		{"POST", "/organizations/{org}/settings/members/{login}/remove", signedIn, true, h.handleOrgMemberRemove},
		{"GET", "/organizations/{org}/settings/member-privileges", signedIn, true, h.handleOrgPrivileges},
		{"POST", "/organizations/{org}/settings/member-privileges", signedIn, true, h.handleOrgPrivilegesUpdate},
		{"GET", "/organizations/{org}/settings/teams", signedIn, true, h.handleOrgTeams},
		{"POST", "/organizations/{org}/settings/teams", signedIn, true, h.handleOrgTeamCreate},
		{"GET", "/organizations/{org}/settings/teams/{team}", signedIn, true, h.handleOrgTeam},
		{"POST", "/organizations/{org}/settings/teams/{team}/delete", signedIn, true, h.handleOrgTeamDelete},
		{"POST", "/organizations/{org}/settings/teams/{team}/members", signedIn, true, h.handleTeamMemberSet},
		{"POST", "/organizations/{org}/settings/teams/{team}/members/{login}/remove", signedIn, true, h.handleTeamMemberRemove},
		{"POST", "/organizations/{org}/settings/teams/{team}/repos", signedIn, true, h.handleTeamRepoSet},
		// The personal access token policy, requests and active tokens
		// (orgtokens.go) decide who reaches the repositories too.
		{"GET", "/organizations/{org}/settings/personal-access-tokens", signedIn, true, h.handleOrgTokenPolicy},
		{"POST", "/organizations/{org}/settings/personal-access-tokens", signedIn, true, h.handleOrgTokenPolicyUpdate},
		{"GET", "/organizations/{org}/settings/personal-access-tokens/active", signedIn, true, h.handleOrgTokensActive},
		{"POST", "/organizations/{org}/settings/personal-access-tokens/{pat}/revoke", signedIn, true, h.handleOrgTokenRevoke},
		{"GET", "/organizations/{org}/settings/personal-access-token-requests", signedIn, true, h.handleOrgTokenRequests},
		{"POST", "/organizations/{org}/settings/personal-access-token-requests/{pat}", signedIn, true, h.handleOrgTokenReview},

		{"GET", "/admin", siteAdmin, false, redirectTo("/admin/users")},
		{"GET", "/admin/users", siteAdmin, false, h.handleAdminUsers},
		{"POST", "/admin/users", siteAdmin, true, h.handleAdminUserCreate},
		{"POST", "/admin/users/{id}/{action}", siteAdmin, true, h.handleAdminUserAction},
		{"GET", "/admin/tokens", siteAdmin, false, h.handleAdminTokens},
		{"POST", "/admin/tokens/{id}/revoke", siteAdmin, true, h.handleAdminTokenRevoke},
		{"GET", "/admin/policy", siteAdmin, false, h.handleAdminPolicy},
		{"POST", "/admin/policy", siteAdmin, true, h.handleAdminPolicyUpdate},
		{"GET", "/admin/audit-log", siteAdmin, false, h.handleAdminAuditLog},

		// A user's profile, or an organization's page.
		{"GET", "/{owner}", public, false, h.handleOwner},
		{"GET", "/{owner}/{repo}", public, false, h.handleRepo},
		// A repository's deploy keys, for its administrators (the service
		// decides; others are told there is nothing here). The form posts
		// to …/keys/new: see keys.go.
		{"GET", "/{owner}/{repo}/settings/keys", signedIn, false, h.handleDeployKeys},
		{"GET", "/{owner}/{repo}/settings/keys/new", signedIn, true, h.handleDeployKeyNew},
		{"POST", "/{owner}/{repo}/settings/keys/new", signedIn, true, h.handleDeployKeyCreate},
		{"GET", "/{owner}/{repo}/settings/keys/{deploykey}/delete", signedIn, true, h.handleDeployKeyDeleteForm},
		{"POST", "/{owner}/{repo}/settings/keys/{deploykey}/delete", signedIn, true, h.handleDeployKeyDelete},
		// Browsing a repository: tree, blob, raw, commits, commit,
		// branches, tags, archive (browse.go, browseViews).
		{"GET", "/{owner}/{repo}/{view}", public, false, h.handleBrowse},
		{"GET", "/{owner}/{repo}/{view}/{rest...}", public, false, h.handleBrowse},
	}
}

func (h *Handler) routes() {
	m := http.NewServeMux()
	for _, p := range h.table() {
		m.HandleFunc(p.method+" "+p.pattern, h.guard(p))
	}
	m.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		h.renderError(w, r, http.StatusNotFound, "error.not_found")
	})
	h.mux = m
}

// guard applies a page's declarations before its handler: in private mode
// every page but sign-in, setup and the static files asks anonymous
// visitors to sign in; then the access level, the anti-forgery token of
// signed-in forms, and sudo mode.
func (h *Handler) guard(p page) http.HandlerFunc {
	next := p.handle
	if p.sudo {
		next = h.sudo(next)
	}
	return func(w http.ResponseWriter, r *http.Request) {
		a := actor(r)
		if p.access == public && h.cfg.Service.PrivateMode() && a.Anonymous() && !openInPrivateMode(p.pattern) {
			h.signIn(w, r)
			return
		}
		if p.access == public {
			next(w, r)
			return
		}
		if a.Anonymous() {
			h.signIn(w, r)
			return
		}
		if p.access == siteAdmin && authz.SiteAdmin(a) != nil {
			h.renderError(w, r, http.StatusNotFound, "error.not_found")
			return
		}
		if r.Method == http.MethodPost && !h.checkCSRF(r) {
			h.renderError(w, r, http.StatusForbidden, "error.csrf")
			return
		}
		next(w, r)
	}
}

// openInPrivateMode lists the pages an anonymous visitor needs to sign in
// or set the instance up.
func openInPrivateMode(pattern string) bool {
	switch pattern {
	case "/static/{file}", "/setup", "/login", "/{$}":
		return true
	}
	return false
}

func redirectTo(path string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, path, http.StatusSeeOther)
	}
}

// signIn sends an anonymous visitor to the sign-in page and back (GET), or
// refuses a form posted without a session.
func (h *Handler) signIn(w http.ResponseWriter, r *http.Request) {
	if r.Method == http.MethodGet || r.Method == http.MethodHead {
		http.Redirect(w, r, "/login?return_to="+queryEscape(r.URL.RequestURI()), http.StatusSeeOther)
		return
	}
	h.renderError(w, r, http.StatusUnauthorized, "error.signed_out")
}

// sudo lets the request through only in sudo mode, and then extends sudo
// mode: a sensitive action restarts the two hours. Otherwise a GET goes to
// the password prompt and comes back; a POST (sudo mode ran out while the
// form was open) gets the prompt, which returns to the form's page.
func (h *Handler) sudo(next http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		s := session(r)
		now := h.now()
		if s == nil || !s.SudoUntil.After(now) {
			back := r.URL.RequestURI()
			if r.Method != http.MethodGet {
				back = sudoReturnForPost(r.URL.Path)
			}
			if r.Method == http.MethodGet {
				http.Redirect(w, r, "/sudo?return_to="+queryEscape(back), http.StatusSeeOther)
				return
			}
			h.renderSudo(w, r, back, "", http.StatusUnauthorized)
			return
		}
		s.SudoUntil = now.Add(sudoLifetime)
		s.SeenAt = now
		if err := h.cfg.Service.SaveSession(r.Context(), actor(r), s); err != nil {
			h.serverError(w, r, err)
			return
		}
		next(w, r)
	}
}

// sudoReturnForPost maps a form's target to the page that shows the form.
func sudoReturnForPost(path string) string {
	switch {
	case path == "/settings/tokens":
		return "/settings/tokens/new"
	case strings.HasPrefix(path, "/settings/tokens/"):
		return path
	case path == "/settings/personal-access-tokens":
		return "/settings/personal-access-tokens/new"
	case strings.HasPrefix(path, "/settings/personal-access-tokens/"):
		return path
	case path == "/settings/keys":
		return "/settings/keys/new"
	case strings.HasPrefix(path, "/settings/keys/"):
		return path
	case strings.HasPrefix(path, "/organizations/"):
		return orgSettingsFormPage(path)
	case strings.HasPrefix(path, "/admin/"):
		if i := strings.Index(path[len("/admin/"):], "/"); i >= 0 {
			return path[:len("/admin/")+i]
		}
		return path
	case strings.Contains(path, "/settings/keys/"):
		// A repository's deploy key forms: each is shown at its target.
		return path
	}
	return "/"
}

// orgSettingsFormPage maps the target of an organization settings form
// (/organizations/ORG/settings/PAGE[/…]) to the page that shows it: the
// members page for member changes, a team's page for its members and
// repositories, the teams page after deleting a team, the active tokens
// after revoking one.
func orgSettingsFormPage(path string) string {
	parts := strings.Split(strings.Trim(path, "/"), "/")
	if len(parts) < 4 || parts[2] != "settings" {
		return "/"
	}
	base := "/" + strings.Join(parts[:4], "/")
	if parts[3] == "personal-access-tokens" && len(parts) > 4 {
		return base + "/active" // revoking an active token
	}
	if parts[3] == "teams" && len(parts) >= 5 {
		if len(parts) == 6 && parts[5] == "delete" {
			return base
		}
		return base + "/" + parts[4]
	}
	return base
}

// serverError logs err under the request id and shows a generic page.
func (h *Handler) serverError(w http.ResponseWriter, r *http.Request, err error) {
	if ctxErr := r.Context().Err(); ctxErr != nil {
		return
	}
	if gatehouse.ErrorKind(err) == gatehouse.Unavailable {
		h.log.Warn("web request refused: unavailable", "request_id", httpx.RequestID(r.Context()), "path", r.URL.Path, "err", err)
		h.renderError(w, r, http.StatusServiceUnavailable, "error.internal")
		return
	}
	h.log.Error("web request failed", "request_id", httpx.RequestID(r.Context()), "path", r.URL.Path, "err", err)
	h.renderError(w, r, http.StatusInternalServerError, "error.internal")
}

// ctxKey keys the request state in the context.
type ctxKey struct{}

// state is what withSession learned about the request.
type state struct {
	sess   *gatehouse.Session
	user   *gatehouse.User
	secret string // the session cookie's value
	anon   string // the pre-session anti-forgery cookie's value
	loc    *Localizer
	actor  *gatehouse.Actor
}

func stateOf(r *http.Request) *state {
	s, _ := r.Context().Value(ctxKey{}).(*state)
	if s == nil {
		return &state{loc: localizer("en")}
	}
	return s
}

// viewer returns the signed-in user or nil.
func viewer(r *http.Request) *gatehouse.User { return stateOf(r).user }

// session returns the session or nil.
func session(r *http.Request) *gatehouse.Session { return stateOf(r).sess }

// actor is the viewer as the actor of every use case: a browser session,
// which carries every scope, or an anonymous client.
func actor(r *http.Request) *gatehouse.Actor {
	if a := stateOf(r).actor; a != nil {
		return a
	}
	return gatehouse.AnonymousActor("")
}

func withState(ctx context.Context, s *state) context.Context {
	return context.WithValue(ctx, ctxKey{}, s)
}
