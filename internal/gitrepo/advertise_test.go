package gitrepo

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// corpus builds repositories in the states the Go advertisement must
// read exactly as git does, each as repository id in d.
func corpus(t *testing.T, d *Dir) map[string]int64 {
	t.Helper()
	ctx := context.Background()
	work := t.TempDir()
	git := func(dir string, args ...string) string {
		t.Helper()
		cmd := exec.Command("git", args...)
		cmd.Dir = dir
		cmd.Env = append(os.Environ(), "GIT_AUTHOR_NAME=t", "GIT_AUTHOR_EMAIL=t@e", "GIT_COMMITTER_NAME=t", "GIT_COMMITTER_EMAIL=t@e",
			"GIT_CONFIG_GLOBAL=/dev/null", "GIT_CONFIG_NOSYSTEM=1")
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("git %v: %v\n%s", args, err, out)
		}
		return strings.TrimSpace(string(out))
	}
	git(work, "init", "-q", "-b", "main")
	for i := 0; i < 3; i++ {
		os.WriteFile(filepath.Join(work, "f"), []byte(fmt.Sprint(i)), 0o644)
		git(work, "add", "f")
		git(work, "commit", "-q", "-m", fmt.Sprint("c", i))
		git(work, "branch", fmt.Sprint("b", i))
	}
	git(work, "tag", "light")
	git(work, "tag", "-a", "-m", "annotated", "v1.0", "b0")
	git(work, "tag", "-a", "-m", "tag of a tag", "v1.0-again", "v1.0")
	git(work, "tag", "-a", "-m", "tree tag", "treetag", "HEAD^{tree}")
	git(work, "branch", "feature/x")
	ids := map[string]int64{}
	var next int64 = 1
	repo := func(name string, push bool) string {
		tmp, err := d.Prepare(ctx, "main")
		if err != nil {
			t.Fatal(err)
		}
		if err := d.Commit(tmp, next); err != nil {
			t.Fatal(err)
		}
		ids[name] = next
		next++
		p := d.Path(ids[name])
		if push {
			git(work, "push", "-q", p, "refs/heads/*:refs/heads/*", "refs/tags/*:refs/tags/*")
		}
		return p
	}
	repo("empty", false)
	repo("loose", true)
	p := repo("packed", true)
	git(p, "pack-refs", "--all")
	git(p, "update-ref", "-d", "refs/heads/b1")                         // deleted after packing
	git(p, "update-ref", "refs/heads/b2", git(work, "rev-parse", "b0")) // loose over packed
	git(p, "update-ref", "refs/heads/new", git(work, "rev-parse", "b1"))
	p = repo("half-peeled", true)
	git(p, "pack-refs", "--all")
	b, _ := os.ReadFile(filepath.Join(p, "packed-refs"))
	var keep []string
	for _, l := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(l, "#") {
			l = "# pack-refs with: peeled sorted "
		}
		keep = append(keep, l)
	}
	os.WriteFile(filepath.Join(p, "packed-refs"), []byte(strings.Join(keep, "\n")), 0o644)
	p = repo("unborn-head", true)
	git(p, "symbolic-ref", "HEAD", "refs/heads/nope")
	p = repo("other-head", true)
	git(p, "symbolic-ref", "HEAD", "refs/heads/feature/x")
	p = repo("detached", true)
	os.WriteFile(filepath.Join(p, "HEAD"), []byte(git(work, "rev-parse", "v1.0")+"\n"), 0o644)
	p = repo("repacked", true)
	git(p, "repack", "-a", "-d", "-q", "--write-bitmap-index")
	return ids
}

func pkts(lines ...string) []byte {
	var b bytes.Buffer
	for _, l := range lines {
		switch l {
		case "0000", "0001":
			b.WriteString(l)
		default:
			fmt.Fprintf(&b, "%04x%s", len(l)+4, l)
		}
	}
	return b.Bytes()
}

