package service

import (
	"context"
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/gatehouse/gatehouse"
	"github.com/gatehouse/gatehouse/internal/authz"
)

// TeamChange describes a team to create or the settings to change; nil
// fields stay (Name is required to create).
type TeamChange struct {
	Name        *string
	Description *string
	// Privacy is "closed" (default) or "secret".
	Privacy *string
}

func checkTeam(op string, t *gatehouse.Team, c TeamChange) error {
	if c.Name != nil {
		name := strings.TrimSpace(*c.Name)
		slug := gatehouse.Slugify(name)
		if name == "" || slug == "" || utf8.RuneCountInString(name) > 100 {
			return &gatehouse.Error{Op: op, Kind: gatehouse.Invalid, Field: "name", Msg: "a team needs a name of 1 to 100 characters with at least one letter or digit"}
		}
		t.Name, t.Slug = name, slug
	}
	if c.Description != nil {
		t.Description = strings.TrimSpace(*c.Description)
		if err := checkDescription(op, t.Description); err != nil {
			return err
		}
	}
	if c.Privacy != nil {
		switch *c.Privacy {
		case "closed", "secret":
			t.Privacy = *c.Privacy
		default:
			return &gatehouse.Error{Op: op, Kind: gatehouse.Invalid, Field: "privacy", Msg: "privacy must be closed or secret"}
		}
	}
	if t.Privacy == "" {
		t.Privacy = "closed"
	}
	return nil
}

// CreateTeam creates a team in org (authz.ManageTeams). The creator is
// not added to it. Errors: Invalid, Conflict (a team of that slug),
// Forbidden, NotFound.
func (s *Service) CreateTeam(ctx context.Context, actor *gatehouse.Actor, org *gatehouse.User, c TeamChange) (*gatehouse.Team, error) {
	const op = "create team"
	role, err := s.OrgRole(ctx, actor, org)
	if err != nil {
		return nil, err
	}
	if err := authz.ManageTeams(actor, role); err != nil {
		return nil, err
	}
	if c.Name == nil {
		return nil, &gatehouse.Error{Op: op, Kind: gatehouse.Invalid, Field: "name", Msg: "a team needs a name"}
	}
	t := &gatehouse.Team{OrgID: org.ID, Org: org.Login}
	if err := checkTeam(op, t, c); err != nil {
		return nil, err
	}
	if err := s.orgs.CreateTeam(ctx, t); err != nil {
		return nil, err
	}
	s.record(ctx, actor, gatehouse.AuditEvent{Action: gatehouse.AuditTeamCreate, Note: org.Login + "/" + t.Slug})
	return t, nil
}

// Team returns org's team named by slug if the actor may see it
// (authz.SeeTeam), with the actor's role in org and in the team. Errors:
// NotFound.
func (s *Service) Team(ctx context.Context, actor *gatehouse.Actor, org *gatehouse.User, slug string) (*gatehouse.Team, error) {
	t, _, _, err := s.team(ctx, actor, org, slug)
	return t, err
}

func (s *Service) team(ctx context.Context, actor *gatehouse.Actor, org *gatehouse.User, slug string) (*gatehouse.Team, gatehouse.OrgRole, gatehouse.TeamRole, error) {
	const op = "find team"
	role, err := s.OrgRole(ctx, actor, org)
	if err != nil {
		return nil, "", "", err
	}
	t, err := s.orgs.FindTeam(ctx, org.ID, strings.ToLower(slug))
	if err != nil {
		return nil, "", "", err
	}
	var tr gatehouse.TeamRole
	if actor.UserID() != 0 {
		if tr, err = s.orgs.TeamMembership(ctx, t.ID, actor.UserID()); err != nil {
			return nil, "", "", err
		}
	}
	if !authz.SeeTeam(actor, role, t, tr) {
		return nil, "", "", gatehouse.E(op, gatehouse.NotFound, "Not Found")
	}
	return t, role, tr, nil
}

