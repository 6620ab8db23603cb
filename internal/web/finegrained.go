package web

import (
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/gatehouse/gatehouse"
	"github.com/gatehouse/gatehouse/internal/authz"
	"github.com/gatehouse/gatehouse/internal/service"
	"github.com/gatehouse/gatehouse/internal/token"
)

// Fine-grained personal access tokens (SPEC §10.3): the list at
// /settings/personal-access-tokens, the form, and each token's page with
// its edit, regenerate and delete forms. Every rule is the service's; the
// handlers check the form first only to word mistakes in the page's
// language and to keep what the person typed.

// Limits of the repository picker.
const (
	// pickerResults is how many matching repositories the picker lists
	// at once; a search narrows the rest.
	pickerResults = 30
	// pickerPages bounds how many pages of 100 repositories the picker
	// reads of one owner.
	pickerPages = 10
)

// permView is one permission of a token as its page shows it.
type permView struct {
	Name, Label, Level string
}

// fgRow is a fine-grained token in the list and on its page.
type fgRow struct {
	Token tokenRow
	// Owner is the resource owner's login ("" if it is gone).
	Owner       string
	OwnerIsOrg  bool
	Description string
	// Access says which repositories the token reaches.
	Access string
	// Repos are the full names of the selected repositories.
	Repos   []string
	Perms   []permView
	Pending bool
	Denied  bool
	Reason  string
	Created string
}

// accessText words a token's repository access.
func accessText(loc *Localizer, t *gatehouse.Token, selected int) string {
	switch t.Repos {
	case gatehouse.AllRepos:
		return loc.T("fg.access_all")
	case gatehouse.SelectedRepos:
		if selected == 1 {
			return loc.T("fg.access_selected_one")
		}
		return loc.T("fg.access_selected_n", selected)
	}
	return loc.T("fg.access_public")
}

// levelText words a permission level.
func levelText(loc *Localizer, l token.Level) string {
	switch l {
	case token.ReadOnly:
		return loc.T("fg.level_read")
	case token.ReadWrite:
		return loc.T("fg.level_write")
	}
	return loc.T("fg.level_none")
}

// permKey is the catalog key of a permission's name; with "_desc", of
// its description.
func permKey(name string) string { return "fg.perm_" + name }

// permLabel is a permission's name in the page's language.
func permLabel(loc *Localizer, name string) string { return loc.T(permKey(name)) }

// tokenPerms lists what a token holds, in the registry's order, metadata
// first.
func tokenPerms(loc *Localizer, t *gatehouse.Token) []permView {
	var out []permView
	for _, info := range token.Permissions() {
		l := token.Level(t.Permissions[info.Name])
		if info.Always {
			l = token.ReadOnly
		}
		if l > token.NoAccess {
			out = append(out, permView{Name: info.Name, Label: permLabel(loc, info.Name), Level: levelText(loc, l)})
		}
	}
	return out
}

// permSummary is the permissions of a fine-grained token in one line, as
// the admin's token list shows them in place of scopes.
func permSummary(t *gatehouse.Token) string {
	ps := token.Perms{}
	for n, l := range t.Permissions {
		ps[n] = token.Level(l)
	}
	return strings.ReplaceAll(ps.String(), ",", ", ")
}

func (h *Handler) fgRow(r *http.Request, t *gatehouse.Token) (fgRow, error) {
	loc := stateOf(r).loc
	row := fgRow{Token: h.tokenRow(loc, t), Description: t.Description, Perms: tokenPerms(loc, t),
		Pending: t.Approval == gatehouse.TokenPending, Denied: t.Approval == gatehouse.TokenDenied,
		Reason: t.ReviewReason, Created: loc.Date(t.CreatedAt)}
	target, repos, err := h.cfg.Service.TokenTarget(r.Context(), t)
	if err != nil && !gatehouse.IsKind(err, gatehouse.NotFound) {
		return row, err
	}
	if target != nil {
		row.Owner, row.OwnerIsOrg = target.Login, target.IsOrg
	}
	for _, repo := range repos {
		row.Repos = append(row.Repos, repo.FullName())
	}
	row.Access = accessText(loc, t, len(repos))
	return row, nil
}

// fgListData is the list of fine-grained tokens.
type fgListData struct {
	Tokens []fgRow
}

func (h *Handler) handleFineGrainedTokens(w http.ResponseWriter, r *http.Request) {
	tokens, err := h.cfg.Service.ListUserTokens(r.Context(), actor(r), viewer(r).ID)
	if err != nil {
		h.serverError(w, r, err)
		return
	}
	d := &fgListData{}
	for _, t := range tokens {
		if !t.FineGrained() {
			continue
		}
		row, err := h.fgRow(r, t)
		if err != nil {
			h.serverError(w, r, err)
			return
		}
		d.Tokens = append(d.Tokens, row)
	}
	h.render(w, r, http.StatusOK, "fg_tokens", "fg.title", "fg-tokens", d)
}

// The form.

// fgOwner is a choice of resource owner.
type fgOwner struct {
	Login    string
	Label    string
	Selected bool
	// Disabled: the organization restricts fine-grained tokens.
	Disabled bool
	Org      bool
	// MaxDays is the organization's longest lifetime (0: none).
	MaxDays int
}

