package notify

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse"
)

func TestOutbox(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data", "outbox")
	now := time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC)
	o := &Outbox{Dir: dir, From: testFrom, Now: func() time.Time { return now }}
	for _, to := range []string{"alice@example.com", "bob@example.com"} {
		if err := o.Send(t.Context(), gatehouse.Message{To: to, Subject: "Expiry — 期限", Body: "Hello " + to}); err != nil {
			t.Fatal(err)
		}
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 2 {
		t.Fatalf("outbox holds %v, want two files and nothing else", entries)
	}
	seen := map[string]bool{}
	for _, e := range entries {
		name := e.Name()
		if !strings.HasPrefix(name, "20260304T050607.000Z-") || !strings.HasSuffix(name, ".eml") {
			t.Errorf("file name %q", name)
		}
		fi, _ := e.Info()
		if fi.Mode().Perm() != 0o600 {
			t.Errorf("%s has mode %o, want 600", name, fi.Mode().Perm())
		}
		data, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		h, body := readMessage(t, data)
		to, _ := h.AddressList("To")
		seen[to[0].Address] = true
		if body != "Hello "+to[0].Address+"\r\n" {
			t.Errorf("%s body %q", name, body)
		}
		if d, _ := h.Date(); !d.Equal(now) {
			t.Errorf("%s Date %v", name, d)
		}
	}
	if !seen["alice@example.com"] || !seen["bob@example.com"] {
		t.Errorf("recipients %v", seen)
	}
	if fi, _ := os.Stat(dir); fi.Mode().Perm() != 0o700 {
		t.Errorf("outbox mode %o, want 700", fi.Mode().Perm())
	}

	// A message that cannot be composed leaves no file behind.
	if err := o.Send(t.Context(), gatehouse.Message{To: "x@example.com\nBcc: y@example.com", Subject: "s", Body: "b"}); !gatehouse.IsKind(err, gatehouse.Invalid) {
		t.Errorf("Send with CRLF in To = %v, want Invalid", err)
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 2 {
		t.Errorf("outbox holds %d files after a refused message", len(entries))
	}
}
