package web

import (
	"net/http"
	"strings"

	"github.com/gatehouse/gatehouse"
	"github.com/gatehouse/gatehouse/internal/authz"
	"github.com/gatehouse/gatehouse/internal/service"
)

// Organizations in the web UI: the page at /ORG, the creation form, and
// the settings an owner changes under /organizations/ORG/settings. Every
// rule is the service's: the settings pages ask it first whether the
// viewer manages the organization (service.ManagedOrg) and show the same
// "not found" page as for a missing one otherwise; every change goes
// through the service, which decides again.

// listAll is the page size of the lists on organization pages; an
// organization larger than this shows its first listAll of each.
const listAll = 100

// choice is an option of a select or a radio group.
type choice struct {
	Value, Label string
	Selected     bool
}

// orgTab is one tab of the organization page.
type orgTab struct {
	Name, Label, Href string
	Current           bool
}

// orgData is the organization page.
type orgData struct {
	Org *gatehouse.User
	// Role is the viewer's role ("" for none).
	Role gatehouse.OrgRole
	// CanAdmin: the viewer may change the settings.
	CanAdmin bool
	Tab      string
	Tabs     []orgTab
	Repos    []*gatehouse.Repo
	Members  []gatehouse.Membership
	Teams    []teamView
}

// teamView is a team with its members, as the organization page lists it.
type teamView struct {
	Team    *gatehouse.Team
	Members []gatehouse.TeamMembership
}

// orgPage renders /ORG: the repositories the viewer may see, and for
// those the service lets see them, the people and the teams.
func (h *Handler) orgPage(w http.ResponseWriter, r *http.Request, org *gatehouse.User) {
	ctx, a, loc := r.Context(), actor(r), stateOf(r).loc
	svc := h.cfg.Service
	role, err := svc.OrgRole(ctx, a, org)
	if err != nil {
		h.serverError(w, r, err)
		return
	}
	seeMembers := authz.SeeMembers(a, role)
	d := &orgData{Org: org, Role: role, CanAdmin: authz.EditOrg(a, role) == nil, Tab: r.URL.Query().Get("tab")}
	switch d.Tab {
	case "people", "teams":
		if !seeMembers {
			h.renderError(w, r, http.StatusNotFound, "error.not_found")
			return
		}
	default:
		d.Tab = "repositories"
	}
	base := "/" + org.Login
	d.Tabs = []orgTab{{Name: "repositories", Label: loc.T("org.tab_repositories"), Href: base}}
	if seeMembers {
		d.Tabs = append(d.Tabs,
			orgTab{Name: "people", Label: loc.T("org.tab_people"), Href: base + "?tab=people"},
			orgTab{Name: "teams", Label: loc.T("org.tab_teams"), Href: base + "?tab=teams"})
	}
	for i := range d.Tabs {
		d.Tabs[i].Current = d.Tabs[i].Name == d.Tab
	}
	page := gatehouse.Page{PerPage: listAll}
	switch d.Tab {
	case "repositories":
		d.Repos, err = svc.ListOrgRepos(ctx, a, org, "all", page)
	case "people":
		d.Members, err = svc.ListMembers(ctx, a, org, "", page)
	case "teams":
		var teams []*gatehouse.Team
		if teams, err = svc.ListTeams(ctx, a, org, page); err == nil {
			for _, t := range teams {
				var members []gatehouse.TeamMembership
				if members, err = svc.ListTeamMembers(ctx, a, org, t.Slug, page); err != nil {
					break
				}
				d.Teams = append(d.Teams, teamView{Team: t, Members: members})
			}
		}
	}
	if err != nil {
		h.orgError(w, r, err)
		return
	}
	h.render(w, r, http.StatusOK, "org", "org.title", "", d)
}

// orgError answers a service error on an organization page: what the
// viewer may not see or change does not exist for them.
func (h *Handler) orgError(w http.ResponseWriter, r *http.Request, err error) {
	switch gatehouse.ErrorKind(err) {
	case gatehouse.NotFound, gatehouse.Forbidden:
		h.renderError(w, r, http.StatusNotFound, "error.not_found")
	case gatehouse.Unauthenticated:
		h.signIn(w, r)
	default:
		h.serverError(w, r, err)
	}
}

