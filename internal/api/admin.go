package api

import (
	"net/http"

	"github.com/gatehouse/gatehouse"
)

// handleAdminTokenList is GET /admin/tokens: every user's personal access
// tokens in GHES's Authorization shape, never with the secret.
func (h *Handler) handleAdminTokenList(rq *request) error {
	tokens, err := listPage(rq, func(p gatehouse.Page) ([]*gatehouse.Token, error) {
		return h.svc.TokenPage(rq.Context(), rq.actor, p)
	})
	if err != nil {
		return err
	}
	users := map[int64]*gatehouse.User{}
	out := make([]authorization, 0, len(tokens))
	for _, t := range tokens {
		u := users[t.UserID]
		if u == nil {
			if u, err = h.svc.UserByID(rq.Context(), rq.actor, t.UserID); err != nil {
				return err
			}
			users[t.UserID] = u
		}
		a := h.authorization(t, u)
		if t.FineGrained() {
			o := users[t.TargetID]
			if o == nil {
				if o, err = h.svc.UserByID(rq.Context(), rq.actor, t.TargetID); err != nil {
					return err
				}
				users[t.TargetID] = o
			}
			a.ResourceOwner = &o.Login
		}
		out = append(out, a)
	}
	return rq.json(http.StatusOK, out)
}

// handleAdminTokenDelete is DELETE /admin/tokens/{id}: 204, the token stops
// working at once; 403 for the token making the call, as on GHES.
func (h *Handler) handleAdminTokenDelete(rq *request) error {
	id, err := rq.idParam("id")
	if err != nil {
		return err
	}
	if _, err := h.svc.DeleteToken(rq.Context(), rq.actor, id); err != nil {
		return err
	}
	h.log.Info("token revoked by site admin", "token_id", id, "admin", rq.actor.Login())
	return rq.noContent()
}
