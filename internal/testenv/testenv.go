// Package testenv runs the real gatehouse binary for end-to-end tests: it
// builds it once, starts servers on random loopback ports with their own
// data dirs, runs admin commands and real git with isolated configuration,
// and keeps every line the server logged so tests can scan it for secrets.
package testenv

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

var (
	buildOnce sync.Once
	binPath   string
	buildErr  error
)

// BinaryEnv names a gatehouse binary built for the whole test run:
// test.sh builds it into a directory of its own and removes that at the
// end, so that the test processes of every package share one build and
// leave nothing behind.
const BinaryEnv = "GATEHOUSE_TEST_BINARY"

// Binary returns the path of the gatehouse binary under test: the one
// BinaryEnv names, else ./cmd/gatehouse built once per test process into
// BuildDir (replacing the previous build), not into a new temporary
// directory each time.
func Binary(t testing.TB) string {
	t.Helper()
	buildOnce.Do(func() { binPath, buildErr = binary() })
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return binPath
}

func binary() (string, error) {
	if p := os.Getenv(BinaryEnv); p != "" {
		if _, err := os.Stat(p); err != nil {
			return "", fmt.Errorf("%s=%s: %w", BinaryEnv, p, err)
		}
		return p, nil
	}
	dir := BuildDir()
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", err
	}
	// Built under a name of its own, then renamed into place: test
	// processes of other packages may be running the previous build.
	tmp, err := os.MkdirTemp(dir, "build-")
	if err != nil {
		return "", err
	}
	defer os.RemoveAll(tmp)
	built := filepath.Join(tmp, "gatehouse")
	cmd := exec.Command("go", "build", "-o", built, "./cmd/gatehouse")
	cmd.Dir = ModuleRoot()
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go build: %v\n%s", err, out)
	}
	bin := filepath.Join(dir, "gatehouse")
	if err := os.Rename(built, bin); err != nil {
		return "", err
	}
	return bin, nil
}

// BuildDir is where Binary builds when BinaryEnv is not set: a folder of
// the user's cache for this checkout, so that runs of "go test" outside
// test.sh keep one binary per checkout instead of leaving a new one in
// the temporary directory each time.
func BuildDir() string {
	base, err := os.UserCacheDir()
	if err != nil {
		base = filepath.Join(os.TempDir(), fmt.Sprintf("gatehouse-test-%d", os.Getuid()))
	}
	sum := sha256.Sum256([]byte(ModuleRoot()))
	return filepath.Join(base, "gatehouse-test", hex.EncodeToString(sum[:6]))
}

// ModuleRoot returns the repository root (where go.mod is).
func ModuleRoot() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Clean(filepath.Join(filepath.Dir(file), "..", ".."))
}

// Require returns the path of program. When it is missing the test fails
// under CI=true and skips loudly otherwise.
func Require(t testing.TB, program string) string {
	t.Helper()
	return RequireOneOf(t, program, "", program)
}

// RequireOneOf returns the path of the first of candidates (program names
// or paths; empty ones are passed over) that is installed. When none is,
// the test fails under CI=true and skips loudly otherwise, saying what is
// missing and, if install is not empty, how to install it.
func RequireOneOf(t testing.TB, what, install string, candidates ...string) string {
	t.Helper()
	var tried []string
	for _, c := range candidates {
		if c == "" {
			continue
		}
		if p, err := exec.LookPath(c); err == nil {
			return p
		}
		tried = append(tried, c)
	}
	msg := fmt.Sprintf("%s is not installed (looked for %s)", what, strings.Join(tried, ", "))
	if install != "" {
		msg += "; install it with: " + install
	}
	Missing(t, msg)
	return ""
}

// Missing ends a test that cannot run because something it needs is not
// there, as msg says: under CI=true, where .ci/run provides everything, the
// test fails; elsewhere it is skipped, loudly (on stderr too, so that the
// skip shows without -v).
func Missing(t testing.TB, msg string) {
	t.Helper()
	if os.Getenv("CI") == "true" {
		t.Fatalf("%s; CI=true, so this fails rather than skips (.ci/run should have provided it)", msg)
	}
	fmt.Fprintf(os.Stderr, "\n*** SKIPPING %s: %s ***\n\n", t.Name(), msg)
	t.Skipf("SKIPPING: %s (CI provides it and fails without it)", msg)
}