// managedOrg returns the organization of the request's {org} if the viewer
// manages it, and otherwise answers the request itself.
func (h *Handler) managedOrg(w http.ResponseWriter, r *http.Request) (*gatehouse.User, bool) {
	login := r.PathValue("org")
	if !gatehouse.ValidLogin(login) {
		h.renderError(w, r, http.StatusNotFound, "error.not_found")
		return nil, false
	}
	org, _, err := h.cfg.Service.ManagedOrg(r.Context(), actor(r), login)
	if err != nil {
		h.orgError(w, r, err)
		return nil, false
	}
	return org, true
}

// settingsPath is the path of one of org's settings pages.
func settingsPath(org *gatehouse.User, page string) string {
	return "/organizations/" + org.Login + "/settings/" + page
}

// fieldOf returns the field an Invalid error is about, or "".
func fieldOf(err error) string {
	if ge, ok := err.(*gatehouse.Error); ok && ge.Kind == gatehouse.Invalid {
		return ge.Field
	}
	return ""
}

// Creating an organization.

// orgNewData is the new-organization form.
type orgNewData struct {
	Login, Name, Email string
	// Allowed is false when this instance keeps creating organizations
	// to site administrators and the viewer is not one.
	Allowed bool
	Errors  formErrors
}

func (h *Handler) handleOrgNew(w http.ResponseWriter, r *http.Request) {
	d := &orgNewData{Allowed: h.cfg.Service.MayCreateOrg(actor(r)), Errors: formErrors{}}
	status := http.StatusOK
	if !d.Allowed {
		status = http.StatusForbidden
	}
	h.render(w, r, status, "org_new", "org_new.title", "", d)
}

func (h *Handler) handleOrgCreate(w http.ResponseWriter, r *http.Request) {
	loc := stateOf(r).loc
	d := &orgNewData{
		Login:   strings.TrimSpace(r.PostFormValue("login")),
		Name:    strings.TrimSpace(r.PostFormValue("name")),
		Email:   strings.TrimSpace(r.PostFormValue("email")),
		Allowed: true,
		Errors:  formErrors{},
	}
	if !gatehouse.ValidLogin(d.Login) {
		d.Errors["login"] = loc.T("form.login_invalid")
	}
	status := http.StatusUnprocessableEntity
	if !d.Errors.Any() {
		org, err := h.cfg.Service.CreateOrg(r.Context(), actor(r), service.NewOrg{Login: d.Login, Name: d.Name, Email: d.Email})
		switch {
		case err == nil:
			h.redirectFlash(w, r, "/"+org.Login, &flash{Kind: "notice", Key: "org_new.created", Args: []string{org.Login}})
			return
		case gatehouse.IsKind(err, gatehouse.Conflict):
			d.Errors["login"] = loc.T("org_new.err_taken")
		case gatehouse.IsKind(err, gatehouse.Forbidden):
			d.Allowed, status = false, http.StatusForbidden
		case fieldOf(err) == "login" && gatehouse.ReservedLogin(d.Login):
			d.Errors["login"] = loc.T("org_new.err_reserved")
		case fieldOf(err) == "login":
			d.Errors["login"] = loc.T("form.login_invalid")
		case fieldOf(err) == "profile_name":
			d.Errors["name"] = loc.T("settings.err_name_long")
		case fieldOf(err) == "email":
			d.Errors["email"] = loc.T("form.email_invalid")
		case gatehouse.IsKind(err, gatehouse.Invalid):
			d.Errors[""] = gatehouse.ErrorMessage(err)
		default:
			h.serverError(w, r, err)
			return
		}
	}
	h.render(w, r, status, "org_new", "org_new.title", "", d)
}

// Settings: profile.

