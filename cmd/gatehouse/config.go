package main

import (
	"flag"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/gatehouse/gatehouse/internal/githttp"
	"github.com/gatehouse/gatehouse/internal/gitrepo"
	"github.com/gatehouse/gatehouse/internal/httpx"
)

// serveConfig is every setting of serve. Each comes from its flag, else
// from its environment variable, else from the default in
// newServeConfig; validate checks them all once, at start-up. The common
// flags (--data, --database, --token-prefix) live in env.
type serveConfig struct {
	// Listen is the address to listen on (port 0 picks a free one).
	Listen string
	// ExternalURL is the URL users reach the server at; empty derives it
	// from the listener.
	ExternalURL string
	// TLSCert and TLSKey are PEM files to serve HTTPS with; both or
	// neither.
	TLSCert, TLSKey string
	// TLSSelfSigned serves HTTPS with a certificate from a local CA kept
	// in the data dir; not with TLSCert.
	TLSSelfSigned bool
	// LogFormat is "text" or "json".
	LogFormat string
	// LogLevel is "debug", "info", "warn" or "error".
	LogLevel string
	// RateLimit is API calls per hour per user; 0 turns rate limiting off.
	RateLimit int
	// RateLimitAnonymous is API calls per hour per client address without
	// credentials, when RateLimit is set.
	RateLimitAnonymous int
	// TrustedProxies are CIDRs or addresses of reverse proxies whose
	// X-Forwarded-For and X-Forwarded-Proto are believed.
	TrustedProxies listFlag
	// PrivateMode makes anonymous callers sign in for everything.
	PrivateMode bool
	// GitMaxProcesses is the most git processes running at once for the
	// whole server; GitMaxProcessesPerClient for one client address (IPv6
	// by /64). Beyond them git requests are refused with a message.
	GitMaxProcesses, GitMaxProcessesPerClient int
	// MaxPushMiB refuses a push whose pack is larger; 0: no limit.
	MaxPushMiB int
	// PackCacheMiB bounds the pack cache (DATA/cache/packs, see
	// docs/pack-cache.md); 0 keeps no cache. PackCacheMaxAge bounds an
	// entry's age.
	PackCacheMiB    int
	PackCacheMaxAge time.Duration
	// PackCacheDir is where the pack cache's entries are; empty:
	// DATA/cache/packs. Nodes sharing a data directory on shared storage
	// should each set a directory on local disk.
	PackCacheDir string
	// MaxPackGenerations is the most packs generated at once (cache hits
	// do not count; 0: no limit); beyond it a fetch waits up to
	// PackGenerationWait, then is refused with a message.
	MaxPackGenerations int
	PackGenerationWait time.Duration
	// Metrics says who may read /metrics: "loopback" (the default:
	// clients on the server's own machine), "open" (anyone) or "off".
	Metrics string
	// SSHListen is the address of the SSH server for git; empty: none.
	SSHListen string
	// SSHExternal is the host, or host:port, that SSH clone URLs show;
	// empty derives it from SSHListen.
	SSHExternal string
	// Mail is the e-mail settings.
	Mail mailConfig
	// ReminderInterval is how often the token expiry reminder job runs;
	// only tests change it, through the environment.
	ReminderInterval time.Duration

	// fromEnv names the environment variable that set a flag's value,
	// by flag name, so that messages point at the right place.
	fromEnv map[string]string
	// Filled in by validate.
	level   slog.Level
	network httpx.Network
}

// Environment variables of serve's settings.
const (
	reminderIntervalEnv = "GATEHOUSE_REMINDER_INTERVAL"
	trustedProxyEnv     = "GATEHOUSE_TRUSTED_PROXY"
)

