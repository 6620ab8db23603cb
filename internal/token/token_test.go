package token

import (
	"errors"
	"hash/crc32"
	"strings"
	"testing"
)

// The checksum of the published test vector is assembled in pieces so that
// no complete valid-looking token literal sits in the source tree.
const (
	vecEntropy  = "0123456789abcdefghijABCDEFGHIJ"
	vecChecksum = "3mpbCX"
)

func vecToken(prefix string) string { return prefix + vecEntropy + vecChecksum }

func TestChecksumVector(t *testing.T) {
	if got := crc32.ChecksumIEEE([]byte(vecEntropy)); got != 0xced364a5 {
		t.Fatalf("crc32 = %#x, want 0xced364a5", got)
	}
	if got := crcString(vecEntropy); got != 0xced364a5 {
		t.Fatalf("crcString = %#x, want 0xced364a5", got)
	}
	var b [ChecksumLen]byte
	encodeChecksum(b[:], 0xced364a5)
	if string(b[:]) != vecChecksum {
		t.Fatalf("encodeChecksum = %q, want %q", b[:], vecChecksum)
	}
	encodeChecksum(b[:], 0)
	if string(b[:]) != "000000" {
		t.Fatalf("encodeChecksum(0) = %q, want zero-padded", b[:])
	}
	if err := Parse(vecToken(DefaultPrefix)); err != nil {
		t.Fatalf("Parse(vector) = %v", err)
	}
}

func TestGenerateRoundTrip(t *testing.T) {
	for _, prefix := range []string{DefaultPrefix, "ab_", "a1_", "abcdefghij_", "z9z9z9z9z9_"} {
		seen := map[string]bool{}
		for range 200 {
			tok, err := Generate(prefix)
			if err != nil {
				t.Fatalf("Generate(%q): %v", prefix, err)
			}
			if len(tok) != len(prefix)+BodyLen || !strings.HasPrefix(tok, prefix) {
				t.Fatalf("Generate(%q) = %q: bad length or prefix", prefix, tok)
			}
			if err := Parse(tok); err != nil {
				t.Fatalf("Parse(%q) = %v", tok, err)
			}
			if !LooksLikeToken(tok) {
				t.Fatalf("LooksLikeToken(%q) = false", tok)
			}
			if seen[tok] {
				t.Fatalf("duplicate token %q", tok)
			}
			seen[tok] = true
		}
	}
	if len(DefaultPrefix)+BodyLen != 40 {
		t.Fatalf("default token length = %d, want 40", len(DefaultPrefix)+BodyLen)
	}
}

func TestGenerateBadPrefix(t *testing.T) {
	for _, p := range []string{"", "_", "a_", "gtp", "Gtp_", "1tp_", "g-p_", "abcdefghijk_", "gtp__", "gt_p_", "gtp_x", "gtp\x00_", "gté_"} {
		if _, err := Generate(p); !errors.Is(err, ErrPrefix) {
			t.Errorf("Generate(%q) error = %v, want ErrPrefix", p, err)
		}
	}
}

// TestRandomDistribution is a coarse check that every alphabet character
// can occur and none dominates; a modulo-biased generator over 256 would
// make the first 8 characters about 25% more frequent.
func TestRandomDistribution(t *testing.T) {
	const n = 62 * 4000
	buf := make([]byte, n)
	if err := randomBase62(buf); err != nil {
		t.Fatal(err)
	}
	var counts [256]int
	for _, b := range buf {
		counts[b]++
	}
	for i := 0; i < len(alphabet); i++ {
		c := counts[alphabet[i]]
		if c < 3400 || c > 4600 {
			t.Errorf("char %q occurred %d times, want about 4000", alphabet[i], c)
		}
	}
}

func TestParse(t *testing.T) {
	good := vecToken(DefaultPrefix)
	badSum := vecToken(DefaultPrefix)[:len(good)-1] + "Y"
	tests := []struct {
		name string
		in   string
		want error
	}{
		{"vector", good, nil},
		{"short prefix", vecToken("ab_"), nil},
		{"long prefix", vecToken("abcdefghij_"), nil},
		{"digits in prefix", vecToken("g2p_"), nil},
		{"empty", "", ErrMalformed},
		{"prefix only", "gtp_", ErrMalformed},
		{"one short", good[:len(good)-1], ErrMalformed},
		{"one long", good + "0", ErrMalformed},
		{"trailing newline", good + "\n", ErrMalformed},
		{"leading space", " " + good, ErrMalformed},
		{"no prefix", vecEntropy + vecChecksum + "abcd", ErrMalformed},
		{"legacy hex", strings.Repeat("a1", 20), ErrMalformed},
		{"uppercase prefix", vecToken("GTP_"), ErrMalformed},
		{"digit first in prefix", vecToken("1tp_"), ErrMalformed},
		{"prefix too short", vecToken("g_"), ErrMalformed},
		{"prefix too long", vecToken("abcdefghijk_"), ErrMalformed},
		{"dash in prefix", vecToken("g-p_"), ErrMalformed},
		{"double underscore", vecToken("gtp__")[:len(good)+1], ErrMalformed},
		{"underscore in body", "gtp_" + vecEntropy[:10] + "_" + vecEntropy[11:] + vecChecksum, ErrMalformed},
		{"dash in body", "gtp_" + vecEntropy[:10] + "-" + vecEntropy[11:] + vecChecksum, ErrMalformed},
		{"bad char in checksum", "gtp_" + vecEntropy + "3mpbC+", ErrMalformed},
		{"nul byte", "gtp_" + vecEntropy[:29] + "\x00" + vecChecksum, ErrMalformed},
		{"unicode same bytes", "gtp_" + vecEntropy[:28] + "é" + vecChecksum, ErrMalformed},
		{"unicode prefix", "gé_" + vecEntropy[:29] + vecChecksum, ErrMalformed},
		{"fullwidth digit", "gtp_" + vecEntropy[:27] + "０" + vecChecksum, ErrMalformed},
		{"wrong checksum", badSum, ErrChecksum},
		{"entropy changed", "gtp_1" + vecEntropy[1:] + vecChecksum, ErrChecksum},
		{"checksum above 2^32", "gtp_" + vecEntropy + "zzzzzz", ErrChecksum},
		{"swapped chars", "gtp_1023456789abcdefghijABCDEFGHIJ" + vecChecksum, ErrChecksum},
		{"very long", good + strings.Repeat("a", 1<<16), ErrMalformed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Parse(tt.in); got != tt.want {
				t.Fatalf("Parse(%q) = %v, want %v", tt.in, got, tt.want)
			}
		})
	}
}