// orgProfileData is the organization's profile form.
type orgProfileData struct {
	Org                      *gatehouse.User
	Name, Email, Description string
	Errors                   formErrors
}

func (h *Handler) handleOrgSettings(w http.ResponseWriter, r *http.Request) {
	if org, ok := h.managedOrg(w, r); ok {
		http.Redirect(w, r, settingsPath(org, "profile"), http.StatusSeeOther)
	}
}

func (h *Handler) handleOrgProfileForm(w http.ResponseWriter, r *http.Request) {
	org, ok := h.managedOrg(w, r)
	if !ok {
		return
	}
	d := &orgProfileData{Org: org, Name: org.Name, Email: org.Email, Description: org.Description, Errors: formErrors{}}
	h.render(w, r, http.StatusOK, "org_settings_profile", "org_settings.profile_title", "org-profile", d)
}

func (h *Handler) handleOrgProfile(w http.ResponseWriter, r *http.Request) {
	org, ok := h.managedOrg(w, r)
	if !ok {
		return
	}
	loc := stateOf(r).loc
	d := &orgProfileData{Org: org, Errors: formErrors{},
		Name:        strings.TrimSpace(r.PostFormValue("name")),
		Email:       strings.TrimSpace(r.PostFormValue("email")),
		Description: strings.TrimSpace(r.PostFormValue("description")),
	}
	err := h.cfg.Service.UpdateOrg(r.Context(), actor(r), org, service.OrgChange{Name: &d.Name, Email: &d.Email, Description: &d.Description})
	switch {
	case err == nil:
		h.redirectFlash(w, r, settingsPath(org, "profile"), &flash{Kind: "notice", Key: "org_settings.profile_saved"})
		return
	case fieldOf(err) == "name":
		d.Errors["name"] = loc.T("settings.err_name_long")
	case fieldOf(err) == "email":
		d.Errors["email"] = loc.T("form.email_invalid")
	case fieldOf(err) == "description":
		d.Errors["description"] = loc.T("repo_new.err_description")
	case gatehouse.IsKind(err, gatehouse.Invalid):
		d.Errors[""] = gatehouse.ErrorMessage(err)
	default:
		h.orgError(w, r, err)
		return
	}
	h.render(w, r, http.StatusUnprocessableEntity, "org_settings_profile", "org_settings.profile_title", "org-profile", d)
}

// Settings: members and their roles.

// memberRow is a member on the members page.
type memberRow struct {
	User  *gatehouse.User
	Role  gatehouse.OrgRole
	Roles []choice
	// Self: the row is the viewer's own.
	Self bool
}

// orgMembersData is the members page.
type orgMembersData struct {
	Org     *gatehouse.User
	Members []memberRow
	Owners  int
	// Login and Role are the add form's values.
	Login  string
	Roles  []choice
	Errors formErrors
}

// orgRoles lists the organization roles for a select, role selected.
func orgRoles(loc *Localizer, role gatehouse.OrgRole) []choice {
	return []choice{
		{Value: string(gatehouse.OrgMember), Label: loc.T("org.role_member"), Selected: role != gatehouse.OrgOwner},
		{Value: string(gatehouse.OrgOwner), Label: loc.T("org.role_admin"), Selected: role == gatehouse.OrgOwner},
	}
}

func (h *Handler) orgMembers(w http.ResponseWriter, r *http.Request, org *gatehouse.User, d *orgMembersData, status int) {
	loc := stateOf(r).loc
	members, err := h.cfg.Service.ListMembers(r.Context(), actor(r), org, "", gatehouse.Page{PerPage: listAll})
	if err != nil {
		h.orgError(w, r, err)
		return
	}
	d.Org = org
	me := viewer(r)
	for _, m := range members {
		d.Members = append(d.Members, memberRow{User: m.User, Role: m.Role, Roles: orgRoles(loc, m.Role), Self: me != nil && m.User.ID == me.ID})
		if m.Role == gatehouse.OrgOwner {
			d.Owners++
		}
	}
	if d.Roles == nil {
		d.Roles = orgRoles(loc, gatehouse.OrgMember)
	}
	if d.Errors == nil {
		d.Errors = formErrors{}
	}
	h.render(w, r, status, "org_settings_members", "org_settings.members_title", "org-members", d)
}

