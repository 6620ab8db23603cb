package api_test

import (
	"context"
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-github/v89/github"
)

// TestGoGitHubFineGrainedReview: an owner reviews fine-grained tokens
// with go-github's organization endpoints, as GitHub documents them:
// list requests, deny one, approve one, list the approved tokens and their
// repositories; a fine-grained token with organization_administration
// write reviews too, one without it gets GitHub's 403; the requester's
// token works once approved.
func TestGoGitHubFineGrainedReview(t *testing.T) {
	s := startServer(t)
	s.CreateUser("bob", false)
	s.CreateOrg("acme", "alice", "bob")
	s.Admin("repo", "create", "acme/app", "--private")
	s.Admin("repo", "create", "acme/site", "--private")
	hc := s.Client(t)
	hc.Timeout = 30 * time.Second
	client := func(tok string) *github.Client {
		c, err := github.NewClient(github.WithHTTPClient(hc), github.WithAuthToken(tok), github.WithEnterpriseURLs(s.base, s.base))
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	owner := client(s.Token("alice", "reviewer", "admin:org", "30d"))
	wanted := s.FineGrainedToken("bob", "wanted", "acme", "app", "contents:read", "30d")
	unwanted := s.FineGrainedToken("bob", "unwanted", "acme", "all", "contents:write", "30d")
	bob := client(wanted)

	// Pending: bob's token does not see acme/app yet.
	if _, _, err := bob.Repositories.Get(ctx, "acme", "app"); !isStatus(err, http.StatusNotFound) {
		t.Fatalf("pending token reads acme/app: %v", err)
	}

	reqs, _, err := owner.Organizations.ListFineGrainedPersonalAccessTokenRequests(ctx, "acme", &github.ListFineGrainedPATOptions{})
	if err != nil {
		t.Fatal(err)
	}
	byName := map[string]*github.FineGrainedPersonalAccessTokenRequest{}
	for _, r := range reqs {
		byName[r.TokenName] = r
	}
	w, u := byName["wanted"], byName["unwanted"]
	if len(reqs) != 2 || w == nil || u == nil {
		t.Fatalf("requests: %+v", reqs)
	}
	if w.Owner.GetLogin() != "bob" || w.RepositorySelection != "subset" || w.Permissions.Repo["contents"] != "read" ||
		w.Permissions.Repo["metadata"] != "read" || w.TokenID != w.ID || w.TokenExpiresAt == nil || w.CreatedAt == nil {
		t.Errorf("request: %+v", w)
	}
	if u.RepositorySelection != "all" || u.Permissions.Repo["contents"] != "write" {
		t.Errorf("request: %+v", u)
	}

	// A fine-grained token of the owner without organization
	// administration is refused with GitHub's 403.
	weak := client(s.FineGrainedToken("alice", "weak", "acme", "all", "contents:read", "30d"))
	_, err = weak.Organizations.ReviewPersonalAccessTokenRequest(ctx, "acme", u.ID, github.ReviewPersonalAccessTokenRequestOptions{Action: "deny"})
	var er *github.ErrorResponse
	if !errors.As(err, &er) || er.Response.StatusCode != http.StatusForbidden || er.Message != "Resource not accessible by personal access token" {
		t.Fatalf("review without the permission: %v", err)
	}
	if got := er.Response.Header.Get("X-Accepted-GitHub-Permissions"); got != "organization_administration=write" {
		t.Errorf("X-Accepted-GitHub-Permissions %q", got)
	}

	// Deny one with a reason (classic admin:org token), approve the other
	// with a fine-grained one that may.
	reason := "too broad: ask for app only"
	if _, err := owner.Organizations.ReviewPersonalAccessTokenRequest(ctx, "acme", u.ID, github.ReviewPersonalAccessTokenRequestOptions{Action: "deny", Reason: &reason}); err != nil {
		t.Fatal(err)
	}
	admin := client(s.FineGrainedToken("alice", "admin", "acme", "public", "organization_administration:write", "30d"))
	if _, err := admin.Organizations.ReviewPersonalAccessTokenRequest(ctx, "acme", w.ID, github.ReviewPersonalAccessTokenRequestOptions{Action: "approve"}); err != nil {
		t.Fatal(err)
	}
	if _, err := owner.Organizations.ReviewPersonalAccessTokenRequest(ctx, "acme", w.ID, github.ReviewPersonalAccessTokenRequestOptions{Action: "bogus"}); !isStatus(err, http.StatusUnprocessableEntity) {
		t.Errorf("an unknown action: %v", err)
	}
	if reqs, _, err := owner.Organizations.ListFineGrainedPersonalAccessTokenRequests(ctx, "acme", &github.ListFineGrainedPATOptions{}); err != nil || len(reqs) != 0 {
		t.Errorf("requests after review: %+v %v", reqs, err)
	}

	// Approved: bob reads acme/app, still not acme/site.
	if r, _, err := bob.Repositories.Get(ctx, "acme", "app"); err != nil || r.GetFullName() != "acme/app" {
		t.Fatalf("approved token: %+v %v", r, err)
	}
	if _, _, err := bob.Repositories.Get(ctx, "acme", "site"); !isStatus(err, http.StatusNotFound) {
		t.Errorf("unselected acme/site: %v", err)
	}
	if _, _, err := client(unwanted).Repositories.Get(ctx, "acme", "app"); !isStatus(err, http.StatusNotFound) {
		t.Errorf("denied token: %v", err)
	}

	// The approved tokens, bob's among them; its repositories.
	pats, _, err := owner.Organizations.ListFineGrainedPersonalAccessTokens(ctx, "acme", &github.ListFineGrainedPATOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var bobs *github.PersonalAccessToken
	for _, p := range pats {
		if p.GetTokenName() == "wanted" {
			bobs = p
		}
	}
	if bobs == nil || bobs.GetOwner().GetLogin() != "bob" || bobs.GetRepositorySelection() != "subset" || bobs.AccessGrantedAt == nil || bobs.GetTokenExpired() {
		t.Fatalf("approved tokens: %+v", pats)
	}
	req, err := owner.NewRequest(ctx, "GET", "orgs/acme/personal-access-tokens/"+itoa(bobs.GetID())+"/repositories", nil)
	if err != nil {
		t.Fatal(err)
	}
	var repos []*github.Repository
	if _, err := owner.Do(req, &repos); err != nil || len(repos) != 1 || repos[0].GetFullName() != "acme/app" {
		t.Errorf("the token's repositories: %+v %v", repos, err)
	}

	// The requester was told, in the outbox.
	mail := readOutbox(t, s.Data)
	if !strings.Contains(mail, "approved your token \"wanted\"") || !strings.Contains(mail, "denied your token \"unwanted\"") || !strings.Contains(mail, reason) {
		t.Errorf("outbox:\n%s", mail)
	}

	// Revoking through the organization ends the token at once.
	req, err = owner.NewRequest(ctx, "POST", "orgs/acme/personal-access-tokens/"+itoa(bobs.GetID()), map[string]string{"action": "revoke"})
	if err != nil {
		t.Fatal(err)
	}
	if resp, err := owner.Do(req, nil); err != nil || resp.StatusCode != http.StatusNoContent {
		t.Fatalf("revoke: %v", err)
	}
	if _, _, err := bob.Users.Get(ctx, ""); !isStatus(err, http.StatusUnauthorized) {
		t.Errorf("revoked token: %v", err)
	}
}

func isStatus(err error, code int) bool {
	var er *github.ErrorResponse
	return errors.As(err, &er) && er.Response.StatusCode == code
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

// readOutbox concatenates the mail files of a server's outbox.
func readOutbox(t *testing.T, dataDir string) string {
	t.Helper()
	var b strings.Builder
	_ = filepath.WalkDir(filepath.Join(dataDir, "outbox"), func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			data, _ := os.ReadFile(p)
			b.Write(data)
		}
		return nil
	})
	return b.String()
}
