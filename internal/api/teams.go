package api

import (
	"net/http"
	"strings"

	"github.com/gatehouse/gatehouse"
	"github.com/gatehouse/gatehouse/internal/service"
)

// Teams: groups of an organization's members granted its repositories.
// Nested teams and notification settings do not exist here; the legacy
// team "permission" is always "pull".

// fullTeam converts t to team-full, counting its members and repositories
// through the service. orgs caches organization-full by login for
// listings that span several organizations.
func (h *Handler) fullTeam(rq *request, org *gatehouse.User, t *gatehouse.Team, orgs map[string]organizationFull) (teamFull, error) {
	ctx := rq.Context()
	// A caller who may not list the team's members (GET /user/teams with
	// a token without read:org) sees the counters as 0.
	members, err := countAll(func(p gatehouse.Page) ([]gatehouse.TeamMembership, error) {
		return h.svc.ListTeamMembers(ctx, rq.actor, org, t.Slug, p)
	})
	if err != nil && !gatehouse.IsKind(err, gatehouse.NotFound) {
		return teamFull{}, err
	}
	repos, err := countAll(func(p gatehouse.Page) ([]gatehouse.TeamRepo, error) {
		return h.svc.ListTeamRepos(ctx, rq.actor, org, t.Slug, p)
	})
	if err != nil && !gatehouse.IsKind(err, gatehouse.NotFound) {
		return teamFull{}, err
	}
	of, ok := orgs[org.Login]
	if !ok {
		if of, err = h.fullOrg(rq, org); err != nil {
			return teamFull{}, err
		}
		if orgs != nil {
			orgs[org.Login] = of
		}
	}
	return teamFull{
		team:         h.team(t),
		MembersCount: members,
		ReposCount:   repos,
		CreatedAt:    timestamp(t.CreatedAt),
		UpdatedAt:    timestamp(t.UpdatedAt),
		Organization: of,
	}, nil
}

// teamInput is the body of POST /orgs/{org}/teams and PATCH
// /orgs/{org}/teams/{team_slug}.
type teamInput struct {
	Name                *string  `json:"name"`
	Description         *string  `json:"description"`
	Privacy             *string  `json:"privacy"`
	NotificationSetting *string  `json:"notification_setting"`
	Permission          *string  `json:"permission"`
	ParentTeamID        *int64   `json:"parent_team_id"`
	Maintainers         []string `json:"maintainers"`
	RepoNames           []string `json:"repo_names"`
}

// check refuses what Gatehouse cannot keep rather than dropping it.
func (in *teamInput) check() error {
	switch {
	case in.ParentTeamID != nil:
		return validation("Team", "parent_team_id", "invalid", "nested teams are not supported by this server")
	case in.NotificationSetting != nil && *in.NotificationSetting != "notifications_enabled":
		return validation("Team", "notification_setting", "invalid", "team notifications cannot be turned off on this server")
	case in.Privacy != nil && *in.Privacy != "closed" && *in.Privacy != "secret":
		return validation("Team", "privacy", "invalid", "privacy must be secret or closed")
	}
	return nil
}

func (in *teamInput) change() service.TeamChange {
	return service.TeamChange{Name: in.Name, Description: in.Description, Privacy: in.Privacy}
}

// parseGrant parses the permission of a team grant (pull, triage,
// push, maintain, admin; triage and maintain are read and write here).
func parseGrant(s *string, def gatehouse.Permission) (gatehouse.Permission, error) {
	if s == nil || *s == "" {
		return def, nil
	}
	p, ok := gatehouse.ParsePermission(*s)
	if !ok {
		return 0, validation("Team", "permission", "invalid", "permission must be one of pull, triage, push, maintain, admin")
	}
	return p, nil
}

