// Package ssh_test drives the built gatehouse binary with the real OpenSSH
// client and real git over SSH: user keys and deploy keys, the ssh:// and
// scp-like URL forms, every refusal in the words the user sees, keys
// deleted while in use, passwords refused, many clones at once, and push
// protection.
package ssh_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/testenv"
	"github.com/gatehouse/gatehouse/internal/token"
)

// key is an SSH key pair made with ssh-keygen.
type key struct {
	Private string // path
	Public  string // authorized_keys line
}

func newKey(t *testing.T, comment string) key {
	t.Helper()
	keygen := testenv.RequireOneOf(t, "ssh-keygen (OpenSSH)", "apt-get install -y openssh-client", "ssh-keygen", "/usr/bin/ssh-keygen")
	path := filepath.Join(t.TempDir(), "id_ed25519")
	if out, err := exec.Command(keygen, "-q", "-t", "ed25519", "-N", "", "-C", comment, "-f", path).CombinedOutput(); err != nil {
		t.Fatalf("ssh-keygen: %v\n%s", err, out)
	}
	pub, err := os.ReadFile(path + ".pub")
	if err != nil {
		t.Fatal(err)
	}
	return key{Private: path, Public: strings.TrimSpace(string(pub))}
}

// fingerprint is the key's fingerprint as ssh-keygen -l prints it.
func (k key) fingerprint(t *testing.T) string {
	t.Helper()
	out, err := exec.Command("ssh-keygen", "-l", "-E", "sha256", "-f", k.Private+".pub").Output()
	if err != nil {
		t.Fatal(err)
	}
	return strings.Fields(string(out))[1]
}

// client is one person's OpenSSH and git: a key, a known_hosts file, and
// an ssh config with the alias "gatehouse" for the scp-like URL form.
type client struct {
	t      *testing.T
	s      *testenv.Server
	g      *testenv.Git
	key    key
	known  string
	config string
}

func newClient(t *testing.T, s *testenv.Server, k key) *client {
	t.Helper()
	testenv.RequireOneOf(t, "the OpenSSH client", "apt-get install -y openssh-client", "ssh", "/usr/bin/ssh")
	dir := t.TempDir()
	c := &client{t: t, s: s, g: testenv.NewGit(t, ""), key: k, known: filepath.Join(dir, "known_hosts"), config: filepath.Join(dir, "config")}
	host, port, _ := strings.Cut(s.SSHAddr, ":")
	conf := fmt.Sprintf("Host gatehouse\n  HostName %s\n  Port %s\n  User git\n"+
		"Host *\n  IdentityFile %s\n  IdentitiesOnly yes\n  UserKnownHostsFile %s\n  StrictHostKeyChecking accept-new\n  BatchMode yes\n",
		host, port, k.Private, c.known)
	if err := os.WriteFile(c.config, []byte(conf), 0o600); err != nil {
		t.Fatal(err)
	}
	return c
}

// sshCommand is a GIT_SSH_COMMAND for the ssh:// form without a config.
func (c *client) sshCommand() string {
	_, port, _ := strings.Cut(c.s.SSHAddr, ":")
	return "ssh -F /dev/null -p " + port + " -i " + c.key.Private + " -o UserKnownHostsFile=" + c.known +
		" -o StrictHostKeyChecking=accept-new -o IdentitiesOnly=yes -o BatchMode=yes"
}

// git runs git with ssh reading the client's config: ssh:// URLs of the
// server, and scp-like ones through the alias ("gatehouse:alice/x.git").
func (c *client) git(dir string, args ...string) testenv.Result {
	return c.g.RunEnv(dir, []string{"GIT_SSH_COMMAND=ssh -F " + c.config}, args...)
}

func (c *client) mustGit(dir string, args ...string) string {
	c.t.Helper()
	r := c.git(dir, args...)
	if r.Err != nil {
		c.t.Fatalf("git %s: %v\n%s%s", strings.Join(args, " "), r.Err, r.Stdout, r.Stderr)
	}
	return r.Stdout
}

// ssh runs OpenSSH against the server with options opts and the remote
// command, if any, and returns its output and exit status.
func (c *client) ssh(env, opts []string, command ...string) (string, int) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	host, port, _ := strings.Cut(c.s.SSHAddr, ":")
	all := append([]string{"-F", "/dev/null", "-p", port, "-o", "UserKnownHostsFile=" + c.known, "-o", "StrictHostKeyChecking=accept-new"}, opts...)
	all = append(append(all, "git@"+host), command...)
	cmd := exec.CommandContext(ctx, "ssh", all...)
	// No agent: only the keys a test names are offered.
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "SSH_AUTH_SOCK=") {
			cmd.Env = append(cmd.Env, kv)
		}
	}
	cmd.Env = append(cmd.Env, env...)
	cmd.Stdin = strings.NewReader("")
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		c.t.Fatal(err)
	}
	return out.String(), code
}

