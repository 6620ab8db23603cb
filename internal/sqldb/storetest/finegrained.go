package storetest

import (
	"slices"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse"
)

// Fine-grained personal access tokens and organizations' token policies.

// fineGrained returns an unsaved fine-grained token of u on target.
func fineGrained(u, target *gatehouse.User, note string, repos gatehouse.RepoAccess, ids ...int64) *gatehouse.Token {
	h := fakeHash()
	return &gatehouse.Token{
		UserID: u.ID, Kind: gatehouse.FineGrainedToken, Note: note, Scopes: []string{},
		TargetID: target.ID, Repos: repos, RepoIDs: ids,
		Permissions: map[string]int{"contents": 1},
		Hash:        h, LastEight: h[56:],
	}
}

func newFineGrained(t *testing.T, s orgStore, u, target *gatehouse.User, note string, repos gatehouse.RepoAccess, ids ...int64) *gatehouse.Token {
	t.Helper()
	tok := fineGrained(u, target, note, repos, ids...)
	must(t, s.CreateToken(ctx(t), tok))
	return tok
}

// findBoth checks that both lookups return want.
func findBoth(t *testing.T, s gatehouse.Store, want *gatehouse.Token) {
	t.Helper()
	got, err := s.FindTokenByHash(ctx(t), want.Hash)
	must(t, err)
	sameToken(t, got, want)
	got, err = s.FindTokenByID(ctx(t), want.ID)
	must(t, err)
	sameToken(t, got, want)
}

