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
