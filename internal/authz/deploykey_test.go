package authz_test

import (
	"testing"

	"github.com/gatehouse/gatehouse"
	"github.com/gatehouse/gatehouse/internal/authz"
)

func TestDeployKeyRepo(t *testing.T) {
	own := &gatehouse.Repo{ID: 1, Owner: "alice", Name: "app", Private: true}
	other := &gatehouse.Repo{ID: 2, Owner: "alice", Name: "open"}
	ro := &gatehouse.Actor{DeployKey: &gatehouse.DeployKey{ID: 7, RepoID: 1, Title: "ci", ReadOnly: true}}
	rw := &gatehouse.Actor{DeployKey: &gatehouse.DeployKey{ID: 8, RepoID: 1, Title: "deploy"}}
	user := &gatehouse.Actor{User: &gatehouse.User{ID: 1, Login: "alice"}}
	for _, c := range []struct {
		name   string
		actor  *gatehouse.Actor
		repo   *gatehouse.Repo
		action authz.Action
		want   gatehouse.Kind // -1: allowed
	}{
		{"read-only reads its repository", ro, own, authz.Read, -1},
		{"read-only cannot push", ro, own, authz.Write, gatehouse.Forbidden},
		{"read-only cannot administer", ro, own, authz.Admin, gatehouse.Forbidden},
		{"read-write pushes", rw, own, authz.Write, -1},
		{"read-write cannot administer", rw, own, authz.Admin, gatehouse.Forbidden},
		{"another repository, even public, does not exist", rw, other, authz.Read, gatehouse.NotFound},
		{"another repository cannot be pushed", rw, other, authz.Write, gatehouse.NotFound},
		{"a missing repository", rw, nil, authz.Read, gatehouse.NotFound},
		{"not a deploy key", user, own, authz.Read, gatehouse.Forbidden},
		{"nil actor", nil, own, authz.Read, gatehouse.Forbidden},
	} {
		err := authz.DeployKeyRepo(c.actor, c.repo, c.action)
		switch {
		case c.want == -1 && err != nil:
			t.Errorf("%s: %v, want allowed", c.name, err)
		case c.want != -1 && !gatehouse.IsKind(err, c.want):
			t.Errorf("%s: %v, want %v", c.name, err, c.want)
		}
	}
	if err := authz.DeployKeyRepo(ro, own, authz.Write); err == nil || gatehouse.ErrorMessage(err) == "" {
		t.Errorf("read-only refusal has no message: %v", err)
	}
}

// A deploy key is an anonymous client to every rule that does not know
// it: it gains nothing by reaching a use case other than git.
func TestDeployKeyIsLeastPrivilegedElsewhere(t *testing.T) {
	rw := &gatehouse.Actor{DeployKey: &gatehouse.DeployKey{ID: 8, RepoID: 1}}
	priv := &gatehouse.Repo{ID: 1, Owner: "alice", Name: "app", Private: true}
	if err := authz.SiteAdmin(rw); err == nil {
		t.Error("a deploy key is a site admin")
	}
	if err := authz.ManageKeys(rw, 1); err == nil {
		t.Error("a deploy key manages keys")
	}
	if authz.HasScope(rw, "repo") {
		t.Error("a deploy key has the repo scope")
	}
	// Role and Repo hand deploy keys to their own rule: whatever grants
	// the key's repository has, the key holds exactly what it was given.
	if r := authz.Role(rw, priv, gatehouse.Grants{OrgRole: gatehouse.OrgOwner}); r != gatehouse.PermWrite {
		t.Errorf("Role of a read-write deploy key = %v, want write", r)
	}
	if err := authz.Repo(rw, priv, gatehouse.PermAdmin, authz.Admin.Need(), nil, false); !gatehouse.IsKind(err, gatehouse.Forbidden) {
		t.Errorf("a deploy key administering its repository: %v", err)
	}
	other := &gatehouse.Repo{ID: 2, Owner: "alice", Name: "other"}
	if err := authz.Repo(rw, other, gatehouse.PermRead, authz.Read.Need(), nil, false); !gatehouse.IsKind(err, gatehouse.NotFound) {
		t.Errorf("a deploy key reading another public repository: %v", err)
	}
	if r := authz.DeployKeyRole(rw.DeployKey, priv); r != gatehouse.PermWrite {
		t.Errorf("DeployKeyRole = %v, want write", r)
	}
}
