// Package api_test drives the built gatehouse binary over HTTPS on loopback
// with the real clients the API promises to serve unchanged: the GitHub
// CLI (gh), go-github and Octokit.
//
// A client that is not installed fails the test when CI=true and skips it
// otherwise, loudly. CI installs them with:
//
//	apt-get install -y gh git
//	npm ci --prefix e2e/api/octokit
//
// Node.js 20 or newer must be on PATH for Octokit (@octokit/rest 22).
package api_test

import (
	"context"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gatehouse/gatehouse/internal/testenv"
)

// server is a running gatehouse serve --tls-self-signed with a site admin
// alice. Its URL (https://127.0.0.1:PORT) is the one the server puts in
// responses; base and host name it as the clients do.
type server struct {
	*testenv.Server
	// base is https://localhost:PORT; host is localhost:PORT.
	base, host string
}

// startServer runs the binary on a random loopback port with its own data
// directory, with an admin user alice, and stops it when the test ends.
// The log is checked for secrets at the end.
func startServer(t *testing.T, args ...string) *server {
	t.Helper()
	s := &server{Server: testenv.Start(t, testenv.Options{TLS: true, Args: args})}
	s.CreateUser("alice", true)
	_, port, err := net.SplitHostPort(s.Host)
	if err != nil {
		t.Fatal(err)
	}
	s.host = "localhost:" + port
	s.base = "https://" + s.host
	return s
}

// run runs a program with env and returns its output, failing the test
// when it exits non-zero.
func run(t *testing.T, ctx context.Context, dir string, env []string, stdin string, name string, args ...string) string {
	t.Helper()
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Dir = dir
	cmd.Env = env
	if stdin != "" {
		cmd.Stdin = strings.NewReader(stdin)
	}
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
	}
	return string(out)
}

// baseEnv is a minimal environment: PATH and the given variables, so that
// nothing from the developer's own configuration leaks in.
func baseEnv(extra ...string) []string {
	env := []string{"PATH=" + os.Getenv("PATH"), "LANG=C.UTF-8"}
	if v := os.Getenv("TMPDIR"); v != "" {
		env = append(env, "TMPDIR="+v)
	}
	return append(env, extra...)
}

// createOrg makes the organization name with owner as its first owner,
// through `gatehouse admin org create` when the binary has that command,
// else through GHES's POST /api/v3/admin/organizations with adminToken (a
// site administrator's token with site_admin).
func createOrg(t *testing.T, s *server, name, owner, adminToken string) {
	t.Helper()
	_, stderr, err := s.AdminResult("org", "create", name, "--owner", owner)
	if err == nil {
		return
	}
	if !strings.Contains(stderr, "unknown admin command") {
		t.Fatalf("gatehouse admin org create %s --owner %s: %v\n%s", name, owner, err, stderr)
	}
	body := `{"login":"` + name + `","admin":"` + owner + `"}`
	if code, _, out := call(t, s.Client(t), "POST", s.URL+"/api/v3/admin/organizations", adminToken, body); code != 201 {
		t.Fatalf("POST /admin/organizations: %d %s", code, out)
	}
}

// ghSession is the GitHub CLI logged in to the server as one user, with
// its own HOME and configuration.
type ghSession struct {
	t    *testing.T
	ctx  context.Context
	gh   string
	env  []string
	work string
}

// newGH logs gh in with token (gh auth login --with-token) in a fresh
// configuration.
func newGH(t *testing.T, ctx context.Context, s *server, gh, token string) *ghSession {
	t.Helper()
	tmp := t.TempDir()
	home, work := filepath.Join(tmp, "home"), filepath.Join(tmp, "work")
	for _, d := range []string{home, work} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			t.Fatal(err)
		}
	}
	g := &ghSession{t: t, ctx: ctx, gh: gh, work: work, env: baseEnv(
		"HOME="+home,
		"GH_CONFIG_DIR="+filepath.Join(tmp, "gh"),
		"SSL_CERT_FILE="+s.CAFile,
		"GIT_SSL_CAINFO="+s.CAFile,
		"GH_NO_UPDATE_NOTIFIER=1", "GH_PROMPT_DISABLED=1", "NO_COLOR=1",
		"GIT_TERMINAL_PROMPT=0", "GIT_CONFIG_NOSYSTEM=1",
	)}
	// gh refuses host:port in --hostname, so the host comes from GH_HOST.
	run(t, ctx, work, append(append([]string{}, g.env...), "GH_HOST="+s.host), token+"\n", gh, "auth", "login", "--with-token")
	return g
}

// run runs gh with args in the session's work directory and returns its
// output, failing the test on a non-zero exit.
func (g *ghSession) run(args ...string) string {
	g.t.Helper()
	return run(g.t, g.ctx, g.work, g.env, "", g.gh, args...)
}

// fail runs gh expecting a non-zero exit and returns its output.
func (g *ghSession) fail(args ...string) string {
	g.t.Helper()
	cmd := exec.CommandContext(g.ctx, g.gh, args...)
	cmd.Env, cmd.Dir = g.env, g.work
	out, err := cmd.CombinedOutput()
	if err == nil {
		g.t.Fatalf("gh %s succeeded, want a failure:\n%s", strings.Join(args, " "), out)
	}
	return string(out)
}
