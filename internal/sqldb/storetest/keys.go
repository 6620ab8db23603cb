package storetest

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse"
)

// keyStore is a store with SSH keys, user keys and deploy keys.
type keyStore interface {
	gatehouse.Store
	gatehouse.KeyStore
}

// RunKeys runs the contract of gatehouse.KeyStore: user keys, deploy keys
// and the one fingerprint namespace they share. open is as for Run; a
// store that is not a KeyStore fails rather than skips.
func RunKeys(t *testing.T, open func(t *testing.T) gatehouse.Store) {
	tests := []struct {
		name string
		fn   func(t *testing.T, s keyStore)
	}{
		{"UserKeys", testUserKeys},
		{"DeployKeys", testDeployKeys},
		{"OneHolderPerKey", testOneHolderPerKey},
		{"FingerprintReleased", testFingerprintReleased},
		{"ConcurrentClaims", testConcurrentClaims},
		{"KeyInvalidations", testKeyInvalidations},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st := open(t)
			t.Cleanup(func() {
				if err := st.Close(); err != nil {
					t.Errorf("Close: %v", err)
				}
			})
			s, ok := st.(keyStore)
			if !ok {
				t.Fatalf("%T does not implement gatehouse.KeyStore", st)
			}
			tt.fn(t, s)
		})
	}
}

var keySeq struct {
	sync.Mutex
	n int
}

// fakeKey returns a distinct key text and fingerprint per call. Stores
// keep both as given; the service computes them from real keys.
func fakeKey() (key, fingerprint string) {
	keySeq.Lock()
	defer keySeq.Unlock()
	keySeq.n++
	return fmt.Sprintf("ssh-ed25519 AAAAkey%d", keySeq.n), fmt.Sprintf("SHA256:fake%043d", keySeq.n)
}

func newUserKey(t *testing.T, s keyStore, u *gatehouse.User, title string) *gatehouse.Key {
	t.Helper()
	key, fp := fakeKey()
	k := &gatehouse.Key{UserID: u.ID, Title: title, Key: key, Fingerprint: fp}
	must(t, s.CreateKey(ctx(t), k))
	return k
}

func newDeployKey(t *testing.T, s keyStore, r *gatehouse.Repo, title string, readOnly bool) *gatehouse.DeployKey {
	t.Helper()
	key, fp := fakeKey()
	k := &gatehouse.DeployKey{RepoID: r.ID, Title: title, Key: key, Fingerprint: fp, ReadOnly: readOnly}
	must(t, s.CreateDeployKey(ctx(t), k))
	return k
}

func sameDeployKey(t *testing.T, got, want *gatehouse.DeployKey, what string) {
	t.Helper()
	if got.ID != want.ID || got.RepoID != want.RepoID || got.Title != want.Title || got.Key != want.Key ||
		got.Fingerprint != want.Fingerprint || got.ReadOnly != want.ReadOnly {
		t.Errorf("%s = %+v, want %+v", what, got, want)
	}
	wantTime(t, got.CreatedAt, want.CreatedAt, what+" CreatedAt")
	wantTime(t, got.LastUsedAt, want.LastUsedAt, what+" LastUsedAt")
}

