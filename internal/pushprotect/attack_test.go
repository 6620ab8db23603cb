package pushprotect

import (
	"bytes"
	"compress/gzip"
	"encoding/base64"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
	"time"
	"unicode/utf16"

	"github.com/gatehouse/gatehouse/internal/token"
)

// A push may carry objects that no pushed ref reaches: receive-pack stores
// them with the rest, and they can then be fetched by id (protocol v2
// serves any stored object). They are searched too, whether receive-pack
// unpacked them (a small push) or kept the pack; objects the repository
// had already, which a pack may repeat, are not this push's.
func TestPushUnreachableObjects(t *testing.T) {
	for _, unpackLimit := range []string{"10000", "1"} {
		t.Run("unpackLimit="+unpackLimit, func(t *testing.T) {
			in := newInstance(t)
			blobTok, treeTok, msgTok, old := newToken(t), newToken(t), newToken(t), newToken(t)
			for i, tok := range []string{blobTok, treeTok, msgTok, old} {
				in.add(t, fmt.Sprint("t", i), tok, time.Time{})
			}
			sv := newServer(t, in)
			base := sv.build("", true, commit{"base", map[string][]byte{"README": []byte("x\n"), "old.env": []byte("T=" + old + "\n")}})[0]
			sv.git(nil, "config", "receive.unpackLimit", unpackLimit)
			c := newClient(t, sv)

			next := c.commit("docs", map[string][]byte{"docs.md": []byte("Read the token from the environment.\n")})
			blob := c.git([]byte("GATEHOUSE_TOKEN="+blobTok+"\n"), "hash-object", "-w", "--stdin")
			clean := c.git([]byte("clean\n"), "hash-object", "-w", "--stdin")
			tree := c.git([]byte("100644 blob "+clean+"\t"+treeTok+"\n"), "mktree")
			dangling := c.git(nil, "commit-tree", tree, "-m", "deploy with "+msgTok)
			objects := ids(c.git(nil, "rev-list", "--objects", base+".."+next))
			objects = append(objects, blob, clean, tree, dangling, c.git(nil, "rev-parse", base+":old.env"))
			report, out := c.sendPack(sv, base+" "+next+" refs/heads/main", objects)

			if !strings.Contains(report, "ng refs/heads/main") {
				t.Fatalf("push accepted:\n%s\n%s", report, out)
			}
			if got := sv.head(t, "refs/heads/main"); got != base {
				t.Errorf("main moved to %s", got)
			}
			got, _ := sv.scanned(t)
			want := map[string]string{
				blobTok: "an object not reachable from any pushed ref (" + blob + ")",
				treeTok: "the file or directory name <token …" + token.LastEight(treeTok) + "> in an object not reachable from any pushed ref (" + tree + ")",
				msgTok:  "an object not reachable from any pushed ref (" + dangling + ")",
			}
			for tok, loc := range want {
				f, ok := got[tok]
				if !ok {
					t.Errorf("token at %s not found", loc)
					continue
				}
				if f.Location() != loc || f.Commit != "" {
					t.Errorf("token found at %q (commit %q), want %q", f.Location(), f.Commit, loc)
				}
			}
			if f, ok := got[old]; ok {
				t.Errorf("a token the repository already held was reported at %s", f.Location())
			}
			for _, w := range []string{"push protection", "object: " + blob, "not reachable from any pushed ref", "git push sends only what"} {
				if !strings.Contains(out, w) {
					t.Errorf("message lacks %q:\n%s", w, out)
				}
			}
			noSecrets(t, "the message", out, blobTok, treeTok, msgTok, old)
			for _, e := range in.events(t) {
				noSecrets(t, "the audit log", e.Detail, blobTok, treeTok, msgTok, old)
			}
			if n := len(in.events(t)); n != 3 {
				t.Errorf("%d tokens revoked, want 3", n)
			}

			// Without the extra objects the same update goes through.
			report, out = c.sendPack(sv, base+" "+next+" refs/heads/main", ids(c.git(nil, "rev-list", "--objects", base+".."+next)))
			if !strings.Contains(report, "ok refs/heads/main") {
				t.Fatalf("clean push refused:\n%s\n%s", report, out)
			}
		})
	}
}

// ids returns the first word of each line of rev-list --objects.
func ids(list string) []string {
	var out []string
	for _, l := range strings.Split(list, "\n") {
		if f := strings.Fields(l); len(f) > 0 {
			out = append(out, f[0])
		}
	}
	return out
}

func gz(t *testing.T, s string) []byte {
	t.Helper()
	var b bytes.Buffer
	w := gzip.NewWriter(&b)
	w.Name = "app.log"
	w.Write([]byte(s))
	w.Close()
	return b.Bytes()
}

