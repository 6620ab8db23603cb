// Package web serves Gatehouse's HTML pages: first-run setup, sign in and
// out, repositories, personal settings with the personal access token
// pages, and site administration, in English and Japanese.
//
// Pages are rendered on the server with html/template from embedded files
// and work without JavaScript; the small script in static/ only adds the
// copy buttons, the live expiration date and the scope tree behaviour.
// Every state change is a POST guarded twice against cross-site requests:
// the browser's Sec-Fetch-Site/Origin headers and a per-session token in a
// hidden form field. Creating, regenerating and deleting tokens needs a
// password confirmation at most two hours old ("sudo mode").
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

// Throttle counts failed sign-ins per client address; the authenticator's
// throttle implements it, so that passwords typed into the web form and
// tokens sent to the API share one limit.
type Throttle interface {
	// Failed records a failure and reports whether ip is now locked out.
	Failed(ip string) bool
	// Locked reports whether ip is locked out.
	Locked(ip string) bool
}

// Config is what the web UI needs.
type Config struct {
	Store    gatehouse.Store
	Sessions gatehouse.SessionStore
	Service  *service.Service
	Authz    *authz.Authorizer
	Throttle Throttle
	Repos    *gitrepo.Dir
	// ExternalURL is the base URL users reach the server at, without a
	// trailing slash; clone URLs are built from it, and an https:// URL
	// marks cookies Secure even behind a TLS-terminating proxy.
	ExternalURL string
	Network     httpx.Network
	Log         *slog.Logger
	// Now is the clock (tests fix it); default time.Now.
	Now func() time.Time
}

// Handler serves the web UI.
type Handler struct {
	cfg   Config
	log   *slog.Logger
	pages map[string]*pageTemplate
	mux   *http.ServeMux
	root  http.Handler
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
	h := &Handler{cfg: cfg, log: cfg.Log}
	if h.log == nil {
		h.log = slog.Default()
	}
	h.pages = mustParsePages()
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

func (h *Handler) routes() {
	m := http.NewServeMux()
	static, _ := fs.Sub(files, "static")
	fileServer := http.StripPrefix("/static/", http.FileServerFS(static))
	m.Handle("GET /static/{file}", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "public, max-age=3600")
		fileServer.ServeHTTP(w, r)
	}))
	m.HandleFunc("GET /avatars/{login}", h.handleAvatar)
	m.HandleFunc("GET /{$}", h.handleHome)

	m.HandleFunc("GET /setup", h.handleSetupForm)
	m.HandleFunc("POST /setup", h.handleSetup)
	m.HandleFunc("GET /login", h.handleLoginForm)
	m.HandleFunc("POST /login", h.handleLogin)
	m.HandleFunc("POST /logout", h.signedIn(h.handleLogout))
	m.HandleFunc("GET /sudo", h.signedIn(h.handleSudoForm))
	m.HandleFunc("POST /sudo", h.signedIn(h.handleSudo))

	m.HandleFunc("GET /settings", h.signedIn(redirectTo("/settings/profile")))
	m.HandleFunc("GET /settings/profile", h.signedIn(h.handleProfileForm))
	m.HandleFunc("POST /settings/profile", h.signedIn(h.handleProfile))
	m.HandleFunc("GET /settings/security-log", h.signedIn(h.handleSecurityLog))
	m.HandleFunc("GET /settings/developers", h.signedIn(h.handleDevelopers))
	m.HandleFunc("GET /settings/tokens", h.signedIn(h.handleTokens))
	m.HandleFunc("POST /settings/tokens", h.signedIn(h.sudo(h.handleTokenCreate)))
	m.HandleFunc("GET /settings/tokens/new", h.signedIn(h.sudo(h.handleTokenNew)))
	m.HandleFunc("GET /settings/tokens/revoke-all", h.signedIn(h.sudo(h.handleRevokeAllForm)))
	m.HandleFunc("POST /settings/tokens/revoke-all", h.signedIn(h.sudo(h.handleRevokeAll)))
	// Editing can widen a token's scopes: as sensitive as creating one.
	m.HandleFunc("GET /settings/tokens/{id}", h.signedIn(h.sudo(h.handleTokenEdit)))
	m.HandleFunc("POST /settings/tokens/{id}", h.signedIn(h.sudo(h.handleTokenUpdate)))
	m.HandleFunc("GET /settings/tokens/{id}/regenerate", h.signedIn(h.sudo(h.handleRegenerateForm)))
	m.HandleFunc("POST /settings/tokens/{id}/regenerate", h.signedIn(h.sudo(h.handleRegenerate)))
	m.HandleFunc("GET /settings/tokens/{id}/delete", h.signedIn(h.sudo(h.handleDeleteForm)))
	m.HandleFunc("POST /settings/tokens/{id}/delete", h.signedIn(h.sudo(h.handleDelete)))

	m.HandleFunc("GET /new", h.signedIn(h.handleRepoNew))
	m.HandleFunc("POST /new", h.signedIn(h.handleRepoCreate))

	m.HandleFunc("GET /admin", h.siteAdmin(redirectTo("/admin/users")))
	m.HandleFunc("GET /admin/users", h.siteAdmin(h.handleAdminUsers))
	m.HandleFunc("POST /admin/users", h.siteAdmin(h.sudo(h.handleAdminUserCreate)))
	m.HandleFunc("POST /admin/users/{id}/{action}", h.siteAdmin(h.sudo(h.handleAdminUserAction)))
	m.HandleFunc("GET /admin/tokens", h.siteAdmin(h.handleAdminTokens))
	m.HandleFunc("POST /admin/tokens/{id}/revoke", h.siteAdmin(h.sudo(h.handleAdminTokenRevoke)))
	m.HandleFunc("GET /admin/policy", h.siteAdmin(h.handleAdminPolicy))
	m.HandleFunc("GET /admin/audit-log", h.siteAdmin(h.handleAdminAuditLog))
	m.HandleFunc("POST /admin/policy", h.siteAdmin(h.sudo(h.handleAdminPolicyUpdate)))

	m.HandleFunc("GET /{owner}", h.handleOwner)
	m.HandleFunc("GET /{owner}/{repo}", h.handleRepo)
	m.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		h.renderError(w, r, http.StatusNotFound, "error.not_found")
	})
	h.mux = m
}