// serveEnv pairs serve's flags with the variables that stand in for them.
// The TLS flags have none.
func serveEnv() [][2]string {
	return append(mailEnv(), [][2]string{
		{"listen", "GATEHOUSE_LISTEN"},
		{"external-url", "GATEHOUSE_EXTERNAL_URL"},
		{"log-format", "GATEHOUSE_LOG_FORMAT"},
		{"log-level", "GATEHOUSE_LOG_LEVEL"},
		{"rate-limit", "GATEHOUSE_RATE_LIMIT"},
		{"rate-limit-anonymous", "GATEHOUSE_RATE_LIMIT_ANONYMOUS"},
		{"trusted-proxy", trustedProxyEnv},
		{"private-mode", "GATEHOUSE_PRIVATE_MODE"},
		{"git-max-processes", "GATEHOUSE_GIT_MAX_PROCESSES"},
		{"git-max-processes-per-client", "GATEHOUSE_GIT_MAX_PROCESSES_PER_CLIENT"},
		{"max-push-size", "GATEHOUSE_MAX_PUSH_SIZE"},
		{"pack-cache-size", "GATEHOUSE_PACK_CACHE_SIZE"},
		{"pack-cache-max-age", "GATEHOUSE_PACK_CACHE_MAX_AGE"},
		{"pack-cache-dir", "GATEHOUSE_PACK_CACHE_DIR"},
		{"max-pack-generations", "GATEHOUSE_MAX_PACK_GENERATIONS"},
		{"pack-generation-wait", "GATEHOUSE_PACK_GENERATION_WAIT"},
		{"metrics", "GATEHOUSE_METRICS"},
		{"ssh-listen", "GATEHOUSE_SSH_LISTEN"},
		{"ssh-external", "GATEHOUSE_SSH_EXTERNAL"},
	}...)
}

// newServeConfig returns the defaults.
func newServeConfig() *serveConfig {
	return &serveConfig{
		Listen:                   "127.0.0.1:3000",
		LogFormat:                "text",
		LogLevel:                 "info",
		RateLimitAnonymous:       60,
		ReminderInterval:         5 * time.Minute,
		GitMaxProcesses:          githttp.DefaultMaxProcesses,
		GitMaxProcessesPerClient: githttp.DefaultMaxProcessesPerClient,
		MaxPushMiB:               gitrepo.DefaultMaxPushBytes >> 20,
		PackCacheMiB:             defaultPackCacheMiB,
		PackCacheMaxAge:          gitrepo.DefaultPackCacheMaxAge,
		MaxPackGenerations:       defaultPackGenerations(),
		PackGenerationWait:       gitrepo.DefaultGenerationWait,
		Metrics:                  "loopback",
	}
}

// register adds serve's flags to fs, with c's values as defaults.
func (c *serveConfig) register(fs *flag.FlagSet) {
	fs.StringVar(&c.Listen, "listen", c.Listen, "address to listen on (port 0 picks a free one)")
	fs.StringVar(&c.ExternalURL, "external-url", c.ExternalURL, "URL users reach the server at (default from --listen)")
	fs.StringVar(&c.TLSCert, "tls-cert", c.TLSCert, "TLS certificate (PEM)")
	fs.StringVar(&c.TLSKey, "tls-key", c.TLSKey, "TLS private key (PEM)")
	fs.BoolVar(&c.TLSSelfSigned, "tls-self-signed", c.TLSSelfSigned, "serve HTTPS with a certificate from a local CA kept in the data dir")
	fs.StringVar(&c.LogFormat, "log-format", c.LogFormat, "text or json")
	fs.StringVar(&c.LogLevel, "log-level", c.LogLevel, "debug, info, warn or error")
	fs.IntVar(&c.RateLimit, "rate-limit", c.RateLimit, "API calls per hour per user (0: no rate limiting, the default)")
	fs.IntVar(&c.RateLimitAnonymous, "rate-limit-anonymous", c.RateLimitAnonymous, "API calls per hour per client address without credentials, when --rate-limit is set")
	fs.Var(&c.TrustedProxies, "trusted-proxy", "`CIDR` of a reverse proxy whose X-Forwarded-For/-Proto are believed (repeatable; env: comma-separated)")
	fs.BoolVar(&c.PrivateMode, "private-mode", c.PrivateMode, "make anonymous visitors sign in for everything, public repositories included")
	fs.IntVar(&c.GitMaxProcesses, "git-max-processes", c.GitMaxProcesses, "most git processes running at once; more git requests are refused with a message")
	fs.IntVar(&c.GitMaxProcessesPerClient, "git-max-processes-per-client", c.GitMaxProcessesPerClient, "most git processes running at once for one client address (IPv6: per /64)")
	fs.IntVar(&c.MaxPushMiB, "max-push-size", c.MaxPushMiB, "largest push accepted, in MiB (0: no limit)")
	fs.IntVar(&c.PackCacheMiB, "pack-cache-size", c.PackCacheMiB, "size of the cache of packs served to clones, in MiB, on local disk in DATA/cache/packs (0: no cache)")
	fs.DurationVar(&c.PackCacheMaxAge, "pack-cache-max-age", c.PackCacheMaxAge, "oldest a cached pack may be")
	fs.StringVar(&c.PackCacheDir, "pack-cache-dir", c.PackCacheDir, "directory of the pack cache, on local disk (default DATA/cache/packs; give each node its own)")
	fs.IntVar(&c.MaxPackGenerations, "max-pack-generations", c.MaxPackGenerations, "most packs generated at once (cache hits do not count; 0: no limit); more fetches wait, then are refused with a message")
	fs.DurationVar(&c.PackGenerationWait, "pack-generation-wait", c.PackGenerationWait, "how long a fetch waits for one of --max-pack-generations before it is refused")
	fs.StringVar(&c.Metrics, "metrics", c.Metrics, "who may read /metrics: loopback, open or off")
	fs.StringVar(&c.SSHListen, "ssh-listen", c.SSHListen, "address of the SSH server for git, e.g. :2222 (default: no SSH)")
	fs.StringVar(&c.SSHExternal, "ssh-external", c.SSHExternal, "host or host:port shown in SSH clone URLs (default from --ssh-listen)")
	c.Mail.register(fs)
}