func testFineGrainedTokens(t *testing.T, s orgStore) {
	owner := newUser(t, s, "owner")
	alice := newUser(t, s, "alice")
	acme := newOrg(t, s, "acme", owner)
	setMember(t, s, acme, alice, gatehouse.OrgMember)
	r1 := newRepo(t, s, acme, "one", true)
	r2 := newRepo(t, s, acme, "two", false)
	r3 := newRepo(t, s, acme, "three", true)

	// Selected repositories, given unsorted and with a duplicate, and
	// permissions with metadata and a no-access entry, which are not kept.
	expires := time.Now().Add(30 * 24 * time.Hour)
	tok := fineGrained(alice, acme, "ci for acme", gatehouse.SelectedRepos, r3.ID, r1.ID, r3.ID)
	tok.Description = "Builds the acme repositories"
	tok.Permissions = map[string]int{"contents": 2, "administration": 1, "metadata": 1, "members": 0}
	tok.Approval = gatehouse.TokenPending
	tok.ExpiresAt = expires
	before := time.Now().Add(-time.Second)
	must(t, s.CreateToken(ctx(t), tok))
	if tok.ID == 0 || tok.CreatedAt.Before(before) || !tok.UpdatedAt.Equal(tok.CreatedAt) {
		t.Errorf("CreateToken left ID %d, CreatedAt %v, UpdatedAt %v", tok.ID, tok.CreatedAt, tok.UpdatedAt)
	}
	if want := []int64{r1.ID, r3.ID}; !slices.Equal(tok.RepoIDs, want) {
		t.Errorf("CreateToken left RepoIDs %v, want them sorted and once each: %v", tok.RepoIDs, want)
	}
	if want := map[string]int{"contents": 2, "administration": 1}; len(tok.Permissions) != 2 ||
		tok.Permissions["contents"] != 2 || tok.Permissions["administration"] != 1 {
		t.Errorf("CreateToken left Permissions %v, want %v", tok.Permissions, want)
	}
	want := *tok
	want.RepoIDs = []int64{r1.ID, r3.ID}
	want.Permissions = map[string]int{"contents": 2, "administration": 1}
	findBoth(t, s, &want)
	got, err := s.FindTokenByHash(ctx(t), tok.Hash)
	must(t, err)
	if !got.FineGrained() || !got.Selects(r1) || got.Selects(r2) || !got.Selects(r3) {
		t.Errorf("the token read back selects %v, want %s and %s", got.RepoIDs, r1.FullName(), r3.FullName())
	}
	if got.Scopes == nil || len(got.Scopes) != 0 {
		t.Errorf("Scopes of a fine-grained token = %#v, want []string{}", got.Scopes)
	}

	// All repositories of the token's own user, no permissions beyond
	// metadata: an empty, non-nil map and no selection.
	mine := fineGrained(alice, alice, "mine", gatehouse.AllRepos)
	mine.Permissions = nil
	must(t, s.CreateToken(ctx(t), mine))
	got, err = s.FindTokenByID(ctx(t), mine.ID)
	must(t, err)
	sameToken(t, got, mine)
	if got.Permissions == nil || len(got.Permissions) != 0 {
		t.Errorf("Permissions of a token with metadata only = %#v, want an empty map", got.Permissions)
	}
	if got.RepoIDs != nil || got.TargetID != alice.ID || got.Approval != gatehouse.TokenApproved {
		t.Errorf("token on all repositories reads back as %+v", got)
	}

	// Public repositories only, already reviewed.
	pub := fineGrained(alice, acme, "public", gatehouse.PublicRepos)
	pub.Approval, pub.ReviewerID, pub.ReviewedAt, pub.ReviewReason =
		gatehouse.TokenDenied, owner.ID, time.Now().Add(-time.Minute), "not now"
	must(t, s.CreateToken(ctx(t), pub))
	findBoth(t, s, pub)

	// The name is unique among the user's tokens of both kinds.
	classic := newToken(t, s, alice, "classic")
	err = s.CreateToken(ctx(t), fineGrained(alice, acme, "classic", gatehouse.AllRepos))
	wantKind(t, err, gatehouse.Conflict, "fine-grained token named like a classic one")
	wantMsg(t, err, "note", "duplicate name")
	err = s.CreateToken(ctx(t), &gatehouse.Token{UserID: alice.ID, Note: "mine", Scopes: []string{}, Hash: fakeHash()})
	wantKind(t, err, gatehouse.Conflict, "classic token named like a fine-grained one")
	// Another user may use the name.
	newFineGrained(t, s, owner, acme, "ci for acme", gatehouse.AllRepos)

	// The classic token beside them is untouched.
	got, err = s.FindTokenByID(ctx(t), classic.ID)
	must(t, err)
	sameToken(t, got, classic)

	must(t, s.DeleteToken(ctx(t), tok.ID))
	_, err = s.FindTokenByHash(ctx(t), tok.Hash)
	wantKind(t, err, gatehouse.NotFound, "FindTokenByHash of a deleted fine-grained token")
	// Its selection went with it: the repositories can go, and a new
	// token with the same name starts from its own selection.
	again := newFineGrained(t, s, alice, acme, "ci for acme", gatehouse.SelectedRepos, r2.ID)
	got, err = s.FindTokenByID(ctx(t), again.ID)
	must(t, err)
	if !slices.Equal(got.RepoIDs, []int64{r2.ID}) {
		t.Errorf("RepoIDs of a new token named like a deleted one = %v, want [%d]", got.RepoIDs, r2.ID)
	}
	must(t, s.DeleteRepo(ctx(t), r1.ID))
}