// pickRepo is a repository in the picker.
type pickRepo struct {
	Name     string `json:"name"`
	FullName string `json:"full_name"`
	Private  bool   `json:"private"`
}

// permField is one permission's select.
type permField struct {
	Name, Label, Desc string
	// Always: metadata, read-only on every token, shown without a select.
	Always  bool
	Options []choice
}

// permGroup is the permissions of one area.
type permGroup struct {
	Group string // token.Group
	Title string
	Help  string
	Perms []permField
}

// fgFormData is the new-token form.
type fgFormData struct {
	Name, Description string
	Owners            []fgOwner
	// OwnerNotes explain the organizations' policies.
	OwnerNotes []string
	Target     string
	TargetOrg  bool
	Expiry     expiryField
	Access     string
	// Selected are the chosen repositories; Results those of the search
	// (Query) not chosen yet, ResultsNote what to say about them.
	Selected    []pickRepo
	Query       string
	Results     []pickRepo
	ResultsNote string
	MaxRepos    int
	Groups      []permGroup
	Errors      formErrors
}

// fgForm is what the form sent (or the template URL asked for).
type fgForm struct {
	name, description string
	target            string
	choice, custom    string
	access            string
	repos             []string
	// selectionOwner is the owner the chosen repositories belong to.
	selectionOwner string
	query          string
	perms          map[string]string
}

// readFGForm reads the form's fields from v.
func readFGForm(v url.Values) fgForm {
	f := fgForm{
		name:           v.Get("name"),
		description:    v.Get("description"),
		target:         strings.TrimSpace(v.Get("target_name")),
		choice:         v.Get("expires"),
		custom:         v.Get("expires_date"),
		access:         v.Get("repository_access"),
		selectionOwner: strings.TrimSpace(v.Get("selection_owner")),
		query:          strings.TrimSpace(v.Get("repo_query")),
		perms:          map[string]string{},
	}
	for _, n := range v["repositories"] {
		if n = strings.TrimSpace(n); n != "" && !slices.Contains(f.repos, n) {
			f.repos = append(f.repos, n)
		}
	}
	for _, info := range token.Permissions() {
		if s, ok := v[info.Name]; ok && !info.Always {
			f.perms[info.Name] = s[0]
		}
	}
	return f
}

// fgTargets returns the resource owners the viewer may choose.
func (h *Handler) fgTargets(r *http.Request) ([]service.FineGrainedTarget, error) {
	return h.cfg.Service.FineGrainedTargets(r.Context(), actor(r), viewer(r).ID)
}

// findTarget returns the target named login ("" is the viewer).
func findTarget(targets []service.FineGrainedTarget, login string) (service.FineGrainedTarget, bool) {
	for i, t := range targets {
		if (login == "" && i == 0) || strings.EqualFold(t.Owner.Login, login) {
			return t, true
		}
	}
	return service.FineGrainedTarget{}, false
}

// fgPolicy merges the site's policy with the limits an organization puts
// on fine-grained tokens that target it: an expiration, and at most its
// longest lifetime.
func fgPolicy(site service.TokenPolicy, t service.FineGrainedTarget) service.TokenPolicy {
	p := site
	if t.Owner != nil && t.Owner.IsOrg {
		p.RequireExpiration = true
		if m := t.Policy.MaxFineGrainedDays; m > 0 && (p.MaxLifetimeDays == 0 || m < p.MaxLifetimeDays) {
			p.MaxLifetimeDays = m
		}
	}
	return p
}

// fgExpiryField is the expiration select for a token of target: every
// choice the site allows, those the organization refuses disabled (the
// script enables them again when the owner changes).
func (h *Handler) fgExpiryField(loc *Localizer, site service.TokenPolicy, target service.FineGrainedTarget, choice, custom string) expiryField {
	merged := fgPolicy(site, target)
	f := h.expiryField(loc, merged, choice, custom)
	all := h.expiryField(loc, site, f.Choice, custom)
	allowed := map[string]bool{}
	for _, o := range f.Options {
		allowed[o.Value] = true
	}
	for i := range all.Options {
		all.Options[i].Disabled = !allowed[all.Options[i].Value]
		all.Options[i].Selected = all.Options[i].Value == f.Choice
	}
	f.Options = all.Options
	f.SiteMaxDate = all.MaxDate
	if target.Owner != nil && target.Owner.IsOrg {
		if m := target.Policy.MaxFineGrainedDays; m > 0 {
			// The longest custom date an organization's limit lets
			// through: a custom date lasts until the end of its day.
			latest := h.now().UTC().AddDate(0, 0, m-1).Format(time.DateOnly)
			if f.MaxDate == "" || latest < f.MaxDate {
				f.MaxDate = latest
			}
		}
	}
	return f
}

// levelChoices lists the levels of a permission up to max, v selected.
func levelChoices(loc *Localizer, max token.Level, v token.Level) []choice {
	out := []choice{{Value: "none", Label: loc.T("fg.level_none"), Selected: v == token.NoAccess}}
	out = append(out, choice{Value: "read", Label: loc.T("fg.level_read"), Selected: v == token.ReadOnly})
	if max >= token.ReadWrite {
		out = append(out, choice{Value: "write", Label: loc.T("fg.level_write"), Selected: v == token.ReadWrite})
	}
	return out
}

