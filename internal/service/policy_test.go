package service

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse"
	"github.com/gatehouse/gatehouse/internal/token"
)

func TestTokenPolicyAppliesToCreateAndRegenerate(t *testing.T) {
	ctx := context.Background()
	now := time.Date(2030, 1, 10, 8, 0, 0, 0, time.UTC)
	s, _ := newService(t, withClock(func() time.Time { return now }))
	u := mustUser(t, s, NewUser{Login: "alice", Email: "a@example.com"})
	alice := session(u, "192.0.2.10")
	if p, err := s.TokenPolicy(ctx); err != nil || p != (TokenPolicy{}) {
		t.Fatalf("default policy %+v, %v", p, err)
	}
	if _, err := s.CreateToken(ctx, alice, NewToken{UserID: u.ID, Note: "free", Expires: "never"}); err != nil {
		t.Fatalf("no policy, no expiration: %v", err)
	}
	if err := s.SetTokenPolicy(ctx, system, TokenPolicy{MaxLifetimeDays: 367}); !gatehouse.IsKind(err, gatehouse.Invalid) {
		t.Fatalf("367 days accepted: %v", err)
	}
	if err := s.SetTokenPolicy(ctx, system, TokenPolicy{MaxLifetimeDays: 30}); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		expires string
		want    error
	}{
		{"never", ErrExpirationRequired},
		{"31d", ErrLifetimeTooLong},
		{"2030-02-10", ErrLifetimeTooLong},
		{"30d", nil},
		{"2030-02-09", nil},
	} {
		_, err := s.CreateToken(ctx, alice, NewToken{UserID: u.ID, Note: "t " + tc.expires, Expires: tc.expires})
		if tc.want == nil && err != nil || tc.want != nil && (!errors.Is(err, tc.want) || !gatehouse.IsKind(err, gatehouse.Invalid)) {
			t.Errorf("create with %s: %v, want %v", tc.expires, err, tc.want)
		}
	}
	tokens, _ := s.ListUserTokens(ctx, alice, u.ID)
	if _, err := s.RegenerateToken(ctx, alice, tokens[0].ID, "never"); !errors.Is(err, ErrExpirationRequired) {
		t.Errorf("regenerate without expiration under policy: %v", err)
	}
	if err := s.SetTokenPolicy(ctx, system, TokenPolicy{RequireExpiration: true}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.CreateToken(ctx, alice, NewToken{UserID: u.ID, Note: "long", Expires: "365d"}); err != nil {
		t.Errorf("no maximum, a year: %v", err)
	}
	if _, err := s.CreateToken(ctx, alice, NewToken{UserID: u.ID, Note: "forever", Expires: "never"}); !errors.Is(err, ErrExpirationRequired) {
		t.Errorf("required expiration: %v", err)
	}
}

func TestEditRegenerateRevoke(t *testing.T) {
	ctx := context.Background()
	s, db := newService(t)
	u := mustUser(t, s, NewUser{Login: "alice", Email: "a@example.com"})
	o := mustUser(t, s, NewUser{Login: "bob", Email: "b@example.com"})
	alice, bob := session(u, "192.0.2.10"), session(o, "192.0.2.11")
	issued, err := s.CreateToken(ctx, alice, NewToken{UserID: u.ID, Note: "laptop", Scopes: []string{"gist"}, Expires: "7d"})
	if err != nil {
		t.Fatal(err)
	}
	id := issued.Token.ID
	if _, err := s.UpdateToken(ctx, bob, id, "mine now", nil); !gatehouse.IsKind(err, gatehouse.NotFound) {
		t.Fatalf("another user edited the token: %v", err)
	}
	up, err := s.UpdateToken(ctx, alice, id, " laptop git ", []string{"repo", "public_repo"})
	if err != nil || up.Token.Note != "laptop git" || !up.Dropped || len(up.Token.Scopes) != 1 || up.Token.Scopes[0] != "repo" {
		t.Fatalf("update: %+v, %v", up, err)
	}
	re, err := s.RegenerateToken(ctx, alice, id, "30d")
	if err != nil {
		t.Fatal(err)
	}
	if re.Secret == issued.Secret || re.Token.ID != id || re.Token.Note != "laptop git" {
		t.Fatalf("regenerate: %+v", re.Token)
	}
	if _, err := db.FindTokenByHash(ctx, token.Hash(issued.Secret)); !gatehouse.IsKind(err, gatehouse.NotFound) {
		t.Error("the old secret still finds the token")
	}
	if got, err := db.FindTokenByHash(ctx, token.Hash(re.Secret)); err != nil || got.ID != id {
		t.Errorf("the new secret: %v", err)
	}
	s.CreateToken(ctx, alice, NewToken{UserID: u.ID, Note: "second"})
	s.CreateToken(ctx, bob, NewToken{UserID: o.ID, Note: "bob's"})
	if n, err := s.RevokeAllTokens(ctx, alice, u.ID); err != nil || n != 2 {
		t.Fatalf("revoke all: %d, %v", n, err)
	}
	if left, _ := s.ListUserTokens(ctx, bob, o.ID); len(left) != 1 {
		t.Error("revoke all touched another user's tokens")
	}
}

func TestCheckPassword(t *testing.T) {
	s, _ := newService(t)
	u := mustUser(t, s, NewUser{Login: "alice", Email: "a@example.com", Password: "a long password"})
	tokenOnly := mustUser(t, s, NewUser{Login: "bot", Email: "b@example.com"})
	if !CheckPassword(u, "a long password") || CheckPassword(u, "wrong") || CheckPassword(nil, "a long password") || CheckPassword(tokenOnly, "") {
		t.Error("CheckPassword gives wrong answers")
	}
}
