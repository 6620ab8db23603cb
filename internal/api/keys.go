package api

import (
	"net/http"
	"strconv"

	"github.com/gatehouse/gatehouse"
)

func (rq *request) idParam(name string) (int64, error) {
	id, err := strconv.ParseInt(rq.PathValue(name), 10, 64)
	if err != nil || id <= 0 {
		return 0, errNotFound
	}
	return id, nil
}

// handleKeyList is GET /user/keys.
func (h *Handler) handleKeyList(rq *request) error {
	uid := rq.user().ID
	keys, err := listPage(rq, func(p gatehouse.Page) ([]*gatehouse.Key, error) {
		return h.svc.ListKeys(rq.Context(), rq.actor, uid, p)
	})
	if err != nil {
		return err
	}
	out := make([]key, 0, len(keys))
	for _, k := range keys {
		out = append(out, h.key(k))
	}
	return rq.json(http.StatusOK, out)
}

// handleKeyGet is GET /user/keys/{id}; another user's key is not found.
func (h *Handler) handleKeyGet(rq *request) error {
	id, err := rq.idParam("id")
	if err != nil {
		return err
	}
	k, err := h.svc.FindKey(rq.Context(), rq.actor, id)
	if err != nil {
		return err
	}
	return rq.json(http.StatusOK, h.key(k))
}

// handleKeyCreate is POST /user/keys {title, key}: 201.
func (h *Handler) handleKeyCreate(rq *request) error {
	var in struct {
		Title string `json:"title"`
		Key   string `json:"key"`
	}
	if err := rq.decode(&in); err != nil {
		return err
	}
	if in.Key == "" {
		return validation("PublicKey", "key", "missing_field", "")
	}
	k, err := h.svc.CreateKey(rq.Context(), rq.actor, rq.user().ID, in.Title, in.Key)
	if err != nil {
		switch gatehouse.ErrorKind(err) {
		case gatehouse.Invalid:
			return validation("PublicKey", "key", "custom", gatehouse.ErrorMessage(err))
		case gatehouse.Conflict:
			return validation("PublicKey", "key", "custom", "key is already in use")
		}
		return err
	}
	return rq.json(http.StatusCreated, h.key(k))
}

// handleKeyDelete is DELETE /user/keys/{id}: 204.
func (h *Handler) handleKeyDelete(rq *request) error {
	id, err := rq.idParam("id")
	if err != nil {
		return err
	}
	if err := h.svc.DeleteKey(rq.Context(), rq.actor, id); err != nil {
		return err
	}
	return rq.noContent()
}

// handleUserKeysPublic is GET /users/{username}/keys: public keys are
// public, as on GitHub.
func (h *Handler) handleUserKeysPublic(rq *request) error {
	u, err := h.svc.FindUser(rq.Context(), rq.actor, rq.PathValue("username"))
	if err != nil {
		return err
	}
	keys, err := listPage(rq, func(p gatehouse.Page) ([]*gatehouse.Key, error) {
		return h.svc.ListKeys(rq.Context(), rq.actor, u.ID, p)
	})
	if err != nil {
		return err
	}
	out := make([]publicKey, 0, len(keys))
	for _, k := range keys {
		out = append(out, publicKey{ID: k.ID, Key: k.Key})
	}
	return rq.json(http.StatusOK, out)
}
