// Package githttp serves Git's smart HTTP protocol (v0 and v2) by running
// git's own upload-pack and receive-pack, after the one authorization
// function has decided.
package githttp

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/gatehouse/gatehouse"
	"github.com/gatehouse/gatehouse/internal/authz"
	"github.com/gatehouse/gatehouse/internal/gitrepo"
	"github.com/gatehouse/gatehouse/internal/httpx"
	"github.com/gatehouse/gatehouse/internal/pushprotect"
	"github.com/gatehouse/gatehouse/internal/service"
)

// Realm is sent in the Basic challenge; git only offers credentials to a
// 401 that carries one.
const Realm = "Gatehouse"

// Handler serves /OWNER/REPO(.git)/{info/refs,git-upload-pack,git-receive-pack}.
type Handler struct {
	Service *service.Service
	Repos   *gitrepo.Dir
	Network httpx.Network
	Log     *slog.Logger
	// OnPush, if set, runs after a successful receive-pack.
	OnPush func(ctx context.Context, repo *gatehouse.Repo, actor *gatehouse.Actor)
	// IdleTimeout is how long a request waits for its client, for the next
	// byte of the request body or for room to send the next part of the
	// answer, before its git process is stopped (DefaultIdleTimeout when
	// zero). It bounds each wait, not the whole request: a slow link that
	// keeps moving is served.
	IdleTimeout time.Duration
	// Limits bounds the git processes running at once; beyond them
	// requests are refused in words git shows.
	Limits Limits

	slots slots
}

// Processes returns how many git processes the handler's requests are
// running now.
func (h *Handler) Processes() int { return h.slots.running() }

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

// route is one line of git's route table: a request git makes and the
// repository action it needs, which the service's one authorization
// decision checks before any git process starts.
type route struct {
	method  string // GET (and HEAD) or POST
	op      string // Route.Op
	service gitrepo.Service
	action  authz.Action
}

// routes is the route table of git over HTTPS.
var routes = []route{
	{http.MethodGet, "info/refs", gitrepo.UploadPack, authz.Read},
	{http.MethodGet, "info/refs", gitrepo.ReceivePack, authz.Write},
	{http.MethodPost, "git-upload-pack", gitrepo.UploadPack, authz.Read},
	{http.MethodPost, "git-receive-pack", gitrepo.ReceivePack, authz.Write},
}

// lookup finds the route of a request: op from the path, service from the
// query of info/refs or the path of the RPCs.
func lookup(op string, svc gitrepo.Service) (route, bool) {
	for _, rt := range routes {
		if rt.op == op && rt.service == svc {
			return rt, true
		}
	}
	return route{}, false
}

func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	rt, ok := Match(r.URL.Path)
	if !ok {
		plain(w, http.StatusNotFound, "Not found.")
		return
	}
	var svc gitrepo.Service
	switch rt.Op {
	case "info/refs":
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			methodNotAllowed(w, "GET")
			return
		}
		switch r.URL.Query().Get("service") {
		case "git-upload-pack":
			svc = gitrepo.UploadPack
		case "git-receive-pack":
			svc = gitrepo.ReceivePack
		default:
			plain(w, http.StatusForbidden, "Only Git's smart HTTP protocol is supported; upgrade git.")
			return
		}
	case "git-upload-pack", "git-receive-pack":
		if r.Method != http.MethodPost {
			methodNotAllowed(w, "POST")
			return
		}
		svc = gitrepo.Service(strings.TrimPrefix(rt.Op, "git-"))
		if ct := r.Header.Get("Content-Type"); ct != "application/x-git-"+string(svc)+"-request" {
			plain(w, http.StatusUnsupportedMediaType, "Expected Content-Type application/x-git-"+string(svc)+"-request.")
			return
		}
	}
	entry, ok := lookup(rt.Op, svc)
	if !ok {
		plain(w, http.StatusNotFound, "Not found.")
		return
	}
	actor, ok := h.authenticate(w, r)
	if !ok {
		return
	}
	repo, _, err := h.Service.Repo(r.Context(), actor, rt.Owner, rt.Name, entry.action)
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
	if svc == gitrepo.UploadPack {
		protocol = gitProtocol(r.Header.Get("Git-Protocol"))
	}
	if entry.method == http.MethodGet {
		h.advertise(w, r, repo, svc, protocol)
		return
	}
	h.rpc(w, r, repo, actor, svc, protocol)
}

