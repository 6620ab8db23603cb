package pushprotect

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/gatehouse/gatehouse/internal/token"
)

type textHit struct {
	tok  string
	line int
	enc  string
}

// searchPieces writes data to a text search in pieces of the given sizes
// (cycled; the rest at once when none) and returns what it reported, the
// first report of each token.
func searchPieces(data []byte, sizes ...int) []textHit {
	var f token.Finder
	var hits []textHit
	seen := map[string]bool{}
	t := newText(&f, func(tok string, line int, enc string) bool {
		if !seen[tok] {
			seen[tok] = true
			hits = append(hits, textHit{tok, line, enc})
		}
		return true
	}, "")
	for i := 0; len(data) > 0; i++ {
		n := len(data)
		if len(sizes) > 0 {
			n = min(n, max(1, sizes[i%len(sizes)]))
		}
		t.write(data[:n])
		data = data[n:]
	}
	t.end()
	return hits
}

func hitOf(hits []textHit, tok string) (textHit, bool) {
	for _, h := range hits {
		if h.tok == tok {
			return h, true
		}
	}
	return textHit{}, false
}

// A token is found whole wherever the chunks a stream is searched in
// break, in plain text and in base64, with its line.
func TestTextChunkBoundaries(t *testing.T) {
	tok, _ := token.Generate("gtp_")
	enc := base64.StdEncoding.EncodeToString([]byte("TOKEN=" + tok + "\n"))
	for _, tc := range []struct {
		name, inner string
		enc         string
	}{
		{"plain", tok, ""},
		{"base64", enc, "base64"},
	} {
		for off := findChunk - len(tc.inner) - 12; off <= findChunk+2; off += 3 {
			var b bytes.Buffer
			b.WriteString("\n\n\n")
			b.WriteString(strings.Repeat("-", off-3))
			b.WriteString(" " + tc.inner + "\nend\n")
			pieces := [][]int{nil, {findChunk}, {4096}, {7, 100, 33}}
			if off%9 == 0 {
				pieces = append(pieces, []int{1})
			}
			for _, sizes := range pieces {
				h, ok := hitOf(searchPieces(b.Bytes(), sizes...), tok)
				if !ok || h.line != 4 || h.enc != tc.enc {
					t.Fatalf("%s at offset %d in pieces %v: %+v, %v", tc.name, off, sizes, h, ok)
				}
			}
		}
	}
}

// Strings that are not tokens, encoded or not, report nothing, and text
// that is no base64 is not taken for it.
func TestTextNothing(t *testing.T) {
	var b bytes.Buffer
	for i := range 2000 {
		fmt.Fprintf(&b, "func handle_request_%d(user_id int) error { return lookup_table[user_id] }\n", i)
	}
	b.WriteString(base64.StdEncoding.EncodeToString(bytes.Repeat([]byte("no token here, just words "), 100)))
	b.WriteString("\n" + strings.Repeat("abcdefghij", 1000) + "\n")
	if hits := searchPieces(b.Bytes(), 1000); len(hits) != 0 {
		t.Fatalf("hits: %+v", hits)
	}
}

// FuzzTextPieces checks that where a stream is cut does not change what
// the search finds: the tokens from one write equal those from pieces.
func FuzzTextPieces(f *testing.F) {
	tok, _ := token.Generate("gtp_")
	b64 := base64.StdEncoding.EncodeToString
	f.Add([]byte("x="+tok+"\n"), 5)
	f.Add([]byte("data:\n  t: "+b64([]byte(tok))+"\n"), 3)
	f.Add([]byte(strings.Repeat("A", 40)+"\n"+b64([]byte("..."+tok))+"\n"), 17)
	f.Add(utf16LE("k="+tok, true), 2)
	f.Add([]byte(b64(utf16LE("$t='"+tok+"'", false))), 11)
	f.Fuzz(func(t *testing.T, data []byte, size int) {
		if size <= 0 || size > 1<<20 {
			return
		}
		key := func(hs []textHit) []string {
			var s []string
			for _, h := range hs {
				s = append(s, h.tok)
			}
			slices.Sort(s)
			return s
		}
		whole, pieces := key(searchPieces(data)), key(searchPieces(data, size))
		if !slices.Equal(whole, pieces) {
			t.Fatalf("whole %v, in pieces of %d %v", whole, size, pieces)
		}
	})
}

// TestFineGrainedAcrossPieces: a fine-grained token of an instance with
// the longest prefix is found wherever a search piece boundary cuts it.
func TestFineGrainedAcrossPieces(t *testing.T) {
	for _, prefix := range []string{"gtp_", "gatehou_", "gatehouse_"} {
		tok, err := token.GenerateFineGrained(prefix)
		if err != nil {
			t.Fatal(err)
		}
		for off := 1; off < len(tok); off++ {
			data := append(append(bytes.Repeat([]byte{' '}, findChunk-off), tok...), '\n')
			if _, ok := hitOf(searchPieces(data), tok); !ok {
				t.Errorf("prefix %q: a token cut after %d of its %d bytes is not found", prefix, off, len(tok))
			}
		}
	}
}
