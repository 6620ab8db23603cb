package main

import (
	"context"
	"errors"
	"flag"
	"io"
	"net/netip"
	"os"
	"reflect"
	"runtime"
	"strings"
	"testing"
	"time"
)

// loadServe reads serve's settings from args and the variables in vars
// only.
func loadServe(args []string, vars map[string]string) (*serveConfig, error) {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	(&env{}).common(fs)
	return loadServeConfig(fs, args, func(k string) string { return vars[k] })
}

func TestServeConfigDefaults(t *testing.T) {
	c, err := loadServe(nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	want := &serveConfig{
		Listen:                   "127.0.0.1:3000",
		LogFormat:                "text",
		LogLevel:                 "info",
		RateLimitAnonymous:       60,
		ReminderInterval:         5 * time.Minute,
		GitMaxProcesses:          64,
		GitMaxProcessesPerClient: 8,
		MaxPushMiB:               2048,
		PackCacheMiB:             1024,
		PackCacheMaxAge:          10 * time.Minute,
		MaxPackGenerations:       2 * runtime.NumCPU(),
		PackGenerationWait:       5 * time.Second,
		Metrics:                  "loopback",
	}
	c.fromEnv, c.level, c.network = nil, 0, want.network
	if !reflect.DeepEqual(c, want) {
		t.Errorf("defaults\n got %+v\nwant %+v", c, want)
	}
}

func TestServeConfigPrecedence(t *testing.T) {
	for _, c := range []struct {
		name string
		flag []string
		env  map[string]string
		get  func(*serveConfig) any
		// want is with the flag, with only the variable, and with neither.
		flagWant, envWant, defWant any
	}{
		{"listen", []string{"--listen", "127.0.0.1:1"}, map[string]string{"GATEHOUSE_LISTEN": "127.0.0.1:2"},
			func(c *serveConfig) any { return c.Listen }, "127.0.0.1:1", "127.0.0.1:2", "127.0.0.1:3000"},
		{"external-url", []string{"--external-url", "https://flag.example"}, map[string]string{"GATEHOUSE_EXTERNAL_URL": "https://env.example"},
			func(c *serveConfig) any { return c.ExternalURL }, "https://flag.example", "https://env.example", ""},
		{"log-format", []string{"--log-format=json"}, map[string]string{"GATEHOUSE_LOG_FORMAT": "text"},
			func(c *serveConfig) any { return c.LogFormat }, "json", "text", "text"},
		{"log-level", []string{"--log-level", "warn"}, map[string]string{"GATEHOUSE_LOG_LEVEL": "debug"},
			func(c *serveConfig) any { return c.LogLevel }, "warn", "debug", "info"},
		{"rate-limit", []string{"--rate-limit", "0"}, map[string]string{"GATEHOUSE_RATE_LIMIT": "5000"},
			func(c *serveConfig) any { return c.RateLimit }, 0, 5000, 0},
		{"rate-limit-anonymous", []string{"--rate-limit-anonymous", "10"}, map[string]string{"GATEHOUSE_RATE_LIMIT_ANONYMOUS": "20"},
			func(c *serveConfig) any { return c.RateLimitAnonymous }, 10, 20, 60},
		{"trusted-proxy", []string{"--trusted-proxy", "10.0.0.0/8", "--trusted-proxy", "192.0.2.1"}, map[string]string{"GATEHOUSE_TRUSTED_PROXY": "172.16.0.0/12, 2001:db8::/32"},
			func(c *serveConfig) any { return c.network.TrustedProxies },
			[]netip.Prefix{netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("192.0.2.1/32")},
			[]netip.Prefix{netip.MustParsePrefix("172.16.0.0/12"), netip.MustParsePrefix("2001:db8::/32")},
			[]netip.Prefix(nil)},
		{"private-mode", []string{"--private-mode=false"}, map[string]string{"GATEHOUSE_PRIVATE_MODE": "true"},
			func(c *serveConfig) any { return c.PrivateMode }, false, true, false},
		{"git-max-processes", []string{"--git-max-processes", "10"}, map[string]string{"GATEHOUSE_GIT_MAX_PROCESSES": "20"},
			func(c *serveConfig) any { return c.GitMaxProcesses }, 10, 20, 64},
		{"git-max-processes-per-client", []string{"--git-max-processes-per-client", "2"}, map[string]string{"GATEHOUSE_GIT_MAX_PROCESSES_PER_CLIENT": "3"},
			func(c *serveConfig) any { return c.GitMaxProcessesPerClient }, 2, 3, 8},
		{"smtp-addr", []string{"--smtp-addr", "flag.example:25"}, map[string]string{"GATEHOUSE_SMTP_ADDR": "env.example:587"},
			func(c *serveConfig) any { return c.Mail.Addr }, "flag.example:25", "env.example:587", ""},
		{"smtp-from", []string{"--smtp-from", "flag@example.com"}, map[string]string{"GATEHOUSE_SMTP_FROM": "env@example.com"},
			func(c *serveConfig) any { return c.Mail.From }, "flag@example.com", "env@example.com", ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			for _, step := range []struct {
				what string
				args []string
				env  map[string]string
				want any
			}{
				{"flag and variable", c.flag, c.env, c.flagWant},
				{"variable", nil, c.env, c.envWant},
				{"neither", nil, nil, c.defWant},
			} {
				cfg, err := loadServe(step.args, step.env)
				if err != nil {
					t.Fatalf("%s: %v", step.what, err)
				}
				if got := c.get(cfg); !reflect.DeepEqual(got, step.want) {
					t.Errorf("%s: %v, want %v", step.what, got, step.want)
				}
			}
		})
	}
}

