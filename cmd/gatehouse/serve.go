package main

import (
	"context"
	"crypto/tls"
	"flag"
	"fmt"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/gatehouse/gatehouse/internal/api"
	"github.com/gatehouse/gatehouse/internal/githttp"
	"github.com/gatehouse/gatehouse/internal/server"
	"github.com/gatehouse/gatehouse/internal/service"
	"github.com/gatehouse/gatehouse/internal/tlsutil"
)

func (e *env) serve(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	e.common(fs)
	cfg, err := loadServeConfig(fs, args, os.Getenv)
	if err != nil {
		return err
	}
	log := cfg.logger(e.stderr)

	ln, err := net.Listen("tcp", cfg.Listen)
	if err != nil {
		return fmt.Errorf("listen on %s: %w (choose another address with --listen)", cfg.Listen, err)
	}
	defer ln.Close()
	addr := ln.Addr().(*net.TCPAddr)

	var tlsConfig *tls.Config
	scheme := "http"
	switch {
	case cfg.TLSCert != "":
		if tlsConfig, err = tlsutil.Config(cfg.TLSCert, cfg.TLSKey); err != nil {
			return err
		}
		scheme = "https"
	case cfg.TLSSelfSigned:
		var hosts []string
		if cfg.ExternalURL != "" {
			if u, err := url.Parse(cfg.ExternalURL); err == nil && u.Hostname() != "" {
				hosts = append(hosts, u.Hostname())
			}
		}
		if h := addr.IP; h != nil && !h.IsUnspecified() {
			hosts = append(hosts, h.String())
		}
		ss, err := tlsutil.EnsureSelfSigned(filepath.Join(e.data, "tls"), hosts, time.Now())
		if err != nil {
			return err
		}
		if tlsConfig, err = tlsutil.Config(ss.CertFile, ss.KeyFile); err != nil {
			return err
		}
		scheme = "https"
		ca, _ := filepath.Abs(ss.CAFile)
		fmt.Fprintf(e.stderr, "Serving HTTPS with a certificate from the local CA in %s.\n", filepath.Dir(ca))
		fmt.Fprintf(e.stderr, "To trust it, for git:   export GIT_SSL_CAINFO=%s   (or: git config --global http.%s://%s/.sslCAInfo %s)\n", ca, scheme, hostPort(addr), ca)
		fmt.Fprintf(e.stderr, "            for gh, Go: export SSL_CERT_FILE=%s;  for Node: export NODE_EXTRA_CA_CERTS=%s\n", ca, ca)
	}
	base := cfg.ExternalURL
	if base == "" {
		base = scheme + "://" + hostPort(addr)
	}
	base = strings.TrimRight(base, "/")
	mailer, err := cfg.Mail.mailer(e.data, base, log)
	if err != nil {
		return err
	}

	repos := e.repoDir()
	if err := e.protectPushes(repos, base, cfg.Mail.flags()); err != nil {
		return err
	}

	st, err := e.openStore(ctx)
	if err != nil {
		return err
	}
	defer st.Close()
	// The service gets the repositories with the push hooks set up.
	scfg := e.serviceConfig(st, mailer)
	scfg.Repos, scfg.ExternalURL, scfg.PrivateMode, scfg.Log = repos, base, cfg.PrivateMode, log
	svc, err := service.New(scfg)
	if err != nil {
		return err
	}
	srv := server.New(svc, server.Options{
		Repos:       repos,
		ExternalURL: base,
		Network:     cfg.network,
		Log:         log,
		RateLimit:   api.RateLimit{PerHour: cfg.RateLimit, AnonymousPerHour: cfg.RateLimitAnonymous},
		Version:     versionString(),
		// ReminderInterval is for tests; the default suits production.
		ReminderInterval: cfg.ReminderInterval,
		GitLimits:        githttp.Limits{Processes: cfg.GitMaxProcesses, PerClient: cfg.GitMaxProcessesPerClient},
	})
	code, err := srv.Service.PrepareSetup(ctx)
	if err != nil {
		return fmt.Errorf("prepare first-run setup: %w", err)
	}
	if code != "" {
		fmt.Fprintf(e.stderr, "No users yet. To create the first site admin, open this one-time link:\n\n    %s/setup?code=%s\n\n", base, code)
	}
	// Printed last: scripts may wait for this line.
	fmt.Fprintf(e.stderr, "Gatehouse %s listening on %s (data in %s)\n", versionString(), base, e.data)
	return srv.Serve(ctx, ln, tlsConfig)
}

// hostPort names the listener the way a client should dial it: a wildcard
// address becomes localhost.
func hostPort(a *net.TCPAddr) string {
	host := "localhost"
	if a.IP != nil && !a.IP.IsUnspecified() {
		host = a.IP.String()
		if a.IP.IsLoopback() && a.IP.To4() != nil {
			host = "127.0.0.1"
		}
	}
	return net.JoinHostPort(host, fmt.Sprint(a.Port))
}