func (h *Handler) handleOrgMembers(w http.ResponseWriter, r *http.Request) {
	if org, ok := h.managedOrg(w, r); ok {
		h.orgMembers(w, r, org, &orgMembersData{}, http.StatusOK)
	}
}

// handleOrgMemberSet adds a person or changes their role: GitHub would
// send an invitation, Gatehouse adds them at once.
func (h *Handler) handleOrgMemberSet(w http.ResponseWriter, r *http.Request) {
	org, ok := h.managedOrg(w, r)
	if !ok {
		return
	}
	loc := stateOf(r).loc
	login := strings.TrimSpace(r.PostFormValue("login"))
	role, okRole := gatehouse.ParseOrgRole(r.PostFormValue("role"))
	d := &orgMembersData{Login: login, Roles: orgRoles(loc, role), Errors: formErrors{}}
	switch {
	case !gatehouse.ValidLogin(login):
		d.Errors["login"] = loc.T("org_settings.err_no_user", login)
	case !okRole:
		d.Errors["role"] = loc.T("org_settings.err_role")
	}
	if d.Errors.Any() {
		h.orgMembers(w, r, org, d, http.StatusUnprocessableEntity)
		return
	}
	m, err := h.cfg.Service.SetMembership(r.Context(), actor(r), org, login, role)
	switch {
	case err == nil:
		key := "org_settings.member_saved"
		if m.Role == gatehouse.OrgOwner {
			key = "org_settings.owner_saved"
		}
		h.redirectFlash(w, r, settingsPath(org, "members"), &flash{Kind: "notice", Key: key, Args: []string{m.User.Login, org.Login}})
		return
	case gatehouse.IsKind(err, gatehouse.NotFound):
		d.Errors["login"] = loc.T("org_settings.err_no_user", login)
	case fieldOf(err) == "username":
		d.Errors["login"] = loc.T("org_settings.err_org_member")
	case fieldOf(err) == "role":
		d.Errors[""] = loc.T("org_settings.err_last_owner")
		d.Login, d.Roles = "", nil
	default:
		h.orgError(w, r, err)
		return
	}
	h.orgMembers(w, r, org, d, http.StatusUnprocessableEntity)
}

func (h *Handler) handleOrgMemberRemove(w http.ResponseWriter, r *http.Request) {
	org, ok := h.managedOrg(w, r)
	if !ok {
		return
	}
	login := r.PathValue("login")
	err := h.cfg.Service.RemoveMember(r.Context(), actor(r), org, login)
	switch {
	case err == nil:
		to := settingsPath(org, "members")
		if me := viewer(r); me != nil && strings.EqualFold(me.Login, login) {
			to = "/" + org.Login // an owner who left manages it no more
		}
		h.redirectFlash(w, r, to, &flash{Kind: "notice", Key: "org_settings.member_removed", Args: []string{login, org.Login}})
	case fieldOf(err) == "role":
		h.redirectFlash(w, r, settingsPath(org, "members"), &flash{Kind: "error", Key: "org_settings.err_last_owner"})
	case gatehouse.IsKind(err, gatehouse.NotFound):
		h.redirectFlash(w, r, settingsPath(org, "members"), &flash{Kind: "error", Key: "org_settings.err_not_member", Args: []string{login}})
	default:
		h.orgError(w, r, err)
	}
}

// Settings: base permission ("member privileges", as GitHub names the
// page).

// orgPrivilegesData is the base permission form.
type orgPrivilegesData struct {
	Org     *gatehouse.User
	Options []choice
	Errors  formErrors
}