func start(t *testing.T) *testenv.Server {
	t.Helper()
	s := testenv.Start(t, testenv.Options{SSH: true})
	if s.SSHAddr == "" {
		t.Fatalf("the server did not say where SSH listens:\n%s", s.Log())
	}
	s.CreateUser("alice", false)
	s.CreateUser("bob", false)
	s.Admin("repo", "create", "alice/secret", "--private")
	s.Admin("repo", "create", "alice/open")
	return s
}

// addKey registers k for user with "gatehouse admin key add" and returns
// the key's ID.
func addKey(t *testing.T, s *testenv.Server, user string, k key) string {
	t.Helper()
	out, errOut, err := s.AdminInput(k.Public+"\n", "key", "add", "--user", user)
	if err != nil {
		t.Fatalf("admin key add: %v\n%s", err, errOut)
	}
	return strings.TrimSpace(out)
}

func addDeployKey(t *testing.T, s *testenv.Server, repo string, k key, readWrite bool) string {
	t.Helper()
	args := []string{"deploy-key", "add", repo, "--title", "ci"}
	if readWrite {
		args = append(args, "--read-write")
	}
	out, errOut, err := s.AdminInput(k.Public+"\n", args...)
	if err != nil {
		t.Fatalf("admin deploy-key add: %v\n%s", err, errOut)
	}
	return strings.TrimSpace(out)
}

func mustFail(t *testing.T, r testenv.Result, wants ...string) {
	t.Helper()
	if r.Err == nil {
		t.Fatalf("git succeeded, want failure\n%s%s", r.Stdout, r.Stderr)
	}
	for _, w := range wants {
		if !strings.Contains(r.Stderr, w) {
			t.Errorf("git stderr lacks %q:\n%s", w, r.Stderr)
		}
	}
}

