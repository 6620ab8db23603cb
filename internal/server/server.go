// Package server assembles Gatehouse's HTTP surface — git, API, web,
// health and metrics — behind one listener, and runs it with graceful
// shutdown; beside it, when configured, git over SSH (internal/sshd).
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
	"net/netip"
	"strings"
	"sync/atomic"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/gatehouse/gatehouse"
	"github.com/gatehouse/gatehouse/internal/api"
	"github.com/gatehouse/gatehouse/internal/githttp"
	"github.com/gatehouse/gatehouse/internal/gitrepo"
	"github.com/gatehouse/gatehouse/internal/httpx"
	"github.com/gatehouse/gatehouse/internal/service"
	"github.com/gatehouse/gatehouse/internal/sshd"
	"github.com/gatehouse/gatehouse/internal/web"
)

// Server is a configured Gatehouse HTTP server.
type Server struct {
	Service *service.Service
	handler http.Handler
	log     *slog.Logger
	metrics *metrics
	maint   *maintainer
	// remindEvery is how often the reminder job runs.
	remindEvery time.Duration
	// ssh serves git over SSH on sshLn, when configured.
	ssh   *sshd.Server
	sshLn net.Listener
}

// Options are what New needs beyond the service.
type Options struct {
	Repos *gitrepo.Dir
	// ExternalURL is the base URL users reach the server at, without a
	// trailing slash; API responses build absolute URLs from it.
	ExternalURL string
	Network     httpx.Network
	Log         *slog.Logger
	// RateLimit configures the API's request budgets (off when zero).
	RateLimit api.RateLimit
	// Version is Gatehouse's version, reported by the API's /meta.
	Version string
	// ReminderInterval is how often the token expiry reminder job runs
	// (5 minutes when zero).
	ReminderInterval time.Duration
	// GitLimits bounds the git processes running at once, in all and per
	// client address (githttp's defaults when zero).
	GitLimits githttp.Limits
	// Metrics says who may read /metrics: "loopback" (default), "open"
	// or "off".
	Metrics string
	// SSH, if set, serves git over SSH beside HTTP, for the life of Serve.
	SSH *SSHOptions
}

// SSHOptions configure the SSH server (internal/sshd).
type SSHOptions struct {
	Listener net.Listener
	HostKeys []ssh.Signer
	Limits   sshd.Limits
	// Addr is the host or host:port users reach SSH at (--ssh-external,
	// else the listener's), for clone URLs: sshd.CloneURL(Addr, "o/r").
	Addr string
}

// New wires the transports to the one service.
func New(svc *service.Service, opts Options) *Server {
	log := opts.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	s := &Server{Service: svc, log: log, metrics: &metrics{}, remindEvery: cmp.Or(opts.ReminderInterval, 5*time.Minute)}
	s.maint = newMaintainer(opts.Repos, log)
	git := &githttp.Handler{Service: svc, Repos: opts.Repos, Network: opts.Network, Log: log, Limits: opts.GitLimits,
		OnPush: func(_ context.Context, repo *gatehouse.Repo, _ *gatehouse.Actor) {
			s.metrics.pushes.Add(1)
			s.maint.schedule(repo.ID)
		}}

	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		io.WriteString(w, "ok\n")
	})
	switch opts.Metrics {
	case "open":
		mux.Handle("GET /metrics", s.metrics)
	case "off":
	default:
		// The counters say how busy the server is and how many pushes it
		// takes: for whoever runs it, on its own machine, not for the
		// world. (A scraper elsewhere goes through a local agent or a
		// proxy that the operator controls.)
		mux.Handle("GET /metrics", loopbackOnly(opts.Network, s.metrics))
	}
	mux.Handle("/api/", api.New(api.Config{Service: svc, Repos: opts.Repos,
		ExternalURL: opts.ExternalURL, Network: opts.Network, RateLimit: opts.RateLimit, Version: opts.Version, Log: log}))
	// The web UI takes every path that is not git's.
	webCfg := web.Config{Service: svc, Repos: opts.Repos, ExternalURL: opts.ExternalURL, Network: opts.Network, Log: log}
	if opts.SSH != nil {
		sshAddr := opts.SSH.Addr
		webCfg.SSHCloneURL = func(fullName string) string { return sshd.CloneURL(sshAddr, fullName) }
	}
	ui := web.New(webCfg)
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		if _, ok := githttp.Match(r.URL.Path); ok {
			s.metrics.gitRequests.Add(1)
			git.ServeHTTP(w, r)
			return
		}
		ui.ServeHTTP(w, r)
	})
	s.handler = httpx.Logging(log, s.metrics.wrap(hsts(opts.ExternalURL, mux)))
	if opts.SSH != nil {
		var err error
		s.ssh, err = sshd.New(sshd.Config{Service: svc, Repos: opts.Repos, HostKeys: opts.SSH.HostKeys, Log: log, Limits: opts.SSH.Limits,
			OnPush: func(_ context.Context, repo *gatehouse.Repo, _ *gatehouse.Actor) {
				s.metrics.pushes.Add(1)
				s.maint.schedule(repo.ID)
			}})
		if err != nil {
			panic(err) // serve builds the options; a missing one is a bug
		}
		s.sshLn = opts.SSH.Listener
	}
	return s
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
	go func() { s.Service.Run(bg); close(done) }()
	maintDone := make(chan struct{})
	go func() { s.maint.run(bg); close(maintDone) }()
	remindDone := make(chan struct{})
	go func() { s.Service.RemindLoop(bg, s.remindEvery); close(remindDone) }()

	errc := make(chan error, 2)
	go func() { errc <- srv.Serve(ln) }()
	if s.ssh != nil {
		go func() { errc <- s.ssh.Serve(s.sshLn) }()
	}
	var err error
	select {
	case err = <-errc:
	case <-ctx.Done():
	}
	// Either listener failing, or ctx ending, stops both.
	sctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	sshDone := make(chan struct{})
	go func() {
		defer close(sshDone)
		if s.ssh != nil {
			s.ssh.Shutdown(sctx)
		}
	}()
	if serr := srv.Shutdown(sctx); err == nil {
		err = serr
	}
	<-sshDone
	cancel()
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

// hsts tells browsers to use HTTPS only, for a year, on every answer the
// server gives over TLS or behind an https:// external URL: a token typed
// into a page must never travel in clear because a link said http://.
func hsts(externalURL string, next http.Handler) http.Handler {
	behindTLS := strings.HasPrefix(strings.ToLower(externalURL), "https://")
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.TLS != nil || behindTLS {
			w.Header().Set("Strict-Transport-Security", "max-age=31536000")
		}
		next.ServeHTTP(w, r)
	})
}

// loopbackOnly serves next to clients on the server's own machine only
// (a trusted proxy's forwarded address counts), and answers 404 to
// everyone else.
func loopbackOnly(n httpx.Network, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if a, err := netip.ParseAddr(n.ClientIP(r)); err != nil || !a.IsLoopback() {
			http.NotFound(w, r)
			return
		}
		next.ServeHTTP(w, r)
	})
}
