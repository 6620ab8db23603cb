// Package githttp serves Git's smart HTTP protocol (v0 and v2) by running
// git's own upload-pack and receive-pack, after the one authorization
// function has decided.
package githttp

import (
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/gatehouse/gatehouse"
	"github.com/gatehouse/gatehouse/internal/auth"
	"github.com/gatehouse/gatehouse/internal/authz"
	"github.com/gatehouse/gatehouse/internal/gitrepo"
	"github.com/gatehouse/gatehouse/internal/httpx"
	"github.com/gatehouse/gatehouse/internal/pushprotect"
)

// Realm is sent in the Basic challenge; git only offers credentials to a
// 401 that carries one.
const Realm = "Gatehouse"

// Handler serves /OWNER/REPO(.git)/{info/refs,git-upload-pack,git-receive-pack}.
type Handler struct {
	Auth    *auth.Authenticator
	Authz   *authz.Authorizer
	Repos   *gitrepo.Dir
	Store   gatehouse.Store
	Network httpx.Network
	Log     *slog.Logger
	// OnPush, if set, runs after a successful receive-pack.
	OnPush func(ctx context.Context, repo *gatehouse.Repo, actor *gatehouse.Actor)
}

// Route is a parsed git URL.
type Route struct {
	Owner, Name string
	// Op is "info/refs", "git-upload-pack" or "git-receive-pack".
	Op string
}

// Match parses a request path into a Route. It accepts /OWNER/REPO/… and
// /OWNER/REPO.git/….
func Match(path string) (Route, bool) {
	p := strings.TrimPrefix(path, "/")
	owner, rest, ok := strings.Cut(p, "/")
	if !ok {
		return Route{}, false
	}
	name, op, ok := strings.Cut(rest, "/")
	if !ok {
		return Route{}, false
	}
	switch op {
	case "info/refs", "git-upload-pack", "git-receive-pack":
	default:
		return Route{}, false
	}
	if len(name) > 4 && strings.EqualFold(name[len(name)-4:], ".git") {
		name = name[:len(name)-4]
	}
	if !gatehouse.ValidLogin(owner) || !gatehouse.ValidRepoName(name) {
		return Route{}, false
	}
	return Route{Owner: owner, Name: name, Op: op}, true
}

func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	rt, ok := Match(r.URL.Path)
	if !ok {
		plain(w, http.StatusNotFound, "Not found.")
		return
	}
	var service gitrepo.Service
	advertise := false
	switch rt.Op {
	case "info/refs":
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			methodNotAllowed(w, "GET")
			return
		}
		switch r.URL.Query().Get("service") {
		case "git-upload-pack":
			service = gitrepo.UploadPack
		case "git-receive-pack":
			service = gitrepo.ReceivePack
		default:
			plain(w, http.StatusForbidden, "Only Git's smart HTTP protocol is supported; upgrade git.")
			return
		}
		advertise = true
	case "git-upload-pack", "git-receive-pack":
		if r.Method != http.MethodPost {
			methodNotAllowed(w, "POST")
			return
		}
		service = gitrepo.Service(strings.TrimPrefix(rt.Op, "git-"))
		if ct := r.Header.Get("Content-Type"); ct != "application/x-git-"+string(service)+"-request" {
			plain(w, http.StatusUnsupportedMediaType, "Expected Content-Type application/x-git-"+string(service)+"-request.")
			return
		}
	}

	action := authz.Read
	if service == gitrepo.ReceivePack {
		action = authz.Write
	}
	actor, ok := h.authenticate(w, r)
	if !ok {
		return
	}
	repo, _, err := h.Authz.Repo(r.Context(), actor, rt.Owner, rt.Name, action)
	if err != nil {
		h.refuse(w, r, err)
		return
	}
	if !h.Repos.Exists(repo.ID) {
		h.Log.Error("repository missing on disk", "repo", repo.FullName(), "id", repo.ID, "request_id", httpx.RequestID(r.Context()))
		plain(w, http.StatusInternalServerError, "The repository's storage is missing; tell the administrator.")
		return
	}
	protocol := ""
	if service == gitrepo.UploadPack {
		protocol = gitProtocol(r.Header.Get("Git-Protocol"))
	}
	if advertise {
		h.advertise(w, r, repo, service, protocol)
		return
	}
	h.rpc(w, r, repo, actor, service, protocol)
}

