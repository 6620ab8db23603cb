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
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"
)

// bin is the gatehouse binary, built once by TestMain.
var bin string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "gatehouse-e2e-api-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	bin = filepath.Join(dir, "gatehouse")
	build := exec.Command("go", "build", "-o", bin, "./cmd/gatehouse")
	build.Dir = moduleRoot()
	if out, err := build.CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "go build ./cmd/gatehouse: %v\n%s", err, out)
		os.RemoveAll(dir)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

func moduleRoot() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Clean(filepath.Join(filepath.Dir(file), "..", ".."))
}

// require returns the path of program, failing under CI=true and skipping
// (loudly) otherwise when it is missing.
func require(t *testing.T, program, install string) string {
	t.Helper()
	p, err := exec.LookPath(program)
	if err == nil {
		return p
	}
	if os.Getenv("CI") == "true" {
		t.Fatalf("%s is not installed, and CI=true: install it (%s)", program, install)
	}
	t.Skipf("SKIPPING %s: %s is not installed (install: %s); CI fails without it", t.Name(), program, install)
	return ""
}

// server is a running gatehouse serve --tls-self-signed.
type server struct {
	t    *testing.T
	data string
	// base is https://localhost:PORT; host is localhost:PORT; external is
	// the URL the server puts in responses (https://127.0.0.1:PORT).
	base, host, external string
	caFile               string
	cmd                  *exec.Cmd
	mu                   sync.Mutex
	log                  bytes.Buffer
	secrets              []string
}

var listenRE = regexp.MustCompile(`listening on https://127\.0\.0\.1:(\d+)`)

// startServer runs the binary on a random loopback port with its own data
// directory, with an admin user alice, and stops it when the test ends.
// The log is checked for secrets at the end.
func startServer(t *testing.T, args ...string) *server {
	t.Helper()
	s := &server{t: t, data: filepath.Join(t.TempDir(), "data")}
	s.admin("user", "create", "--username", "alice", "--email", "alice@example.com", "--admin")
	cmdArgs := append([]string{"serve", "--listen", "127.0.0.1:0", "--tls-self-signed", "--data", s.data}, args...)
	s.cmd = exec.Command(bin, cmdArgs...)
	s.cmd.Env = append(os.Environ(), "GATEHOUSE_DATA="+s.data)
	stderr, err := s.cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := s.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	port := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stderr)
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		sent := false
		for sc.Scan() {
			s.mu.Lock()
			s.log.WriteString(sc.Text() + "\n")
			s.mu.Unlock()
			if m := listenRE.FindStringSubmatch(sc.Text()); m != nil && !sent {
				port <- m[1]
				sent = true
			}
		}
		io.Copy(io.Discard, stderr)
	}()
	select {
	case p := <-port:
		s.host = "localhost:" + p
		s.base = "https://" + s.host
		s.external = "https://127.0.0.1:" + p
	case <-time.After(30 * time.Second):
		s.cmd.Process.Kill()
		t.Fatalf("server did not start:\n%s", s.logText())
	}
	s.caFile = filepath.Join(s.data, "tls", "ca.pem")
	t.Cleanup(func() {
		s.cmd.Process.Signal(os.Interrupt)
		done := make(chan struct{})
		go func() { s.cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			s.cmd.Process.Kill()
			<-done
		}
		logText := s.logText()
		for _, sec := range s.secrets {
			if strings.Contains(logText, sec) {
				t.Errorf("a secret reached the server log")
			}
		}
		if t.Failed() {
			t.Logf("server log:\n%s", logText)
		}
	})
	return s
}

func (s *server) logText() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.log.String()
}

// admin runs a gatehouse admin command against the server's data dir and
// returns its standard output.
func (s *server) admin(args ...string) string {
	s.t.Helper()
	cmd := exec.Command(bin, append([]string{"admin"}, args...)...)
	cmd.Env = append(os.Environ(), "GATEHOUSE_DATA="+s.data)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		s.t.Fatalf("gatehouse admin %s: %v\n%s", strings.Join(args, " "), err, stderr.String())
	}
	return stdout.String()
}

// token creates a token for user and remembers it as a secret.
func (s *server) token(user, note, scopes, expires string) string {
	s.t.Helper()
	tok := strings.TrimSpace(s.admin("token", "create", "--user", user, "--note", note, "--scopes", scopes, "--expires", expires))
	s.secrets = append(s.secrets, tok)
	return tok
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
