package auth

import (
	"context"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/token"
)

// OnFailure hears of every refused token, with the token itself only when
// it exists (expired), and never of an accepted one.
func TestOnFailure(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	now := time.Now()
	var got []Failure
	a := New(f.store, Config{Now: func() time.Time { return now }, OnFailure: func(_ context.Context, fl Failure) {
		got = append(got, fl)
	}}, nil)
	live, _ := f.token(t, "live", time.Time{})
	old, oldTok := f.token(t, "old", now.Add(-time.Hour))
	unknown, _ := token.Generate(token.DefaultPrefix)

	if _, err := a.Token(ctx, live, "192.0.2.1"); err != nil {
		t.Fatal(err)
	}
	a.Token(ctx, "not a token", "192.0.2.2")
	a.Token(ctx, unknown, "192.0.2.3")
	a.Token(ctx, old, "192.0.2.4")
	if len(got) != 3 {
		t.Fatalf("%d failures reported, want 3: %+v", len(got), got)
	}
	if g := got[0]; g.IP != "192.0.2.2" || !g.Malformed || g.Token != nil {
		t.Errorf("malformed: %+v", g)
	}
	if g := got[1]; g.IP != "192.0.2.3" || g.Malformed || g.Token != nil {
		t.Errorf("unknown: %+v", g)
	}
	if g := got[2]; g.IP != "192.0.2.4" || g.Token == nil || g.Token.ID != oldTok.ID || g.Token.Note != "old" {
		t.Errorf("expired: %+v", g)
	}
}
