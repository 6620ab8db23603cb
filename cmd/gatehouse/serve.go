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

	"golang.org/x/crypto/ssh"

	"github.com/gatehouse/gatehouse"
	"github.com/gatehouse/gatehouse/internal/api"
	"github.com/gatehouse/gatehouse/internal/githttp"
	"github.com/gatehouse/gatehouse/internal/metrics"
	"github.com/gatehouse/gatehouse/internal/server"
	"github.com/gatehouse/gatehouse/internal/service"
	"github.com/gatehouse/gatehouse/internal/sshd"
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
	var caFile string // the local CA's absolute path, with --tls-self-signed
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
		caFile = ca
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
	repos.MaxPushBytes = int64(cfg.MaxPushMiB) << 20
	if cfg.MaxPushMiB == 0 {
		repos.MaxPushBytes = -1 // no limit
	}
	if repos.PackCache, err = cfg.packCache(e.data, log); err != nil {
		return err
	}
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
	// One registry for everything /metrics shows (docs/metrics.md).
	reg := metrics.NewRegistry()
	scfg.Auth.Observer = metrics.NewTokens(reg)
	svc, err := service.New(scfg)
	if err != nil {
		return err
	}
	sshOpts, sshAddr, err := e.listenSSH(cfg)
	if err != nil {
		return err
	}
	if sshOpts != nil {
		defer sshOpts.Listener.Close()
	}
	var bases []string
	if cfg.ExternalURL == "" {
		// URLs follow the name a client connects with, among those
		// this server answers to.
		bases = server.Bases(scheme, addr, server.CertNames(tlsConfig))
	}
	srv := server.New(svc, server.Options{
		Repos:       repos,
		ExternalURL: base,
		Bases:       bases,
		Network:     cfg.network,
		Log:         log,
		RateLimit:   api.RateLimit{PerHour: cfg.RateLimit, AnonymousPerHour: cfg.RateLimitAnonymous},
		Version:     versionString(),
		// ReminderInterval is for tests; the default suits production.
		ReminderInterval: cfg.ReminderInterval,
		GitLimits:        githttp.Limits{Processes: cfg.GitMaxProcesses, PerClient: cfg.GitMaxProcessesPerClient},
		Metrics:          cfg.Metrics,
		Registry:         reg,
		SSH:              sshOpts,
	})
	code, err := srv.Service.PrepareSetup(ctx)
	if err != nil {
		return fmt.Errorf("prepare first-run setup: %w", err)
	}
	if code != "" {
		fmt.Fprintf(e.stderr, "No users yet. To create the first site admin, open this one-time link:\n\n    %s/setup?code=%s\n\n", base, code)
		fmt.Fprintf(e.stderr, "or run: %s\n\n", e.adminCommand("user create --username NAME --email E --admin"))
	} else if err := e.reportNoSiteAdmin(ctx, svc); err != nil {
		return err
	}
	if sshOpts != nil {
		fmt.Fprintf(e.stderr, "Git over SSH on %s, e.g. git clone %s (host keys %s)\n",
			sshAddr, sshd.CloneURL(sshAddr, "OWNER/REPO"), fingerprints(sshOpts.HostKeys))
	}
	e.printClientHints(base, caFile, cfg.ExternalURL == "")
	// Printed last: scripts may wait for this line. It names the address
	// listened on, which scripts can connect to whatever --external-url
	// says.
	listening := scheme + "://" + hostPort(addr)
	if base != listening {
		listening += ", reached at " + base
	}
	data := e.data
	if abs, err := filepath.Abs(data); err == nil {
		data = abs
	}
	fmt.Fprintf(e.stderr, "Gatehouse %s listening on %s (data in %s)\n", versionString(), listening, data)
	return srv.Serve(ctx, ln, tlsConfig)
}

// reportNoSiteAdmin says how to make a site admin when the instance has
// users but none who administers it (all made from the command line
// without --admin, say): nobody can open the administration pages, and
// the setup link is gone for good.
func (e *env) reportNoSiteAdmin(ctx context.Context, svc *service.Service) error {
	for page := 1; ; page++ {
		users, err := svc.ListUsers(ctx, gatehouse.SystemActor(), gatehouse.Page{Page: page, PerPage: 100})
		if err != nil {
			return fmt.Errorf("look for a site admin: %w", err)
		}
		for _, u := range users {
			if u.SiteAdmin && !u.Suspended {
				return nil
			}
		}
		if len(users) < 100 {
			break
		}
	}
	fmt.Fprintf(e.stderr, "No site admin: nobody can open the administration pages. Make one from the command line:\n\n    %s\n\nor promote an existing user:\n\n    %s\n\n",
		e.adminCommand("user create --username NAME --email E --admin"), e.adminCommand("user promote USER"))
	return nil
}

