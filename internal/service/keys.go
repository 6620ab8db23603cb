package service

import (
	"context"
	"strings"

	"golang.org/x/crypto/ssh"

	"github.com/gatehouse/gatehouse"
	"github.com/gatehouse/gatehouse/internal/authz"
)

// CreateKey validates an OpenSSH public key and registers it for userID
// (authz.ManageKeys). The comment is dropped; an empty title becomes the
// comment, if any. Errors: Invalid (not a public key), Conflict
// (registered already), NotFound.
func (s *Service) CreateKey(ctx context.Context, actor *gatehouse.Actor, userID int64, title, key string) (*gatehouse.Key, error) {
	const op = "create key"
	if err := authz.ManageKeys(actor, userID); err != nil {
		return nil, err
	}
	key = strings.TrimSpace(key)
	pub, comment, _, rest, err := ssh.ParseAuthorizedKey([]byte(key))
	if err != nil || len(strings.TrimSpace(string(rest))) > 0 {
		return nil, &gatehouse.Error{Op: op, Kind: gatehouse.Invalid, Field: "key",
			Msg: "key is invalid. You must supply a key in OpenSSH public key format"}
	}
	if strings.TrimSpace(title) == "" {
		title = comment
	}
	if len(title) > 255 {
		return nil, &gatehouse.Error{Op: op, Kind: gatehouse.Invalid, Field: "title", Msg: "title is too long (maximum is 255 characters)"}
	}
	row := &gatehouse.Key{
		UserID:      userID,
		Title:       strings.TrimSpace(title),
		Key:         strings.TrimSpace(string(ssh.MarshalAuthorizedKey(pub))),
		Fingerprint: ssh.FingerprintSHA256(pub),
	}
	if err := s.keys.CreateKey(ctx, row); err != nil {
		return nil, err
	}
	return row, nil
}

// FindKey returns key id if the actor may manage it; a key of anyone else
// is NotFound.
func (s *Service) FindKey(ctx context.Context, actor *gatehouse.Actor, id int64) (*gatehouse.Key, error) {
	row, err := s.keys.FindKey(ctx, id)
	if err != nil {
		return nil, err
	}
	if err := authz.ManageKeys(actor, row.UserID); err != nil {
		return nil, err
	}
	return row, nil
}

// DeleteKey removes key id if the actor may manage it. Errors: NotFound.
func (s *Service) DeleteKey(ctx context.Context, actor *gatehouse.Actor, id int64) error {
	if _, err := s.FindKey(ctx, actor, id); err != nil {
		return err
	}
	return s.keys.DeleteKey(ctx, id)
}

// ListKeys returns a page of userID's public keys. Public keys are public,
// as on GitHub (GET /users/{username}/keys), except to anonymous callers
// of an instance in private mode.
func (s *Service) ListKeys(ctx context.Context, actor *gatehouse.Actor, userID int64, page gatehouse.Page) ([]*gatehouse.Key, error) {
	if err := authz.SeeUsers(actor, s.privateMode); err != nil {
		return nil, err
	}
	return s.keys.ListKeys(ctx, userID, page)
}