// basePermissions lists the base permission choices, p selected.
func basePermissions(loc *Localizer, p gatehouse.Permission) []choice {
	var out []choice
	for _, o := range []gatehouse.Permission{gatehouse.PermNone, gatehouse.PermRead, gatehouse.PermWrite, gatehouse.PermAdmin} {
		out = append(out, choice{Value: o.String(), Label: loc.T("perm." + o.String()), Selected: o == p})
	}
	return out
}

func (h *Handler) handleOrgPrivileges(w http.ResponseWriter, r *http.Request) {
	org, ok := h.managedOrg(w, r)
	if !ok {
		return
	}
	d := &orgPrivilegesData{Org: org, Options: basePermissions(stateOf(r).loc, org.BasePermission), Errors: formErrors{}}
	h.render(w, r, http.StatusOK, "org_settings_privileges", "org_settings.privileges_title", "org-privileges", d)
}

func (h *Handler) handleOrgPrivilegesUpdate(w http.ResponseWriter, r *http.Request) {
	org, ok := h.managedOrg(w, r)
	if !ok {
		return
	}
	loc := stateOf(r).loc
	v := r.PostFormValue("base_permission")
	p, known := gatehouse.ParsePermission(v)
	if v == "none" {
		p, known = gatehouse.PermNone, true
	}
	d := &orgPrivilegesData{Org: org, Options: basePermissions(loc, p), Errors: formErrors{}}
	if !known {
		d.Options = basePermissions(loc, org.BasePermission)
		d.Errors["base_permission"] = loc.T("org_settings.err_permission")
		h.render(w, r, http.StatusUnprocessableEntity, "org_settings_privileges", "org_settings.privileges_title", "org-privileges", d)
		return
	}
	err := h.cfg.Service.UpdateOrg(r.Context(), actor(r), org, service.OrgChange{BasePermission: &p})
	switch {
	case err == nil:
		h.redirectFlash(w, r, settingsPath(org, "member-privileges"), &flash{Kind: "notice", Key: "org_settings.privileges_saved", Args: []string{loc.T("perm." + p.String())}})
	case gatehouse.IsKind(err, gatehouse.Invalid):
		d.Errors["base_permission"] = loc.T("org_settings.err_permission")
		h.render(w, r, http.StatusUnprocessableEntity, "org_settings_privileges", "org_settings.privileges_title", "org-privileges", d)
	default:
		h.orgError(w, r, err)
	}
}

// Settings: teams.

// teamRow is a team on the teams page.
type teamRow struct {
	Team    *gatehouse.Team
	Members int
	Repos   int
}

// orgTeamsData is the teams page with the new-team form.
type orgTeamsData struct {
	Org               *gatehouse.User
	Teams             []teamRow
	Name, Description string
	Privacies         []choice
	Errors            formErrors
}

// teamPrivacies lists the privacy choices, privacy selected.
func teamPrivacies(loc *Localizer, privacy string) []choice {
	return []choice{
		{Value: "closed", Label: loc.T("team.privacy_closed"), Selected: privacy != "secret"},
		{Value: "secret", Label: loc.T("team.privacy_secret"), Selected: privacy == "secret"},
	}
}

func (h *Handler) orgTeams(w http.ResponseWriter, r *http.Request, org *gatehouse.User, d *orgTeamsData, status int) {
	ctx, a := r.Context(), actor(r)
	svc := h.cfg.Service
	teams, err := svc.ListTeams(ctx, a, org, gatehouse.Page{PerPage: listAll})
	if err != nil {
		h.orgError(w, r, err)
		return
	}
	for _, t := range teams {
		members, err := svc.ListTeamMembers(ctx, a, org, t.Slug, gatehouse.Page{PerPage: listAll})
		if err != nil {
			h.orgError(w, r, err)
			return
		}
		repos, err := svc.ListTeamRepos(ctx, a, org, t.Slug, gatehouse.Page{PerPage: listAll})
		if err != nil {
			h.orgError(w, r, err)
			return
		}
		d.Teams = append(d.Teams, teamRow{Team: t, Members: len(members), Repos: len(repos)})
	}
	d.Org = org
	if d.Privacies == nil {
		d.Privacies = teamPrivacies(stateOf(r).loc, "closed")
	}
	if d.Errors == nil {
		d.Errors = formErrors{}
	}
	h.render(w, r, status, "org_settings_teams", "org_settings.teams_title", "org-teams", d)
}