// handleTeamList is GET /orgs/{org}/teams: the teams the caller may see
// (secret ones for owners and their members only).
func (h *Handler) handleTeamList(rq *request) error {
	org, err := rq.org()
	if err != nil {
		return err
	}
	teams, err := listPage(rq, func(p gatehouse.Page) ([]*gatehouse.Team, error) {
		return h.svc.ListTeams(rq.Context(), rq.actor, org, p)
	})
	if err != nil {
		return err
	}
	out := make([]team, 0, len(teams))
	for _, t := range teams {
		out = append(out, h.team(t))
	}
	return rq.json(http.StatusOK, out)
}

// handleTeamCreate is POST /orgs/{org}/teams: 201 with the team. As on
// GitHub, privacy defaults to secret; maintainers become its maintainers
// and repo_names (full names) are granted the legacy permission (pull by
// default).
func (h *Handler) handleTeamCreate(rq *request) error {
	org, err := rq.org()
	if err != nil {
		return err
	}
	var in teamInput
	if err := rq.decode(&in); err != nil {
		return err
	}
	if in.Name == nil || strings.TrimSpace(*in.Name) == "" {
		return validation("Team", "name", "missing_field", "")
	}
	if err := in.check(); err != nil {
		return err
	}
	perm, err := parseGrant(in.Permission, gatehouse.PermRead)
	if err != nil {
		return err
	}
	var repos [][2]string
	for _, full := range in.RepoNames {
		owner, name, ok := strings.Cut(full, "/")
		if !ok {
			owner, name = org.Login, full
		}
		repos = append(repos, [2]string{owner, name})
	}
	c := in.change()
	if c.Privacy == nil {
		secret := "secret"
		c.Privacy = &secret
	}
	ctx := rq.Context()
	t, err := h.svc.CreateTeam(ctx, rq.actor, org, c)
	if err != nil {
		return err
	}
	for _, login := range in.Maintainers {
		if _, err := h.svc.SetTeamMembership(ctx, rq.actor, org, t.Slug, login, gatehouse.TeamMaintainer); err != nil {
			return err
		}
	}
	for _, r := range repos {
		if err := h.svc.SetTeamRepo(ctx, rq.actor, org, t.Slug, r[0], r[1], perm); err != nil {
			return err
		}
	}
	out, err := h.fullTeam(rq, org, t, nil)
	if err != nil {
		return err
	}
	return rq.json(http.StatusCreated, out)
}

// handleTeamGet is GET /orgs/{org}/teams/{team_slug}.
func (h *Handler) handleTeamGet(rq *request) error {
	org, err := rq.org()
	if err != nil {
		return err
	}
	t, err := h.svc.Team(rq.Context(), rq.actor, org, rq.PathValue("team_slug"))
	if err != nil {
		return err
	}
	out, err := h.fullTeam(rq, org, t, nil)
	if err != nil {
		return err
	}
	return rq.json(http.StatusOK, out)
}

// handleTeamPatch is PATCH /orgs/{org}/teams/{team_slug}: name (which
// changes the slug), description, privacy. 200 with the team.
func (h *Handler) handleTeamPatch(rq *request) error {
	org, err := rq.org()
	if err != nil {
		return err
	}
	var in teamInput
	if err := rq.decode(&in); err != nil {
		return err
	}
	if err := in.check(); err != nil {
		return err
	}
	if len(in.Maintainers) > 0 || len(in.RepoNames) > 0 {
		return validation("Team", "maintainers", "invalid", "use the team membership and repository endpoints to change members and grants")
	}
	if in.Name != nil && strings.TrimSpace(*in.Name) == "" {
		return validation("Team", "name", "invalid", "a team needs a name")
	}
	t, err := h.svc.UpdateTeam(rq.Context(), rq.actor, org, rq.PathValue("team_slug"), in.change())
	if err != nil {
		return err
	}
	out, err := h.fullTeam(rq, org, t, nil)
	if err != nil {
		return err
	}
	return rq.json(http.StatusOK, out)
}

// handleTeamDelete is DELETE /orgs/{org}/teams/{team_slug}: 204.
func (h *Handler) handleTeamDelete(rq *request) error {
	org, err := rq.org()
	if err != nil {
		return err
	}
	if err := h.svc.DeleteTeam(rq.Context(), rq.actor, org, rq.PathValue("team_slug")); err != nil {
		return err
	}
	return rq.noContent()
}

