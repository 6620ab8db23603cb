// Package web drives the web UI of the built gatehouse binary in a real
// Chromium (Debian's /usr/bin/chromium through the DevTools protocol),
// together with real git, the way a person following the personal access
// token documentation would: set up, sign in, avatar menu → Settings →
// Developer settings → Personal access tokens, generate, copy, use, delete.
//
// Chromium and git are required. Under CI=true a missing one fails the
// tests; elsewhere they are skipped with a message saying what to install.
// Screenshots go to $GATEHOUSE_ARTIFACTS, default artifacts/screenshots at
// the module root (ignored by git, kept by CI as artifacts).
package web

import (
	"bufio"
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

var binary string // the gatehouse binary built by TestMain

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "gatehouse-e2e-web-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	binary = filepath.Join(dir, "gatehouse")
	build := exec.Command("go", "build", "-o", binary, "./cmd/gatehouse")
	build.Dir = moduleRoot()
	if out, err := build.CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "go build ./cmd/gatehouse: %v\n%s", err, out)
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

// require returns the path of a program the tests cannot do without. When
// it is missing the test fails under CI=true and is skipped, loudly,
// elsewhere.
func require(t *testing.T, what, install string, candidates ...string) string {
	t.Helper()
	for _, c := range candidates {
		if c == "" {
			continue
		}
		if p, err := exec.LookPath(c); err == nil {
			return p
		}
	}
	msg := fmt.Sprintf("%s not found (looked for %s); install it with: %s", what, strings.Join(candidates, ", "), install)
	if os.Getenv("CI") == "true" {
		t.Fatal(msg)
	}
	fmt.Fprintf(os.Stderr, "\n*** SKIPPING browser tests: %s ***\n\n", msg)
	t.Skip(msg)
	return ""
}

func chromium(t *testing.T) string {
	return require(t, "Chromium", "apt-get install -y chromium", os.Getenv("GATEHOUSE_CHROMIUM"), "/usr/bin/chromium", "chromium")
}

func gitPath(t *testing.T) string {
	return require(t, "git", "apt-get install -y git", "git")
}

// artifacts returns the screenshot folder, creating it.
func artifacts(t *testing.T) string {
	dir := os.Getenv("GATEHOUSE_ARTIFACTS")
	if dir == "" {
		dir = filepath.Join(moduleRoot(), "artifacts", "screenshots")
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

// server is a running gatehouse serve.
type server struct {
	Base     string
	SetupURL string
	Data     string

	mu  sync.Mutex
	log strings.Builder
}

// Log returns everything the server wrote to stderr so far.
func (s *server) Log() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.log.String()
}

var (
	listenRe = regexp.MustCompile(`listening on (https?://\S+)`)
	setupRe  = regexp.MustCompile(`(https?://\S+/setup\?code=[0-9a-f]+)`)
)

// startServer runs serve on a free loopback port with a fresh data dir and
// waits for it to announce its URL and setup link.
func startServer(t *testing.T) *server {
	t.Helper()
	s := &server{Data: t.TempDir()}
	ctx, cancel := context.WithCancel(context.Background())
	cmd := exec.CommandContext(ctx, binary, "serve", "--listen", "127.0.0.1:0")
	cmd.Env = append(os.Environ(), "GATEHOUSE_DATA="+s.Data)
	cmd.Cancel = func() error { return cmd.Process.Signal(os.Interrupt) }
	cmd.WaitDelay = 10 * time.Second
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stdout = io.Discard
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cancel()
		_ = cmd.Wait()
	})
	ready := make(chan struct{})
	go func() {
		sc := bufio.NewScanner(stderr)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		announced := false
		for sc.Scan() {
			line := sc.Text()
			s.mu.Lock()
			s.log.WriteString(line + "\n")
			if m := setupRe.FindStringSubmatch(line); m != nil {
				s.SetupURL = m[1]
			}
			if m := listenRe.FindStringSubmatch(line); m != nil && !announced {
				s.Base, announced = m[1], true
				close(ready)
			}
			s.mu.Unlock()
		}
	}()
	select {
	case <-ready:
	case <-time.After(20 * time.Second):
		t.Fatalf("server did not start; it said:\n%s", s.Log())
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.SetupURL == "" {
		t.Fatalf("server printed no setup link:\n%s", s.log.String())
	}
	return s
}

// admin runs "gatehouse admin …" against the server's data dir.
func (s *server) admin(t *testing.T, args ...string) string {
	t.Helper()
	cmd := exec.Command(binary, append([]string{"admin"}, args...)...)
	cmd.Env = append(os.Environ(), "GATEHOUSE_DATA="+s.Data)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("gatehouse admin %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out)
}
