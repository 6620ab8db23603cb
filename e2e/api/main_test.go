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
