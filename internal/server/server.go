// Package server assembles Gatehouse's HTTP surface — git, API, web,
// health and metrics — behind one listener, and runs it with graceful
// shutdown.
package server

import (
	"cmp"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync/atomic"
	"time"

	"github.com/gatehouse/gatehouse"
	"github.com/gatehouse/gatehouse/internal/api"
	"github.com/gatehouse/gatehouse/internal/auth"
	"github.com/gatehouse/gatehouse/internal/authz"
	"github.com/gatehouse/gatehouse/internal/githttp"
	"github.com/gatehouse/gatehouse/internal/gitrepo"
	"github.com/gatehouse/gatehouse/internal/httpx"
	"github.com/gatehouse/gatehouse/internal/notify"
	"github.com/gatehouse/gatehouse/internal/service"
	"github.com/gatehouse/gatehouse/internal/web"
)

// Server is a configured Gatehouse HTTP server.
type Server struct {
	Auth    *auth.Authenticator
	Service *service.Service
	handler http.Handler
	log     *slog.Logger
	metrics *metrics
	maint   *maintainer
	remind  *notify.Reminders
	// remindEvery is how often the reminder job runs.
	remindEvery time.Duration
}

// Options are what New needs beyond the store.
type Options struct {
	Repos *gitrepo.Dir
	// ExternalURL is the base URL users reach the server at, without a
	// trailing slash; API responses build absolute URLs from it.
	ExternalURL string
	Network     httpx.Network
	PrivateMode bool
	TokenPrefix string
	AuthConfig  auth.Config
	Log         *slog.Logger
	// RateLimit configures the API's request budgets (off when zero).
	RateLimit api.RateLimit
	// Version is Gatehouse's version, reported by the API's /meta.
	Version string
	// Mailer sends e-mail to users (token expiry reminders and other
	// notices); nil sends none.
	Mailer gatehouse.Mailer
	// ReminderInterval is how often the token expiry reminder job runs
	// (5 minutes when zero).
	ReminderInterval time.Duration
}

// New wires the handlers together.
func New(store gatehouse.Store, opts Options) *Server {
	log := opts.Log
	if log == nil {
		log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	svc := &service.Service{Store: store, Repos: opts.Repos, Prefix: opts.TokenPrefix, Log: log}
	// The SQL stores keep the audit log beside everything else.
	if audit, ok := store.(gatehouse.AuditStore); ok {
		svc.Audit = audit
	}
	acfg := opts.AuthConfig
	acfg.OnFailure = func(ctx context.Context, f auth.Failure) { svc.RecordAuthFailure(ctx, authFailure(f)) }
	a := auth.New(store, acfg, log)
	svc.Cache = a
	az := &authz.Authorizer{Store: store, PrivateMode: opts.PrivateMode}
	s := &Server{Auth: a, Service: svc, log: log, metrics: &metrics{}}
	_ = opts.ExternalURL // used by the API and web handlers
	s.maint = newMaintainer(opts.Repos, log)
	if rs, ok := store.(gatehouse.ReminderStore); ok && opts.Mailer != nil {
		s.remind = &notify.Reminders{Store: store, Reminders: rs, Mailer: opts.Mailer, Audit: svc.Audit, ExternalURL: opts.ExternalURL, Log: log}
		s.remindEvery = cmp.Or(opts.ReminderInterval, 5*time.Minute)
	}
	git := &githttp.Handler{Auth: a, Authz: az, Repos: opts.Repos, Store: store, Network: opts.Network, Log: log,
		OnPush: func(_ context.Context, repo *gatehouse.Repo, _ *gatehouse.Actor) {
			s.metrics.pushes.Add(1)
			s.maint.schedule(repo.ID)
		}}

	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		io.WriteString(w, "ok\n")
	})
	mux.Handle("GET /metrics", s.metrics)
	keys, _ := store.(gatehouse.KeyStore)
	mux.Handle("/api/", api.New(api.Config{Store: store, Keys: keys, Auth: a, Authz: az, Service: svc, Repos: opts.Repos,
		ExternalURL: opts.ExternalURL, Network: opts.Network, RateLimit: opts.RateLimit, Version: opts.Version, Log: log}))
	// The web UI takes every path that is not git's; it needs a store that
	// keeps sessions (the SQL stores do).
	var ui http.Handler = http.NotFoundHandler()
	if sessions, ok := store.(gatehouse.SessionStore); ok {
		ui = web.New(web.Config{Store: store, Sessions: sessions, Service: svc, Authz: az, Throttle: a, Repos: opts.Repos,
			ExternalURL: opts.ExternalURL, Network: opts.Network, Log: log})
	}
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		if _, ok := githttp.Match(r.URL.Path); ok {
			s.metrics.gitRequests.Add(1)
			git.ServeHTTP(w, r)
			return
		}
		ui.ServeHTTP(w, r)
	})
	s.handler = httpx.Logging(log, s.metrics.wrap(mux))
	return s
}

