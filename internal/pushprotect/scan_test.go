package pushprotect

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gatehouse/gatehouse/internal/token"
)

// repo is a bare repository in which tests build commits that no ref
// reaches, as a push's objects are while pre-receive runs.
type repo struct {
	t   testing.TB
	dir string
}

func newRepo(t testing.TB) *repo {
	t.Helper()
	if _, err := exec.LookPath("git"); err != nil {
		t.Skip("SKIPPING: git is not installed")
	}
	r := &repo{t: t, dir: t.TempDir()}
	r.git(nil, "init", "-q", "--bare", "-b", "main")
	return r
}

func (r *repo) env() []string {
	return append(os.Environ(), "GIT_CONFIG_NOSYSTEM=1", "GIT_CONFIG_GLOBAL=/dev/null")
}

func (r *repo) git(stdin []byte, args ...string) string {
	r.t.Helper()
	cmd := exec.Command("git", args...)
	cmd.Dir = r.dir
	cmd.Env = r.env()
	if stdin != nil {
		cmd.Stdin = bytes.NewReader(stdin)
	}
	out, err := cmd.CombinedOutput()
	if err != nil {
		r.t.Fatalf("git %v: %v\n%s", args, err, out)
	}
	return strings.TrimSpace(string(out))
}

// commit is one commit for build: a message and files (path → content,
// nil to delete).
type commit struct {
	msg   string
	files map[string][]byte
}

// build writes commits on top of parent ("" for a root) with fast-import
// and returns their ids, oldest first. With keep, refs/heads/main points at
// the last; otherwise no ref reaches them.
func (r *repo) build(parent string, keep bool, commits ...commit) []string {
	r.t.Helper()
	var b bytes.Buffer
	for i, c := range commits {
		fmt.Fprintf(&b, "commit refs/heads/tmp\nmark :%d\ncommitter T <t@example.com> %d +0000\ndata %d\n%s\n", i+1, 1700000000+i, len(c.msg), c.msg)
		if i == 0 && parent != "" {
			fmt.Fprintf(&b, "from %s\n", parent)
		}
		for path, data := range c.files {
			if data == nil {
				fmt.Fprintf(&b, "D %s\n", path)
				continue
			}
			fmt.Fprintf(&b, "M 100644 inline %s\ndata %d\n", path, len(data))
			b.Write(data)
			b.WriteString("\n")
		}
	}
	var marks []string
	for i := range commits {
		fmt.Fprintf(&b, "get-mark :%d\n", i+1)
	}
	out := r.git(b.Bytes(), "fast-import", "--quiet", "--cat-blob-fd=1")
	marks = strings.Fields(out)
	if keep {
		r.git(nil, "update-ref", "refs/heads/main", marks[len(marks)-1])
	}
	r.git(nil, "update-ref", "-d", "refs/heads/tmp")
	return marks
}

func (r *repo) scan(s *Scanner, tips ...string) ([]Finding, Stats) {
	r.t.Helper()
	var ups []Update
	for _, tip := range tips {
		ups = append(ups, Update{Old: strings.Repeat("0", 40), New: tip, Ref: "refs/heads/x"})
	}
	f, st, err := s.Scan(context.Background(), r.dir, r.env(), ups)
	if err != nil {
		r.t.Fatal(err)
	}
	return f, st
}

