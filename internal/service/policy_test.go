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
	s := newService(t)
	now := time.Date(2030, 1, 10, 8, 0, 0, 0, time.UTC)
	s.Now = func() time.Time { return now }
	u, err := s.CreateUser(ctx, NewUser{Login: "alice", Email: "a@example.com"})
	if err != nil {
		t.Fatal(err)
	}
	if p, err := s.TokenPolicy(ctx); err != nil || p != (TokenPolicy{}) {
		t.Fatalf("default policy %+v, %v", p, err)
	}
	if _, err := s.CreateToken(ctx, NewToken{UserID: u.ID, Note: "free", Expires: "never"}); err != nil {
		t.Fatalf("no policy, no expiration: %v", err)
	}
	if err := s.SetTokenPolicy(ctx, TokenPolicy{MaxLifetimeDays: 367}); !gatehouse.IsKind(err, gatehouse.Invalid) {
		t.Fatalf("367 days accepted: %v", err)
	}
	if err := s.SetTokenPolicy(ctx, TokenPolicy{MaxLifetimeDays: 30}); err != nil {
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
		_, err := s.CreateToken(ctx, NewToken{UserID: u.ID, Note: "t " + tc.expires, Expires: tc.expires})
		if tc.want == nil && err != nil || tc.want != nil && (!errors.Is(err, tc.want) || !gatehouse.IsKind(err, gatehouse.Invalid)) {
			t.Errorf("create with %s: %v, want %v", tc.expires, err, tc.want)
		}
	}
	tokens, _ := s.ListUserTokens(ctx, u.ID)
	if _, err := s.RegenerateToken(ctx, u.ID, tokens[0].ID, "never"); !errors.Is(err, ErrExpirationRequired) {
		t.Errorf("regenerate without expiration under policy: %v", err)
	}
	if err := s.SetTokenPolicy(ctx, TokenPolicy{RequireExpiration: true}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.CreateToken(ctx, NewToken{UserID: u.ID, Note: "long", Expires: "365d"}); err != nil {
		t.Errorf("no maximum, a year: %v", err)
	}
	if _, err := s.CreateToken(ctx, NewToken{UserID: u.ID, Note: "forever", Expires: "never"}); !errors.Is(err, ErrExpirationRequired) {
		t.Errorf("required expiration: %v", err)
	}
}

func TestEditRegenerateRevoke(t *testing.T) {
	ctx := context.Background()
	s := newService(t)
	u, _ := s.CreateUser(ctx, NewUser{Login: "alice", Email: "a@example.com"})
	o, _ := s.CreateUser(ctx, NewUser{Login: "bob", Email: "b@example.com"})
	issued, err := s.CreateToken(ctx, NewToken{UserID: u.ID, Note: "laptop", Scopes: []string{"gist"}, Expires: "7d"})
	if err != nil {
		t.Fatal(err)
	}
	id := issued.Token.ID
	if _, err := s.UpdateToken(ctx, o.ID, id, "mine now", nil); !gatehouse.IsKind(err, gatehouse.NotFound) {
		t.Fatalf("another user edited the token: %v", err)
	}
	up, err := s.UpdateToken(ctx, u.ID, id, " laptop git ", []string{"repo", "public_repo"})
	if err != nil || up.Token.Note != "laptop git" || !up.Dropped || len(up.Token.Scopes) != 1 || up.Token.Scopes[0] != "repo" {
		t.Fatalf("update: %+v, %v", up, err)
	}
	re, err := s.RegenerateToken(ctx, u.ID, id, "30d")
	if err != nil {
		t.Fatal(err)
	}
	if re.Secret == issued.Secret || re.Token.ID != id || re.Token.Note != "laptop git" {
		t.Fatalf("regenerate: %+v", re.Token)
	}
	if _, err := s.Store.FindTokenByHash(ctx, token.Hash(issued.Secret)); !gatehouse.IsKind(err, gatehouse.NotFound) {
		t.Error("the old secret still finds the token")
	}
	if got, err := s.Store.FindTokenByHash(ctx, token.Hash(re.Secret)); err != nil || got.ID != id {
		t.Errorf("the new secret: %v", err)
	}
	s.CreateToken(ctx, NewToken{UserID: u.ID, Note: "second"})
	s.CreateToken(ctx, NewToken{UserID: o.ID, Note: "bob's"})
	if n, err := s.RevokeAllTokens(ctx, u.ID); err != nil || n != 2 {
		t.Fatalf("revoke all: %d, %v", n, err)
	}
	if left, _ := s.ListUserTokens(ctx, o.ID); len(left) != 1 {
		t.Error("revoke all touched another user's tokens")
	}
}

func TestCheckPassword(t *testing.T) {
	ctx := context.Background()
	s := newService(t)
	u, _ := s.CreateUser(ctx, NewUser{Login: "alice", Email: "a@example.com", Password: "a long password"})
	tokenOnly, _ := s.CreateUser(ctx, NewUser{Login: "bot", Email: "b@example.com"})
	if !CheckPassword(u, "a long password") || CheckPassword(u, "wrong") || CheckPassword(nil, "a long password") || CheckPassword(tokenOnly, "") {
		t.Error("CheckPassword gives wrong answers")
	}
}
