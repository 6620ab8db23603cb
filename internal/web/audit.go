package web

import (
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/gatehouse/gatehouse"
	"github.com/gatehouse/gatehouse/internal/service"
)

// auditPerPage is the number of events on one page of a log.
const auditPerPage = 50

// auditActionKeys names each recorded action in the catalogs. An action
// missing here (a newer one) is shown by its name.
var auditActionKeys = map[gatehouse.AuditAction]string{
	gatehouse.AuditTokenCreate:      "audit.action_create",
	gatehouse.AuditTokenUpdate:      "audit.action_update",
	gatehouse.AuditTokenRegenerate:  "audit.action_regenerate",
	gatehouse.AuditTokenDelete:      "audit.action_delete",
	gatehouse.AuditTokenExpire:      "audit.action_expire",
	gatehouse.AuditTokenAdminRevoke: "audit.action_admin_revoke",
	gatehouse.AuditTokenLeaked:      "audit.action_leaked",
	gatehouse.AuditAuthFailure:      "audit.action_auth_failure",

	gatehouse.AuditTokenRequest:       "audit.action_token_request",
	gatehouse.AuditTokenRequestCancel: "audit.action_token_request_cancel",
	gatehouse.AuditTokenApprove:       "audit.action_token_approve",
	gatehouse.AuditTokenDeny:          "audit.action_token_deny",
	gatehouse.AuditTokenOrgRevoke:     "audit.action_token_org_revoke",
	gatehouse.AuditTokenPolicy:        "audit.action_token_policy",

	gatehouse.AuditRepoAddMember:    "audit.action_repo_add_member",
	gatehouse.AuditRepoUpdateMember: "audit.action_repo_update_member",
	gatehouse.AuditRepoRemoveMember: "audit.action_repo_remove_member",
	gatehouse.AuditRepoArchive:      "audit.action_repo_archived",
	gatehouse.AuditRepoUnarchive:    "audit.action_repo_unarchived",
	gatehouse.AuditRepoRename:       "audit.action_repo_rename",
	gatehouse.AuditRepoDestroy:      "audit.action_repo_destroy",

	gatehouse.AuditOrgCreate:         "audit.action_org_create",
	gatehouse.AuditOrgUpdate:         "audit.action_org_update",
	gatehouse.AuditOrgBasePermission: "audit.action_org_base_permission",
	gatehouse.AuditOrgAddMember:      "audit.action_org_add_member",
	gatehouse.AuditOrgUpdateMember:   "audit.action_org_update_member",
	gatehouse.AuditOrgRemoveMember:   "audit.action_org_remove_member",

	gatehouse.AuditTeamCreate:           "audit.action_team_create",
	gatehouse.AuditTeamUpdate:           "audit.action_team_update",
	gatehouse.AuditTeamDestroy:          "audit.action_team_destroy",
	gatehouse.AuditTeamAddMember:        "audit.action_team_add_member",
	gatehouse.AuditTeamUpdateMember:     "audit.action_team_update_member",
	gatehouse.AuditTeamRemoveMember:     "audit.action_team_remove_member",
	gatehouse.AuditTeamAddRepository:    "audit.action_team_add_repository",
	gatehouse.AuditTeamUpdateRepository: "audit.action_team_update_repository",
	gatehouse.AuditTeamRemoveRepository: "audit.action_team_remove_repository",

	gatehouse.AuditKeyCreate:       "audit.action_public_key_create",
	gatehouse.AuditKeyDelete:       "audit.action_public_key_delete",
	gatehouse.AuditDeployKeyCreate: "audit.action_deploy_key_create",
	gatehouse.AuditDeployKeyDelete: "audit.action_deploy_key_delete",
}

// auditReasonKeys translates the reasons of failed authentications; other
// details are shown as recorded.
var auditReasonKeys = map[string]string{
	service.ReasonUnknownToken: "audit.reason_unknown_token",
	service.ReasonExpiredToken: "audit.reason_expired_token",
	service.ReasonMalformed:    "audit.reason_malformed",
	service.ReasonPassword:     "audit.reason_password",
	service.ReasonSudoPassword: "audit.reason_sudo_password",
}

