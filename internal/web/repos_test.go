package web

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/gatehouse/gatehouse"
	"github.com/gatehouse/gatehouse/internal/service"
)

// A profile lists the private repositories its viewer may open: the
// owner's and a collaborator's, never a site admin's by virtue of the
// role. (Before the listing rule moved to authz.ListRepos, the web UI
// showed site admins every private repository name.)
func TestProfileHidesPrivateRepos(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	e.user("root", true)
	e.user("alice", false)
	e.user("bob", false)
	e.user("carol", false)
	if _, err := e.svc.CreateRepo(ctx, system, service.NewRepo{Owner: "alice", Name: "open"}); err != nil {
		t.Fatal(err)
	}
	secret, err := e.svc.CreateRepo(ctx, system, service.NewRepo{Owner: "alice", Name: "diary", Private: true})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.svc.SetCollaborator(ctx, system, secret, "bob", gatehouse.PermRead); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		viewer    string // "" for anonymous
		sudo      bool
		seesDiary bool
	}{
		{"alice", false, true},
		{"bob", false, true},
		{"root", false, false},
		{"root", true, false},
		{"carol", false, false},
		{"", false, false},
	} {
		c := e.client()
		if tc.viewer != "" {
			c.signIn(tc.viewer, tc.sudo)
		}
		res := c.get("/alice")
		wantStatus(t, "profile as "+tc.viewer, res, http.StatusOK)
		if !strings.Contains(res.Body, `href="/alice/open"`) {
			t.Errorf("%q (sudo %v) does not see alice's public repository", tc.viewer, tc.sudo)
		}
		if got := strings.Contains(res.Body, "diary"); got != tc.seesDiary {
			t.Errorf("%q (sudo %v) sees alice's private repository: %v, want %v", tc.viewer, tc.sudo, got, tc.seesDiary)
		}
	}
}

// The new-repository form applies the service's description rule: more
// than 350 characters is refused with the description's own message, and
// 350 characters of any script are accepted. (The web UI used to count
// bytes itself, so a description the API accepted could be refused here.)
func TestNewRepoDescriptionLimit(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	e.user("alice", false)
	c := e.client()
	c.signIn("alice", false)

	res := c.post("/new", "/new", url.Values{"name": {"long"}, "visibility": {"public"}, "description": {strings.Repeat("x", service.MaxDescription+1)}})
	wantStatus(t, "description over the limit", res, http.StatusUnprocessableEntity)
	if !strings.Contains(res.Body, "Keep the description under 350 characters.") {
		t.Errorf("the form does not show the description error:\n%s", res.Body)
	}
	if strings.Contains(res.Body, localizer("en").T("repo_new.err_name")) {
		t.Error("a too long description is reported as a bad name")
	}
	if _, err := e.st.FindRepo(ctx, "alice", "long"); !gatehouse.IsKind(err, gatehouse.NotFound) {
		t.Fatalf("the refused repository exists: %v", err)
	}

	ja := strings.Repeat("説", service.MaxDescription)
	res = c.post("/new", "/new", url.Values{"name": {"exact"}, "visibility": {"public"}, "description": {ja}})
	wantStatus(t, "350 characters of three bytes each", res, http.StatusSeeOther)
	r, err := e.st.FindRepo(ctx, "alice", "exact")
	if err != nil || r.Description != ja {
		t.Fatalf("repository %+v, %v", r, err)
	}
}
