// Package token generates, checks and hashes Gatehouse personal access
// tokens, and holds the scope registry and expiration rules that go with them.
//
// A token is PREFIX + 30 random base62 characters + a 6-character base62
// CRC32 of those 30 characters, the layout GitHub uses for ghp_ tokens. The
// checksum lets a server (and a secret scanner) reject a mistyped or
// invented token without any database access.
package token

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash/crc32"
)

// DefaultPrefix is the prefix used when the instance does not configure one.
const DefaultPrefix = "gtp_"

const (
	// EntropyLen is the number of random base62 characters in a token.
	EntropyLen = 30
	// ChecksumLen is the number of base62 characters of the CRC32 checksum.
	ChecksumLen = 6
	// BodyLen is the length of a token after its prefix.
	BodyLen = EntropyLen + ChecksumLen

	// maxPrefixLen is len("[a-z][a-z0-9]{9}_").
	maxPrefixLen = 11
	// minPrefixLen is len("[a-z][a-z0-9]_").
	minPrefixLen = 3
)

// MaxLen is the longest a token of either kind can be: the longest prefix,
// the fine-grained marker and the body. Scanners that look at a stream
// in pieces must keep this much between pieces.
const MaxLen = maxPrefixLen + len(FineGrainedMarker) + BodyLen

// alphabet is the GMP ("lexicographic") base62 alphabet GitHub uses.
const alphabet = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"

// ErrMalformed reports a string that does not have the shape of a token.
var ErrMalformed = errors.New("token: malformed")

// ErrChecksum reports a token-shaped string whose checksum does not match.
var ErrChecksum = errors.New("token: checksum mismatch")

// ErrPrefix reports a prefix that is not of the form [a-z][a-z0-9]{1,9}_.
var ErrPrefix = errors.New("token: prefix must match [a-z][a-z0-9]{1,9}_")

// base62Value maps a byte to its base62 digit value, or 0xff when the byte
// is not in the alphabet. A table keeps Parse branch-light and makes every
// non-ASCII byte (and so every multi-byte UTF-8 sequence) invalid.
var base62Value = func() (t [256]byte) {
	for i := range t {
		t[i] = 0xff
	}
	for i := 0; i < len(alphabet); i++ {
		t[alphabet[i]] = byte(i)
	}
	return t
}()

// ValidPrefix reports whether p has the shape [a-z][a-z0-9]{1,9}_.
func ValidPrefix(p string) bool {
	if len(p) < minPrefixLen || len(p) > maxPrefixLen {
		return false
	}
	if p[0] < 'a' || p[0] > 'z' || p[len(p)-1] != '_' {
		return false
	}
	for i := 1; i < len(p)-1; i++ {
		c := p[i]
		if (c < 'a' || c > 'z') && (c < '0' || c > '9') {
			return false
		}
	}
	return true
}

// prefixLen returns the length of s's prefix including the underscore, or
// -1 if s does not start with a valid prefix. Only the first maxPrefixLen
// bytes are examined, so the cost does not depend on len(s).
func prefixLen(s string) int {
	n := min(len(s), maxPrefixLen)
	for i := 0; i < n; i++ {
		if s[i] == '_' {
			if ValidPrefix(s[:i+1]) {
				return i + 1
			}
			return -1
		}
	}
	return -1
}

// FineGrainedMarker follows the instance's prefix in a fine-grained token:
// gtp_pat_…, as GitHub's github_pat_ follows ghp_. The prefix stays the
// instance's, so that scanners tell instances apart, and the marker tells
// the kinds apart before any database access.
const FineGrainedMarker = "pat_"

// FineGrainedPrefix returns the prefix of fine-grained tokens of an
// instance whose classic tokens start with prefix.
func FineGrainedPrefix(prefix string) string { return prefix + FineGrainedMarker }

// IsFineGrained reports whether s has the shape of a fine-grained token
// (its checksum is not checked: see Parse).
func IsFineGrained(s string) bool {
	p := prefixLen(s)
	return p > 0 && len(s) == p+len(FineGrainedMarker)+BodyLen && s[p:p+len(FineGrainedMarker)] == FineGrainedMarker
}

// GenerateFineGrained returns a new fine-grained token of an instance
// whose prefix is prefix.
func GenerateFineGrained(prefix string) (string, error) {
	if !ValidPrefix(prefix) {
		return "", ErrPrefix
	}
	return generate(FineGrainedPrefix(prefix))
}