// auditRow is one event ready to show.
type auditRow struct {
	When    string
	ISO     string
	Action  string
	Code    string // the action's name, as exported logs spell it
	Failure bool
	User    string // the account concerned; "" for none
	Actor   string // who did it; "" for the system or an anonymous client
	TokenID int64
	Note    string
	// Target names what an event without a token is about: the
	// repository, organization or team, or the SSH key's title (the
	// event's note).
	Target string
	Detail string
	IP     string
}

// auditData is a page of a log.
type auditData struct {
	Rows []auditRow
	// Admin is true on the site admin's log, which shows whose account
	// each event concerns and filters by user.
	Admin bool
	User  string // the filter, as typed
	// UnknownUser is true when the filter names no account.
	UnknownUser bool
	Prev, Next  string // links to newer and older events, "" at either end
}

func (h *Handler) handleSecurityLog(w http.ResponseWriter, r *http.Request) {
	d := &auditData{}
	if !h.auditPage(w, r, d, viewer(r).ID, "/settings/security-log") {
		return
	}
	h.render(w, r, http.StatusOK, "settings_security_log", "audit.security_title", "security-log", d)
}

func (h *Handler) handleAdminAuditLog(w http.ResponseWriter, r *http.Request) {
	d := &auditData{Admin: true, User: strings.TrimSpace(r.URL.Query().Get("user"))}
	var userID int64
	if d.User != "" {
		u, err := h.cfg.Service.FindUser(r.Context(), actor(r), d.User)
		switch {
		case gatehouse.IsKind(err, gatehouse.NotFound):
			d.UnknownUser = true
			h.render(w, r, http.StatusOK, "admin_audit_log", "audit.admin_title", "admin-audit", d)
			return
		case err != nil:
			h.serverError(w, r, err)
			return
		}
		userID = u.ID
	}
	base := "/admin/audit-log"
	if d.User != "" {
		base += "?user=" + url.QueryEscape(d.User)
	}
	if !h.auditPage(w, r, d, userID, base) {
		return
	}
	h.render(w, r, http.StatusOK, "admin_audit_log", "audit.admin_title", "admin-audit", d)
}

// auditPage fills d with the page of events of userID (0: everyone's)
// that the query asks for. It writes the error page itself and returns
// false when there is nothing to render.
func (h *Handler) auditPage(w http.ResponseWriter, r *http.Request, d *auditData, userID int64, base string) bool {
	page, _ := strconv.Atoi(r.URL.Query().Get("page"))
	page = min(max(page, 1), gatehouse.MaxPage)
	entries, more, err := h.cfg.Service.AuditLog(r.Context(), actor(r), userID, gatehouse.Page{Page: page, PerPage: auditPerPage})
	switch {
	case gatehouse.IsKind(err, gatehouse.NotFound):
		h.renderError(w, r, http.StatusNotFound, "error.not_found")
		return false
	case err != nil:
		h.serverError(w, r, err)
		return false
	}
	if more {
		d.Next = pageLink(base, page+1)
	}
	if page > 1 {
		d.Prev = pageLink(base, page-1)
	}
	loc := stateOf(r).loc
	for _, e := range entries {
		d.Rows = append(d.Rows, auditRowOf(loc, e))
	}
	return true
}

func auditRowOf(loc *Localizer, e service.AuditEntry) auditRow {
	row := auditRow{
		When: loc.DateTime(e.At), ISO: e.At.UTC().Format("2006-01-02T15:04:05Z"),
		Action: string(e.Action), Code: string(e.Action), Failure: e.Action == gatehouse.AuditAuthFailure,
		TokenID: e.TokenID, Note: e.Note, Detail: e.Detail, IP: e.IP, User: e.User, Actor: e.Actor,
	}
	switch a := string(e.Action); {
	case strings.HasPrefix(a, "org."), strings.HasPrefix(a, "team."), strings.HasPrefix(a, "repo."),
		strings.HasPrefix(a, "public_key."), strings.HasPrefix(a, "deploy_key."):
		row.Target = e.Note
	}
	if key, ok := auditActionKeys[e.Action]; ok {
		row.Action = loc.T(key)
	}
	if key, ok := auditReasonKeys[e.Detail]; ok {
		row.Detail = loc.T(key)
	}
	return row
}

// pageLink adds a page number to a URL that may have a query already.
func pageLink(base string, page int) string {
	sep := "?"
	if strings.Contains(base, "?") {
		sep = "&"
	}
	if page == 1 {
		return base
	}
	return base + sep + "page=" + strconv.Itoa(page)
}
