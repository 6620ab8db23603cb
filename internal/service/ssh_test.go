package service

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"errors"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/gatehouse/gatehouse"
	"github.com/gatehouse/gatehouse/internal/authz"
)

// newSSHKey returns a fresh public key and its authorized_keys line.
func newSSHKey(t *testing.T, comment string) (ssh.PublicKey, string) {
	t.Helper()
	pub, _, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	sp, err := ssh.NewPublicKey(pub)
	if err != nil {
		t.Fatal(err)
	}
	return sp, strings.TrimSpace(string(ssh.MarshalAuthorizedKey(sp))) + " " + comment
}

type sshFixture struct {
	s                *Service
	alice, bob, root *gatehouse.User
	secret, open     *gatehouse.Repo
	aliceKey, bobKey ssh.PublicKey
	aliceKeyRow      *gatehouse.Key
}

func newSSHFixture(t *testing.T) *sshFixture {
	t.Helper()
	ctx := context.Background()
	s, _ := newService(t)
	f := &sshFixture{s: s}
	f.alice = mustUser(t, s, NewUser{Login: "alice", Email: "a@example.com"})
	f.bob = mustUser(t, s, NewUser{Login: "bob", Email: "b@example.com"})
	f.root = mustUser(t, s, NewUser{Login: "root", Email: "r@example.com", SiteAdmin: true})
	var err error
	if f.secret, err = s.CreateRepo(ctx, system, NewRepo{Owner: "alice", Name: "secret", Private: true}); err != nil {
		t.Fatal(err)
	}
	if f.open, err = s.CreateRepo(ctx, system, NewRepo{Owner: "alice", Name: "open"}); err != nil {
		t.Fatal(err)
	}
	var line string
	f.aliceKey, line = newSSHKey(t, "alice@laptop")
	if f.aliceKeyRow, err = s.CreateKey(ctx, session(f.alice, ""), f.alice.ID, "", line); err != nil {
		t.Fatal(err)
	}
	f.bobKey, line = newSSHKey(t, "bob@laptop")
	if _, err := s.CreateKey(ctx, session(f.bob, ""), f.bob.ID, "bob", line); err != nil {
		t.Fatal(err)
	}
	return f
}

func (f *sshFixture) deployKey(t *testing.T, repo *gatehouse.Repo, title string, readOnly bool) (ssh.PublicKey, *gatehouse.DeployKey) {
	t.Helper()
	pub, line := newSSHKey(t, title)
	k, err := f.s.CreateDeployKey(context.Background(), session(f.alice, ""), repo, title, line, readOnly)
	if err != nil {
		t.Fatal(err)
	}
	return pub, k
}

func (f *sshFixture) authenticate(t *testing.T, pub ssh.PublicKey) *gatehouse.Actor {
	t.Helper()
	a, err := f.s.AuthenticateKey(context.Background(), pub, "192.0.2.7")
	if err != nil {
		t.Fatal(err)
	}
	return a
}

func TestAuthenticateKey(t *testing.T) {
	f := newSSHFixture(t)
	ctx := context.Background()
	a := f.authenticate(t, f.aliceKey)
	if a.User == nil || a.User.ID != f.alice.ID || a.Key == nil || a.Key.ID != f.aliceKeyRow.ID || a.Token != nil || a.DeployKey != nil || a.IP != "192.0.2.7" {
		t.Errorf("actor of alice's key = %+v", a)
	}
	if f.aliceKeyRow.Title != "alice@laptop" {
		t.Errorf("an empty title did not become the comment: %q", f.aliceKeyRow.Title)
	}

	dpub, dk := f.deployKey(t, f.secret, "ci", true)
	d := f.authenticate(t, dpub)
	if d.User != nil || d.DeployKey == nil || d.DeployKey.ID != dk.ID || !d.Anonymous() {
		t.Errorf("actor of a deploy key = %+v", d)
	}
	if name, err := f.s.KeyHolder(ctx, d); err != nil || name != "alice/secret" {
		t.Errorf("KeyHolder of a deploy key = %q, %v", name, err)
	}
	if name, err := f.s.KeyHolder(ctx, a); err != nil || name != "alice" {
		t.Errorf("KeyHolder of a user key = %q, %v", name, err)
	}

	stranger, _ := newSSHKey(t, "")
	_, err := f.s.AuthenticateKey(ctx, stranger, "192.0.2.7")
	if !errors.Is(err, ErrUnknownKey) || !gatehouse.IsKind(err, gatehouse.Unauthenticated) {
		t.Errorf("unknown key: %v", err)
	}

	if _, err := f.s.SetSuspended(ctx, session(f.root, ""), f.bob.ID, true); err != nil {
		t.Fatal(err)
	}
	_, err = f.s.AuthenticateKey(ctx, f.bobKey, "192.0.2.7")
	if !errors.Is(err, ErrSuspended) || !gatehouse.IsKind(err, gatehouse.Forbidden) {
		t.Errorf("suspended user's key: %v", err)
	}
}

