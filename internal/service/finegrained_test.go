package service

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/gatehouse/gatehouse"
	"github.com/gatehouse/gatehouse/internal/authz"
	"github.com/gatehouse/gatehouse/internal/token"
)

// fgActor authenticates a fine-grained secret as a transport would.
func fgActor(t *testing.T, s *Service, secret string) *gatehouse.Actor {
	t.Helper()
	a, err := s.Authenticate(context.Background(), gatehouse.Credential{Kind: gatehouse.TokenCredential, Secret: secret, IP: "192.0.2.9"})
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// TestFineGrainedLifecycle: creation rules, the pending state, an owner's
// review with its e-mail, the policy's lifetime bound, and the decision on
// repositories at each step.
func TestFineGrainedLifecycle(t *testing.T) {
	mb := &mailbox{}
	s, _ := newService(t, withMailer(mb))
	ctx := context.Background()
	olive := mustUser(t, s, NewUser{Login: "olive", Email: "olive@example.com"})
	mia := mustUser(t, s, NewUser{Login: "mia", Email: "mia@example.com"})
	otto := mustUser(t, s, NewUser{Login: "otto", Email: "otto@example.com"})
	org, err := s.CreateOrg(ctx, session(olive, ""), NewOrg{Login: "acme", Name: "Acme"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.SetMembership(ctx, session(olive, ""), org, "mia", gatehouse.OrgOwner); err != nil {
		t.Fatal(err)
	}
	if _, err := s.SetMembership(ctx, session(olive, ""), org, "mia", gatehouse.OrgMember); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"a", "b"} {
		if _, err := s.CreateRepo(ctx, session(olive, ""), NewRepo{Owner: "acme", Name: name, Private: true}); err != nil {
			t.Fatal(err)
		}
	}
	read := token.Perms{"contents": token.ReadOnly}

	// Refusals at creation, each naming its field.
	bad := []struct {
		name  string
		nf    NewFineGrained
		field string
	}{
		{"outsider's organization", NewFineGrained{UserID: otto.ID, Name: "x", Owner: "acme", Repos: gatehouse.AllRepos}, "owner"},
		{"unknown owner", NewFineGrained{UserID: mia.ID, Name: "x", Owner: "nobody", Repos: gatehouse.AllRepos}, "owner"},
		{"no expiration for an organization", NewFineGrained{UserID: mia.ID, Name: "x", Owner: "acme", Repos: gatehouse.AllRepos, Expires: "never"}, "expires"},
		{"repository of another owner", NewFineGrained{UserID: mia.ID, Name: "x", Owner: "acme", Repos: gatehouse.SelectedRepos, RepoNames: []string{"mia/a"}}, "repositories"},
		{"missing repository", NewFineGrained{UserID: mia.ID, Name: "x", Owner: "acme", Repos: gatehouse.SelectedRepos, RepoNames: []string{"zzz"}}, "repositories"},
		{"empty selection", NewFineGrained{UserID: mia.ID, Name: "x", Owner: "acme", Repos: gatehouse.SelectedRepos}, "repositories"},
		{"account permission for an organization", NewFineGrained{UserID: mia.ID, Name: "x", Owner: "acme", Repos: gatehouse.AllRepos, Permissions: token.Perms{"profile": token.ReadWrite}}, "permissions"},
		{"organization permission for a user", NewFineGrained{UserID: mia.ID, Name: "x", Repos: gatehouse.AllRepos, Permissions: token.Perms{"members": token.ReadOnly}}, "permissions"},
		{"unknown permission", NewFineGrained{UserID: mia.ID, Name: "x", Repos: gatehouse.AllRepos, Permissions: token.Perms{"pages": token.ReadOnly}}, "permissions"},
		{"no name", NewFineGrained{UserID: mia.ID, Repos: gatehouse.AllRepos}, "name"},
	}
	for _, c := range bad {
		_, err := s.CreateFineGrainedToken(ctx, sessionOf(c.nf.UserID, olive, mia, otto), c.nf)
		var e *gatehouse.Error
		if !errors.As(err, &e) || e.Kind != gatehouse.Invalid || e.Field != c.field {
			t.Errorf("%s: %v, want Invalid on %s", c.name, err, c.field)
		}
	}

	// mia, a member, asks for a; the token is pending and reads nothing
	// private.
	it, err := s.CreateFineGrainedToken(ctx, session(mia, ""), NewFineGrained{UserID: mia.ID, Name: "ci", Owner: "acme",
		Repos: gatehouse.SelectedRepos, RepoNames: []string{"a"}, Permissions: read, Expires: "30d"})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(it.Secret, "gtp_pat_") || it.Token.Approval != gatehouse.TokenPending {
		t.Fatalf("secret %q…, approval %q", it.Secret[:8], it.Token.Approval)
	}
	repoErr := func(a *gatehouse.Actor, name string, action authz.Action) error {
		_, _, err := s.Repo(ctx, a, "acme", name, action)
		return err
	}
	if err := repoErr(fgActor(t, s, it.Secret), "a", authz.Read); !gatehouse.IsKind(err, gatehouse.NotFound) {
		t.Fatalf("pending token reads acme/a: %v", err)
	}
	reqs, err := s.OrgTokens(ctx, session(olive, ""), org, true, gatehouse.Page{})
	if err != nil || len(reqs) != 1 || reqs[0].Token.ID != it.Token.ID || reqs[0].Owner.Login != "mia" {
		t.Fatalf("pending requests: %+v, %v", reqs, err)
	}
	// Only owners review; mia cannot approve her own request.
	if _, err := s.ReviewTokenRequest(ctx, session(mia, ""), org, it.Token.ID, true, ""); !gatehouse.IsKind(err, gatehouse.Forbidden) {
		t.Fatalf("a member approving: %v", err)
	}
	if _, err := s.ReviewTokenRequest(ctx, session(olive, ""), org, it.Token.ID, true, "for the nightly build"); err != nil {
		t.Fatal(err)
	}
	msgs := mb.take()
	if len(msgs) != 1 || msgs[0].To != "mia@example.com" || !strings.Contains(msgs[0].Body, "for the nightly build") || !strings.Contains(msgs[0].Subject, "approved") {
		t.Fatalf("review mail: %+v", msgs)
	}
	if _, err := s.ReviewTokenRequest(ctx, session(olive, ""), org, it.Token.ID, false, ""); !gatehouse.IsKind(err, gatehouse.Invalid) {
		t.Fatalf("reviewing twice: %v", err)
	}

	// Approved: reads a, not b (404), cannot push a (needs contents: write).
	mt := fgActor(t, s, it.Secret)
	if err := repoErr(mt, "a", authz.Read); err != nil {
		t.Fatalf("approved token reading acme/a: %v", err)
	}
	if err := repoErr(mt, "b", authz.Read); !gatehouse.IsKind(err, gatehouse.NotFound) {
		t.Fatalf("unselected acme/b: %v", err)
	}
	err = repoErr(mt, "a", authz.Write)
	if !errors.Is(err, authz.ErrPermission) || !strings.Contains(gatehouse.ErrorMessage(err), `"contents: write"`) {
		t.Fatalf("push with contents read: %v", err)
	}

	// The owner's own token needs no approval; the lifetime bound
	// applies at creation and at use.
	ot, err := s.CreateFineGrainedToken(ctx, session(olive, ""), NewFineGrained{UserID: olive.ID, Name: "mine", Owner: "acme",
		Repos: gatehouse.AllRepos, Permissions: token.Perms{"contents": token.ReadWrite}, Expires: "90d"})
	if err != nil || ot.Token.Approval != gatehouse.TokenApproved {
		t.Fatalf("owner's token: %v, %+v", err, ot)
	}
	p := gatehouse.DefaultTokenPolicy(org.ID)
	p.MaxFineGrainedDays = 60
	if err := s.SetOrgTokenPolicy(ctx, session(olive, ""), org, p); err != nil {
		t.Fatal(err)
	}
	if _, err := s.CreateFineGrainedToken(ctx, session(olive, ""), NewFineGrained{UserID: olive.ID, Name: "long", Owner: "acme",
		Repos: gatehouse.AllRepos, Expires: "90d"}); !gatehouse.IsKind(err, gatehouse.Invalid) {
		t.Fatalf("90 days under a 60-day bound: %v", err)
	}
	err = repoErr(fgActor(t, s, ot.Secret), "b", authz.Write)
	if !errors.Is(err, authz.ErrPolicy) || !strings.Contains(gatehouse.ErrorMessage(err), "acme") {
		t.Fatalf("a 90-day token under a 60-day bound: %v", err)
	}
	if err := repoErr(fgActor(t, s, it.Secret), "a", authz.Read); err != nil {
		t.Fatalf("a 30-day token under a 60-day bound: %v", err)
	}

	// Restricting fine-grained tokens refuses the approved one too.
	p.RestrictFineGrained = true
	if err := s.SetOrgTokenPolicy(ctx, session(olive, ""), org, p); err != nil {
		t.Fatal(err)
	}
	if err := repoErr(fgActor(t, s, it.Secret), "a", authz.Read); !errors.Is(err, authz.ErrPolicy) {
		t.Fatalf("restricted fine-grained token: %v", err)
	}
	// Revoking through the organization deletes the token.
	if err := s.RevokeOrgToken(ctx, session(olive, ""), org, it.Token.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Authenticate(ctx, gatehouse.Credential{Kind: gatehouse.TokenCredential, Secret: it.Secret}); !gatehouse.IsKind(err, gatehouse.Unauthenticated) {
		t.Fatalf("revoked token still authenticates: %v", err)
	}
}

// sessionOf returns a browser session of the user with id among
// users, for the creation checks.
func sessionOf(id int64, users ...*gatehouse.User) *gatehouse.Actor {
	for _, u := range users {
		if u.ID == id {
			return session(u, "")
		}
	}
	return gatehouse.SystemActor()
}

// TestFineGrainedAccessChange: a token's repositories and permissions
// change under creation's rules; a change that narrows applies at the
// token's next use and keeps the approval, one that widens is a new
// request the token waits on, reaching nothing private meanwhile.
func TestFineGrainedAccessChange(t *testing.T) {
	s, db := newService(t)
	ctx := context.Background()
	olive := mustUser(t, s, NewUser{Login: "olive", Email: "olive@example.com"})
	mia := mustUser(t, s, NewUser{Login: "mia", Email: "mia@example.com"})
	otto := mustUser(t, s, NewUser{Login: "otto", Email: "otto@example.com"})
	org, err := s.CreateOrg(ctx, session(olive, ""), NewOrg{Login: "acme", Name: "Acme"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.SetMembership(ctx, session(olive, ""), org, "mia", gatehouse.OrgMember); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"a", "b"} {
		if _, err := s.CreateRepo(ctx, session(olive, ""), NewRepo{Owner: "acme", Name: name, Private: true}); err != nil {
			t.Fatal(err)
		}
	}
	it, err := s.CreateFineGrainedToken(ctx, session(mia, ""), NewFineGrained{UserID: mia.ID, Name: "ci", Owner: "acme",
		Repos: gatehouse.SelectedRepos, RepoNames: []string{"a"}, Permissions: token.Perms{"contents": token.ReadOnly}, Expires: "30d"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.ReviewTokenRequest(ctx, session(olive, ""), org, it.Token.ID, true, ""); err != nil {
		t.Fatal(err)
	}
	reads := func(name string, action authz.Action) error {
		_, _, err := s.Repo(ctx, fgActor(t, s, it.Secret), "acme", name, action)
		return err
	}
	if err := reads("a", authz.Read); err != nil {
		t.Fatalf("approved token reading acme/a: %v", err)
	}

	// Refusals, each naming its field; nobody else changes mia's token.
	for _, c := range []struct {
		name  string
		a     FineGrainedAccess
		field string
	}{
		{"another owner's repository", FineGrainedAccess{Repos: gatehouse.SelectedRepos, RepoNames: []string{"mia/a"}}, "repositories"},
		{"an account permission", FineGrainedAccess{Repos: gatehouse.AllRepos, Permissions: token.Perms{"profile": token.ReadWrite}}, "permissions"},
		{"an empty selection", FineGrainedAccess{Repos: gatehouse.SelectedRepos}, "repositories"},
	} {
		_, err := s.UpdateFineGrainedAccess(ctx, session(mia, ""), it.Token.ID, c.a)
		var e *gatehouse.Error
		if !errors.As(err, &e) || e.Kind != gatehouse.Invalid || e.Field != c.field {
			t.Errorf("%s: %v, want Invalid on %s", c.name, err, c.field)
		}
	}
	if _, err := s.UpdateFineGrainedAccess(ctx, session(otto, ""), it.Token.ID, FineGrainedAccess{Repos: gatehouse.AllRepos}); !gatehouse.IsKind(err, gatehouse.NotFound) {
		t.Errorf("otto changing mia's token: %v", err)
	}

	// Narrower (no contents: metadata only): still approved, and the
	// next use can no longer clone.
	tok, err := s.UpdateFineGrainedAccess(ctx, session(mia, ""), it.Token.ID, FineGrainedAccess{
		Repos: gatehouse.SelectedRepos, RepoNames: []string{"a"}})
	if err != nil || tok.Approval != gatehouse.TokenApproved {
		t.Fatalf("narrowing: %v, %+v", err, tok)
	}
	if err := reads("a", authz.Read); !errors.Is(err, authz.ErrPermission) {
		t.Errorf("cloning after contents was taken away: %v", err)
	}

	// Wider (b too): a new request; nothing private until approved.
	tok, err = s.UpdateFineGrainedAccess(ctx, session(mia, ""), it.Token.ID, FineGrainedAccess{
		Repos: gatehouse.SelectedRepos, RepoNames: []string{"a", "acme/b"}, Permissions: token.Perms{"contents": token.ReadOnly}})
	if err != nil || tok.Approval != gatehouse.TokenPending || len(tok.RepoIDs) != 2 {
		t.Fatalf("widening: %v, %+v", err, tok)
	}
	if err := reads("a", authz.Read); !gatehouse.IsKind(err, gatehouse.NotFound) {
		t.Errorf("a pending token reading acme/a: %v", err)
	}
	reqs, err := s.OrgTokens(ctx, session(olive, ""), org, true, gatehouse.Page{})
	if err != nil || len(reqs) != 1 || reqs[0].Token.ID != it.Token.ID {
		t.Fatalf("pending requests after widening: %+v, %v", reqs, err)
	}
	// While it waits, the request the owners see may narrow, never widen.
	_, err = s.UpdateFineGrainedAccess(ctx, session(mia, ""), it.Token.ID, FineGrainedAccess{
		Repos: gatehouse.AllRepos, Permissions: token.Perms{"contents": token.ReadWrite}})
	if !gatehouse.IsKind(err, gatehouse.Invalid) || !strings.Contains(gatehouse.ErrorMessage(err), "can only narrow") {
		t.Fatalf("widening a pending request: %v", err)
	}
	if tok, err = s.UpdateFineGrainedAccess(ctx, session(mia, ""), it.Token.ID, FineGrainedAccess{
		Repos: gatehouse.SelectedRepos, RepoNames: []string{"b", "a"}, Permissions: token.Perms{"contents": token.ReadOnly}}); err != nil || tok.Approval != gatehouse.TokenPending {
		t.Fatalf("a pending request unchanged in substance: %v, %+v", err, tok)
	}
	if _, err := s.ReviewTokenRequest(ctx, session(olive, ""), org, it.Token.ID, true, ""); err != nil {
		t.Fatal(err)
	}
	if err := reads("b", authz.Read); err != nil {
		t.Errorf("reading acme/b once approved: %v", err)
	}
	events, err := db.ListAuditEvents(ctx, gatehouse.AuditFilter{UserID: mia.ID}, gatehouse.Page{PerPage: 100})
	if err != nil {
		t.Fatal(err)
	}
	var updates, requests int
	for _, e := range events {
		switch e.Action {
		case gatehouse.AuditTokenUpdate:
			updates++
		case gatehouse.AuditTokenRequest:
			requests++
		}
	}
	if updates != 3 || requests != 2 {
		t.Errorf("audit: %d updates and %d requests, want 3 and 2 (creation and widening)", updates, requests)
	}

	// Deleting a token that waits for approval cancels its request.
	if _, err := s.UpdateFineGrainedAccess(ctx, session(mia, ""), it.Token.ID, FineGrainedAccess{Repos: gatehouse.AllRepos}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.DeleteToken(ctx, session(mia, ""), it.Token.ID); err != nil {
		t.Fatal(err)
	}
	events, _ = db.ListAuditEvents(ctx, gatehouse.AuditFilter{UserID: mia.ID}, gatehouse.Page{PerPage: 1})
	if len(events) != 1 || events[0].Action != gatehouse.AuditTokenRequestCancel || events[0].Detail != "org=acme" {
		t.Errorf("the last event after deleting a pending token: %+v", events)
	}
	if reqs, err := s.OrgTokens(ctx, session(olive, ""), org, true, gatehouse.Page{}); err != nil || len(reqs) != 0 {
		t.Errorf("pending requests after the delete: %+v, %v", reqs, err)
	}

	// A denied request of mia's, edited once she is an owner, needs no
	// review: an owner's token is approved, as at creation.
	denied, err := s.CreateFineGrainedToken(ctx, session(mia, ""), NewFineGrained{UserID: mia.ID, Name: "old", Owner: "acme",
		Repos: gatehouse.SelectedRepos, RepoNames: []string{"a"}, Permissions: token.Perms{"contents": token.ReadOnly}, Expires: "30d"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.ReviewTokenRequest(ctx, session(olive, ""), org, denied.Token.ID, false, "no"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.SetMembership(ctx, session(olive, ""), org, "mia", gatehouse.OrgOwner); err != nil {
		t.Fatal(err)
	}
	if tok, err := s.UpdateFineGrainedAccess(ctx, session(mia, ""), denied.Token.ID, FineGrainedAccess{
		Repos: gatehouse.SelectedRepos, RepoNames: []string{"a"}, Permissions: token.Perms{"contents": token.ReadOnly}}); err != nil ||
		tok.Approval != gatehouse.TokenApproved || tok.ReviewReason != "" {
		t.Fatalf("an owner's edit of her denied token: %v, %+v", err, tok)
	}

	// A classic token has no such access to change.
	classic, err := s.CreateToken(ctx, session(mia, ""), NewToken{UserID: mia.ID, Note: "classic", Scopes: []string{"repo"}, Expires: "30d"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.UpdateFineGrainedAccess(ctx, session(mia, ""), classic.Token.ID, FineGrainedAccess{Repos: gatehouse.AllRepos}); !gatehouse.IsKind(err, gatehouse.NotFound) {
		t.Errorf("a classic token: %v", err)
	}
}
