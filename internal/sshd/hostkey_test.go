package sshd_test

import (
	"bytes"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"golang.org/x/crypto/ssh"

	"github.com/gatehouse/gatehouse/internal/sshd"
)

func TestHostKeys(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "ssh")
	// Processes starting at once on a fresh data dir agree on the keys.
	const n = 4
	got := make([][]ssh.Signer, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() { defer wg.Done(); got[i], errs[i] = sshd.HostKeys(dir) }()
	}
	wg.Wait()
	for i := range n {
		if errs[i] != nil {
			t.Fatal(errs[i])
		}
	}
	first := got[0]
	if len(first) != 2 || first[0].PublicKey().Type() != ssh.KeyAlgoED25519 || first[1].PublicKey().Type() != ssh.KeyAlgoRSA {
		t.Fatalf("host key types %v", first)
	}
	if bits := first[1].PublicKey().(ssh.CryptoPublicKey).CryptoPublicKey(); bits == nil {
		t.Fatal("RSA key without a crypto key")
	}
	for i := 1; i < n; i++ {
		for j := range first {
			if !bytes.Equal(got[i][j].PublicKey().Marshal(), first[j].PublicKey().Marshal()) {
				t.Errorf("start %d got another key %d", i, j)
			}
		}
	}
	// Kept private, published beside, and reused at the next start.
	for _, name := range []string{"ssh_host_ed25519_key", "ssh_host_rsa_key"} {
		fi, err := os.Stat(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		if m := fi.Mode().Perm(); m != 0o600 {
			t.Errorf("%s mode %o, want 600", name, m)
		}
	}
	if fi, _ := os.Stat(dir); fi.Mode().Perm() != 0o700 {
		t.Errorf("host key directory mode %o, want 700", fi.Mode().Perm())
	}
	pub, err := os.ReadFile(filepath.Join(dir, "ssh_host_ed25519_key.pub"))
	if err != nil || !bytes.Equal(pub, ssh.MarshalAuthorizedKey(first[0].PublicKey())) {
		t.Errorf("ssh_host_ed25519_key.pub = %q, %v", pub, err)
	}
	again, err := sshd.HostKeys(dir)
	if err != nil {
		t.Fatal(err)
	}
	for j := range first {
		if !bytes.Equal(again[j].PublicKey().Marshal(), first[j].PublicKey().Marshal()) {
			t.Errorf("restart changed host key %d", j)
		}
	}
	// A key others can read is refused rather than used.
	if err := os.Chmod(filepath.Join(dir, "ssh_host_rsa_key"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := sshd.HostKeys(dir); err == nil {
		t.Error("a world-readable host key was accepted")
	}
}