// authenticate turns the request's credentials into an actor through the
// service. It writes the refusal itself, in words git shows its user, and
// returns false when the request must stop here.
func (h *Handler) authenticate(w http.ResponseWriter, r *http.Request) (*gatehouse.Actor, bool) {
	cred, err := httpx.Credential(r, h.Network)
	if err != nil {
		challenge(w, "The Authorization header is malformed: "+err.Error())
		return nil, false
	}
	actor, err := h.Service.Authenticate(r.Context(), cred)
	switch {
	case err == nil:
		httpx.SetLogin(r.Context(), actor.Login())
		return actor, true
	case errors.Is(err, service.ErrPlainHTTP):
		plain(w, http.StatusForbidden, "Credentials sent over plain HTTP are refused: they would cross the network readable by anyone.\nUse the https:// URL of this server.")
	case errors.Is(err, service.ErrPasswordRefused):
		challenge(w, "Password authentication is not supported for Git operations.\nUse a personal access token as the password: Settings > Developer settings > Personal access tokens.")
	case errors.Is(err, service.ErrBadCredentials):
		challenge(w, "Invalid username or token: the personal access token is wrong, expired or revoked.\nCreate a new one under Settings > Developer settings > Personal access tokens.")
	case gatehouse.ErrorKind(err) == gatehouse.Forbidden:
		plain(w, http.StatusForbidden, gatehouse.ErrorMessage(err))
	case gatehouse.ErrorKind(err) == gatehouse.Unavailable:
		h.unavailable(w, r, err)
	default:
		h.internal(w, r, err)
	}
	return nil, false
}

func (h *Handler) refuse(w http.ResponseWriter, r *http.Request, err error) {
	switch gatehouse.ErrorKind(err) {
	case gatehouse.Unauthenticated:
		challenge(w, "Authentication required: use a personal access token as the password.")
	case gatehouse.NotFound:
		plain(w, http.StatusNotFound, "Repository not found.")
	case gatehouse.Forbidden:
		plain(w, http.StatusForbidden, gatehouse.ErrorMessage(err))
	case gatehouse.Unavailable:
		h.unavailable(w, r, err)
	default:
		h.internal(w, r, err)
	}
}

// unavailable answers 503 with the error's caller-safe message, which git
// prints as "remote: ..." for the ref advertisement.
func (h *Handler) unavailable(w http.ResponseWriter, r *http.Request, err error) {
	h.Log.Warn("git request refused: unavailable", "err", err, "request_id", httpx.RequestID(r.Context()))
	msg := gatehouse.ErrorMessage(err)
	if msg == "" {
		msg = "The server cannot serve this request right now; try again shortly."
	}
	w.Header().Set("Retry-After", strconv.Itoa(retryAfter))
	plain(w, http.StatusServiceUnavailable, msg)
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
	if r.Method == http.MethodHead {
		hd.Set("Content-Type", "application/x-git-"+string(service)+"-advertisement")
		noCache(hd)
		w.WriteHeader(http.StatusOK)
		return
	}
	if service == gitrepo.UploadPack {
		// Most advertisements need no process: see gitrepo.AdvertiseRefs.
		adv, err := h.Repos.AdvertiseRefs(r.Context(), repo.ID, protocol)
		if err == nil {
			hd.Set("Content-Type", "application/x-git-"+string(service)+"-advertisement")
			noCache(hd)
			if !strings.Contains(protocol, "version=2") {
				line := "# service=git-" + string(service) + "\n"
				fmt.Fprintf(w, "%04x%s0000", len(line)+4, line)
			}
			w.Write(adv)
			return
		}
		if !errors.Is(err, gitrepo.ErrNotServed) && r.Context().Err() == nil {
			h.Log.Warn("ref advertisement without git failed; running git", "repo", repo.FullName(), "err", err, "request_id", httpx.RequestID(r.Context()))
		}
	}
	release, busy := h.acquire(r)
	if busy != nil {
		// Before any of git's output, git prints a text/plain body of an
		// error status as "remote: …" lines.
		hd.Set("Retry-After", strconv.Itoa(retryAfter))
		plain(w, http.StatusServiceUnavailable, busy.message())
		return
	}
	defer release()
	ctx, stop := context.WithCancelCause(r.Context())
	defer stop(nil)
	hd.Set("Content-Type", "application/x-git-"+string(service)+"-advertisement")
	noCache(hd)
	out := &idleWriter{w: w, rc: http.NewResponseController(w), idle: h.idleTimeout(), stop: stop}
	if !strings.Contains(protocol, "version=2") {
		// v0/v1: the smart HTTP preamble precedes git's own output.
		line := "# service=git-" + string(service) + "\n"
		fmt.Fprintf(out, "%04x%s0000", len(line)+4, line)
	}
	err := h.Repos.Run(ctx, repo.ID, service, gitrepo.RunOptions{Advertise: true, Protocol: protocol, Stdout: out})
	switch {
	case err == nil:
	case out.stalled():
		h.Log.Info("ref advertisement stopped: the client stalled", "repo", repo.FullName(), "request_id", httpx.RequestID(r.Context()))
	default:
		h.Log.Warn("ref advertisement failed", "repo", repo.FullName(), "err", err, "request_id", httpx.RequestID(r.Context()))
	}
}