func testFineGrainedRefused(t *testing.T, s orgStore) {
	owner := newUser(t, s, "owner")
	alice := newUser(t, s, "alice")
	acme := newOrg(t, s, "acme", owner)
	other := newOrg(t, s, "other", owner)
	r := newRepo(t, s, acme, "r", false)
	foreign := newRepo(t, s, other, "foreign", false)
	own := newRepo(t, s, alice, "own", false)

	for _, c := range []struct {
		what string
		edit func(tok *gatehouse.Token)
		kind gatehouse.Kind
	}{
		{"unknown kind", func(tok *gatehouse.Token) { tok.Kind = "oauth" }, gatehouse.Invalid},
		{"no resource owner", func(tok *gatehouse.Token) { tok.TargetID = 0 }, gatehouse.Invalid},
		{"missing resource owner", func(tok *gatehouse.Token) { tok.TargetID = other.ID + 1000 }, gatehouse.NotFound},
		{"missing user", func(tok *gatehouse.Token) { tok.UserID = other.ID + 1000 }, gatehouse.NotFound},
		{"no repository access", func(tok *gatehouse.Token) { tok.Repos = "" }, gatehouse.Invalid},
		{"unknown repository access", func(tok *gatehouse.Token) { tok.Repos = "some" }, gatehouse.Invalid},
		{"repository ids without a selection", func(tok *gatehouse.Token) {
			tok.Repos, tok.RepoIDs = gatehouse.AllRepos, []int64{r.ID}
		}, gatehouse.Invalid},
		{"a repository of another owner", func(tok *gatehouse.Token) { tok.RepoIDs = []int64{r.ID, foreign.ID} }, gatehouse.Invalid},
		{"the user's repository on an organization's token", func(tok *gatehouse.Token) { tok.RepoIDs = []int64{own.ID} }, gatehouse.Invalid},
		{"a missing repository", func(tok *gatehouse.Token) { tok.RepoIDs = []int64{r.ID, foreign.ID + 1000} }, gatehouse.NotFound},
		{"too many repositories", func(tok *gatehouse.Token) {
			tok.RepoIDs = nil
			for i := range gatehouse.MaxSelectedRepos + 1 {
				tok.RepoIDs = append(tok.RepoIDs, r.ID+int64(i))
			}
		}, gatehouse.Invalid},
		{"scopes", func(tok *gatehouse.Token) { tok.Scopes = []string{"repo"} }, gatehouse.Invalid},
		{"unknown permission level", func(tok *gatehouse.Token) { tok.Permissions = map[string]int{"contents": 3} }, gatehouse.Invalid},
		{"malformed permission name", func(tok *gatehouse.Token) { tok.Permissions = map[string]int{"con tents": 1} }, gatehouse.Invalid},
		{"unknown approval", func(tok *gatehouse.Token) { tok.Approval = "maybe" }, gatehouse.Invalid},
	} {
		tok := fineGrained(alice, acme, "refused", gatehouse.SelectedRepos, r.ID)
		c.edit(tok)
		wantKind(t, s.CreateToken(ctx(t), tok), c.kind, "CreateToken with "+c.what)
	}

	// A classic token has none of the fine-grained fields.
	for _, c := range []struct {
		what string
		edit func(tok *gatehouse.Token)
	}{
		{"a resource owner", func(tok *gatehouse.Token) { tok.TargetID = acme.ID }},
		{"repository access", func(tok *gatehouse.Token) { tok.Repos = gatehouse.AllRepos }},
		{"repository ids", func(tok *gatehouse.Token) { tok.RepoIDs = []int64{r.ID} }},
		{"permissions", func(tok *gatehouse.Token) { tok.Permissions = map[string]int{"contents": 1} }},
		{"a description", func(tok *gatehouse.Token) { tok.Description = "d" }},
		{"an approval state", func(tok *gatehouse.Token) { tok.Approval = gatehouse.TokenPending }},
		{"a reviewer", func(tok *gatehouse.Token) { tok.ReviewerID = owner.ID }},
	} {
		tok := &gatehouse.Token{UserID: alice.ID, Note: "refused", Scopes: []string{"repo"}, Hash: fakeHash()}
		c.edit(tok)
		wantKind(t, s.CreateToken(ctx(t), tok), gatehouse.Invalid, "CreateToken of a classic token with "+c.what)
	}

	// Nothing was left behind, not even the token rows of the creations
	// whose selection failed.
	toks, err := s.ListTokens(ctx(t), gatehouse.TokenFilter{}, gatehouse.Page{})
	must(t, err)
	if len(toks) != 0 {
		t.Errorf("failed creations left %d tokens", len(toks))
	}
	newFineGrained(t, s, alice, acme, "refused", gatehouse.SelectedRepos, r.ID)
}

