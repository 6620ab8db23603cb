package service

import (
	"context"
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/gatehouse/gatehouse"
	"github.com/gatehouse/gatehouse/internal/authz"
)

// NewOrg describes an organization to create.
type NewOrg struct {
	Login string
	Name  string // profile name
	Email string // billing or contact address, optional
	// Owner is the login of its first owner; "" means the acting user.
	Owner string
}

// CreateOrg creates an organization with its first owner (authz.CreateOrg:
// site administration, or any user in the web UI unless the instance
// keeps it to site admins). Errors: Invalid, Conflict (login taken by a
// user or an organization), NotFound (owner), Forbidden.
func (s *Service) CreateOrg(ctx context.Context, actor *gatehouse.Actor, no NewOrg) (*gatehouse.User, error) {
	const op = "create organization"
	if err := authz.CreateOrg(actor, !s.noUserOrgs); err != nil {
		return nil, err
	}
	switch {
	case !gatehouse.ValidLogin(no.Login):
		return nil, &gatehouse.Error{Op: op, Kind: gatehouse.Invalid, Field: "login",
			Msg: fmt.Sprintf("invalid organization name %q: use 1-39 letters, digits or single hyphens, not starting or ending with a hyphen", no.Login)}
	case gatehouse.ReservedLogin(no.Login):
		return nil, &gatehouse.Error{Op: op, Kind: gatehouse.Invalid, Field: "login",
			Msg: fmt.Sprintf("the name %q is reserved for one of the server's own pages", no.Login)}
	}
	no.Name, no.Email = strings.TrimSpace(no.Name), strings.TrimSpace(no.Email)
	if utf8.RuneCountInString(no.Name) > 100 {
		return nil, &gatehouse.Error{Op: op, Kind: gatehouse.Invalid, Field: "profile_name", Msg: "the name is too long (at most 100 characters)"}
	}
	if no.Email != "" && !validEmail(no.Email) {
		return nil, &gatehouse.Error{Op: op, Kind: gatehouse.Invalid, Field: "email", Msg: fmt.Sprintf("invalid email address %q", no.Email)}
	}
	owner := actor.User
	if no.Owner != "" || owner == nil {
		u, err := s.store.FindUserByLogin(ctx, no.Owner)
		if err != nil || u.IsOrg || u.Suspended {
			if err == nil || gatehouse.IsKind(err, gatehouse.NotFound) {
				return nil, &gatehouse.Error{Op: op, Kind: gatehouse.NotFound, Field: "admin", Msg: fmt.Sprintf("no user named %q", no.Owner)}
			}
			return nil, err
		}
		if owner != nil && u.ID != owner.ID && authz.SiteAdmin(actor) != nil {
			return nil, gatehouse.E(op, gatehouse.Forbidden, "Only site administrators create organizations for someone else.")
		}
		owner = u
	}
	org := &gatehouse.User{Login: no.Login, Name: no.Name, Email: no.Email, IsOrg: true, BasePermission: gatehouse.PermRead}
	if err := s.orgs.CreateOrg(ctx, org, owner.ID); err != nil {
		return nil, err
	}
	s.record(ctx, actor, gatehouse.AuditEvent{Action: gatehouse.AuditOrgCreate, UserID: owner.ID, Note: org.Login, Detail: "role=admin"})
	return org, nil
}

// FindOrg returns the organization named login. Errors: NotFound (also
// for a user's login), Unauthenticated (private mode).
func (s *Service) FindOrg(ctx context.Context, actor *gatehouse.Actor, login string) (*gatehouse.User, error) {
	u, err := s.FindUser(ctx, actor, login)
	if err != nil {
		return nil, err
	}
	if !u.IsOrg {
		return nil, gatehouse.Errorf("find organization", gatehouse.NotFound, "no organization named %q", login)
	}
	return u, nil
}

// OrgRole returns the actor's role in org ("" for none).
func (s *Service) OrgRole(ctx context.Context, actor *gatehouse.Actor, org *gatehouse.User) (gatehouse.OrgRole, error) {
	if actor.UserID() == 0 || !org.IsOrg {
		return "", nil
	}
	role, err := s.orgs.Membership(ctx, org.ID, actor.UserID())
	if err != nil || role == "" || actor.Token == nil {
		return role, err
	}
	p, err := s.orgs.TokenPolicy(ctx, org.ID)
	if err != nil {
		return "", err
	}
	return authz.OrgAccess(actor, org, role, &p)
}

// OrgChange lists the organization settings to change; nil fields stay.
type OrgChange struct {
	Name           *string
	Email          *string
	Description    *string
	BasePermission *gatehouse.Permission
}