func TestServeConfigSMTPUserAndPassword(t *testing.T) {
	c, err := loadServe([]string{"--smtp-addr", "mail.example:587", "--smtp-user", "flag-user"},
		map[string]string{"GATEHOUSE_SMTP_USER": "env-user", smtpPasswordEnv: "hunter2"})
	if err != nil {
		t.Fatal(err)
	}
	if c.Mail.User != "flag-user" || c.Mail.Password != "hunter2" {
		t.Errorf("mail settings %+v", c.Mail)
	}
	if _, err := loadServe([]string{"--smtp-password", "hunter2"}, nil); !isUsage(err) {
		t.Errorf("--smtp-password is accepted as a flag: %v", err)
	}
}

func TestServeConfigPrivateMode(t *testing.T) {
	for _, c := range []struct {
		args []string
		env  string
		want bool
	}{
		{[]string{"--private-mode"}, "", true},
		{[]string{"--private-mode=true"}, "", true},
		{[]string{"--private-mode=1"}, "", true},
		{[]string{"--private-mode=false"}, "", false},
		{[]string{"--private-mode=0"}, "true", false},
		{[]string{"--private-mode"}, "false", true},
		{nil, "true", true},
		{nil, "1", true},
		{nil, "TRUE", true},
		{nil, "false", false},
		{nil, "0", false},
		{nil, "", false},
	} {
		cfg, err := loadServe(c.args, map[string]string{"GATEHOUSE_PRIVATE_MODE": c.env})
		if err != nil {
			t.Errorf("%q with GATEHOUSE_PRIVATE_MODE=%q: %v", c.args, c.env, err)
			continue
		}
		if cfg.PrivateMode != c.want {
			t.Errorf("%q with GATEHOUSE_PRIVATE_MODE=%q: private mode %v, want %v", c.args, c.env, cfg.PrivateMode, c.want)
		}
	}
}

func isUsage(err error) bool {
	var ue usageError
	return errors.As(err, &ue)
}