func testUpdateFineGrained(t *testing.T, s orgStore) {
	owner := newUser(t, s, "owner")
	alice := newUser(t, s, "alice")
	acme := newOrg(t, s, "acme", owner)
	other := newOrg(t, s, "other", owner)
	r1 := newRepo(t, s, acme, "one", false)
	r2 := newRepo(t, s, acme, "two", false)
	r3 := newRepo(t, s, acme, "three", false)
	foreign := newRepo(t, s, other, "foreign", false)

	tok := fineGrained(alice, acme, "deploy", gatehouse.SelectedRepos, r1.ID, r3.ID)
	tok.Approval = gatehouse.TokenPending
	must(t, s.CreateToken(ctx(t), tok))
	newFineGrained(t, s, alice, acme, "taken", gatehouse.AllRepos)
	_, seq0, err := s.Invalidations(ctx(t), 0)
	must(t, err)
	time.Sleep(2 * ms)

	// An owner approves it, and the selection changes.
	reviewed := time.Now()
	tok.Approval, tok.ReviewerID, tok.ReviewedAt, tok.ReviewReason =
		gatehouse.TokenApproved, owner.ID, reviewed, "for the release"
	tok.RepoIDs = []int64{r2.ID, r3.ID, r2.ID}
	tok.Description = "now described"
	tok.Permissions = map[string]int{"contents": 2, "metadata": 1}
	must(t, s.UpdateToken(ctx(t), tok))
	if !tok.UpdatedAt.After(tok.CreatedAt) {
		t.Errorf("UpdatedAt %v not after CreatedAt %v", tok.UpdatedAt, tok.CreatedAt)
	}
	if !slices.Equal(tok.RepoIDs, []int64{r2.ID, r3.ID}) || len(tok.Permissions) != 1 || tok.Permissions["contents"] != 2 {
		t.Errorf("UpdateToken left RepoIDs %v, Permissions %v", tok.RepoIDs, tok.Permissions)
	}
	findBoth(t, s, tok)

	// All repositories: the selection goes.
	tok.Repos, tok.RepoIDs = gatehouse.AllRepos, nil
	must(t, s.UpdateToken(ctx(t), tok))
	findBoth(t, s, tok)

	// Selected again, then denied with the review cleared of its time.
	tok.Repos, tok.RepoIDs = gatehouse.SelectedRepos, []int64{r1.ID}
	tok.Approval, tok.ReviewedAt, tok.ReviewReason = gatehouse.TokenDenied, time.Time{}, ""
	must(t, s.UpdateToken(ctx(t), tok))
	findBoth(t, s, tok)

	// Regeneration: new hash and expiry, the old hash is dead, the rest
	// stays.
	oldHash := tok.Hash
	tok.Hash = fakeHash()
	tok.LastEight = tok.Hash[56:]
	tok.ExpiresAt = time.Now().Add(7 * 24 * time.Hour)
	must(t, s.UpdateToken(ctx(t), tok))
	_, err = s.FindTokenByHash(ctx(t), oldHash)
	wantKind(t, err, gatehouse.NotFound, "FindTokenByHash of the hash before regeneration")
	findBoth(t, s, tok)

	invs, seq, err := s.Invalidations(ctx(t), seq0)
	must(t, err)
	if len(invs) != 4 {
		t.Fatalf("UpdateToken recorded %d invalidations, want 4: %+v", len(invs), invs)
	}
	for _, inv := range invs {
		if inv.TokenID != tok.ID || inv.UserID != alice.ID {
			t.Errorf("invalidation %+v, want token %d of user %d", inv, tok.ID, alice.ID)
		}
	}

	// Refused updates change nothing, the selection and the approval
	// included, and record no invalidation.
	saved := *tok
	saved.RepoIDs = slices.Clone(tok.RepoIDs)
	refuse := func(what string, k gatehouse.Kind, edit func(u *gatehouse.Token)) {
		t.Helper()
		u := saved
		u.RepoIDs = slices.Clone(saved.RepoIDs)
		u.Approval = gatehouse.TokenApproved
		edit(&u)
		wantKind(t, s.UpdateToken(ctx(t), &u), k, "UpdateToken with "+what)
	}
	refuse("a repository of another owner", gatehouse.Invalid, func(u *gatehouse.Token) { u.RepoIDs = []int64{r2.ID, foreign.ID} })
	refuse("a missing repository", gatehouse.NotFound, func(u *gatehouse.Token) { u.RepoIDs = []int64{r2.ID, foreign.ID + 1000} })
	refuse("another resource owner", gatehouse.Invalid, func(u *gatehouse.Token) { u.TargetID, u.RepoIDs = other.ID, []int64{foreign.ID} })
	refuse("the classic kind", gatehouse.Invalid, func(u *gatehouse.Token) {
		u.Kind, u.TargetID, u.Repos, u.RepoIDs, u.Permissions = gatehouse.ClassicToken, 0, "", nil, nil
		u.Approval, u.ReviewerID, u.ReviewedAt, u.ReviewReason, u.Description = "", 0, time.Time{}, "", ""
	})
	refuse("a taken name", gatehouse.Conflict, func(u *gatehouse.Token) { u.Note = "taken" })
	refuse("an unknown approval", gatehouse.Invalid, func(u *gatehouse.Token) { u.Approval = "maybe" })
	missing := saved
	missing.ID += 1000
	wantKind(t, s.UpdateToken(ctx(t), &missing), gatehouse.NotFound, "UpdateToken of a missing token")
	findBoth(t, s, &saved)
	invs, _, err = s.Invalidations(ctx(t), seq)
	must(t, err)
	if len(invs) != 0 {
		t.Errorf("refused updates recorded invalidations: %+v", invs)
	}

	// A classic token cannot become fine-grained either.
	classic := newToken(t, s, alice, "classic", "repo")
	up := *classic
	up.Kind, up.Scopes, up.TargetID, up.Repos = gatehouse.FineGrainedToken, []string{}, acme.ID, gatehouse.AllRepos
	wantKind(t, s.UpdateToken(ctx(t), &up), gatehouse.Invalid, "UpdateToken of a classic token to fine-grained")
	got, err := s.FindTokenByID(ctx(t), classic.ID)
	must(t, err)
	sameToken(t, got, classic)
}

