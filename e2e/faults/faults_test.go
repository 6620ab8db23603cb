// Package faults_test breaks things under running gatehouse servers — the
// server killed with SIGKILL in the middle of a push, PostgreSQL restarted
// under two serving nodes, the disk filling up during a push — and checks
// that what is left on disk and in the database is consistent, that the
// clients were told clearly, and that service resumes by itself.
//
// The tests use the built binary (internal/testenv), real git and, for the
// database restart, a PostgreSQL cluster of their own started with
// .ci/postgres.sh (so that stopping it cannot break other packages running
// at the same time). The full-disk test mounts a filesystem and so needs
// root: CI runs as root and fails without it; a local run as another user
// skips it loudly.
package faults_test

import (
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/testenv"
)

// call sends a request with a token (none when tok is "") and returns the
// status and body.
func call(t *testing.T, s *testenv.Server, method, path, tok string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(method, s.URL+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	if tok != "" {
		req.Header.Set("Authorization", "token "+tok)
	}
	c := s.Client(t)
	c.Timeout = 20 * time.Second
	resp, err := c.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body)
}

// apiRepo is what the tests read of GET /api/v3/repos/OWNER/NAME.
type apiRepo struct {
	ID       int64  `json:"id"`
	FullName string `json:"full_name"`
	PushedAt string `json:"pushed_at"`
}

// repo reads owner/name through the API and fails the test unless it is
// served.
func repo(t *testing.T, s *testenv.Server, full, tok string) apiRepo {
	t.Helper()
	code, body := call(t, s, "GET", "/api/v3/repos/"+full, tok)
	if code != http.StatusOK {
		t.Fatalf("GET /api/v3/repos/%s = %d %s", full, code, body)
	}
	var r apiRepo
	if err := json.Unmarshal([]byte(body), &r); err != nil || r.ID == 0 {
		t.Fatalf("GET /api/v3/repos/%s: %v %s", full, err, body)
	}
	return r
}

// repoDir is where the server keeps repository id (gitrepo.Dir.Path).
func repoDir(data string, id int64) string {
	return filepath.Join(data, "repositories", strconv.FormatInt(id, 10)+".git")
}

// checkRepo fails the test unless the bare repository dir is sound: git
// fsck --full finds nothing wrong, and every ref names an object that is
// there. It returns the refs (name → object).
func checkRepo(t *testing.T, g *testenv.Git, dir string) map[string]string {
	t.Helper()
	r := g.Run(dir, "fsck", "--full", "--strict", "--no-dangling", "--no-progress")
	if r.Err != nil || strings.TrimSpace(r.Stdout+r.Stderr) != "" {
		t.Errorf("git fsck --full in %s: %v\n%s%s", dir, r.Err, r.Stdout, r.Stderr)
	}
	refs := map[string]string{}
	out := g.MustRun(dir, "for-each-ref", "--format=%(objectname) %(refname)")
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		if line == "" {
			continue
		}
		obj, name, _ := strings.Cut(line, " ")
		refs[name] = obj
		if r := g.Run(dir, "cat-file", "-e", obj+"^{commit}"); r.Err != nil {
			t.Errorf("%s points at %s, which is not a commit in the repository: %s", name, obj, r.Stderr)
		}
	}
	return refs
}

// leftovers lists what interrupted git processes leave in a repository:
// quarantine directories of pushes that never finished, temporary pack
// files and lock files. None of them makes the repository inconsistent;
// a lock file does block the next update of its ref.
func leftovers(dir string) (quarantines, temps, locks []string) {
	filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return nil
		}
		rel, _ := filepath.Rel(dir, p)
		switch name := d.Name(); {
		case d.IsDir() && strings.HasPrefix(name, "tmp_objdir"):
			quarantines = append(quarantines, rel)
			return filepath.SkipDir
		case strings.HasSuffix(name, ".lock"):
			locks = append(locks, rel)
		case strings.HasPrefix(name, "tmp_") || strings.HasPrefix(name, ".tmp-"):
			temps = append(temps, rel)
		}
		return nil
	})
	return
}

// proc is a process seen in /proc.
type proc struct {
	pid     int
	cmdline string // arguments joined by spaces
	cwd     string
}

// processesIn lists the live processes whose working directory is dir or
// inside it: the git processes a server runs for a repository (git runs
// receive-pack, index-pack and the hooks there) whoever their parent is
// now.
func processesIn(dir string) []proc {
	entries, _ := os.ReadDir("/proc")
	var out []proc
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || pid == os.Getpid() {
			continue
		}
		cwd, err := os.Readlink(filepath.Join("/proc", e.Name(), "cwd"))
		if err != nil || (cwd != dir && !strings.HasPrefix(cwd, dir+"/")) {
			continue
		}
		stat, err := os.ReadFile(filepath.Join("/proc", e.Name(), "stat"))
		if err != nil {
			continue
		}
		// The state follows the parenthesized command name.
		if i := strings.LastIndexByte(string(stat), ')'); i < 0 || i+2 >= len(stat) || stat[i+2] == 'Z' {
			continue
		}
		cmd, _ := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
		out = append(out, proc{pid: pid, cmdline: strings.TrimSpace(strings.ReplaceAll(string(cmd), "\x00", " ")), cwd: cwd})
	}
	return out
}

