// Package password hashes and verifies account passwords with Argon2id,
// stored as PHC strings so the parameters travel with each hash and can be
// raised later without invalidating existing ones.
package password

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"

	"golang.org/x/crypto/argon2"
)

// Parameters for new hashes: OWASP's first recommended Argon2id setting
// (19 MiB, t=2, p=1). Hashing memory is what an anonymous client can make
// the server spend by typing passwords, so it is kept at the recommended
// minimum and the service bounds how many hashes run at once (MemoryKiB
// tells it the cost). Hashes made with the earlier parameters (64 MiB,
// t=3, p=4) still verify — the PHC string carries them — and are
// replaced at the next successful sign-in (NeedsRehash).
const (
	memoryKiB = 19 * 1024
	timeCost  = 2
	threads   = 1
	saltLen   = 16
	keyLen    = 32
)

// MemoryKiB is the memory one new hash takes.
const MemoryKiB = memoryKiB

// Bounds accepted by Verify. A stored hash comes from our own database, but
// a corrupted or planted row must not make a login allocate gigabytes or
// spin for minutes.
const (
	maxMemoryKiB = 1 << 20 // 1 GiB
	maxTimeCost  = 16
	minKeyLen    = 16
	maxKeyLen    = 64
	minSaltLen   = 8
	maxSaltLen   = 64
)

// ErrMalformed reports a stored hash that is not an Argon2id PHC string
// this package can verify.
var ErrMalformed = errors.New("password: malformed hash")

// b64 is the unpadded standard base64 that PHC strings use.
var b64 = base64.RawStdEncoding

// Hash returns the Argon2id PHC string of pw with a fresh random salt, e.g.
// "$argon2id$v=19$m=19456,t=2,p=1$<salt>$<key>".
func Hash(pw string) (string, error) {
	salt := make([]byte, saltLen)
	if _, err := rand.Read(salt); err != nil {
		return "", fmt.Errorf("password: reading salt: %w", err)
	}
	key := argon2.IDKey([]byte(pw), salt, timeCost, memoryKiB, threads, keyLen)
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s",
		argon2.Version, memoryKiB, timeCost, threads, b64.EncodeToString(salt), b64.EncodeToString(key)), nil
}

// params is a decoded PHC string.
type params struct {
	memory, time uint32
	threads      uint8
	salt, key    []byte
}

// parse decodes an Argon2id PHC string, rejecting anything outside the
// bounds above.
func parse(phc string) (params, error) {
	var p params
	// "", "argon2id", "v=19", "m=…,t=…,p=…", salt, key
	f := strings.Split(phc, "$")
	if len(f) != 6 || f[0] != "" || f[1] != "argon2id" {
		return p, ErrMalformed
	}
	var version int
	if n, err := fmt.Sscanf(f[2], "v=%d", &version); err != nil || n != 1 || f[2] != fmt.Sprintf("v=%d", version) || version != argon2.Version {
		return p, ErrMalformed
	}
	var m, t, th uint32
	if n, err := fmt.Sscanf(f[3], "m=%d,t=%d,p=%d", &m, &t, &th); err != nil || n != 3 || f[3] != fmt.Sprintf("m=%d,t=%d,p=%d", m, t, th) {
		return p, ErrMalformed
	}
	if t < 1 || t > maxTimeCost || th < 1 || th > 255 || m < 8*th || m > maxMemoryKiB {
		return p, ErrMalformed
	}
	salt, err := b64.Strict().DecodeString(f[4])
	if err != nil || len(salt) < minSaltLen || len(salt) > maxSaltLen {
		return p, ErrMalformed
	}
	key, err := b64.Strict().DecodeString(f[5])
	if err != nil || len(key) < minKeyLen || len(key) > maxKeyLen {
		return p, ErrMalformed
	}
	return params{memory: m, time: t, threads: uint8(th), salt: salt, key: key}, nil
}

// Verify reports whether pw matches the PHC string phc. The comparison is
// constant-time. A phc that cannot be parsed gives ErrMalformed.
func Verify(phc, pw string) (bool, error) {
	p, err := parse(phc)
	if err != nil {
		return false, err
	}
	got := argon2.IDKey([]byte(pw), p.salt, p.time, p.memory, p.threads, uint32(len(p.key)))
	return subtle.ConstantTimeCompare(got, p.key) == 1, nil
}

// NeedsRehash reports whether phc was made with parameters other than the
// current ones, so a caller that has just verified the password can store
// a fresh Hash. Malformed strings need rehashing too.
func NeedsRehash(phc string) bool {
	p, err := parse(phc)
	return err != nil || p.memory != memoryKiB || p.time != timeCost || p.threads != threads ||
		len(p.salt) != saltLen || len(p.key) != keyLen
}

// randomAlphabet leaves out characters that are easy to misread when a
// generated password is copied from a terminal (0/O, 1/l/I).
const randomAlphabet = "23456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"

// RandomLen is the length of Random's output. 20 characters of a
// 56-symbol alphabet are about 116 bits.
const RandomLen = 20

// Random returns a new random password of RandomLen characters, for
// accounts created without a chosen password.
func Random() string {
	// Reject bytes at or above the largest multiple of the alphabet size
	// so that b % len is uniform.
	const limit = 256 - 256%len(randomAlphabet)
	out := make([]byte, 0, RandomLen)
	var buf [32]byte
	for len(out) < RandomLen {
		// crypto/rand.Read never fails on supported platforms (it aborts
		// the program instead), so there is no error worth returning.
		if _, err := rand.Read(buf[:]); err != nil {
			panic("password: crypto/rand failed: " + err.Error())
		}
		for _, b := range buf {
			if int(b) < limit && len(out) < RandomLen {
				out = append(out, randomAlphabet[int(b)%len(randomAlphabet)])
			}
		}
	}
	return string(out)
}