func TestServeConfigRefusesBadEnvironment(t *testing.T) {
	for _, c := range []struct {
		env, value, want string
	}{
		{"GATEHOUSE_RATE_LIMIT", "abc", `GATEHOUSE_RATE_LIMIT "abc" is not a whole number`},
		{"GATEHOUSE_RATE_LIMIT_ANONYMOUS", "1.5", `GATEHOUSE_RATE_LIMIT_ANONYMOUS "1.5" is not a whole number`},
		{"GATEHOUSE_RATE_LIMIT", "-1", `GATEHOUSE_RATE_LIMIT and --rate-limit-anonymous must not be negative`},
		{"GATEHOUSE_PRIVATE_MODE", "yes", `GATEHOUSE_PRIVATE_MODE "yes" is not true or false`},
		{"GATEHOUSE_GIT_MAX_PROCESSES", "many", `GATEHOUSE_GIT_MAX_PROCESSES "many" is not a whole number`},
		{"GATEHOUSE_GIT_MAX_PROCESSES", "0", `GATEHOUSE_GIT_MAX_PROCESSES must be at least 1`},
		{"GATEHOUSE_GIT_MAX_PROCESSES_PER_CLIENT", "-1", `GATEHOUSE_GIT_MAX_PROCESSES_PER_CLIENT must be at least 1`},
		{"GATEHOUSE_REMINDER_INTERVAL", "soon", `GATEHOUSE_REMINDER_INTERVAL "soon": use a duration of at least 100ms such as 5m`},
		{"GATEHOUSE_REMINDER_INTERVAL", "10ms", `GATEHOUSE_REMINDER_INTERVAL "10ms": use a duration of at least 100ms such as 5m`},
		{"GATEHOUSE_REMINDER_INTERVAL", "0s", `GATEHOUSE_REMINDER_INTERVAL "0s": use a duration of at least 100ms such as 5m`},
		{"GATEHOUSE_TRUSTED_PROXY", "10.0.0.0/8,proxy.internal", `GATEHOUSE_TRUSTED_PROXY "proxy.internal" is not a CIDR or address`},
		{"GATEHOUSE_LOG_LEVEL", "loud", `GATEHOUSE_LOG_LEVEL "loud": use debug, info, warn or error`},
		{"GATEHOUSE_LOG_FORMAT", "xml", `GATEHOUSE_LOG_FORMAT "xml": use text or json`},
		{"GATEHOUSE_EXTERNAL_URL", "git.example.com", `GATEHOUSE_EXTERNAL_URL "git.example.com": use an http:// or https:// URL`},
		{"GATEHOUSE_SMTP_ADDR", "mail.example.com", `GATEHOUSE_SMTP_ADDR "mail.example.com": use host:port`},
		{"GATEHOUSE_SMTP_FROM", "not an address", `GATEHOUSE_SMTP_FROM "not an address" is not an e-mail address`},
		{"GATEHOUSE_SMTP_USER", "gatehouse", `GATEHOUSE_SMTP_USER needs --smtp-addr`},
		{"GATEHOUSE_PACK_CACHE_SIZE", "-1", `GATEHOUSE_PACK_CACHE_SIZE must not be negative (0: no cache)`},
		{"GATEHOUSE_PACK_CACHE_MAX_AGE", "soon", `GATEHOUSE_PACK_CACHE_MAX_AGE "soon"`},
		{"GATEHOUSE_PACK_CACHE_MAX_AGE", "10ms", `GATEHOUSE_PACK_CACHE_MAX_AGE "10ms": use a duration of at least 1s such as 10m`},
		{"GATEHOUSE_MAX_PACK_GENERATIONS", "-2", `GATEHOUSE_MAX_PACK_GENERATIONS must not be negative (0: no limit)`},
		{"GATEHOUSE_PACK_GENERATION_WAIT", "-1s", `GATEHOUSE_PACK_GENERATION_WAIT must not be negative`},
	} {
		_, err := loadServe(nil, map[string]string{c.env: c.value})
		if !isUsage(err) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s=%q: %v, want a usage error containing %q", c.env, c.value, err, c.want)
		}
		// The flag, when given, wins over the variable, and a valid one
		// hides the bad variable.
	}
	if _, err := loadServe([]string{"--rate-limit", "7"}, map[string]string{"GATEHOUSE_RATE_LIMIT": "abc"}); err != nil {
		t.Errorf("--rate-limit 7 with GATEHOUSE_RATE_LIMIT=abc: %v", err)
	}
}