// adminCommand is the command line of "gatehouse admin " + args for this
// instance's data, to be run from any directory. A database URL is named,
// not shown: it may hold a password.
func (e *env) adminCommand(args string) string {
	cmd := "gatehouse admin " + args
	if data, err := filepath.Abs(e.data); err == nil {
		cmd += " --data " + shellQuote(data)
	}
	if e.database != "" {
		cmd += " --database URL"
	}
	return cmd
}

// shellQuote quotes s for a POSIX shell when it needs it.
func shellQuote(s string) string {
	if s != "" && strings.Trim(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_./:@%+=,") == "" {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
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

// listenSSH opens the SSH listener and loads (or first makes) the host
// keys in DATA/ssh when --ssh-listen is set. It returns the server's SSH
// options and the address clone URLs show: --ssh-external, else the
// listener's.
func (e *env) listenSSH(cfg *serveConfig) (*server.SSHOptions, string, error) {
	if cfg.SSHListen == "" {
		return nil, "", nil
	}
	keys, err := sshd.HostKeys(filepath.Join(e.data, "ssh"))
	if err != nil {
		return nil, "", fmt.Errorf("SSH host keys: %w", err)
	}
	ln, err := net.Listen("tcp", cfg.SSHListen)
	if err != nil {
		return nil, "", fmt.Errorf("listen on %s: %w (choose another address with --ssh-listen)", cfg.SSHListen, err)
	}
	addr := cfg.SSHExternal
	if addr == "" {
		addr = hostPort(ln.Addr().(*net.TCPAddr))
	}
	return &server.SSHOptions{Listener: ln, HostKeys: keys, Addr: addr,
		// The same bounds as git over HTTPS, counted apart.
		Limits: sshd.Limits{Processes: cfg.GitMaxProcesses, ProcessesPerClient: cfg.GitMaxProcessesPerClient},
	}, addr, nil
}

// fingerprints lists host keys as ssh-keygen -l names them.
func fingerprints(keys []ssh.Signer) string {
	var parts []string
	for _, k := range keys {
		parts = append(parts, ssh.FingerprintSHA256(k.PublicKey()))
	}
	return strings.Join(parts, ", ")
}

// printClientHints prints lines to copy for trying the API with curl and
// with Python's standard library (trusting caFile, the local CA, when
// set), and, when noExternal, suggests --external-url.
func (e *env) printClientHints(base, caFile string, noExternal bool) {
	api := base + "/api/v3/user"
	curl, ctx := "curl", ""
	if caFile != "" {
		curl += " --cacert " + shellQuote(caFile)
		ctx = ", context=ssl.create_default_context(cafile=" + pyQuote(caFile) + ")"
	}
	py := "import json, os, ssl, urllib.request as u; " +
		"req = u.Request(" + pyQuote(api) + `, headers={"Authorization": "Bearer " + os.environ["TOKEN"]}); ` +
		`print(json.load(u.urlopen(req` + ctx + `))["login"])`
	fmt.Fprintf(e.stderr, "Try the API, after TOKEN=$(%s):\n", e.adminCommand("token create --user NAME --note NOTE --scopes repo,read:org"))
	fmt.Fprintf(e.stderr, "    curl:   %s -H \"Authorization: Bearer $TOKEN\" %s\n", curl, api)
	fmt.Fprintf(e.stderr, "    Python: TOKEN=$TOKEN python3 -c %s\n", shellQuote(py))
	if u, err := url.Parse(base); err == nil && u.Scheme == "https" {
		// gh wants a host name: the loopback address is localhost to it,
		// and the server's links follow.
		host := u.Host
		if ip := net.ParseIP(u.Hostname()); ip != nil && ip.IsLoopback() && u.Port() != "" {
			host = net.JoinHostPort("localhost", u.Port())
		}
		trust := ""
		if caFile != "" {
			trust = "   (after the SSL_CERT_FILE line above)"
		}
		fmt.Fprintf(e.stderr, "    gh:     echo \"$TOKEN\" | GH_HOST=%s gh auth login --with-token%s\n", host, trust)
	}
	if noExternal {
		fmt.Fprintf(e.stderr, "No --external-url: links in answers name the host a client connects with, if this server answers to it, else %s.\n", base)
		fmt.Fprintf(e.stderr, "    Set --external-url (GATEHOUSE_EXTERNAL_URL) to the URL users reach it at, e.g. behind a proxy or another name.\n")
	}
}

// pyQuote is s as a Python string literal (in double quotes, so that the
// program fits in a single-quoted shell word).
func pyQuote(s string) string {
	return `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\n`).Replace(s) + `"`
}