// handleTeamMembers is GET /orgs/{org}/teams/{team_slug}/members[?role=]
// with role member, maintainer or all (default).
func (h *Handler) handleTeamMembers(rq *request) error {
	org, err := rq.org()
	if err != nil {
		return err
	}
	var role gatehouse.TeamRole
	switch r := rq.URL.Query().Get("role"); r {
	case "", "all":
	case "member", "maintainer":
		role = gatehouse.TeamRole(r)
	default:
		return validation("Team", "role", "invalid", "role must be one of member, maintainer, all")
	}
	slug := rq.PathValue("team_slug")
	list := func(p gatehouse.Page) ([]gatehouse.TeamMembership, error) {
		return h.svc.ListTeamMembers(rq.Context(), rq.actor, org, slug, p)
	}
	var ms []gatehouse.TeamMembership
	if role == "" {
		ms, err = listPage(rq, list)
	} else {
		// The store pages all roles together: filter the whole list, then
		// page it.
		var all []gatehouse.TeamMembership
		all, err = collectAll(list)
		kept := all[:0]
		for _, m := range all {
			if m.Role == role {
				kept = append(kept, m)
			}
		}
		ms = slicePage(rq, kept)
	}
	if err != nil {
		return err
	}
	out := make([]simpleUser, 0, len(ms))
	for _, m := range ms {
		out = append(out, h.simpleUser(m.User))
	}
	return rq.json(http.StatusOK, out)
}

// handleTeamMembershipGet is GET …/teams/{team_slug}/memberships/{username}.
func (h *Handler) handleTeamMembershipGet(rq *request) error {
	org, err := rq.org()
	if err != nil {
		return err
	}
	slug := rq.PathValue("team_slug")
	m, err := h.svc.TeamMembership(rq.Context(), rq.actor, org, slug, rq.PathValue("username"))
	if err != nil {
		return err
	}
	return rq.json(http.StatusOK, h.teamMembership(org, slug, m))
}

// handleTeamMembershipPut is PUT …/memberships/{username} {"role":
// "member"|"maintainer"}: 200 with the membership, active at once. An
// owner adding someone from outside the organization adds them to it too.
func (h *Handler) handleTeamMembershipPut(rq *request) error {
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
	role := gatehouse.TeamMember
	if in.Role != nil {
		switch *in.Role {
		case "member", "maintainer":
			role = gatehouse.TeamRole(*in.Role)
		default:
			return validation("TeamMember", "role", "invalid", "role must be member or maintainer")
		}
	}
	slug := rq.PathValue("team_slug")
	m, err := h.svc.SetTeamMembership(rq.Context(), rq.actor, org, slug, rq.PathValue("username"), role)
	if err != nil {
		return err
	}
	return rq.json(http.StatusOK, h.teamMembership(org, slug, m))
}

// handleTeamMembershipDelete is DELETE …/memberships/{username}: 204.
func (h *Handler) handleTeamMembershipDelete(rq *request) error {
	org, err := rq.org()
	if err != nil {
		return err
	}
	if err := h.svc.RemoveTeamMember(rq.Context(), rq.actor, org, rq.PathValue("team_slug"), rq.PathValue("username")); err != nil {
		return err
	}
	return rq.noContent()
}

// handleTeamRepos is GET /orgs/{org}/teams/{team_slug}/repos: the team's
// repositories the caller may see, each with the team's permissions.
func (h *Handler) handleTeamRepos(rq *request) error {
	org, err := rq.org()
	if err != nil {
		return err
	}
	grants, err := listPage(rq, func(p gatehouse.Page) ([]gatehouse.TeamRepo, error) {
		return h.svc.ListTeamRepos(rq.Context(), rq.actor, org, rq.PathValue("team_slug"), p)
	})
	if err != nil {
		return err
	}
	out := make([]teamRepository, 0, len(grants))
	for _, g := range grants {
		out = append(out, h.teamRepository(g.Repo, org, g.Permission))
	}
	return rq.json(http.StatusOK, out)
}

