package service

import (
	"context"
	"fmt"

	"github.com/gatehouse/gatehouse"
	"github.com/gatehouse/gatehouse/internal/authz"
)

// Deploy keys (GET|POST|DELETE /repos/{owner}/{repo}/keys, repository
// settings → Deploy keys). Each use case takes the repository the
// transport loaded with Repo and re-decides the admin role on it, as
// GitHub asks of deploy key management.

// CreateDeployKey validates an OpenSSH public key and registers it as a
// deploy key of r, read-only unless readOnly is false, recording
// deploy_key.create. The comment is dropped; an empty title becomes the
// comment. Errors: Invalid (not a public key), Conflict (registered
// already, by anyone, as a user key or a deploy key), NotFound, Forbidden.
func (s *Service) CreateDeployKey(ctx context.Context, actor *gatehouse.Actor, r *gatehouse.Repo, title, key string, readOnly bool) (*gatehouse.DeployKey, error) {
	const op = "create deploy key"
	if _, err := s.authorize(ctx, actor, r, authz.Admin); err != nil {
		return nil, err
	}
	text, fp, title, err := parseKey(op, key, title)
	if err != nil {
		return nil, err
	}
	row := &gatehouse.DeployKey{RepoID: r.ID, Title: title, Key: text, Fingerprint: fp, ReadOnly: readOnly}
	if err := s.keys.CreateDeployKey(ctx, row); err != nil {
		return nil, err
	}
	s.recordDeployKey(ctx, actor, gatehouse.AuditDeployKeyCreate, r, row)
	return row, nil
}

// ListDeployKeys returns a page of r's deploy keys. Errors: NotFound,
// Forbidden.
func (s *Service) ListDeployKeys(ctx context.Context, actor *gatehouse.Actor, r *gatehouse.Repo, page gatehouse.Page) ([]*gatehouse.DeployKey, error) {
	if _, err := s.authorizeFor(ctx, actor, r, authz.Need{Action: authz.Admin, Perm: authz.AdministrationRead}); err != nil {
		return nil, err
	}
	return s.keys.ListDeployKeys(ctx, r.ID, page)
}

// FindDeployKey returns deploy key id of r; a key of another repository is
// NotFound. Errors: NotFound, Forbidden.
func (s *Service) FindDeployKey(ctx context.Context, actor *gatehouse.Actor, r *gatehouse.Repo, id int64) (*gatehouse.DeployKey, error) {
	if _, err := s.authorizeFor(ctx, actor, r, authz.Need{Action: authz.Admin, Perm: authz.AdministrationRead}); err != nil {
		return nil, err
	}
	row, err := s.keys.FindDeployKey(ctx, id)
	if err != nil {
		return nil, err
	}
	if row.RepoID != r.ID {
		return nil, gatehouse.E("find deploy key", gatehouse.NotFound, "key not found")
	}
	return row, nil
}

// DeleteDeployKey removes deploy key id of r, recording
// deploy_key.delete. The store announces the deletion to every node, whose
// SSH servers end the sessions the key opened (WatchSessions). Errors:
// NotFound, Forbidden.
func (s *Service) DeleteDeployKey(ctx context.Context, actor *gatehouse.Actor, r *gatehouse.Repo, id int64) error {
	if _, err := s.authorize(ctx, actor, r, authz.Admin); err != nil {
		return err
	}
	row, err := s.FindDeployKey(ctx, actor, r, id)
	if err != nil {
		return err
	}
	if err := s.keys.DeleteDeployKey(ctx, id); err != nil {
		return err
	}
	s.recordDeployKey(ctx, actor, gatehouse.AuditDeployKeyDelete, r, row)
	return nil
}

func (s *Service) recordDeployKey(ctx context.Context, actor *gatehouse.Actor, action gatehouse.AuditAction, r *gatehouse.Repo, k *gatehouse.DeployKey) {
	s.record(ctx, actor, gatehouse.AuditEvent{Action: action, Note: r.FullName(),
		Detail: fmt.Sprintf("title=%q fingerprint=%s read_only=%t", k.Title, k.Fingerprint, k.ReadOnly)})
}