func utf16LE(s string, bom bool) []byte {
	var b []byte
	if bom {
		b = append(b, 0xff, 0xfe)
	}
	for _, u := range utf16.Encode([]rune(s)) {
		b = append(b, byte(u), byte(u>>8))
	}
	return b
}

func utf16BE(s string) []byte {
	b := []byte{0xfe, 0xff}
	for _, u := range utf16.Encode([]rune(s)) {
		b = append(b, byte(u>>8), byte(u))
	}
	return b
}

// wrap breaks s into lines of n characters, as base64(1) and PEM do.
func wrap(s string, n int) string {
	var b strings.Builder
	for len(s) > n {
		b.WriteString(s[:n] + "\n")
		s = s[n:]
	}
	b.WriteString(s + "\n")
	return b.String()
}

// A token stored compressed or encoded is as readable as one stored as it
// is: gzip content, UTF-16 text and base64 are searched decoded.
func TestPushEncodedContent(t *testing.T) {
	b64 := base64.StdEncoding.EncodeToString
	cases := []struct {
		name, path string
		content    func(tok string) []byte
		loc        string // Location without the path
	}{
		{"gzip", "logs/app.log.gz", func(tok string) []byte { return gz(t, "started\nGATEHOUSE_TOKEN="+tok+"\n") }, ":2 (gzip)"},
		{"gzip holding base64", "data.json.gz", func(tok string) []byte { return gz(t, `{"auth": "`+b64([]byte("user:"+tok))+`"}`) }, ":1 (gzip, base64)"},
		{"UTF-16LE with BOM", "notes.txt", func(tok string) []byte { return utf16LE("hello\r\ntoken: "+tok+"\r\n", true) }, ":2"},
		{"UTF-16LE without BOM", "notes2.txt", func(tok string) []byte { return utf16LE("a\nb\nc "+tok+"\n", false) }, ":3"},
		{"UTF-16BE", "notes3.txt", func(tok string) []byte { return utf16BE("token=" + tok) }, ":1"},
		{"base64 .env", "env.b64", func(tok string) []byte { return []byte(b64([]byte("A=1\nGATEHOUSE_TOKEN="+tok+"\n")) + "\n") }, ":1 (base64)"},
		// base64(1) wraps at 76: the token's encoding spans the break.
		{"wrapped base64", "env.txt", func(tok string) []byte {
			return []byte("-----BEGIN ENV-----\n" + wrap(b64([]byte(strings.Repeat("#", 45)+"\nTOKEN="+tok+"\n")), 76) + "-----END ENV-----\n")
		}, ":2 (base64)"},
		{"Kubernetes secret", "k8s/secret.yaml", func(tok string) []byte {
			return []byte("apiVersion: v1\nkind: Secret\ndata:\n  GATEHOUSE_TOKEN: " + b64([]byte(tok)) + "\n")
		}, ":4 (base64)"},
		{"unpadded URL-safe base64 after a word", "cfg.json", func(tok string) []byte {
			return []byte(`{"v":"x` + base64.RawURLEncoding.EncodeToString([]byte(" "+tok+"?>")) + `"}`)
		}, ":1 (base64)"},
		{"base64 of UTF-16LE", "run.ps1", func(tok string) []byte {
			return []byte("powershell -EncodedCommand " + b64(utf16LE("$env:T='"+tok+"'", false)) + "\n")
		}, ":1 (base64)"},
	}
	in := newInstance(t)
	sv := newServer(t, in)
	sv.build("", true, commit{"base", map[string][]byte{"README": []byte("x\n")}})
	c := newClient(t, sv)
	for i, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			tok := newToken(t)
			in.add(t, tc.name, tok, time.Time{})
			c.git(nil, "checkout", "-q", "-B", fmt.Sprint("b", i), "origin/main")
			id := c.commit("add "+tc.path, map[string][]byte{tc.path: tc.content(tok)})
			out, rejected := c.push("origin", "HEAD:refs/heads/"+fmt.Sprint("b", i))
			if !rejected {
				t.Fatalf("push accepted:\n%s", out)
			}
			f, ok := func() (Finding, bool) { got, _ := sv.scanned(t); f, ok := got[tok]; return f, ok }()
			if !ok {
				t.Fatalf("token not found; push output:\n%s", out)
			}
			if f.Location() != tc.path+tc.loc || f.Commit != id {
				t.Errorf("found at %q in %.8s, want %q in %.8s", f.Location(), f.Commit, tc.path+tc.loc, id)
			}
			if !strings.Contains(out, "…"+token.LastEight(tok)) {
				t.Errorf("message:\n%s", out)
			}
			noSecrets(t, "the message", out, tok)
		})
	}
}