// permGroups builds the permission selects with perms chosen.
func permGroups(loc *Localizer, perms map[string]string) []permGroup {
	groups := []permGroup{
		{Group: string(token.RepositoryPerms), Title: loc.T("fg.perms_repository"), Help: loc.T("fg.perms_repository_help")},
		{Group: string(token.OrganizationPerms), Title: loc.T("fg.perms_organization"), Help: loc.T("fg.perms_organization_help")},
		{Group: string(token.AccountPerms), Title: loc.T("fg.perms_account"), Help: loc.T("fg.perms_account_help")},
	}
	for _, info := range token.Permissions() {
		l, _ := token.ParseLevel(perms[info.Name])
		f := permField{Name: info.Name, Label: permLabel(loc, info.Name), Desc: loc.T(permKey(info.Name) + "_desc"), Always: info.Always}
		if !info.Always {
			f.Options = levelChoices(loc, info.Max, min(l, info.Max))
		}
		for i := range groups {
			if groups[i].Group == string(info.Group) {
				groups[i].Perms = append(groups[i].Perms, f)
			}
		}
	}
	return groups
}

// ownerRepos lists the repositories of owner that the viewer sees, by
// name; complete is false when there were more than the picker reads.
func (h *Handler) ownerRepos(r *http.Request, owner *gatehouse.User) (repos []*gatehouse.Repo, complete bool, err error) {
	for p := 1; p <= pickerPages; p++ {
		page, err := h.cfg.Service.ListRepos(r.Context(), actor(r), owner, false, gatehouse.Page{Page: p, PerPage: 100})
		if err != nil {
			return nil, false, err
		}
		repos = append(repos, page...)
		if len(page) < 100 {
			complete = true
			break
		}
	}
	slices.SortFunc(repos, func(a, b *gatehouse.Repo) int {
		return strings.Compare(strings.ToLower(a.Name), strings.ToLower(b.Name))
	})
	return repos, complete, nil
}

func pick(r *gatehouse.Repo) pickRepo {
	return pickRepo{Name: r.Name, FullName: r.FullName(), Private: r.Private}
}

// searchRepos returns up to pickerResults of repos whose name contains
// query (case-insensitive), leaving out those in skip, and whether there
// were more.
func searchRepos(repos []*gatehouse.Repo, query string, skip map[string]bool) ([]pickRepo, bool) {
	q := strings.ToLower(strings.TrimSpace(query))
	out := []pickRepo{}
	for _, repo := range repos {
		if skip[strings.ToLower(repo.Name)] || !strings.Contains(strings.ToLower(repo.Name), q) {
			continue
		}
		if len(out) == pickerResults {
			return out, true
		}
		out = append(out, pick(repo))
	}
	return out, false
}

// fgFormPage fills the form's data from f: the owners, the repositories
// of the chosen one, the expiration and the permissions.
func (h *Handler) fgFormPage(r *http.Request, f fgForm, errs formErrors) (*fgFormData, error) {
	loc := stateOf(r).loc
	targets, err := h.fgTargets(r)
	if err != nil {
		return nil, err
	}
	site, err := h.cfg.Service.TokenPolicy(r.Context())
	if err != nil {
		return nil, err
	}
	target, ok := findTarget(targets, f.target)
	if !ok || target.Policy.RestrictFineGrained {
		target = targets[0]
	}
	d := &fgFormData{Name: f.name, Description: f.description, Target: target.Owner.Login, TargetOrg: target.Owner.IsOrg,
		Expiry: h.fgExpiryField(loc, site, target, f.choice, f.custom), Access: f.access, Query: f.query,
		MaxRepos: gatehouse.MaxSelectedRepos, Groups: permGroups(loc, f.perms), Errors: errs}
	switch gatehouse.RepoAccess(d.Access) {
	case gatehouse.PublicRepos, gatehouse.AllRepos, gatehouse.SelectedRepos:
	default:
		d.Access = string(gatehouse.PublicRepos)
	}
	for i, t := range targets {
		o := fgOwner{Login: t.Owner.Login, Label: t.Owner.Login, Selected: t.Owner.ID == target.Owner.ID, Org: t.Owner.IsOrg,
			Disabled: t.Policy.RestrictFineGrained, MaxDays: t.Policy.MaxFineGrainedDays}
		if t.Policy.RestrictFineGrained {
			o.Label = loc.T("fg.owner_restricted_label", t.Owner.Login)
		}
		d.Owners = append(d.Owners, o)
		if i == 0 {
			continue
		}
		switch {
		case t.Policy.RestrictFineGrained:
			d.OwnerNotes = append(d.OwnerNotes, loc.T("fg.owner_note_restricted", t.Owner.Login))
		case t.Policy.RequireApproval && t.Role == gatehouse.OrgOwner:
			d.OwnerNotes = append(d.OwnerNotes, loc.T("fg.owner_note_owner", t.Owner.Login))
		case t.Policy.RequireApproval:
			d.OwnerNotes = append(d.OwnerNotes, loc.T("fg.owner_note_approval", t.Owner.Login))
		}
		if m := t.Policy.MaxFineGrainedDays; m > 0 && !t.Policy.RestrictFineGrained {
			d.OwnerNotes = append(d.OwnerNotes, loc.T("fg.owner_note_max", t.Owner.Login, m))
		}
	}
	repos, _, err := h.ownerRepos(r, target.Owner)
	if err != nil {
		return nil, err
	}
	chosen := map[string]bool{}
	if f.selectionOwner == "" || strings.EqualFold(f.selectionOwner, target.Owner.Login) {
		for _, n := range f.repos {
			n = strings.TrimPrefix(n, target.Owner.Login+"/")
			for _, repo := range repos {
				if strings.EqualFold(repo.Name, n) && !chosen[strings.ToLower(repo.Name)] {
					chosen[strings.ToLower(repo.Name)] = true
					d.Selected = append(d.Selected, pick(repo))
				}
			}
		}
	}
	var more bool
	d.Results, more = searchRepos(repos, f.query, chosen)
	switch {
	case len(d.Results) == 0 && f.query != "":
		d.ResultsNote = loc.T("fg.picker_no_match", f.query)
	case len(d.Results) == 0 && len(d.Selected) == 0:
		d.ResultsNote = loc.T("fg.picker_empty", target.Owner.Login)
	case more:
		d.ResultsNote = loc.T("fg.picker_more", pickerResults)
	}
	return d, nil
}

