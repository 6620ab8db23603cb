package git_test

import (
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/testenv"
	"github.com/gatehouse/gatehouse/internal/token"
)

// fgOrg is a server with organization acme (owner alice, member bob),
// its private repositories acme/a and acme/b, each with one commit, and
// carol's public carol/pub, with a commit too.
type fgOrg struct {
	s *testenv.Server
	g *testenv.Git
	// heads are the commits the repositories hold, by full name.
	heads map[string]string
	// classic is alice's classic token with repo, which seeded acme's
	// repositories.
	classic string
}

func fgSetup(t *testing.T) *fgOrg {
	t.Helper()
	s := testenv.Start(t, testenv.Options{TLS: true})
	for _, u := range []string{"alice", "bob", "carol"} {
		s.CreateUser(u, false)
	}
	s.CreateOrg("acme", "alice", "bob")
	s.Admin("repo", "create", "acme/a", "--private")
	s.Admin("repo", "create", "acme/b", "--private")
	s.Admin("repo", "create", "carol/pub")
	o := &fgOrg{s: s, g: testenv.NewGit(t, s.CAFile), heads: map[string]string{}}
	o.classic = s.Token("alice", "classic seed", "repo", "")
	o.heads["acme/a"] = seedAs(t, s, o.g, "acme/a", "alice", o.classic)
	o.heads["acme/b"] = seedAs(t, s, o.g, "acme/b", "alice", o.classic)
	o.heads["carol/pub"] = seedAs(t, s, o.g, "carol/pub", "carol", s.Token("carol", "seed", "repo", ""))
	return o
}

// url is the clone URL of full with user and tok in it.
func (o *fgOrg) url(full, user, tok string) string {
	return testenv.WithCredentials(o.s.RepoURL(full), user, tok)
}

// clone clones full as user with tok and checks that it got the seeded
// commit; it returns the clone's directory.
func (o *fgOrg) clone(t *testing.T, full, user, tok string) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), strings.ReplaceAll(full, "/", "-"))
	o.g.MustRun("", "clone", "-q", o.url(full, user, tok), dir)
	if got := strings.TrimSpace(o.g.MustRun(dir, "rev-parse", "HEAD")); got != o.heads[full] {
		t.Fatalf("%s cloned %s as %s, want %s", user, full, got, o.heads[full])
	}
	return dir
}