func (h *Handler) handleOrgTeams(w http.ResponseWriter, r *http.Request) {
	if org, ok := h.managedOrg(w, r); ok {
		h.orgTeams(w, r, org, &orgTeamsData{}, http.StatusOK)
	}
}

func (h *Handler) handleOrgTeamCreate(w http.ResponseWriter, r *http.Request) {
	org, ok := h.managedOrg(w, r)
	if !ok {
		return
	}
	loc := stateOf(r).loc
	name := strings.TrimSpace(r.PostFormValue("name"))
	desc := strings.TrimSpace(r.PostFormValue("description"))
	privacy := r.PostFormValue("privacy")
	if privacy == "" {
		privacy = "closed"
	}
	d := &orgTeamsData{Name: name, Description: desc, Privacies: teamPrivacies(loc, privacy), Errors: formErrors{}}
	if gatehouse.Slugify(name) == "" {
		d.Errors["name"] = loc.T("org_settings.err_team_name")
		h.orgTeams(w, r, org, d, http.StatusUnprocessableEntity)
		return
	}
	t, err := h.cfg.Service.CreateTeam(r.Context(), actor(r), org, service.TeamChange{Name: &name, Description: &desc, Privacy: &privacy})
	switch {
	case err == nil:
		h.redirectFlash(w, r, settingsPath(org, "teams/"+t.Slug), &flash{Kind: "notice", Key: "org_settings.team_created", Args: []string{t.Name}})
		return
	case gatehouse.IsKind(err, gatehouse.Conflict):
		d.Errors["name"] = loc.T("org_settings.err_team_taken")
	case fieldOf(err) == "name":
		d.Errors["name"] = loc.T("org_settings.err_team_name")
	case fieldOf(err) == "description":
		d.Errors["description"] = loc.T("repo_new.err_description")
	case gatehouse.IsKind(err, gatehouse.Invalid):
		d.Errors[""] = gatehouse.ErrorMessage(err)
	default:
		h.orgError(w, r, err)
		return
	}
	h.orgTeams(w, r, org, d, http.StatusUnprocessableEntity)
}

// teamMemberRow is a member on a team's page.
type teamMemberRow struct {
	User  *gatehouse.User
	Role  gatehouse.TeamRole
	Roles []choice
}

// teamRepoRow is a repository grant on a team's page.
type teamRepoRow struct {
	Repo        *gatehouse.Repo
	Permission  gatehouse.Permission
	Permissions []choice
}

// orgTeamData is a team's settings page.
type orgTeamData struct {
	Org     *gatehouse.User
	Team    *gatehouse.Team
	Members []teamMemberRow
	Repos   []teamRepoRow
	// Available are the organization's repositories the team has no
	// grant on, for the grant form.
	Available []*gatehouse.Repo
	// The add forms' values.
	Login       string
	Roles       []choice
	Repo        string
	Permissions []choice
	Errors      formErrors
}

// teamRoles lists the team roles for a select, role selected.
func teamRoles(loc *Localizer, role gatehouse.TeamRole) []choice {
	return []choice{
		{Value: string(gatehouse.TeamMember), Label: loc.T("team.role_member"), Selected: role != gatehouse.TeamMaintainer},
		{Value: string(gatehouse.TeamMaintainer), Label: loc.T("team.role_maintainer"), Selected: role == gatehouse.TeamMaintainer},
	}
}

// grantPermissions lists the permissions a team may be granted, with
// GitHub's names as values (pull, push, admin), p selected.
func grantPermissions(loc *Localizer, p gatehouse.Permission) []choice {
	var out []choice
	for _, o := range []struct {
		value, key string
		perm       gatehouse.Permission
	}{
		{"pull", "team.grant_pull", gatehouse.PermRead},
		{"push", "team.grant_push", gatehouse.PermWrite},
		{"admin", "team.grant_admin", gatehouse.PermAdmin},
	} {
		out = append(out, choice{Value: o.value, Label: loc.T(o.key), Selected: o.perm == p})
	}
	return out
}