// UpdateOrg changes an organization's profile and base permission
// (authz.EditOrg). Errors: NotFound, Forbidden, Invalid.
func (s *Service) UpdateOrg(ctx context.Context, actor *gatehouse.Actor, org *gatehouse.User, c OrgChange) error {
	const op = "update organization"
	role, err := s.OrgRole(ctx, actor, org)
	if err != nil {
		return err
	}
	if err := authz.EditOrg(actor, role); err != nil {
		return err
	}
	next := *org
	if c.Name != nil {
		next.Name = strings.TrimSpace(*c.Name)
		if utf8.RuneCountInString(next.Name) > 100 {
			return &gatehouse.Error{Op: op, Kind: gatehouse.Invalid, Field: "name", Msg: "the name is too long (at most 100 characters)"}
		}
	}
	if c.Email != nil {
		next.Email = strings.TrimSpace(*c.Email)
		if next.Email != "" && !validEmail(next.Email) {
			return &gatehouse.Error{Op: op, Kind: gatehouse.Invalid, Field: "email", Msg: fmt.Sprintf("invalid email address %q", next.Email)}
		}
	}
	if c.Description != nil {
		next.Description = strings.TrimSpace(*c.Description)
		if err := checkDescription(op, next.Description); err != nil {
			return err
		}
	}
	if c.BasePermission != nil {
		if *c.BasePermission < gatehouse.PermNone || *c.BasePermission > gatehouse.PermAdmin {
			return &gatehouse.Error{Op: op, Kind: gatehouse.Invalid, Field: "default_repository_permission", Msg: "use none, read, write or admin"}
		}
		next.BasePermission = *c.BasePermission
	}
	if err := s.orgs.UpdateOrg(ctx, &next); err != nil {
		return err
	}
	if next.BasePermission != org.BasePermission {
		s.record(ctx, actor, gatehouse.AuditEvent{Action: gatehouse.AuditOrgBasePermission, Note: org.Login,
			Detail: "from=" + org.BasePermission.String() + " to=" + next.BasePermission.String()})
	}
	if next.Name != org.Name || next.Email != org.Email || next.Description != org.Description {
		s.record(ctx, actor, gatehouse.AuditEvent{Action: gatehouse.AuditOrgUpdate, Note: org.Login})
	}
	*org = next
	return nil
}

// ListUserOrgs returns the organizations the actor belongs to.
func (s *Service) ListUserOrgs(ctx context.Context, actor *gatehouse.Actor, page gatehouse.Page) ([]gatehouse.Membership, error) {
	if actor.UserID() == 0 {
		return nil, gatehouse.E("list organizations", gatehouse.Unauthenticated, authz.MsgAuthRequired)
	}
	ms, err := s.orgs.ListUserMemberships(ctx, actor.UserID(), page)
	if err != nil || actor.Token == nil {
		return ms, err
	}
	// A token sees the organizations it may act on (authz.OrgAccess).
	out := ms[:0:0]
	for _, m := range ms {
		if ok, err := s.reaches(ctx, actor, m.Org); err != nil {
			return nil, err
		} else if ok {
			out = append(out, m)
		}
	}
	return out, nil
}

// reaches reports whether the actor's credential may act on org at all:
// authz.OrgAccess gives it a role there.
func (s *Service) reaches(ctx context.Context, actor *gatehouse.Actor, org *gatehouse.User) (bool, error) {
	role, err := s.OrgRole(ctx, actor, org)
	if gatehouse.IsKind(err, gatehouse.Forbidden) {
		return false, nil // the organization's policy refuses the token
	}
	return role != "", err
}

// ListMembers returns a page of org's members (role "" for every role) if
// the actor may see them (authz.SeeMembers), or an empty list: memberships
// are concealed from outsiders.
func (s *Service) ListMembers(ctx context.Context, actor *gatehouse.Actor, org *gatehouse.User, role gatehouse.OrgRole, page gatehouse.Page) ([]gatehouse.Membership, error) {
	mine, err := s.OrgRole(ctx, actor, org)
	if err != nil {
		return nil, err
	}
	if !authz.SeeMembers(actor, mine) {
		return []gatehouse.Membership{}, nil
	}
	return s.orgs.ListMembers(ctx, org.ID, role, page)
}