func testListTokensFilters(t *testing.T, s orgStore) {
	owner := newUser(t, s, "owner")
	alice := newUser(t, s, "alice")
	bob := newUser(t, s, "bob")
	acme := newOrg(t, s, "acme", owner)
	beta := newOrg(t, s, "beta", owner)
	r1 := newRepo(t, s, acme, "one", false)
	r2 := newRepo(t, s, acme, "two", false)
	r3 := newRepo(t, s, acme, "three", false)

	withApproval := func(tok *gatehouse.Token, a gatehouse.TokenApproval) *gatehouse.Token {
		tok.Approval = a
		must(t, s.CreateToken(ctx(t), tok))
		return tok
	}
	aClassic := newToken(t, s, alice, "a classic", "repo")
	aPending := withApproval(fineGrained(alice, acme, "a pending", gatehouse.SelectedRepos, r1.ID, r2.ID, r3.ID), gatehouse.TokenPending)
	aMine := newFineGrained(t, s, alice, alice, "a mine", gatehouse.AllRepos)
	bClassic := newToken(t, s, bob, "b classic")
	bDenied := withApproval(fineGrained(bob, acme, "b denied", gatehouse.SelectedRepos, r2.ID), gatehouse.TokenDenied)
	bApproved := newFineGrained(t, s, bob, acme, "b approved", gatehouse.SelectedRepos, r3.ID, r1.ID)
	bBeta := withApproval(fineGrained(bob, beta, "b beta", gatehouse.PublicRepos), gatehouse.TokenPending)

	ids := func(ts []*gatehouse.Token) []int64 {
		out := []int64{}
		for _, tok := range ts {
			out = append(out, tok.ID)
		}
		return out
	}
	idsOf := func(ts ...*gatehouse.Token) []int64 { return ids(ts) }
	for _, c := range []struct {
		what string
		f    gatehouse.TokenFilter
		want []int64
	}{
		{"everything", gatehouse.TokenFilter{}, idsOf(aClassic, aPending, aMine, bClassic, bDenied, bApproved, bBeta)},
		{"classic", gatehouse.TokenFilter{Kind: gatehouse.ClassicToken, KindSet: true}, idsOf(aClassic, bClassic)},
		{"fine-grained", gatehouse.TokenFilter{Kind: gatehouse.FineGrainedToken, KindSet: true},
			idsOf(aPending, aMine, bDenied, bApproved, bBeta)},
		{"Kind without KindSet", gatehouse.TokenFilter{Kind: gatehouse.FineGrainedToken},
			idsOf(aClassic, aPending, aMine, bClassic, bDenied, bApproved, bBeta)},
		{"alice's fine-grained", gatehouse.TokenFilter{UserID: alice.ID, Kind: gatehouse.FineGrainedToken, KindSet: true},
			idsOf(aPending, aMine)},
		{"target acme", gatehouse.TokenFilter{TargetID: acme.ID}, idsOf(aPending, bDenied, bApproved)},
		{"target alice", gatehouse.TokenFilter{TargetID: alice.ID}, idsOf(aMine)},
		{"target acme, pending", gatehouse.TokenFilter{TargetID: acme.ID, Approval: gatehouse.TokenPending, ApprovalSet: true},
			idsOf(aPending)},
		{"pending", gatehouse.TokenFilter{Approval: gatehouse.TokenPending, ApprovalSet: true}, idsOf(aPending, bBeta)},
		{"denied", gatehouse.TokenFilter{Approval: gatehouse.TokenDenied, ApprovalSet: true}, idsOf(bDenied)},
		// Classic tokens have no approval, so they are not approved ones.
		{"approved", gatehouse.TokenFilter{Approval: gatehouse.TokenApproved, ApprovalSet: true}, idsOf(aMine, bApproved)},
		{"bob's approved for acme", gatehouse.TokenFilter{UserID: bob.ID, TargetID: acme.ID,
			Approval: gatehouse.TokenApproved, ApprovalSet: true}, idsOf(bApproved)},
		{"Approval without ApprovalSet", gatehouse.TokenFilter{UserID: bob.ID, Approval: gatehouse.TokenDenied},
			idsOf(bClassic, bDenied, bApproved, bBeta)},
		{"a missing target", gatehouse.TokenFilter{TargetID: beta.ID + 1000}, idsOf()},
	} {
		got, err := s.ListTokens(ctx(t), c.f, gatehouse.Page{})
		must(t, err)
		if !slices.Equal(ids(got), c.want) {
			t.Errorf("ListTokens(%s) = %v, want %v", c.what, ids(got), c.want)
		}
	}

	// Listings carry every field, selections included.
	got, err := s.ListTokens(ctx(t), gatehouse.TokenFilter{}, gatehouse.Page{})
	must(t, err)
	want := []*gatehouse.Token{aClassic, aPending, aMine, bClassic, bDenied, bApproved, bBeta}
	if len(got) == len(want) {
		for i := range got {
			sameToken(t, got[i], want[i])
		}
	}
	if len(got) == len(want) && !slices.Equal(got[5].RepoIDs, []int64{r1.ID, r3.ID}) {
		t.Errorf("RepoIDs of a listed token = %v, want them sorted", got[5].RepoIDs)
	}

	// Pages count tokens, not their selected repositories.
	for _, c := range []struct {
		page gatehouse.Page
		want []int64
	}{
		{gatehouse.Page{PerPage: 2}, idsOf(aClassic, aPending)},
		{gatehouse.Page{Page: 2, PerPage: 2}, idsOf(aMine, bClassic)},
		{gatehouse.Page{Page: 3, PerPage: 2}, idsOf(bDenied, bApproved)},
		{gatehouse.Page{Page: 4, PerPage: 2}, idsOf(bBeta)},
		{gatehouse.Page{Page: 5, PerPage: 2}, idsOf()},
	} {
		got, err := s.ListTokens(ctx(t), gatehouse.TokenFilter{}, c.page)
		must(t, err)
		if !slices.Equal(ids(got), c.want) {
			t.Errorf("ListTokens page %d of %d = %v, want %v", c.page.Page, c.page.PerPage, ids(got), c.want)
		}
	}
	got, err = s.ListTokens(ctx(t), gatehouse.TokenFilter{TargetID: acme.ID}, gatehouse.Page{Page: 2, PerPage: 1})
	must(t, err)
	if len(got) != 1 {
		t.Fatalf("ListTokens of acme, page 2 of 1 = %v", ids(got))
	}
	sameToken(t, got[0], bDenied)
}

