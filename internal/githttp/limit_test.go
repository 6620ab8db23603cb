package githttp_test

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/githttp"
	"github.com/gatehouse/gatehouse/internal/httpx"
	"github.com/gatehouse/gatehouse/internal/testenv"
)

// These tests reproduce the slow-body attack of issue 8 over loopback:
// POSTs to git-upload-pack that announce a 10 MB body and then send
// nothing (or a few bytes), each of which used to keep a git process
// alive for as long as the client kept its socket open.

// live is a test environment served over real loopback connections, so
// that read deadlines, client addresses and git's own client are real.
type live struct {
	*env
	srv  *httptest.Server
	addr string // host:port
	log  *lockedBuffer
}

// newLive starts e's handler on a loopback listener, behind the same
// logging middleware as in production (its ResponseWriter must let the
// deadlines through). wrap, if set, sees every request first.
func newLive(t *testing.T, e *env, wrap func(http.Handler) http.Handler) *live {
	t.Helper()
	lb := &lockedBuffer{}
	log := slog.New(slog.NewTextHandler(lb, nil))
	e.h.Log = log
	var h http.Handler = httpx.Logging(log, e.h)
	if wrap != nil {
		h = wrap(h)
	}
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return &live{env: e, srv: srv, addr: srv.Listener.Addr().String(), log: lb}
}

// lockedBuffer is a log the server's goroutines write while the test reads.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

// stall opens a connection from the loopback address from and sends the
// head of a POST to git-upload-pack announcing a 10 MB body, then only
// send. The connection stays open until the test ends.
func (l *live) stall(t *testing.T, from, send string) net.Conn {
	t.Helper()
	c, err := l.dialStall(from, send)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func (l *live) dialStall(from, send string) (net.Conn, error) {
	d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(from)}, Timeout: 5 * time.Second}
	c, err := d.Dial("tcp", l.addr)
	if err != nil {
		return nil, fmt.Errorf("dial from %s: %w", from, err)
	}
	_, err = fmt.Fprintf(c, "POST /alice/secret.git/git-upload-pack HTTP/1.1\r\nHost: %s\r\nAuthorization: %s\r\n"+
		"Content-Type: application/x-git-upload-pack-request\r\nX-Test-Stall: 1\r\nContent-Length: 10000000\r\n\r\n%s",
		l.addr, basic("alice", l.token), send)
	if err != nil {
		c.Close()
		return nil, err
	}
	return c, nil
}

