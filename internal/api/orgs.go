package api

import (
	"net/http"
	"strings"

	"github.com/gatehouse/gatehouse"
	"github.com/gatehouse/gatehouse/internal/authz"
	"github.com/gatehouse/gatehouse/internal/service"
)

// Organizations and memberships. An organization is an account; members
// are added at once where GitHub sends an invitation, so memberships are
// "active" from the start.

// org loads the organization the path names, through the service: 404 for
// a user's login or an unknown one, 401 for anonymous callers in private
// mode.
func (rq *request) org() (*gatehouse.User, error) {
	return rq.h.svc.FindOrg(rq.Context(), rq.actor, rq.PathValue("org"))
}

// maxCountPages bounds the listings behind a counter (public_repos,
// members_count, …) and behind GraphQL connections: 100 pages of 100.
const maxCountPages = 100

// collectAll gathers what list returns over pages of 100, up to
// maxCountPages pages.
func collectAll[T any](list func(gatehouse.Page) ([]T, error)) ([]T, error) {
	var all []T
	for p := 1; p <= maxCountPages; p++ {
		items, err := list(gatehouse.Page{Page: p, PerPage: 100})
		if err != nil {
			return nil, err
		}
		all = append(all, items...)
		if len(items) < 100 {
			break
		}
	}
	return all, nil
}

// countAll counts what list returns (see collectAll).
func countAll[T any](list func(gatehouse.Page) ([]T, error)) (int, error) {
	all, err := collectAll(list)
	return len(all), err
}

// showOrgSettings reports whether the caller sees org's owner-only
// fields: an owner, with admin:org when using a classic token (a
// fine-grained one: "organization_administration: read"), as GitHub has it.
func (rq *request) showOrgSettings(org *gatehouse.User) (bool, error) {
	if rq.user() == nil {
		return false, nil
	}
	role, err := rq.h.svc.OrgRole(rq.Context(), rq.actor, org)
	if err != nil {
		return false, err
	}
	return role == gatehouse.OrgOwner && authz.Allows(rq.actor, "admin:org", authz.OrgAdminRead), nil
}

// fullOrg converts org to organization-full for the caller, counting its
// repositories through the service.
func (h *Handler) fullOrg(rq *request, org *gatehouse.User) (organizationFull, error) {
	show, err := rq.showOrgSettings(org)
	if err != nil {
		return organizationFull{}, err
	}
	count := func(typ string) (int, error) {
		return countAll(func(p gatehouse.Page) ([]*gatehouse.Repo, error) {
			return h.svc.ListOrgRepos(rq.Context(), rq.actor, org, typ, p)
		})
	}
	var c orgCounts
	if c.publicRepos, err = count("public"); err != nil {
		return organizationFull{}, err
	}
	if show {
		if c.privateRepos, err = count("private"); err != nil {
			return organizationFull{}, err
		}
	}
	return h.organizationFull(org, c, show), nil
}

// handleOrgShow is GET /orgs/{org}.
func (h *Handler) handleOrgShow(rq *request) error {
	org, err := rq.org()
	if err != nil {
		return err
	}
	out, err := h.fullOrg(rq, org)
	if err != nil {
		return err
	}
	return rq.json(http.StatusOK, out)
}

// orgInput is the body of PATCH /orgs/{org}. Gatehouse keeps one address
// for an organization, shown as both email and billing_email; the profile
// fields it does not keep are refused when set rather than dropped.
type orgInput struct {
	Name                         *string `json:"name"`
	Email                        *string `json:"email"`
	BillingEmail                 *string `json:"billing_email"`
	Description                  *string `json:"description"`
	DefaultRepositoryPermission  *string `json:"default_repository_permission"`
	Company                      *string `json:"company"`
	Blog                         *string `json:"blog"`
	Location                     *string `json:"location"`
	TwitterUsername              *string `json:"twitter_username"`
	MembersCanCreateRepositories *bool   `json:"members_can_create_repositories"`
}

// basePermission parses default_repository_permission: GitHub's none,
// read, write or admin.
func basePermission(s string) (gatehouse.Permission, bool) {
	switch s {
	case "none":
		return gatehouse.PermNone, true
	case "read":
		return gatehouse.PermRead, true
	case "write":
		return gatehouse.PermWrite, true
	case "admin":
		return gatehouse.PermAdmin, true
	}
	return gatehouse.PermNone, false
}

