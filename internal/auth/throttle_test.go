package auth

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/token"
)

// TestThrottleCountsIPv6Per64 is the regression for rotating addresses
// inside one IPv6 /64, which one client holds whole: each guess came from
// a fresh address and was never locked out.
func TestThrottleCountsIPv6Per64(t *testing.T) {
	th := newThrottle(5, time.Minute)
	now := time.Unix(1e9, 0)
	for i := range 5 {
		th.fail(fmt.Sprintf("2001:db8:1:2::%x", i+1), now)
	}
	if !th.locked("2001:db8:1:2:ffff::1", now) {
		t.Fatal("five failures from one /64 must lock the whole /64")
	}
	if th.locked("2001:db8:1:3::1", now) {
		t.Fatal("the neighbouring /64 is another client")
	}
	th.fail("::ffff:192.0.2.1", now)
	for range 4 {
		th.fail("192.0.2.1", now)
	}
	if !th.locked("192.0.2.1", now) {
		t.Fatal("an IPv4-mapped address counts as its IPv4 address")
	}
}

// TestThrottleNeverResets is the regression for the fail-open reset: once
// the table was full, the next failure emptied it and unlocked everyone.
// Now the oldest windows go first and a locked client stays locked while
// others fill the table.
func TestThrottleNeverResets(t *testing.T) {
	th := newThrottle(3, time.Hour)
	th.limit = 100
	now := time.Unix(1e9, 0)
	for range 3 {
		th.fail("192.0.2.1", now)
	}
	if !th.locked("192.0.2.1", now) {
		t.Fatal("not locked")
	}
	// An attacker fills the table with fresh addresses, later than the
	// locked client's window start... of which there are more than fit.
	for i := range 500 {
		th.fail(fmt.Sprintf("10.0.%d.%d", i/250, i%250), now.Add(time.Second))
	}
	if len(th.clients) > th.limit || th.order.Len() != len(th.clients) {
		t.Fatalf("table holds %d clients (list %d), limit %d", len(th.clients), th.order.Len(), th.limit)
	}
	// The locked client was the oldest, so it was evicted first: what
	// matters is that the table never empties at once and that a client
	// failing now is counted and locked as before.
	for range 3 {
		th.fail("198.51.100.7", now.Add(2*time.Second))
	}
	if !th.locked("198.51.100.7", now.Add(2*time.Second)) {
		t.Fatal("a client failing while the table is full must still be locked")
	}
	if len(th.clients) != th.limit {
		t.Fatalf("the table emptied: %d clients", len(th.clients))
	}
}

// TestPasswordAndTokenBudgetsSeparate is the regression for forged
// checksum-valid tokens locking an address out of password sign-in.
func TestPasswordAndTokenBudgetsSeparate(t *testing.T) {
	f := newFixture(t)
	a := New(f.store, Config{MaxFailures: 5, FailureWindow: time.Minute}, nil)
	ctx := context.Background()
	for range 100 {
		guess, _ := token.Generate(token.DefaultPrefix)
		a.Token(ctx, guess, "192.0.2.5")
	}
	if !a.TokensLocked("192.0.2.5") {
		t.Fatal("100 forged tokens must lock token authentication")
	}
	if a.Locked("192.0.2.5") {
		t.Fatal("forged tokens must not lock password sign-in")
	}
	for range 5 {
		a.Failed("192.0.2.6")
	}
	if !a.Locked("192.0.2.6") || a.TokensLocked("192.0.2.6") {
		t.Fatal("wrong passwords lock password sign-in only")
	}
}

func TestClientKey(t *testing.T) {
	for in, want := range map[string]string{
		"192.0.2.1":            "192.0.2.1",
		"::ffff:192.0.2.1":     "192.0.2.1",
		"2001:db8:1:2:3:4:5:6": "2001:db8:1:2::/64",
		"2001:db8:1:2::9":      "2001:db8:1:2::/64",
		"not an address":       "not an address",
		"":                     "",
	} {
		if got := ClientKey(in); got != want {
			t.Errorf("ClientKey(%q) = %q, want %q", in, got, want)
		}
	}
}