func (h *Handler) renderFGForm(w http.ResponseWriter, r *http.Request, status int, f fgForm, errs formErrors) {
	d, err := h.fgFormPage(r, f, errs)
	if err != nil {
		h.serverError(w, r, err)
		return
	}
	h.render(w, r, status, "fg_token_new", "fg.new_title", "fg-tokens", d)
}

// handleFineGrainedNew shows the form, filled from a template URL:
// ?name=…&description=…&target_name=OWNER&expires_in=DAYS and any
// permission as NAME=read|write.
func (h *Handler) handleFineGrainedNew(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	f := readFGForm(q)
	f.name, f.description = truncate(f.name, 200), truncate(f.description, 1024)
	f.repos, f.query = nil, ""
	switch days := strings.TrimSpace(q.Get("expires_in")); {
	case days == "":
	case days == "none" || days == "never":
		f.choice = "none"
	default:
		n, err := strconv.Atoi(days)
		if err != nil || n < 1 || n > token.MaxExpiryDays {
			break
		}
		f.choice = days
		if !slices.Contains(presetDays, n) {
			f.choice, f.custom = "custom", h.now().UTC().AddDate(0, 0, n).Format(time.DateOnly)
		}
	}
	h.renderFGForm(w, r, http.StatusOK, f, formErrors{})
}

// checkFGForm validates the form before the service does, so that every
// mistake is shown at once and in the page's language. It returns the
// service's request when there is none.
func (h *Handler) checkFGForm(r *http.Request, f fgForm) (service.NewFineGrained, formErrors, error) {
	loc := stateOf(r).loc
	errs := formErrors{}
	nf := service.NewFineGrained{UserID: viewer(r).ID, Name: f.name, Description: f.description}
	switch n := strings.TrimSpace(f.name); {
	case n == "":
		errs["name"] = loc.T("fg.err_name_blank")
	case utf8.RuneCountInString(n) > 200:
		errs["name"] = loc.T("fg.err_name_long")
	}
	if utf8.RuneCountInString(strings.TrimSpace(f.description)) > 1024 {
		errs["description"] = loc.T("fg.err_description")
	}
	targets, err := h.fgTargets(r)
	if err != nil {
		return nf, nil, err
	}
	target, ok := findTarget(targets, f.target)
	switch {
	case !ok:
		errs["target_name"] = loc.T("fg.err_owner")
		target = targets[0]
	case target.Policy.RestrictFineGrained:
		errs["target_name"] = loc.T("fg.err_owner_restricted", target.Owner.Login)
	}
	nf.Owner = target.Owner.Login

	site, err := h.cfg.Service.TokenPolicy(r.Context())
	if err != nil {
		return nf, nil, err
	}
	if v, ok := expiresValue(f.choice, f.custom); !ok {
		errs["expires"] = loc.T("tokens.err_date")
	} else {
		nf.Expires = v
		exp, err := token.ParseExpiry(v, h.now())
		switch {
		case err != nil:
			errs["expires"] = loc.T("tokens.err_date")
		case target.Owner.IsOrg && exp.IsZero():
			errs["expires"] = loc.T("fg.err_org_never", target.Owner.Login)
		case target.Owner.IsOrg && target.Policy.MaxFineGrainedDays > 0 &&
			exp.After(h.now().Add(time.Duration(target.Policy.MaxFineGrainedDays)*24*time.Hour+time.Minute)):
			errs["expires"] = loc.T("fg.err_org_max", target.Owner.Login, target.Policy.MaxFineGrainedDays)
		default:
			if perr := site.Allows(exp, h.now()); perr != nil {
				tokenFormErrors(loc, perr, site, errs)
			}
		}
	}

	a, err := h.checkFGAccess(r, f, target.Owner, errs)
	if err != nil {
		return nf, nil, err
	}
	nf.Repos, nf.RepoNames, nf.Permissions = a.Repos, a.RepoNames, a.Permissions
	return nf, errs, nil
}