func testDeleteRepoLeavesSelections(t *testing.T, s orgStore) {
	owner := newUser(t, s, "owner")
	alice := newUser(t, s, "alice")
	acme := newOrg(t, s, "acme", owner)
	r1 := newRepo(t, s, acme, "one", false)
	r2 := newRepo(t, s, acme, "two", false)
	r3 := newRepo(t, s, acme, "three", false)
	both := newFineGrained(t, s, alice, acme, "both", gatehouse.SelectedRepos, r1.ID, r2.ID)
	only := newFineGrained(t, s, alice, acme, "only", gatehouse.SelectedRepos, r1.ID)
	third := newFineGrained(t, s, alice, acme, "third", gatehouse.SelectedRepos, r3.ID)
	all := newFineGrained(t, s, alice, acme, "all", gatehouse.AllRepos)

	must(t, s.DeleteRepo(ctx(t), r1.ID))
	both.RepoIDs = []int64{r2.ID}
	findBoth(t, s, both)
	// A selection whose every repository went stays a selection, of
	// nothing: the token does not turn into one on all repositories.
	only.RepoIDs = []int64{}
	findBoth(t, s, only)
	findBoth(t, s, third)
	findBoth(t, s, all)
	got, err := s.FindTokenByID(ctx(t), only.ID)
	must(t, err)
	if got.Repos != gatehouse.SelectedRepos || got.RepoIDs == nil || len(got.RepoIDs) != 0 {
		t.Errorf("token whose selected repository was deleted = %+v, want an empty selection", got)
	}
	listed, err := s.ListTokens(ctx(t), gatehouse.TokenFilter{UserID: alice.ID}, gatehouse.Page{})
	must(t, err)
	if len(listed) == 4 {
		for i, want := range []*gatehouse.Token{both, only, third, all} {
			sameToken(t, listed[i], want)
		}
	} else {
		t.Errorf("ListTokens after DeleteRepo = %d tokens, want 4", len(listed))
	}

	// A repository created under the same name is not selected by the
	// tokens that selected the deleted one.
	again := newRepo(t, s, acme, "one", false)
	got, err = s.FindTokenByID(ctx(t), both.ID)
	must(t, err)
	if got.Selects(again) {
		t.Errorf("the new %s is selected by a token that selected the deleted one", again.FullName())
	}
	// The emptied token can still be saved, and given a selection again.
	only.Approval = gatehouse.TokenPending
	must(t, s.UpdateToken(ctx(t), only))
	findBoth(t, s, only)
	only.RepoIDs = []int64{again.ID}
	must(t, s.UpdateToken(ctx(t), only))
	findBoth(t, s, only)
}

