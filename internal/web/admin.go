package web

import (
	"net/http"
	"strconv"
	"strings"

	"github.com/gatehouse/gatehouse"
	"github.com/gatehouse/gatehouse/internal/service"
)

// adminUsersData is the user administration page.
type adminUsersData struct {
	Users []*gatehouse.User
	New   struct {
		Login, Email, Name string
		Admin              bool
	}
	Errors formErrors
}

func (h *Handler) adminUsers(w http.ResponseWriter, r *http.Request, d *adminUsersData, status int) {
	var all []*gatehouse.User
	for p := 1; ; p++ {
		users, err := h.cfg.Service.ListUsers(r.Context(), actor(r), gatehouse.Page{Page: p, PerPage: 100})
		if err != nil {
			h.serverError(w, r, err)
			return
		}
		all = append(all, users...)
		if len(users) < 100 {
			break
		}
	}
	d.Users = all
	if d.Errors == nil {
		d.Errors = formErrors{}
	}
	h.render(w, r, status, "admin_users", "admin.users_title", "admin-users", d)
}

func (h *Handler) handleAdminUsers(w http.ResponseWriter, r *http.Request) {
	h.adminUsers(w, r, &adminUsersData{}, http.StatusOK)
}

func (h *Handler) handleAdminUserCreate(w http.ResponseWriter, r *http.Request) {
	loc := stateOf(r).loc
	d := &adminUsersData{Errors: formErrors{}}
	d.New.Login = strings.TrimSpace(r.PostFormValue("login"))
	d.New.Email = strings.TrimSpace(r.PostFormValue("email"))
	d.New.Name = strings.TrimSpace(r.PostFormValue("name"))
	d.New.Admin = r.PostFormValue("site_admin") == "1"
	pw := r.PostFormValue("password")
	// The form makes accounts people sign in to, so it needs a password;
	// token-only accounts come from the command line.
	nu := service.NewUser{Login: d.New.Login, Email: d.New.Email, Name: d.New.Name, Password: pw, SiteAdmin: d.New.Admin}
	for _, err := range service.NewUserProblems(nu, true) {
		accountErrors(loc, nu, err, d.Errors)
	}
	if !d.Errors.Any() {
		u, err := h.cfg.Service.CreateUser(r.Context(), actor(r), nu)
		switch {
		case err == nil:
			h.redirectFlash(w, r, "/admin/users", &flash{Kind: "notice", Key: "admin.user_created", Args: []string{u.Login}})
			return
		case gatehouse.IsKind(err, gatehouse.Conflict):
			d.Errors["login"] = loc.T("admin.err_user_taken")
		case gatehouse.IsKind(err, gatehouse.Invalid):
			accountErrors(loc, nu, err, d.Errors)
		default:
			h.serverError(w, r, err)
			return
		}
	}
	h.adminUsers(w, r, d, http.StatusUnprocessableEntity)
}

func (h *Handler) handleAdminUserAction(w http.ResponseWriter, r *http.Request) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil {
		h.renderError(w, r, http.StatusNotFound, "error.not_found")
		return
	}
	me := actor(r)
	ctx := r.Context()
	var u *gatehouse.User
	key := ""
	switch r.PathValue("action") {
	case "suspend":
		u, err = h.cfg.Service.SetSuspended(ctx, me, id, true)
		key = "admin.user_suspended"
	case "unsuspend":
		u, err = h.cfg.Service.SetSuspended(ctx, me, id, false)
		key = "admin.user_unsuspended"
	case "promote":
		u, err = h.cfg.Service.SetSiteAdmin(ctx, me, id, true)
		key = "admin.user_promoted"
	case "demote":
		u, err = h.cfg.Service.SetSiteAdmin(ctx, me, id, false)
		key = "admin.user_demoted"
	default:
		h.renderError(w, r, http.StatusNotFound, "error.not_found")
		return
	}
	switch {
	case err == nil:
		h.redirectFlash(w, r, "/admin/users", &flash{Kind: "notice", Key: key, Args: []string{u.Login}})
	case gatehouse.IsKind(err, gatehouse.NotFound):
		h.renderError(w, r, http.StatusNotFound, "error.not_found")
	case gatehouse.IsKind(err, gatehouse.Forbidden):
		h.redirectFlash(w, r, "/admin/users", &flash{Kind: "error", Key: "admin.err_self"})
	default:
		h.serverError(w, r, err)
	}
}