// checkFGAccess validates the form's repository access and permissions
// for a token whose resource owner is owner, as checkFGForm does, into
// errs, and returns them in the service's terms.
func (h *Handler) checkFGAccess(r *http.Request, f fgForm, owner *gatehouse.User, errs formErrors) (service.FineGrainedAccess, error) {
	loc := stateOf(r).loc
	var a service.FineGrainedAccess
	a.Repos = gatehouse.RepoAccess(f.access)
	switch a.Repos {
	case gatehouse.PublicRepos, gatehouse.AllRepos:
	case gatehouse.SelectedRepos:
		if f.selectionOwner != "" && !strings.EqualFold(f.selectionOwner, owner.Login) {
			f.repos = nil // chosen among another owner's repositories
		}
		repos, complete, err := h.ownerRepos(r, owner)
		if err != nil {
			return a, err
		}
		for _, n := range f.repos {
			n = strings.TrimPrefix(n, owner.Login+"/")
			known := slices.ContainsFunc(repos, func(repo *gatehouse.Repo) bool { return strings.EqualFold(repo.Name, n) })
			if complete && !known {
				errs["repositories"] = loc.T("fg.err_repo_unknown", owner.Login, n)
				break
			}
			a.RepoNames = append(a.RepoNames, n)
		}
		switch {
		case len(f.repos) == 0:
			errs["repositories"] = loc.T("fg.err_repos_none")
		case len(f.repos) > gatehouse.MaxSelectedRepos:
			errs["repositories"] = loc.T("fg.err_repos_max", gatehouse.MaxSelectedRepos)
		}
	default:
		errs["repository_access"] = loc.T("fg.err_access")
	}

	a.Permissions = token.Perms{}
	for name, v := range f.perms {
		info, _ := token.PermissionInfo(name)
		l, ok := token.ParseLevel(v)
		if !ok || l > info.Max {
			errs["permissions"] = loc.T("fg.err_level", permLabel(loc, name))
			continue
		}
		if l == token.NoAccess {
			continue
		}
		a.Permissions[name] = l
		switch {
		case info.Group == token.AccountPerms && owner.IsOrg:
			errs["permissions"] = loc.T("fg.err_account_perms", permLabel(loc, name))
		case info.Group == token.OrganizationPerms && !owner.IsOrg:
			errs["permissions"] = loc.T("fg.err_org_perms", permLabel(loc, name))
		}
	}
	return a, nil
}

// fgFormErrors words a service error for the fine-grained token forms,
// or returns false when it is not a mistake in the form.
func fgFormErrors(loc *Localizer, err error, p service.TokenPolicy, errs formErrors) bool {
	switch {
	case gatehouse.IsKind(err, gatehouse.Conflict):
		errs["name"] = loc.T("fg.err_name_taken")
	case errors.Is(err, service.ErrExpirationRequired), errors.Is(err, service.ErrLifetimeTooLong):
		return tokenFormErrors(loc, err, p, errs)
	case gatehouse.IsKind(err, gatehouse.Invalid):
		switch {
		case isField(err, "name"):
			errs["name"] = loc.T("fg.err_name_long")
		case isField(err, "description"):
			errs["description"] = loc.T("fg.err_description")
		case isField(err, "owner"), isField(err, "user"):
			errs["target_name"] = gatehouse.ErrorMessage(err)
		case isField(err, "expires"):
			errs["expires"] = gatehouse.ErrorMessage(err)
		case isField(err, "repositories"), isField(err, "repository_access"):
			errs["repositories"] = gatehouse.ErrorMessage(err)
		case isField(err, "permissions"):
			errs["permissions"] = gatehouse.ErrorMessage(err)
		default:
			errs[""] = gatehouse.ErrorMessage(err)
		}
	default:
		return false
	}
	return true
}

// handleFineGrainedCreate issues the token; "op=search" (the picker's
// button, for browsers without the script) only shows the form again
// with the repositories that match.
func (h *Handler) handleFineGrainedCreate(w http.ResponseWriter, r *http.Request) {
	loc := stateOf(r).loc
	_ = r.ParseForm() // done already by the form-token check, which refused a bad body
	f := readFGForm(r.PostForm)
	if r.PostFormValue("op") == "search" {
		h.renderFGForm(w, r, http.StatusOK, f, formErrors{})
		return
	}
	nf, errs, err := h.checkFGForm(r, f)
	if err != nil {
		h.serverError(w, r, err)
		return
	}
	var issued *service.IssuedToken
	if !errs.Any() {
		issued, err = h.cfg.Service.CreateFineGrainedToken(r.Context(), actor(r), nf)
		if err != nil {
			site, perr := h.cfg.Service.TokenPolicy(r.Context())
			if perr != nil {
				h.serverError(w, r, perr)
				return
			}
			if !fgFormErrors(loc, err, site, errs) {
				h.serverError(w, r, err)
				return
			}
		}
	}
	if errs.Any() {
		h.renderFGForm(w, r, http.StatusUnprocessableEntity, f, errs)
		return
	}
	fl := &flash{Kind: "token", Key: "fg.created", Token: issued.Secret, TokenID: issued.Token.ID}
	if issued.Token.Approval == gatehouse.TokenPending {
		fl.Pending = nf.Owner
	}
	h.redirectFlash(w, r, "/settings/personal-access-tokens", fl)
}

// pickerAnswer is the picker's JSON.
type pickerAnswer struct {
	Owner        string     `json:"owner"`
	Repositories []pickRepo `json:"repositories"`
	// Truncated: more repositories match than were listed.
	Truncated bool `json:"truncated"`
}

