package api

import (
	"net/http"
	"strconv"
	"strings"

	"github.com/gatehouse/gatehouse"
	"github.com/gatehouse/gatehouse/internal/authz"
	"github.com/gatehouse/gatehouse/internal/service"
	"github.com/gatehouse/gatehouse/internal/token"
)

// Organization owners review fine-grained tokens that target their
// organization (SPEC §10.4) with GitHub's endpoints. GitHub reserves them
// for GitHub Apps; here an owner calls them with a classic admin:org token
// or a fine-grained one with organization_administration: write. A
// request's id is its token's id.

// patPermissions is GitHub's permissions object of a fine-grained token,
// by group.
type patPermissions struct {
	Organization map[string]string `json:"organization,omitempty"`
	Repository   map[string]string `json:"repository,omitempty"`
	Other        map[string]string `json:"other,omitempty"`
}

func tokenPermissions(t *gatehouse.Token) patPermissions {
	var out patPermissions
	ps := authz.Perms(t)
	for _, info := range token.Permissions() {
		l := ps.Level(info.Name)
		if l == token.NoAccess {
			continue
		}
		var m *map[string]string
		switch info.Group {
		case token.OrganizationPerms:
			m = &out.Organization
		case token.RepositoryPerms:
			m = &out.Repository
		default:
			m = &out.Other
		}
		if *m == nil {
			*m = map[string]string{}
		}
		(*m)[info.Name] = l.String()
	}
	return out
}

// repositorySelection is GitHub's name of a token's repository access.
func repositorySelection(t *gatehouse.Token) string {
	switch t.Repos {
	case gatehouse.AllRepos:
		return "all"
	case gatehouse.SelectedRepos:
		return "subset"
	}
	return "none"
}

// patRequest is GitHub's organization-programmatic-access-grant-request.
type patRequest struct {
	ID                  int64          `json:"id"`
	Reason              *string        `json:"reason"`
	Owner               simpleUser     `json:"owner"`
	RepositorySelection string         `json:"repository_selection"`
	RepositoriesURL     string         `json:"repositories_url"`
	Permissions         patPermissions `json:"permissions"`
	CreatedAt           timestamp      `json:"created_at"`
	TokenID             int64          `json:"token_id"`
	TokenName           string         `json:"token_name"`
	TokenExpired        bool           `json:"token_expired"`
	TokenExpiresAt      timestamp      `json:"token_expires_at"`
	TokenLastUsedAt     timestamp      `json:"token_last_used_at"`
}

// pat is GitHub's organization-programmatic-access-grant.
type pat struct {
	ID                  int64          `json:"id"`
	Owner               simpleUser     `json:"owner"`
	RepositorySelection string         `json:"repository_selection"`
	RepositoriesURL     string         `json:"repositories_url"`
	Permissions         patPermissions `json:"permissions"`
	AccessGrantedAt     timestamp      `json:"access_granted_at"`
	TokenID             int64          `json:"token_id"`
	TokenName           string         `json:"token_name"`
	TokenExpired        bool           `json:"token_expired"`
	TokenExpiresAt      timestamp      `json:"token_expires_at"`
	TokenLastUsedAt     timestamp      `json:"token_last_used_at"`
}

func (h *Handler) patRequest(org *gatehouse.User, ot service.OrgToken) patRequest {
	t := ot.Token
	id := strconv.FormatInt(t.ID, 10)
	var reason *string
	if t.Description != "" {
		reason = &t.Description
	}
	return patRequest{
		ID: t.ID, Reason: reason, Owner: h.simpleUser(ot.Owner),
		RepositorySelection: repositorySelection(t),
		RepositoriesURL:     h.apiBase + "/orgs/" + org.Login + "/personal-access-token-requests/" + id + "/repositories",
		Permissions:         tokenPermissions(t), CreatedAt: timestamp(t.CreatedAt),
		TokenID: t.ID, TokenName: t.Note, TokenExpired: t.Expired(h.cfg.Now()),
		TokenExpiresAt: timestamp(t.ExpiresAt), TokenLastUsedAt: timestamp(t.LastUsedAt),
	}
}

func (h *Handler) pat(org *gatehouse.User, ot service.OrgToken) pat {
	t := ot.Token
	granted := t.ReviewedAt
	if granted.IsZero() {
		granted = t.CreatedAt // approved at creation
	}
	return pat{
		ID: t.ID, Owner: h.simpleUser(ot.Owner),
		RepositorySelection: repositorySelection(t),
		RepositoriesURL:     h.apiBase + "/orgs/" + org.Login + "/personal-access-tokens/" + strconv.FormatInt(t.ID, 10) + "/repositories",
		Permissions:         tokenPermissions(t), AccessGrantedAt: timestamp(granted),
		TokenID: t.ID, TokenName: t.Note, TokenExpired: t.Expired(h.cfg.Now()),
		TokenExpiresAt: timestamp(t.ExpiresAt), TokenLastUsedAt: timestamp(t.LastUsedAt),
	}
}

// handlePATRequestList is GET /orgs/{org}/personal-access-token-requests.
func (h *Handler) handlePATRequestList(rq *request) error {
	return h.listOrgTokens(rq, true)
}

// handlePATList is GET /orgs/{org}/personal-access-tokens.
func (h *Handler) handlePATList(rq *request) error {
	return h.listOrgTokens(rq, false)
}