// team returns the organization and the team of the request if the viewer
// manages the organization, and otherwise answers the request itself.
func (h *Handler) team(w http.ResponseWriter, r *http.Request) (*gatehouse.User, *gatehouse.Team, bool) {
	org, ok := h.managedOrg(w, r)
	if !ok {
		return nil, nil, false
	}
	t, err := h.cfg.Service.Team(r.Context(), actor(r), org, r.PathValue("team"))
	if err != nil {
		h.orgError(w, r, err)
		return nil, nil, false
	}
	return org, t, true
}

func (h *Handler) orgTeam(w http.ResponseWriter, r *http.Request, org *gatehouse.User, t *gatehouse.Team, d *orgTeamData, status int) {
	ctx, a, loc := r.Context(), actor(r), stateOf(r).loc
	svc := h.cfg.Service
	page := gatehouse.Page{PerPage: listAll}
	members, err := svc.ListTeamMembers(ctx, a, org, t.Slug, page)
	if err != nil {
		h.orgError(w, r, err)
		return
	}
	grants, err := svc.ListTeamRepos(ctx, a, org, t.Slug, page)
	if err != nil {
		h.orgError(w, r, err)
		return
	}
	repos, err := svc.ListOrgRepos(ctx, a, org, "all", page)
	if err != nil {
		h.orgError(w, r, err)
		return
	}
	d.Org, d.Team = org, t
	for _, m := range members {
		d.Members = append(d.Members, teamMemberRow{User: m.User, Role: m.Role, Roles: teamRoles(loc, m.Role)})
	}
	granted := map[int64]bool{}
	for _, g := range grants {
		granted[g.Repo.ID] = true
		d.Repos = append(d.Repos, teamRepoRow{Repo: g.Repo, Permission: g.Permission, Permissions: grantPermissions(loc, g.Permission)})
	}
	for _, repo := range repos {
		if !granted[repo.ID] {
			d.Available = append(d.Available, repo)
		}
	}
	if d.Roles == nil {
		d.Roles = teamRoles(loc, gatehouse.TeamMember)
	}
	if d.Permissions == nil {
		d.Permissions = grantPermissions(loc, gatehouse.PermRead)
	}
	if d.Errors == nil {
		d.Errors = formErrors{}
	}
	h.render(w, r, status, "org_settings_team", "org_settings.team_title", "org-teams", d)
}

func (h *Handler) handleOrgTeam(w http.ResponseWriter, r *http.Request) {
	if org, t, ok := h.team(w, r); ok {
		h.orgTeam(w, r, org, t, &orgTeamData{}, http.StatusOK)
	}
}

func (h *Handler) handleOrgTeamDelete(w http.ResponseWriter, r *http.Request) {
	org, t, ok := h.team(w, r)
	if !ok {
		return
	}
	if err := h.cfg.Service.DeleteTeam(r.Context(), actor(r), org, t.Slug); err != nil {
		h.orgError(w, r, err)
		return
	}
	h.redirectFlash(w, r, settingsPath(org, "teams"), &flash{Kind: "notice", Key: "org_settings.team_deleted", Args: []string{t.Name}})
}