// authFailure describes a refused token for the audit log: the token,
// when it exists, by id and note only.
func authFailure(f auth.Failure) service.AuthFailure {
	af := service.AuthFailure{IP: f.IP, Reason: service.ReasonUnknownToken}
	switch {
	case f.Malformed:
		af.Reason = service.ReasonMalformed
	case f.Token != nil:
		af.Reason = service.ReasonExpiredToken
		af.UserID, af.TokenID, af.Note = f.Token.UserID, f.Token.ID, f.Token.Note
	}
	return af
}

// Handler returns the root handler.
func (s *Server) Handler() http.Handler { return s.handler }

// Serve runs the server on ln (with TLS when tlsConfig is set) until ctx
// ends, then shuts down gracefully: new connections stop at once, running
// requests get up to 30 seconds, and pending "last used" records are saved.
func (s *Server) Serve(ctx context.Context, ln net.Listener, tlsConfig *tls.Config) error {
	srv := &http.Server{
		Handler:           s.handler,
		ReadHeaderTimeout: 20 * time.Second,
		IdleTimeout:       120 * time.Second,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(s.log.Handler(), slog.LevelDebug),
		BaseContext:       func(net.Listener) context.Context { return context.WithoutCancel(ctx) },
	}
	if tlsConfig != nil {
		srv.TLSConfig = tlsConfig
		ln = tls.NewListener(ln, tlsConfig)
	}
	bg, stopBG := context.WithCancel(context.WithoutCancel(ctx))
	done := make(chan struct{})
	go func() { s.Auth.Run(bg); close(done) }()
	maintDone := make(chan struct{})
	go func() { s.maint.run(bg); close(maintDone) }()
	remindDone := make(chan struct{})
	go func() {
		if s.remind != nil {
			s.remind.Loop(bg, s.remindEvery)
		}
		close(remindDone)
	}()

	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	var err error
	select {
	case err = <-errc:
	case <-ctx.Done():
		sctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		err = srv.Shutdown(sctx)
		cancel()
	}
	stopBG()
	<-done
	<-maintDone
	<-remindDone
	if errors.Is(err, http.ErrServerClosed) {
		err = nil
	}
	return err
}

// metrics are a handful of counters in Prometheus' text format.
type metrics struct {
	requests    [6]atomic.Int64 // by status class 1xx..5xx; [0] unused
	gitRequests atomic.Int64
	pushes      atomic.Int64
}

type statusWriter struct {
	http.ResponseWriter
	code int
}

func (w *statusWriter) WriteHeader(code int) {
	if w.code == 0 {
		w.code = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(p []byte) (int, error) {
	if w.code == 0 {
		w.code = http.StatusOK
	}
	return w.ResponseWriter.Write(p)
}

func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

func (m *metrics) wrap(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		sw := &statusWriter{ResponseWriter: w}
		next.ServeHTTP(sw, r)
		c := sw.code / 100
		if c < 1 || c > 5 {
			c = 2
		}
		m.requests[c].Add(1)
	})
}

func (m *metrics) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
	var b strings.Builder
	b.WriteString("# HELP gatehouse_http_requests_total HTTP requests served, by status class.\n# TYPE gatehouse_http_requests_total counter\n")
	for c := 1; c <= 5; c++ {
		fmt.Fprintf(&b, "gatehouse_http_requests_total{code=\"%dxx\"} %d\n", c, m.requests[c].Load())
	}
	fmt.Fprintf(&b, "# HELP gatehouse_git_requests_total Git smart HTTP requests.\n# TYPE gatehouse_git_requests_total counter\ngatehouse_git_requests_total %d\n", m.gitRequests.Load())
	fmt.Fprintf(&b, "# HELP gatehouse_git_pushes_total Successful pushes.\n# TYPE gatehouse_git_pushes_total counter\ngatehouse_git_pushes_total %d\n", m.pushes.Load())
	io.WriteString(w, b.String())
}