// bodyStart returns where the body of s starts: after its prefix, and
// after the fine-grained marker when one follows the prefix; -1 when s
// does not start with a valid prefix.
func bodyStart(s string) int {
	p := prefixLen(s)
	if p < 0 {
		return -1
	}
	if len(s) == p+len(FineGrainedMarker)+BodyLen && s[p:p+len(FineGrainedMarker)] == FineGrainedMarker {
		return p + len(FineGrainedMarker)
	}
	return p
}

// Generate returns a new token with the given prefix. The random part comes
// from crypto/rand.
func Generate(prefix string) (string, error) {
	if !ValidPrefix(prefix) {
		return "", ErrPrefix
	}
	return generate(prefix)
}

func generate(prefix string) (string, error) {
	buf := make([]byte, len(prefix)+BodyLen)
	copy(buf, prefix)
	entropy := buf[len(prefix) : len(prefix)+EntropyLen]
	if err := randomBase62(entropy); err != nil {
		return "", err
	}
	encodeChecksum(buf[len(prefix)+EntropyLen:], crc32.ChecksumIEEE(entropy))
	return string(buf), nil
}

// randomBase62 fills dst with uniformly distributed base62 characters.
// Bytes of 248 or more are rejected because 248 = 4×62 is the largest
// multiple of 62 that fits in a byte; taking b%62 of the rest is unbiased.
func randomBase62(dst []byte) error {
	var pool [64]byte
	n := 0
	for n < len(dst) {
		if _, err := rand.Read(pool[:]); err != nil {
			return fmt.Errorf("token: reading random bytes: %w", err)
		}
		for _, b := range pool {
			if b >= 248 {
				continue
			}
			dst[n] = alphabet[b%62]
			n++
			if n == len(dst) {
				break
			}
		}
	}
	return nil
}

// encodeChecksum writes v as exactly ChecksumLen base62 digits, left-padded
// with '0'. 62^6 > 2^32, so every CRC32 fits.
func encodeChecksum(dst []byte, v uint32) {
	for i := ChecksumLen - 1; i >= 0; i-- {
		dst[i] = alphabet[v%62]
		v /= 62
	}
}

// crcString is crc32.ChecksumIEEE over a string. hash/crc32 only takes a
// []byte, and converting would allocate on Parse's hot path.
func crcString(s string) uint32 {
	crc := ^uint32(0)
	for i := 0; i < len(s); i++ {
		crc = crc32.IEEETable[byte(crc)^s[i]] ^ (crc >> 8)
	}
	return ^crc
}

// Parse checks that s is a well-formed token with a correct checksum. It
// returns nil, ErrMalformed or ErrChecksum. It does not allocate, looks at
// no more than len(prefix)+BodyLen bytes of s, and touches nothing but s, so
// it is safe to call on every request before any database access.
func Parse(s string) error {
	p := bodyStart(s)
	if p < 0 || len(s) != p+BodyLen {
		return ErrMalformed
	}
	body := s[p:]
	var sum uint64
	for i := 0; i < BodyLen; i++ {
		v := base62Value[body[i]]
		if v == 0xff {
			return ErrMalformed
		}
		if i >= EntropyLen {
			sum = sum*62 + uint64(v)
		}
	}
	// The checksum digits can encode values above 2^32; comparing in
	// uint64 rejects those instead of letting them wrap into a match.
	if sum != uint64(crcString(body[:EntropyLen])) {
		return ErrChecksum
	}
	return nil
}

// LooksLikeToken reports whether s has a token's shape: a valid prefix
// followed by exactly BodyLen base62 characters. The checksum is not
// checked, so a mistyped token still looks like one; this is how a login
// tells a bad token from an account password.
func LooksLikeToken(s string) bool {
	p := bodyStart(s)
	if p < 0 || len(s) != p+BodyLen {
		return false
	}
	for i := p; i < len(s); i++ {
		if base62Value[s[i]] == 0xff {
			return false
		}
	}
	return true
}

// Hash returns the lowercase hex SHA-256 of the whole token, the only form
// of the secret that is stored.
func Hash(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])
}

// LastEight returns the last eight characters of s (all of s if shorter),
// kept so that owners and admins can recognise a token, e.g. in a leak.
func LastEight(s string) string {
	if len(s) <= 8 {
		return s
	}
	return s[len(s)-8:]
}