// loadServeConfig reads serve's settings: it registers serve's flags on fs
// (which holds the common ones), parses args, takes what the flags left
// out from getenv and validates the result. A flag or variable that does
// not parse, or a setting that validate refuses, is a usage error.
func loadServeConfig(fs *flag.FlagSet, args []string, getenv func(string) string) (*serveConfig, error) {
	c := newServeConfig()
	c.register(fs)
	pos, err := parse(fs, args)
	if err != nil {
		return nil, err
	}
	if len(pos) > 0 {
		return nil, usagef("serve takes no arguments")
	}
	if err := c.applyEnv(fs, getenv); err != nil {
		return nil, err
	}
	if err := c.validate(); err != nil {
		return nil, err
	}
	return c, nil
}

// applyEnv sets every flag that args did not from its environment
// variable, if that is set and not empty.
func (c *serveConfig) applyEnv(fs *flag.FlagSet, getenv func(string) string) error {
	given := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { given[f.Name] = true })
	c.fromEnv = map[string]string{}
	for _, fe := range serveEnv() {
		name, env := fe[0], fe[1]
		v := getenv(env)
		if given[name] || v == "" {
			continue
		}
		c.fromEnv[name] = env
		f := fs.Lookup(name)
		if name == "trusted-proxy" {
			for _, p := range strings.Split(v, ",") {
				if p = strings.TrimSpace(p); p != "" {
					c.TrustedProxies = append(c.TrustedProxies, p)
				}
			}
			continue
		}
		if err := f.Value.Set(v); err != nil {
			var kind any
			if g, ok := f.Value.(flag.Getter); ok {
				kind = g.Get()
			}
			switch kind.(type) {
			case int:
				return usagef("%s %q is not a whole number", env, v)
			case bool:
				return usagef("%s %q is not true or false", env, v)
			}
			return usagef("%s %q: %v", env, v, err)
		}
	}
	c.Mail.Password = getenv(smtpPasswordEnv)
	if v := getenv(reminderIntervalEnv); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil || d < 100*time.Millisecond {
			return usagef("%s %q: use a duration of at least 100ms such as 5m", reminderIntervalEnv, v)
		}
		c.ReminderInterval = d
	}
	return nil
}

// name is how messages refer to the setting of flag: the environment
// variable that set it, else the flag.
func (c *serveConfig) name(flag string) string {
	if env := c.fromEnv[flag]; env != "" {
		return env
	}
	return flagName(flag)
}

func flagName(flag string) string { return "--" + flag }

