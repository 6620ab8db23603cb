package sshd_test

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"errors"
	"io"
	"log/slog"
	"net"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/gatehouse/gatehouse"
	"github.com/gatehouse/gatehouse/internal/authz"
	"github.com/gatehouse/gatehouse/internal/gitrepo"
	"github.com/gatehouse/gatehouse/internal/service"
	"github.com/gatehouse/gatehouse/internal/sqldb"
	"github.com/gatehouse/gatehouse/internal/sshd"
)

type discardMailer struct{}

func (discardMailer) Send(context.Context, gatehouse.Message) error { return nil }

var system = gatehouse.SystemActor()

// lockedBuffer is a log sink safe for the server's goroutines.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// env is a running SSH server over a real service and SQLite database,
// with users alice (owner of alice/secret, private, and alice/open) and
// bob, each with a key.
type env struct {
	t     testing.TB
	svc   *service.Service
	srv   *sshd.Server
	addr  string
	logs  *lockedBuffer
	alice *gatehouse.User
	bob   *gatehouse.User
	keys  map[string]ssh.Signer
}

func newEnv(t testing.TB, lim sshd.Limits) *env {
	t.Helper()
	if _, err := exec.LookPath("git"); err != nil {
		t.Skip("SKIPPING: git is not installed")
	}
	ctx := context.Background()
	dir := t.TempDir()
	st, err := sqldb.Open(ctx, filepath.Join(dir, "g.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	logs := &lockedBuffer{}
	log := slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	repos := &gitrepo.Dir{Root: filepath.Join(dir, "repos")}
	svc := service.MustNew(service.Config{
		Store: st, Audit: st, Keys: st, Sessions: st, Reminders: st, Orgs: st, Repos: repos, Mailer: discardMailer{}, Log: log,
	})
	e := &env{t: t, svc: svc, logs: logs, keys: map[string]ssh.Signer{}}
	if e.alice, err = svc.CreateUser(ctx, system, service.NewUser{Login: "alice", Email: "a@example.com"}); err != nil {
		t.Fatal(err)
	}
	if e.bob, err = svc.CreateUser(ctx, system, service.NewUser{Login: "bob", Email: "b@example.com"}); err != nil {
		t.Fatal(err)
	}
	for _, r := range []service.NewRepo{{Owner: "alice", Name: "secret", Private: true}, {Owner: "alice", Name: "open"}} {
		if _, err := svc.CreateRepo(ctx, system, r); err != nil {
			t.Fatal(err)
		}
	}
	e.userKey("alice", e.alice)
	e.userKey("bob", e.bob)
	hostKeys, err := sshd.HostKeys(filepath.Join(dir, "ssh"))
	if err != nil {
		t.Fatal(err)
	}
	e.srv, err = sshd.New(sshd.Config{Service: svc, Repos: repos, HostKeys: hostKeys, Log: log, Limits: lim, WatchInterval: 20 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	e.addr = ln.Addr().String()
	done := make(chan error, 1)
	go func() { done <- e.srv.Serve(ln) }()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := e.srv.Shutdown(ctx); err != nil {
			t.Errorf("Shutdown: %v", err)
		}
		if err := <-done; err != nil {
			t.Errorf("Serve: %v", err)
		}
		if t.Failed() {
			t.Logf("server log:\n%s", logs.String())
		}
	})
	return e
}

func newSigner(t testing.TB) ssh.Signer {
	t.Helper()
	_, k, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	s, err := ssh.NewSignerFromKey(k)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func authorized(s ssh.Signer) string { return string(ssh.MarshalAuthorizedKey(s.PublicKey())) }

// userKey registers a new key for u under name and returns its ID.
func (e *env) userKey(name string, u *gatehouse.User) int64 {
	e.t.Helper()
	s := newSigner(e.t)
	k, err := e.svc.CreateKey(context.Background(), system, u.ID, name, authorized(s))
	if err != nil {
		e.t.Fatal(err)
	}
	e.keys[name] = s
	return k.ID
}

// deployKey registers a new deploy key on alice/NAME under name.
func (e *env) deployKey(name, repo string, readOnly bool) *gatehouse.DeployKey {
	e.t.Helper()
	ctx := context.Background()
	r, _, err := e.svc.Repo(ctx, system, "alice", repo, authz.Admin)
	if err != nil {
		e.t.Fatal(err)
	}
	s := newSigner(e.t)
	k, err := e.svc.CreateDeployKey(ctx, system, r, name, authorized(s), readOnly)
	if err != nil {
		e.t.Fatal(err)
	}
	e.keys[name] = s
	return k
}

func (e *env) dial(key string) (*ssh.Client, error) {
	cfg := &ssh.ClientConfig{User: "git", Auth: []ssh.AuthMethod{ssh.PublicKeys(e.keys[key])},
		HostKeyCallback: ssh.InsecureIgnoreHostKey(), Timeout: 5 * time.Second}
	return ssh.Dial("tcp", e.addr, cfg)
}

func (e *env) mustDial(key string) *ssh.Client {
	e.t.Helper()
	c, err := e.dial(key)
	if err != nil {
		e.t.Fatalf("dial with %s's key: %v", key, err)
	}
	e.t.Cleanup(func() { c.Close() })
	return c
}

type result struct {
	stdout, stderr string
	status         int // -1: no exit status
}

// run runs cmd in a new session of c with stdin closed at once.
func run(t *testing.T, c *ssh.Client, cmd string) result {
	t.Helper()
	sess, err := c.NewSession()
	if err != nil {
		t.Fatal(err)
	}
	defer sess.Close()
	var out, errOut bytes.Buffer
	sess.Stdout, sess.Stderr = &out, &errOut
	sess.Stdin = strings.NewReader("0000") // a flush: git's "nothing wanted"
	var runErr error
	if cmd == "" {
		if runErr = sess.Shell(); runErr == nil {
			runErr = sess.Wait()
		}
	} else {
		runErr = sess.Run(cmd)
	}
	r := result{stdout: out.String(), stderr: errOut.String(), status: 0}
	var ee *ssh.ExitError
	switch {
	case errors.As(runErr, &ee):
		r.status = ee.ExitStatus()
	case runErr != nil:
		r.status = -1
	}
	return r
}

func TestGreeting(t *testing.T) {
	e := newEnv(t, sshd.Limits{})
	r := run(t, e.mustDial("alice"), "")
	if r.status != 1 || r.stderr != "Hi alice! You've successfully authenticated, but Gatehouse does not provide shell access.\n" || r.stdout != "" {
		t.Errorf("shell: %+v", r)
	}
	e.deployKey("ci", "secret", true)
	if r := run(t, e.mustDial("ci"), ""); r.status != 1 || !strings.HasPrefix(r.stderr, "Hi alice/secret! ") {
		t.Errorf("shell with a deploy key: %+v", r)
	}
}

func TestOnlyGitRuns(t *testing.T) {
	e := newEnv(t, sshd.Limits{})
	c := e.mustDial("alice")
	for _, cmd := range []string{"ls", "sh -c id", "git-upload-pack 'alice/secret'; id", "git-upload-pack '../../etc'", "scp -t /tmp"} {
		r := run(t, c, cmd)
		if r.status != 1 || !strings.HasPrefix(r.stderr, "ERROR: ") || r.stdout != "" {
			t.Errorf("%q: %+v", cmd, r)
		}
	}
	// Subsystems (sftp) and other channel types are refused too.
	sess, err := c.NewSession()
	if err != nil {
		t.Fatal(err)
	}
	errPipe, _ := sess.StderrPipe()
	if err := sess.RequestSubsystem("sftp"); err != nil {
		t.Fatal(err)
	}
	if errOut, _ := io.ReadAll(errPipe); !strings.Contains(string(errOut), "Gatehouse runs only git-upload-pack") {
		t.Errorf("sftp: %q", errOut)
	}
	sess.Close()
	if _, err := c.Dial("tcp", "127.0.0.1:22"); err == nil || !strings.Contains(err.Error(), "port forwarding") {
		t.Errorf("port forwarding: %v", err)
	}
	if r := run(t, c, "git-upload-pack 'alice/secret.git'"); r.status != 0 || !strings.Contains(r.stdout, "0000") {
		t.Errorf("after refusals, a git command on the same connection: %+v", r)
	}
}

// TestRouteWalk runs every route for every kind of actor on every kind of
// repository and compares the outcome with the service's one decision.
func TestRouteWalk(t *testing.T) {
	e := newEnv(t, sshd.Limits{})
	ctx := context.Background()
	secret, _, _ := e.svc.Repo(ctx, system, "alice", "secret", authz.Admin)
	if _, err := e.svc.SetCollaborator(ctx, system, secret, "bob", gatehouse.PermRead); err != nil {
		t.Fatal(err)
	}
	carol, err := e.svc.CreateUser(ctx, system, service.NewUser{Login: "carol", Email: "c@example.com"})
	if err != nil {
		t.Fatal(err)
	}
	e.userKey("carol", carol)
	e.deployKey("ro", "secret", true)
	e.deployKey("rw", "secret", false)
	routes := []struct {
		command string
		action  authz.Action
	}{{"git-upload-pack", authz.Read}, {"git-receive-pack", authz.Write}, {"git-upload-archive", authz.Read}}
	for _, who := range []string{"alice", "bob", "carol", "ro", "rw"} {
		c := e.mustDial(who)
		actor, err := e.svc.AuthenticateKey(ctx, e.keys[who].PublicKey(), "127.0.0.1")
		if err != nil {
			t.Fatal(err)
		}
		for _, repo := range []string{"secret", "open", "missing"} {
			for _, rt := range routes {
				_, decision := e.svc.SSHRepo(ctx, actor, "alice", repo, rt.action)
				r := run(t, c, rt.command+" 'alice/"+repo+".git'")
				refused := strings.HasPrefix(r.stderr, "ERROR: ")
				if refused != (decision != nil) {
					t.Errorf("%s %s alice/%s: %+v, but the service says %v", who, rt.command, repo, r, decision)
					continue
				}
				if refused {
					want := "ERROR: Repository not found.\n"
					if gatehouse.IsKind(decision, gatehouse.Forbidden) {
						want = "ERROR: " + gatehouse.ErrorMessage(decision) + "\n"
					}
					if r.stderr != want || r.status != 1 || r.stdout != "" {
						t.Errorf("%s %s alice/%s: %+v, want %q", who, rt.command, repo, r, want)
					}
				}
			}
		}
	}
}

func TestPasswordsRefused(t *testing.T) {
	e := newEnv(t, sshd.Limits{})
	for _, auth := range []ssh.AuthMethod{
		ssh.Password("gtp_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"),
		ssh.KeyboardInteractive(func(string, string, []string, []bool) ([]string, error) { return nil, nil }),
	} {
		var banner string
		cfg := &ssh.ClientConfig{User: "git", Auth: []ssh.AuthMethod{auth}, HostKeyCallback: ssh.InsecureIgnoreHostKey(),
			BannerCallback: func(m string) error { banner += m; return nil }}
		c, err := ssh.Dial("tcp", e.addr, cfg)
		if err == nil {
			c.Close()
			t.Fatal("authenticated without a key")
		}
		if !strings.Contains(banner, "SSH public keys only") || !strings.Contains(banner, "tokens work over HTTPS only") {
			t.Errorf("banner %q", banner)
		}
	}
	if strings.Contains(e.logs.String(), "gtp_") {
		t.Error("the password reached the log")
	}
	// An unknown key is refused without a banner: the client may have a
	// better one to offer next.
	var banner string
	cfg := &ssh.ClientConfig{User: "git", Auth: []ssh.AuthMethod{ssh.PublicKeys(newSigner(t))}, HostKeyCallback: ssh.InsecureIgnoreHostKey(),
		BannerCallback: func(m string) error { banner += m; return nil }}
	if c, err := ssh.Dial("tcp", e.addr, cfg); err == nil {
		c.Close()
		t.Fatal("an unknown key authenticated")
	}
	if banner != "" {
		t.Errorf("banner for an unknown key: %q", banner)
	}
}

func TestSuspendedRefused(t *testing.T) {
	e := newEnv(t, sshd.Limits{})
	ctx := context.Background()
	if _, err := e.svc.SetSuspended(ctx, system, e.bob.ID, true); err != nil {
		t.Fatal(err)
	}
	var banner string
	cfg := &ssh.ClientConfig{User: "git", Auth: []ssh.AuthMethod{ssh.PublicKeys(e.keys["bob"])}, HostKeyCallback: ssh.InsecureIgnoreHostKey(),
		BannerCallback: func(m string) error { banner += m; return nil }}
	if c, err := ssh.Dial("tcp", e.addr, cfg); err == nil {
		c.Close()
		t.Fatal("a suspended user authenticated")
	}
	if !strings.Contains(banner, "suspended") {
		t.Errorf("banner %q", banner)
	}
}

// waitClosed waits for c's connection to end.
func waitClosed(t *testing.T, c *ssh.Client, within time.Duration) {
	t.Helper()
	done := make(chan struct{})
	go func() { c.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(within):
		t.Fatalf("connection still open after %v", within)
	}
}

// Deleting a key or suspending its user ends its open connections at
// once; other connections stay.
func TestSessionsEnd(t *testing.T) {
	e := newEnv(t, sshd.Limits{})
	ctx := context.Background()
	keyID := e.userKey("alice2", e.alice)
	alice := e.mustDial("alice")
	alice2 := e.mustDial("alice2")
	bob := e.mustDial("bob")
	dk := e.deployKey("ci", "secret", true)
	ci := e.mustDial("ci")
	time.Sleep(100 * time.Millisecond) // the watch has read the log once

	// A command in flight ends with its connection.
	sess, err := alice2.NewSession()
	if err != nil {
		t.Fatal(err)
	}
	stdin, _ := sess.StdinPipe()
	defer stdin.Close()
	if err := sess.Start("git-upload-pack 'alice/secret.git'"); err != nil {
		t.Fatal(err)
	}
	if err := e.svc.DeleteKey(ctx, system, keyID); err != nil {
		t.Fatal(err)
	}
	waitClosed(t, alice2, 2*time.Second)
	if err := sess.Wait(); err == nil {
		t.Error("the command of a deleted key finished normally")
	}

	if _, err := e.svc.SetSuspended(ctx, system, e.bob.ID, true); err != nil {
		t.Fatal(err)
	}
	waitClosed(t, bob, 2*time.Second)
	secret, _, _ := e.svc.Repo(ctx, system, "alice", "secret", authz.Admin)
	if err := e.svc.DeleteDeployKey(ctx, system, secret, dk.ID); err != nil {
		t.Fatal(err)
	}
	waitClosed(t, ci, 2*time.Second)
	if r := run(t, alice, "git-upload-pack 'alice/secret.git'"); r.status != 0 {
		t.Errorf("alice's other key stopped working: %+v", r)
	}
	if _, err := e.dial("alice2"); err == nil {
		t.Error("a deleted key authenticates")
	}
}

func TestHandshakeDeadline(t *testing.T) {
	e := newEnv(t, sshd.Limits{HandshakeTimeout: 300 * time.Millisecond})
	nc, err := net.Dial("tcp", e.addr)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	start := time.Now()
	nc.SetDeadline(time.Now().Add(5 * time.Second))
	io.Copy(io.Discard, nc) // the server's version line, then EOF
	if d := time.Since(start); d < 250*time.Millisecond || d > 3*time.Second {
		t.Errorf("a silent client was held %v, want about 300ms", d)
	}
}

func TestConnectionLimits(t *testing.T) {
	e := newEnv(t, sshd.Limits{PerClient: 3, HandshakeTimeout: 5 * time.Second})
	var held []net.Conn
	for range 3 {
		nc, err := net.Dial("tcp", e.addr)
		if err != nil {
			t.Fatal(err)
		}
		defer nc.Close()
		held = append(held, nc)
	}
	// Give the server a moment to count them.
	for deadline := time.Now().Add(2 * time.Second); e.srv.Open() < 3 && time.Now().Before(deadline); {
		time.Sleep(5 * time.Millisecond)
	}
	if _, err := e.dial("alice"); err == nil {
		t.Fatal("a fourth connection from one address was served")
	}
	held[0].Close()
	for deadline := time.Now().Add(2 * time.Second); e.srv.Open() > 2 && time.Now().Before(deadline); {
		time.Sleep(5 * time.Millisecond)
	}
	if c, err := e.dial("alice"); err != nil {
		t.Errorf("after one closed, a new connection: %v", err)
	} else {
		c.Close()
	}
	if !strings.Contains(e.logs.String(), "connections open from this client") {
		t.Error("the refusal was not logged")
	}
}

func TestIdleTimeout(t *testing.T) {
	e := newEnv(t, sshd.Limits{IdleTimeout: 300 * time.Millisecond})
	c := e.mustDial("alice")
	start := time.Now()
	waitClosed(t, c, 3*time.Second)
	if d := time.Since(start); d < 250*time.Millisecond {
		t.Errorf("closed after %v, before the idle timeout", d)
	}
	// A command that runs longer than the idle timeout without a byte
	// either way (here upload-pack waiting for the client's wants) is kept
	// alive by the keepalives the client answers.
	c = e.mustDial("alice")
	sess, err := c.NewSession()
	if err != nil {
		t.Fatal(err)
	}
	stdin, _ := sess.StdinPipe()
	var out bytes.Buffer
	sess.Stdout = &out
	if err := sess.Start("git-upload-pack 'alice/open.git'"); err != nil {
		t.Fatal(err)
	}
	time.Sleep(time.Second)
	io.WriteString(stdin, "0000")
	stdin.Close()
	if err := sess.Wait(); err != nil {
		t.Errorf("a running command was cut off: %v", err)
	}
}

func TestProcessLimitQueues(t *testing.T) {
	e := newEnv(t, sshd.Limits{Processes: 2, ProcessesPerClient: 1, ProcessWait: 5 * time.Second})
	var wg sync.WaitGroup
	errs := make(chan string, 8)
	for i := 0; i < 8; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c, err := e.dial("alice")
			if err != nil {
				errs <- err.Error()
				return
			}
			defer c.Close()
			if r := run(t, c, "git-upload-pack 'alice/open.git'"); r.status != 0 {
				errs <- r.stderr
			}
		}()
	}
	wg.Wait()
	close(errs)
	for msg := range errs {
		t.Errorf("a queued command failed: %s", msg)
	}
	e2 := newEnv(t, sshd.Limits{ProcessesPerClient: 1, ProcessWait: 200 * time.Millisecond})
	c := e2.mustDial("alice")
	sess, err := c.NewSession()
	if err != nil {
		t.Fatal(err)
	}
	stdin, _ := sess.StdinPipe()
	defer stdin.Close()
	if err := sess.Start("git-upload-pack 'alice/open.git'"); err != nil {
		t.Fatal(err)
	}
	time.Sleep(100 * time.Millisecond)
	if r := run(t, c, "git-upload-pack 'alice/open.git'"); r.status != 1 || !strings.Contains(r.stderr, "Too many git operations from your address") {
		t.Errorf("beyond the limit after the wait: %+v", r)
	}
}

func TestCloneURL(t *testing.T) {
	for _, c := range []struct{ addr, want string }{
		{"git.example.com", "git@git.example.com:alice/app.git"},
		{"git.example.com:22", "git@git.example.com:alice/app.git"},
		{"git.example.com:2222", "ssh://git@git.example.com:2222/alice/app.git"},
		{"[2001:db8::1]:2222", "ssh://git@[2001:db8::1]:2222/alice/app.git"},
		{"[2001:db8::1]:22", "git@[2001:db8::1]:alice/app.git"},
	} {
		if got := sshd.CloneURL(c.addr, "alice/app"); got != c.want {
			t.Errorf("CloneURL(%q) = %q, want %q", c.addr, got, c.want)
		}
	}
}

// BenchmarkHandshake measures one connection: key exchange, host key
// signature, public-key authentication (one key and one user lookup in
// the database) and close, with each host key type. OpenSSH prefers the
// Ed25519 host key; a client that asks for RSA makes the server do a
// 3072-bit RSA signature.
func BenchmarkHandshake(b *testing.B) {
	e := newEnv(b, sshd.Limits{})
	for _, algo := range []string{ssh.KeyAlgoED25519, ssh.KeyAlgoRSASHA256} {
		b.Run(algo, func(b *testing.B) {
			cfg := &ssh.ClientConfig{User: "git", Auth: []ssh.AuthMethod{ssh.PublicKeys(e.keys["alice"])},
				HostKeyCallback: ssh.InsecureIgnoreHostKey(), HostKeyAlgorithms: []string{algo}}
			for b.Loop() {
				c, err := ssh.Dial("tcp", e.addr, cfg)
				if err != nil {
					b.Fatal(err)
				}
				c.Close()
			}
		})
	}
}