func TestParseDoesNotAllocate(t *testing.T) {
	good := vecToken(DefaultPrefix)
	bad := good[:len(good)-1] + "Y"
	for _, s := range []string{good, bad, "nonsense", ""} {
		if n := testing.AllocsPerRun(100, func() { _ = Parse(s) }); n != 0 {
			t.Errorf("Parse(%q) allocates %v times", s, n)
		}
	}
}

func TestLooksLikeToken(t *testing.T) {
	good := vecToken(DefaultPrefix)
	tests := []struct {
		in   string
		want bool
	}{
		{good, true},
		{good[:len(good)-1] + "Y", true}, // wrong checksum, still meant as a token
		{vecToken("ghp_"), true},
		{vecToken("abcdefghij_"), true},
		{good[:len(good)-1], false},
		{good + "x", false},
		{"hunter2", false},
		{"correct horse battery staple", false},
		{"", false},
		{"GTP_" + vecEntropy + vecChecksum, false},
		{"gtp_" + vecEntropy + "3mpb!X", false},
		{"gtp_" + vecEntropy[:28] + "é" + vecChecksum, false},
		{vecToken("ab_")[:len("ab_")+BodyLen-1] + "_", false},
	}
	for _, tt := range tests {
		if got := LooksLikeToken(tt.in); got != tt.want {
			t.Errorf("LooksLikeToken(%q) = %v, want %v", tt.in, got, tt.want)
		}
	}
}

func TestHashAndLastEight(t *testing.T) {
	// sha256("abc") from FIPS 180-2.
	if got := Hash("abc"); got != "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad" {
		t.Fatalf("Hash(abc) = %s", got)
	}
	if got := len(Hash(vecToken(DefaultPrefix))); got != 64 {
		t.Fatalf("Hash length = %d, want 64", got)
	}
	if got := LastEight(vecToken(DefaultPrefix)); got != "IJ"+vecChecksum {
		t.Fatalf("LastEight = %q", got)
	}
	if got := LastEight("short"); got != "short" {
		t.Fatalf("LastEight(short) = %q", got)
	}
}

func FuzzParse(f *testing.F) {
	good := vecToken(DefaultPrefix)
	for _, s := range []string{
		good,
		vecToken("ab_"),
		vecToken("abcdefghij_"),
		good[:len(good)-1] + "Y",
		good[:len(good)-1],
		good + "0",
		"",
		"gtp_",
		"_",
		"gtp_" + strings.Repeat("0", BodyLen),
		"gtp_" + vecEntropy + "zzzzzz",
		"gtp_" + vecEntropy[:28] + "é" + vecChecksum,
		"GTP_" + vecEntropy + vecChecksum,
		strings.Repeat("a1", 20),
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		err := Parse(s)
		if err != nil && err != ErrMalformed && err != ErrChecksum {
			t.Fatalf("Parse(%q) returned unexpected error %v", s, err)
		}
		if err == nil {
			// Re-derive validity without sharing Parse's code paths.
			i := strings.IndexByte(s, '_')
			if i < 0 || !ValidPrefix(s[:i+1]) {
				t.Fatalf("Parse accepted %q without a valid prefix", s)
			}
			body := s[i+1:]
			if len(body) != BodyLen || strings.Trim(body, alphabet) != "" {
				t.Fatalf("Parse accepted %q with a bad body", s)
			}
			var want [ChecksumLen]byte
			sum := crc32.ChecksumIEEE([]byte(body[:EntropyLen]))
			for k := ChecksumLen - 1; k >= 0; k-- {
				want[k] = alphabet[sum%62]
				sum /= 62
			}
			if body[EntropyLen:] != string(want[:]) {
				t.Fatalf("Parse accepted %q; checksum should be %q", s, want[:])
			}
			if !LooksLikeToken(s) {
				t.Fatalf("Parse accepted %q but LooksLikeToken rejects it", s)
			}
		}
		if err == ErrChecksum && !LooksLikeToken(s) {
			t.Fatalf("Parse(%q) = ErrChecksum but it does not look like a token", s)
		}
		// Generate with the input's prefix, when it is one, must round-trip.
		if i := strings.IndexByte(s, '_'); i >= 0 && ValidPrefix(s[:i+1]) {
			tok, gerr := Generate(s[:i+1])
			if gerr != nil {
				t.Fatalf("Generate(%q): %v", s[:i+1], gerr)
			}
			if perr := Parse(tok); perr != nil {
				t.Fatalf("Parse(Generate(%q)) = %v", s[:i+1], perr)
			}
		}
	})
}

func BenchmarkParse(b *testing.B) {
	tok, err := Generate(DefaultPrefix)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if err := Parse(tok); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkHash(b *testing.B) {
	tok, err := Generate(DefaultPrefix)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		_ = Hash(tok)
	}
}

func BenchmarkGenerate(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Generate(DefaultPrefix); err != nil {
			b.Fatal(err)
		}
	}
}
