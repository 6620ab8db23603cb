package api_test

import (
	"context"
	"encoding/json"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse"
	"github.com/gatehouse/gatehouse/internal/sqldb"
	"github.com/gatehouse/gatehouse/internal/testenv"
)

// ghRepoFields are the fields of gh 2.23's `repo list/view --json` that
// the server answers (gh's api.RepositoryFields without those of features
// Gatehouse lacks: labels, milestones, projects, languages, templates,
// assignable and mentionable users, code of conduct, funding and contact
// links).
var ghRepoFields = []string{
	"id", "name", "nameWithOwner", "owner", "parent", "templateRepository", "description",
	"homepageUrl", "openGraphImageUrl", "usesCustomOpenGraphImage", "url", "sshUrl",
	"mirrorUrl", "securityPolicyUrl", "createdAt", "pushedAt", "updatedAt",
	"isBlankIssuesEnabled", "isSecurityPolicyEnabled", "hasIssuesEnabled",
	"hasProjectsEnabled", "hasWikiEnabled", "hasDiscussionsEnabled", "mergeCommitAllowed",
	"squashMergeAllowed", "rebaseMergeAllowed", "forkCount", "stargazerCount", "watchers",
	"issues", "pullRequests", "defaultBranchRef", "deleteBranchOnMerge", "diskUsage",
	"isArchived", "isEmpty", "isFork", "isInOrganization", "isMirror", "isPrivate",
	"isTemplate", "isUserConfigurationRepository", "licenseInfo", "viewerCanAdminister",
	"viewerDefaultCommitEmail", "viewerDefaultMergeMethod", "viewerHasStarred",
	"viewerPermission", "viewerPossibleCommitEmails", "viewerSubscription",
	"repositoryTopics", "primaryLanguage", "latestRelease",
}

