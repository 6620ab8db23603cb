package githttp

import (
	"bufio"
	"fmt"
	"strings"
	"testing"
)

func TestClientKey(t *testing.T) {
	for ip, want := range map[string]string{
		"192.0.2.7":                  "192.0.2.7",
		"::ffff:192.0.2.7":           "192.0.2.7",
		"2001:db8:1:2:3:4:5:6":       "2001:db8:1:2::/64",
		"2001:db8:1:2:ffff::1":       "2001:db8:1:2::/64", // same /64: one client
		"2001:db8:1:3::1":            "2001:db8:1:3::/64",
		"fe80::1%eth0":               "fe80::/64",
		"::1":                        "::/64",
		"not an address (a pipe, …)": "not an address (a pipe, …)",
	} {
		if got := clientKey(ip); got != want {
			t.Errorf("clientKey(%q) = %q, want %q", ip, got, want)
		}
	}
}

func TestSlots(t *testing.T) {
	var s slots
	lim := Limits{Processes: 3, PerClient: 2}
	a1, b := s.acquire("a", lim)
	a2, _ := s.acquire("a", lim)
	if b != nil || a1 == nil || a2 == nil {
		t.Fatalf("first two of a refused: %+v", b)
	}
	if _, b := s.acquire("a", lim); b == nil || !b.perClient || b.limit != 2 {
		t.Fatalf("third of a: %+v, want the per-client refusal", b)
	}
	c1, b := s.acquire("c", lim)
	if b != nil {
		t.Fatalf("first of c: %+v", b)
	}
	if _, b := s.acquire("d", lim); b == nil || b.perClient || b.limit != 3 {
		t.Fatalf("fourth in all: %+v, want the server refusal", b)
	}
	if !strings.Contains((&busy{limit: 3}).message(), "(3)") {
		t.Error("the server refusal does not name the limit")
	}
	a1()
	a1() // a second call gives nothing back twice
	if n := s.running(); n != 2 {
		t.Fatalf("%d running after one release, want 2", n)
	}
	if _, b := s.acquire("a", lim); b != nil {
		t.Fatalf("a after a release: %+v", b)
	}
	a2()
	c1()
	if s.running() != 1 || len(s.byClient) != 1 {
		t.Fatalf("running %d, clients %v", s.running(), s.byClient)
	}
	var zero Limits
	if zero.processes() != DefaultMaxProcesses || zero.perClient() != DefaultMaxProcessesPerClient {
		t.Error("zero Limits do not mean the defaults")
	}
}

func TestWantsSideband(t *testing.T) {
	pkt := func(s string) string { return fmt.Sprintf("%04x%s", len(s)+4, s) }
	const cmd = "0000000000000000000000000000000000000000 1111111111111111111111111111111111111111 refs/heads/main"
	for _, tt := range []struct {
		name, body string
		want       bool
	}{
		{"side-band-64k", pkt(cmd + "\x00report-status side-band-64k agent=git/2.39\n"), true},
		{"side-band", pkt(cmd + "\x00report-status side-band\n"), true},
		{"none", pkt(cmd + "\x00report-status agent=git/2.39\n"), false},
		{"last capability", pkt(cmd + "\x00report-status side-band-64k"), true},
		{"shallow first", pkt("shallow 1111111111111111111111111111111111111111\n"), true},
		{"not a pkt-line", "hello", true},
		{"short", pkt(cmd)[:20], true},
	} {
		br := bufio.NewReaderSize(strings.NewReader(tt.body), 64<<10)
		if got := wantsSideband(br); got != tt.want {
			t.Errorf("%s: %v, want %v", tt.name, got, tt.want)
		}
	}
}