func TestServeConfigRefusesBadFlags(t *testing.T) {
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"--rate-limit", "abc"}, "rate-limit"},
		{[]string{"--private-mode=yes"}, "private-mode"},
		{[]string{"--rate-limit", "-1"}, "--rate-limit and --rate-limit-anonymous must not be negative"},
		{[]string{"--rate-limit-anonymous", "-1"}, "--rate-limit and --rate-limit-anonymous must not be negative"},
		{[]string{"--git-max-processes", "0"}, "--git-max-processes must be at least 1"},
		{[]string{"--git-max-processes-per-client", "0"}, "--git-max-processes-per-client must be at least 1"},
		{[]string{"--tls-cert", "cert.pem"}, "--tls-cert and --tls-key go together"},
		{[]string{"--tls-key", "key.pem"}, "--tls-cert and --tls-key go together"},
		{[]string{"--tls-cert", "cert.pem", "--tls-key", "key.pem", "--tls-self-signed"}, "use either --tls-cert/--tls-key or --tls-self-signed"},
		{[]string{"--trusted-proxy", "10.0.0.0/33"}, `--trusted-proxy "10.0.0.0/33" is not a CIDR or address`},
		{[]string{"--log-level", "loud"}, `--log-level "loud": use debug, info, warn or error`},
		{[]string{"--log-format", "xml"}, `--log-format "xml": use text or json`},
		{[]string{"--external-url", "ftp://git.example.com"}, `--external-url "ftp://git.example.com": use an http:// or https:// URL`},
		{[]string{"--smtp-user", "gatehouse"}, "--smtp-user needs --smtp-addr"},
		{[]string{"--smtp-addr", "mail.example.com:587", "--smtp-user", "gatehouse"}, "--smtp-user is set but GATEHOUSE_SMTP_PASSWORD is empty"},
		{[]string{"--smtp-addr", "mail.example.com"}, `--smtp-addr "mail.example.com": use host:port`},
		{[]string{"--smtp-from", "Gatehouse <gh@example.com>\r\nBcc: x@example.com"}, "is not an e-mail address"},
		{[]string{"extra"}, "serve takes no arguments"},
		{[]string{"--pack-cache-size", "-5"}, "--pack-cache-size must not be negative"},
		{[]string{"--pack-cache-max-age", "0s"}, `--pack-cache-max-age "0s": use a duration of at least 1s`},
		{[]string{"--max-pack-generations", "-1"}, "--max-pack-generations must not be negative"},
	} {
		_, err := loadServe(c.args, nil)
		if !isUsage(err) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%q: %v, want a usage error containing %q", c.args, err, c.want)
		}
	}
}

// TestServeEnvNamesFlags keeps the table of variables in step with the
// flags.
func TestServeEnvNamesFlags(t *testing.T) {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	newServeConfig().register(fs)
	seen := map[string]bool{}
	for _, fe := range serveEnv() {
		if fs.Lookup(fe[0]) == nil {
			t.Errorf("%s stands in for --%s, which serve does not have", fe[1], fe[0])
		}
		if seen[fe[1]] {
			t.Errorf("%s is listed twice", fe[1])
		}
		seen[fe[1]] = true
	}
}

// TestServeRefusesBadEnvironmentAtStart runs the command: the process
// environment is read, and the mistake stops serve before it listens.
func TestServeRefusesBadEnvironmentAtStart(t *testing.T) {
	t.Setenv("GATEHOUSE_RATE_LIMIT", "abc")
	err := run(context.Background(), []string{"serve", "--data", t.TempDir(), "--listen", "127.0.0.1:0"}, nil, io.Discard, io.Discard)
	if !isUsage(err) || err.Error() != `GATEHOUSE_RATE_LIMIT "abc" is not a whole number` {
		t.Fatalf("serve with GATEHOUSE_RATE_LIMIT=abc: %v", err)
	}
}