func testUserKeys(t *testing.T, s keyStore) {
	alice := newUser(t, s, "alice")
	k := newUserKey(t, s, alice, "laptop")
	if k.ID == 0 || k.CreatedAt.IsZero() || !k.LastUsedAt.IsZero() {
		t.Fatalf("created key %+v", k)
	}
	got, err := s.FindKeyByFingerprint(ctx(t), k.Fingerprint)
	must(t, err)
	if *got != *k {
		t.Errorf("FindKeyByFingerprint = %+v, want %+v", got, k)
	}
	_, err = s.FindKeyByFingerprint(ctx(t), "SHA256:nobody")
	wantKind(t, err, gatehouse.NotFound, "FindKeyByFingerprint of an unknown key")

	used := time.Now().Add(-time.Hour)
	must(t, s.TouchKey(ctx(t), k.ID, used))
	must(t, s.TouchKey(ctx(t), k.ID, used.Add(-time.Minute))) // older: ignored
	got, err = s.FindKey(ctx(t), k.ID)
	must(t, err)
	wantTime(t, got.LastUsedAt, used, "LastUsedAt after two touches")
	must(t, s.TouchKey(ctx(t), k.ID+1000, used)) // no such key: no error

	must(t, s.DeleteKey(ctx(t), k.ID))
	_, err = s.FindKeyByFingerprint(ctx(t), k.Fingerprint)
	wantKind(t, err, gatehouse.NotFound, "FindKeyByFingerprint after delete")
	wantKind(t, s.DeleteKey(ctx(t), k.ID), gatehouse.NotFound, "DeleteKey twice")
	wantKind(t, s.CreateKey(ctx(t), &gatehouse.Key{UserID: alice.ID + 1000, Key: "ssh-ed25519 AAAAy", Fingerprint: "SHA256:orphan2"}),
		gatehouse.NotFound, "CreateKey for a missing user")
}

func testDeployKeys(t *testing.T, s keyStore) {
	alice := newUser(t, s, "alice")
	app := newRepo(t, s, alice, "app", true)
	web := newRepo(t, s, alice, "web", false)
	ro := newDeployKey(t, s, app, "ci", true)
	rw := newDeployKey(t, s, app, "deploy", false)
	other := newDeployKey(t, s, web, "mirror", true)
	if ro.ID == 0 || ro.CreatedAt.IsZero() || !ro.LastUsedAt.IsZero() {
		t.Fatalf("created deploy key %+v", ro)
	}

	for _, k := range []*gatehouse.DeployKey{ro, rw, other} {
		got, err := s.FindDeployKey(ctx(t), k.ID)
		must(t, err)
		sameDeployKey(t, got, k, "FindDeployKey")
		got, err = s.FindDeployKeyByFingerprint(ctx(t), k.Fingerprint)
		must(t, err)
		sameDeployKey(t, got, k, "FindDeployKeyByFingerprint")
	}
	_, err := s.FindDeployKey(ctx(t), other.ID+1000)
	wantKind(t, err, gatehouse.NotFound, "FindDeployKey of a missing key")
	_, err = s.FindDeployKeyByFingerprint(ctx(t), "SHA256:nobody")
	wantKind(t, err, gatehouse.NotFound, "FindDeployKeyByFingerprint of an unknown key")

	list, err := s.ListDeployKeys(ctx(t), app.ID, gatehouse.Page{})
	must(t, err)
	if len(list) != 2 || list[0].ID != ro.ID || list[1].ID != rw.ID {
		t.Fatalf("ListDeployKeys(app) = %+v", list)
	}
	page, err := s.ListDeployKeys(ctx(t), app.ID, gatehouse.Page{Page: 2, PerPage: 1})
	must(t, err)
	if len(page) != 1 || page[0].ID != rw.ID {
		t.Errorf("ListDeployKeys page 2 = %+v", page)
	}
	none, err := s.ListDeployKeys(ctx(t), app.ID+1000, gatehouse.Page{})
	must(t, err)
	if none == nil || len(none) != 0 {
		t.Errorf("ListDeployKeys of a repository without keys = %#v", none)
	}

	used := time.Now().Add(-time.Minute)
	must(t, s.TouchDeployKey(ctx(t), rw.ID, used))
	must(t, s.TouchDeployKey(ctx(t), rw.ID, used.Add(-time.Hour)))
	got, err := s.FindDeployKey(ctx(t), rw.ID)
	must(t, err)
	rw.LastUsedAt = used
	sameDeployKey(t, got, rw, "deploy key after touches")
	must(t, s.TouchDeployKey(ctx(t), other.ID+1000, used))

	must(t, s.DeleteDeployKey(ctx(t), rw.ID))
	_, err = s.FindDeployKey(ctx(t), rw.ID)
	wantKind(t, err, gatehouse.NotFound, "FindDeployKey after delete")
	wantKind(t, s.DeleteDeployKey(ctx(t), rw.ID), gatehouse.NotFound, "DeleteDeployKey twice")

	key, fp := fakeKey()
	wantKind(t, s.CreateDeployKey(ctx(t), &gatehouse.DeployKey{RepoID: web.ID + 1000, Key: key, Fingerprint: fp}),
		gatehouse.NotFound, "CreateDeployKey for a missing repository")

	// A repository's deploy keys go with it.
	must(t, s.DeleteRepo(ctx(t), app.ID))
	_, err = s.FindDeployKey(ctx(t), ro.ID)
	wantKind(t, err, gatehouse.NotFound, "deploy key of a deleted repository")
}

