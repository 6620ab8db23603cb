package token

import (
	"bytes"
	"io"
	"strings"
	"testing"
	"testing/iotest"
)

func findAll(t *testing.T, r io.Reader) []Candidate {
	t.Helper()
	var got []Candidate
	var f Finder
	if err := f.Find(r, func(c Candidate) bool { got = append(got, c); return true }); err != nil {
		t.Fatal(err)
	}
	return got
}

func TestFinder(t *testing.T) {
	tok, err := Generate("gtp_")
	if err != nil {
		t.Fatal(err)
	}
	other, _ := Generate("acme_")
	last := byte('A')
	if tok[len(tok)-1] == last {
		last = 'B'
	}
	bad := tok[:len(tok)-1] + string(last)
	for _, tc := range []struct {
		name  string
		input string
		want  []Candidate
	}{
		{"alone", tok, []Candidate{{tok, 1}, {tok[1:], 1}}},
		{"env file", "A=1\nGATEHOUSE_TOKEN=" + tok + "\n", []Candidate{{tok, 2}, {tok[1:], 2}}},
		{"quoted, other prefix", "x = \"" + other + "\"", []Candidate{{other, 1}, {other[1:], 1}, {other[2:], 1}}},
		{"bad checksum", "t=" + bad, nil},
		{"split across lines", tok[:20] + "\n" + tok[20:], nil},
		{"split by a space", tok[:4] + " " + tok[4:], nil},
		{"snake case only", strings.Repeat("some_identifier_name_here ", 100), nil},
		{"truncated", tok[:len(tok)-1], nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := findAll(t, strings.NewReader(tc.input))
			if len(got) != len(tc.want) {
				t.Fatalf("found %d candidates, want %d: %v", len(got), len(tc.want), got)
			}
			for i := range got {
				if got[i] != tc.want[i] {
					t.Errorf("candidate %d = %+v, want %+v", i, got[i], tc.want[i])
				}
			}
		})
	}
}

// A token that straddles the boundary between two reads, at every offset,
// is found once with its line number.
func TestFinderChunkBoundaries(t *testing.T) {
	tok, _ := Generate("gtp_")
	for off := findChunk - len(tok) - 12; off <= findChunk+2; off++ {
		var b bytes.Buffer
		b.WriteString(strings.Repeat("\n", 3))
		b.WriteString(strings.Repeat("-", off-3))
		b.WriteString(tok)
		b.WriteString("\nend\n")
		b.WriteString(strings.Repeat("z", findChunk))
		got := findAll(t, bytes.NewReader(b.Bytes()))
		if len(got) == 0 || got[0].Token != tok || got[0].Line != 4 {
			t.Fatalf("offset %d: got %+v", off, got)
		}
		if len(got) != 2 {
			t.Fatalf("offset %d: %d candidates, want 2 (gtp_ and tp_)", off, len(got))
		}
	}
	// One byte at a time.
	got := findAll(t, iotest.OneByteReader(strings.NewReader("a\nb\n"+tok)))
	if len(got) != 2 || got[0].Token != tok || got[0].Line != 3 {
		t.Fatalf("one byte reader: %+v", got)
	}
}

func TestFinderStop(t *testing.T) {
	tok, _ := Generate("gtp_")
	n := 0
	var f Finder
	f.Find(strings.NewReader(tok+" "+tok), func(Candidate) bool { n++; return false })
	if n != 1 {
		t.Fatalf("fn called %d times after returning false", n)
	}
}

func FuzzFinder(f *testing.F) {
	tok, _ := Generate("gtp_")
	f.Add([]byte(tok))
	f.Add([]byte("x_" + tok[4:]))
	f.Fuzz(func(t *testing.T, data []byte) {
		var fd Finder
		fd.Find(bytes.NewReader(data), func(c Candidate) bool {
			if err := Parse(c.Token); err != nil {
				t.Fatalf("candidate %q does not parse: %v", c.Token, err)
			}
			if !bytes.Contains(data, []byte(c.Token)) {
				t.Fatalf("candidate %q not in input", c.Token)
			}
			return true
		})
	})
}

func BenchmarkFinder(b *testing.B) {
	// Source-like text: identifiers with underscores, no tokens.
	src := bytes.Repeat([]byte("func parse_user_name(user_id int) { return lookup_table[user_id] }\n"), 16<<10)
	var f Finder
	b.SetBytes(int64(len(src)))
	for b.Loop() {
		f.Find(bytes.NewReader(src), func(Candidate) bool { return true })
	}
}
