package api

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/graph-gophers/graphql-go"

	"github.com/gatehouse/gatehouse"
	"github.com/gatehouse/gatehouse/internal/authz"
	"github.com/gatehouse/gatehouse/internal/gitrepo"
	"github.com/gatehouse/gatehouse/internal/httpx"
	"github.com/gatehouse/gatehouse/internal/service"
	"github.com/gatehouse/gatehouse/internal/token"
)

// EnterpriseVersion is the GitHub Enterprise Server release whose API this
// subset follows. It is sent as X-GitHub-Enterprise-Version and as
// installed_version in /meta, where clients use it to pick features.
const EnterpriseVersion = "3.12.0"

// Prefix is where the REST API lives; GraphQLPath is the GraphQL endpoint.
// Both are fixed by the clients: gh, go-github and Octokit derive them from
// the host name of a GitHub Enterprise Server.
const (
	Prefix      = "/api/v3"
	GraphQLPath = "/api/graphql"
)

// maxBody bounds request bodies; every accepted body is a small JSON object.
const maxBody = 1 << 20

// Config is what the API needs. Service and ExternalURL are required.
type Config struct {
	// Service is the application boundary: every credential, rule, read
	// and change goes through it.
	Service *service.Service
	// Repos reads the content of repositories the service authorized.
	Repos *gitrepo.Dir
	// ExternalURL is the absolute base URL, without a trailing slash;
	// every URL in a response starts with it.
	ExternalURL string
	Network     httpx.Network
	RateLimit   RateLimit
	// Version is Gatehouse's own version, reported by /meta.
	Version string
	Log     *slog.Logger
	Now     func() time.Time
	// ShareLimits, when set, is a handler of the same server, built for
	// another of its host names, whose rate-limit budgets this one spends
	// from: a client has one budget whatever name it connects with.
	// RateLimit is then ignored.
	ShareLimits *Handler
}

// Handler serves /api/v3/… and /api/graphql.
type Handler struct {
	cfg     Config
	base    string // ExternalURL
	apiBase string // ExternalURL + Prefix
	host    string // host[:port] of ExternalURL, for ssh URLs
	svc     *service.Service
	routes  []*route
	mux     *http.ServeMux
	limiter *limiter
	gql     *graphql.Schema
	log     *slog.Logger
}

// New builds the handler and its route table.
func New(cfg Config) *Handler {
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	base := strings.TrimRight(cfg.ExternalURL, "/")
	h := &Handler{
		cfg:     cfg,
		base:    base,
		apiBase: base + Prefix,
		svc:     cfg.Service,
		log:     cfg.Log,
	}
	if cfg.ShareLimits != nil {
		h.limiter = cfg.ShareLimits.limiter
	} else {
		h.limiter = newLimiter(cfg.RateLimit, cfg.Now)
	}
	if u, err := url.Parse(base); err == nil {
		h.host = u.Hostname()
	}
	h.gql = newSchema(h)
	h.routes = h.table()
	h.mux = http.NewServeMux()
	for _, rt := range h.routes {
		rt := rt
		h.mux.HandleFunc(rt.method+" "+rt.pattern, func(w http.ResponseWriter, r *http.Request) { h.serve(rt, w, r) })
	}
	// Anything else under /api/ gets GitHub's JSON 404 rather than the
	// mux's plain text, whatever the method.
	h.mux.HandleFunc("/api/", func(w http.ResponseWriter, r *http.Request) {
		h.writeCommonHeaders(w.Header())
		writeError(w, http.StatusNotFound, msgNotFound, nil)
	})
	return h
}

// ServeHTTP implements http.Handler.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) { h.mux.ServeHTTP(w, r) }

// request is one API call on its way through a handler.
type request struct {
	*http.Request
	w     http.ResponseWriter
	h     *Handler
	route *route
	actor *gatehouse.Actor // never nil; anonymous callers have no User
}

// user returns the authenticated user or nil.
func (rq *request) user() *gatehouse.User { return rq.actor.User }