// handleOrgPatch is PATCH /orgs/{org}: profile and base permission, for
// owners (admin:org). 200 with the organization.
func (h *Handler) handleOrgPatch(rq *request) error {
	org, err := rq.org()
	if err != nil {
		return err
	}
	var in orgInput
	if err := rq.decode(&in); err != nil {
		return err
	}
	for _, f := range []struct {
		name string
		v    *string
	}{{"company", in.Company}, {"blog", in.Blog}, {"location", in.Location}, {"twitter_username", in.TwitterUsername}} {
		if f.v != nil && *f.v != "" {
			return validation("Organization", f.name, "invalid", f.name+" is not supported by this server")
		}
	}
	if in.MembersCanCreateRepositories != nil && !*in.MembersCanCreateRepositories {
		return validation("Organization", "members_can_create_repositories", "invalid", "every member may create repositories on this server")
	}
	c := service.OrgChange{Name: in.Name, Email: in.Email, Description: in.Description}
	if c.Email == nil {
		c.Email = in.BillingEmail
	}
	if in.DefaultRepositoryPermission != nil {
		p, ok := basePermission(*in.DefaultRepositoryPermission)
		if !ok {
			return validation("Organization", "default_repository_permission", "invalid", "default_repository_permission must be one of none, read, write, admin")
		}
		c.BasePermission = &p
	}
	if err := h.svc.UpdateOrg(rq.Context(), rq.actor, org, c); err != nil {
		return err
	}
	out, err := h.fullOrg(rq, org)
	if err != nil {
		return err
	}
	return rq.json(http.StatusOK, out)
}

// orgRoleFilter reads the role query parameter of member listings: all
// (default), admin or member.
func orgRoleFilter(rq *request) (gatehouse.OrgRole, error) {
	switch r := rq.URL.Query().Get("role"); r {
	case "", "all":
		return "", nil
	case "admin", "member":
		return gatehouse.OrgRole(r), nil
	}
	return "", validation("Member", "role", "invalid", "role must be one of all, admin, member")
}

// handleOrgMembers is GET /orgs/{org}/members[?role=]. Memberships are
// concealed: members (with read:org) see them all; everyone else gets an
// empty list (GitHub would send its public members, and Gatehouse has no
// public memberships).
func (h *Handler) handleOrgMembers(rq *request) error {
	org, err := rq.org()
	if err != nil {
		return err
	}
	role, err := orgRoleFilter(rq)
	if err != nil {
		return err
	}
	ms, err := listPage(rq, func(p gatehouse.Page) ([]gatehouse.Membership, error) {
		return h.svc.ListMembers(rq.Context(), rq.actor, org, role, p)
	})
	if err != nil {
		return err
	}
	out := make([]simpleUser, 0, len(ms))
	for _, m := range ms {
		out = append(out, h.simpleUser(m.User))
	}
	return rq.json(http.StatusOK, out)
}

// handleMembershipGet is GET /orgs/{org}/memberships/{username}: 404 for
// no membership, or one the caller may not know of.
func (h *Handler) handleMembershipGet(rq *request) error {
	org, err := rq.org()
	if err != nil {
		return err
	}
	m, err := h.svc.Membership(rq.Context(), rq.actor, org, rq.PathValue("username"))
	if err != nil {
		return err
	}
	return rq.json(http.StatusOK, h.orgMembership(m))
}

// handleMembershipPut is PUT /orgs/{org}/memberships/{username}
// {"role": "member"|"admin"}: adds the person (at once, no invitation) or
// changes their role; 200 with the membership. Demoting the last owner is
// a 422.
func (h *Handler) handleMembershipPut(rq *request) error {
	org, err := rq.org()
	if err != nil {
		return err
	}
	var in struct {
		Role *string `json:"role"`
	}
	if err := rq.decode(&in); err != nil {
		return err
	}
	role := gatehouse.OrgMember
	if in.Role != nil {
		switch *in.Role {
		case "member", "admin":
			role = gatehouse.OrgRole(*in.Role)
		default:
			return validation("Membership", "role", "invalid", "role must be admin or member")
		}
	}
	m, err := h.svc.SetMembership(rq.Context(), rq.actor, org, rq.PathValue("username"), role)
	if err != nil {
		return err
	}
	return rq.json(http.StatusOK, h.orgMembership(m))
}