func newToken(t *testing.T) string {
	t.Helper()
	tok, err := token.Generate("gtp_")
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// tokens returns the findings' full tokens (the longest candidate per
// body), for comparison.
func tokens(fs []Finding) map[string]Finding {
	m := map[string]Finding{}
	for _, f := range fs {
		if strings.HasPrefix(f.Token, "gtp_") {
			m[f.Token] = f
		}
	}
	return m
}

func TestScan(t *testing.T) {
	r := newRepo(t)
	old := newToken(t)
	base := r.build("", true, commit{"base", map[string][]byte{"README": []byte("x\n"), "old.env": []byte("T=" + old + "\n")}})

	inBlob, inMsg, nested, later, split := newToken(t), newToken(t), newToken(t), newToken(t), newToken(t)
	big := make([]byte, 2<<20)
	rand.Read(big)
	bigTok := newToken(t)
	copy(big[1<<20:], bigTok)
	small := make([]byte, 4096)
	rand.Read(small)
	binTok := newToken(t)
	copy(small[100:], binTok)

	ids := r.build(base[0], false,
		commit{"add config", map[string][]byte{".env": []byte("# settings\nGATEHOUSE_TOKEN=" + inBlob + "\n")}},
		commit{"use token " + inMsg + " for CI", map[string][]byte{"deep/er/path/config.yml": []byte("a: 1\nb:\n  token: '" + nested + "'\n")}},
		commit{"unrelated", map[string][]byte{"other.txt": []byte("no secrets\n"), "split.txt": []byte(split[:20] + "\n" + split[20:] + "\n")}},
		commit{"binaries", map[string][]byte{"big.bin": big, "small.bin": small}},
		commit{"later", map[string][]byte{".env": []byte("GATEHOUSE_TOKEN=" + later + "\n"), "old.env": nil}},
	)
	found, st := r.scan(&Scanner{}, ids[len(ids)-1])
	got := tokens(found)
	want := map[string]Finding{
		inBlob: {Commit: ids[0], Path: ".env", Line: 2},
		inMsg:  {Commit: ids[1], Path: ""},
		nested: {Commit: ids[1], Path: "deep/er/path/config.yml", Line: 3},
		binTok: {Commit: ids[3], Path: "small.bin"},
		bigTok: {Commit: ids[3], Path: "big.bin"},
		later:  {Commit: ids[4], Path: ".env", Line: 1},
	}
	for tok, w := range want {
		g, ok := got[tok]
		if !ok {
			t.Errorf("token at %s not found", w.Location())
			continue
		}
		if g.Commit != w.Commit || g.Path != w.Path || (w.Line != 0 && g.Line != w.Line) {
			t.Errorf("token found at %s in %.8s, want %s in %.8s", g.Location(), g.Commit, w.Location(), w.Commit)
		}
		delete(got, tok)
	}
	for tok, g := range got {
		switch tok {
		case old:
			t.Errorf("token already reachable from main reported at %s", g.Location())
		case split:
			t.Errorf("token split across lines reported at %s", g.Location())
		default:
			t.Errorf("unexpected finding at %s", g.Location())
		}
	}
	if st.Incomplete || st.Bytes < 2<<20 {
		t.Errorf("stats %+v: the big blob should have been searched and the scan complete", st)
	}
	if st.Objects < len(ids) {
		t.Errorf("stats %+v: fewer objects than commits", st)
	}
}

func TestScanTagMessageAndDeletes(t *testing.T) {
	r := newRepo(t)
	base := r.build("", true, commit{"base", map[string][]byte{"a": []byte("a\n")}})
	tok := newToken(t)
	tag := r.git([]byte("object "+base[0]+"\ntype commit\ntag v1\ntagger T <t@example.com> 1700000000 +0000\n\nrelease "+tok+"\n"), "mktag")
	found, _ := r.scan(&Scanner{}, tag)
	if g, ok := tokens(found)[tok]; !ok || g.Tag != "v1" || g.Commit != tag {
		t.Fatalf("tag message: %+v", found)
	}
	// A push that only deletes refs brings nothing to scan.
	f, _, err := (&Scanner{}).Scan(context.Background(), r.dir, r.env(), []Update{{Old: base[0], New: strings.Repeat("0", 40), Ref: "refs/heads/main"}})
	if err != nil || len(f) != 0 {
		t.Fatalf("delete: %v, %v", f, err)
	}
}

func TestScanBounded(t *testing.T) {
	r := newRepo(t)
	files := map[string][]byte{}
	for i := range 20 {
		files[fmt.Sprintf("f%02d", i)] = bytes.Repeat([]byte{byte('a' + i)}, 10<<10)
	}
	ids := r.build("", false, commit{"many", files})
	_, st := r.scan(&Scanner{MaxBytes: 50 << 10}, ids[0])
	if !st.Incomplete || st.Bytes > 50<<10 {
		t.Fatalf("stats %+v, want an incomplete scan within 50 KiB", st)
	}
	_, st = r.scan(&Scanner{}, ids[0])
	if st.Incomplete || st.Bytes < 200<<10 {
		t.Fatalf("stats %+v, want a complete scan", st)
	}
}

func TestScanError(t *testing.T) {
	r := newRepo(t)
	_, _, err := (&Scanner{}).Scan(context.Background(), r.dir, r.env(), []Update{{Old: strings.Repeat("0", 40), New: strings.Repeat("1", 40), Ref: "refs/heads/x"}})
	if err == nil {
		t.Fatal("scanning a missing object succeeded")
	}
}

func TestParseUpdates(t *testing.T) {
	z, a := strings.Repeat("0", 40), strings.Repeat("a", 40)
	ups, err := ParseUpdates(strings.NewReader(z + " " + a + " refs/heads/main\n" + a + " " + z + " refs/tags/v1\n"))
	if err != nil || len(ups) != 2 || ups[0].Deletes() || !ups[1].Deletes() || ups[0].Ref != "refs/heads/main" {
		t.Fatalf("ParseUpdates = %+v, %v", ups, err)
	}
	if _, err := ParseUpdates(strings.NewReader("--all " + a + " refs/heads/x\n")); err == nil {
		t.Fatal("an option in place of an object id was accepted")
	}
}

func TestInstall(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "it's hooks")
	got, err := Install(dir, "/opt/gate house/it's/gatehouse")
	if err != nil || got != dir {
		t.Fatalf("Install = %q, %v", got, err)
	}
	fi, err := os.Stat(filepath.Join(dir, "pre-receive"))
	if err != nil || fi.Mode().Perm()&0o100 == 0 {
		t.Fatalf("hook not executable: %v %v", fi, err)
	}
	if _, err := exec.LookPath("sh"); err == nil {
		out, err := exec.Command("sh", "-n", filepath.Join(dir, "pre-receive")).CombinedOutput()
		if err != nil {
			t.Fatalf("sh -n: %v %s", err, out)
		}
	}
	b, _ := os.ReadFile(filepath.Join(dir, "pre-receive"))
	if !strings.Contains(string(b), `exec '/opt/gate house/it'\''s/gatehouse' hook pre-receive`) {
		t.Fatalf("script:\n%s", b)
	}
}

