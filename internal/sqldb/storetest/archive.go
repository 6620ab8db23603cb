package storetest

import (
	"testing"
	"time"

	"github.com/gatehouse/gatehouse"
)

// RunArchiveRename runs the contract of archiving and renaming
// repositories (gatehouse.Store's ArchiveRepo and RenameRepo, and the
// redirects FindRepo follows). open is as for Run.
func RunArchiveRename(t *testing.T, open func(t *testing.T) gatehouse.Store) {
	tests := []struct {
		name string
		fn   func(t *testing.T, s gatehouse.Store)
	}{
		{"ArchiveRepo", testArchiveRepo},
		{"RenameRepo", testRenameRepo},
		{"RenameConflict", testRenameConflict},
		{"RedirectTakenOver", testRedirectTakenOver},
		{"DeleteRepoDropsRedirects", testDeleteRepoDropsRedirects},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := open(t)
			t.Cleanup(func() {
				if err := s.Close(); err != nil {
					t.Errorf("Close: %v", err)
				}
			})
			tt.fn(t, s)
		})
	}
}

// findName finds owner/name and checks that it is the repository id under
// the name want (its current one).
func findName(t *testing.T, s gatehouse.Store, owner, name string, id int64, want string) {
	t.Helper()
	got, err := s.FindRepo(ctx(t), owner, name)
	if err != nil {
		t.Fatalf("FindRepo(%s/%s): %v", owner, name, err)
	}
	if got.ID != id || got.Name != want {
		t.Fatalf("FindRepo(%s/%s) = #%d %q, want #%d %q", owner, name, got.ID, got.Name, id, want)
	}
}

// wantNoRepo checks that owner/name finds nothing.
func wantNoRepo(t *testing.T, s gatehouse.Store, owner, name string) {
	t.Helper()
	_, err := s.FindRepo(ctx(t), owner, name)
	wantKind(t, err, gatehouse.NotFound, "FindRepo("+owner+"/"+name+")")
}

func testArchiveRepo(t *testing.T, s gatehouse.Store) {
	owner := newUser(t, s, "owner")
	r := newRepo(t, s, owner, "repo", false)
	if r.Archived() || !r.ArchivedAt.IsZero() {
		t.Fatalf("a new repository is archived: %v", r.ArchivedAt)
	}
	at := time.Date(2025, 3, 4, 5, 6, 7, 891234567, time.FixedZone("X", -7200))
	must(t, s.ArchiveRepo(ctx(t), r.ID, at))
	got, err := s.FindRepo(ctx(t), "owner", "repo")
	must(t, err)
	wantTime(t, got.ArchivedAt, at, "ArchivedAt")
	if !got.Archived() {
		t.Error("Archived() false after ArchiveRepo")
	}
	if got.UpdatedAt.Before(r.UpdatedAt) {
		t.Errorf("UpdatedAt %v went back from %v", got.UpdatedAt, r.UpdatedAt)
	}
	listed, err := s.ListRepos(ctx(t), gatehouse.RepoFilter{OwnerID: owner.ID}, gatehouse.Page{})
	must(t, err)
	if len(listed) != 1 || !listed[0].Archived() {
		t.Errorf("ListRepos after ArchiveRepo: %+v", listed)
	}

	// UpdateRepo with a struct loaded before the archive (a push being
	// recorded) leaves the archive alone.
	r.Description = "stale"
	must(t, s.UpdateRepo(ctx(t), r))
	got, err = s.FindRepoByID(ctx(t), r.ID)
	must(t, err)
	wantTime(t, got.ArchivedAt, at, "ArchivedAt after a stale UpdateRepo")
	if got.Description != "stale" {
		t.Errorf("Description = %q", got.Description)
	}

	must(t, s.ArchiveRepo(ctx(t), r.ID, time.Time{}))
	got, err = s.FindRepoByID(ctx(t), r.ID)
	must(t, err)
	wantTime(t, got.ArchivedAt, time.Time{}, "ArchivedAt after unarchiving")

	wantKind(t, s.ArchiveRepo(ctx(t), r.ID+100, at), gatehouse.NotFound, "ArchiveRepo of a missing repository")
}