// handleFineGrainedRepos answers the picker's script: the repositories of
// target_name whose name contains q, among those the viewer sees, as
// JSON. The page works without it (the form's search button).
func (h *Handler) handleFineGrainedRepos(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	targets, err := h.fgTargets(r)
	if err != nil {
		h.serverError(w, r, err)
		return
	}
	hdr := w.Header()
	hdr.Set("Content-Type", "application/json; charset=utf-8")
	hdr.Set("Cache-Control", "no-store")
	target, ok := findTarget(targets, strings.TrimSpace(q.Get("target_name")))
	if !ok {
		w.WriteHeader(http.StatusNotFound)
		json.NewEncoder(w).Encode(pickerAnswer{Repositories: []pickRepo{}})
		return
	}
	repos, _, err := h.ownerRepos(r, target.Owner)
	if err != nil {
		hdr.Del("Content-Type")
		h.serverError(w, r, err)
		return
	}
	skip := map[string]bool{}
	for _, n := range q["selected"] {
		skip[strings.ToLower(n)] = true
	}
	a := pickerAnswer{Owner: target.Owner.Login}
	a.Repositories, a.Truncated = searchRepos(repos, q.Get("q"), skip)
	json.NewEncoder(w).Encode(a)
}

// A token's page.

// fgAccessData is the page that changes a token's repositories and
// permissions: the creation form's fields, for the token's owner.
type fgAccessData struct {
	*fgFormData
	TokenID    int64
	TokenName  string
	ReviewNote string
}

// fgAccessForm is the form filled with t's access.
func (h *Handler) fgAccessForm(r *http.Request, t *gatehouse.Token) (fgForm, *gatehouse.User, error) {
	owner, repos, err := h.cfg.Service.TokenTarget(r.Context(), t)
	if err != nil {
		return fgForm{}, nil, err
	}
	f := fgForm{name: t.Note, target: owner.Login, selectionOwner: owner.Login, access: string(t.Repos), perms: map[string]string{}}
	for _, repo := range repos {
		f.repos = append(f.repos, repo.Name)
	}
	for n, l := range t.Permissions {
		f.perms[n] = token.Level(l).String()
	}
	return f, owner, nil
}

func (h *Handler) renderFGAccess(w http.ResponseWriter, r *http.Request, status int, t *gatehouse.Token, owner *gatehouse.User, f fgForm, errs formErrors) {
	loc := stateOf(r).loc
	f.target, f.name = owner.Login, t.Note
	d, err := h.fgFormPage(r, f, errs)
	if err != nil {
		h.serverError(w, r, err)
		return
	}
	ad := &fgAccessData{fgFormData: d, TokenID: t.ID, TokenName: t.Note}
	targets, err := h.fgTargets(r)
	if err != nil {
		h.serverError(w, r, err)
		return
	}
	switch target, ok := findTarget(targets, owner.Login); {
	case !ok || target.Policy.RestrictFineGrained || !strings.EqualFold(d.Target, owner.Login):
		// The user left the organization, or it no longer allows
		// fine-grained tokens: the service refuses any change.
		if _, set := errs[""]; !set {
			errs[""] = loc.T("fg.err_owner_restricted", owner.Login)
		}
		d.Target, d.TargetOrg = owner.Login, owner.IsOrg
	case authz.NeedsApproval(target.Owner, target.Role, target.Policy):
		ad.ReviewNote = loc.T("fg.access_review", owner.Login)
	}
	h.render(w, r, status, "fg_token_access", "fg.access_title", "fg-tokens", ad)
}

// handleFineGrainedAccessForm shows the token's repositories and
// permissions, to change.
func (h *Handler) handleFineGrainedAccessForm(w http.ResponseWriter, r *http.Request) {
	t, ok := h.ownFineGrained(w, r)
	if !ok {
		return
	}
	f, owner, err := h.fgAccessForm(r, t)
	if err != nil {
		h.serverError(w, r, err)
		return
	}
	h.renderFGAccess(w, r, http.StatusOK, t, owner, f, formErrors{})
}

// handleFineGrainedAccess changes them (Service.UpdateFineGrainedAccess);
// "op=search" shows the form again with the repositories that match, as
// on the creation form.
func (h *Handler) handleFineGrainedAccess(w http.ResponseWriter, r *http.Request) {
	loc := stateOf(r).loc
	t, ok := h.ownFineGrained(w, r)
	if !ok {
		return
	}
	_ = r.ParseForm() // done already by the form-token check, which refused a bad body
	f := readFGForm(r.PostForm)
	owner, _, err := h.cfg.Service.TokenTarget(r.Context(), t)
	if err != nil {
		h.serverError(w, r, err)
		return
	}
	if r.PostFormValue("op") == "search" {
		h.renderFGAccess(w, r, http.StatusOK, t, owner, f, formErrors{})
		return
	}
	errs := formErrors{}
	a, err := h.checkFGAccess(r, f, owner, errs)
	if err != nil {
		h.serverError(w, r, err)
		return
	}
	var updated *gatehouse.Token
	if !errs.Any() {
		updated, err = h.cfg.Service.UpdateFineGrainedAccess(r.Context(), actor(r), t.ID, a)
		switch {
		case err == nil:
		case errors.Is(err, service.ErrPendingWider):
			errs[""] = loc.T("fg.err_pending_wider", owner.Login)
		case gatehouse.IsKind(err, gatehouse.Conflict):
			errs[""] = loc.T("fg.err_changed")
		case gatehouse.IsKind(err, gatehouse.NotFound):
			h.renderError(w, r, http.StatusNotFound, "error.not_found")
			return
		case !fgFormErrors(loc, err, service.TokenPolicy{}, errs):
			h.serverError(w, r, err)
			return
		}
	}
	if errs.Any() {
		h.renderFGAccess(w, r, http.StatusUnprocessableEntity, t, owner, f, errs)
		return
	}
	fl := &flash{Kind: "notice", Key: "fg.access_saved", Args: []string{t.Note}}
	if updated.Approval == gatehouse.TokenPending && t.Approval != gatehouse.TokenPending {
		fl = &flash{Kind: "notice", Key: "fg.access_saved_pending", Args: []string{t.Note, owner.Login}}
	}
	h.redirectFlash(w, r, "/settings/personal-access-tokens/"+strconv.FormatInt(t.ID, 10), fl)
}

