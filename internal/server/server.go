// Package server assembles Gatehouse's HTTP surface — git, API, web,
// health and metrics — behind one listener, and runs it with graceful
// shutdown; beside it, when configured, git over SSH (internal/sshd).
package server

import (
	"cmp"
	"context"
	"crypto/tls"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"golang.org/x/crypto/ssh"

	"github.com/gatehouse/gatehouse"
	"github.com/gatehouse/gatehouse/internal/api"
	"github.com/gatehouse/gatehouse/internal/githttp"
	"github.com/gatehouse/gatehouse/internal/gitrepo"
	"github.com/gatehouse/gatehouse/internal/httpx"
	"github.com/gatehouse/gatehouse/internal/metrics"
	"github.com/gatehouse/gatehouse/internal/service"
	"github.com/gatehouse/gatehouse/internal/sshd"
	"github.com/gatehouse/gatehouse/internal/web"
)

// Server is a configured Gatehouse HTTP server.
type Server struct {
	Service *service.Service
	handler http.Handler
	log     *slog.Logger
	// reqMetrics and gitMetrics record what the server serves
	// (instrument.go).
	reqMetrics *metrics.HTTP
	gitMetrics *metrics.Git
	maint      *maintainer
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
	// Bases are the other base URLs the server answers at (see Bases),
	// for a server without a configured external URL: a request whose
	// Host header names one of them gets URLs built from it; any other
	// gets ExternalURL's (host.go).
	Bases   []string
	Network httpx.Network
	Log     *slog.Logger
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
	// Registry holds the metrics /metrics serves; New registers the
	// server's own with it, so each server needs one of its own
	// (metrics.NewRegistry when nil). Serve passes the one the service's
	// token metrics are registered with.
	Registry *prometheus.Registry
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
	reg := opts.Registry
	if reg == nil {
		reg = metrics.NewRegistry()
	}
	s := &Server{Service: svc, log: log, reqMetrics: metrics.NewHTTP(reg), gitMetrics: metrics.NewGit(reg),
		remindEvery: cmp.Or(opts.ReminderInterval, 5*time.Minute)}
	metrics.BuildInfo(reg, opts.Version)
	s.maint = newMaintainer(opts.Repos, log)
	git := &githttp.Handler{Service: svc, Repos: opts.Repos, Network: opts.Network, Log: log, Limits: opts.GitLimits,
		OnPush: func(_ context.Context, repo *gatehouse.Repo, _ *gatehouse.Actor) {
			s.gitMetrics.Pushed(metrics.TransportHTTP)
			s.maint.schedule(repo.ID)
		}}
	gitLimit := opts.GitLimits.Processes
	if gitLimit <= 0 {
		gitLimit = githttp.DefaultMaxProcesses
	}
	s.gitMetrics.Processes(metrics.TransportHTTP, gitLimit, git.Processes)
	if opts.Repos != nil && opts.Repos.PackCache != nil {
		// Its hits, misses, size and pack generations (docs/metrics.md).
		reg.MustRegister(opts.Repos.PackCache.Collectors()...)
	}

	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		io.WriteString(w, "ok\n")
	})
	scrape := metrics.Handler(reg, log)
	switch opts.Metrics {
	case "open":
		mux.Handle("GET /metrics", scrape)
	case "off":
	default:
		// The counters say how busy the server is and how many pushes it
		// takes: for whoever runs it, on its own machine, not for the
		// world. (A scraper elsewhere goes through a local agent or a
		// proxy that the operator controls.)
		mux.Handle("GET /metrics", loopbackOnly(opts.Network, scrape))
	}
	mux.Handle("/api/", apiPerHost(api.Config{Service: svc, Repos: opts.Repos,
		ExternalURL: opts.ExternalURL, Network: opts.Network, RateLimit: opts.RateLimit, Version: opts.Version, Log: log}, opts.Bases))
	// The web UI takes every path that is not git's.
	webCfg := web.Config{Service: svc, Repos: opts.Repos, ExternalURL: opts.ExternalURL, Network: opts.Network, Log: log}
	if opts.SSH != nil {
		sshAddr := opts.SSH.Addr
		webCfg.SSHCloneURL = func(fullName string) string { return sshd.CloneURL(sshAddr, fullName) }
	}
	ui := webPerHost(webCfg, opts.Bases)
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		if _, ok := githttp.Match(r.URL.Path); ok {
			git.ServeHTTP(w, r)
			return
		}
		ui.ServeHTTP(w, r)
	})
	s.handler = httpx.Logging(log, instrument(s.reqMetrics, s.gitMetrics, hsts(opts.ExternalURL, mux)))
	if opts.SSH != nil {
		var err error
		s.ssh, err = sshd.New(sshd.Config{Service: svc, Repos: opts.Repos, HostKeys: opts.SSH.HostKeys, Log: log, Limits: opts.SSH.Limits,
			OnPush: func(_ context.Context, repo *gatehouse.Repo, _ *gatehouse.Actor) {
				s.gitMetrics.Pushed(metrics.TransportSSH)
				s.maint.schedule(repo.ID)
			},
			OnCommand: func(c sshd.CommandResult) {
				s.gitMetrics.SSHCommand(metrics.GitService(c.Service), c.Outcome, c.Sent, c.Received)
			}})
		if err != nil {
			panic(err) // serve builds the options; a missing one is a bug
		}
		s.gitMetrics.SSHConnections(s.ssh.Open)
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