// Membership returns login's membership of org, for the actor who may see
// members or for login itself. Errors: NotFound (no member, or not allowed
// to know).
func (s *Service) Membership(ctx context.Context, actor *gatehouse.Actor, org *gatehouse.User, login string) (*gatehouse.Membership, error) {
	const op = "find membership"
	u, err := s.store.FindUserByLogin(ctx, login)
	if err != nil {
		return nil, err
	}
	mine, err := s.OrgRole(ctx, actor, org)
	if err != nil {
		return nil, err
	}
	if actor.UserID() != u.ID && !authz.SeeMembers(actor, mine) {
		return nil, gatehouse.E(op, gatehouse.NotFound, "Not Found")
	}
	role, err := s.orgs.Membership(ctx, org.ID, u.ID)
	if err != nil {
		return nil, err
	}
	if role == "" {
		return nil, gatehouse.E(op, gatehouse.NotFound, "Not Found")
	}
	return &gatehouse.Membership{Org: org, User: u, Role: role}, nil
}

// SetMembership adds login to org with role, or changes their role
// (authz.ManageMembers); GitHub sends an invitation, Gatehouse adds the
// member at once. The last owner cannot be demoted. Errors: NotFound,
// Forbidden, Invalid.
func (s *Service) SetMembership(ctx context.Context, actor *gatehouse.Actor, org *gatehouse.User, login string, role gatehouse.OrgRole) (*gatehouse.Membership, error) {
	const op = "set membership"
	mine, err := s.OrgRole(ctx, actor, org)
	if err != nil {
		return nil, err
	}
	if err := authz.ManageMembers(actor, mine); err != nil {
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
		return nil, &gatehouse.Error{Op: op, Kind: gatehouse.Invalid, Field: "username", Msg: "An organization cannot be a member of an organization."}
	}
	old, err := s.orgs.Membership(ctx, org.ID, u.ID)
	if err != nil {
		return nil, err
	}
	if old == gatehouse.OrgOwner && role != gatehouse.OrgOwner {
		owners, err := s.orgs.CountOwners(ctx, org.ID)
		if err != nil {
			return nil, err
		}
		if err := authz.KeepOwner(owners, true); err != nil {
			return nil, err
		}
	}
	if old != role {
		if err := s.orgs.SetMembership(ctx, org.ID, u.ID, role); err != nil {
			return nil, err
		}
		action := gatehouse.AuditOrgUpdateMember
		if old == "" {
			action = gatehouse.AuditOrgAddMember
		}
		s.record(ctx, actor, gatehouse.AuditEvent{Action: action, UserID: u.ID, Note: org.Login, Detail: "role=" + string(role)})
	}
	return &gatehouse.Membership{Org: org, User: u, Role: role}, nil
}

// RemoveMember removes login from org and all its teams
// (authz.RemoveMember: an owner, or the member leaving). The last owner
// cannot leave. Errors: NotFound, Forbidden, Invalid.
func (s *Service) RemoveMember(ctx context.Context, actor *gatehouse.Actor, org *gatehouse.User, login string) error {
	mine, err := s.OrgRole(ctx, actor, org)
	if err != nil {
		return err
	}
	u, err := s.store.FindUserByLogin(ctx, login)
	if err != nil {
		return err
	}
	if err := authz.RemoveMember(actor, mine, u); err != nil {
		return err
	}
	role, err := s.orgs.Membership(ctx, org.ID, u.ID)
	if err != nil {
		return err
	}
	if role == "" {
		return gatehouse.E("remove member", gatehouse.NotFound, "Not Found")
	}
	if role == gatehouse.OrgOwner {
		owners, err := s.orgs.CountOwners(ctx, org.ID)
		if err != nil {
			return err
		}
		if err := authz.KeepOwner(owners, true); err != nil {
			return err
		}
	}
	if err := s.orgs.RemoveMembership(ctx, org.ID, u.ID); err != nil {
		return err
	}
	s.record(ctx, actor, gatehouse.AuditEvent{Action: gatehouse.AuditOrgRemoveMember, UserID: u.ID, Note: org.Login, Detail: "role=" + string(role)})
	return nil
}

// ListOrgRepos returns a page of org's repositories the actor may see,
// with GitHub's type filter: all (default), public, private, member (the
// same as all here: Gatehouse has no forks), forks (none), sources (all).
func (s *Service) ListOrgRepos(ctx context.Context, actor *gatehouse.Actor, org *gatehouse.User, typ string, page gatehouse.Page) ([]*gatehouse.Repo, error) {
	f, err := authz.ListRepos(actor, org, s.privateMode)
	if err != nil {
		return nil, err
	}
	switch typ {
	case "", "all", "member", "sources":
	case "public":
		f.PublicOnly = true
	case "private":
		f.PrivateOnly = true
	case "forks":
		return []*gatehouse.Repo{}, nil
	default:
		return nil, &gatehouse.Error{Op: "list repositories", Kind: gatehouse.Invalid, Field: "type", Msg: "type must be one of all, public, private, forks, sources, member"}
	}
	return s.store.ListRepos(ctx, f, page)
}