// fgTokenData is a fine-grained token's page, with its edit form, and the
// regenerate and delete pages.
type fgTokenData struct {
	Row         fgRow
	Name        string
	Description string
	Expiry      expiryField
	Errors      formErrors
}

// ownFineGrained loads the {pat} token of the viewer. A classic token is
// shown on its own page (GET) or not found here (POST); someone else's
// is not found.
func (h *Handler) ownFineGrained(w http.ResponseWriter, r *http.Request) (*gatehouse.Token, bool) {
	id, err := strconv.ParseInt(r.PathValue("pat"), 10, 64)
	if err != nil || id <= 0 {
		h.renderError(w, r, http.StatusNotFound, "error.not_found")
		return nil, false
	}
	t, err := h.cfg.Service.FindToken(r.Context(), actor(r), id)
	switch {
	case gatehouse.IsKind(err, gatehouse.NotFound):
		h.renderError(w, r, http.StatusNotFound, "error.not_found")
		return nil, false
	case err != nil:
		h.serverError(w, r, err)
		return nil, false
	case !t.FineGrained() && r.Method == http.MethodGet:
		to := "/settings/tokens/" + strconv.FormatInt(t.ID, 10)
		if rest := strings.TrimPrefix(r.URL.Path, "/settings/personal-access-tokens/"+r.PathValue("pat")); rest != "" && rest != "/access" {
			to += rest // a classic token's pages have the same names, but for access
		}
		http.Redirect(w, r, to, http.StatusSeeOther)
		return nil, false
	case !t.FineGrained():
		h.renderError(w, r, http.StatusNotFound, "error.not_found")
		return nil, false
	}
	return t, true
}

func (h *Handler) fgTokenData(w http.ResponseWriter, r *http.Request, t *gatehouse.Token) (*fgTokenData, bool) {
	row, err := h.fgRow(r, t)
	if err != nil {
		h.serverError(w, r, err)
		return nil, false
	}
	return &fgTokenData{Row: row, Name: t.Note, Description: t.Description, Errors: formErrors{}}, true
}

func (h *Handler) handleFineGrainedToken(w http.ResponseWriter, r *http.Request) {
	t, ok := h.ownFineGrained(w, r)
	if !ok {
		return
	}
	if d, ok := h.fgTokenData(w, r, t); ok {
		h.render(w, r, http.StatusOK, "fg_token", "fg.token_title", "fg-tokens", d)
	}
}

func (h *Handler) handleFineGrainedUpdate(w http.ResponseWriter, r *http.Request) {
	loc := stateOf(r).loc
	t, ok := h.ownFineGrained(w, r)
	if !ok {
		return
	}
	name, desc := r.PostFormValue("name"), r.PostFormValue("description")
	errs := formErrors{}
	switch n := strings.TrimSpace(name); {
	case n == "":
		errs["name"] = loc.T("fg.err_name_blank")
	case utf8.RuneCountInString(n) > 200:
		errs["name"] = loc.T("fg.err_name_long")
	}
	if utf8.RuneCountInString(strings.TrimSpace(desc)) > 1024 {
		errs["description"] = loc.T("fg.err_description")
	}
	var updated *gatehouse.Token
	if !errs.Any() {
		var err error
		updated, err = h.cfg.Service.UpdateFineGrainedToken(r.Context(), actor(r), t.ID, name, desc)
		if err != nil && !fgFormErrors(loc, err, service.TokenPolicy{}, errs) {
			h.serverError(w, r, err)
			return
		}
	}
	if errs.Any() {
		d, ok := h.fgTokenData(w, r, t)
		if !ok {
			return
		}
		d.Name, d.Description, d.Errors = name, desc, errs
		h.render(w, r, http.StatusUnprocessableEntity, "fg_token", "fg.token_title", "fg-tokens", d)
		return
	}
	h.redirectFlash(w, r, "/settings/personal-access-tokens/"+strconv.FormatInt(t.ID, 10),
		&flash{Kind: "notice", Key: "fg.updated", Args: []string{updated.Note}})
}