// commit makes a commit in dir with one file and returns its hash.
func commit(t *testing.T, c *client, dir, file, content string) string {
	t.Helper()
	if err := os.WriteFile(filepath.Join(dir, file), []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	c.g.MustRun(dir, "add", ".")
	c.g.MustRun(dir, "commit", "-q", "-m", "add "+file)
	return strings.TrimSpace(c.g.MustRun(dir, "rev-parse", "HEAD"))
}

func TestCloneFetchPushUserKey(t *testing.T) {
	s := start(t)
	k := newKey(t, "alice@laptop")
	addKey(t, s, "alice", k)
	alice := newClient(t, s, k)

	// Push to the empty private repository over ssh://, clone with the
	// scp-like form, push back, fetch.
	a := filepath.Join(t.TempDir(), "a")
	alice.g.MustRun("", "init", "-q", "-b", "main", a)
	first := commit(t, alice, a, "README.md", "# secret\n")
	alice.mustGit(a, "push", "-q", s.SSHURL("alice/secret"), "main")

	b := filepath.Join(t.TempDir(), "b")
	alice.mustGit("", "clone", "-q", "gatehouse:alice/secret.git", b)
	if got := strings.TrimSpace(alice.g.MustRun(b, "rev-parse", "HEAD")); got != first {
		t.Fatalf("scp-form clone HEAD %s, want %s", got, first)
	}
	second := commit(t, alice, b, "two.txt", "two\n")
	alice.mustGit(b, "push", "-q", "origin", "main")

	alice.g.MustRun(a, "remote", "add", "origin", s.SSHURL("alice/secret"))
	alice.mustGit(a, "fetch", "-q", "origin")
	if got := strings.TrimSpace(alice.g.MustRun(a, "rev-parse", "origin/main")); got != second {
		t.Fatalf("fetched origin/main %s, want %s", got, second)
	}
	// Other spellings of the path: without .git, from ~/; and ssh with
	// options instead of a config.
	alice.mustGit("", "ls-remote", "gatehouse:~/alice/secret")
	alice.mustGit("", "ls-remote", "ssh://git@gatehouse/alice/secret")
	if r := alice.g.RunEnv("", []string{"GIT_SSH_COMMAND=" + alice.sshCommand()}, "ls-remote", s.SSHURL("alice/secret")); r.Err != nil {
		t.Errorf("with GIT_SSH_COMMAND options: %v\n%s", r.Err, r.Stderr)
	}
	// git archive --remote.
	out := alice.mustGit("", "archive", "--remote", s.SSHURL("alice/secret"), "--format=tar", "main", "two.txt")
	if !strings.Contains(out, "two\n") {
		t.Errorf("git archive --remote did not return two.txt")
	}
	// The push over SSH moved what HTTPS sees.
	tok := s.Token("alice", "check", "repo", "")
	heads := alice.g.MustRun("", "ls-remote", testenv.WithCredentials(s.RepoURL("alice/secret"), "alice", tok), "refs/heads/main")
	if !strings.HasPrefix(heads, second) {
		t.Errorf("over HTTPS main is %q, want %s", heads, second)
	}
	// Every command was counted, with git's bytes: 2 pushes; a clone,
	// a fetch and 3 ls-remotes; 1 archive.
	for series, want := range map[string]float64{
		`gatehouse_git_ssh_commands_total{outcome="ok",service="receive-pack"}`:   2,
		`gatehouse_git_ssh_commands_total{outcome="ok",service="upload-pack"}`:    5,
		`gatehouse_git_ssh_commands_total{outcome="ok",service="upload-archive"}`: 1,
	} {
		if got := metric(t, s, series); got != want {
			t.Errorf("%s = %v, want %v", series, got, want)
		}
	}
	if sent, got := metric(t, s, `gatehouse_git_ssh_sent_bytes_total{service="upload-pack"}`), metric(t, s, `gatehouse_git_ssh_received_bytes_total{service="receive-pack"}`); sent < 200 || got < 200 {
		t.Errorf("SSH bytes: %v sent by upload-pack, %v received by receive-pack", sent, got)
	}
	// The key's fingerprint is the one ssh-keygen -l prints, and it was used.
	list := s.Admin("key", "list", "--user", "alice")
	if !strings.Contains(list, k.fingerprint(t)) || strings.Contains(list, "never") {
		t.Errorf("admin key list after use:\n%s", list)
	}
}

func TestGreeting(t *testing.T) {
	s := start(t)
	k := newKey(t, "alice@laptop")
	addKey(t, s, "alice", k)
	c := newClient(t, s, k)
	keyOpts := []string{"-i", k.Private, "-o", "IdentitiesOnly=yes", "-o", "BatchMode=yes"}
	out, code := c.ssh(nil, append([]string{"-T"}, keyOpts...))
	if code != 1 || !strings.Contains(out, "Hi alice! You've successfully authenticated, but Gatehouse does not provide shell access.") {
		t.Errorf("ssh -T: exit %d\n%s", code, out)
	}
	out, code = c.ssh(nil, keyOpts, "ls", "/")
	if code != 1 || !strings.Contains(out, "Gatehouse runs only git-upload-pack, git-receive-pack and git-upload-archive") {
		t.Errorf("ssh git@host ls: exit %d\n%s", code, out)
	}
}

// The message that SSH takes keys only is shown to an OpenSSH user who
// tries a password or keyboard-interactive, and no password is ever
// checked or logged.
func TestPasswordRefused(t *testing.T) {
	s := start(t)
	c := newClient(t, s, newKey(t, "unused"))
	const msg = "Gatehouse takes SSH public keys only: passwords and personal access tokens are refused over SSH."
	const https = "tokens work over HTTPS only"

	// Keyboard-interactive, which OpenSSH tries before a password prompt.
	out, code := c.ssh(nil, []string{"-o", "PreferredAuthentications=keyboard-interactive", "-o", "PubkeyAuthentication=no"})
	if code != 255 || !strings.Contains(out, msg) || !strings.Contains(out, https) {
		t.Errorf("keyboard-interactive: exit %d\n%s", code, out)
	}
	// A password (here a token typed as one), given by an askpass program.
	tok := s.Token("alice", "typed as a password", "repo", "")
	askpass := filepath.Join(t.TempDir(), "askpass")
	os.WriteFile(askpass, []byte("#!/bin/sh\necho "+tok+"\n"), 0o700)
	out, code = c.ssh([]string{"SSH_ASKPASS=" + askpass, "SSH_ASKPASS_REQUIRE=force", "DISPLAY=:0"},
		[]string{"-o", "PreferredAuthentications=password", "-o", "NumberOfPasswordPrompts=1"})
	if code != 255 || !strings.Contains(out, msg) || !strings.Contains(out, https) {
		t.Errorf("password: exit %d\n%s", code, out)
	}
	// In batch mode OpenSSH sends no password at all: it is refused
	// before the server sees one, with the methods the server offers.
	out, code = c.ssh(nil, []string{"-o", "PreferredAuthentications=password", "-o", "BatchMode=yes"})
	if code != 255 || !strings.Contains(out, "Permission denied (") {
		t.Errorf("password in batch mode: exit %d\n%s", code, out)
	}
	// git over SSH with no registered key says so the usual way.
	r := c.git("", "ls-remote", s.SSHURL("alice/open"))
	mustFail(t, r, "Permission denied (", "Could not read from remote repository")
}

func TestOtherUsersKey(t *testing.T) {
	s := start(t)
	ka, kb := newKey(t, "alice"), newKey(t, "bob")
	addKey(t, s, "alice", ka)
	addKey(t, s, "bob", kb)
	alice, bob := newClient(t, s, ka), newClient(t, s, kb)
	a := filepath.Join(t.TempDir(), "a")
	alice.g.MustRun("", "init", "-q", "-b", "main", a)
	commit(t, alice, a, "README.md", "hi\n")
	alice.mustGit(a, "push", "-q", s.SSHURL("alice/secret"), "main")
	alice.mustGit(a, "push", "-q", s.SSHURL("alice/open"), "main")

	// A private repository of someone else does not exist, by either form;
	// a missing one reads the same.
	for _, url := range []string{s.SSHURL("alice/secret"), "gatehouse:alice/secret.git", s.SSHURL("alice/missing")} {
		mustFail(t, bob.git("", "clone", "-q", url, filepath.Join(t.TempDir(), "x")), "ERROR: Repository not found.", "Could not read from remote repository")
	}
	if got := metric(t, s, `gatehouse_git_ssh_commands_total{outcome="refused",service="upload-pack"}`); got != 3 {
		t.Errorf("refused SSH clones counted: %v, want 3", got)
	}
	// A public one clones, but does not take bob's push.
	b := filepath.Join(t.TempDir(), "b")
	bob.mustGit("", "clone", "-q", s.SSHURL("alice/open"), b)
	commit(t, bob, b, "bob.txt", "bob\n")
	mustFail(t, bob.git(b, "push", "origin", "main"), "ERROR: Permission to alice/open.git denied to bob.")
	// One key, one holder: bob cannot register alice's key.
	if _, errOut, err := s.AdminInput(ka.Public, "key", "add", "--user", "bob"); err == nil || !strings.Contains(errOut, "already in use") {
		t.Errorf("alice's key registered for bob: %v %s", err, errOut)
	}
}

func TestDeployKeys(t *testing.T) {
	s := start(t)
	ka := newKey(t, "alice")
	addKey(t, s, "alice", ka)
	alice := newClient(t, s, ka)
	a := filepath.Join(t.TempDir(), "a")
	alice.g.MustRun("", "init", "-q", "-b", "main", a)
	first := commit(t, alice, a, "README.md", "hi\n")
	alice.mustGit(a, "push", "-q", s.SSHURL("alice/secret"), "main")
	alice.mustGit(a, "push", "-q", s.SSHURL("alice/open"), "main")

	// Read-only: clones and fetches its repository, cannot push.
	kro := newKey(t, "ci@runner")
	addDeployKey(t, s, "alice/secret", kro, false)
	ro := newClient(t, s, kro)
	d := filepath.Join(t.TempDir(), "d")
	ro.mustGit("", "clone", "-q", s.SSHURL("alice/secret"), d)
	if got := strings.TrimSpace(ro.g.MustRun(d, "rev-parse", "HEAD")); got != first {
		t.Fatalf("deploy key clone HEAD %s, want %s", got, first)
	}
	ro.mustGit(d, "fetch", "-q")
	commit(t, ro, d, "ci.txt", "ci\n")
	mustFail(t, ro.git(d, "push", "origin", "main"), "The key you are authenticating with has been marked as read only.")
	// Its repository only, even a public one is another repository.
	mustFail(t, ro.git("", "ls-remote", s.SSHURL("alice/open")), "ERROR: Repository not found.")
	out, code := ro.ssh(nil, []string{"-T", "-i", kro.Private, "-o", "IdentitiesOnly=yes", "-o", "BatchMode=yes"})
	if code != 1 || !strings.Contains(out, "Hi alice/secret! ") {
		t.Errorf("ssh -T with a deploy key: exit %d\n%s", code, out)
	}

	// Read-write: pushes, and the push is recorded like any other.
	krw := newKey(t, "deploy@prod")
	addDeployKey(t, s, "alice/secret", krw, true)
	rw := newClient(t, s, krw)
	w := filepath.Join(t.TempDir(), "w")
	rw.mustGit("", "clone", "-q", s.SSHURL("alice/secret"), w)
	pushed := commit(t, rw, w, "release.txt", "v1\n")
	rw.mustGit(w, "push", "-q", "origin", "main")
	if heads := alice.mustGit("", "ls-remote", s.SSHURL("alice/secret"), "refs/heads/main"); !strings.HasPrefix(heads, pushed) {
		t.Errorf("after the deploy key's push main is %q, want %s", heads, pushed)
	}
	list := s.Admin("deploy-key", "list", "alice/secret")
	if !strings.Contains(list, "read-only") || !strings.Contains(list, "read-write") || !strings.Contains(list, krw.fingerprint(t)) || strings.Contains(list, "never") {
		t.Errorf("admin deploy-key list:\n%s", list)
	}
	// A deploy key is a key: it cannot also be a user's.
	if _, errOut, err := s.AdminInput(kro.Public, "key", "add", "--user", "bob"); err == nil || !strings.Contains(errOut, "already in use") {
		t.Errorf("a deploy key registered as bob's: %v %s", err, errOut)
	}
}

// A deleted key is refused at once: new connections, and the sessions it
// has open, on this server although the deletion came from another
// process (the command line).
func TestDeletedKeyRefusedAtOnce(t *testing.T) {
	s := start(t)
	k := newKey(t, "alice")
	id := addKey(t, s, "alice", k)
	c := newClient(t, s, k)
	c.mustGit("", "ls-remote", s.SSHURL("alice/open"))

	// An open session: upload-pack waits for the client's wants.
	_, port, _ := strings.Cut(s.SSHAddr, ":")
	held := exec.Command("ssh", "-F", "/dev/null", "-p", port, "-i", k.Private, "-o", "UserKnownHostsFile="+c.known,
		"-o", "IdentitiesOnly=yes", "-o", "BatchMode=yes", "git@127.0.0.1", "git-upload-pack 'alice/open.git'")
	stdin, _ := held.StdinPipe()
	defer stdin.Close()
	stdout, _ := held.StdoutPipe()
	if err := held.Start(); err != nil {
		t.Fatal(err)
	}
	// Wait for the ref advertisement: the session is in git's hands.
	buf := make([]byte, 4)
	if _, err := io.ReadFull(stdout, buf); err != nil {
		t.Fatalf("no advertisement from the held session: %v", err)
	}
	go io.Copy(io.Discard, stdout)
	exited := make(chan error, 1)
	go func() { exited <- held.Wait() }()

	start := time.Now()
	s.Admin("key", "delete", id)
	select {
	case <-exited:
		t.Logf("the open session ended %v after the deletion", time.Since(start).Round(time.Millisecond))
	case <-time.After(3 * time.Second):
		held.Process.Kill()
		t.Fatal("the session of a deleted key is still open 3s later")
	}
	mustFail(t, c.git("", "ls-remote", s.SSHURL("alice/open")), "Permission denied (")
}

// The host keys are made once and kept: a client that trusted the server
// trusts it after a restart.
func TestHostKeysKept(t *testing.T) {
	s := start(t)
	k := newKey(t, "alice")
	addKey(t, s, "alice", k)
	c := newClient(t, s, k)
	c.mustGit("", "ls-remote", s.SSHURL("alice/open"))
	s.Stop()
	for _, f := range []string{"ssh_host_ed25519_key", "ssh_host_rsa_key"} {
		fi, err := os.Stat(filepath.Join(s.Data, "ssh", f))
		if err != nil || fi.Mode().Perm() != 0o600 {
			t.Errorf("%s: %v %v", f, fi.Mode(), err)
		}
	}
	s2 := testenv.Start(t, testenv.Options{SSH: true, Data: s.Data})
	c.s = s2
	// The new server listens on another port: carry the trusted host key
	// over to it, so that only the key decides.
	_, oldPort, _ := strings.Cut(s.SSHAddr, ":")
	_, newPort, _ := strings.Cut(s2.SSHAddr, ":")
	known, err := os.ReadFile(c.known)
	if err != nil || !strings.Contains(string(known), "]:"+oldPort+" ") {
		t.Fatalf("known_hosts %q, %v", known, err)
	}
	os.WriteFile(c.known, []byte(strings.ReplaceAll(string(known), "]:"+oldPort+" ", "]:"+newPort+" ")), 0o600)
	r := c.g.RunEnv("", []string{"GIT_SSH_COMMAND=" + strings.Replace(c.sshCommand(), "accept-new", "yes", 1)}, "ls-remote", s2.SSHURL("alice/open"))
	if r.Err != nil {
		t.Fatalf("after a restart, with strict host key checking: %v\n%s", r.Err, r.Stderr)
	}
}

func TestParallelClones(t *testing.T) {
	s := start(t)
	k := newKey(t, "alice")
	addKey(t, s, "alice", k)
	c := newClient(t, s, k)
	a := filepath.Join(t.TempDir(), "a")
	c.g.MustRun("", "init", "-q", "-b", "main", a)
	for i := range 20 {
		commit(t, c, a, fmt.Sprintf("f%d.txt", i), strings.Repeat(fmt.Sprintf("line %d\n", i), 500))
	}
	head := strings.TrimSpace(c.g.MustRun(a, "rev-parse", "HEAD"))
	c.mustGit(a, "push", "-q", s.SSHURL("alice/secret"), "main")
	c.mustGit("", "ls-remote", s.SSHURL("alice/secret")) // known_hosts written once

	const n = 50
	var wg sync.WaitGroup
	errs := make(chan string, n)
	begin := time.Now()
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			dir := filepath.Join(t.TempDir(), fmt.Sprint("c", i))
			r := c.git("", "clone", "-q", s.SSHURL("alice/secret"), dir)
			if r.Err != nil {
				errs <- fmt.Sprintf("clone %d: %v\n%s", i, r.Err, r.Stderr)
				return
			}
			if got := strings.TrimSpace(c.g.MustRun(dir, "rev-parse", "HEAD")); got != head {
				errs <- fmt.Sprintf("clone %d: HEAD %s, want %s", i, got, head)
			}
		}()
	}
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Error(e)
	}
	t.Logf("%d parallel SSH clones in %v", n, time.Since(begin).Round(time.Millisecond))
}