// request sends r from the loopback address from and returns the answer.
func (l *live) request(t *testing.T, from string, r *http.Request) (*http.Response, string) {
	t.Helper()
	tr := &http.Transport{DialContext: (&net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(from)}}).DialContext}
	defer tr.CloseIdleConnections()
	resp, err := (&http.Client{Transport: tr, Timeout: 10 * time.Second}).Do(r)
	if err != nil {
		t.Fatalf("%s %s from %s: %v", r.Method, r.URL.Path, from, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

// It asks for receive-pack's: upload-pack's is answered without a
// process, so no limit applies to it.
func (l *live) infoRefs(t *testing.T, from string) (*http.Response, string) {
	r, _ := http.NewRequest("GET", l.srv.URL+"/alice/secret.git/info/refs?service=git-receive-pack", nil)
	r.Header.Set("Authorization", basic("alice", l.token))
	return l.request(t, from, r)
}

// lsRefs is a complete protocol v2 ls-refs request that git must answer:
// it has more ref-prefix arguments than the handler answers without git.
func (l *live) lsRefs(t *testing.T, from string) (*http.Response, string) {
	body := "0014command=ls-refs\n0001" + strings.Repeat("0011ref-prefix x\n", 70) + "0000"
	r, _ := http.NewRequest("POST", l.srv.URL+"/alice/secret.git/git-upload-pack", strings.NewReader(body))
	r.Header.Set("Authorization", basic("alice", l.token))
	r.Header.Set("Content-Type", "application/x-git-upload-pack-request")
	r.Header.Set("Git-Protocol", "version=2")
	return l.request(t, from, r)
}

// gitChildren counts the git processes this test process started that
// have not been reaped, by their parent in /proc: what the handler's own
// counter says is checked against what the kernel says.
func gitChildren(t *testing.T) int {
	t.Helper()
	ents, err := os.ReadDir("/proc")
	if err != nil {
		t.Skipf("SKIPPING: no /proc to count processes: %v", err)
	}
	me, n := os.Getpid(), 0
	for _, e := range ents {
		if _, err := strconv.Atoi(e.Name()); err != nil {
			continue
		}
		stat, err := os.ReadFile(filepath.Join("/proc", e.Name(), "stat"))
		if err != nil {
			continue // gone meanwhile
		}
		// pid (comm) state ppid …; comm may hold spaces and parentheses.
		s := string(stat)
		i := strings.LastIndexByte(s, ')')
		if i < 0 || !strings.HasPrefix(s[strings.IndexByte(s, '(')+1:], "git") {
			continue
		}
		f := strings.Fields(s[i+1:])
		if len(f) > 1 && f[1] == strconv.Itoa(me) {
			n++
		}
	}
	return n
}

// waitFor polls cond until it holds, failing the test after limit. The
// limit bounds the test; it is not a measurement.
func waitFor(t *testing.T, limit time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(limit)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("after %v: %s", limit, what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// status reads the status line the server sent on c, waiting at most
// limit; "" when the connection closed without an answer.
func status(t *testing.T, c net.Conn, limit time.Duration) string {
	t.Helper()
	line, answered := answer(c, limit)
	if !answered {
		t.Fatalf("no answer within %v", limit)
	}
	return line
}

// answer is status without the test: answered is false when nothing came
// within limit.
func answer(c net.Conn, limit time.Duration) (line string, answered bool) {
	c.SetReadDeadline(time.Now().Add(limit))
	line, err := bufio.NewReader(c).ReadString('\n')
	if err != nil && line == "" {
		if ne, ok := err.(net.Error); ok && ne.Timeout() {
			return "", false
		}
	}
	return strings.TrimSpace(line), true
}

func TestSlowBodyStopsGit(t *testing.T) {
	const conns = 40
	for _, tt := range []struct {
		name string
		send string // what each client sends of its 10 MB body
		// started: whether git runs at all before the client stalls.
		started bool
	}{
		// Nothing: no git process is spent on a request that has not begun.
		{"nothing", "", false},
		// The start of a pkt-line: git starts, waits for the rest, and is
		// stopped when the idle timeout passes.
		{"a few bytes", "0032want ", true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t)
			e.h.IdleTimeout = 300 * time.Millisecond
			e.h.Limits = githttp.Limits{Processes: 2 * conns, PerClient: 2 * conns} // the deadline alone
			l := newLive(t, e, nil)
			before := gitChildren(t)
			var cs []net.Conn
			for i := 0; i < conns; i++ {
				cs = append(cs, l.stall(t, "127.0.0.1", tt.send))
			}
			if !tt.started {
				if n := e.h.Processes(); n != 0 {
					t.Errorf("%d git processes for requests that sent no body", n)
				}
			}
			for i, c := range cs {
				if got := status(t, c, 10*time.Second); !strings.HasPrefix(got, "HTTP/1.1 408") && got != "" {
					t.Errorf("connection %d: %q, want 408 Request Timeout or a close", i, got)
				}
			}
			waitFor(t, 10*time.Second, "git processes still running after the idle timeout", func() bool {
				return e.h.Processes() == 0 && gitChildren(t) <= before
			})
			// Each request says how it ended: with its git process
			// stopped, or before one started.
			msg := "the client sent no body"
			if tt.started {
				msg = "git request stopped: the client stalled"
			}
			if n := strings.Count(l.log.String(), msg); n != conns {
				t.Errorf("%d requests logged %q, want %d:\n%s", n, msg, conns, l.log)
			}
		})
	}
}

// A client that sends a whole request and then reads none of the answer
// does not keep its git process either.
func TestSlowReaderStopsGit(t *testing.T) {
	e := newEnv(t)
	e.h.IdleTimeout = 300 * time.Millisecond
	l := newLive(t, e, nil)
	g := testenv.NewGit(t, "")
	work := t.TempDir()
	g.MustRun(work, "init", "-q")
	// Incompressible content: the answer must outgrow the socket buffers
	// (Linux lets a loopback sender's grow to 4 MiB).
	if err := os.WriteFile(filepath.Join(work, "noise"), randomBytes(t, 10<<20), 0o644); err != nil {
		t.Fatal(err)
	}
	g.MustRun(work, "add", "noise")
	g.MustRun(work, "commit", "-qm", "noise")
	push := "http://alice:" + l.token + "@" + l.addr + "/alice/secret.git"
	g.MustRun(work, "push", "-q", push, "HEAD:refs/heads/main")
	head := strings.TrimSpace(g.MustRun(work, "rev-parse", "HEAD"))

	c, err := net.Dial("tcp", l.addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if tc, ok := c.(*net.TCPConn); ok {
		tc.SetReadBuffer(4 << 10)
	}
	body := fmt.Sprintf("%04x%s", len("want "+head+"\n")+4, "want "+head+"\n") + "0000" + "0009done\n"
	fmt.Fprintf(c, "POST /alice/secret.git/git-upload-pack HTTP/1.1\r\nHost: %s\r\nAuthorization: %s\r\n"+
		"Content-Type: application/x-git-upload-pack-request\r\nContent-Length: %d\r\n\r\n%s", l.addr, basic("alice", l.token), len(body), body)
	waitFor(t, 10*time.Second, "git did not start", func() bool { return e.h.Processes() == 1 })
	waitFor(t, 10*time.Second, "git still running for a client that reads nothing", func() bool { return e.h.Processes() == 0 })
	if !strings.Contains(l.log.String(), "git request stopped: the client stalled") {
		t.Errorf("git ended, but not for the stalled client:\n%s", l.log)
	}
}

func randomBytes(t *testing.T, n int) []byte {
	f, err := os.Open("/dev/urandom")
	if err != nil {
		t.Skipf("SKIPPING: %v", err)
	}
	defer f.Close()
	b := make([]byte, n)
	if _, err := io.ReadFull(f, b); err != nil {
		t.Fatal(err)
	}
	return b
}

func TestProcessLimits(t *testing.T) {
	t.Run("per client", func(t *testing.T) {
		e := newEnv(t)
		e.h.IdleTimeout = time.Minute // the stalled requests hold their slots for the test
		e.h.Limits = githttp.Limits{Processes: 10, PerClient: 3}
		l := newLive(t, e, nil)
		for i := 0; i < 3; i++ {
			l.stall(t, "127.0.0.1", "0032want ")
		}
		waitFor(t, 10*time.Second, "3 git processes did not start", func() bool { return e.h.Processes() == 3 })

		// The 4th from the same address: info/refs is refused with 503,
		// Retry-After and a text/plain body, which git prints as "remote: …".
		resp, body := l.infoRefs(t, "127.0.0.1")
		if resp.StatusCode != 503 || resp.Header.Get("Retry-After") == "" || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/plain") ||
			!strings.Contains(body, "Too many git operations from your address") {
			t.Errorf("info/refs over the client's limit: %d, Retry-After %q, %q, %q", resp.StatusCode, resp.Header.Get("Retry-After"), resp.Header.Get("Content-Type"), body)
		}
		// An RPC is answered with an ERR pkt-line, which git prints as
		// "fatal: remote error: …" (it ignores the body of a 503 there).
		resp, body = l.lsRefs(t, "127.0.0.1")
		if resp.StatusCode != 200 || resp.Header.Get("Retry-After") == "" || !strings.HasPrefix(body[4:], "ERR Too many git operations from your address") ||
			body[:4] != fmt.Sprintf("%04x", len(body)) {
			t.Errorf("upload-pack over the client's limit: %d, Retry-After %q, %q", resp.StatusCode, resp.Header.Get("Retry-After"), body)
		}
		// Another address has an allowance of its own.
		if resp, body := l.infoRefs(t, "127.0.0.2"); resp.StatusCode != 200 {
			t.Errorf("info/refs from another address: %d %q", resp.StatusCode, body)
		}
		if resp, body := l.lsRefs(t, "127.0.0.2"); resp.StatusCode != 200 || body != "0000" {
			t.Errorf("upload-pack from another address: %d %q", resp.StatusCode, body)
		}
		if n := e.h.Processes(); n != 3 {
			t.Errorf("%d processes after the others finished, want the 3 stalled", n)
		}
	})
	t.Run("server", func(t *testing.T) {
		e := newEnv(t)
		e.h.IdleTimeout = time.Minute
		e.h.Limits = githttp.Limits{Processes: 4, PerClient: 2}
		l := newLive(t, e, nil)
		for _, from := range []string{"127.0.0.3", "127.0.0.3", "127.0.0.4", "127.0.0.4"} {
			l.stall(t, from, "0032want ")
		}
		waitFor(t, 10*time.Second, "4 git processes did not start", func() bool { return e.h.Processes() == 4 })
		resp, body := l.infoRefs(t, "127.0.0.5")
		if resp.StatusCode != 503 || resp.Header.Get("Retry-After") == "" || !strings.Contains(body, "The server is running as many git operations as it allows (4)") {
			t.Errorf("info/refs over the server's limit: %d, Retry-After %q, %q", resp.StatusCode, resp.Header.Get("Retry-After"), body)
		}
		if n := gitChildren(t); n < 4 {
			t.Errorf("the kernel counts %d git children, the handler 4", n)
		}
	})
	t.Run("defaults hold 200 slow clients to 8 processes", func(t *testing.T) {
		e := newEnv(t)
		e.h.IdleTimeout = time.Minute
		l := newLive(t, e, nil)
		var cs []net.Conn
		for i := 0; i < 200; i++ {
			cs = append(cs, l.stall(t, "127.0.0.6", "0032want "))
		}
		// The refused requests are answered (200 + ERR) at once, the
		// others not before the idle timeout.
		waitFor(t, 30*time.Second, "192 requests were not refused", func() bool {
			return strings.Count(l.log.String(), "git process limit reached") >= 200-githttp.DefaultMaxProcessesPerClient
		})
		var refused atomic.Int32
		var wg sync.WaitGroup
		for _, c := range cs {
			wg.Add(1)
			go func() {
				defer wg.Done()
				if line, _ := answer(c, time.Second); strings.HasPrefix(line, "HTTP/1.1 200") {
					refused.Add(1)
				}
			}()
		}
		wg.Wait()
		if n, r := e.h.Processes(), int(refused.Load()); n != githttp.DefaultMaxProcessesPerClient || r != 200-n {
			t.Errorf("%d processes, %d refusals; want %d processes and the rest refused", n, r, githttp.DefaultMaxProcessesPerClient)
		}
	})
}

// Real git prints the refusals, and a real clone gets through while
// slow clients elsewhere hold processes.
func TestProcessLimitsWithGit(t *testing.T) {
	e := newEnv(t)
	e.h.IdleTimeout = time.Minute
	e.h.Limits = githttp.Limits{Processes: 30, PerClient: 3}
	// When fill is set, the next git POST waits until stalled requests
	// from git's own address hold its whole allowance: the refusal then
	// falls on the RPC rather than on info/refs. filled keeps them.
	var (
		fill   atomic.Bool
		mu     sync.Mutex
		filled []net.Conn
		l      *live
	)
	l = newLive(t, e, func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.Method == "POST" && r.Header.Get("X-Test-Stall") == "" && fill.CompareAndSwap(true, false) {
				want := e.h.Processes() + 3
				for i := 0; i < 3; i++ {
					c, err := l.dialStall("127.0.0.1", "0032want ")
					if err != nil {
						http.Error(w, err.Error(), 500)
						return
					}
					mu.Lock()
					filled = append(filled, c)
					mu.Unlock()
				}
				for deadline := time.Now().Add(10 * time.Second); e.h.Processes() < want && time.Now().Before(deadline); {
					time.Sleep(10 * time.Millisecond)
				}
			}
			next.ServeHTTP(w, r)
		})
	})
	closeFilled := func() {
		mu.Lock()
		defer mu.Unlock()
		for _, c := range filled {
			c.Close()
		}
		filled = nil
	}
	t.Cleanup(closeFilled)

	g := testenv.NewGit(t, "")
	url := "http://alice:" + l.token + "@" + l.addr + "/alice/secret.git"
	work := t.TempDir()
	g.MustRun(work, "init", "-q")
	for i := 0; i < 20; i++ {
		if err := os.WriteFile(filepath.Join(work, "f"), []byte(strings.Repeat("line\n", i+1)), 0o644); err != nil {
			t.Fatal(err)
		}
		g.MustRun(work, "add", "f")
		g.MustRun(work, "commit", "-qm", "c"+strconv.Itoa(i))
	}
	g.MustRun(work, "push", "-q", url, "HEAD:refs/heads/main")

	// 24 slow clients on 8 other addresses, each address at its limit.
	for i := 0; i < 24; i++ {
		l.stall(t, "127.0.1."+strconv.Itoa(1+i/3), "0032want ")
	}
	const held = 24
	waitFor(t, 10*time.Second, "24 git processes did not start", func() bool { return e.h.Processes() == held })
	dst := filepath.Join(t.TempDir(), "clone")
	g.MustRun("", "clone", "-q", url, dst)
	if got := strings.TrimSpace(g.MustRun(dst, "rev-list", "--count", "HEAD")); got != "20" {
		t.Errorf("the clone has %s commits, want 20", got)
	}

	// Refused at info/refs of a push: git prints the body as "remote: …".
	for i := 0; i < 3; i++ {
		c, err := l.dialStall("127.0.0.1", "0032want ")
		if err != nil {
			t.Fatal(err)
		}
		filled = append(filled, c)
	}
	waitFor(t, 10*time.Second, "3 more git processes did not start", func() bool { return e.h.Processes() == held+3 })
	// ls-remote needs no process (v0 and v2), so it works over the limit;
	// a push's ref advertisement does need one.
	for _, v := range []string{"0", "2"} {
		if r := g.Run("", "-c", "protocol.version="+v, "ls-remote", url); r.Err != nil || !strings.Contains(r.Stdout, "refs/heads/main") {
			t.Errorf("ls-remote v%s over the limit: %v\n%s", v, r.Err, r.Stderr)
		}
	}
	if r := g.Run(work, "push", "-q", url, "HEAD:refs/heads/main"); r.Err == nil || !strings.Contains(r.Stderr, "remote: Too many git operations from your address") {
		t.Errorf("push over the limit: %v\n%s", r.Err, r.Stderr)
	}
	closeFilled()
	waitFor(t, 10*time.Second, "closed connections' git processes still running", func() bool { return e.h.Processes() == held })

	// Refused at the RPC: fetch over protocol v2 and v0, and push.
	for _, tt := range []struct {
		name string
		args []string
		want string
	}{
		{"fetch v2", []string{"-c", "protocol.version=2", "fetch", "-q", url, "main"}, "fatal: remote error: Too many git operations from your address"},
		{"fetch v0", []string{"-c", "protocol.version=0", "fetch", "-q", url, "main"}, "fatal: remote error: Too many git operations from your address"},
		{"push", []string{"push", "-q", url, "HEAD:refs/heads/other"}, "remote: Too many git operations from your address"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			// Something new, so that git gets as far as the RPC.
			g.MustRun(work, "commit", "-q", "--allow-empty", "-m", "more")
			dir := work
			if tt.name != "push" {
				g.MustRun(work, "push", "-q", url, "HEAD:refs/heads/main")
				dir = dst
			}
			fill.Store(true)
			r := g.Run(dir, tt.args...)
			if fill.Load() {
				t.Fatalf("git made no POST: %v\n%s", r.Err, r.Stderr)
			}
			if r.Err == nil || !strings.Contains(r.Stderr, tt.want) {
				t.Errorf("git %s over the limit: %v\n%s\nwant %q", tt.name, r.Err, r.Stderr, tt.want)
			}
			closeFilled()
			waitFor(t, 10*time.Second, "the filler's git processes still running", func() bool { return e.h.Processes() == held })
		})
	}
}