// hasScope reports whether the caller's credential carries scope.
func (rq *request) hasScope(scope string) bool { return authz.HasScope(rq.actor, scope) }

// Messages with exact texts clients match on.
const (
	msgRequiresAuth   = "Requires authentication"
	msgBadCredentials = "Bad credentials"
	msgNotFound       = "Not Found"
	msgAccessToken    = "Passing a token in the access_token query parameter is not supported. Send it in the Authorization header instead."
	msgPlainHTTP      = "Credentials sent over plain HTTP are refused: they would cross the network readable by anyone. Use the https:// URL of this server."
	msgGraphQLAuth    = "This endpoint requires you to be authenticated."
)

var (
	hvMediaType = []string{"github.v3; format=json"}
	hvVersion   = []string{EnterpriseVersion}
	hvJSON      = []string{"application/json; charset=utf-8"}
)

func (h *Handler) writeCommonHeaders(hd http.Header) {
	hd["X-Github-Media-Type"] = hvMediaType
	hd["X-Github-Enterprise-Version"] = hvVersion
}

// serve runs the pipeline every route shares: refuse tokens in URLs,
// authenticate, send the token headers, count the call against the rate
// limit, then apply the route's declarations (credentials, scopes, site
// admin) before the handler runs. Repository routes additionally go
// through the one authorization function when the handler loads the
// repository (request.repo).
func (h *Handler) serve(rt *route, w http.ResponseWriter, r *http.Request) {
	hd := w.Header()
	h.writeCommonHeaders(hd)
	hd["X-Accepted-Oauth-Scopes"] = rt.acceptedHeader
	if r.URL.RawQuery != "" && hasAccessToken(r.URL.RawQuery) {
		// Never look at or log the value; the access log has no query.
		writeError(w, http.StatusBadRequest, msgAccessToken, nil)
		return
	}
	actor, status, msg := h.authenticate(r)
	if status != 0 {
		writeError(w, status, msg, nil)
		return
	}
	fine := actor.Token != nil && actor.Token.FineGrained()
	if fine {
		// gh and other clients skip their scope checks when
		// X-OAuth-Scopes is absent, as GitHub sends it for these tokens.
		delete(hd, "X-Accepted-Oauth-Scopes")
		if rt.permHeader != nil {
			hd["X-Accepted-Github-Permissions"] = rt.permHeader
		}
	}
	if actor.Token != nil {
		if !fine {
			hd["X-Oauth-Scopes"] = []string{token.HeaderValue(actor.Token.Scopes)}
		}
		if !actor.Token.ExpiresAt.IsZero() {
			hd["Github-Authentication-Token-Expiration"] = []string{actor.Token.ExpiresAt.UTC().Format("2006-01-02 15:04:05 MST")}
		}
	}
	if rt.limit != "" && h.limiter != nil {
		if !h.limiter.allow(hd, rt.limit, actor, actor.IP) {
			writeError(w, http.StatusForbidden, h.limiter.exceededMessage(actor, actor.IP), nil)
			return
		}
	}
	if rt.auth && actor.Anonymous() {
		msg := msgRequiresAuth
		if rt.pattern == GraphQLPath {
			msg = msgGraphQLAuth
		}
		writeError(w, http.StatusUnauthorized, msg, nil)
		return
	}
	if fine {
		if msg := rt.fineGrainedRefusal(actor); msg != "" {
			writeError(w, http.StatusForbidden, msg, nil)
			return
		}
	} else if len(rt.scopes) > 0 && !rt.scopeGranted(actor) {
		writeError(w, rt.deny.status(), rt.deny.text(), nil)
		return
	}
	if rt.siteAdmin {
		if err := authz.SiteAdmin(actor); err != nil {
			writeError(w, http.StatusForbidden, msgSiteAdmin, nil)
			return
		}
	}
	rq := &request{Request: r, w: w, h: h, route: rt, actor: actor}
	if err := rt.handle(rq); err != nil {
		h.fail(rq, err)
	}
}