// ListTeams returns the teams of org the actor may see (none for
// outsiders).
func (s *Service) ListTeams(ctx context.Context, actor *gatehouse.Actor, org *gatehouse.User, page gatehouse.Page) ([]*gatehouse.Team, error) {
	role, err := s.OrgRole(ctx, actor, org)
	if err != nil {
		return nil, err
	}
	if !authz.SeeMembers(actor, role) {
		return []*gatehouse.Team{}, nil
	}
	all, err := s.orgs.ListTeams(ctx, org.ID, page)
	if err != nil {
		return nil, err
	}
	out := all[:0]
	for _, t := range all {
		var tr gatehouse.TeamRole
		if !authz.SeeTeam(actor, role, t, "") {
			// Only a secret team can be hidden here: ask whether the
			// actor belongs to it.
			if tr, err = s.orgs.TeamMembership(ctx, t.ID, actor.UserID()); err != nil {
				return nil, err
			}
		}
		if authz.SeeTeam(actor, role, t, tr) {
			out = append(out, t)
		}
	}
	return out, nil
}

// ListUserTeams returns the teams the actor belongs to, in every
// organization (read:org for a token).
func (s *Service) ListUserTeams(ctx context.Context, actor *gatehouse.Actor, page gatehouse.Page) ([]*gatehouse.Team, error) {
	if actor.UserID() == 0 {
		return nil, gatehouse.E("list teams", gatehouse.Unauthenticated, authz.MsgAuthRequired)
	}
	ts, err := s.orgs.ListUserTeams(ctx, actor.UserID(), page)
	if err != nil || actor.Token == nil {
		return ts, err
	}
	// A token sees the teams of the organizations it may act on (a
	// fine-grained one only with members: read).
	out := ts[:0:0]
	reach := map[int64]bool{}
	for _, t := range ts {
		ok, seen := reach[t.OrgID]
		if !seen {
			org, err := s.store.FindUserByID(ctx, t.OrgID)
			if err != nil {
				return nil, err
			}
			role, err := s.OrgRole(ctx, actor, org)
			if err != nil && !gatehouse.IsKind(err, gatehouse.Forbidden) {
				return nil, err
			}
			ok = err == nil && role != "" && (!actor.Token.FineGrained() || authz.Allows(actor, "read:org", authz.MembersRead))
			reach[t.OrgID] = ok
		}
		if ok {
			out = append(out, t)
		}
	}
	return out, nil
}

// UpdateTeam changes a team (authz.ManageTeams). Errors: NotFound,
// Forbidden, Invalid, Conflict.
func (s *Service) UpdateTeam(ctx context.Context, actor *gatehouse.Actor, org *gatehouse.User, slug string, c TeamChange) (*gatehouse.Team, error) {
	t, role, _, err := s.team(ctx, actor, org, slug)
	if err != nil {
		return nil, err
	}
	if err := authz.ManageTeams(actor, role); err != nil {
		return nil, err
	}
	next := *t
	if err := checkTeam("update team", &next, c); err != nil {
		return nil, err
	}
	if err := s.orgs.UpdateTeam(ctx, &next); err != nil {
		return nil, err
	}
	s.record(ctx, actor, gatehouse.AuditEvent{Action: gatehouse.AuditTeamUpdate, Note: org.Login + "/" + next.Slug})
	return &next, nil
}

// DeleteTeam deletes a team, its memberships and grants
// (authz.ManageTeams). Errors: NotFound, Forbidden.
func (s *Service) DeleteTeam(ctx context.Context, actor *gatehouse.Actor, org *gatehouse.User, slug string) error {
	t, role, _, err := s.team(ctx, actor, org, slug)
	if err != nil {
		return err
	}
	if err := authz.ManageTeams(actor, role); err != nil {
		return err
	}
	if err := s.orgs.DeleteTeam(ctx, t.ID); err != nil {
		return err
	}
	s.record(ctx, actor, gatehouse.AuditEvent{Action: gatehouse.AuditTeamDestroy, Note: org.Login + "/" + t.Slug})
	return nil
}