// A fingerprint has one holder on the whole instance: one user, or one
// repository.
func testOneHolderPerKey(t *testing.T, s keyStore) {
	alice := newUser(t, s, "alice")
	bob := newUser(t, s, "bob")
	app := newRepo(t, s, alice, "app", true)
	web := newRepo(t, s, bob, "web", false)
	uk := newUserKey(t, s, alice, "laptop")
	dk := newDeployKey(t, s, app, "ci", true)

	for _, c := range []struct {
		what string
		err  error
	}{
		{"another user's key", s.CreateKey(ctx(t), &gatehouse.Key{UserID: bob.ID, Key: uk.Key, Fingerprint: uk.Fingerprint})},
		{"the same user's key twice", s.CreateKey(ctx(t), &gatehouse.Key{UserID: alice.ID, Key: uk.Key, Fingerprint: uk.Fingerprint})},
		{"a user key as a deploy key", s.CreateDeployKey(ctx(t), &gatehouse.DeployKey{RepoID: web.ID, Key: uk.Key, Fingerprint: uk.Fingerprint})},
		{"a deploy key as a user key", s.CreateKey(ctx(t), &gatehouse.Key{UserID: bob.ID, Key: dk.Key, Fingerprint: dk.Fingerprint})},
		{"a deploy key on another repository", s.CreateDeployKey(ctx(t), &gatehouse.DeployKey{RepoID: web.ID, Key: dk.Key, Fingerprint: dk.Fingerprint})},
		{"a deploy key twice on its repository", s.CreateDeployKey(ctx(t), &gatehouse.DeployKey{RepoID: app.ID, Key: dk.Key, Fingerprint: dk.Fingerprint})},
	} {
		wantKind(t, c.err, gatehouse.Conflict, c.what)
		wantMsg(t, c.err, "already in use", c.what)
	}
	// The refusals changed nothing.
	if got, err := s.FindKeyByFingerprint(ctx(t), uk.Fingerprint); err != nil || got.ID != uk.ID {
		t.Errorf("user key after refusals: %+v, %v", got, err)
	}
	if got, err := s.FindDeployKeyByFingerprint(ctx(t), dk.Fingerprint); err != nil || got.ID != dk.ID {
		t.Errorf("deploy key after refusals: %+v, %v", got, err)
	}
	if list, err := s.ListDeployKeys(ctx(t), web.ID, gatehouse.Page{}); err != nil || len(list) != 0 {
		t.Errorf("web has deploy keys after refusals: %+v, %v", list, err)
	}
}

// Deleting a key, directly or with its repository, frees its fingerprint
// for another holder.
func testFingerprintReleased(t *testing.T, s keyStore) {
	alice := newUser(t, s, "alice")
	bob := newUser(t, s, "bob")
	app := newRepo(t, s, alice, "app", true)
	uk := newUserKey(t, s, alice, "old laptop")
	must(t, s.DeleteKey(ctx(t), uk.ID))
	dk := &gatehouse.DeployKey{RepoID: app.ID, Title: "reused", Key: uk.Key, Fingerprint: uk.Fingerprint}
	must(t, s.CreateDeployKey(ctx(t), dk))
	must(t, s.DeleteDeployKey(ctx(t), dk.ID))
	again := &gatehouse.Key{UserID: bob.ID, Key: uk.Key, Fingerprint: uk.Fingerprint}
	must(t, s.CreateKey(ctx(t), again))
	must(t, s.DeleteKey(ctx(t), again.ID))

	// With the repository.
	inRepo := newDeployKey(t, s, app, "ci", true)
	must(t, s.DeleteRepo(ctx(t), app.ID))
	must(t, s.CreateKey(ctx(t), &gatehouse.Key{UserID: bob.ID, Key: inRepo.Key, Fingerprint: inRepo.Fingerprint}))
}