// hasAccessToken reports whether a raw query has an access_token
// parameter, without decoding (and so without copying) its value.
func hasAccessToken(raw string) bool {
	for raw != "" {
		var kv string
		kv, raw, _ = strings.Cut(raw, "&")
		k, _, _ := strings.Cut(kv, "=")
		if k == "access_token" {
			return true
		}
		if strings.Contains(k, "%") {
			if uk, err := url.QueryUnescape(k); err == nil && uk == "access_token" {
				return true
			}
		}
	}
	return false
}

// authenticate turns the Authorization header into an actor through the
// service (the anonymous actor when there is none). It returns a status
// and message, in GitHub's words, when the request must stop.
func (h *Handler) authenticate(r *http.Request) (*gatehouse.Actor, int, string) {
	cred, err := httpx.Credential(r, h.cfg.Network)
	if err != nil {
		return nil, http.StatusUnauthorized, msgBadCredentials
	}
	actor, err := h.svc.Authenticate(r.Context(), cred)
	switch {
	case err == nil:
		httpx.SetLogin(r.Context(), actor.Login())
		return actor, 0, ""
	case errors.Is(err, service.ErrPlainHTTP):
		return nil, http.StatusForbidden, msgPlainHTTP
	case gatehouse.ErrorKind(err) == gatehouse.Unauthenticated:
		return nil, http.StatusUnauthorized, msgBadCredentials
	case gatehouse.ErrorKind(err) == gatehouse.Forbidden:
		return nil, http.StatusForbidden, gatehouse.ErrorMessage(err)
	case gatehouse.ErrorKind(err) == gatehouse.Unavailable:
		h.log.Warn("authentication unavailable", "err", err, "request_id", httpx.RequestID(r.Context()))
		return nil, http.StatusServiceUnavailable, "Service Unavailable"
	}
	h.log.Error("authentication failed", "err", err, "request_id", httpx.RequestID(r.Context()))
	return nil, http.StatusInternalServerError, "Server Error"
}

// docURL is the documentation_url of error bodies, as GitHub sends it.
const docURL = "https://docs.github.com/rest"

// apiError is GitHub's error body.
type apiError struct {
	Message          string       `json:"message"`
	Errors           []fieldError `json:"errors,omitempty"`
	DocumentationURL string       `json:"documentation_url"`
	Status           string       `json:"status"`
}

// fieldError is one entry of errors[] in a 422.
type fieldError struct {
	Resource string `json:"resource"`
	Code     string `json:"code"`
	Field    string `json:"field,omitempty"`
	Message  string `json:"message,omitempty"`
}

func writeError(w http.ResponseWriter, status int, msg string, errs []fieldError) {
	body := apiError{Message: msg, Errors: errs, DocumentationURL: docURL, Status: strconv.Itoa(status)}
	writeJSON(w, status, body)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		// Only a programming error can get here: wire types always encode.
		http.Error(w, "encoding response failed", http.StatusInternalServerError)
		return
	}
	hd := w.Header()
	hd["Content-Type"] = hvJSON
	hd["Content-Length"] = []string{strconv.Itoa(len(b))}
	w.WriteHeader(status)
	w.Write(b)
}

// json writes v with status.
func (rq *request) json(status int, v any) error {
	writeJSON(rq.w, status, v)
	return nil
}

// noContent answers 204.
func (rq *request) noContent() error {
	rq.w.WriteHeader(http.StatusNoContent)
	return nil
}

// errNotFound is the plain 404.
var errNotFound = gatehouse.E("api", gatehouse.NotFound, msgNotFound)

// invalid is a 422 naming a resource, field and code, built by handlers.
type invalid struct {
	message string
	errs    []fieldError
}

func (e *invalid) Error() string { return e.message }

func validation(resource, field, code, message string) error {
	return &invalid{message: "Validation Failed", errs: []fieldError{{Resource: resource, Field: field, Code: code, Message: message}}}
}

// badJSON is a 400 for a body that does not parse.
type badJSON struct{ message string }

func (e *badJSON) Error() string { return e.message }

// moved answers a request for a repository by its name before a rename
// as GitHub does: 301 Moved Permanently for GET and HEAD, 307 Temporary
// Redirect (which keeps the method and body) for the others, with
// Location the same request on the repository's own name.
type moved struct{ location string }

