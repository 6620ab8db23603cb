package pushprotect

import (
	"bytes"
	"context"
	"encoding/base64"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gatehouse/gatehouse/internal/token"
)

// quarantine moves the packs that build wrote since before (a listing of
// objects/pack) into a quarantine directory, as receive-pack keeps a
// pushed pack, and returns the environment git gives pre-receive then.
func (r *repo) quarantine(before []string) []string {
	r.t.Helper()
	objects := filepath.Join(r.dir, "objects")
	q := filepath.Join(objects, "tmp_objdir-incoming-bench")
	if err := os.MkdirAll(filepath.Join(q, "pack"), 0o755); err != nil {
		r.t.Fatal(err)
	}
	after, _ := filepath.Glob(filepath.Join(objects, "pack", "*"))
	old := map[string]bool{}
	for _, p := range before {
		old[p] = true
	}
	for _, p := range after {
		if !old[p] {
			if err := os.Rename(p, filepath.Join(q, "pack", filepath.Base(p))); err != nil {
				r.t.Fatal(err)
			}
		}
	}
	return append(r.env(), envQuarantine+"="+q, envObjects+"="+q, envAlternates+"="+objects)
}

// BenchmarkScan300Files scans the first push of 300 files of code (1.3
// MiB), the push e2e's TestPushProtectionOverhead times, as pre-receive
// sees it: a pack in quarantine.
func BenchmarkScan300Files(b *testing.B) {
	r := newRepo(b)
	files := map[string][]byte{}
	for i := range 300 {
		body := strings.Repeat(fmt.Sprintf("func handle_request_%d(user_id int) error { return lookup_table[user_id] }\n", i), 60)
		files[fmt.Sprintf("pkg%02d/file%03d.go", i%20, i)] = []byte(body)
	}
	before, _ := filepath.Glob(filepath.Join(r.dir, "objects", "pack", "*"))
	ids := r.build("", false, commit{"import", files})
	env := r.quarantine(before)
	ups := []Update{{Old: strings.Repeat("0", 40), New: ids[0], Ref: "refs/heads/main"}}
	b.ResetTimer()
	for range b.N {
		f, st, err := (&Scanner{}).Scan(context.Background(), r.dir, env, ups)
		if err != nil || len(f) != 0 || st.Incomplete || st.Objects < 300 {
			b.Fatalf("Scan = %v, %+v, %v", f, st, err)
		}
	}
}

// BenchmarkText measures the search of one stream, without git, by kind
// of content: the cost of decoding what may be encoded.
func BenchmarkText(b *testing.B) {
	var code bytes.Buffer
	for i := 0; code.Len() < 4<<20; i++ {
		fmt.Fprintf(&code, "func handle_request_%d(user_id int) error { return lookup_table[user_id] }\n", i)
	}
	bin := make([]byte, 4<<20)
	rand.NewChaCha8([32]byte{}).Read(bin)
	b64 := []byte(wrap(base64.StdEncoding.EncodeToString(bin[:3<<20]), 76))
	utf := utf16LE(code.String()[:2<<20], true)
	for _, tc := range []struct {
		name string
		data []byte
	}{{"code", code.Bytes()}, {"binary", bin}, {"base64", b64}, {"utf16", utf}} {
		b.Run(tc.name, func(b *testing.B) {
			var f token.Finder
			t := newText(&f, func(string, int, string) bool { return true }, "")
			b.SetBytes(int64(len(tc.data)))
			for range b.N {
				for p := tc.data; len(p) > 0; p = p[min(len(p), findChunk):] {
					t.write(p[:min(len(p), findChunk)])
				}
				t.end()
			}
		})
	}
}