func redirectTo(path string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, path, http.StatusSeeOther)
	}
}

// signedIn sends anonymous visitors to the sign-in page and back.
func (h *Handler) signedIn(next http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if viewer(r) == nil {
			if r.Method == http.MethodGet {
				http.Redirect(w, r, "/login?return_to="+queryEscape(r.URL.RequestURI()), http.StatusSeeOther)
				return
			}
			h.renderError(w, r, http.StatusUnauthorized, "error.signed_out")
			return
		}
		if r.Method == http.MethodPost && !h.checkCSRF(r) {
			h.renderError(w, r, http.StatusForbidden, "error.csrf")
			return
		}
		next(w, r)
	}
}

// siteAdmin is signedIn plus the site admin role; others get a 404, so
// the admin pages do not announce themselves.
func (h *Handler) siteAdmin(next http.HandlerFunc) http.HandlerFunc {
	return h.signedIn(func(w http.ResponseWriter, r *http.Request) {
		if !viewer(r).SiteAdmin {
			h.renderError(w, r, http.StatusNotFound, "error.not_found")
			return
		}
		next(w, r)
	})
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
		if err := h.cfg.Sessions.UpdateSession(r.Context(), s); err != nil {
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
	case strings.HasPrefix(path, "/admin/"):
		if i := strings.Index(path[len("/admin/"):], "/"); i >= 0 {
			return path[:len("/admin/")+i]
		}
		return path
	}
	return "/"
}

// serverError logs err under the request id and shows a generic page.
func (h *Handler) serverError(w http.ResponseWriter, r *http.Request, err error) {
	if ctxErr := r.Context().Err(); ctxErr != nil {
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

// actor is the viewer as an authorization subject: a browser session,
// which carries every scope.
func actor(r *http.Request) *gatehouse.Actor {
	u := viewer(r)
	if u == nil {
		return nil
	}
	return &gatehouse.Actor{User: u}
}

func withState(ctx context.Context, s *state) context.Context {
	return context.WithValue(ctx, ctxKey{}, s)
}
