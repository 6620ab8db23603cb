package api_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/google/go-github/v89/github"
)

// TestGoGitHub uses go-github's enterprise client (v89, the newest major
// version the module proxy serves) as a Go program would: Bearer token,
// base URL with /api/v3/ added by the client.
func TestGoGitHub(t *testing.T) {
	s := startServer(t, "--rate-limit", "1000")
	tok := s.Token("alice", "go-github", "repo,delete_repo,admin:public_key,site_admin,user", "2030-06-01")
	victim := s.Token("alice", "victim", "read:org", "7d")

	hc := s.Client(t)
	hc.Timeout = 30 * time.Second
	client, err := github.NewClient(github.WithHTTPClient(hc), github.WithAuthToken(tok), github.WithEnterpriseURLs(s.base, s.base))
	if err != nil {
		t.Fatal(err)
	}
	if got := client.BaseURL(); got != s.base+"/api/v3/" {
		t.Fatalf("client base URL %s", got)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()

	// The authenticated user, with the token's expiry and the rate headers.
	me, resp, err := client.Users.Get(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	if me.GetLogin() != "alice" || me.GetType() != "User" || !me.GetSiteAdmin() || me.GetID() == 0 || me.GetNodeID() == "" {
		t.Errorf("user: %+v", me)
	}
	if want := time.Date(2030, 6, 1, 23, 59, 59, 0, time.UTC); resp.TokenExpiration.Time.Sub(want).Abs() > time.Second {
		t.Errorf("TokenExpiration %v, want about %v", resp.TokenExpiration.Time, want)
	}
	if resp.Rate.Limit != 1000 || resp.Rate.Remaining != 999 || resp.Rate.Reset.IsZero() {
		t.Errorf("rate %+v", resp.Rate)
	}
	if got := resp.Header.Get("X-OAuth-Scopes"); got != "admin:public_key, delete_repo, repo, site_admin, user" {
		t.Errorf("X-OAuth-Scopes %q", got)
	}
	limits, _, err := client.RateLimit.Get(ctx)
	if err != nil || limits.GetCore().Limit != 1000 {
		t.Errorf("rate limits: %+v %v", limits, err)
	}

	// Repositories: create, list, get, delete.
	repo, resp, err := client.Repositories.Create(ctx, "", &github.Repository{
		Name: github.Ptr("gg1"), Private: github.Ptr(true), Description: github.Ptr("from go-github"), AutoInit: github.Ptr(true),
	})
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusCreated || repo.GetFullName() != "alice/gg1" || !repo.GetPrivate() ||
		repo.GetCloneURL() != s.base+"/alice/gg1.git" || !repo.GetPermissions().GetAdmin() || repo.GetCreatedAt().IsZero() {
		t.Errorf("created: %d %+v", resp.StatusCode, repo)
	}
	for i := 2; i <= 3; i++ {
		if _, _, err := client.Repositories.Create(ctx, "", &github.Repository{Name: github.Ptr(fmt.Sprintf("gg%d", i))}); err != nil {
			t.Fatal(err)
		}
	}
	var names []string
	opt := &github.RepositoryListByAuthenticatedUserOptions{ListOptions: github.ListOptions{PerPage: 2}}
	for {
		page, resp, err := client.Repositories.ListByAuthenticatedUser(ctx, opt)
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range page {
			names = append(names, r.GetName())
		}
		if resp.NextPage == 0 {
			break
		}
		opt.Page = resp.NextPage
	}
	if fmt.Sprint(names) != "[gg1 gg2 gg3]" {
		t.Errorf("listed %v", names)
	}
	got, _, err := client.Repositories.Get(ctx, "alice", "gg1")
	if err != nil || got.GetDescription() != "from go-github" || got.GetDefaultBranch() != "main" || got.GetPushedAt().IsZero() {
		t.Errorf("get: %+v %v", got, err)
	}
	if _, err := client.Repositories.Delete(ctx, "alice", "gg2"); err != nil {
		t.Fatal(err)
	}
	_, resp, err = client.Repositories.Get(ctx, "alice", "gg2")
	var er *github.ErrorResponse
	if !errors.As(err, &er) || resp.StatusCode != http.StatusNotFound || er.Message != "Not Found" {
		t.Errorf("get after delete: %v", err)
	}
	_, _, err = client.Repositories.Create(ctx, "", &github.Repository{Name: github.Ptr("gg1")})
	if !errors.As(err, &er) || er.Response.StatusCode != http.StatusUnprocessableEntity || len(er.Errors) != 1 || er.Errors[0].Field != "name" {
		t.Errorf("duplicate create: %v", err)
	}

	// SSH keys.
	key, resp, err := client.Users.CreateKey(ctx, &github.Key{Title: github.Ptr("laptop"),
		Key: github.Ptr("ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIDMWWhIuG+8MHYCxJ7ViKRYfAS4cK3kmfOxzo7DqU6cJ alice@laptop")})
	if err != nil || resp.StatusCode != http.StatusCreated || key.GetID() == 0 || key.GetTitle() != "laptop" {
		t.Fatalf("create key: %+v %v", key, err)
	}
	keys, _, err := client.Users.ListKeys(ctx, "", nil)
	if err != nil || len(keys) != 1 || keys[0].GetID() != key.GetID() {
		t.Errorf("list keys: %+v %v", keys, err)
	}
	if k, _, err := client.Users.GetKey(ctx, key.GetID()); err != nil || k.GetKey() != key.GetKey() {
		t.Errorf("get key: %+v %v", k, err)
	}
	if _, err := client.Users.DeleteKey(ctx, key.GetID()); err != nil {
		t.Errorf("delete key: %v", err)
	}

	// Site admin token endpoints (go-github has no methods for them, so
	// through its generic request API).
	req, err := client.NewRequest(ctx, "GET", "admin/tokens", nil)
	if err != nil {
		t.Fatal(err)
	}
	var auths []*github.UserAuthorization
	if _, err := client.Do(req, &auths); err != nil {
		t.Fatal(err)
	}
	var victimID, selfID int64
	for _, a := range auths {
		if a.GetToken() != "" {
			t.Errorf("a token secret was listed")
		}
		switch a.GetNote() {
		case "victim":
			victimID = a.GetID()
		case "go-github":
			selfID = a.GetID()
		}
		if len(a.GetHashedToken()) != 64 || len(a.GetTokenLastEight()) != 8 {
			t.Errorf("authorization %+v", a)
		}
	}
	if victimID == 0 || selfID == 0 {
		t.Fatalf("tokens not listed: %+v", auths)
	}
	req, _ = client.NewRequest(ctx, "DELETE", fmt.Sprintf("admin/tokens/%d", selfID), nil)
	if resp, err := client.Do(req, nil); resp == nil || resp.StatusCode != http.StatusForbidden {
		t.Errorf("deleting the token in use: %v", err)
	}
	req, _ = client.NewRequest(ctx, "DELETE", fmt.Sprintf("admin/tokens/%d", victimID), nil)
	if resp, err := client.Do(req, nil); err != nil || resp.StatusCode != http.StatusNoContent {
		t.Errorf("deleting a token: %v", err)
	}
	// The deleted token stops working at once.
	vc, _ := github.NewClient(github.WithHTTPClient(hc), github.WithAuthToken(victim), github.WithEnterpriseURLs(s.base, s.base))
	_, resp, err = vc.Users.Get(ctx, "")
	if !errors.As(err, &er) || resp.StatusCode != http.StatusUnauthorized || er.Message != "Bad credentials" {
		t.Errorf("revoked token: %v", err)
	}
}
