package api

import (
	"errors"
	"net/http"
	"strconv"

	"github.com/gatehouse/gatehouse"
	"github.com/gatehouse/gatehouse/internal/service"
)

// handleCredentialsRevoke is POST /credentials/revoke {"credentials": […]}:
// GitHub's endpoint for revoking tokens found exposed, without knowing
// whose they are. The answer is 202 whatever the list holds, so it tells
// nothing of which tokens were live.
func (h *Handler) handleCredentialsRevoke(rq *request) error {
	var in struct {
		Credentials *[]string `json:"credentials"`
	}
	if err := rq.decode(&in); err != nil {
		return err
	}
	if in.Credentials == nil {
		return validation("Credentials", "credentials", "missing_field", "")
	}
	err := h.svc.ReportLeakedTokens(rq.Context(), rq.actor, *in.Credentials)
	switch {
	case errors.Is(err, service.ErrBusy):
		rq.w.Header().Set("Retry-After", strconv.Itoa(3600))
		writeError(rq.w, http.StatusTooManyRequests, gatehouse.ErrorMessage(err), nil)
		return nil
	case gatehouse.IsKind(err, gatehouse.Invalid):
		return validation("Credentials", "credentials", "invalid", gatehouse.ErrorMessage(err))
	case err != nil:
		return err
	}
	return rq.json(http.StatusAccepted, struct{}{})
}