// Server is a running gatehouse serve.
type Server struct {
	t    testing.TB
	Bin  string
	Data string
	// URL is the base URL, e.g. https://127.0.0.1:43567.
	URL    string
	Host   string // host:port
	CAFile string // for HTTPS servers: the local CA to trust
	// SetupURL is the one-time setup link printed at first start, if any
	// (serve prints it before the listening line).
	SetupURL string
	// SSHAddr is the SSH server's host:port, with Options.SSH.
	SSHAddr string
	Cmd     *exec.Cmd

	mu      sync.Mutex
	log     bytes.Buffer
	secrets []string // every token and password handed out; never allowed in the log
	// waitErr receives the process's exit.
	done chan struct{}
}

// Options configure Start.
type Options struct {
	TLS   bool     // serve with --tls-self-signed
	Data  string   // reuse a data dir (default a new temp dir)
	Args  []string // extra serve arguments
	Env   []string // extra environment
	Quiet bool     // do not copy the server log to the test log on failure
	SSH   bool     // serve git over SSH too (--ssh-listen 127.0.0.1:0); see SSHAddr
}

var listenRE = regexp.MustCompile(`listening on (https?)://([0-9.]+:[0-9]+)`)
var setupRE = regexp.MustCompile(`(https?://\S+/setup\?code=[0-9a-f]+)`)
var sshRE = regexp.MustCompile(`Git over SSH on ([0-9.]+:[0-9]+),`)

// Start runs gatehouse serve and waits until it accepts requests.
func Start(t testing.TB, opts Options) *Server {
	t.Helper()
	s := &Server{t: t, Bin: Binary(t), Data: opts.Data, done: make(chan struct{})}
	if s.Data == "" {
		s.Data = filepath.Join(t.TempDir(), "data")
	}
	args := []string{"serve", "--listen", "127.0.0.1:0", "--data", s.Data, "--log-format", "json"}
	if opts.TLS {
		args = append(args, "--tls-self-signed")
	}
	if opts.SSH {
		args = append(args, "--ssh-listen", "127.0.0.1:0")
	}
	args = append(args, opts.Args...)
	s.Cmd = exec.Command(s.Bin, args...)
	s.Cmd.Env = append(cleanEnv(), opts.Env...)
	stderr, err := s.Cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	s.Cmd.Stdout = &lockedWriter{s: s}
	if err := s.Cmd.Start(); err != nil {
		t.Fatal(err)
	}
	ready := make(chan struct{})
	go func() {
		defer close(s.done)
		sc := bufio.NewScanner(stderr)
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		once := false
		for sc.Scan() {
			line := sc.Text()
			s.mu.Lock()
			s.log.WriteString(line + "\n")
			if m := setupRE.FindStringSubmatch(line); m != nil {
				s.SetupURL = m[1]
			}
			if m := sshRE.FindStringSubmatch(line); m != nil {
				s.SSHAddr = m[1]
			}
			if m := listenRE.FindStringSubmatch(line); m != nil && !once {
				s.URL = m[1] + "://" + m[2]
				s.Host = m[2]
				once = true
				s.mu.Unlock()
				close(ready)
				continue
			}
			s.mu.Unlock()
		}
		_ = s.Cmd.Wait()
	}()
	select {
	case <-ready:
	case <-s.done:
		t.Fatalf("gatehouse serve exited early:\n%s", s.Log())
	case <-time.After(30 * time.Second):
		s.Stop()
		t.Fatalf("gatehouse serve did not start in 30s:\n%s", s.Log())
	}
	if opts.TLS {
		s.CAFile = filepath.Join(s.Data, "tls", "ca.pem")
	}
	t.Cleanup(func() {
		s.Stop()
		s.CheckNoSecrets(t)
		if t.Failed() && !opts.Quiet {
			t.Logf("server log:\n%s", s.Log())
		}
	})
	return s
}

type lockedWriter struct{ s *Server }

func (w *lockedWriter) Write(p []byte) (int, error) {
	w.s.mu.Lock()
	defer w.s.mu.Unlock()
	return w.s.log.Write(p)
}

// Log returns everything the server wrote so far.
func (s *Server) Log() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.log.String()
}

// Stop sends SIGTERM and waits for a graceful exit (killing after 10s).
func (s *Server) Stop() {
	if s.Cmd.Process == nil {
		return
	}
	select {
	case <-s.done:
		return
	default:
	}
	_ = s.Cmd.Process.Signal(os.Interrupt)
	select {
	case <-s.done:
	case <-time.After(10 * time.Second):
		_ = s.Cmd.Process.Kill()
		<-s.done
	}
}