// authenticate reads credentials. It writes the refusal itself and returns
// false when the request must stop here.
func (h *Handler) authenticate(w http.ResponseWriter, r *http.Request) (*gatehouse.Actor, bool) {
	ip := h.Network.ClientIP(r)
	creds, err := httpx.ParseAuthorization(r.Header.Get("Authorization"))
	if err != nil {
		challenge(w, "The Authorization header is malformed: "+err.Error())
		return nil, false
	}
	if creds.Kind == httpx.NoCredentials {
		return nil, true
	}
	if !h.Network.CredentialsSafe(r) {
		plain(w, http.StatusForbidden, "Credentials sent over plain HTTP are refused: they would cross the network readable by anyone.\nUse the https:// URL of this server.")
		return nil, false
	}
	if creds.Kind == httpx.PasswordCredential {
		// The password is never checked: checking would make git a
		// password-guessing oracle and cost a slow hash per request.
		challenge(w, "Password authentication is not supported for Git operations.\nUse a personal access token as the password: Settings > Developer settings > Personal access tokens.")
		return nil, false
	}
	actor, err := h.Auth.Token(r.Context(), creds.Token, ip)
	if err != nil {
		switch gatehouse.ErrorKind(err) {
		case gatehouse.Unauthenticated:
			challenge(w, "Invalid username or token: the personal access token is wrong, expired or revoked.\nCreate a new one under Settings > Developer settings > Personal access tokens.")
		case gatehouse.Unavailable, gatehouse.Forbidden:
			plain(w, http.StatusForbidden, gatehouse.ErrorMessage(err))
		default:
			h.internal(w, r, err)
		}
		return nil, false
	}
	httpx.SetLogin(r.Context(), actor.Login())
	return actor, true
}

func (h *Handler) refuse(w http.ResponseWriter, r *http.Request, err error) {
	switch gatehouse.ErrorKind(err) {
	case gatehouse.Unauthenticated:
		challenge(w, "Authentication required: use a personal access token as the password.")
	case gatehouse.NotFound:
		plain(w, http.StatusNotFound, "Repository not found.")
	case gatehouse.Forbidden:
		plain(w, http.StatusForbidden, gatehouse.ErrorMessage(err))
	default:
		h.internal(w, r, err)
	}
}

func (h *Handler) internal(w http.ResponseWriter, r *http.Request, err error) {
	id := httpx.RequestID(r.Context())
	h.Log.Error("git request failed", "err", err, "request_id", id)
	plain(w, http.StatusInternalServerError, "Internal server error (request "+id+").")
}

func noCache(hd http.Header) {
	hd.Set("Expires", "Fri, 01 Jan 1980 00:00:00 GMT")
	hd.Set("Pragma", "no-cache")
	hd.Set("Cache-Control", "no-cache, max-age=0, must-revalidate")
}

func (h *Handler) advertise(w http.ResponseWriter, r *http.Request, repo *gatehouse.Repo, service gitrepo.Service, protocol string) {
	hd := w.Header()
	hd.Set("Content-Type", "application/x-git-"+string(service)+"-advertisement")
	noCache(hd)
	if r.Method == http.MethodHead {
		w.WriteHeader(http.StatusOK)
		return
	}
	var out io.Writer = w
	if !strings.Contains(protocol, "version=2") {
		// v0/v1: the smart HTTP preamble precedes git's own output.
		line := "# service=git-" + string(service) + "\n"
		fmt.Fprintf(out, "%04x%s0000", len(line)+4, line)
	}
	err := h.Repos.Run(r.Context(), repo.ID, service, gitrepo.RunOptions{Advertise: true, Protocol: protocol, Stdout: out})
	if err != nil {
		h.Log.Warn("ref advertisement failed", "repo", repo.FullName(), "err", err, "request_id", httpx.RequestID(r.Context()))
	}
}