// TestGHRepoCommands drives gh 2.23's everyday repository commands against
// the server — repo list (own, another owner's, by visibility, as JSON),
// view, edit, archive, rename, delete, api --paginate, ssh-key add and
// list — with real git over HTTPS and SSH around them: an archived
// repository clones and fetches but refuses pushes with GitHub's message
// until it is unarchived; a renamed one is cloned by its new name and
// still reached by its old one.
func TestGHRepoCommands(t *testing.T) {
	gh := testenv.RequireOneOf(t, "gh", "apt-get install -y gh", "gh")
	testenv.RequireOneOf(t, "git", "apt-get install -y git", "git")
	keygen := testenv.RequireOneOf(t, "ssh-keygen (OpenSSH)", "apt-get install -y openssh-client", "ssh-keygen")
	testenv.RequireOneOf(t, "the OpenSSH client", "apt-get install -y openssh-client", "ssh")

	s := &server{Server: testenv.Start(t, testenv.Options{TLS: true, SSH: true})}
	s.CreateUser("alice", true)
	s.CreateUser("bob", false)
	_, port, err := net.SplitHostPort(s.Host)
	if err != nil {
		t.Fatal(err)
	}
	s.host = "localhost:" + port
	s.base = "https://" + s.host
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()

	alice := newGH(t, ctx, s, gh, s.Token("alice", "gh", "repo,read:org,delete_repo,admin:public_key", "30d"))
	bob := newGH(t, ctx, s, gh, s.Token("bob", "gh", "repo,read:org", "30d"))
	alice.env = append(alice.env, "GIT_AUTHOR_NAME=Alice", "GIT_AUTHOR_EMAIL=alice@example.com",
		"GIT_COMMITTER_NAME=Alice", "GIT_COMMITTER_EMAIL=alice@example.com")
	alice.run("auth", "setup-git", "--hostname", s.host)

	alice.run("repo", "create", "one", "--private")
	alice.run("repo", "create", "two", "--public", "--add-readme")
	alice.run("repo", "create", "three", "--public", "--description", "the third")
	bob.run("repo", "create", "bobpub", "--public")
	bob.run("repo", "create", "bobpriv", "--private")

	// gh repo list: the viewer's own, with their visibility.
	out := alice.run("repo", "list")
	for _, want := range []string{"alice/one\t\tprivate", "alice/two\t\tpublic", "alice/three\tthe third\tpublic"} {
		if !strings.Contains(out, want) {
			t.Errorf("repo list: no %q in\n%s", want, out)
		}
	}
	names := func(js string) []string {
		t.Helper()
		var list []struct{ Name string }
		if err := json.Unmarshal([]byte(js), &list); err != nil {
			t.Fatalf("not a JSON list of repositories: %v\n%s", err, js)
		}
		var out []string
		for _, r := range list {
			out = append(out, r.Name)
		}
		slices.Sort(out)
		return out
	}
	if got := names(alice.run("repo", "list", "alice", "--visibility", "private", "--json", "name,isPrivate")); !slices.Equal(got, []string{"one"}) {
		t.Errorf("repo list alice --visibility private: %v", got)
	}
	if got := names(alice.run("repo", "list", "--visibility", "public", "--json", "name")); !slices.Equal(got, []string{"three", "two"}) {
		t.Errorf("repo list --visibility public: %v", got)
	}
	// Another owner's: what the viewer may see of it.
	if got := names(alice.run("repo", "list", "bob", "--json", "name,owner,isPrivate")); !slices.Equal(got, []string{"bobpub"}) {
		t.Errorf("repo list bob as alice: %v", got)
	}
	if got := names(bob.run("repo", "list", "bob", "--visibility", "private", "--json", "name")); !slices.Equal(got, []string{"bobpriv"}) {
		t.Errorf("repo list bob --visibility private as bob: %v", got)
	}
	// Every field the server knows, in one query.
	var full []map[string]any
	if err := json.Unmarshal([]byte(alice.run("repo", "list", "--json", strings.Join(ghRepoFields, ","))), &full); err != nil || len(full) != 3 {
		t.Fatalf("repo list --json (every field): %v %v", err, full)
	}
	for _, r := range full {
		if r["name"] == "two" && (r["defaultBranchRef"].(map[string]any)["name"] != "main" || r["viewerPermission"] != "ADMIN") {
			t.Errorf("repo list --json, two: %v", r)
		}
	}

	// gh api --paginate follows the Link header over every page.
	if got := strings.Fields(alice.run("api", "--paginate", "/user/repos?per_page=2", "--jq", ".[].name")); len(got) != 3 {
		t.Errorf("api --paginate /user/repos?per_page=2: %v, want 3 names over 2 pages", got)
	}

	// gh repo view and gh repo edit.
	if out := alice.run("repo", "view", "alice/three"); !strings.Contains(out, "description:\tthe third") {
		t.Errorf("repo view:\n%s", out)
	}
	alice.run("repo", "edit", "alice/three", "--description", "changed", "--visibility", "private")
	var view struct {
		Description string
		IsPrivate   bool
		IsArchived  bool
		Name        string
	}
	viewJSON := func(full string) {
		t.Helper()
		view.Description, view.IsPrivate, view.IsArchived, view.Name = "", false, false, ""
		if err := json.Unmarshal([]byte(alice.run("repo", "view", full, "--json", "name,description,isPrivate,isArchived")), &view); err != nil {
			t.Fatal(err)
		}
	}
	if viewJSON("alice/three"); view.Description != "changed" || !view.IsPrivate {
		t.Errorf("after repo edit: %+v", view)
	}

	// The default branch: gh repo edit moves it for clones too, and a
	// later push keeps it.
	work := t.TempDir()
	git := func(dir string, args ...string) string {
		t.Helper()
		return run(t, ctx, dir, alice.env, "", "git", args...)
	}
	gitFail := func(dir string, env []string, args ...string) string {
		t.Helper()
		cmd := exec.CommandContext(ctx, "git", args...)
		cmd.Dir, cmd.Env = dir, append(append([]string{}, alice.env...), env...)
		out, err := cmd.CombinedOutput()
		if err == nil {
			t.Fatalf("git %s succeeded, want a refusal:\n%s", strings.Join(args, " "), out)
		}
		return string(out)
	}
	clone := filepath.Join(work, "two")
	git(work, "clone", "-q", s.base+"/alice/two.git", clone)
	commit := func(file string) {
		t.Helper()
		if err := os.WriteFile(filepath.Join(clone, file), []byte(file+"\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		git(clone, "add", file)
		git(clone, "commit", "-q", "-m", file)
	}
	commit("dev.txt")
	git(clone, "push", "-q", "origin", "HEAD:dev")
	alice.run("repo", "edit", "alice/two", "--default-branch", "dev")
	defaultBranch := func(full string) string {
		t.Helper()
		var v struct{ DefaultBranchRef struct{ Name string } }
		if err := json.Unmarshal([]byte(alice.run("repo", "view", full, "--json", "defaultBranchRef")), &v); err != nil {
			t.Fatal(err)
		}
		return v.DefaultBranchRef.Name
	}
	if got := defaultBranch("alice/two"); got != "dev" {
		t.Errorf("default branch after repo edit: %q", got)
	}
	devClone := filepath.Join(work, "two-dev")
	git(work, "clone", "-q", s.base+"/alice/two.git", devClone)
	if head := strings.TrimSpace(git(devClone, "rev-parse", "--abbrev-ref", "HEAD")); head != "dev" {
		t.Errorf("a fresh clone checks out %q, want dev", head)
	}
	git(clone, "checkout", "-q", "main")
	commit("main.txt")
	git(clone, "push", "-q", "origin", "main")
	if got := defaultBranch("alice/two"); got != "dev" {
		t.Errorf("default branch after a push to main: %q", got)
	}
	// gh prints a 422's field and code, as it does for GitHub's answer;
	// the body carries GitHub's message.
	if out := alice.fail("repo", "edit", "alice/two", "--default-branch", "nope"); !strings.Contains(out, "Repository.default_branch is invalid") {
		t.Errorf("repo edit --default-branch nope:\n%s", out)
	}
	if out := alice.fail("api", "-X", "PATCH", "repos/alice/two", "-f", "default_branch=nope"); !strings.Contains(out, "The branch nope was not found. Please push that ref first") {
		t.Errorf("PATCH default_branch=nope:\n%s", out)
	}
	alice.run("repo", "edit", "alice/two", "--default-branch", "main")

	// gh ssh-key add and list: the key then opens git over SSH.
	keyFile := filepath.Join(t.TempDir(), "id_ed25519")
	if out, err := exec.Command(keygen, "-q", "-t", "ed25519", "-N", "", "-C", "alice@laptop", "-f", keyFile).CombinedOutput(); err != nil {
		t.Fatalf("ssh-keygen: %v\n%s", err, out)
	}
	alice.run("ssh-key", "add", keyFile+".pub", "--title", "laptop")
	if out := alice.run("ssh-key", "list"); !strings.Contains(out, "laptop\tssh-ed25519 ") {
		t.Errorf("ssh-key list:\n%s", out)
	}
	_, sshPort, _ := strings.Cut(s.SSHAddr, ":")
	sshEnv := []string{"GIT_SSH_COMMAND=ssh -F /dev/null -p " + sshPort + " -i " + keyFile +
		" -o UserKnownHostsFile=" + filepath.Join(work, "known_hosts") +
		" -o StrictHostKeyChecking=accept-new -o IdentitiesOnly=yes -o BatchMode=yes"}
	gitSSH := func(dir string, args ...string) string {
		t.Helper()
		return run(t, ctx, dir, append(append([]string{}, alice.env...), sshEnv...), "", "git", args...)
	}
	sshURL := s.SSHURL("alice/two")
	gitSSH(clone, "remote", "add", "ssh", sshURL)
	gitSSH(clone, "fetch", "-q", "ssh")

	// gh repo archive: read-only for git over HTTPS and SSH and for the
	// API; clones and fetches go on working.
	alice.run("repo", "archive", "alice/two", "--yes")
	if viewJSON("alice/two"); !view.IsArchived {
		t.Errorf("isArchived after repo archive: %+v", view)
	}
	if out := alice.run("repo", "archive", "alice/two", "--yes"); !strings.Contains(out, "Repository alice/two is already archived") {
		t.Errorf("archiving twice:\n%s", out)
	}
	commit("late.txt")
	for name, env := range map[string][]string{"HTTPS": nil, "SSH": sshEnv} {
		remote := "origin"
		if name == "SSH" {
			remote = "ssh"
		}
		if out := gitFail(clone, env, "push", "-q", remote, "HEAD:main"); !strings.Contains(out, "This repository was archived so it is read-only.") {
			t.Errorf("push over %s to an archived repository:\n%s", name, out)
		}
	}
	gitSSH(clone, "fetch", "-q", "ssh")
	git(work, "clone", "-q", s.base+"/alice/two.git", filepath.Join(work, "two-archived"))
	if out := alice.fail("api", "-X", "PATCH", "repos/alice/two", "-f", "description=x"); !strings.Contains(out, "Repository was archived so is read-only. (HTTP 403)") {
		t.Errorf("API write to an archived repository:\n%s", out)
	}
	if out := alice.fail("repo", "edit", "alice/two", "--description", "x"); !strings.Contains(out, "HTTP 403: Repository was archived so is read-only.") {
		t.Errorf("repo edit of an archived repository:\n%s", out)
	}
	if out := alice.run("api", "repos/alice/two", "--jq", ".archived"); strings.TrimSpace(out) != "true" {
		t.Errorf("REST archived: %q", out)
	}
	// gh repo list --archived and --no-archived go through GraphQL's
	// search.
	if got := names(alice.run("repo", "list", "--archived", "--json", "name,isArchived")); !slices.Equal(got, []string{"two"}) {
		t.Errorf("repo list --archived: %v", got)
	}
	if got := names(alice.run("repo", "list", "alice", "--no-archived", "--json", "name")); !slices.Equal(got, []string{"one", "three"}) {
		t.Errorf("repo list alice --no-archived: %v", got)
	}
	if got := names(bob.run("repo", "list", "alice", "--archived", "--json", "name")); !slices.Equal(got, []string{"two"}) {
		t.Errorf("bob's repo list alice --archived: %v", got)
	}
	if got := names(bob.run("repo", "list", "alice", "--no-archived", "--json", "name")); len(got) != 0 {
		t.Errorf("bob's repo list alice --no-archived (alice/one and alice/three are private): %v", got)
	}
	if out := alice.run("repo", "list", "--language", "go"); strings.Contains(out, "alice/") {
		t.Errorf("repo list --language go (Gatehouse keeps no languages):\n%s", out)
	}

	// Unarchived (gh 2.23 has no repo unarchive: through the REST API),
	// pushes go through again.
	if out := alice.run("api", "-X", "PATCH", "repos/alice/two", "-F", "archived=false", "--jq", ".archived"); strings.TrimSpace(out) != "false" {
		t.Errorf("PATCH archived=false: %q", out)
	}
	git(clone, "push", "-q", "origin", "HEAD:main")
	// And through GraphQL's unarchiveRepository, for SSH.
	alice.run("api", "-X", "PATCH", "repos/alice/two", "-F", "archived=true")
	id := strings.TrimSpace(alice.run("repo", "view", "alice/two", "--json", "id", "--jq", ".id"))
	out = alice.run("api", "graphql", "-f", "query=mutation($id:ID!){unarchiveRepository(input:{repositoryId:$id}){repository{isArchived}}}",
		"-f", "id="+id, "--jq", ".data.unarchiveRepository.repository.isArchived")
	if strings.TrimSpace(out) != "false" {
		t.Errorf("unarchiveRepository: %q", out)
	}
	commit("ssh.txt")
	gitSSH(clone, "push", "-q", "ssh", "HEAD:main")

	// gh repo rename. gh 2.23 takes the port off a remote's host, so it
	// finds no repository in a clone of a server on another port than
	// 443: the repository is named with -R, as gh then leaves the remotes
	// alone.
	alice.run("repo", "edit", "alice/two", "--description", "about to move")
	alice.run("repo", "rename", "moved", "-R", s.host+"/alice/two", "--yes")
	if viewJSON("alice/moved"); view.Name != "moved" || view.Description != "about to move" {
		t.Errorf("repo view after rename: %+v", view)
	}
	// The old name goes on working for the remotes that use it, over
	// HTTPS and SSH (GitHub redirects it).
	commit("old-name.txt")
	git(clone, "push", "-q", "origin", "HEAD:main")
	commit("old-name-ssh.txt")
	gitSSH(clone, "push", "-q", "ssh", "HEAD:main")
	head := strings.TrimSpace(git(clone, "rev-parse", "HEAD"))
	// The new name clones, with everything pushed.
	moved := filepath.Join(work, "moved")
	git(work, "clone", "-q", s.base+"/alice/moved.git", moved)
	if got := strings.TrimSpace(git(moved, "rev-parse", "HEAD")); got != head {
		t.Errorf("clone by the new name at %s, want %s", got, head)
	}
	git(clone, "remote", "set-url", "origin", s.base+"/alice/moved.git")
	commit("renamed.txt")
	git(clone, "push", "-q", "origin", "HEAD:main")
	if out := alice.run("api", "repos/alice/two", "--jq", ".full_name"); strings.TrimSpace(out) != "alice/moved" {
		t.Errorf("API by the old name: %q", out)
	}
	// A new repository may take the old name back.
	alice.run("repo", "create", "two", "--private")
	if viewJSON("alice/two"); view.Name != "two" || !view.IsPrivate {
		t.Errorf("the old name, taken by a new repository: %+v", view)
	}

	// gh repo delete --yes.
	alice.run("repo", "delete", "alice/one", "--yes")
	if out := alice.fail("repo", "view", "alice/one"); !strings.Contains(out, "Could not resolve to a Repository with the name 'alice/one'.") {
		t.Errorf("repo view after delete:\n%s", out)
	}

	// Every change is in the audit log, named as on GitHub.
	db, err := sqldb.Open(ctx, filepath.Join(s.Data, "gatehouse.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	events, err := db.ListAuditEvents(ctx, gatehouse.AuditFilter{}, gatehouse.Page{PerPage: 100})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range events {
		if strings.HasPrefix(string(e.Action), "repo.") {
			got = append(got, string(e.Action)+" "+e.Note+" "+e.Detail)
		}
	}
	slices.Reverse(got) // oldest first
	want := []string{
		"repo.archived alice/two ",
		"repo.unarchived alice/two ",
		"repo.archived alice/two ",
		"repo.unarchived alice/two ",
		"repo.rename alice/moved old_name=alice/two",
		"repo.destroy alice/one ",
	}
	if !slices.Equal(got, want) {
		t.Errorf("audit events:\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}