// SetupLink returns the one-time setup link the server printed at start,
// failing the test if it printed none (it does only while there are no
// users).
func (s *Server) SetupLink(t testing.TB) string {
	t.Helper()
	s.mu.Lock()
	link := s.SetupURL
	s.mu.Unlock()
	if link == "" {
		t.Fatalf("server printed no setup link:\n%s", s.Log())
	}
	return link
}

// Pid returns the server's process id.
func (s *Server) Pid() int { return s.Cmd.Process.Pid }

// Admin runs "gatehouse admin ARGS… --data DIR" and returns stdout. It
// fails the test on a non-zero exit.
func (s *Server) Admin(args ...string) string {
	s.t.Helper()
	out, errOut, err := s.AdminResult(args...)
	if err != nil {
		s.t.Fatalf("gatehouse admin %s: %v\nstderr: %s", strings.Join(args, " "), err, errOut)
	}
	return out
}

// AdminResult runs an admin command and returns stdout, stderr and the
// exit error.
func (s *Server) AdminResult(args ...string) (string, string, error) {
	cmd := Command(s.t, append(append([]string{"admin"}, args...), "--data", s.Data)...)
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err := cmd.Run()
	return out.String(), errOut.String(), err
}

// AdminInput runs an admin command with stdin as its standard input and
// returns stdout, stderr and the exit error.
func (s *Server) AdminInput(stdin string, args ...string) (string, string, error) {
	cmd := Command(s.t, append(append([]string{"admin"}, args...), "--data", s.Data)...)
	var out, errOut bytes.Buffer
	cmd.Stdin = strings.NewReader(stdin)
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err := cmd.Run()
	return out.String(), errOut.String(), err
}

// SSHURL returns the ssh:// clone URL of owner/name (Options.SSH).
func (s *Server) SSHURL(full string) string { return "ssh://git@" + s.SSHAddr + "/" + full + ".git" }

// CreateUser creates a user and returns the random password it was given.
func (s *Server) CreateUser(login string, admin bool) string {
	s.t.Helper()
	args := []string{"user", "create", "--username", login, "--email", login + "@example.com"}
	if admin {
		args = append(args, "--admin")
	}
	pw := strings.TrimSpace(s.Admin(args...))
	s.AddSecret(pw)
	return pw
}

// AddSecret registers a secret that must never appear in the server log.
func (s *Server) AddSecret(secret string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.secrets = append(s.secrets, secret)
}

// CheckNoSecrets fails the test if any registered secret, or its random
// middle part, appears in the server log. Start registers it as a cleanup.
func (s *Server) CheckNoSecrets(t testing.TB) {
	t.Helper()
	log := s.Log()
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, sec := range s.secrets {
		if sec == "" {
			continue
		}
		if strings.Contains(log, sec) {
			t.Errorf("the server log contains a secret (…%s)", sec[len(sec)-4:])
		}
		if len(sec) >= 12 && strings.Contains(log, sec[4:len(sec)-4]) {
			t.Errorf("the server log contains part of a secret (…%s)", sec[len(sec)-4:])
		}
	}
}

// Token creates a token and returns the secret.
func (s *Server) Token(user, note, scopes, expires string) string {
	s.t.Helper()
	args := []string{"token", "create", "--user", user, "--note", note, "--scopes", scopes}
	if expires != "" {
		args = append(args, "--expires", expires)
	}
	tok := strings.TrimSpace(s.Admin(args...))
	s.AddSecret(tok)
	return tok
}

// FineGrainedToken creates a fine-grained token of user named note for
// the resource owner owner ("" for the user) on repos ("public", "all"
// or names, comma-separated) with perms ("contents:write,…", "" for
// none) and returns the secret. expires "" takes the default (30 days).
func (s *Server) FineGrainedToken(user, note, owner, repos, perms, expires string) string {
	s.t.Helper()
	args := []string{"token", "create", "--fine-grained", "--user", user, "--note", note, "--permissions", perms}
	if owner != "" {
		args = append(args, "--owner", owner)
	}
	if repos != "" {
		args = append(args, "--repos", repos)
	}
	if expires != "" {
		args = append(args, "--expires", expires)
	}
	tok := strings.TrimSpace(s.Admin(args...))
	s.AddSecret(tok)
	return tok
}