func (h *Handler) rpc(w http.ResponseWriter, r *http.Request, repo *gatehouse.Repo, actor *gatehouse.Actor, service gitrepo.Service, protocol string) {
	ctx := r.Context()
	// git may start answering before it has read the whole request (progress
	// during a push); HTTP/1.1 needs full duplex enabled for that.
	_ = http.NewResponseController(w).EnableFullDuplex()
	var body io.Reader = r.Body
	switch enc := strings.ToLower(r.Header.Get("Content-Encoding")); enc {
	case "", "identity":
	case "gzip", "x-gzip":
		zr, err := gzip.NewReader(r.Body)
		if err != nil {
			plain(w, http.StatusBadRequest, "The request body is not valid gzip.")
			return
		}
		defer zr.Close()
		body = zr
	default:
		plain(w, http.StatusUnsupportedMediaType, "Unsupported Content-Encoding "+enc+".")
		return
	}
	hd := w.Header()
	hd.Set("Content-Type", "application/x-git-"+string(service)+"-result")
	noCache(hd)
	out := &flushWriter{w: w, rc: http.NewResponseController(w)}
	opts := gitrepo.RunOptions{Protocol: protocol, Stdin: body, Stdout: out}
	if service == gitrepo.ReceivePack {
		// What push protection's pre-receive hook reports and records.
		p := pushprotect.Push{Repo: repo.FullName(), Pusher: actor.Login(), IP: h.Network.ClientIP(r), RequestID: httpx.RequestID(ctx)}
		if actor != nil && actor.User != nil {
			p.PusherID = actor.User.ID
		}
		opts.Env = p.Env()
	}
	err := h.Repos.Run(ctx, repo.ID, service, opts)
	if err != nil {
		if errors.Is(err, context.Canceled) {
			h.Log.Info("git request cancelled by client", "repo", repo.FullName(), "service", service, "request_id", httpx.RequestID(ctx))
		} else {
			h.Log.Warn("git service failed", "repo", repo.FullName(), "service", service, "err", err, "request_id", httpx.RequestID(ctx))
		}
		if !out.wrote {
			plain(w, http.StatusInternalServerError, "git "+string(service)+" failed (request "+httpx.RequestID(ctx)+").")
		}
		return
	}
	if service == gitrepo.ReceivePack {
		// Bookkeeping must not depend on the client staying connected.
		bctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
		defer cancel()
		h.afterPush(bctx, repo, actor)
	}
}

func (h *Handler) afterPush(ctx context.Context, repo *gatehouse.Repo, actor *gatehouse.Actor) {
	head, err := h.Repos.FixHead(ctx, repo.ID)
	if err != nil {
		h.Log.Warn("checking HEAD after push failed", "repo", repo.FullName(), "err", err)
	}
	if head != "" {
		repo.DefaultBranch = head
	}
	repo.PushedAt = time.Now().UTC()
	if err := h.Store.UpdateRepo(ctx, repo); err != nil {
		h.Log.Warn("recording push failed", "repo", repo.FullName(), "err", err)
	}
	if h.OnPush != nil {
		h.OnPush(ctx, repo, actor)
	}
}

// gitProtocol passes through a Git-Protocol value only if it is made of
// the characters git itself uses ("version=2", "key=value:key=value").
func gitProtocol(v string) string {
	if v == "" || len(v) > 256 {
		return ""
	}
	for i := 0; i < len(v); i++ {
		c := v[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.IndexByte("=:._-,", c) >= 0) {
			return ""
		}
	}
	return v
}

// challenge answers 401 with the Basic challenge and a text body that git
// prints line by line as "remote: …".
func challenge(w http.ResponseWriter, msg string) {
	w.Header().Set("WWW-Authenticate", `Basic realm="`+Realm+`"`)
	plain(w, http.StatusUnauthorized, msg)
}

func plain(w http.ResponseWriter, code int, msg string) {
	hd := w.Header()
	hd.Set("Content-Type", "text/plain; charset=utf-8")
	hd.Set("X-Content-Type-Options", "nosniff")
	noCache(hd)
	w.WriteHeader(code)
	io.WriteString(w, msg+"\n")
}

func methodNotAllowed(w http.ResponseWriter, allow string) {
	w.Header().Set("Allow", allow)
	plain(w, http.StatusMethodNotAllowed, "Method not allowed.")
}

// flushWriter sends each chunk git writes to the client at once, so that
// progress reaches the user and memory does not hold the pack.
type flushWriter struct {
	w     http.ResponseWriter
	rc    *http.ResponseController
	wrote bool
}

func (f *flushWriter) Write(p []byte) (int, error) {
	f.wrote = true
	n, err := f.w.Write(p)
	if err == nil {
		err = f.rc.Flush()
	}
	return n, err
}