// adminTokensData is the list of every token.
type adminTokensData struct {
	Tokens []tokenRow
}

func (h *Handler) handleAdminTokens(w http.ResponseWriter, r *http.Request) {
	loc := stateOf(r).loc
	tokens, err := h.cfg.Service.ListAllTokens(r.Context(), actor(r))
	if err != nil {
		h.serverError(w, r, err)
		return
	}
	owners := map[int64]string{}
	d := &adminTokensData{}
	for _, t := range tokens {
		login, ok := owners[t.UserID]
		if !ok {
			u, err := h.cfg.Service.UserByID(r.Context(), actor(r), t.UserID)
			if err != nil && !gatehouse.IsKind(err, gatehouse.NotFound) {
				h.serverError(w, r, err)
				return
			}
			if u != nil {
				login = u.Login
			}
			owners[t.UserID] = login
		}
		row := h.tokenRow(loc, t)
		row.Owner = login
		d.Tokens = append(d.Tokens, row)
	}
	h.render(w, r, http.StatusOK, "admin_tokens", "admin.tokens_title", "admin-tokens", d)
}

func (h *Handler) handleAdminTokenRevoke(w http.ResponseWriter, r *http.Request) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil {
		h.renderError(w, r, http.StatusNotFound, "error.not_found")
		return
	}
	t, err := h.cfg.Service.DeleteToken(r.Context(), actor(r), id)
	switch {
	case err == nil:
		h.redirectFlash(w, r, "/admin/tokens", &flash{Kind: "notice", Key: "admin.token_revoked", Args: []string{t.Note}})
	case gatehouse.IsKind(err, gatehouse.NotFound):
		h.renderError(w, r, http.StatusNotFound, "error.not_found")
	default:
		h.serverError(w, r, err)
	}
}

// adminPolicyData is the token policy form.
type adminPolicyData struct {
	RequireExpiration bool
	MaxLifetimeDays   string
	MaxDays           int
	Errors            formErrors
}

func (h *Handler) handleAdminPolicy(w http.ResponseWriter, r *http.Request) {
	p, ok := h.policy(w, r)
	if !ok {
		return
	}
	d := &adminPolicyData{RequireExpiration: p.RequireExpiration, MaxDays: service.MaxPolicyDays, Errors: formErrors{}}
	if p.MaxLifetimeDays > 0 {
		d.MaxLifetimeDays = strconv.Itoa(p.MaxLifetimeDays)
	}
	h.render(w, r, http.StatusOK, "admin_policy", "admin.policy_title", "admin-policy", d)
}

func (h *Handler) handleAdminPolicyUpdate(w http.ResponseWriter, r *http.Request) {
	loc := stateOf(r).loc
	d := &adminPolicyData{
		RequireExpiration: r.PostFormValue("require_expiration") == "1",
		MaxLifetimeDays:   strings.TrimSpace(r.PostFormValue("max_lifetime_days")),
		MaxDays:           service.MaxPolicyDays,
		Errors:            formErrors{},
	}
	p := service.TokenPolicy{RequireExpiration: d.RequireExpiration}
	if d.MaxLifetimeDays != "" {
		n, err := strconv.Atoi(d.MaxLifetimeDays)
		if err != nil || n < 1 || n > service.MaxPolicyDays {
			d.Errors["max_lifetime_days"] = loc.T("admin.err_days", service.MaxPolicyDays)
		}
		p.MaxLifetimeDays = n
	}
	if !d.Errors.Any() {
		if err := h.cfg.Service.SetTokenPolicy(r.Context(), actor(r), p); err != nil {
			if !gatehouse.IsKind(err, gatehouse.Invalid) {
				h.serverError(w, r, err)
				return
			}
			d.Errors["max_lifetime_days"] = loc.T("admin.err_days", service.MaxPolicyDays)
		}
	}
	if d.Errors.Any() {
		h.render(w, r, http.StatusUnprocessableEntity, "admin_policy", "admin.policy_title", "admin-policy", d)
		return
	}
	h.redirectFlash(w, r, "/admin/policy", &flash{Kind: "notice", Key: "admin.policy_saved"})
}