// ListedToken is a token as "admin token list --json" shows it.
type ListedToken struct {
	ID               int64             `json:"id"`
	User             string            `json:"user"`
	Kind             string            `json:"kind"`
	Note             string            `json:"note"`
	Scopes           []string          `json:"scopes"`
	LastEight        string            `json:"token_last_eight"`
	Owner            string            `json:"resource_owner"`
	RepositoryAccess string            `json:"repository_access"`
	Repositories     []string          `json:"repositories"`
	Permissions      map[string]string `json:"permissions"`
	Approval         string            `json:"approval"`
}

// Tokens returns the tokens of user ("" for everyone's) as "admin token
// list --json" lists them.
func (s *Server) Tokens(user string) []ListedToken {
	s.t.Helper()
	args := []string{"token", "list", "--json"}
	if user != "" {
		args = append(args, "--user", user)
	}
	out := s.Admin(args...)
	var list []ListedToken
	if err := json.Unmarshal([]byte(out), &list); err != nil {
		s.t.Fatalf("admin token list --json: %v\n%s", err, out)
	}
	return list
}

// TokenID returns the ID of user's token named note, failing the test
// when there is none.
func (s *Server) TokenID(user, note string) int64 {
	s.t.Helper()
	for _, t := range s.Tokens(user) {
		if t.Note == note {
			return t.ID
		}
	}
	s.t.Fatalf("%s has no token named %q", user, note)
	return 0
}

// CreateOrg creates the organization name owned by owner, with members
// (who are not owners).
func (s *Server) CreateOrg(name, owner string, members ...string) {
	s.t.Helper()
	s.Admin("org", "create", name, "--owner", owner)
	for _, m := range members {
		s.Admin("org", "member", "add", name, m)
	}
}

// ReviewTokenRequest approves (or denies) the pending token request id
// of org with "admin org token-review".
func (s *Server) ReviewTokenRequest(org string, id int64, approve bool) {
	s.t.Helper()
	action := "--approve"
	if !approve {
		action = "--deny"
	}
	s.Admin("org", "token-review", org, strconv.FormatInt(id, 10), action)
}

// SetTokenPolicy changes org's personal access token policy with "admin
// org token-policy ORG FLAGS…", e.g. "--restrict-classic".
func (s *Server) SetTokenPolicy(org string, flags ...string) {
	s.t.Helper()
	s.Admin(append([]string{"org", "token-policy", org}, flags...)...)
}

// Client returns an HTTP client that trusts the server's CA.
func (s *Server) Client(t testing.TB) *http.Client {
	t.Helper()
	tr := http.DefaultTransport.(*http.Transport).Clone()
	if s.CAFile != "" {
		pem, err := os.ReadFile(s.CAFile)
		if err != nil {
			t.Fatal(err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			t.Fatalf("no certificate in %s", s.CAFile)
		}
		tr.TLSClientConfig = &tls.Config{RootCAs: pool}
	}
	return &http.Client{Transport: tr, Timeout: time.Minute}
}

// RepoURL returns the HTTPS/HTTP clone URL of owner/name.
func (s *Server) RepoURL(full string) string { return s.URL + "/" + full + ".git" }

// Command returns the built binary as a command with args and the test
// process's environment less every GATEHOUSE_ and GIT_ variable, so that
// nothing from the developer's shell changes what it does.
func Command(t testing.TB, args ...string) *exec.Cmd {
	t.Helper()
	cmd := exec.Command(Binary(t), args...)
	cmd.Env = cleanEnv()
	return cmd
}

func cleanEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		if strings.HasPrefix(k, "GATEHOUSE_") || strings.HasPrefix(k, "GIT_") {
			continue
		}
		env = append(env, kv)
	}
	return env
}

// Git runs real git with its own HOME (so no user configuration or stored
// credential leaks in), no terminal prompts, and the server's CA trusted.
type Git struct {
	t    testing.TB
	Home string
	Env  []string
}