// waitServes waits until the running server lets tok read full over git,
// after a change made by another process (the command line), which
// reaches it within a second.
func waitServes(t *testing.T, s *testenv.Server, full, user, tok string) {
	t.Helper()
	client := s.Client(t)
	deadline := time.Now().Add(3 * time.Second)
	for {
		req, _ := http.NewRequest("GET", s.RepoURL(full)+"/info/refs?service=git-upload-pack", nil)
		req.SetBasicAuth(user, tok)
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode == http.StatusOK {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s still answers %d to the token 3s after the change", full, resp.StatusCode)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestFineGrainedSelection: a fine-grained token of acme's owner with
// contents:read on acme/a clones it; acme/b, private and not selected,
// does not exist for it; its push is refused with the permission it
// lacks named; a token with contents:write pushes.
func TestFineGrainedSelection(t *testing.T) {
	o := fgSetup(t)
	s, g := o.s, o.g
	reader := s.FineGrainedToken("alice", "reader", "acme", "a", "contents:read", "")
	if !strings.HasPrefix(reader, token.FineGrainedPrefix("gtp_")) || len(reader) != len("gtp_pat_")+36 {
		t.Fatalf("a fine-grained token is %d characters starting %q, want gtp_pat_ and 36 more", len(reader), reader[:8])
	}

	t.Log("contents:read on acme/a clones it")
	dir := o.clone(t, "acme/a", "alice", reader)

	t.Log("acme/b is outside the selection: not found")
	mustFail(t, g.Run("", "clone", "-q", o.url("acme/b", "alice", reader), filepath.Join(t.TempDir(), "b")), "Repository not found")
	mustFail(t, g.Run("", "ls-remote", o.url("acme/b", "alice", reader)), "Repository not found")

	t.Log("without contents:write the push is refused, naming the permission")
	commit(t, g, dir, "reader.txt")
	mustFail(t, g.Run(dir, "push", "origin", "main"), "Permission to acme/a.git denied to alice.", `"contents: write"`)

	t.Log("contents:write pushes")
	writer := s.FineGrainedToken("alice", "writer", "acme", "a", "contents:write", "7d")
	g.MustRun(dir, "push", "-q", o.url("acme/a", "alice", writer), "main")
	head := strings.TrimSpace(g.MustRun(dir, "rev-parse", "HEAD"))
	out := g.MustRun("", "ls-remote", o.url("acme/a", "alice", writer), "refs/heads/main")
	if !strings.HasPrefix(out, head) {
		t.Fatalf("main is %q after the push, want %s", out, head)
	}
	// The reader sees the pushed commit, and still not acme/b.
	if out := g.MustRun("", "ls-remote", o.url("acme/a", "alice", reader), "refs/heads/main"); !strings.HasPrefix(out, head) {
		t.Fatalf("the reader sees main at %q, want %s", out, head)
	}
	mustFail(t, g.Run("", "ls-remote", o.url("acme/b", "alice", writer)), "Repository not found")

	t.Log("all repositories of acme reach acme/b too")
	all := s.FineGrainedToken("alice", "all of acme", "acme", "all", "contents:read", "")
	o.clone(t, "acme/b", "alice", all)
	// A token for alice's own account does not reach acme's private repositories.
	own := s.FineGrainedToken("alice", "own account", "", "all", "contents:write", "")
	mustFail(t, g.Run("", "ls-remote", o.url("acme/a", "alice", own)), "Repository not found")
}

// TestFineGrainedApproval: a member's token for acme is pending (bob is
// no owner and acme requires approval, the default); it reads public
// repositories only until an owner approves it with the command line,
// then it clones the selected repository.
func TestFineGrainedApproval(t *testing.T) {
	o := fgSetup(t)
	s, g := o.s, o.g
	tok := s.FineGrainedToken("bob", "bob laptop", "acme", "a", "contents:read", "30d")
	id := s.TokenID("bob", "bob laptop")
	var listed *testenv.ListedToken
	for _, lt := range s.Tokens("bob") {
		if lt.ID == id {
			listed = &lt
		}
	}
	if listed == nil || listed.Kind != "fine_grained" || listed.Owner != "acme" || listed.Approval != "pending" {
		t.Fatalf("bob's token is listed as %+v, want a pending fine-grained token for acme", listed)
	}
	if out := s.Admin("org", "token-requests", "acme"); !strings.Contains(out, "bob laptop") {
		t.Errorf("token-requests acme does not list bob's request:\n%s", out)
	}
	g.MustRun("", "ls-remote", o.url("acme/a", "alice", o.classic)) // acme/a is there
	t.Log("pending: acme/a does not exist for the token")
	mustFail(t, g.Run("", "clone", "-q", o.url("acme/a", "bob", tok), filepath.Join(t.TempDir(), "a")), "Repository not found")
	t.Log("pending: a public repository clones")
	o.clone(t, "carol/pub", "bob", tok)

	t.Log("approved with the command line, it clones acme/a")
	s.ReviewTokenRequest("acme", id, true)
	waitServes(t, s, "acme/a", "bob", tok)
	dir := o.clone(t, "acme/a", "bob", tok)
	mustFail(t, g.Run("", "ls-remote", o.url("acme/b", "bob", tok)), "Repository not found")
	commit(t, g, dir, "bob.txt")
	mustFail(t, g.Run(dir, "push", "origin", "main"), `"contents: write"`)
	if out := s.Admin("org", "token-requests", "acme"); strings.Contains(out, "bob laptop") {
		t.Errorf("the approved request is still listed:\n%s", out)
	}

	t.Log("a denied request never reaches acme")
	denied := s.FineGrainedToken("bob", "bob desktop", "acme", "all", "contents:read", "")
	s.ReviewTokenRequest("acme", s.TokenID("bob", "bob desktop"), false)
	mustFail(t, g.Run("", "ls-remote", o.url("acme/a", "bob", denied)), "Repository not found")
	o.clone(t, "carol/pub", "bob", denied)

	t.Log("an owner's token for acme is approved at once")
	aliceTok := s.FineGrainedToken("alice", "owner laptop", "acme", "all", "contents:read", "")
	o.clone(t, "acme/b", "alice", aliceTok)
}

// TestFineGrainedPublicRepos: public repositories of anyone clone with any
// fine-grained token, even one with no permission and public access only,
// and one for an organization that does not own them; pushing to them
// takes a token that reaches them.
func TestFineGrainedPublicRepos(t *testing.T) {
	o := fgSetup(t)
	s, g := o.s, o.g
	bare := s.FineGrainedToken("alice", "bare", "", "public", "", "")
	dir := o.clone(t, "carol/pub", "alice", bare)
	acmeOnly := s.FineGrainedToken("alice", "acme a", "acme", "a", "contents:write", "")
	o.clone(t, "carol/pub", "alice", acmeOnly)

	commit(t, g, dir, "alice.txt")
	mustFail(t, g.Run(dir, "push", o.url("carol/pub", "alice", acmeOnly), "main"), "Permission to carol/pub.git denied to alice.")
	// A private repository stays out of reach of the bare token.
	mustFail(t, g.Run("", "ls-remote", o.url("acme/a", "alice", bare)), "Repository not found")
	// carol's own token, for her account with contents:write, pushes.
	carolTok := s.FineGrainedToken("carol", "carol writer", "", "pub", "contents:write", "")
	g.MustRun(dir, "push", "-q", o.url("carol/pub", "carol", carolTok), "main")
}

// TestFineGrainedRestrictClassic: once acme restricts classic tokens with
// the command line, a classic token's clone of acme/a is refused with a
// message that names acme, and a fine-grained token still clones;
// allowing them again lets the classic token back in.
func TestFineGrainedRestrictClassic(t *testing.T) {
	o := fgSetup(t)
	s, g := o.s, o.g
	fine := s.FineGrainedToken("alice", "fine", "acme", "a", "contents:read", "")
	o.clone(t, "acme/a", "alice", o.classic)

	out := s.Admin("org", "token-policy", "acme", "--restrict-classic")
	if !strings.Contains(out, "restrict-classic       true") {
		t.Errorf("token-policy acme --restrict-classic prints:\n%s", out)
	}
	r := g.Run("", "clone", "-q", o.url("acme/a", "alice", o.classic), filepath.Join(t.TempDir(), "classic"))
	mustFail(t, r, "`acme` forbids access via a personal access token (classic)", "fine-grained")
	o.clone(t, "acme/a", "alice", fine)
	// Public repositories elsewhere are not acme's to restrict.
	o.clone(t, "carol/pub", "alice", o.classic)

	s.SetTokenPolicy("acme", "--restrict-classic=false")
	o.clone(t, "acme/a", "alice", o.classic)
}

// TestFineGrainedDeleted: a deleted fine-grained token is refused on the
// next request, although the server has it cached.
func TestFineGrainedDeleted(t *testing.T) {
	o := fgSetup(t)
	s, g := o.s, o.g
	tok := s.FineGrainedToken("alice", "to delete", "acme", "a", "contents:read", "")
	url := o.url("acme/a", "alice", tok)
	g.MustRun("", "ls-remote", url) // now cached by the server
	s.Admin("token", "revoke", strconv.FormatInt(s.TokenID("alice", "to delete"), 10))
	revoked := time.Now()
	waitRefused(t, s, "acme/a", tok)
	if took := time.Since(revoked); took > time.Second {
		t.Errorf("the deletion took %v to reach the server, want within 1s", took)
	}
	mustFail(t, g.Run("", "ls-remote", url), "Authentication failed")
	// Sent with a request for a public repository, it is refused too (git
	// itself sends credentials only when asked for them).
	waitRefused(t, s, "carol/pub", tok)
}

// TestFineGrainedPushProtection: a push whose commit holds a live
// fine-grained token is refused and the token revoked, as for classic
// tokens.
func TestFineGrainedPushProtection(t *testing.T) {
	o := fgSetup(t)
	s, g := o.s, o.g
	pusher := s.FineGrainedToken("alice", "pusher", "acme", "a", "contents:write", "")
	leaked := s.FineGrainedToken("alice", "fg deploy", "acme", "b", "contents:read", "")
	g.MustRun("", "ls-remote", o.url("acme/b", "alice", leaked)) // works, and is now cached

	dir := o.clone(t, "acme/a", "alice", pusher)
	if err := os.WriteFile(filepath.Join(dir, "deploy.env"), []byte("REGION=eu\nTOKEN="+leaked+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	g.MustRun(dir, "add", ".")
	g.MustRun(dir, "commit", "-q", "-m", "add deploy settings")
	bad := strings.TrimSpace(g.MustRun(dir, "rev-parse", "HEAD"))
	r := g.Run(dir, "push", "origin", "main")
	mustFail(t, r, "remote: error: push protection", "remote:     commit: "+bad, "deploy.env (line 2)",
		"…"+token.LastEight(leaked), `"fg deploy" of alice`, "has been revoked", "pre-receive hook declined")
	if strings.Contains(r.Stderr, leaked) || strings.Contains(r.Stderr, leaked[8:len(leaked)-8]) {
		t.Errorf("the rejection shows the token:\n%s", r.Stderr)
	}
	if out := g.MustRun("", "ls-remote", o.url("acme/a", "alice", pusher), "refs/heads/main"); !strings.HasPrefix(out, o.heads["acme/a"]) {
		t.Fatalf("main is %q after the rejected push, want %s", out, o.heads["acme/a"])
	}
	waitRefused(t, s, "acme/b", leaked)
	mustFail(t, g.Run("", "ls-remote", o.url("acme/b", "alice", leaked)), "Authentication failed")
	for _, lt := range s.Tokens("alice") {
		if lt.Note == "fg deploy" {
			t.Errorf("the leaked token is still listed: %+v", lt)
		}
	}
}

// TestFineGrainedCredentialsRevoke: GitHub's POST /credentials/revoke
// revokes a live fine-grained token, without authentication.
func TestFineGrainedCredentialsRevoke(t *testing.T) {
	o := fgSetup(t)
	s, g := o.s, o.g
	tok := s.FineGrainedToken("alice", "exposed", "acme", "a", "contents:read", "")
	other := s.FineGrainedToken("alice", "kept", "acme", "a", "contents:read", "")
	g.MustRun("", "ls-remote", o.url("acme/a", "alice", tok)) // cached
	body := `{"credentials":["` + tok + `"]}`
	req, _ := http.NewRequest("POST", s.URL+"/api/v3/credentials/revoke", strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/vnd.github+json")
	resp, err := s.Client(t).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusAccepted {
		t.Fatalf("POST /credentials/revoke: %d, want 202", resp.StatusCode)
	}
	waitRefused(t, s, "acme/a", tok)
	mustFail(t, g.Run("", "ls-remote", o.url("acme/a", "alice", tok)), "Authentication failed")
	g.MustRun("", "ls-remote", o.url("acme/a", "alice", other))
}