// A file of any size is searched, a chunk at a time; its size counts
// against the push-wide bound, so a push too large for it is refused.
func TestPushLargeFile(t *testing.T) {
	in := newInstance(t)
	sv := newServer(t, in)
	sv.build("", true, commit{"base", map[string][]byte{"README": []byte("x\n")}})
	c := newClient(t, sv)
	tok := newToken(t)
	in.add(t, "laptop", tok, time.Time{})
	var big bytes.Buffer
	rng := rand.New(rand.NewPCG(1, 2))
	line := 0
	for big.Len() < 3<<20 {
		line++
		if line == 30000 {
			big.WriteString("token = " + tok + "\n")
			continue
		}
		fmt.Fprintf(&big, "%d %x\n", line, rng.Uint64())
	}
	id := c.commit("add log", map[string][]byte{"big.log": big.Bytes()})
	out, rejected := c.push("origin", "HEAD:main")
	if !rejected {
		t.Fatalf("push accepted:\n%s", out)
	}
	got, st := sv.scanned(t)
	if f, ok := got[tok]; !ok || f.Location() != "big.log:30000" || f.Commit != id {
		t.Fatalf("finding %+v (%s); push output:\n%s", f, f.Location(), out)
	}
	if st.Bytes < int64(big.Len()) {
		t.Errorf("stats %+v: the big file was not counted", st)
	}

	// The same push, with a bound below the file's size.
	sv.mu.Lock()
	sv.scanner.MaxBytes = 1 << 20
	sv.mu.Unlock()
	out, rejected = c.push("origin", "HEAD:refs/heads/other")
	if !rejected || !strings.Contains(out, "too large for push protection") {
		t.Fatalf("push over the bound: rejected %v\n%s", rejected, out)
	}
}

// rev-list names an object once, with its first path: a token used as a
// file or directory name whose blob or tree also appears under another
// name is still found, in the tree that holds the name.
func TestPushNamesOfSharedObjects(t *testing.T) {
	in := newInstance(t)
	sv := newServer(t, in)
	sv.build("", true, commit{"base", map[string][]byte{"README": []byte("x\n")}})
	c := newClient(t, sv)
	asFile, asDir := newToken(t), newToken(t)
	in.add(t, "file", asFile, time.Time{})
	in.add(t, "dir", asDir, time.Time{})
	c.commit("names", map[string][]byte{
		"a.txt":           []byte("same\n"),
		"keys/" + asFile:  []byte("same\n"),
		"d1/readme":       []byte("same tree\n"),
		asDir + "/readme": []byte("same tree\n"),
	})
	out, rejected := c.push("origin", "HEAD:main")
	if !rejected {
		t.Fatalf("push accepted:\n%s", out)
	}
	got, _ := sv.scanned(t)
	for tok, loc := range map[string]string{
		asFile: "the file or directory name keys/<token …" + token.LastEight(asFile) + ">",
		asDir:  "the file or directory name <token …" + token.LastEight(asDir) + ">",
	} {
		if f, ok := got[tok]; !ok || f.Location() != loc {
			t.Errorf("found at %q (%v), want %q", f.Location(), ok, loc)
		}
	}
	noSecrets(t, "the message", out, asFile, asDir)
}

// When one token names a directory and another sits in a file (or names
// a file) under it, no token reaches the pusher, the audit log or the
// owner's e-mail: every token found is redacted from every location.
func TestPushRedactsEveryToken(t *testing.T) {
	in := newInstance(t)
	sv := newServer(t, in)
	sv.build("", true, commit{"base", map[string][]byte{"README": []byte("x\n")}})
	c := newClient(t, sv)
	dir, inFile, fileName := newToken(t), newToken(t), newToken(t)
	for i, tok := range []string{dir, inFile, fileName} {
		in.add(t, fmt.Sprint("t", i), tok, time.Time{})
	}
	c.commit("deploy", map[string][]byte{
		dir + "/.env":               []byte("GATEHOUSE_TOKEN=" + inFile + "\n"),
		dir + "/" + fileName + ".k": []byte("x\n"),
	})
	out, rejected := c.push("origin", "HEAD:main")
	if !rejected {
		t.Fatalf("push accepted:\n%s", out)
	}
	all := []string{dir, inFile, fileName}
	if !strings.Contains(out, "<token …"+token.LastEight(dir)+">/.env (line 1)") {
		t.Errorf("message lacks the redacted path:\n%s", out)
	}
	noSecrets(t, "the message", out, all...)
	events := in.events(t)
	if len(events) != 3 {
		t.Fatalf("audit events: %+v", events)
	}
	for _, e := range events {
		noSecrets(t, "the audit log", e.Detail, all...)
	}
	mails := in.mail.sent()
	if len(mails) != 3 {
		t.Fatalf("mails: %+v", mails)
	}
	for _, m := range mails {
		noSecrets(t, "the e-mail", m.Subject+"\n"+m.Body, all...)
	}
}
