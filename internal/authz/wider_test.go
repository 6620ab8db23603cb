package authz

import (
	"testing"

	"github.com/gatehouse/gatehouse"
)

func TestWider(t *testing.T) {
	fg := func(repos gatehouse.RepoAccess, ids []int64, perms map[string]int) *gatehouse.Token {
		return &gatehouse.Token{Kind: gatehouse.FineGrainedToken, Repos: repos, RepoIDs: ids, Permissions: perms}
	}
	read, write := map[string]int{"contents": 1}, map[string]int{"contents": 2}
	for _, c := range []struct {
		name        string
		old, change *gatehouse.Token
		wider       bool
	}{
		{"the same", fg(gatehouse.SelectedRepos, []int64{1, 2}, read), fg(gatehouse.SelectedRepos, []int64{2, 1}, read), false},
		{"a permission raised", fg(gatehouse.PublicRepos, nil, read), fg(gatehouse.PublicRepos, nil, write), true},
		{"a permission added", fg(gatehouse.PublicRepos, nil, read), fg(gatehouse.PublicRepos, nil, map[string]int{"contents": 1, "metadata": 1}), true},
		{"a permission lowered", fg(gatehouse.AllRepos, nil, write), fg(gatehouse.AllRepos, nil, read), false},
		{"a permission removed", fg(gatehouse.AllRepos, nil, write), fg(gatehouse.AllRepos, nil, map[string]int{}), false},
		{"a repository added", fg(gatehouse.SelectedRepos, []int64{1}, read), fg(gatehouse.SelectedRepos, []int64{1, 3}, read), true},
		{"a repository removed", fg(gatehouse.SelectedRepos, []int64{1, 3}, read), fg(gatehouse.SelectedRepos, []int64{3}, read), false},
		{"another repository", fg(gatehouse.SelectedRepos, []int64{1}, read), fg(gatehouse.SelectedRepos, []int64{2}, read), true},
		{"selected to all", fg(gatehouse.SelectedRepos, []int64{1}, read), fg(gatehouse.AllRepos, nil, read), true},
		{"public to selected", fg(gatehouse.PublicRepos, nil, read), fg(gatehouse.SelectedRepos, []int64{1}, read), true},
		{"public to all", fg(gatehouse.PublicRepos, nil, read), fg(gatehouse.AllRepos, nil, read), true},
		{"all to selected", fg(gatehouse.AllRepos, nil, read), fg(gatehouse.SelectedRepos, []int64{1}, read), false},
		{"all to public", fg(gatehouse.AllRepos, nil, read), fg(gatehouse.PublicRepos, nil, read), false},
		{"narrower repositories, wider permission", fg(gatehouse.AllRepos, nil, read), fg(gatehouse.SelectedRepos, []int64{1}, write), true},
	} {
		if got := Wider(c.old, c.change); got != c.wider {
			t.Errorf("%s: Wider = %v, want %v", c.name, got, c.wider)
		}
	}
}

func TestApprovalAfterChange(t *testing.T) {
	tok := func(a gatehouse.TokenApproval, perms map[string]int) *gatehouse.Token {
		return &gatehouse.Token{Kind: gatehouse.FineGrainedToken, Repos: gatehouse.AllRepos, Approval: a, Permissions: perms}
	}
	read, write := map[string]int{"contents": 1}, map[string]int{"contents": 2}
	for _, c := range []struct {
		name        string
		old, change *gatehouse.Token
		needsReview bool
		want        gatehouse.TokenApproval
		review      bool
		err         error
	}{
		{"approved, narrower", tok(gatehouse.TokenApproved, write), tok("", read), true, gatehouse.TokenApproved, false, nil},
		{"approved, wider", tok(gatehouse.TokenApproved, read), tok("", write), true, gatehouse.TokenPending, true, nil},
		{"pending, narrower", tok(gatehouse.TokenPending, write), tok("", read), true, gatehouse.TokenPending, false, nil},
		{"pending, wider", tok(gatehouse.TokenPending, read), tok("", write), true, "", false, ErrPendingWider},
		{"denied, narrower", tok(gatehouse.TokenDenied, write), tok("", read), true, gatehouse.TokenPending, true, nil},
		{"denied, no review needed", tok(gatehouse.TokenDenied, read), tok("", write), false, gatehouse.TokenApproved, false, nil},
		{"approved, no review needed", tok(gatehouse.TokenApproved, read), tok("", write), false, gatehouse.TokenApproved, false, nil},
	} {
		got, review, err := ApprovalAfterChange(c.old, c.change, c.needsReview)
		if got != c.want || review != c.review || err != c.err {
			t.Errorf("%s: %q, review %v, %v; want %q, %v, %v", c.name, got, review, err, c.want, c.review, c.err)
		}
	}
	org := &gatehouse.User{IsOrg: true}
	p := gatehouse.TokenPolicy{RequireApproval: true}
	if !NeedsApproval(org, gatehouse.OrgMember, p) || NeedsApproval(org, gatehouse.OrgOwner, p) ||
		NeedsApproval(&gatehouse.User{}, "", p) || NeedsApproval(org, gatehouse.OrgMember, gatehouse.TokenPolicy{}) {
		t.Error("NeedsApproval")
	}
}