func testClassicTokensUnchanged(t *testing.T, s orgStore) {
	owner := newUser(t, s, "owner")
	acme := newOrg(t, s, "acme", owner)
	r := newRepo(t, s, acme, "r", false)
	newFineGrained(t, s, owner, acme, "fine", gatehouse.SelectedRepos, r.ID)

	classic := newToken(t, s, owner, "classic", "read:org", "repo")
	check := func(got *gatehouse.Token, what string) {
		t.Helper()
		sameToken(t, got, classic)
		if got.Kind != gatehouse.ClassicToken || got.FineGrained() || got.Repos != "" || got.RepoIDs != nil ||
			len(got.Permissions) != 0 || got.TargetID != 0 || got.Description != "" ||
			got.Approval != gatehouse.TokenApproved || got.ReviewerID != 0 || !got.ReviewedAt.IsZero() ||
			got.ReviewReason != "" {
			t.Errorf("%s: classic token reads back with fine-grained fields: %+v", what, got)
		}
		if got.Selects(r) {
			t.Errorf("%s: a classic token selects %s", what, r.FullName())
		}
	}
	got, err := s.FindTokenByHash(ctx(t), classic.Hash)
	must(t, err)
	check(got, "FindTokenByHash")
	got, err = s.FindTokenByID(ctx(t), classic.ID)
	must(t, err)
	check(got, "FindTokenByID")
	list, err := s.ListTokens(ctx(t), gatehouse.TokenFilter{UserID: owner.ID, Kind: gatehouse.ClassicToken, KindSet: true}, gatehouse.Page{})
	must(t, err)
	if len(list) != 1 {
		t.Fatalf("ListTokens of classic tokens = %d tokens, want 1", len(list))
	}
	check(list[0], "ListTokens")

	classic.Note, classic.Scopes = "renamed", []string{"repo"}
	must(t, s.UpdateToken(ctx(t), classic))
	got, err = s.FindTokenByID(ctx(t), classic.ID)
	must(t, err)
	check(got, "FindTokenByID after UpdateToken")
}

