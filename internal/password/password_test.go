package password

import (
	"errors"
	"strings"
	"testing"

	"golang.org/x/crypto/argon2"
)

func argon2IDKey(pw string, salt []byte, t, m uint32, p uint8, n uint32) []byte {
	return argon2.IDKey([]byte(pw), salt, t, m, p, n)
}

func TestHashVerify(t *testing.T) {
	for _, pw := range []string{"correct horse battery staple", "", "pässwörd ✓", strings.Repeat("x", 1000)} {
		h, err := Hash(pw)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(h, "$argon2id$v=19$m=19456,t=2,p=1$") {
			t.Fatalf("Hash = %q: unexpected format", h)
		}
		if ok, err := Verify(h, pw); err != nil || !ok {
			t.Fatalf("Verify(own hash) = %v, %v", ok, err)
		}
		if ok, err := Verify(h, pw+"x"); err != nil || ok {
			t.Fatalf("Verify(wrong password) = %v, %v", ok, err)
		}
		if NeedsRehash(h) {
			t.Fatalf("NeedsRehash(fresh hash) = true")
		}
	}
}

func TestSaltIsRandom(t *testing.T) {
	a, _ := Hash("same")
	b, _ := Hash("same")
	if a == b {
		t.Fatal("two hashes of the same password are equal")
	}
}

// TestVerifyReference checks an independent vector, from the Argon2
// reference implementation's test suite (phc-winner-argon2, src/test.c),
// and that hashes made with other parameters than ours still verify, so the
// defaults can change without locking anyone out.
func TestVerifyReference(t *testing.T) {
	const ref = "$argon2id$v=19$m=65536,t=2,p=1$c29tZXNhbHQ$CTFhFdXPJO1aFaMaO6Mm5c8y7cJHAph8ArZWb2GRPPc"
	if ok, err := Verify(ref, "password"); err != nil || !ok {
		t.Fatalf("Verify(reference) = %v, %v", ok, err)
	}
	if ok, err := Verify(ref, "passwore"); err != nil || ok {
		t.Fatalf("Verify(reference, wrong) = %v, %v", ok, err)
	}
	if !NeedsRehash(ref) {
		t.Fatal("NeedsRehash(t=2,p=1) = false")
	}
}

func TestVerifyMalformed(t *testing.T) {
	good, err := Hash("pw")
	if err != nil {
		t.Fatal(err)
	}
	f := strings.Split(good, "$")
	join := func(parts ...string) string { return strings.Join(parts, "$") }
	for _, bad := range []string{
		"",
		"pw",
		"$argon2id$",
		good + "$",
		strings.TrimPrefix(good, "$"),
		join("", "argon2i", f[2], f[3], f[4], f[5]),
		join("", "argon2d", f[2], f[3], f[4], f[5]),
		join("", "bcrypt", f[2], f[3], f[4], f[5]),
		join("", "argon2id", "v=16", f[3], f[4], f[5]),
		join("", "argon2id", "v=19x", f[3], f[4], f[5]),
		join("", "argon2id", "v=+19", f[3], f[4], f[5]),
		join("", "argon2id", f[3], f[4], f[5]),
		join("", "argon2id", f[2], "m=65536,t=3", f[4], f[5]),
		join("", "argon2id", f[2], "t=3,m=65536,p=4", f[4], f[5]),
		join("", "argon2id", f[2], "m=65536,t=0,p=4", f[4], f[5]),
		join("", "argon2id", f[2], "m=65536,t=3,p=0", f[4], f[5]),
		join("", "argon2id", f[2], "m=65536,t=3,p=256", f[4], f[5]),
		join("", "argon2id", f[2], "m=4,t=1,p=1", f[4], f[5]),
		join("", "argon2id", f[2], "m=4194304,t=3,p=4", f[4], f[5]),
		join("", "argon2id", f[2], "m=65536,t=1000,p=4", f[4], f[5]),
		join("", "argon2id", f[2], "m=-1,t=3,p=4", f[4], f[5]),
		join("", "argon2id", f[2], "m=65536,t=3,p=4,x=1", f[4], f[5]),
		join("", "argon2id", f[2], f[3], "", f[5]),
		join("", "argon2id", f[2], f[3], f[4]+"=", f[5]),
		join("", "argon2id", f[2], f[3], "!!!!", f[5]),
		join("", "argon2id", f[2], f[3], f[4], ""),
		join("", "argon2id", f[2], f[3], f[4], f[5][:8]),
		join("", "argon2id", f[2], f[3], f[4], f[5]+"AAAA"+strings.Repeat("A", 100)),
	} {
		ok, err := Verify(bad, "pw")
		if ok || !errors.Is(err, ErrMalformed) {
			t.Errorf("Verify(%q) = %v, %v; want false, ErrMalformed", bad, ok, err)
		}
		if !NeedsRehash(bad) {
			t.Errorf("NeedsRehash(%q) = false", bad)
		}
	}
}

func TestRandom(t *testing.T) {
	seen := map[string]bool{}
	for range 1000 {
		p := Random()
		if len(p) != RandomLen {
			t.Fatalf("Random() = %q: length %d", p, len(p))
		}
		if strings.Trim(p, randomAlphabet) != "" {
			t.Fatalf("Random() = %q: character outside alphabet", p)
		}
		if seen[p] {
			t.Fatalf("Random() repeated %q", p)
		}
		seen[p] = true
	}
}

// TestOldParametersStillVerify checks that a hash made with the earlier
// parameters (64 MiB, t=3, p=4) still verifies and asks to be replaced.
func TestOldParametersStillVerify(t *testing.T) {
	// Made with the earlier Hash: argon2.IDKey("old password", salt, 3, 65536, 4, 32).
	salt := []byte("0123456789abcdef")
	key := argon2IDKey("old password", salt, 3, 64*1024, 4, 32)
	old := "$argon2id$v=19$m=65536,t=3,p=4$" + b64.EncodeToString(salt) + "$" + b64.EncodeToString(key)
	if ok, err := Verify(old, "old password"); err != nil || !ok {
		t.Fatalf("Verify(old hash) = %v, %v", ok, err)
	}
	if !NeedsRehash(old) {
		t.Fatal("an old hash must ask to be replaced")
	}
}
