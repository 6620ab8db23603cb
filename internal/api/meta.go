package api

import (
	"io"
	"net/http"
)

// root is GET /api/v3/: a map of URL templates. gh calls it to check a
// token (it needs 200 and the X-OAuth-Scopes header).
type root struct {
	CurrentUserURL             string `json:"current_user_url"`
	CurrentUserRepositoriesURL string `json:"current_user_repositories_url"`
	EmailsURL                  string `json:"emails_url"`
	KeysURL                    string `json:"keys_url"`
	OrganizationURL            string `json:"organization_url"`
	RateLimitURL               string `json:"rate_limit_url"`
	RepositoryURL              string `json:"repository_url"`
	UserURL                    string `json:"user_url"`
	UserOrganizationsURL       string `json:"user_organizations_url"`
	UserRepositoriesURL        string `json:"user_repositories_url"`
}

func (h *Handler) handleRoot(rq *request) error {
	a := h.apiBase
	return rq.json(http.StatusOK, root{
		CurrentUserURL:             a + "/user",
		CurrentUserRepositoriesURL: a + "/user/repos{?type,page,per_page,sort}",
		EmailsURL:                  a + "/user/emails",
		KeysURL:                    a + "/user/keys",
		OrganizationURL:            a + "/orgs/{org}",
		RateLimitURL:               a + "/rate_limit",
		RepositoryURL:              a + "/repos/{owner}/{repo}",
		UserURL:                    a + "/users/{user}",
		UserOrganizationsURL:       a + "/user/orgs",
		UserRepositoriesURL:        a + "/users/{user}/repos{?type,page,per_page,sort}",
	})
}

// meta is GET /meta. installed_version is how clients recognise a GitHub
// Enterprise Server and its feature level; gatehouse_version is ours.
type meta struct {
	VerifiablePasswordAuthentication bool   `json:"verifiable_password_authentication"`
	InstalledVersion                 string `json:"installed_version"`
	GatehouseVersion                 string `json:"gatehouse_version"`
}

func (h *Handler) handleMeta(rq *request) error {
	return rq.json(http.StatusOK, meta{
		// Account passwords are refused on the API and for Git.
		VerifiablePasswordAuthentication: false,
		InstalledVersion:                 EnterpriseVersion,
		GatehouseVersion:                 h.cfg.Version,
	})
}

// zen are short sayings for GET /zen, in our own words.
var zen = []string{
	"A token is a password with a note and an end date.",
	"Grant the narrowest scope that does the job.",
	"What is not shown cannot leak.",
	"Delete what you no longer use.",
	"Say why, not what.",
	"Small commits are easy to trust.",
	"A missing thing and a hidden thing look the same from outside.",
}

func (h *Handler) handleZen(rq *request) error {
	s := zen[int(h.cfg.Now().Unix())%len(zen)]
	hd := rq.w.Header()
	hd.Set("Content-Type", "text/plain;charset=utf-8")
	rq.w.WriteHeader(http.StatusOK)
	io.WriteString(rq.w, s)
	return nil
}

// handleRateLimit reports the caller's budgets without spending any. With
// rate limiting off it answers 404 "Rate limiting is not enabled.", as a
// GitHub Enterprise Server does.
func (h *Handler) handleRateLimit(rq *request) error {
	if h.limiter == nil {
		writeError(rq.w, http.StatusNotFound, msgNoRateLimit, nil)
		return nil
	}
	ip := h.cfg.Network.ClientIP(rq.Request)
	core := h.limiter.peek("core", rq.actor, ip)
	gql := h.limiter.peek("graphql", rq.actor, ip)
	h.limiter.headers(rq.w.Header(), core)
	return rq.json(http.StatusOK, rateLimits{
		Resources: map[string]rateResource{"core": core.wire(), "graphql": gql.wire()},
		Rate:      core.wire(),
	})
}
