package service

import (
	"context"

	"github.com/gatehouse/gatehouse"
	"github.com/gatehouse/gatehouse/internal/authz"
)

// MayCreateOrg reports whether the actor may create an organization
// (authz.CreateOrg with this instance's setting), so that the web UI
// offers the form only to those the service would let through.
func (s *Service) MayCreateOrg(actor *gatehouse.Actor) bool {
	return authz.CreateOrg(actor, !s.noUserOrgs) == nil
}

// ManagedOrg returns the organization named login and the actor's role in
// it when the actor may change its settings (authz.EditOrg: an owner). The
// organization's settings pages use it before showing anything. Errors:
// NotFound (no such organization, or the actor may not manage it, so that
// the settings do not announce themselves), Unauthenticated.
func (s *Service) ManagedOrg(ctx context.Context, actor *gatehouse.Actor, login string) (*gatehouse.User, gatehouse.OrgRole, error) {
	const op = "manage organization"
	org, err := s.FindOrg(ctx, actor, login)
	if err != nil {
		return nil, "", err
	}
	role, err := s.OrgRole(ctx, actor, org)
	if err != nil {
		return nil, "", err
	}
	if err := authz.EditOrg(actor, role); err != nil {
		if gatehouse.IsKind(err, gatehouse.Unauthenticated) {
			return nil, "", err
		}
		return nil, "", gatehouse.E(op, gatehouse.NotFound, "Not Found")
	}
	return org, role, nil
}