// acquire takes a process slot for the client of r, or says why not.
func (h *Handler) acquire(r *http.Request) (release func(), refused *busy) {
	client := clientKey(h.Network.ClientIP(r))
	release, refused = h.slots.acquire(client, h.Limits)
	if refused != nil {
		h.Log.Warn("git process limit reached", "client", client, "per_client", refused.perClient, "limit", refused.limit, "request_id", httpx.RequestID(r.Context()))
	}
	return release, refused
}

func (h *Handler) rpc(w http.ResponseWriter, r *http.Request, repo *gatehouse.Repo, actor *gatehouse.Actor, service gitrepo.Service, protocol string) {
	enc := strings.ToLower(r.Header.Get("Content-Encoding"))
	switch enc {
	case "", "identity", "gzip", "x-gzip":
	default:
		plain(w, http.StatusUnsupportedMediaType, "Unsupported Content-Encoding "+enc+".")
		return
	}
	// The git process stops when the request ends, and also as soon as
	// the client stalls (no byte for the idle timeout, either way) or its
	// body breaks: stop carries the reason.
	ctx, stop := context.WithCancelCause(r.Context())
	defer stop(nil)
	rc := http.NewResponseController(w)
	// git may start answering before it has read the whole request (progress
	// during a push); HTTP/1.1 needs full duplex enabled for that.
	_ = rc.EnableFullDuplex()
	idle := h.idleTimeout()
	in := &idleReader{r: r.Body, rc: rc, idle: idle, stop: stop}
	defer in.finish()
	size := 4 << 10
	if service == gitrepo.ReceivePack {
		size = 64 << 10 // room for the first pkt-line: see wantsSideband
	}
	br := bufio.NewReaderSize(in, size)
	// No git process for a client that has not started its request: one
	// that announces a body and sends nothing costs a goroutine and a
	// buffer until the idle timeout, not a process.
	if _, err := br.Peek(1); err != nil && err != io.EOF {
		h.bodyFailed(w, r, in, err)
		return
	}
	var body io.Reader = br
	if enc == "gzip" || enc == "x-gzip" {
		zr, err := gzip.NewReader(br)
		if err != nil {
			if err := in.failed(); err != nil && err != io.EOF {
				h.bodyFailed(w, r, in, err)
				return
			}
			plain(w, http.StatusBadRequest, "The request body is not valid gzip.")
			return
		}
		defer zr.Close()
		body = zr
	}
	var request []byte // the whole body, when it was small enough to read first
	// A v2 ls-refs, and a clone whose answer the pack cache kept, are
	// answered without a process; anything else goes to git with the
	// bytes read so far put back in front. A v0 body is read first only
	// when it says it is small, as git's clone requests do: git starts at
	// once for the others, as it always has.
	small := r.ContentLength >= 0 && r.ContentLength <= maxPeek
	if service == gitrepo.UploadPack && (protocol == "version=2" || small) {
		head, err := io.ReadAll(io.LimitReader(body, maxPeek+1))
		if err != nil {
			h.bodyFailed(w, r, in, err)
			return
		}
		if len(head) <= maxPeek {
			if protocol == "version=2" && h.lsRefs(w, r, repo, head) {
				return
			}
			served, done := h.keptAnswer(w, r, rc, stop, repo, protocol, head)
			if served {
				return
			}
			// Identical clones arriving now wait for this one's answer.
			defer done()
			request = head
		}
		body = io.MultiReader(bytes.NewReader(head), body)
	}
	release, busy := h.acquire(r)
	if busy != nil {
		h.refuseRPC(w, service, br, busy.message())
		return
	}
	defer release() // also if anything below panics; released earlier as a rule
	hd := w.Header()
	hd.Set("Content-Type", "application/x-git-"+string(service)+"-result")
	noCache(hd)
	out := &idleWriter{w: w, rc: rc, idle: idle, stop: stop}
	opts := gitrepo.RunOptions{Protocol: protocol, Stdin: body, Stdout: out, Request: request}
	if service == gitrepo.ReceivePack {
		// What push protection's pre-receive hook reports and records.
		p := pushprotect.Push{Repo: repo.FullName(), Pusher: actor.Login(), PusherID: actor.UserID(), IP: actor.ClientIP(), RequestID: httpx.RequestID(ctx)}
		opts.Env = p.Env()
	}
	var refsBefore string
	if service == gitrepo.ReceivePack {
		// receive-pack exits 0 when it refuses every update (unpack
		// failed, the hook said no): only a push that moved a ref is one.
		refsBefore, _ = h.Repos.Refs(ctx, repo.ID)
	}
	err := h.Repos.Run(ctx, repo.ID, service, opts)
	release() // git has exited: the bookkeeping below needs no slot
	var packBusy *gitrepo.BusyError
	if errors.As(err, &packBusy) {
		// Every pack generation slot stayed taken; nothing of git's
		// answer went out (gitrepo held it back), so the refusal can.
		h.Log.Warn("pack generation limit reached", "repo", repo.FullName(), "limit", packBusy.Generations, "request_id", httpx.RequestID(ctx))
		if !out.wrote {
			h.refuseRPC(w, service, br, packBusy.Message(retryAfter))
		}
		return
	}
	if err != nil {
		stalled := in.stalled() || out.stalled()
		switch {
		case stalled:
			h.Log.Info("git request stopped: the client stalled", "repo", repo.FullName(), "service", service, "idle_timeout", idle, "request_id", httpx.RequestID(ctx))
		case errors.Is(err, context.Canceled):
			h.Log.Info("git request cancelled by client", "repo", repo.FullName(), "service", service, "request_id", httpx.RequestID(ctx))
		default:
			h.Log.Warn("git service failed", "repo", repo.FullName(), "service", service, "err", err, "request_id", httpx.RequestID(ctx))
		}
		if !out.wrote {
			if stalled {
				plain(w, http.StatusRequestTimeout, "The request body stalled: nothing arrived for "+idle.String()+".")
			} else {
				plain(w, http.StatusInternalServerError, "git "+string(service)+" failed (request "+httpx.RequestID(ctx)+").")
			}
		}
		return
	}
	if service == gitrepo.ReceivePack {
		// Bookkeeping must not depend on the client staying connected.
		bctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
		defer cancel()
		if after, err := h.Repos.Refs(bctx, repo.ID); err == nil && after == refsBefore {
			return
		}
		h.afterPush(bctx, repo, actor)
	}
}

