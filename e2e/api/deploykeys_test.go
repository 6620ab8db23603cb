package api_test

import (
	"context"
	"net/http"
	"testing"

	"github.com/google/go-github/v89/github"
)

// TestGoGitHubDeployKeys drives deploy keys with go-github's
// Repositories.CreateKey, ListKeys, GetKey and DeleteKey: the repository's
// admin adds a read-only key, sees it, and deletes it; a collaborator
// with push access may not (GitHub asks for admin).
func TestGoGitHubDeployKeys(t *testing.T) {
	s := startServer(t)
	ctx := context.Background()
	s.Admin("repo", "create", "alice/deploy", "--private")
	s.CreateUser("bob", false)
	s.Admin("repo", "collaborator", "alice/deploy", "bob", "--permission", "write")
	client := func(user string) *github.Client {
		tok := s.Token(user, "deploy-keys", "repo", "never")
		c, err := github.NewClient(github.WithHTTPClient(s.Client(t)), github.WithAuthToken(tok), github.WithEnterpriseURLs(s.base, s.base))
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	alice, bob := client("alice"), client("bob")
	const pub = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIPAnLc0dJq5GfSI2ju/OFQyPnENadzl26zyxw772ragr deploy1@ci"
	k, resp, err := alice.Repositories.CreateKey(ctx, "alice", "deploy", &github.Key{Title: github.Ptr("ci"), Key: github.Ptr(pub), ReadOnly: github.Ptr(true)})
	if err != nil || resp.StatusCode != http.StatusCreated {
		t.Fatalf("CreateKey: %v (%v)", err, resp)
	}
	if k.GetID() == 0 || !k.GetReadOnly() || k.GetTitle() != "ci" || k.GetKey() == "" {
		t.Fatalf("created key: %+v", k)
	}
	if _, _, err := alice.Repositories.CreateKey(ctx, "alice", "deploy", &github.Key{Title: github.Ptr("again"), Key: github.Ptr(pub)}); err == nil {
		t.Fatal("the same key twice was accepted")
	}
	keys, _, err := alice.Repositories.ListKeys(ctx, "alice", "deploy", nil)
	if err != nil || len(keys) != 1 || keys[0].GetID() != k.GetID() {
		t.Fatalf("ListKeys: %+v, %v", keys, err)
	}
	got, _, err := alice.Repositories.GetKey(ctx, "alice", "deploy", k.GetID())
	if err != nil || got.GetTitle() != "ci" {
		t.Fatalf("GetKey: %+v, %v", got, err)
	}
	if _, resp, err := bob.Repositories.ListKeys(ctx, "alice", "deploy", nil); err == nil || resp.StatusCode != http.StatusForbidden {
		t.Fatalf("a writer listing deploy keys: %v (%v)", err, resp)
	}
	if resp, err := alice.Repositories.DeleteKey(ctx, "alice", "deploy", k.GetID()); err != nil || resp.StatusCode != http.StatusNoContent {
		t.Fatalf("DeleteKey: %v (%v)", err, resp)
	}
	if _, resp, err := alice.Repositories.GetKey(ctx, "alice", "deploy", k.GetID()); err == nil || resp.StatusCode != http.StatusNotFound {
		t.Fatalf("GetKey after delete: %v (%v)", err, resp)
	}
}