// waitNoProcesses waits until no process works in dir and fails the test
// with the ones left after timeout.
func waitNoProcesses(t *testing.T, dir string, timeout time.Duration) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		ps := processesIn(dir)
		if len(ps) == 0 {
			return
		}
		if time.Now().After(deadline) {
			var lines []string
			for _, p := range ps {
				lines = append(lines, fmt.Sprintf("  pid %d: %s (in %s)", p.pid, p.cmdline, p.cwd))
			}
			t.Fatalf("git processes still running in %s %v after the server died:\n%s", dir, timeout, strings.Join(lines, "\n"))
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// writeRandom writes n bytes that do not compress (so that a push of them
// is as large as they are) from a seeded generator.
func writeRandom(t *testing.T, path string, seed uint64, n int) {
	t.Helper()
	b := make([]byte, n)
	rng := rand.NewChaCha8([32]byte{byte(seed), byte(seed >> 8), byte(seed >> 16)})
	rng.Read(b)
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

// commitRandom adds files random files of size bytes each to the work tree
// dir, one commit per file, and returns the new HEAD.
func commitRandom(t *testing.T, g *testenv.Git, dir, prefix string, seed uint64, files, size int) string {
	t.Helper()
	for i := range files {
		name := fmt.Sprintf("%s-%d.bin", prefix, i)
		writeRandom(t, filepath.Join(dir, name), seed*1000+uint64(i), size)
		g.MustRun(dir, "add", name)
		g.MustRun(dir, "commit", "-q", "-m", name)
	}
	return strings.TrimSpace(g.MustRun(dir, "rev-parse", "HEAD"))
}

// remoteRef returns the object ref names on the server, or "".
func remoteRef(t *testing.T, g *testenv.Git, url, ref string) string {
	t.Helper()
	out := g.MustRun("", "ls-remote", url, ref)
	for _, line := range strings.Split(out, "\n") {
		if obj, name, ok := strings.Cut(line, "\t"); ok && name == ref {
			return obj
		}
	}
	return ""
}

// pauseProxy forwards TCP connections to target and, once armed, stops
// forwarding what clients send after a given number of bytes, so that a
// test can act at a known point of a request body.
type pauseProxy struct {
	t      *testing.T
	target string
	ln     net.Listener

	sent      atomic.Int64 // client → server bytes since armed
	threshold atomic.Int64 // 0: not armed
	paused    chan struct{}
	pauseOnce sync.Once

	mu    sync.Mutex
	conns []net.Conn
}

func newPauseProxy(t *testing.T, target string) *pauseProxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &pauseProxy{t: t, target: target, ln: ln, paused: make(chan struct{})}
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go p.forward(c)
		}
	}()
	t.Cleanup(p.close)
	return p
}

// URL returns the proxied form of a server URL.
func (p *pauseProxy) URL(serverURL string) string {
	return strings.Replace(serverURL, p.target, p.ln.Addr().String(), 1)
}

// arm makes the proxy pause once n more bytes have gone to the server; the
// returned channel is closed when it does.
func (p *pauseProxy) arm(n int64) <-chan struct{} {
	p.sent.Store(0)
	p.threshold.Store(n)
	return p.paused
}

func (p *pauseProxy) forward(c net.Conn) {
	up, err := net.Dial("tcp", p.target)
	if err != nil {
		c.Close()
		return
	}
	p.mu.Lock()
	p.conns = append(p.conns, c, up)
	p.mu.Unlock()
	go func() {
		io.Copy(c, up)
		c.Close()
	}()
	buf := make([]byte, 16<<10)
	for {
		n, err := c.Read(buf)
		if n > 0 {
			chunk := buf[:n]
			if th := p.threshold.Load(); th > 0 {
				total := p.sent.Add(int64(n))
				if total >= th {
					// Send up to the threshold, then hold the rest
					// until the proxy is closed.
					if keep := int64(n) - (total - th); keep > 0 {
						up.Write(chunk[:keep])
					}
					p.pauseOnce.Do(func() { close(p.paused) })
					return
				}
			}
			if _, err := up.Write(chunk); err != nil {
				return
			}
		}
		if err != nil {
			up.(*net.TCPConn).CloseWrite()
			return
		}
	}
}

// close ends every connection: the client sees its request fail.
func (p *pauseProxy) close() {
	p.ln.Close()
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, c := range p.conns {
		c.Close()
	}
	p.conns = nil
}