// Over SSH a user's key gets exactly the decision HTTPS gives the user's
// session; a deploy key reaches its own repository only.
func TestSSHRepoIsTheOneDecision(t *testing.T) {
	f := newSSHFixture(t)
	ctx := context.Background()
	if _, err := f.s.SetCollaborator(ctx, session(f.alice, ""), f.secret, "bob", gatehouse.PermRead); err != nil {
		t.Fatal(err)
	}
	carol := mustUser(t, f.s, NewUser{Login: "carol", Email: "c@example.com"})
	_, line := newSSHKey(t, "")
	if _, err := f.s.CreateKey(ctx, session(carol, ""), carol.ID, "c", line); err != nil {
		t.Fatal(err)
	}
	carolKey, _, _, _, _ := ssh.ParseAuthorizedKey([]byte(line))

	for _, u := range []struct {
		user *gatehouse.User
		key  ssh.PublicKey
	}{{f.alice, f.aliceKey}, {f.bob, f.bobKey}, {carol, carolKey}} {
		actor := f.authenticate(t, u.key)
		for _, repo := range []string{"secret", "open", "missing"} {
			for _, action := range []authz.Action{authz.Read, authz.Write, authz.Admin} {
				_, viaSSH := f.s.SSHRepo(ctx, actor, "alice", repo, action)
				_, _, viaHTTPS := f.s.Repo(ctx, session(u.user, "192.0.2.7"), "alice", repo, action)
				if gatehouse.ErrorKind(viaSSH) != gatehouse.ErrorKind(viaHTTPS) || (viaSSH == nil) != (viaHTTPS == nil) {
					t.Errorf("%s %s alice/%s: SSH %v, HTTPS %v", u.user.Login, action, repo, viaSSH, viaHTTPS)
				}
			}
		}
	}

	roPub, _ := f.deployKey(t, f.secret, "ci", true)
	rwPub, _ := f.deployKey(t, f.secret, "deploy", false)
	ro, rw := f.authenticate(t, roPub), f.authenticate(t, rwPub)
	for _, c := range []struct {
		actor  *gatehouse.Actor
		repo   string
		action authz.Action
		want   string
	}{
		{ro, "secret", authz.Read, "ok"},
		{ro, "secret", authz.Write, "forbidden"},
		{ro, "secret", authz.Admin, "forbidden"},
		{rw, "secret", authz.Write, "ok"},
		{rw, "secret", authz.Admin, "forbidden"},
		{rw, "open", authz.Read, "not found"}, // public, but not its repository
		{rw, "missing", authz.Read, "not found"},
	} {
		got := "ok"
		if _, err := f.s.SSHRepo(ctx, c.actor, "alice", c.repo, c.action); err != nil {
			got = gatehouse.ErrorKind(err).String()
		}
		if got != c.want {
			t.Errorf("deploy key %q %s alice/%s: %s, want %s", c.actor.DeployKey.Title, c.action, c.repo, got, c.want)
		}
	}
	_, err := f.s.SSHRepo(ctx, ro, "alice", "secret", authz.Write)
	if !strings.Contains(gatehouse.ErrorMessage(err), "read only") {
		t.Errorf("read-only refusal: %q", gatehouse.ErrorMessage(err))
	}
}

