package web

import (
	"net/http"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/gatehouse/gatehouse"
)

// An organization's personal access token settings (SPEC §10.4): the
// policy, the pending requests of fine-grained tokens with approve and
// deny, and the active fine-grained tokens with revoke. Owners only, in
// sudo mode: the policy decides who reaches the organization's
// repositories. The service decides again on every change.

// maxPolicyDays is the longest lifetime an organization may set, as the
// service checks it.
const maxPolicyDays = 3650

// orgTokenTab is one of the three pages.
type orgTokenTab struct {
	Href, Label string
	Current     bool
}

func orgTokenTabs(loc *Localizer, org *gatehouse.User, current string) []orgTokenTab {
	tabs := []orgTokenTab{
		{Href: settingsPath(org, "personal-access-tokens"), Label: loc.T("org_tokens.tab_policy")},
		{Href: settingsPath(org, "personal-access-token-requests"), Label: loc.T("org_tokens.tab_requests")},
		{Href: settingsPath(org, "personal-access-tokens/active"), Label: loc.T("org_tokens.tab_active")},
	}
	for i := range tabs {
		tabs[i].Current = tabs[i].Href == current
	}
	return tabs
}

// orgPolicyData is the policy form.
type orgPolicyData struct {
	Org                 *gatehouse.User
	Tabs                []orgTokenTab
	RestrictClassic     bool
	RestrictFineGrained bool
	RequireApproval     bool
	MaxClassic          string
	MaxFineGrained      string
	MaxDays             int
	Errors              formErrors
}

func daysText(n int) string {
	if n <= 0 {
		return ""
	}
	return strconv.Itoa(n)
}

func (h *Handler) handleOrgTokenPolicy(w http.ResponseWriter, r *http.Request) {
	org, ok := h.managedOrg(w, r)
	if !ok {
		return
	}
	p, err := h.cfg.Service.OrgTokenPolicy(r.Context(), actor(r), org)
	if err != nil {
		h.orgError(w, r, err)
		return
	}
	d := &orgPolicyData{Org: org, Tabs: orgTokenTabs(stateOf(r).loc, org, settingsPath(org, "personal-access-tokens")),
		RestrictClassic: p.RestrictClassic, RestrictFineGrained: p.RestrictFineGrained, RequireApproval: p.RequireApproval,
		MaxClassic: daysText(p.MaxClassicDays), MaxFineGrained: daysText(p.MaxFineGrainedDays), MaxDays: maxPolicyDays, Errors: formErrors{}}
	h.render(w, r, http.StatusOK, "org_settings_tokens", "org_tokens.policy_title", "org-tokens", d)
}

// policyDays reads a maximum lifetime field: empty for none, else 1 to
// maxPolicyDays.
func policyDays(s string) (int, bool) {
	s = strings.TrimSpace(s)
	if s == "" {
		return 0, true
	}
	n, err := strconv.Atoi(s)
	return n, err == nil && n >= 1 && n <= maxPolicyDays
}

func (h *Handler) handleOrgTokenPolicyUpdate(w http.ResponseWriter, r *http.Request) {
	org, ok := h.managedOrg(w, r)
	if !ok {
		return
	}
	loc := stateOf(r).loc
	d := &orgPolicyData{Org: org, Tabs: orgTokenTabs(loc, org, settingsPath(org, "personal-access-tokens")),
		RestrictClassic:     r.PostFormValue("classic") == "restrict",
		RestrictFineGrained: r.PostFormValue("fine_grained") == "restrict",
		RequireApproval:     r.PostFormValue("require_approval") != "",
		MaxClassic:          strings.TrimSpace(r.PostFormValue("max_classic_days")),
		MaxFineGrained:      strings.TrimSpace(r.PostFormValue("max_fine_grained_days")),
		MaxDays:             maxPolicyDays, Errors: formErrors{}}
	p, err := h.cfg.Service.OrgTokenPolicy(r.Context(), actor(r), org)
	if err != nil {
		h.orgError(w, r, err)
		return
	}
	p.RestrictClassic, p.RestrictFineGrained, p.RequireApproval = d.RestrictClassic, d.RestrictFineGrained, d.RequireApproval
	var okDays bool
	if p.MaxClassicDays, okDays = policyDays(d.MaxClassic); !okDays {
		d.Errors["max_classic_days"] = loc.T("org_tokens.err_days", maxPolicyDays)
	}
	if p.MaxFineGrainedDays, okDays = policyDays(d.MaxFineGrained); !okDays {
		d.Errors["max_fine_grained_days"] = loc.T("org_tokens.err_days", maxPolicyDays)
	}
	if !d.Errors.Any() {
		err := h.cfg.Service.SetOrgTokenPolicy(r.Context(), actor(r), org, p)
		switch {
		case err == nil:
			h.redirectFlash(w, r, settingsPath(org, "personal-access-tokens"), &flash{Kind: "notice", Key: "org_tokens.policy_saved", Args: []string{org.Login}})
			return
		case fieldOf(err) == "max_lifetime":
			d.Errors["max_classic_days"] = loc.T("org_tokens.err_days", maxPolicyDays)
		case gatehouse.IsKind(err, gatehouse.Invalid):
			d.Errors[""] = gatehouse.ErrorMessage(err)
		default:
			h.orgError(w, r, err)
			return
		}
	}
	h.render(w, r, http.StatusUnprocessableEntity, "org_settings_tokens", "org_tokens.policy_title", "org-tokens", d)
}

// orgTokenRow is a fine-grained token that targets the organization.
type orgTokenRow struct {
	ID          int64
	Name        string
	Description string
	Requester   string
	Access      string
	Repos       []string
	Perms       []permView
	Expiry      string
	Never       bool
	LastUsed    string
	Created     string
}