// handleTeamMemberSet adds a person to a team or changes their role. As on
// GitHub, an owner adding someone outside the organization adds them to it
// too (the service does).
func (h *Handler) handleTeamMemberSet(w http.ResponseWriter, r *http.Request) {
	org, t, ok := h.team(w, r)
	if !ok {
		return
	}
	loc := stateOf(r).loc
	login := strings.TrimSpace(r.PostFormValue("login"))
	role, okRole := gatehouse.ParseTeamRole(r.PostFormValue("role"))
	d := &orgTeamData{Login: login, Roles: teamRoles(loc, role), Errors: formErrors{}}
	switch {
	case !gatehouse.ValidLogin(login):
		d.Errors["login"] = loc.T("org_settings.err_no_user", login)
	case !okRole:
		d.Errors["role"] = loc.T("org_settings.err_role")
	}
	if !d.Errors.Any() {
		m, err := h.cfg.Service.SetTeamMembership(r.Context(), actor(r), org, t.Slug, login, role)
		switch {
		case err == nil:
			key := "org_settings.team_member_saved"
			if m.Role == gatehouse.TeamMaintainer {
				key = "org_settings.team_maintainer_saved"
			}
			h.redirectFlash(w, r, settingsPath(org, "teams/"+t.Slug), &flash{Kind: "notice", Key: key, Args: []string{m.User.Login, t.Name}})
			return
		case gatehouse.IsKind(err, gatehouse.NotFound):
			d.Errors["login"] = loc.T("org_settings.err_no_user", login)
		case fieldOf(err) == "username":
			d.Errors["login"] = loc.T("org_settings.err_org_member")
		case gatehouse.IsKind(err, gatehouse.Invalid):
			d.Errors[""] = gatehouse.ErrorMessage(err)
		default:
			h.orgError(w, r, err)
			return
		}
	}
	h.orgTeam(w, r, org, t, d, http.StatusUnprocessableEntity)
}

func (h *Handler) handleTeamMemberRemove(w http.ResponseWriter, r *http.Request) {
	org, t, ok := h.team(w, r)
	if !ok {
		return
	}
	login := r.PathValue("login")
	back := settingsPath(org, "teams/"+t.Slug)
	err := h.cfg.Service.RemoveTeamMember(r.Context(), actor(r), org, t.Slug, login)
	switch {
	case err == nil:
		h.redirectFlash(w, r, back, &flash{Kind: "notice", Key: "org_settings.team_member_removed", Args: []string{login, t.Name}})
	case gatehouse.IsKind(err, gatehouse.NotFound):
		h.redirectFlash(w, r, back, &flash{Kind: "error", Key: "org_settings.err_not_team_member", Args: []string{login}})
	default:
		h.orgError(w, r, err)
	}
}

// handleTeamRepoSet grants the team a permission on one of the
// organization's repositories, changes it, or (permission "none") removes
// the grant.
func (h *Handler) handleTeamRepoSet(w http.ResponseWriter, r *http.Request) {
	org, t, ok := h.team(w, r)
	if !ok {
		return
	}
	loc := stateOf(r).loc
	name := strings.TrimSpace(r.PostFormValue("repo"))
	v := r.PostFormValue("permission")
	p, known := gatehouse.ParsePermission(v)
	if v == "none" {
		p, known = gatehouse.PermNone, true
	}
	d := &orgTeamData{Repo: name, Permissions: grantPermissions(loc, p), Errors: formErrors{}}
	switch {
	case !gatehouse.ValidRepoName(name):
		d.Errors["repo"] = loc.T("org_settings.err_repo")
	case !known:
		d.Errors["permission"] = loc.T("org_settings.err_permission")
	}
	if !d.Errors.Any() {
		err := h.cfg.Service.SetTeamRepo(r.Context(), actor(r), org, t.Slug, org.Login, name, p)
		switch {
		case err == nil:
			key, args := "org_settings.team_repo_saved", []string{t.Name, org.Login + "/" + name, loc.T("perm." + p.String())}
			if p == gatehouse.PermNone {
				key, args = "org_settings.team_repo_removed", args[:2]
			}
			h.redirectFlash(w, r, settingsPath(org, "teams/"+t.Slug), &flash{Kind: "notice", Key: key, Args: args})
			return
		case gatehouse.IsKind(err, gatehouse.NotFound), gatehouse.IsKind(err, gatehouse.Invalid):
			d.Errors["repo"] = loc.T("org_settings.err_repo")
		default:
			h.orgError(w, r, err)
			return
		}
	}
	h.orgTeam(w, r, org, t, d, http.StatusUnprocessableEntity)
}
