package pushprotect

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// The tests below push with real git to a real bare repository whose
// pre-receive hook is this test binary: git runs it inside receive-pack,
// with the quarantine, and it hands its directory, environment and input
// over a socket to the test, which runs the hook in process (with the
// fakes of guard_test.go) while git waits, and relays the answer.

const hookSocketEnv = "PUSHPROTECT_TEST_HOOK_SOCKET"

func TestMain(m *testing.M) {
	if sock := os.Getenv(hookSocketEnv); sock != "" {
		os.Exit(relayHook(sock))
	}
	os.Exit(m.Run())
}

// hookCall is what git gave the hook; hookAnswer what the hook says.
type hookCall struct {
	Dir   string
	Env   []string
	Stdin []byte
}

type hookAnswer struct {
	Out  string
	Code int
}

// relayHook is main when git runs the test binary as pre-receive.
func relayHook(sock string) int {
	stdin, err := io.ReadAll(os.Stdin)
	if err != nil {
		fmt.Fprintln(os.Stderr, "relay:", err)
		return 2
	}
	dir, _ := os.Getwd()
	conn, err := net.Dial("unix", sock)
	if err != nil {
		fmt.Fprintln(os.Stderr, "relay:", err)
		return 2
	}
	defer conn.Close()
	if err := json.NewEncoder(conn).Encode(hookCall{Dir: dir, Env: os.Environ(), Stdin: stdin}); err != nil {
		fmt.Fprintln(os.Stderr, "relay:", err)
		return 2
	}
	var ans hookAnswer
	if err := json.NewDecoder(conn).Decode(&ans); err != nil {
		fmt.Fprintln(os.Stderr, "relay:", err)
		return 2
	}
	os.Stderr.WriteString(ans.Out)
	return ans.Code
}

// server is a bare repository that runs the hook on every push: the
// Scanner (its findings kept for the test) and then the whole Hook over
// the instance.
type server struct {
	*repo
	in *instance

	mu       sync.Mutex
	scanner  Scanner
	findings []Finding
	stats    Stats
	scanErr  error
	hookEnv  []string
}

func newServer(t *testing.T, in *instance) *server {
	t.Helper()
	sv := &server{repo: newRepo(t), in: in}
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	// A short directory: a socket's path has a small limit.
	sockDir, err := os.MkdirTemp("", "pp")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(sockDir) })
	sock := filepath.Join(sockDir, "s")
	ln, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			go sv.serve(conn)
		}
	}()
	hooks := filepath.Join(t.TempDir(), "hooks")
	os.MkdirAll(hooks, 0o755)
	script := "#!/bin/sh\n" + hookSocketEnv + "=" + shellQuote(sock) + " exec " + shellQuote(exe) + "\n"
	if err := os.WriteFile(filepath.Join(hooks, "pre-receive"), []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	sv.git(nil, "config", "core.hooksPath", hooks)
	return sv
}

func (sv *server) serve(conn net.Conn) {
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(2 * time.Minute))
	var c hookCall
	if err := json.NewDecoder(conn).Decode(&c); err != nil {
		return
	}
	ctx := context.Background()
	ups, _ := ParseUpdates(bytes.NewReader(c.Stdin))
	sv.mu.Lock()
	scanner := sv.scanner
	sv.mu.Unlock()
	f, st, err := scanner.Scan(ctx, c.Dir, c.Env, ups)
	sv.mu.Lock()
	sv.findings, sv.stats, sv.scanErr, sv.hookEnv = f, st, err, c.Env
	sv.mu.Unlock()
	h := &Hook{
		Scanner: scanner,
		Push:    Push{Repo: "alice/demo", PusherID: sv.in.bob.ID, Pusher: "bob", IP: "192.0.2.1", RequestID: "req1"},
		Guard:   func(context.Context) (*Guard, error) { return &Guard{Service: sv.in.svc}, nil },
	}
	var out bytes.Buffer
	ans := hookAnswer{}
	if err := h.Run(ctx, c.Dir, c.Env, bytes.NewReader(c.Stdin), &out); err != nil {
		ans.Code = 1
	}
	ans.Out = out.String()
	json.NewEncoder(conn).Encode(ans)
}

// scanned returns what the last push's scan found, by full token.
func (sv *server) scanned(t *testing.T) (map[string]Finding, Stats) {
	t.Helper()
	sv.mu.Lock()
	defer sv.mu.Unlock()
	if sv.scanErr != nil {
		t.Fatalf("scan: %v", sv.scanErr)
	}
	if getenv(sv.hookEnv, envQuarantine) == "" {
		t.Fatalf("git ran the hook without a quarantine")
	}
	return tokens(sv.findings), sv.stats
}

func (sv *server) head(t *testing.T, ref string) string {
	t.Helper()
	return sv.git(nil, "rev-parse", "--verify", "-q", ref)
}

// client is a clone of a server, where tests commit.
type client struct {
	t   *testing.T
	dir string
	env []string
}

