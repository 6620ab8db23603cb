package api

import (
	"context"
	"fmt"
	"net/http"
	"testing"

	"github.com/gatehouse/gatehouse"
	"github.com/gatehouse/gatehouse/internal/service"
)

// A site admin's DELETE /admin/tokens/{id} is recorded in the owner's
// security log as a revocation by that admin, from the caller's address.
func TestAdminRevokeAudited(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	admin, err := e.svc.CreateToken(ctx, system, service.NewToken{UserID: e.root.ID, Note: "admin", Scopes: []string{"site_admin"}, Expires: "never"})
	if err != nil {
		t.Fatal(err)
	}
	victim, err := e.svc.CreateToken(ctx, system, service.NewToken{UserID: e.bob.ID, Note: "victim", Expires: "never"})
	if err != nil {
		t.Fatal(err)
	}
	w := e.do(t, "DELETE", fmt.Sprintf("%s/admin/tokens/%d", Prefix, victim.Token.ID), "token "+admin.Secret, nil)
	if w.Code != http.StatusNoContent {
		t.Fatalf("DELETE: %d %s", w.Code, w.Body)
	}
	evs, err := e.store.ListAuditEvents(ctx, gatehouse.AuditFilter{UserID: e.bob.ID}, gatehouse.Page{})
	if err != nil || len(evs) != 2 {
		t.Fatalf("bob's log = %v, %v", evs, err)
	}
	got := evs[0]
	if got.Action != gatehouse.AuditTokenAdminRevoke || got.ActorID != e.root.ID || got.TokenID != victim.Token.ID ||
		got.Note != "victim" || got.IP == "" {
		t.Errorf("revocation recorded as %+v", *got)
	}
	if evs[1].Action != gatehouse.AuditTokenCreate || evs[1].ActorID != 0 {
		t.Errorf("creation outside a request recorded as %+v", *evs[1])
	}
}