// keptAnswer answers an upload-pack request with the answer git gave to
// the same request in the same repository state, if the pack cache kept
// it (gitrepo.ServeAnswer), and reports whether it did. When it did not,
// done must be called once upload-pack has answered the request.
func (h *Handler) keptAnswer(w http.ResponseWriter, r *http.Request, rc *http.ResponseController, stop context.CancelCauseFunc, repo *gatehouse.Repo, protocol string, body []byte) (served bool, done func()) {
	f, done, err := h.Repos.KeptAnswer(r.Context(), repo.ID, protocol, body)
	if f == nil {
		return false, done
	}
	defer f.Close()
	hd := w.Header()
	hd.Set("Content-Type", "application/x-git-upload-pack-result")
	noCache(hd)
	// With its length known, net/http sends the file with sendfile(2)
	// on a plain TCP connection (idleWriter.ReadFrom).
	if fi, err := f.Stat(); err == nil {
		hd.Set("Content-Length", strconv.FormatInt(fi.Size(), 10))
	}
	out := &idleWriter{w: w, rc: rc, idle: h.idleTimeout(), stop: stop}
	if _, err = out.ReadFrom(f); err != nil {
		h.Log.Info("kept answer not sent whole", "repo", repo.FullName(), "err", err, "request_id", httpx.RequestID(r.Context()))
	}
	return true, done
}