func (e *moved) Error() string { return "moved to " + e.location }

// fail turns a handler error into GitHub's error body. Internal errors are
// logged with the request id and shown only as that id.
func (h *Handler) fail(rq *request, err error) {
	var mv *moved
	if errors.As(err, &mv) {
		status, msg := http.StatusMovedPermanently, "Moved Permanently"
		if rq.Method != http.MethodGet && rq.Method != http.MethodHead {
			status, msg = http.StatusTemporaryRedirect, "Temporary Redirect"
		}
		rq.w.Header().Set("Location", mv.location)
		writeJSON(rq.w, status, struct {
			Message          string `json:"message"`
			URL              string `json:"url"`
			DocumentationURL string `json:"documentation_url"`
		}{msg, mv.location, "https://docs.github.com/rest/guides/best-practices-for-using-the-rest-api#follow-redirects"})
		return
	}
	var inv *invalid
	if errors.As(err, &inv) {
		writeError(rq.w, http.StatusUnprocessableEntity, inv.message, inv.errs)
		return
	}
	var bj *badJSON
	if errors.As(err, &bj) {
		writeError(rq.w, http.StatusBadRequest, bj.message, nil)
		return
	}
	msg := gatehouse.ErrorMessage(err)
	kind := gatehouse.ErrorKind(err)
	status := httpx.Status(kind)
	switch kind {
	case gatehouse.NotFound:
		writeError(rq.w, status, msgNotFound, nil)
		return
	case gatehouse.Unauthenticated:
		writeError(rq.w, status, msgRequiresAuth, nil)
		return
	case gatehouse.Forbidden:
		if errors.Is(err, authz.ErrArchived) {
			msg = msgArchived // GitHub's REST wording; git shows authz.MsgArchived
		}
		writeError(rq.w, status, msg, nil)
		return
	case gatehouse.Invalid:
		field := ""
		var ge *gatehouse.Error
		if errors.As(err, &ge) {
			field = ge.Field
		}
		writeError(rq.w, status, "Validation Failed",
			[]fieldError{{Resource: rq.route.resource, Field: field, Code: "custom", Message: msg}})
		return
	case gatehouse.Conflict:
		writeError(rq.w, status, "Validation Failed",
			[]fieldError{{Resource: rq.route.resource, Code: "already_exists", Message: msg}})
		return
	case gatehouse.Unavailable:
		writeError(rq.w, status, "Service Unavailable", nil)
		return
	}
	id := httpx.RequestID(rq.Context())
	h.log.Error("api request failed", "err", err, "method", rq.Method, "route", rq.route.pattern, "request_id", id)
	writeError(rq.w, http.StatusInternalServerError, "Server Error (request "+id+")", nil)
}

// decode reads a JSON object body into v. An empty body leaves v as is.
func (rq *request) decode(v any) error {
	body, err := io.ReadAll(io.LimitReader(rq.Body, maxBody+1))
	if err != nil {
		return &badJSON{"Problems parsing JSON"}
	}
	if len(body) > maxBody {
		return &badJSON{"Problems parsing JSON"}
	}
	trimmed := strings.TrimSpace(string(body))
	if trimmed == "" {
		return nil
	}
	if trimmed[0] != '{' {
		if json.Valid(body) {
			return &badJSON{"Body should be a JSON object"}
		}
		return &badJSON{"Problems parsing JSON"}
	}
	if err := json.Unmarshal(body, v); err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) {
			return validation(rq.route.resource, te.Field, "invalid", "")
		}
		return &badJSON{"Problems parsing JSON"}
	}
	return nil
}

type ctxKey struct{}

// withRequest lets GraphQL resolvers reach the request.
func withRequest(ctx context.Context, rq *request) context.Context {
	return context.WithValue(ctx, ctxKey{}, rq)
}

func requestFrom(ctx context.Context) *request {
	rq, _ := ctx.Value(ctxKey{}).(*request)
	return rq
}