func testTokenPolicy(t *testing.T, s orgStore) {
	owner := newUser(t, s, "owner")
	acme := newOrg(t, s, "acme", owner)
	beta := newOrg(t, s, "beta", owner)

	p, err := s.TokenPolicy(ctx(t), acme.ID)
	must(t, err)
	if p != gatehouse.DefaultTokenPolicy(acme.ID) {
		t.Errorf("TokenPolicy of a new organization = %+v, want the default %+v", p, gatehouse.DefaultTokenPolicy(acme.ID))
	}

	set := gatehouse.TokenPolicy{OrgID: acme.ID, RestrictClassic: true, MaxFineGrainedDays: 90}
	must(t, s.SetTokenPolicy(ctx(t), set))
	p, err = s.TokenPolicy(ctx(t), acme.ID)
	must(t, err)
	if p != set {
		t.Errorf("TokenPolicy after SetTokenPolicy = %+v, want %+v", p, set)
	}
	// Saving again replaces the whole policy.
	set = gatehouse.TokenPolicy{OrgID: acme.ID, RestrictFineGrained: true, RequireApproval: true, MaxClassicDays: 30}
	must(t, s.SetTokenPolicy(ctx(t), set))
	p, err = s.TokenPolicy(ctx(t), acme.ID)
	must(t, err)
	if p != set {
		t.Errorf("TokenPolicy after a second SetTokenPolicy = %+v, want %+v", p, set)
	}
	// Another organization keeps its own.
	p, err = s.TokenPolicy(ctx(t), beta.ID)
	must(t, err)
	if p != gatehouse.DefaultTokenPolicy(beta.ID) {
		t.Errorf("TokenPolicy of another organization = %+v, want the default", p)
	}
	// The default can be saved too, and is then no different.
	must(t, s.SetTokenPolicy(ctx(t), gatehouse.TokenPolicy{OrgID: beta.ID}))
	p, err = s.TokenPolicy(ctx(t), beta.ID)
	must(t, err)
	if p != (gatehouse.TokenPolicy{OrgID: beta.ID}) {
		t.Errorf("TokenPolicy after saving every field off = %+v", p)
	}

	_, err = s.TokenPolicy(ctx(t), owner.ID)
	wantKind(t, err, gatehouse.NotFound, "TokenPolicy of a person")
	_, err = s.TokenPolicy(ctx(t), beta.ID+1000)
	wantKind(t, err, gatehouse.NotFound, "TokenPolicy of a missing organization")
	wantKind(t, s.SetTokenPolicy(ctx(t), gatehouse.TokenPolicy{OrgID: owner.ID}), gatehouse.NotFound,
		"SetTokenPolicy of a person")
	wantKind(t, s.SetTokenPolicy(ctx(t), gatehouse.TokenPolicy{OrgID: beta.ID + 1000}), gatehouse.NotFound,
		"SetTokenPolicy of a missing organization")
	wantKind(t, s.SetTokenPolicy(ctx(t), gatehouse.TokenPolicy{OrgID: acme.ID, MaxClassicDays: -1}), gatehouse.Invalid,
		"SetTokenPolicy with a negative bound")
	wantKind(t, s.SetTokenPolicy(ctx(t), gatehouse.TokenPolicy{OrgID: acme.ID, MaxFineGrainedDays: -30}), gatehouse.Invalid,
		"SetTokenPolicy with a negative bound")
	p, err = s.TokenPolicy(ctx(t), acme.ID)
	must(t, err)
	if p != set {
		t.Errorf("TokenPolicy after refused saves = %+v, want %+v", p, set)
	}
}