// maxPeek is how much of an upload-pack request is read before deciding
// whether git must run: ls-refs requests and clones are far smaller.
const maxPeek = 64 << 10

// lsRefs answers a whole v2 upload-pack request body if it is an ls-refs
// that gitrepo.LsRefs understands, and reports whether it did.
func (h *Handler) lsRefs(w http.ResponseWriter, r *http.Request, repo *gatehouse.Repo, body []byte) bool {
	if !bytes.HasPrefix(body, []byte("0014command=ls-refs\n")) && !bytes.HasPrefix(body, []byte("0013command=ls-refs")) {
		return false
	}
	out, err := h.Repos.LsRefs(r.Context(), repo.ID, body)
	if err != nil {
		if !errors.Is(err, gitrepo.ErrNotServed) && r.Context().Err() == nil {
			h.Log.Warn("ls-refs without git failed; running git", "repo", repo.FullName(), "err", err, "request_id", httpx.RequestID(r.Context()))
		}
		return false
	}
	hd := w.Header()
	hd.Set("Content-Type", "application/x-git-upload-pack-result")
	noCache(hd)
	w.Write(out)
	return true
}

// bodyFailed answers a request whose body stalled or broke before any git
// process started.
func (h *Handler) bodyFailed(w http.ResponseWriter, r *http.Request, in *idleReader, err error) {
	if in.stalled() {
		h.Log.Info("git request stopped: the client sent no body", "idle_timeout", in.idle, "request_id", httpx.RequestID(r.Context()))
		plain(w, http.StatusRequestTimeout, "The request body stalled: nothing arrived for "+in.idle.String()+".")
		return
	}
	h.Log.Info("git request body failed", "err", err, "request_id", httpx.RequestID(r.Context()))
	plain(w, http.StatusBadRequest, "The request body could not be read.")
}

// refuseRPC answers an upload-pack or receive-pack request that got no
// process slot (or, for a fetch, no pack generation slot), saying why.
// git does not show the body of an error status to an RPC (it prints
// only "RPC failed; HTTP 503"), so the answer is a 200 whose
// content git reports: an ERR pkt-line, which fetch prints as "fatal:
// remote error: …", or for a push that asked for the side-band a message
// on its error band, which push prints as "remote: …". Retry-After is
// there for other clients and for the logs.
func (h *Handler) refuseRPC(w http.ResponseWriter, service gitrepo.Service, br *bufio.Reader, why string) {
	hd := w.Header()
	hd.Set("Content-Type", "application/x-git-"+string(service)+"-result")
	hd.Set("Retry-After", strconv.Itoa(retryAfter))
	noCache(hd)
	msg := "ERR " + why + "\n"
	if service == gitrepo.ReceivePack && wantsSideband(br) {
		msg = "\x03" + why
	}
	w.WriteHeader(http.StatusOK)
	fmt.Fprintf(w, "%04x%s", len(msg)+4, msg)
}

func (h *Handler) afterPush(ctx context.Context, repo *gatehouse.Repo, actor *gatehouse.Actor) {
	h.Service.RecordPush(ctx, actor, repo)
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