// Of many writers claiming one key at once, as user keys and deploy keys,
// exactly one wins and the others get Conflict.
func testConcurrentClaims(t *testing.T, s keyStore) {
	alice := newUser(t, s, "alice")
	bob := newUser(t, s, "bob")
	app := newRepo(t, s, alice, "app", true)
	web := newRepo(t, s, bob, "web", true)
	for round := 0; round < 5; round++ {
		key, fp := fakeKey()
		var wg sync.WaitGroup
		errs := make([]error, 8)
		for i := range errs {
			wg.Add(1)
			go func() {
				defer wg.Done()
				switch i % 4 {
				case 0:
					errs[i] = s.CreateKey(ctx(t), &gatehouse.Key{UserID: alice.ID, Key: key, Fingerprint: fp})
				case 1:
					errs[i] = s.CreateKey(ctx(t), &gatehouse.Key{UserID: bob.ID, Key: key, Fingerprint: fp})
				case 2:
					errs[i] = s.CreateDeployKey(ctx(t), &gatehouse.DeployKey{RepoID: app.ID, Key: key, Fingerprint: fp})
				default:
					errs[i] = s.CreateDeployKey(ctx(t), &gatehouse.DeployKey{RepoID: web.ID, Key: key, Fingerprint: fp})
				}
			}()
		}
		wg.Wait()
		won := 0
		for _, err := range errs {
			switch {
			case err == nil:
				won++
			case !gatehouse.IsKind(err, gatehouse.Conflict):
				t.Errorf("round %d: a losing claim failed with %v, want Conflict", round, err)
			}
		}
		if won != 1 {
			t.Errorf("round %d: %d claims of one key succeeded, want 1", round, won)
		}
	}
}

// Deleting a user key announces a change of its user; deleting a deploy
// key announces a change of no user, so that caches of user tokens drop
// nothing and SSH servers re-check their deploy-key sessions.
func testKeyInvalidations(t *testing.T, s keyStore) {
	alice := newUser(t, s, "alice")
	app := newRepo(t, s, alice, "app", true)
	uk := newUserKey(t, s, alice, "laptop")
	dk := newDeployKey(t, s, app, "ci", true)
	_, before, err := s.Invalidations(ctx(t), 0)
	must(t, err)
	must(t, s.DeleteKey(ctx(t), uk.ID))
	must(t, s.DeleteDeployKey(ctx(t), dk.ID))
	invs, _, err := s.Invalidations(ctx(t), before)
	must(t, err)
	if len(invs) != 2 || invs[0].TokenID != 0 || invs[0].UserID != alice.ID || invs[1].TokenID != 0 || invs[1].UserID != 0 {
		t.Errorf("invalidations after deleting a user key and a deploy key = %+v, want {0 %d} then {0 0}", invs, alice.ID)
	}
	// A refused deletion announces nothing.
	wantKind(t, s.DeleteKey(ctx(t), uk.ID), gatehouse.NotFound, "DeleteKey twice")
	wantKind(t, s.DeleteDeployKey(ctx(t), dk.ID), gatehouse.NotFound, "DeleteDeployKey twice")
	rest, _, err := s.Invalidations(ctx(t), invs[1].Seq)
	must(t, err)
	if len(rest) != 0 {
		t.Errorf("refused deletions recorded invalidations: %+v", rest)
	}
}
