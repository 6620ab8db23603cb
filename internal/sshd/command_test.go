package sshd

import (
	"errors"
	"strings"
	"testing"

	"github.com/gatehouse/gatehouse"
	"github.com/gatehouse/gatehouse/internal/authz"
	"github.com/gatehouse/gatehouse/internal/gitrepo"
)

func TestParseCommand(t *testing.T) {
	for _, c := range []struct {
		in          string
		service     gitrepo.Service
		owner, name string
		err         error
	}{
		// What git sends for git@host:alice/app.git, ssh://host/alice/app,
		// git@host:~/alice/app.git.
		{"git-upload-pack 'alice/app.git'", gitrepo.UploadPack, "alice", "app", nil},
		{"git-upload-pack '/alice/app'", gitrepo.UploadPack, "alice", "app", nil},
		{"git-receive-pack '~/alice/app.git'", gitrepo.ReceivePack, "alice", "app", nil},
		{"git-upload-archive '/alice/app.git'", gitrepo.UploadArchive, "alice", "app", nil},
		{"git-upload-pack alice/app.git", gitrepo.UploadPack, "alice", "app", nil},
		{"git-upload-pack 'alice/App.GIT'", gitrepo.UploadPack, "alice", "App", nil},
		{"git-upload-pack 'acme/my.repo_1-x.git'", gitrepo.UploadPack, "acme", "my.repo_1-x", nil},
		{"git-upload-pack 'al''ice/app'", gitrepo.UploadPack, "alice", "app", nil}, // adjacent quotes
		{"git-upload-pack \\a\\lice/app", gitrepo.UploadPack, "alice", "app", nil},
		{"  git-upload-pack  'alice/app'  ", gitrepo.UploadPack, "alice", "app", nil},

		// Nothing but the three programs, and never a shell.
		{"", "", "", "", ErrNotGit},
		{"ls", "", "", "", ErrNotGit},
		{"sh -c 'git-upload-pack alice/app'", "", "", "", ErrNotGit},
		{"git upload-pack 'alice/app'", "", "", "", ErrNotGit},
		{"git-upload-pack2 'alice/app'", "", "", "", ErrNotGit},
		{"scp -t /tmp", "", "", "", ErrNotGit},
		{"git-upload-pack", "", "", "", ErrBadPath},
		{"git-upload-pack ", "", "", "", ErrBadPath},
		{"git-upload-pack ''", "", "", "", ErrBadPath},

		// One argument, a path to a repository and nothing else.
		{"git-upload-pack 'alice/app' 'bob/x'", "", "", "", ErrBadPath},
		{"git-upload-pack 'alice/app'; rm -rf /", "", "", "", ErrBadPath},
		{"git-upload-pack $(id)", "", "", "", ErrBadPath},
		{"git-upload-pack \"alice/app\"", "", "", "", ErrBadPath},
		{"git-upload-pack 'alice/app", "", "", "", ErrBadPath},
		{"git-upload-pack alice/app\\", "", "", "", ErrBadPath},
		{"git-upload-pack '../alice/app'", "", "", "", ErrBadPath},
		{"git-upload-pack 'alice/../bob/app'", "", "", "", ErrBadPath},
		{"git-upload-pack 'alice/app/objects'", "", "", "", ErrBadPath},
		{"git-upload-pack '//alice/app'", "", "", "", ErrBadPath},
		{"git-upload-pack '~alice/app'", "", "", "", ErrBadPath},
		{"git-upload-pack '/~/alice/app'", "", "", "", ErrBadPath},
		{"git-upload-pack 'alice'", "", "", "", ErrBadPath},
		{"git-upload-pack 'alice/'", "", "", "", ErrBadPath},
		{"git-upload-pack 'alice/.git'", "", "", "", ErrBadPath},
		{"git-upload-pack 'alice/app.git.git'", "", "", "", ErrBadPath},
		{"git-upload-pack '-alice/app'", "", "", "", ErrBadPath},
		{"git-upload-pack 'alice/app\x00'", "", "", "", ErrBadPath},
		{"git-upload-pack 'alice/app\n'", "", "", "", ErrBadPath},
		{"git-upload-pack 'alice/ä'", "", "", "", ErrBadPath},
		{"git-upload-pack " + strings.Repeat("a", 2000), "", "", "", ErrTooLong},
	} {
		got, err := ParseCommand(c.in)
		if c.err != nil {
			if !errors.Is(err, c.err) {
				t.Errorf("ParseCommand(%q) = %+v, %v; want %v", c.in, got, err, c.err)
			}
			continue
		}
		if err != nil || got.Service != c.service || got.Owner != c.owner || got.Name != c.name {
			t.Errorf("ParseCommand(%q) = %+v, %v; want %s %s/%s", c.in, got, err, c.service, c.owner, c.name)
		}
	}
}

// The route table is the whole of what runs, each with its action.
func TestRoutes(t *testing.T) {
	want := map[string]authz.Action{"git-upload-pack": authz.Read, "git-receive-pack": authz.Write, "git-upload-archive": authz.Read}
	if len(routes) != len(want) {
		t.Fatalf("%d routes, want %d", len(routes), len(want))
	}
	for _, rt := range routes {
		if a, ok := want[rt.command]; !ok || a != rt.action || "git-"+string(rt.service) != rt.command {
			t.Errorf("route %+v", rt)
		}
		c, err := ParseCommand(rt.command + " 'alice/app.git'")
		if err != nil || c.action != rt.action {
			t.Errorf("%s parses to %+v, %v", rt.command, c, err)
		}
	}
}

// FuzzParseCommand checks that whatever a client sends, a command that
// parses names one of the three programs and a valid repository, and that
// it reads back the same when written as git writes it.
func FuzzParseCommand(f *testing.F) {
	for _, s := range []string{
		"git-upload-pack 'alice/app.git'",
		"git-receive-pack '/alice/app'",
		"git-upload-archive '~/acme/tools.git'",
		"git-upload-pack alice/app",
		"git-upload-pack 'al'\\''ice/app'",
		"git-upload-pack '../../etc/passwd'",
		"git-upload-pack 'alice/app' extra",
		"git-upload-pack \\",
		"git upload-pack 'alice/app'",
		"ls -la",
		"",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		c, err := ParseCommand(s)
		if err != nil {
			if c != (Command{}) {
				t.Fatalf("ParseCommand(%q) failed with %v but returned %+v", s, err, c)
			}
			return
		}
		found := false
		for _, rt := range routes {
			if rt.service == c.Service && rt.action == c.action {
				found = true
			}
		}
		if !found {
			t.Fatalf("ParseCommand(%q) = %+v: not a route", s, c)
		}
		if !gatehouse.ValidLogin(c.Owner) || !gatehouse.ValidRepoName(c.Name) {
			t.Fatalf("ParseCommand(%q) = %+v: invalid owner or name", s, c)
		}
		again, err := ParseCommand("git-" + string(c.Service) + " '" + c.Owner + "/" + c.Name + ".git'")
		if err != nil || again != c {
			t.Fatalf("ParseCommand(%q) = %+v, but git's form reads back as %+v, %v", s, c, again, err)
		}
	})
}