// A token used as a file or directory name, or as a ref name, is as public
// as one inside a file; the location shown never holds the token itself.
func TestScanNames(t *testing.T) {
	r := newRepo(t)
	inFile, inDir, inRef := newToken(t), newToken(t), newToken(t)
	ids := r.build("", false, commit{"names", map[string][]byte{
		"keys/" + inFile:           []byte("x"),
		inDir + "/readme.txt":      []byte("y"),
		"plain/file-without-token": []byte("z"),
	}})
	f, _, err := (&Scanner{}).Scan(context.Background(), r.dir, r.env(), []Update{{Old: strings.Repeat("0", 40), New: ids[0], Ref: "refs/heads/" + inRef}})
	if err != nil {
		t.Fatal(err)
	}
	got := tokens(f)
	for name, tok := range map[string]string{"file name": inFile, "directory name": inDir, "ref name": inRef} {
		hit, ok := got[tok]
		if !ok {
			t.Errorf("%s: token not found in %+v", name, f)
			continue
		}
		if loc := hit.Location(); strings.Contains(loc, tok) || !strings.Contains(loc, token.LastEight(tok)) {
			t.Errorf("%s: location %q", name, loc)
		}
	}
	if hit := got[inRef]; hit.Ref == "" || hit.Commit != ids[0] {
		t.Errorf("ref finding %+v", hit)
	}

	// Two tokens in one name: each location hides both.
	a, b := newToken(t), newToken(t)
	f, _, err = (&Scanner{}).Scan(context.Background(), r.dir, r.env(), []Update{{Old: strings.Repeat("0", 40), New: ids[0], Ref: "refs/heads/" + a + "-" + b}})
	if err != nil {
		t.Fatal(err)
	}
	for _, hit := range f {
		loc := hit.Location()
		if strings.Contains(loc, a[4:len(a)-8]) || strings.Contains(loc, b[4:len(b)-8]) {
			t.Errorf("location %q shows a token", loc)
		}
	}
	if len(tokens(f)) != 4 { // a, b, and the names inFile and inDir
		t.Errorf("findings %+v", f)
	}
}

// Forged candidates are cheap (the checksum is public): past a bound the
// push is refused instead of looked up one by one.
func TestScanTooManyCandidates(t *testing.T) {
	r := newRepo(t)
	var b bytes.Buffer
	for range MaxCandidates + 1 {
		b.WriteString(newToken(t) + "\n")
	}
	ids := r.build("", false, commit{"forged", map[string][]byte{"list.txt": b.Bytes()}})
	_, _, err := (&Scanner{}).Scan(context.Background(), r.dir, r.env(), []Update{{Old: strings.Repeat("0", 40), New: ids[0], Ref: "refs/heads/x"}})
	if !errors.Is(err, ErrTooManyCandidates) {
		t.Fatalf("Scan = %v, want ErrTooManyCandidates", err)
	}
}