// ListTeamMembers returns a team's members, for those who may see it.
func (s *Service) ListTeamMembers(ctx context.Context, actor *gatehouse.Actor, org *gatehouse.User, slug string, page gatehouse.Page) ([]gatehouse.TeamMembership, error) {
	t, _, _, err := s.team(ctx, actor, org, slug)
	if err != nil {
		return nil, err
	}
	return s.orgs.ListTeamMembers(ctx, t.ID, page)
}

// TeamMembership returns login's membership of a team. Errors: NotFound.
func (s *Service) TeamMembership(ctx context.Context, actor *gatehouse.Actor, org *gatehouse.User, slug, login string) (*gatehouse.TeamMembership, error) {
	t, _, _, err := s.team(ctx, actor, org, slug)
	if err != nil {
		return nil, err
	}
	u, err := s.store.FindUserByLogin(ctx, login)
	if err != nil {
		return nil, err
	}
	role, err := s.orgs.TeamMembership(ctx, t.ID, u.ID)
	if err != nil {
		return nil, err
	}
	if role == "" {
		return nil, gatehouse.E("find team membership", gatehouse.NotFound, "Not Found")
	}
	return &gatehouse.TeamMembership{User: u, Role: role}, nil
}

// SetTeamMembership adds login to a team with role, or changes the role
// (authz.ManageTeamMembers: an owner, or a maintainer of the team). As on
// GitHub, an owner adding someone who is not yet a member of the
// organization adds them to it too. Errors: NotFound, Forbidden, Invalid.
func (s *Service) SetTeamMembership(ctx context.Context, actor *gatehouse.Actor, org *gatehouse.User, slug, login string, role gatehouse.TeamRole) (*gatehouse.TeamMembership, error) {
	const op = "set team membership"
	t, orgRole, teamRole, err := s.team(ctx, actor, org, slug)
	if err != nil {
		return nil, err
	}
	if err := authz.ManageTeamMembers(actor, orgRole, teamRole); err != nil {
		return nil, err
	}
	u, err := s.store.FindUserByLogin(ctx, login)
	if err != nil {
		if gatehouse.IsKind(err, gatehouse.NotFound) {
			return nil, gatehouse.Errorf(op, gatehouse.NotFound, "no user named %q", login)
		}
		return nil, err
	}
	if u.IsOrg {
		return nil, &gatehouse.Error{Op: op, Kind: gatehouse.Invalid, Field: "username", Msg: "An organization cannot be a team member."}
	}
	member, err := s.orgs.Membership(ctx, org.ID, u.ID)
	if err != nil {
		return nil, err
	}
	if member == "" {
		if err := authz.ManageMembers(actor, orgRole); err != nil {
			return nil, &gatehouse.Error{Op: op, Kind: gatehouse.Invalid, Field: "username",
				Msg: fmt.Sprintf("%s is not a member of %s; an owner must add them first.", u.Login, org.Login)}
		}
		if _, err := s.SetMembership(ctx, actor, org, u.Login, gatehouse.OrgMember); err != nil {
			return nil, err
		}
	}
	old, err := s.orgs.TeamMembership(ctx, t.ID, u.ID)
	if err != nil {
		return nil, err
	}
	if old != role {
		if err := s.orgs.SetTeamMembership(ctx, t.ID, u.ID, role); err != nil {
			return nil, err
		}
		action := gatehouse.AuditTeamUpdateMember
		if old == "" {
			action = gatehouse.AuditTeamAddMember
		}
		s.record(ctx, actor, gatehouse.AuditEvent{Action: action, UserID: u.ID, Note: org.Login + "/" + t.Slug, Detail: "role=" + string(role)})
	}
	return &gatehouse.TeamMembership{User: u, Role: role}, nil
}