// NewGit prepares an isolated git environment trusting caFile (may be "").
func NewGit(t testing.TB, caFile string) *Git {
	t.Helper()
	Require(t, "git")
	home := t.TempDir()
	g := &Git{t: t, Home: home}
	g.Env = append(cleanEnv(),
		"HOME="+home,
		"XDG_CONFIG_HOME="+filepath.Join(home, ".config"),
		"GIT_CONFIG_NOSYSTEM=1",
		"GIT_TERMINAL_PROMPT=0",
		"GIT_ASKPASS=",
		"SSH_ASKPASS=",
		"LC_ALL=C",
		"GIT_AUTHOR_NAME=Test", "GIT_AUTHOR_EMAIL=test@example.com",
		"GIT_COMMITTER_NAME=Test", "GIT_COMMITTER_EMAIL=test@example.com",
	)
	if caFile != "" {
		g.Env = append(g.Env, "GIT_SSL_CAINFO="+caFile)
	}
	g.MustRun("", "config", "--global", "init.defaultBranch", "main")
	return g
}

// Result is the outcome of a git command.
type Result struct {
	Stdout, Stderr string
	Err            error
}

// Run runs git in dir with extra environment entries (KEY=VALUE).
func (g *Git) Run(dir string, args ...string) Result {
	return g.RunEnv(dir, nil, args...)
}

// RunEnv runs git with extra environment variables.
func (g *Git) RunEnv(dir string, env []string, args ...string) Result {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "git", args...)
	cmd.Dir = dir
	cmd.Env = append(append([]string{}, g.Env...), env...)
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err := cmd.Run()
	return Result{Stdout: out.String(), Stderr: errOut.String(), Err: err}
}

// MustRun runs git and fails the test on error.
func (g *Git) MustRun(dir string, args ...string) string {
	g.t.Helper()
	return g.must(g.Run(dir, args...), args)
}

func (g *Git) must(r Result, args []string) string {
	g.t.Helper()
	if r.Err != nil {
		g.t.Fatalf("git %s: %v\n%s%s", strings.Join(args, " "), r.Err, r.Stdout, r.Stderr)
	}
	return r.Stdout
}

// credentialHelper answers git's "get" with $E2E_USER and $E2E_TOKEN.
const credentialHelper = "#!/bin/sh\n" +
	"test \"$1\" = get || exit 0\n" +
	"printf 'username=%s\\npassword=%s\\n' \"$E2E_USER\" \"$E2E_TOKEN\"\n"

// UseCredentialHelper makes a credential helper the only one in g's global
// configuration. It answers with the user and token given to RunAs, so
// that git goes through its normal 401 → credentials → retry exchange
// rather than finding them in the URL.
func (g *Git) UseCredentialHelper() {
	g.t.Helper()
	helper := filepath.Join(g.Home, "token-helper")
	if err := os.WriteFile(helper, []byte(credentialHelper), 0o700); err != nil {
		g.t.Fatal(err)
	}
	g.MustRun("", "config", "--global", "--replace-all", "credential.helper", helper)
}

// RunAs runs git with user and token offered by the helper that
// UseCredentialHelper installs.
func (g *Git) RunAs(dir, user, token string, args ...string) Result {
	return g.RunEnv(dir, []string{"E2E_USER=" + user, "E2E_TOKEN=" + token}, args...)
}

// MustRunAs is RunAs that fails the test on error.
func (g *Git) MustRunAs(dir, user, token string, args ...string) string {
	g.t.Helper()
	return g.must(g.RunAs(dir, user, token, args...), args)
}

// WithCredentials returns url with user:password inserted (for tests that
// deliberately put credentials in the URL rather than a helper).
func WithCredentials(url, user, password string) string {
	i := strings.Index(url, "://")
	return url[:i+3] + user + ":" + password + "@" + url[i+3:]
}

// Metric reads one series of the server's /metrics (a name, with its
// labels as the text format prints them, e.g.
// `gatehouse_git_pushes_total{transport="ssh"}`) and reports whether it
// was there. A scrape that fails, or is not the server's, fails the test.
func (s *Server) Metric(t testing.TB, series string) (float64, bool) {
	t.Helper()
	resp, err := s.Client(t).Get(s.URL + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("/metrics: %s", resp.Status)
	}
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	value, found, ours := 0.0, false, false
	for sc.Scan() {
		line := sc.Text()
		ours = ours || strings.HasPrefix(line, "gatehouse_build_info")
		if v, ok := strings.CutPrefix(line, series+" "); ok && !found {
			n, err := strconv.ParseFloat(v, 64)
			if err != nil {
				t.Fatalf("/metrics: %s: %v", line, err)
			}
			value, found = n, true
		}
	}
	if !ours {
		t.Fatal("/metrics is not the server's: no gatehouse_build_info")
	}
	return value, found
}