func (h *Handler) listOrgTokens(rq *request, requests bool) error {
	org, err := rq.org()
	if err != nil {
		return err
	}
	ots, err := listPage(rq, func(p gatehouse.Page) ([]service.OrgToken, error) {
		return h.svc.OrgTokens(rq.Context(), rq.actor, org, requests, p)
	})
	if err != nil {
		return err
	}
	if requests {
		out := make([]patRequest, 0, len(ots))
		for _, ot := range ots {
			out = append(out, h.patRequest(org, ot))
		}
		return rq.json(http.StatusOK, out)
	}
	out := make([]pat, 0, len(ots))
	for _, ot := range ots {
		out = append(out, h.pat(org, ot))
	}
	return rq.json(http.StatusOK, out)
}

// reviewInput is the body of the review endpoints.
type reviewInput struct {
	Action        string  `json:"action"`
	Reason        *string `json:"reason"`
	PATRequestIDs []int64 `json:"pat_request_ids"`
	PATIDs        []int64 `json:"pat_ids"`
}

func (in reviewInput) approve(resource string) (bool, error) {
	switch in.Action {
	case "approve":
		return true, nil
	case "deny":
		return false, nil
	case "":
		return false, validation(resource, "action", "missing_field", "")
	}
	return false, validation(resource, "action", "invalid", `action must be "approve" or "deny"`)
}

// handlePATRequestReview is POST
// /orgs/{org}/personal-access-token-requests/{pat_request_id}: 204.
func (h *Handler) handlePATRequestReview(rq *request) error {
	id, err := rq.idParam("pat_request_id")
	if err != nil {
		return err
	}
	return h.review(rq, []int64{id}, http.StatusNoContent)
}

// handlePATRequestReviewMany is POST
// /orgs/{org}/personal-access-token-requests: 202.
func (h *Handler) handlePATRequestReviewMany(rq *request) error {
	var in reviewInput
	if err := rq.decode(&in); err != nil {
		return err
	}
	if len(in.PATRequestIDs) == 0 || len(in.PATRequestIDs) > 100 {
		return validation("PersonalAccessTokenRequest", "pat_request_ids", "invalid", "pat_request_ids lists 1 to 100 request ids")
	}
	return h.reviewWith(rq, in, in.PATRequestIDs, http.StatusAccepted)
}

func (h *Handler) review(rq *request, ids []int64, status int) error {
	var in reviewInput
	if err := rq.decode(&in); err != nil {
		return err
	}
	return h.reviewWith(rq, in, ids, status)
}

func (h *Handler) reviewWith(rq *request, in reviewInput, ids []int64, status int) error {
	approve, err := in.approve("PersonalAccessTokenRequest")
	if err != nil {
		return err
	}
	org, err := rq.org()
	if err != nil {
		return err
	}
	reason := ""
	if in.Reason != nil {
		reason = *in.Reason
	}
	for _, id := range ids {
		if _, err := h.svc.ReviewTokenRequest(rq.Context(), rq.actor, org, id, approve, reason); err != nil {
			return err
		}
	}
	if status == http.StatusNoContent {
		return rq.noContent()
	}
	return rq.json(status, struct{}{})
}

// handlePATRevoke is POST /orgs/{org}/personal-access-tokens/{pat_id}
// with {"action": "revoke"}: 204.
func (h *Handler) handlePATRevoke(rq *request) error {
	id, err := rq.idParam("pat_id")
	if err != nil {
		return err
	}
	return h.revoke(rq, []int64{id}, http.StatusNoContent)
}

// handlePATRevokeMany is POST /orgs/{org}/personal-access-tokens with
// {"action": "revoke", "pat_ids": [...]}: 202.
func (h *Handler) handlePATRevokeMany(rq *request) error {
	return h.revoke(rq, nil, http.StatusAccepted)
}

func (h *Handler) revoke(rq *request, ids []int64, status int) error {
	var in reviewInput
	if err := rq.decode(&in); err != nil {
		return err
	}
	switch strings.TrimSpace(in.Action) {
	case "revoke":
	case "":
		return validation("PersonalAccessToken", "action", "missing_field", "")
	default:
		return validation("PersonalAccessToken", "action", "invalid", `action must be "revoke"`)
	}
	if ids == nil {
		if len(in.PATIDs) == 0 || len(in.PATIDs) > 100 {
			return validation("PersonalAccessToken", "pat_ids", "invalid", "pat_ids lists 1 to 100 token ids")
		}
		ids = in.PATIDs
	}
	org, err := rq.org()
	if err != nil {
		return err
	}
	for _, id := range ids {
		if err := h.svc.RevokeOrgToken(rq.Context(), rq.actor, org, id); err != nil {
			return err
		}
	}
	if status == http.StatusNoContent {
		return rq.noContent()
	}
	return rq.json(status, struct{}{})
}

// handlePATRepos is GET …/personal-access-tokens/{pat_id}/repositories
// and …/personal-access-token-requests/{pat_request_id}/repositories: the
// repositories a token selects (empty unless its selection is a subset).
func (h *Handler) handlePATRepos(rq *request) error {
	name := "pat_id"
	if rq.PathValue("pat_request_id") != "" {
		name = "pat_request_id"
	}
	id, err := rq.idParam(name)
	if err != nil {
		return err
	}
	org, err := rq.org()
	if err != nil {
		return err
	}
	ot, err := h.svc.OrgTokenByID(rq.Context(), rq.actor, org, id)
	if err != nil {
		return err
	}
	out := make([]repository, 0, len(ot.Repos))
	for _, r := range ot.Repos {
		out = append(out, h.repository(r, org, gatehouse.PermNone, true))
	}
	return rq.json(http.StatusOK, out)
}
