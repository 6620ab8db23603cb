package service

import (
	"bytes"
	"context"
	"testing"

	"github.com/gatehouse/gatehouse"
	"github.com/gatehouse/gatehouse/internal/gitrepo"
)

// OpenRepo is the one door to a repository's content: the same decision
// as every other read, so a private repository does not exist for those
// who may not read it, over every kind of actor.
func TestOpenRepoAuthorizes(t *testing.T) {
	ctx := context.Background()
	for _, private := range []bool{false, true} {
		s, _ := newService(t, func(c *Config) { c.PrivateMode = private })
		alice, err := s.CreateUser(ctx, system, NewUser{Login: "alice", Email: "alice@example.com"})
		if err != nil {
			t.Fatal(err)
		}
		bob, err := s.CreateUser(ctx, system, NewUser{Login: "bob", Email: "bob@example.com"})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.CreateRepo(ctx, system, NewRepo{Owner: "alice", Name: "pub", Readme: true}); err != nil {
			t.Fatal(err)
		}
		if _, err := s.CreateRepo(ctx, system, NewRepo{Owner: "alice", Name: "priv", Private: true, Readme: true}); err != nil {
			t.Fatal(err)
		}
		anon := gatehouse.AnonymousActor("192.0.2.1")
		noRepoScope := &gatehouse.Actor{User: alice, Token: &gatehouse.Token{UserID: alice.ID, Scopes: []string{"public_repo"}}}
		for _, tc := range []struct {
			who   string
			actor *gatehouse.Actor
			repo  string
			want  gatehouse.Kind // Internal: allowed
		}{
			{"owner", session(alice, ""), "priv", gatehouse.Internal},
			{"owner", session(alice, ""), "pub", gatehouse.Internal},
			{"other user", session(bob, ""), "priv", gatehouse.NotFound},
			{"other user", session(bob, ""), "pub", gatehouse.Internal},
			{"token without repo", noRepoScope, "priv", gatehouse.NotFound},
			{"token without repo", noRepoScope, "pub", gatehouse.Internal},
			{"anonymous", anon, "priv", gatehouse.Unauthenticated},
			{"anonymous", anon, "nope", gatehouse.Unauthenticated},
			{"other user", session(bob, ""), "nope", gatehouse.NotFound},
		} {
			want := tc.want
			if private && tc.who == "anonymous" {
				want = gatehouse.Unauthenticated
			}
			v, err := s.OpenRepo(ctx, tc.actor, "alice", tc.repo)
			switch {
			case want == gatehouse.Internal && err != nil:
				t.Errorf("private mode %v: %s opening %s: %v", private, tc.who, tc.repo, err)
			case want != gatehouse.Internal && gatehouse.ErrorKind(err) != want:
				t.Errorf("private mode %v: %s opening %s: %v, want %v", private, tc.who, tc.repo, err, want)
			case err == nil:
				if _, err := v.Resolve(ctx, ""); err != nil {
					t.Errorf("%s reading %s: %v", tc.who, tc.repo, err)
				}
			}
		}
		v, err := s.OpenRepo(ctx, anon, "alice", "pub")
		if private {
			if gatehouse.ErrorKind(err) != gatehouse.Unauthenticated {
				t.Errorf("private mode: anonymous opened a public repository: %v", err)
			}
		} else if err != nil || v.Perm != gatehouse.PermRead {
			t.Errorf("anonymous on a public repository: %+v %v", v, err)
		}
	}
}

func TestRepoViewReads(t *testing.T) {
	ctx := context.Background()
	s, _ := newService(t)
	alice, err := s.CreateUser(ctx, system, NewUser{Login: "alice", Email: "alice@example.com", Name: "Alice"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.CreateRepo(ctx, system, NewRepo{Owner: "alice", Name: "pub", Description: "demo", Readme: true}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.CreateRepo(ctx, system, NewRepo{Owner: "alice", Name: "empty"}); err != nil {
		t.Fatal(err)
	}
	me := session(alice, "")
	v, err := s.OpenRepo(ctx, me, "alice", "pub")
	if err != nil {
		t.Fatal(err)
	}
	ref, err := v.Resolve(ctx, "")
	if err != nil || ref.Kind != "branch" || ref.Name != "main" {
		t.Fatalf("default branch: %+v %v", ref, err)
	}
	readme, content, more, err := v.Readme(ctx, ref.Commit, "", 1<<20)
	if err != nil || readme.Name != "README.md" || more || string(content) != "# pub\n\ndemo\n" {
		t.Fatalf("readme %+v %q %v %v", readme, content, more, err)
	}
	top, err := v.Stat(ctx, ref.Commit, "")
	if err != nil {
		t.Fatal(err)
	}
	l, err := v.ListTree(ctx, top, 10)
	if err != nil || len(l.Entries) != 1 {
		t.Fatalf("listing %+v %v", l, err)
	}
	var raw bytes.Buffer
	if err := v.WriteBlob(ctx, l.Entries[0], &raw); err != nil || raw.String() != string(content) {
		t.Fatalf("raw %q %v", raw.String(), err)
	}
	if _, err := v.ListTree(ctx, l.Entries[0], 10); !gatehouse.IsKind(err, gatehouse.NotFound) {
		t.Errorf("listing a file: %v", err)
	}
	cs, more, err := v.Log(ctx, ref.Commit, "", gatehouse.Page{PerPage: 1})
	if err != nil || len(cs) != 1 || more || cs[0].Subject() != "Initial commit" || cs[0].Author.Name != "Alice" {
		t.Fatalf("log %+v %v %v", cs, more, err)
	}
	c, err := v.Commit(ctx, cs[0].ID[:8])
	if err != nil || c.ID != cs[0].ID {
		t.Fatalf("commit %+v %v", c, err)
	}
	d, err := v.Diff(ctx, c, gitrepo.DiffLimits{})
	if err != nil || len(d.Files) != 1 || d.Files[0].Status != "A" {
		t.Fatalf("diff %+v %v", d, err)
	}
	refs, more, err := v.ListRefs(ctx, gitrepo.Branches, gatehouse.Page{})
	if err != nil || len(refs) != 1 || more {
		t.Fatalf("branches %+v %v", refs, err)
	}
	var archive bytes.Buffer
	if err := v.Archive(ctx, ref, gitrepo.Zip, &archive); err != nil || !bytes.HasPrefix(archive.Bytes(), []byte("PK")) {
		t.Fatalf("archive: %v", err)
	}
	// Refused and missing names are not found; nothing reaches git's
	// error text.
	for _, name := range []string{"nope", "-x", "main..main", "../../etc"} {
		if _, err := v.Resolve(ctx, name); !gatehouse.IsKind(err, gatehouse.NotFound) {
			t.Errorf("Resolve(%q): %v", name, err)
		}
	}
	for _, p := range []string{"nope", "../../config", "a/../b"} {
		if _, err := v.Stat(ctx, ref.Commit, p); !gatehouse.IsKind(err, gatehouse.NotFound) || gatehouse.ErrorMessage(err) != "Not Found" {
			t.Errorf("Stat(%q): %v", p, err)
		}
	}
	// An empty repository has no default branch yet.
	empty, err := s.OpenRepo(ctx, me, "alice", "empty")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := empty.Resolve(ctx, ""); !gatehouse.IsKind(err, gatehouse.NotFound) {
		t.Errorf("empty repository: %v", err)
	}
}