// A command started after the handshake sees the key and the user as they
// are now.
func TestSSHRepoRechecksTheKey(t *testing.T) {
	f := newSSHFixture(t)
	ctx := context.Background()
	alice := f.authenticate(t, f.aliceKey)
	bob := f.authenticate(t, f.bobKey)
	dpub, dk := f.deployKey(t, f.secret, "ci", true)
	deploy := f.authenticate(t, dpub)

	if err := f.s.DeleteKey(ctx, session(f.alice, ""), f.aliceKeyRow.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := f.s.SSHRepo(ctx, alice, "alice", "open", authz.Read); !errors.Is(err, ErrUnknownKey) {
		t.Errorf("deleted key: %v", err)
	}
	if _, err := f.s.SetSuspended(ctx, session(f.root, ""), f.bob.ID, true); err != nil {
		t.Fatal(err)
	}
	if _, err := f.s.SSHRepo(ctx, bob, "alice", "open", authz.Read); !errors.Is(err, ErrSuspended) {
		t.Errorf("suspended user: %v", err)
	}
	if err := f.s.DeleteDeployKey(ctx, session(f.alice, ""), f.secret, dk.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := f.s.SSHRepo(ctx, deploy, "alice", "secret", authz.Read); !errors.Is(err, ErrUnknownKey) {
		t.Errorf("deleted deploy key: %v", err)
	}
}

func TestDeployKeyUseCases(t *testing.T) {
	f := newSSHFixture(t)
	ctx := context.Background()
	owner := session(f.alice, "192.0.2.1")
	if _, err := f.s.SetCollaborator(ctx, owner, f.secret, "bob", gatehouse.PermWrite); err != nil {
		t.Fatal(err)
	}
	_, line := newSSHKey(t, "ci@runner")
	// Managing deploy keys takes the admin role: a writer is refused, an
	// outsider does not see the private repository, a token needs repo.
	carol := mustUser(t, f.s, NewUser{Login: "carol", Email: "c@example.com"})
	for _, c := range []struct {
		actor *gatehouse.Actor
		want  gatehouse.Kind
	}{
		{session(f.bob, ""), gatehouse.Forbidden},
		{session(carol, ""), gatehouse.NotFound},
		{tokenActor(f.alice, "public_repo"), gatehouse.NotFound},
		{gatehouse.AnonymousActor(""), gatehouse.Unauthenticated},
	} {
		if _, err := f.s.CreateDeployKey(ctx, c.actor, f.secret, "", line, true); !gatehouse.IsKind(err, c.want) {
			t.Errorf("CreateDeployKey as %q: %v, want %v", c.actor.Login(), err, c.want)
		}
		if _, err := f.s.ListDeployKeys(ctx, c.actor, f.secret, gatehouse.Page{}); !gatehouse.IsKind(err, c.want) {
			t.Errorf("ListDeployKeys as %q: %v, want %v", c.actor.Login(), err, c.want)
		}
	}

	k, err := f.s.CreateDeployKey(ctx, tokenActor(f.alice, "repo"), f.secret, "", line, true)
	if err != nil {
		t.Fatal(err)
	}
	if k.Title != "ci@runner" || !k.ReadOnly || !strings.HasPrefix(k.Fingerprint, "SHA256:") || strings.Contains(k.Key, "ci@runner") {
		t.Errorf("created %+v", k)
	}
	// One key, one holder: not twice, not on another repository, not as a
	// user key, and no user key as a deploy key.
	if _, err := f.s.CreateDeployKey(ctx, owner, f.open, "", line, false); !gatehouse.IsKind(err, gatehouse.Conflict) {
		t.Errorf("the same key on another repository: %v", err)
	}
	if _, err := f.s.CreateKey(ctx, owner, f.alice.ID, "", line); !gatehouse.IsKind(err, gatehouse.Conflict) {
		t.Errorf("a deploy key as a user key: %v", err)
	}
	aliceLine := strings.TrimSpace(string(ssh.MarshalAuthorizedKey(f.aliceKey)))
	if _, err := f.s.CreateDeployKey(ctx, owner, f.open, "", aliceLine, false); !gatehouse.IsKind(err, gatehouse.Conflict) {
		t.Errorf("a user key as a deploy key: %v", err)
	}
	if _, err := f.s.CreateDeployKey(ctx, owner, f.open, "", "ssh-ed25519 not-base64", false); !gatehouse.IsKind(err, gatehouse.Invalid) {
		t.Errorf("a malformed key: %v", err)
	}

	list, err := f.s.ListDeployKeys(ctx, owner, f.secret, gatehouse.Page{})
	if err != nil || len(list) != 1 || list[0].ID != k.ID {
		t.Fatalf("ListDeployKeys = %+v, %v", list, err)
	}
	if _, err := f.s.FindDeployKey(ctx, owner, f.open, k.ID); !gatehouse.IsKind(err, gatehouse.NotFound) {
		t.Errorf("a key through another repository: %v", err)
	}
	if err := f.s.DeleteDeployKey(ctx, owner, f.open, k.ID); !gatehouse.IsKind(err, gatehouse.NotFound) {
		t.Errorf("deleting a key through another repository: %v", err)
	}
	if err := f.s.DeleteDeployKey(ctx, session(f.bob, ""), f.secret, k.ID); !gatehouse.IsKind(err, gatehouse.Forbidden) {
		t.Errorf("a writer deletes a deploy key: %v", err)
	}
	if err := f.s.DeleteDeployKey(ctx, owner, f.secret, k.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := f.s.FindDeployKey(ctx, owner, f.secret, k.ID); !gatehouse.IsKind(err, gatehouse.NotFound) {
		t.Errorf("deleted key found: %v", err)
	}
}

// Adding and deleting keys, user keys and deploy keys, is in the audit log
// under the actor, with the fingerprint.
func TestKeyAudit(t *testing.T) {
	f := newSSHFixture(t)
	ctx := context.Background()
	owner := session(f.alice, "192.0.2.1")
	if err := f.s.DeleteKey(ctx, owner, f.aliceKeyRow.ID); err != nil {
		t.Fatal(err)
	}
	_, dk := f.deployKey(t, f.secret, "ci", false)
	if err := f.s.DeleteDeployKey(ctx, owner, f.secret, dk.ID); err != nil {
		t.Fatal(err)
	}
	evs, err := f.s.audit.ListAuditEvents(ctx, gatehouse.AuditFilter{}, gatehouse.Page{PerPage: 100})
	if err != nil {
		t.Fatal(err)
	}
	type row struct {
		action       gatehouse.AuditAction
		actor, user  int64
		note         string
		hasPrint, ip bool
	}
	var got []row
	for _, e := range evs {
		switch e.Action {
		case gatehouse.AuditKeyCreate, gatehouse.AuditKeyDelete, gatehouse.AuditDeployKeyCreate, gatehouse.AuditDeployKeyDelete:
			got = append(got, row{e.Action, e.ActorID, e.UserID, e.Note, strings.Contains(e.Detail, "fingerprint=SHA256:"), e.IP != ""})
		}
	}
	slices.Reverse(got) // oldest first
	want := []row{
		{gatehouse.AuditKeyCreate, f.alice.ID, f.alice.ID, "alice@laptop", true, false},
		{gatehouse.AuditKeyCreate, f.bob.ID, f.bob.ID, "bob", true, false},
		{gatehouse.AuditKeyDelete, f.alice.ID, f.alice.ID, "alice@laptop", true, true},
		{gatehouse.AuditDeployKeyCreate, f.alice.ID, 0, "alice/secret", true, false},
		{gatehouse.AuditDeployKeyDelete, f.alice.ID, 0, "alice/secret", true, true},
	}
	if !slices.Equal(got, want) {
		t.Errorf("key events\n got %+v\nwant %+v", got, want)
	}
}

func TestKeyUsed(t *testing.T) {
	now := time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)
	var mu sync.Mutex
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	s, db := newService(t, withClock(clock))
	ctx := context.Background()
	alice := mustUser(t, s, NewUser{Login: "alice", Email: "a@example.com"})
	pub, line := newSSHKey(t, "")
	k, err := s.CreateKey(ctx, session(alice, ""), alice.ID, "k", line)
	if err != nil {
		t.Fatal(err)
	}
	a, err := s.AuthenticateKey(ctx, pub, "")
	if err != nil {
		t.Fatal(err)
	}
	if row, _ := db.FindKey(ctx, k.ID); !row.LastUsedAt.IsZero() {
		t.Errorf("offering a key recorded a use: %v", row.LastUsedAt)
	}
	s.KeyUsed(ctx, a)
	if row, _ := db.FindKey(ctx, k.ID); !row.LastUsedAt.Equal(now) {
		t.Errorf("LastUsedAt = %v, want %v", row.LastUsedAt, now)
	}
	// Within the minute, the next connection writes nothing.
	mu.Lock()
	now = now.Add(30 * time.Second)
	mu.Unlock()
	a2, _ := s.AuthenticateKey(ctx, pub, "")
	s.KeyUsed(ctx, a2)
	if row, _ := db.FindKey(ctx, k.ID); !row.LastUsedAt.Equal(now.Add(-30 * time.Second)) {
		t.Errorf("LastUsedAt within the minute = %v", row.LastUsedAt)
	}
	mu.Lock()
	now = now.Add(time.Minute)
	mu.Unlock()
	a3, _ := s.AuthenticateKey(ctx, pub, "")
	s.KeyUsed(ctx, a3)
	if row, _ := db.FindKey(ctx, k.ID); !row.LastUsedAt.Equal(now) {
		t.Errorf("LastUsedAt after the minute = %v, want %v", row.LastUsedAt, now)
	}
}

// registry is a SessionEnder over a fixed set of actors.
type registry struct {
	mu    sync.Mutex
	open  map[string]*gatehouse.Actor
	ended []string
}

func (r *registry) EndSessions(stale func(*gatehouse.Actor) bool) int {
	r.mu.Lock()
	snap := map[string]*gatehouse.Actor{}
	for k, v := range r.open {
		snap[k] = v
	}
	r.mu.Unlock()
	n := 0
	for name, a := range snap {
		if stale(a) {
			r.mu.Lock()
			delete(r.open, name)
			r.ended = append(r.ended, name)
			r.mu.Unlock()
			n++
		}
	}
	return n
}

func (r *registry) isOpen(name string) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.open[name] != nil
}

// Deleting a key or suspending its user, from any process, ends the
// sessions it opened and no other.
func TestWatchSessions(t *testing.T) {
	f := newSSHFixture(t)
	ctx := context.Background()
	carol := mustUser(t, f.s, NewUser{Login: "carol", Email: "c@example.com"})
	carolPub, line := newSSHKey(t, "")
	if _, err := f.s.CreateKey(ctx, session(carol, ""), carol.ID, "c", line); err != nil {
		t.Fatal(err)
	}
	roPub, ro := f.deployKey(t, f.secret, "ci", true)
	rwPub, _ := f.deployKey(t, f.secret, "deploy", false)
	reg := &registry{open: map[string]*gatehouse.Actor{
		"alice": f.authenticate(t, f.aliceKey),
		"bob":   f.authenticate(t, f.bobKey),
		"carol": f.authenticate(t, carolPub),
		"ro":    f.authenticate(t, roPub),
		"rw":    f.authenticate(t, rwPub),
	}}
	wctx, stop := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { f.s.WatchSessions(wctx, reg, 20*time.Millisecond); close(done) }()
	defer func() { stop(); <-done }()
	time.Sleep(60 * time.Millisecond) // primed

	waitEnded := func(name string) {
		t.Helper()
		for deadline := time.Now().Add(5 * time.Second); reg.isOpen(name); time.Sleep(5 * time.Millisecond) {
			if time.Now().After(deadline) {
				t.Fatalf("session %s still open", name)
			}
		}
	}
	// Changes that leave a session valid end nothing: a token deleted, a
	// profile edited.
	it, err := f.s.CreateToken(ctx, session(carol, ""), NewToken{UserID: carol.ID, Note: "n", Scopes: []string{"repo"}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.s.DeleteToken(ctx, session(carol, ""), it.Token.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := f.s.SetSuspended(ctx, session(f.root, ""), carol.ID, false); err != nil {
		t.Fatal(err)
	}

	if err := f.s.DeleteKey(ctx, session(f.alice, ""), f.aliceKeyRow.ID); err != nil {
		t.Fatal(err)
	}
	waitEnded("alice")
	if _, err := f.s.SetSuspended(ctx, session(f.root, ""), f.bob.ID, true); err != nil {
		t.Fatal(err)
	}
	waitEnded("bob")
	if err := f.s.DeleteDeployKey(ctx, session(f.alice, ""), f.secret, ro.ID); err != nil {
		t.Fatal(err)
	}
	waitEnded("ro")
	time.Sleep(100 * time.Millisecond)
	for _, name := range []string{"carol", "rw"} {
		if !reg.isOpen(name) {
			t.Errorf("session %s ended, but its key is valid (ended: %v)", name, reg.ended)
		}
	}
}
