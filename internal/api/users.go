package api

import (
	"net/http"

	"github.com/gatehouse/gatehouse"
)

// handleUserGet is GET /user. This is the hottest call of the API: it
// answers from the authenticated actor alone and touches no database.
// Private profile fields need the user (or read:user) scope, as on GitHub.
func (h *Handler) handleUserGet(rq *request) error {
	u := rq.user()
	if rq.hasScope("read:user") {
		return rq.json(http.StatusOK, h.privateUser(u))
	}
	return rq.json(http.StatusOK, h.publicUser(u))
}

// handleUserPatch is PATCH /user. Only the display name is stored; the
// other profile fields GitHub has (blog, company, …) are accepted and
// ignored, and the e-mail address changes only in the web UI, where the
// password is confirmed.
func (h *Handler) handleUserPatch(rq *request) error {
	var in struct {
		Name  *string `json:"name"`
		Email *string `json:"email"`
	}
	if err := rq.decode(&in); err != nil {
		return err
	}
	u := rq.user()
	if in.Email != nil && *in.Email != u.Email {
		return validation("User", "email", "custom", "email can only be changed in the web interface")
	}
	name := u.Name
	if in.Name != nil {
		name = *in.Name
	}
	nu, err := h.svc.UpdateProfile(rq.Context(), rq.actor, u.ID, name, u.Email, u.Locale)
	if err != nil {
		return err
	}
	return rq.json(http.StatusOK, h.privateUser(nu))
}

// handleUserEmails is GET /user/emails: the one address of the account.
// Gatehouse does not verify addresses, and says so.
func (h *Handler) handleUserEmails(rq *request) error {
	u := rq.user()
	out := []email{}
	if u.Email != "" {
		vis := "private"
		out = append(out, email{Email: u.Email, Primary: true, Verified: false, Visibility: &vis})
	}
	return rq.json(http.StatusOK, slicePage(rq, out))
}

// handleUserShow is GET /users/{username}; an organization's login
// answers with the organization as a user-shaped account of type
// "Organization", as on GitHub (gh reads its node_id and type to create
// repositories in it).
func (h *Handler) handleUserShow(rq *request) error {
	u, err := h.svc.FindUser(rq.Context(), rq.actor, rq.PathValue("username"))
	if err != nil {
		return err
	}
	return rq.json(http.StatusOK, h.publicUser(u))
}

// handleUserRepos is GET /user/repos: repositories the caller owns or
// collaborates on. Private ones are listed only for a token with the repo
// scope. Supported filters: visibility (all, public, private), affiliation
// (owner alone narrows to owned repositories) and type (all, owner,
// public, private, member).
func (h *Handler) handleUserRepos(rq *request) error {
	u := rq.user()
	q := rq.URL.Query()
	vis, typ, aff := q.Get("visibility"), q.Get("type"), q.Get("affiliation")
	owned := typ == "owner" || aff == "owner"
	publicOnly := vis == "public" || typ == "public"
	privateOnly := vis == "private" || typ == "private"
	repos, err := listPage(rq, func(p gatehouse.Page) ([]*gatehouse.Repo, error) {
		return h.svc.ListOwnRepos(rq.Context(), rq.actor, owned, publicOnly, p)
	})
	if err != nil {
		return err
	}
	if typ == "member" || privateOnly {
		kept := repos[:0]
		for _, r := range repos {
			if (typ != "member" || r.OwnerID != u.ID) && (!privateOnly || r.Private) {
				kept = append(kept, r)
			}
		}
		repos = kept
	}
	return h.writeRepos(rq, repos)
}

// handleUserReposPublic is GET /users/{username}/repos: public
// repositories only, whoever asks.
func (h *Handler) handleUserReposPublic(rq *request) error {
	owner, err := h.svc.FindUser(rq.Context(), rq.actor, rq.PathValue("username"))
	if err != nil {
		return err
	}
	repos, err := listPage(rq, func(p gatehouse.Page) ([]*gatehouse.Repo, error) {
		return h.svc.ListRepos(rq.Context(), rq.actor, owner, true, p)
	})
	if err != nil {
		return err
	}
	return h.writeRepos(rq, repos)
}

// writeRepos converts a list of repositories, loading each owner once and
// the caller's permission on each.
func (h *Handler) writeRepos(rq *request, repos []*gatehouse.Repo) error {
	out := make([]repository, 0, len(repos))
	owners := map[int64]*gatehouse.User{}
	if u := rq.user(); u != nil {
		owners[u.ID] = u
	}
	for _, r := range repos {
		owner := owners[r.OwnerID]
		if owner == nil {
			var err error
			if owner, err = h.svc.UserByID(rq.Context(), rq.actor, r.OwnerID); err != nil {
				return err
			}
			owners[r.OwnerID] = owner
		}
		perm, err := h.svc.Role(rq.Context(), rq.actor, r)
		if err != nil {
			return err
		}
		out = append(out, h.repository(r, owner, perm, rq.user() != nil))
	}
	return rq.json(http.StatusOK, out)
}