// mediaTeamRepository is the Accept type that asks GET
// …/teams/{team_slug}/repos/{owner}/{repo} for the repository rather than
// a bare 204.
const mediaTeamRepository = "application/vnd.github.v3.repository+json"

// handleTeamRepoGet is GET …/teams/{team_slug}/repos/{owner}/{repo}: 404
// when the team has no grant on it; 204 when it has one, or 200 with the
// repository and the team's permissions when asked for with
// application/vnd.github.v3.repository+json.
func (h *Handler) handleTeamRepoGet(rq *request) error {
	org, err := rq.org()
	if err != nil {
		return err
	}
	repo, p, err := h.svc.TeamRepoPermission(rq.Context(), rq.actor, org, rq.PathValue("team_slug"),
		rq.PathValue("owner"), strings.TrimSuffix(rq.PathValue("repo"), ".git"))
	if err != nil {
		return err
	}
	if p == gatehouse.PermNone {
		return errNotFound
	}
	if !strings.Contains(rq.Header.Get("Accept"), mediaTeamRepository) {
		return rq.noContent()
	}
	owner := org
	if repo.OwnerID != org.ID {
		if owner, err = h.svc.UserByID(rq.Context(), rq.actor, repo.OwnerID); err != nil {
			return err
		}
	}
	return rq.json(http.StatusOK, h.teamRepository(repo, owner, p))
}

// handleTeamRepoPut is PUT …/teams/{team_slug}/repos/{owner}/{repo}
// {"permission": pull|triage|push|maintain|admin} (push by default, as on
// GitHub): 204.
func (h *Handler) handleTeamRepoPut(rq *request) error {
	org, err := rq.org()
	if err != nil {
		return err
	}
	var in struct {
		Permission *string `json:"permission"`
	}
	if err := rq.decode(&in); err != nil {
		return err
	}
	p, err := parseGrant(in.Permission, gatehouse.PermWrite)
	if err != nil {
		return err
	}
	if err := h.svc.SetTeamRepo(rq.Context(), rq.actor, org, rq.PathValue("team_slug"),
		rq.PathValue("owner"), strings.TrimSuffix(rq.PathValue("repo"), ".git"), p); err != nil {
		return err
	}
	return rq.noContent()
}

// handleTeamRepoDelete is DELETE …/teams/{team_slug}/repos/{owner}/{repo}:
// 204; the team's members keep what they hold otherwise.
func (h *Handler) handleTeamRepoDelete(rq *request) error {
	org, err := rq.org()
	if err != nil {
		return err
	}
	if err := h.svc.SetTeamRepo(rq.Context(), rq.actor, org, rq.PathValue("team_slug"),
		rq.PathValue("owner"), strings.TrimSuffix(rq.PathValue("repo"), ".git"), gatehouse.PermNone); err != nil {
		return err
	}
	return rq.noContent()
}

// handleUserTeams is GET /user/teams: the caller's teams in every
// organization, as team-full.
func (h *Handler) handleUserTeams(rq *request) error {
	teams, err := listPage(rq, func(p gatehouse.Page) ([]*gatehouse.Team, error) {
		return h.svc.ListUserTeams(rq.Context(), rq.actor, p)
	})
	if err != nil {
		return err
	}
	orgs := map[string]*gatehouse.User{}
	full := map[string]organizationFull{}
	out := make([]teamFull, 0, len(teams))
	for _, t := range teams {
		org := orgs[t.Org]
		if org == nil {
			if org, err = h.svc.FindOrg(rq.Context(), rq.actor, t.Org); err != nil {
				return err
			}
			orgs[t.Org] = org
		}
		tf, err := h.fullTeam(rq, org, t, full)
		if err != nil {
			return err
		}
		out = append(out, tf)
	}
	return rq.json(http.StatusOK, out)
}