// Push protection applies over SSH: a live token in a pushed commit stops
// the push and is revoked.
func TestPushProtectionOverSSH(t *testing.T) {
	s := start(t)
	k := newKey(t, "alice")
	addKey(t, s, "alice", k)
	c := newClient(t, s, k)
	a := filepath.Join(t.TempDir(), "a")
	c.g.MustRun("", "init", "-q", "-b", "main", a)
	first := commit(t, c, a, "README.md", "hi\n")
	c.mustGit(a, "push", "-q", s.SSHURL("alice/secret"), "main")

	pushes := pushCount(t, s)
	if pushes != 1 {
		t.Errorf("%d pushes counted after the first, want 1", pushes)
	}
	leaked := s.Token("alice", "ci deploy", "repo", "")
	bad := commit(t, c, a, ".env", "GATEHOUSE_TOKEN="+leaked+"\n")
	r := c.git(a, "push", s.SSHURL("alice/secret"), "main")
	mustFail(t, r, "remote: error: push protection", "remote:     commit: "+bad, ".env (line 1)",
		"…"+token.LastEight(leaked), "has been revoked", "pre-receive hook declined")
	if strings.Contains(r.Stderr, leaked) {
		t.Errorf("the rejection shows the token:\n%s", r.Stderr)
	}
	if heads := c.mustGit("", "ls-remote", s.SSHURL("alice/secret"), "refs/heads/main"); !strings.HasPrefix(heads, first) {
		t.Errorf("main moved to %q after the rejected push, want %s", heads, first)
	}
	if list := s.Admin("token", "list", "--user", "alice"); strings.Contains(list, "ci deploy") {
		t.Errorf("the leaked token is still listed:\n%s", list)
	}
	// A refused push is not a push.
	if n := pushCount(t, s); n != pushes {
		t.Errorf("pushes counted %d after the refused push, want %d", n, pushes)
	}
}

// pushCount reads the server's count of successful pushes over SSH.
func pushCount(t *testing.T, s *testenv.Server) int {
	t.Helper()
	return int(metric(t, s, `gatehouse_git_pushes_total{transport="ssh"}`))
}

// metric reads one series from the server's /metrics; a series not there
// (a label set never counted) is 0.
func metric(t *testing.T, s *testenv.Server, series string) float64 {
	t.Helper()
	v, _ := s.Metric(t, series)
	return v
}