func testRenameRepo(t *testing.T, s gatehouse.Store) {
	alice := newUser(t, s, "alice")
	bob := newUser(t, s, "bob")
	r := newRepo(t, s, alice, "first", true)
	must(t, s.SetCollaborator(ctx(t), r.ID, bob.ID, gatehouse.PermWrite))

	must(t, s.RenameRepo(ctx(t), r.ID, "Second"))
	findName(t, s, "alice", "second", r.ID, "Second")
	// The old name finds the repository, under its new name, in any case.
	findName(t, s, "alice", "first", r.ID, "Second")
	findName(t, s, "ALICE", "FIRST", r.ID, "Second")
	// A redirect belongs to its owner.
	wantNoRepo(t, s, "bob", "first")
	// Nothing else changed.
	got, err := s.FindRepoByID(ctx(t), r.ID)
	must(t, err)
	if !got.Private || got.OwnerID != alice.ID || got.Owner != "alice" || got.DefaultBranch != "main" {
		t.Errorf("after RenameRepo: %+v", got)
	}
	if p, err := s.Collaborator(ctx(t), r.ID, bob.ID); err != nil || p != gatehouse.PermWrite {
		t.Errorf("collaborator after rename: %v %v", p, err)
	}

	// Every earlier name keeps redirecting.
	must(t, s.RenameRepo(ctx(t), r.ID, "third"))
	findName(t, s, "alice", "first", r.ID, "third")
	findName(t, s, "alice", "second", r.ID, "third")
	// Back to a name it had: found directly, the others still redirect.
	must(t, s.RenameRepo(ctx(t), r.ID, "first"))
	findName(t, s, "alice", "first", r.ID, "first")
	findName(t, s, "alice", "third", r.ID, "first")
	// A change of case only.
	must(t, s.RenameRepo(ctx(t), r.ID, "FIRST"))
	findName(t, s, "alice", "first", r.ID, "FIRST")

	wantKind(t, s.RenameRepo(ctx(t), r.ID+100, "x"), gatehouse.NotFound, "RenameRepo of a missing repository")
}

func testRenameConflict(t *testing.T, s gatehouse.Store) {
	alice := newUser(t, s, "alice")
	bob := newUser(t, s, "bob")
	a := newRepo(t, s, alice, "a", false)
	newRepo(t, s, alice, "b", false)
	other := newRepo(t, s, bob, "c", false)
	err := s.RenameRepo(ctx(t), a.ID, "B")
	wantKind(t, err, gatehouse.Conflict, "rename to a taken name")
	wantMsg(t, err, "already exists", "rename to a taken name")
	// The failed rename changed nothing: no redirect was left.
	findName(t, s, "alice", "a", a.ID, "a")
	// Another owner's name is free.
	must(t, s.RenameRepo(ctx(t), a.ID, "c"))
	findName(t, s, "alice", "c", a.ID, "c")
	findName(t, s, "alice", "a", a.ID, "c")
	findName(t, s, "bob", "c", other.ID, "c")
}

func testRedirectTakenOver(t *testing.T, s gatehouse.Store) {
	alice := newUser(t, s, "alice")
	r := newRepo(t, s, alice, "old", false)
	must(t, s.RenameRepo(ctx(t), r.ID, "new"))
	// A new repository takes the old name: the redirect goes.
	fresh := newRepo(t, s, alice, "Old", false)
	findName(t, s, "alice", "old", fresh.ID, "Old")
	findName(t, s, "alice", "new", r.ID, "new")
	// Renaming to a name another repository redirects from takes it too.
	third := newRepo(t, s, alice, "third", false)
	must(t, s.RenameRepo(ctx(t), fresh.ID, "elsewhere"))
	findName(t, s, "alice", "old", fresh.ID, "elsewhere")
	must(t, s.RenameRepo(ctx(t), third.ID, "old"))
	findName(t, s, "alice", "old", third.ID, "old")
	findName(t, s, "alice", "third", third.ID, "old")
	// The name third left is taken back by the repository that redirected
	// from it no more.
	must(t, s.RenameRepo(ctx(t), fresh.ID, "third"))
	findName(t, s, "alice", "third", fresh.ID, "third")
	findName(t, s, "alice", "elsewhere", fresh.ID, "third")
}

func testDeleteRepoDropsRedirects(t *testing.T, s gatehouse.Store) {
	alice := newUser(t, s, "alice")
	r := newRepo(t, s, alice, "old", false)
	must(t, s.RenameRepo(ctx(t), r.ID, "new"))
	must(t, s.DeleteRepo(ctx(t), r.ID))
	wantNoRepo(t, s, "alice", "old")
	wantNoRepo(t, s, "alice", "new")
	again := newRepo(t, s, alice, "new", false)
	must(t, s.RenameRepo(ctx(t), again.ID, "old"))
	findName(t, s, "alice", "new", again.ID, "old")
}