// handleMembershipDelete is DELETE /orgs/{org}/memberships/{username}:
// 204; the person leaves every team of the organization too.
func (h *Handler) handleMembershipDelete(rq *request) error {
	org, err := rq.org()
	if err != nil {
		return err
	}
	if err := h.svc.RemoveMember(rq.Context(), rq.actor, org, rq.PathValue("username")); err != nil {
		return err
	}
	return rq.noContent()
}

// handleUserOrgs is GET /user/orgs: the caller's organizations.
func (h *Handler) handleUserOrgs(rq *request) error {
	ms, err := listPage(rq, func(p gatehouse.Page) ([]gatehouse.Membership, error) {
		return h.svc.ListUserOrgs(rq.Context(), rq.actor, p)
	})
	if err != nil {
		return err
	}
	out := make([]organization, 0, len(ms))
	for _, m := range ms {
		out = append(out, h.organization(m.Org))
	}
	return rq.json(http.StatusOK, out)
}

// handleUserMemberships is GET /user/memberships/orgs[?state=]: the
// caller's memberships, all active (pending lists nothing: there are no
// invitations).
func (h *Handler) handleUserMemberships(rq *request) error {
	switch rq.URL.Query().Get("state") {
	case "", "active":
	case "pending":
		return rq.json(http.StatusOK, []orgMembership{})
	default:
		return validation("Membership", "state", "invalid", "state must be active or pending")
	}
	ms, err := listPage(rq, func(p gatehouse.Page) ([]gatehouse.Membership, error) {
		return h.svc.ListUserOrgs(rq.Context(), rq.actor, p)
	})
	if err != nil {
		return err
	}
	out := make([]orgMembership, 0, len(ms))
	for i := range ms {
		m := ms[i]
		if m.User == nil {
			m.User = rq.user()
		}
		out = append(out, h.orgMembership(&m))
	}
	return rq.json(http.StatusOK, out)
}

// handleOrgRepos is GET /orgs/{org}/repos[?type=]: the organization's
// repositories the caller may see, with GitHub's type filter (all, public,
// private, forks, sources, member).
func (h *Handler) handleOrgRepos(rq *request) error {
	org, err := rq.org()
	if err != nil {
		return err
	}
	typ := rq.URL.Query().Get("type")
	repos, err := listPage(rq, func(p gatehouse.Page) ([]*gatehouse.Repo, error) {
		return h.svc.ListOrgRepos(rq.Context(), rq.actor, org, typ, p)
	})
	if err != nil {
		if gatehouse.IsKind(err, gatehouse.Invalid) {
			return validation("Repository", "type", "invalid", gatehouse.ErrorMessage(err))
		}
		return err
	}
	return h.writeRepos(rq, repos)
}

// handleOrgRepoCreate is POST /orgs/{org}/repos: as POST /user/repos, for
// a member of the organization.
func (h *Handler) handleOrgRepoCreate(rq *request) error {
	org, err := rq.org()
	if err != nil {
		return err
	}
	return h.createRepo(rq, org)
}

// handleAdminOrgCreate is GHES's POST /admin/organizations {"login",
// "admin", "profile_name"}: 201 with the organization, admin its first
// owner.
func (h *Handler) handleAdminOrgCreate(rq *request) error {
	var in struct {
		Login       string `json:"login"`
		Admin       string `json:"admin"`
		ProfileName string `json:"profile_name"`
	}
	if err := rq.decode(&in); err != nil {
		return err
	}
	switch {
	case strings.TrimSpace(in.Login) == "":
		return validation("Organization", "login", "missing_field", "")
	case strings.TrimSpace(in.Admin) == "":
		return validation("Organization", "admin", "missing_field", "")
	}
	org, err := h.svc.CreateOrg(rq.Context(), rq.actor, service.NewOrg{Login: in.Login, Name: in.ProfileName, Owner: in.Admin})
	if err != nil {
		if gatehouse.IsKind(err, gatehouse.NotFound) {
			return validation("Organization", "admin", "invalid", gatehouse.ErrorMessage(err))
		}
		return err
	}
	return rq.json(http.StatusCreated, h.organization(org))
}