// tokenTarget returns the resource owner of t with the policy that
// applies to it, as FineGrainedTargets knows it; an organization the
// viewer left has no known policy, and the service decides.
func (h *Handler) tokenTarget(r *http.Request, t *gatehouse.Token) (service.FineGrainedTarget, error) {
	targets, err := h.fgTargets(r)
	if err != nil {
		return service.FineGrainedTarget{}, err
	}
	for _, target := range targets {
		if target.Owner.ID == t.TargetID {
			return target, nil
		}
	}
	owner, _, err := h.cfg.Service.TokenTarget(r.Context(), t)
	if err != nil && !gatehouse.IsKind(err, gatehouse.NotFound) {
		return service.FineGrainedTarget{}, err
	}
	return service.FineGrainedTarget{Owner: owner}, nil
}

func (h *Handler) fgRegenerateData(w http.ResponseWriter, r *http.Request, t *gatehouse.Token, choice, custom string) (*fgTokenData, service.TokenPolicy, service.FineGrainedTarget, bool) {
	loc := stateOf(r).loc
	site, ok := h.policy(w, r)
	if !ok {
		return nil, site, service.FineGrainedTarget{}, false
	}
	target, err := h.tokenTarget(r, t)
	if err != nil {
		h.serverError(w, r, err)
		return nil, site, target, false
	}
	d, ok := h.fgTokenData(w, r, t)
	if !ok {
		return nil, site, target, false
	}
	d.Expiry = h.expiryField(loc, fgPolicy(site, target), choice, custom)
	if target.Owner != nil && target.Owner.IsOrg {
		if m := target.Policy.MaxFineGrainedDays; m > 0 {
			latest := h.now().UTC().AddDate(0, 0, m-1).Format(time.DateOnly)
			if d.Expiry.MaxDate == "" || latest < d.Expiry.MaxDate {
				d.Expiry.MaxDate = latest
			}
		}
	}
	return d, site, target, true
}

func (h *Handler) handleFineGrainedRegenerateForm(w http.ResponseWriter, r *http.Request) {
	t, ok := h.ownFineGrained(w, r)
	if !ok {
		return
	}
	if d, _, _, ok := h.fgRegenerateData(w, r, t, "", ""); ok {
		h.render(w, r, http.StatusOK, "fg_token_regenerate", "fg.regenerate_title", "fg-tokens", d)
	}
}

func (h *Handler) handleFineGrainedRegenerate(w http.ResponseWriter, r *http.Request) {
	loc := stateOf(r).loc
	t, ok := h.ownFineGrained(w, r)
	if !ok {
		return
	}
	choice, custom := r.PostFormValue("expires"), r.PostFormValue("expires_date")
	d, site, target, ok := h.fgRegenerateData(w, r, t, choice, custom)
	if !ok {
		return
	}
	errs := formErrors{}
	v, valid := expiresValue(choice, custom)
	exp, err := token.ParseExpiry(v, h.now())
	isOrg := target.Owner != nil && target.Owner.IsOrg
	switch {
	case !valid || err != nil:
		errs["expires"] = loc.T("tokens.err_date")
	case isOrg && exp.IsZero():
		errs["expires"] = loc.T("fg.err_org_never", target.Owner.Login)
	case isOrg && target.Policy.MaxFineGrainedDays > 0 &&
		exp.After(h.now().Add(time.Duration(target.Policy.MaxFineGrainedDays)*24*time.Hour+time.Minute)):
		errs["expires"] = loc.T("fg.err_org_max", target.Owner.Login, target.Policy.MaxFineGrainedDays)
	default:
		if perr := site.Allows(exp, h.now()); perr != nil {
			tokenFormErrors(loc, perr, site, errs)
		}
	}
	var issued *service.IssuedToken
	if !errs.Any() {
		issued, err = h.cfg.Service.RegenerateToken(r.Context(), actor(r), t.ID, v)
		if err != nil && !fgFormErrors(loc, err, site, errs) {
			h.serverError(w, r, err)
			return
		}
	}
	if errs.Any() {
		d.Errors = errs
		h.render(w, r, http.StatusUnprocessableEntity, "fg_token_regenerate", "fg.regenerate_title", "fg-tokens", d)
		return
	}
	fl := &flash{Kind: "token", Key: "fg.regenerated", Token: issued.Secret, TokenID: issued.Token.ID}
	if issued.Token.Approval == gatehouse.TokenPending && target.Owner != nil {
		fl.Pending = target.Owner.Login
	}
	h.redirectFlash(w, r, "/settings/personal-access-tokens", fl)
}

func (h *Handler) handleFineGrainedDeleteForm(w http.ResponseWriter, r *http.Request) {
	t, ok := h.ownFineGrained(w, r)
	if !ok {
		return
	}
	if d, ok := h.fgTokenData(w, r, t); ok {
		h.render(w, r, http.StatusOK, "fg_token_delete", "fg.delete_title", "fg-tokens", d)
	}
}

func (h *Handler) handleFineGrainedDelete(w http.ResponseWriter, r *http.Request) {
	t, ok := h.ownFineGrained(w, r)
	if !ok {
		return
	}
	if _, err := h.cfg.Service.DeleteToken(r.Context(), actor(r), t.ID); err != nil && !gatehouse.IsKind(err, gatehouse.NotFound) {
		h.serverError(w, r, err)
		return
	}
	h.redirectFlash(w, r, "/settings/personal-access-tokens", &flash{Kind: "notice", Key: "fg.deleted", Args: []string{t.Note}})
}