// TestAddMailFlags keeps hook pre-receive's e-mail settings, which serve
// passes in the environment, working.
func TestAddMailFlags(t *testing.T) {
	t.Setenv("GATEHOUSE_SMTP_ADDR", "env.example:587")
	t.Setenv("GATEHOUSE_SMTP_FROM", "env@example.com")
	t.Setenv("GATEHOUSE_SMTP_USER", "")
	fs := flag.NewFlagSet("hook pre-receive", flag.ContinueOnError)
	m := addMailFlags(fs)
	if err := fs.Parse([]string{"--smtp-from", "flag@example.com"}); err != nil {
		t.Fatal(err)
	}
	if err := applyEnvDefaults(fs, mailEnv(), os.Getenv); err != nil {
		t.Fatal(err)
	}
	if *m.addr != "env.example:587" || *m.from != "flag@example.com" || *m.user != "" {
		t.Errorf("mail flags %q %q %q", *m.addr, *m.from, *m.user)
	}
}

func TestServeConfigSSH(t *testing.T) {
	// Flag over variable over default (off).
	for _, c := range []struct {
		args []string
		env  map[string]string
		want [2]string // listen, external
	}{
		{nil, nil, [2]string{"", ""}},
		{[]string{"--ssh-listen", ":2222"}, map[string]string{"GATEHOUSE_SSH_LISTEN": ":22"}, [2]string{":2222", ""}},
		{nil, map[string]string{"GATEHOUSE_SSH_LISTEN": "0.0.0.0:22", "GATEHOUSE_SSH_EXTERNAL": "git.example.com"}, [2]string{"0.0.0.0:22", "git.example.com"}},
		{[]string{"--ssh-listen", ":2222", "--ssh-external", "git.example.com:2222"}, map[string]string{"GATEHOUSE_SSH_EXTERNAL": "env.example"},
			[2]string{":2222", "git.example.com:2222"}},
		{[]string{"--ssh-listen", "[::1]:2222", "--ssh-external", "[2001:db8::1]:22"}, nil, [2]string{"[::1]:2222", "[2001:db8::1]:22"}},
	} {
		cfg, err := loadServe(c.args, c.env)
		if err != nil {
			t.Errorf("%q %v: %v", c.args, c.env, err)
			continue
		}
		if got := [2]string{cfg.SSHListen, cfg.SSHExternal}; got != c.want {
			t.Errorf("%q %v: %q, want %q", c.args, c.env, got, c.want)
		}
	}
	for _, c := range []struct {
		args []string
		env  map[string]string
		want string
	}{
		{[]string{"--ssh-listen", "2222"}, nil, `--ssh-listen "2222": use host:port or :port`},
		{nil, map[string]string{"GATEHOUSE_SSH_LISTEN": "localhost"}, `GATEHOUSE_SSH_LISTEN "localhost": use host:port or :port`},
		{[]string{"--ssh-external", "git.example.com"}, nil, "--ssh-external needs --ssh-listen"},
		{[]string{"--ssh-listen", ":2222", "--ssh-external", "ssh://git.example.com"}, nil, `--ssh-external "ssh://git.example.com": use a host or host:port`},
		{[]string{"--ssh-listen", ":2222", "--ssh-external", "git@git.example.com"}, nil, "not a URL"},
		{[]string{"--ssh-listen", ":2222", "--ssh-external", "git.example.com:99999"}, nil, "the port must be a number from 1 to 65535"},
		{[]string{"--ssh-listen", ":2222"}, map[string]string{"GATEHOUSE_SSH_EXTERNAL": "git.example.com:ssh"}, `GATEHOUSE_SSH_EXTERNAL "git.example.com:ssh": the port must be`},
	} {
		_, err := loadServe(c.args, c.env)
		if !isUsage(err) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%q %v: %v, want a usage error containing %q", c.args, c.env, err, c.want)
		}
	}
}