// orgTokenList is the pending requests or the active tokens.
type orgTokenList struct {
	Org    *gatehouse.User
	Tabs   []orgTokenTab
	Tokens []orgTokenRow
	Prev   string
	Next   string
}

func (h *Handler) orgTokenList(w http.ResponseWriter, r *http.Request, requests bool) {
	org, ok := h.managedOrg(w, r)
	if !ok {
		return
	}
	loc := stateOf(r).loc
	base := settingsPath(org, "personal-access-tokens/active")
	tmpl, title, nav := "org_settings_tokens_active", "org_tokens.active_title", "org-tokens-active"
	if requests {
		base, tmpl, title, nav = settingsPath(org, "personal-access-token-requests"), "org_settings_token_requests", "org_tokens.requests_title", "org-token-requests"
	}
	n, _ := strconv.Atoi(r.URL.Query().Get("page"))
	n = min(max(n, 1), gatehouse.MaxPage)
	tokens, err := h.cfg.Service.OrgTokens(r.Context(), actor(r), org, requests, gatehouse.Page{Page: n, PerPage: listAll})
	if err != nil {
		h.orgError(w, r, err)
		return
	}
	d := &orgTokenList{Org: org, Tabs: orgTokenTabs(loc, org, base)}
	for _, ot := range tokens {
		t := ot.Token
		tr := h.tokenRow(loc, t)
		row := orgTokenRow{ID: t.ID, Name: t.Note, Description: t.Description, Access: accessText(loc, t, len(ot.Repos)),
			Perms: tokenPerms(loc, t), Expiry: tr.Expiry, Never: tr.Never, LastUsed: tr.LastUsed, Created: loc.Date(t.CreatedAt)}
		if ot.Owner != nil {
			row.Requester = ot.Owner.Login
		}
		for _, repo := range ot.Repos {
			row.Repos = append(row.Repos, repo.FullName())
		}
		d.Tokens = append(d.Tokens, row)
	}
	if len(tokens) == listAll {
		d.Next = pageLink(base, n+1)
	}
	if n > 1 {
		d.Prev = pageLink(base, n-1)
	}
	h.render(w, r, http.StatusOK, tmpl, title, nav, d)
}

func (h *Handler) handleOrgTokenRequests(w http.ResponseWriter, r *http.Request) {
	h.orgTokenList(w, r, true)
}

func (h *Handler) handleOrgTokensActive(w http.ResponseWriter, r *http.Request) {
	h.orgTokenList(w, r, false)
}

// orgTokenID reads {pat}; a bad one is not found.
func (h *Handler) orgTokenID(w http.ResponseWriter, r *http.Request) (int64, bool) {
	id, err := strconv.ParseInt(r.PathValue("pat"), 10, 64)
	if err != nil || id <= 0 {
		h.renderError(w, r, http.StatusNotFound, "error.not_found")
		return 0, false
	}
	return id, true
}

// handleOrgTokenReview approves or denies a pending request, with the
// reason the owner gave.
func (h *Handler) handleOrgTokenReview(w http.ResponseWriter, r *http.Request) {
	org, ok := h.managedOrg(w, r)
	if !ok {
		return
	}
	id, ok := h.orgTokenID(w, r)
	if !ok {
		return
	}
	back := settingsPath(org, "personal-access-token-requests")
	action, reason := r.PostFormValue("action"), strings.TrimSpace(r.PostFormValue("reason"))
	if action != "approve" && action != "deny" {
		h.redirectFlash(w, r, back, &flash{Kind: "error", Key: "org_tokens.err_action"})
		return
	}
	if utf8.RuneCountInString(reason) > 1024 {
		h.redirectFlash(w, r, back, &flash{Kind: "error", Key: "org_tokens.err_reason"})
		return
	}
	t, err := h.cfg.Service.ReviewTokenRequest(r.Context(), actor(r), org, id, action == "approve", reason)
	switch {
	case err == nil:
		key := "org_tokens.approved"
		if action == "deny" {
			key = "org_tokens.denied"
		}
		h.redirectFlash(w, r, back, &flash{Kind: "notice", Key: key, Args: []string{t.Note}})
	case gatehouse.IsKind(err, gatehouse.NotFound):
		h.redirectFlash(w, r, back, &flash{Kind: "error", Key: "org_tokens.err_gone"})
	case fieldOf(err) == "action":
		h.redirectFlash(w, r, back, &flash{Kind: "error", Key: "org_tokens.err_reviewed"})
	case fieldOf(err) == "reason":
		h.redirectFlash(w, r, back, &flash{Kind: "error", Key: "org_tokens.err_reason"})
	default:
		h.orgError(w, r, err)
	}
}

// handleOrgTokenRevoke revokes an active fine-grained token that targets
// the organization.
func (h *Handler) handleOrgTokenRevoke(w http.ResponseWriter, r *http.Request) {
	org, ok := h.managedOrg(w, r)
	if !ok {
		return
	}
	id, ok := h.orgTokenID(w, r)
	if !ok {
		return
	}
	back := settingsPath(org, "personal-access-tokens/active")
	ot, err := h.cfg.Service.OrgTokenByID(r.Context(), actor(r), org, id)
	if err == nil {
		err = h.cfg.Service.RevokeOrgToken(r.Context(), actor(r), org, id)
	}
	switch {
	case err == nil:
		owner := ""
		if ot.Owner != nil {
			owner = ot.Owner.Login
		}
		h.redirectFlash(w, r, back, &flash{Kind: "notice", Key: "org_tokens.revoked", Args: []string{ot.Token.Note, owner}})
	case gatehouse.IsKind(err, gatehouse.NotFound):
		h.redirectFlash(w, r, back, &flash{Kind: "error", Key: "org_tokens.err_gone"})
	default:
		h.orgError(w, r, err)
	}
}