// RemoveTeamMember removes login from a team (an owner, a maintainer, or
// the member leaving). Errors: NotFound, Forbidden.
func (s *Service) RemoveTeamMember(ctx context.Context, actor *gatehouse.Actor, org *gatehouse.User, slug, login string) error {
	t, orgRole, teamRole, err := s.team(ctx, actor, org, slug)
	if err != nil {
		return err
	}
	u, err := s.store.FindUserByLogin(ctx, login)
	if err != nil {
		return err
	}
	if err := authz.RemoveTeamMember(actor, orgRole, teamRole, u); err != nil {
		return err
	}
	if err := s.orgs.RemoveTeamMembership(ctx, t.ID, u.ID); err != nil {
		return err
	}
	s.record(ctx, actor, gatehouse.AuditEvent{Action: gatehouse.AuditTeamRemoveMember, UserID: u.ID, Note: org.Login + "/" + t.Slug})
	return nil
}

// ListTeamRepos returns the team's grants that the actor may see: the
// repositories it can read itself.
func (s *Service) ListTeamRepos(ctx context.Context, actor *gatehouse.Actor, org *gatehouse.User, slug string, page gatehouse.Page) ([]gatehouse.TeamRepo, error) {
	t, _, _, err := s.team(ctx, actor, org, slug)
	if err != nil {
		return nil, err
	}
	all, err := s.orgs.ListTeamRepos(ctx, t.ID, page)
	if err != nil {
		return nil, err
	}
	out := all[:0]
	for _, tr := range all {
		if _, err := s.authorizeFor(ctx, actor, tr.Repo, authz.Need{Action: authz.Read, Perm: authz.MetadataRead}); err == nil {
			out = append(out, tr)
		}
	}
	return out, nil
}

// TeamRepoPermission returns the team's grant on owner/name (PermNone for
// none). Errors: NotFound (team or repository).
func (s *Service) TeamRepoPermission(ctx context.Context, actor *gatehouse.Actor, org *gatehouse.User, slug, owner, name string) (*gatehouse.Repo, gatehouse.Permission, error) {
	t, _, _, err := s.team(ctx, actor, org, slug)
	if err != nil {
		return nil, 0, err
	}
	repo, _, err := s.Repo(ctx, actor, owner, name, authz.Read)
	if err != nil {
		return nil, 0, err
	}
	p, err := s.orgs.TeamRepoPermission(ctx, t.ID, repo.ID)
	return repo, p, err
}

// SetTeamRepo grants a team p on one of the organization's repositories
// (PermNone removes the grant; authz.ManageTeams). Errors: NotFound,
// Forbidden, Invalid (a repository of another owner).
func (s *Service) SetTeamRepo(ctx context.Context, actor *gatehouse.Actor, org *gatehouse.User, slug, owner, name string, p gatehouse.Permission) error {
	const op = "set team repository"
	t, role, _, err := s.team(ctx, actor, org, slug)
	if err != nil {
		return err
	}
	if err := authz.ManageTeams(actor, role); err != nil {
		return err
	}
	repo, _, err := s.Repo(ctx, actor, owner, name, authz.Read)
	if err != nil {
		return err
	}
	if repo.OwnerID != org.ID {
		return &gatehouse.Error{Op: op, Kind: gatehouse.Invalid, Field: "repo",
			Msg: fmt.Sprintf("%s does not belong to %s: teams are granted their organization's repositories only", repo.FullName(), org.Login)}
	}
	old, err := s.orgs.TeamRepoPermission(ctx, t.ID, repo.ID)
	if err != nil {
		return err
	}
	if old == p {
		return nil
	}
	if err := s.orgs.SetTeamRepo(ctx, t.ID, repo.ID, p); err != nil {
		return err
	}
	action := gatehouse.AuditTeamUpdateRepository
	switch {
	case p == gatehouse.PermNone:
		action = gatehouse.AuditTeamRemoveRepository
	case old == gatehouse.PermNone:
		action = gatehouse.AuditTeamAddRepository
	}
	s.record(ctx, actor, gatehouse.AuditEvent{Action: action, Note: org.Login + "/" + t.Slug, Detail: "repo=" + repo.FullName() + " permission=" + p.String()})
	return nil
}