func newClient(t *testing.T, sv *server) *client {
	t.Helper()
	c := &client{t: t, dir: filepath.Join(t.TempDir(), "w"),
		env: append(sv.env(), "GIT_AUTHOR_NAME=T", "GIT_AUTHOR_EMAIL=t@example.com", "GIT_COMMITTER_NAME=T", "GIT_COMMITTER_EMAIL=t@example.com")}
	c.run(nil, "", "clone", "-q", sv.dir, c.dir)
	return c
}

func (c *client) run(stdin []byte, dir string, args ...string) (string, error) {
	c.t.Helper()
	cmd := exec.Command("git", args...)
	cmd.Dir, cmd.Env = dir, c.env
	if stdin != nil {
		cmd.Stdin = bytes.NewReader(stdin)
	}
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	if err != nil {
		return out.String() + errb.String(), err
	}
	return strings.TrimSpace(out.String()), nil
}

func (c *client) git(stdin []byte, args ...string) string {
	c.t.Helper()
	out, err := c.run(stdin, c.dir, args...)
	if err != nil {
		c.t.Fatalf("git %v: %v\n%s", args, err, out)
	}
	return out
}

// commit writes files (path → content) in the work tree, commits them and
// returns the commit.
func (c *client) commit(msg string, files map[string][]byte) string {
	c.t.Helper()
	for p, data := range files {
		full := filepath.Join(c.dir, filepath.FromSlash(p))
		os.MkdirAll(filepath.Dir(full), 0o755)
		if err := os.WriteFile(full, data, 0o644); err != nil {
			c.t.Fatal(err)
		}
	}
	c.git(nil, "add", "-A")
	c.git(nil, "commit", "-q", "-m", msg)
	return c.git(nil, "rev-parse", "HEAD")
}

// push runs git push and returns its output; rejected reports whether
// the push failed.
func (c *client) push(args ...string) (out string, rejected bool) {
	c.t.Helper()
	out, err := c.run(nil, c.dir, append([]string{"push"}, args...)...)
	return out, err != nil
}

// sendPack sends update ("OLD NEW REF") with a pack of exactly objects,
// built in the client, straight to git receive-pack on the server (git
// push's local transport, without git push choosing the objects): a
// client can make a push carry objects that no pushed ref reaches. It
// returns receive-pack's report and what the hook wrote.
func (c *client) sendPack(sv *server, update string, objects []string) (report, hookOut string) {
	c.t.Helper()
	pack := exec.Command("git", "pack-objects", "-q", "--stdout")
	pack.Dir, pack.Env = c.dir, c.env
	pack.Stdin = strings.NewReader(strings.Join(objects, "\n") + "\n")
	packData, err := pack.Output()
	if err != nil {
		c.t.Fatalf("git pack-objects: %v", err)
	}
	rp := exec.Command("git", "receive-pack", sv.dir)
	rp.Env = sv.env()
	in, _ := rp.StdinPipe()
	out, _ := rp.StdoutPipe()
	var stderr bytes.Buffer
	rp.Stderr = &stderr
	if err := rp.Start(); err != nil {
		c.t.Fatal(err)
	}
	br := newPktReader(out)
	for { // the ref advertisement, up to a flush
		line, err := br.next()
		if err != nil {
			c.t.Fatalf("receive-pack advertisement: %v\n%s", err, stderr.String())
		}
		if line == nil {
			break
		}
	}
	caps := "report-status"
	if strings.IndexByte(update, ' ') == 64 {
		caps += " object-format=sha256"
	}
	cmd := update + "\x00" + caps + "\n"
	fmt.Fprintf(in, "%04x%s", len(cmd)+4, cmd)
	io.WriteString(in, "0000")
	in.Write(packData)
	in.Close()
	rest, _ := io.ReadAll(out)
	rp.Wait()
	return string(rest), stderr.String()
}

type pktReader struct{ r io.Reader }

func newPktReader(r io.Reader) *pktReader { return &pktReader{r} }

// next returns the next pkt-line, nil for a flush.
func (p *pktReader) next() ([]byte, error) {
	var hdr [4]byte
	if _, err := io.ReadFull(p.r, hdr[:]); err != nil {
		return nil, err
	}
	var n int
	if _, err := fmt.Sscanf(string(hdr[:]), "%04x", &n); err != nil {
		return nil, err
	}
	if n == 0 {
		return nil, nil
	}
	b := make([]byte, n-4)
	_, err := io.ReadFull(p.r, b)
	return b, err
}

// noSecrets fails when s holds any of toks, whole or without its prefix
// and last eight characters (what the messages show).
func noSecrets(t *testing.T, what, s string, toks ...string) {
	t.Helper()
	for _, tok := range toks {
		if strings.Contains(s, tok[4:len(tok)-8]) {
			t.Errorf("%s shows token …%s:\n%s", what, tok[len(tok)-8:], s)
		}
	}
}
