package api

import (
	"net/http"

	"github.com/gatehouse/gatehouse"
)

// collaborators returns everyone with a role on repo: the owner first
// (admin), then the explicit grants by login.
func (h *Handler) collaborators(rq *request, repo *gatehouse.Repo) ([]collaborator, error) {
	grants, err := h.svc.ListCollaborators(rq.Context(), rq.actor, repo)
	if err != nil {
		return nil, err
	}
	out := make([]collaborator, 0, len(grants))
	for _, g := range grants {
		out = append(out, h.collaborator(g.User, g.Permission))
	}
	return out, nil
}

func (h *Handler) collaborator(u *gatehouse.User, p gatehouse.Permission) collaborator {
	return collaborator{simpleUser: h.simpleUser(u), Permissions: permissionsOf(p), RoleName: roleName(p)}
}

// handleCollaboratorList is GET /repos/{o}/{r}/collaborators (push access
// needed, as on GitHub).
func (h *Handler) handleCollaboratorList(rq *request) error {
	repo, _, err := rq.repo()
	if err != nil {
		return err
	}
	all, err := h.collaborators(rq, repo)
	if err != nil {
		return err
	}
	return rq.json(http.StatusOK, slicePage(rq, all))
}

// findCollaborator returns the user's role on repo, PermNone when the
// user exists but has none.
func (h *Handler) findCollaborator(rq *request, repo *gatehouse.Repo) (*gatehouse.User, gatehouse.Permission, error) {
	return h.svc.CollaboratorRole(rq.Context(), rq.actor, repo, rq.PathValue("username"))
}

// handleCollaboratorCheck is GET /repos/{o}/{r}/collaborators/{u}: 204 for
// a collaborator, 404 otherwise.
func (h *Handler) handleCollaboratorCheck(rq *request) error {
	repo, _, err := rq.repo()
	if err != nil {
		return err
	}
	_, p, err := h.findCollaborator(rq, repo)
	if err != nil {
		return err
	}
	if p == gatehouse.PermNone {
		return errNotFound
	}
	return rq.noContent()
}

// handleCollaboratorPermission is GET …/collaborators/{u}/permission.
func (h *Handler) handleCollaboratorPermission(rq *request) error {
	repo, _, err := rq.repo()
	if err != nil {
		return err
	}
	u, p, err := h.findCollaborator(rq, repo)
	if err != nil {
		return err
	}
	if p == gatehouse.PermNone && !repo.Private {
		p = gatehouse.PermRead
	}
	return rq.json(http.StatusOK, repoPermission{
		Permission: legacyPermission(p), RoleName: roleName(p), User: h.collaborator(u, p),
	})
}

// handleCollaboratorPut is PUT /repos/{o}/{r}/collaborators/{u}
// {"permission": pull|triage|push|maintain|admin}. Gatehouse has no
// invitations: the grant takes effect at once and the answer is 204, which
// GitHub gives when no invitation is needed.
func (h *Handler) handleCollaboratorPut(rq *request) error {
	repo, _, err := rq.repo()
	if err != nil {
		return err
	}
	var in struct {
		Permission string `json:"permission"`
	}
	if err := rq.decode(&in); err != nil {
		return err
	}
	p := gatehouse.PermWrite // GitHub's default is push
	if in.Permission != "" {
		var ok bool
		if p, ok = gatehouse.ParsePermission(in.Permission); !ok {
			return validation("Collaborator", "permission", "invalid", "permission must be one of pull, triage, push, maintain, admin")
		}
	}
	if _, err := h.svc.SetCollaborator(rq.Context(), rq.actor, repo, rq.PathValue("username"), p); err != nil {
		if gatehouse.IsKind(err, gatehouse.Invalid) {
			return validation("Collaborator", "username", "custom", gatehouse.ErrorMessage(err))
		}
		return err
	}
	return rq.noContent()
}

// handleCollaboratorDelete is DELETE /repos/{o}/{r}/collaborators/{u}: 204.
func (h *Handler) handleCollaboratorDelete(rq *request) error {
	repo, _, err := rq.repo()
	if err != nil {
		return err
	}
	if _, err := h.svc.SetCollaborator(rq.Context(), rq.actor, repo, rq.PathValue("username"), gatehouse.PermNone); err != nil {
		if gatehouse.IsKind(err, gatehouse.Invalid) {
			return validation("Collaborator", "username", "custom", gatehouse.ErrorMessage(err))
		}
		return err
	}
	return rq.noContent()
}
