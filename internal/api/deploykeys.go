package api

import (
	"net/http"
	"strconv"

	"github.com/gatehouse/gatehouse"
)

// deployKey is GitHub's "deploy-key".
type deployKey struct {
	ID        int64     `json:"id"`
	Key       string    `json:"key"`
	URL       string    `json:"url"`
	Title     string    `json:"title"`
	Verified  bool      `json:"verified"`
	CreatedAt timestamp `json:"created_at"`
	ReadOnly  bool      `json:"read_only"`
	AddedBy   *string   `json:"added_by"`
	LastUsed  timestamp `json:"last_used"`
	Enabled   bool      `json:"enabled"`
}

func (h *Handler) deployKey(repo *gatehouse.Repo, k *gatehouse.DeployKey) deployKey {
	return deployKey{
		ID: k.ID, Key: k.Key, Title: k.Title, Verified: true, ReadOnly: k.ReadOnly, Enabled: true,
		URL:       h.apiBase + "/repos/" + repo.FullName() + "/keys/" + strconv.FormatInt(k.ID, 10),
		CreatedAt: timestamp(k.CreatedAt), LastUsed: timestamp(k.LastUsedAt),
	}
}

// handleDeployKeyList is GET /repos/{o}/{r}/keys.
func (h *Handler) handleDeployKeyList(rq *request) error {
	repo, _, err := rq.repo()
	if err != nil {
		return err
	}
	keys, err := listPage(rq, func(p gatehouse.Page) ([]*gatehouse.DeployKey, error) {
		return h.svc.ListDeployKeys(rq.Context(), rq.actor, repo, p)
	})
	if err != nil {
		return err
	}
	out := make([]deployKey, 0, len(keys))
	for _, k := range keys {
		out = append(out, h.deployKey(repo, k))
	}
	return rq.json(http.StatusOK, out)
}

// handleDeployKeyGet is GET /repos/{o}/{r}/keys/{id}.
func (h *Handler) handleDeployKeyGet(rq *request) error {
	repo, _, err := rq.repo()
	if err != nil {
		return err
	}
	id, err := rq.idParam("id")
	if err != nil {
		return err
	}
	k, err := h.svc.FindDeployKey(rq.Context(), rq.actor, repo, id)
	if err != nil {
		return err
	}
	return rq.json(http.StatusOK, h.deployKey(repo, k))
}

// handleDeployKeyCreate is POST /repos/{o}/{r}/keys {title, key, read_only}:
// 201. As on GitHub, a key without read_only may push.
func (h *Handler) handleDeployKeyCreate(rq *request) error {
	repo, _, err := rq.repo()
	if err != nil {
		return err
	}
	var in struct {
		Title    string `json:"title"`
		Key      string `json:"key"`
		ReadOnly bool   `json:"read_only"`
	}
	if err := rq.decode(&in); err != nil {
		return err
	}
	if in.Key == "" {
		return validation("PublicKey", "key", "missing_field", "")
	}
	k, err := h.svc.CreateDeployKey(rq.Context(), rq.actor, repo, in.Title, in.Key, in.ReadOnly)
	if err != nil {
		switch gatehouse.ErrorKind(err) {
		case gatehouse.Invalid:
			return validation("PublicKey", "key", "custom", gatehouse.ErrorMessage(err))
		case gatehouse.Conflict:
			return validation("PublicKey", "key", "custom", "key is already in use")
		}
		return err
	}
	return rq.json(http.StatusCreated, h.deployKey(repo, k))
}

// handleDeployKeyDelete is DELETE /repos/{o}/{r}/keys/{id}: 204; its open
// SSH sessions end.
func (h *Handler) handleDeployKeyDelete(rq *request) error {
	repo, _, err := rq.repo()
	if err != nil {
		return err
	}
	id, err := rq.idParam("id")
	if err != nil {
		return err
	}
	if err := h.svc.DeleteDeployKey(rq.Context(), rq.actor, repo, id); err != nil {
		return err
	}
	return rq.noContent()
}