// validate checks every setting, and the combinations of them, once, so
// that a mistake stops serve before it listens.
func (c *serveConfig) validate() error {
	if c.RateLimit < 0 || c.RateLimitAnonymous < 0 {
		return usagef("%s and %s must not be negative", c.name("rate-limit"), c.name("rate-limit-anonymous"))
	}
	if c.GitMaxProcesses < 1 {
		return usagef("%s must be at least 1", c.name("git-max-processes"))
	}
	if c.GitMaxProcessesPerClient < 1 {
		return usagef("%s must be at least 1", c.name("git-max-processes-per-client"))
	}
	if c.MaxPushMiB < 0 {
		return usagef("%s must not be negative (0: no limit)", c.name("max-push-size"))
	}
	if c.PackCacheMiB < 0 {
		return usagef("%s must not be negative (0: no cache)", c.name("pack-cache-size"))
	}
	if c.PackCacheMaxAge < time.Second {
		return usagef("%s %q: use a duration of at least 1s such as 10m", c.name("pack-cache-max-age"), c.PackCacheMaxAge.String())
	}
	if c.MaxPackGenerations < 0 {
		return usagef("%s must not be negative (0: no limit)", c.name("max-pack-generations"))
	}
	if c.PackGenerationWait < 0 {
		return usagef("%s must not be negative", c.name("pack-generation-wait"))
	}
	switch c.Metrics {
	case "loopback", "open", "off":
	default:
		return usagef("%s %q: use loopback, open or off", c.name("metrics"), c.Metrics)
	}
	if (c.TLSCert == "") != (c.TLSKey == "") {
		return usagef("--tls-cert and --tls-key go together")
	}
	if c.TLSSelfSigned && c.TLSCert != "" {
		return usagef("use either --tls-cert/--tls-key or --tls-self-signed")
	}
	c.network = httpx.Network{}
	for _, p := range c.TrustedProxies {
		pfx, err := netip.ParsePrefix(p)
		if err != nil {
			a, aerr := netip.ParseAddr(p)
			if aerr != nil {
				return usagef("%s %q is not a CIDR or address", c.name("trusted-proxy"), p)
			}
			pfx = netip.PrefixFrom(a, a.BitLen())
		}
		c.network.TrustedProxies = append(c.network.TrustedProxies, pfx)
	}
	if err := c.level.UnmarshalText([]byte(c.LogLevel)); err != nil {
		return usagef("%s %q: use debug, info, warn or error", c.name("log-level"), c.LogLevel)
	}
	if c.LogFormat != "text" && c.LogFormat != "json" {
		return usagef("%s %q: use text or json", c.name("log-format"), c.LogFormat)
	}
	if c.ExternalURL != "" {
		u, err := url.Parse(c.ExternalURL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.User != nil || u.RawQuery != "" || u.Fragment != "" {
			return usagef("%s %q: use an http:// or https:// URL such as https://git.example.com", c.name("external-url"), c.ExternalURL)
		}
	}
	if err := c.Mail.validate(c.name); err != nil {
		return err
	}
	if err := c.validateSSH(); err != nil {
		return err
	}
	if c.ReminderInterval < 100*time.Millisecond {
		return usagef("%s %q: use a duration of at least 100ms such as 5m", reminderIntervalEnv, c.ReminderInterval.String())
	}
	return nil
}

// logger returns the logger the settings ask for, writing to w.
func (c *serveConfig) logger(w io.Writer) *slog.Logger {
	opts := &slog.HandlerOptions{Level: c.level}
	if c.LogFormat == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}

// listFlag collects a repeatable flag.
type listFlag []string

func (l *listFlag) String() string     { return strings.Join(*l, ",") }
func (l *listFlag) Set(v string) error { *l = append(*l, v); return nil }

// validateSSH checks the SSH settings: a listen address with a port, and
// an external address that is a bare host or host:port, not a URL.
func (c *serveConfig) validateSSH() error {
	if c.SSHListen != "" {
		if _, port, err := net.SplitHostPort(c.SSHListen); err != nil || port == "" {
			return usagef("%s %q: use host:port or :port, such as :2222", c.name("ssh-listen"), c.SSHListen)
		}
	}
	if c.SSHExternal == "" {
		return nil
	}
	if c.SSHListen == "" {
		return usagef("%s needs %s", c.name("ssh-external"), c.name("ssh-listen"))
	}
	notHost := usagef("%s %q: use a host or host:port such as git.example.com or git.example.com:2222, not a URL", c.name("ssh-external"), c.SSHExternal)
	if strings.ContainsAny(c.SSHExternal, "/@ \t") {
		return notHost
	}
	host, port := c.SSHExternal, ""
	if h, p, err := net.SplitHostPort(c.SSHExternal); err == nil {
		host, port = h, p
	}
	if n, err := strconv.Atoi(port); port != "" && (err != nil || n < 1 || n > 65535) {
		return usagef("%s %q: the port must be a number from 1 to 65535", c.name("ssh-external"), c.SSHExternal)
	}
	if host == "" || strings.ContainsAny(host, ":[]") && net.ParseIP(host) == nil {
		return notHost
	}
	return nil
}