func TestAdvertiseMatchesGit(t *testing.T) {
	if _, err := exec.LookPath("git"); err != nil {
		t.Skip("SKIPPING: git is not installed")
	}
	ctx := context.Background()
	d := &Dir{Root: filepath.Join(t.TempDir(), "repos")}
	ids := corpus(t, d)
	gitOut := func(id int64, protocol string, body []byte) []byte {
		t.Helper()
		var out bytes.Buffer
		opts := RunOptions{Advertise: body == nil, Protocol: protocol, Stdout: &out}
		if body != nil {
			opts.Stdin = bytes.NewReader(body)
		}
		if err := d.Run(ctx, id, UploadPack, opts); err != nil {
			t.Fatal(err)
		}
		return out.Bytes()
	}
	lsArgs := [][]string{
		{},
		{"peel"},
		{"symrefs"},
		{"peel", "symrefs", "unborn"},
		{"symrefs", "unborn"},
		{"unborn"},
		{"peel", "symrefs", "unborn", "ref-prefix HEAD", "ref-prefix refs/heads/", "ref-prefix refs/tags/"},
		{"ref-prefix refs/heads/b"},
		{"ref-prefix refs/tags/v1.0", "ref-prefix refs/tags/v1.0-", "peel"},
		{"ref-prefix refs/heads/feature/", "ref-prefix refs/heads/b1", "ref-prefix nothing"},
		{"ref-prefix refs/heads/ma*"},
	}
	many := []string{"symrefs"}
	for i := 0; i < maxPrefixes; i++ {
		many = append(many, fmt.Sprintf("ref-prefix refs/heads/b%d", i%3))
	}
	lsArgs = append(lsArgs, many, many[:maxPrefixes-1])
	for name, id := range ids {
		for _, protocol := range []string{"", "version=1", "version=2"} {
			got, err := d.AdvertiseRefs(ctx, id, protocol)
			if err != nil {
				t.Fatalf("%s %q: %v", name, protocol, err)
			}
			if want := gitOut(id, protocol, nil); !bytes.Equal(got, want) {
				t.Errorf("%s %q advertisement:\n got %q\nwant %q", name, protocol, got, want)
			}
		}
		noArgs := pkts("command=ls-refs\n", "0000")
		if got, err := d.LsRefs(ctx, id, noArgs); err != nil || !bytes.Equal(got, gitOut(id, "version=2", noArgs)) {
			t.Errorf("%s ls-refs without arguments: %q, %v", name, got, err)
		}
		for _, args := range lsArgs {
			for _, agent := range []bool{true, false} {
				lines := []string{"command=ls-refs\n"}
				if agent {
					// As git sends them: capabilities without a newline.
					lines = append(lines, "agent=git/2.39.5", "object-format=sha1")
				}
				lines = append(lines, "0001")
				for _, a := range args {
					lines = append(lines, a+"\n")
				}
				body := pkts(append(lines, "0000")...)
				got, err := d.LsRefs(ctx, id, body)
				if len(args) > maxPrefixes && errors.Is(err, ErrNotServed) {
					continue // git decides, whichever version it is
				}
				if err != nil {
					t.Fatalf("%s ls-refs %q: %v", name, args, err)
				}
				if want := gitOut(id, "version=2", body); !bytes.Equal(got, want) {
					t.Errorf("%s ls-refs %q:\n got %q\nwant %q", name, args, got, want)
				}
			}
		}
	}
}

func TestAdvertiseNotServed(t *testing.T) {
	if _, err := exec.LookPath("git"); err != nil {
		t.Skip("SKIPPING: git is not installed")
	}
	ctx := context.Background()
	d := &Dir{Root: filepath.Join(t.TempDir(), "repos")}
	ids := corpus(t, d)
	id := ids["loose"]
	for _, body := range [][]byte{
		pkts("command=ls-refs\n", "0001", "frobnicate\n", "0000"),
		pkts("command=ls-refs\n", "server-option=x\n", "0001", "0000"),
		pkts("command=fetch\n", "0001", "done\n", "0000"),
		pkts("command=ls-refs\n", "0001", "0000", "command=ls-refs\n", "0001", "0000"),
		[]byte("garbage"),
	} {
		if _, err := d.LsRefs(ctx, id, body); !errors.Is(err, ErrNotServed) {
			t.Errorf("LsRefs(%q) = %v, want ErrNotServed", body, err)
		}
	}
	if _, err := d.AdvertiseRefs(ctx, id, "version=3"); !errors.Is(err, ErrNotServed) {
		t.Errorf("unknown protocol: %v", err)
	}
	p := d.Path(id)
	for _, tc := range []struct {
		name  string
		setup func()
	}{
		{"hidden refs", func() { exec.Command("git", "-C", p, "config", "uploadpack.hideRefs", "refs/heads/b0").Run() }},
		{"symbolic ref", func() { os.WriteFile(filepath.Join(p, "refs/heads/sym"), []byte("ref: refs/heads/main\n"), 0o644) }},
		{"broken ref", func() { os.WriteFile(filepath.Join(p, "refs/heads/gone"), []byte(strings.Repeat("1", 40)+"\n"), 0o644) }},
		{"reftable", func() { os.Mkdir(filepath.Join(p, "reftable"), 0o755) }},
	} {
		b, _ := os.ReadFile(filepath.Join(p, "config"))
		tc.setup()
		if _, err := d.AdvertiseRefs(ctx, id, ""); !errors.Is(err, ErrNotServed) {
			t.Errorf("%s: %v, want ErrNotServed", tc.name, err)
		}
		os.WriteFile(filepath.Join(p, "config"), b, 0o644)
		os.Remove(filepath.Join(p, "refs/heads/sym"))
		os.Remove(filepath.Join(p, "refs/heads/gone"))
		os.Remove(filepath.Join(p, "reftable"))
	}
	if _, err := d.AdvertiseRefs(ctx, id, ""); err != nil {
		t.Errorf("after cleanup: %v", err)
	}
}
