package main

import (
	"context"
	"crypto/tls"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/gatehouse/gatehouse/internal/api"
	"github.com/gatehouse/gatehouse/internal/httpx"
	"github.com/gatehouse/gatehouse/internal/server"
	"github.com/gatehouse/gatehouse/internal/tlsutil"
)

// listFlag collects a repeatable flag.
type listFlag []string

func (l *listFlag) String() string     { return strings.Join(*l, ",") }
func (l *listFlag) Set(v string) error { *l = append(*l, v); return nil }

func (e *env) serve(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	e.common(fs)
	listen := fs.String("listen", envOr("GATEHOUSE_LISTEN", "127.0.0.1:3000"), "address to listen on (port 0 picks a free one)")
	external := fs.String("external-url", envOr("GATEHOUSE_EXTERNAL_URL", ""), "URL users reach the server at (default from --listen)")
	certFile := fs.String("tls-cert", "", "TLS certificate (PEM)")
	keyFile := fs.String("tls-key", "", "TLS private key (PEM)")
	selfSigned := fs.Bool("tls-self-signed", false, "serve HTTPS with a certificate from a local CA kept in the data dir")
	logFormat := fs.String("log-format", envOr("GATEHOUSE_LOG_FORMAT", "text"), "text or json")
	logLevel := fs.String("log-level", envOr("GATEHOUSE_LOG_LEVEL", "info"), "debug, info, warn or error")
	rateLimit := fs.Int("rate-limit", envInt("GATEHOUSE_RATE_LIMIT", 0), "API calls per hour per user (0: no rate limiting, the default)")
	rateLimitAnon := fs.Int("rate-limit-anonymous", envInt("GATEHOUSE_RATE_LIMIT_ANONYMOUS", 60), "API calls per hour per client address without credentials, when --rate-limit is set")
	var proxies listFlag
	fs.Var(&proxies, "trusted-proxy", "CIDR of a reverse proxy whose X-Forwarded-For/-Proto are believed (repeatable)")
	mailOpts := addMailFlags(fs)
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return usagef("serve takes no arguments")
	}
	if *rateLimit < 0 || *rateLimitAnon < 0 {
		return usagef("--rate-limit and --rate-limit-anonymous must not be negative")
	}
	if (*certFile == "") != (*keyFile == "") {
		return usagef("--tls-cert and --tls-key go together")
	}
	if *selfSigned && *certFile != "" {
		return usagef("use either --tls-cert/--tls-key or --tls-self-signed")
	}
	var network httpx.Network
	for _, p := range proxies {
		pfx, err := netip.ParsePrefix(p)
		if err != nil {
			if a, aerr := netip.ParseAddr(p); aerr == nil {
				pfx = netip.PrefixFrom(a, a.BitLen())
			} else {
				return usagef("--trusted-proxy %q is not a CIDR or address", p)
			}
		}
		network.TrustedProxies = append(network.TrustedProxies, pfx)
	}
	var level slog.Level
	if err := level.UnmarshalText([]byte(*logLevel)); err != nil {
		return usagef("--log-level %q: use debug, info, warn or error", *logLevel)
	}
	hopts := &slog.HandlerOptions{Level: level}
	var log *slog.Logger
	switch *logFormat {
	case "text":
		log = slog.New(slog.NewTextHandler(e.stderr, hopts))
	case "json":
		log = slog.New(slog.NewJSONHandler(e.stderr, hopts))
	default:
		return usagef("--log-format %q: use text or json", *logFormat)
	}

	ln, err := net.Listen("tcp", *listen)
	if err != nil {
		return fmt.Errorf("listen on %s: %w (choose another address with --listen)", *listen, err)
	}
	defer ln.Close()
	addr := ln.Addr().(*net.TCPAddr)

	var tlsConfig *tls.Config
	scheme := "http"
	switch {
	case *certFile != "":
		if tlsConfig, err = tlsutil.Config(*certFile, *keyFile); err != nil {
			return err
		}
		scheme = "https"
	case *selfSigned:
		var hosts []string
		if *external != "" {
			if u, err := url.Parse(*external); err == nil && u.Hostname() != "" {
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
	base := *external
	if base == "" {
		base = scheme + "://" + hostPort(addr)
	}
	base = strings.TrimRight(base, "/")
	mailer, err := mailOpts.mailer(e.data, base, log)
	if err != nil {
		return err
	}
	remindEvery, err := reminderInterval()
	if err != nil {
		return err
	}

	repos := e.repoDir()
	if err := e.protectPushes(repos, base, mailOpts); err != nil {
		return err
	}

	st, err := e.openStore(ctx)
	if err != nil {
		return err
	}
	defer st.Close()
	srv := server.New(st, server.Options{
		Repos:       repos,
		ExternalURL: base,
		Network:     network,
		TokenPrefix: e.prefix,
		Log:         log,
		RateLimit:   api.RateLimit{PerHour: *rateLimit, AnonymousPerHour: *rateLimitAnon},
		Version:     versionString(),
		Mailer:      mailer,
		// ReminderInterval is for tests; the default suits production.
		ReminderInterval: remindEvery,
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

// envInt reads an integer environment variable, def when unset or invalid.
func envInt(k string, def int) int {
	if v, err := strconv.Atoi(os.Getenv(k)); err == nil {
		return v
	}
	return def
}
