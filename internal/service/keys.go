package service

import (
	"context"
	"strings"

	"golang.org/x/crypto/ssh"

	"github.com/gatehouse/gatehouse"
	"github.com/gatehouse/gatehouse/internal/authz"
)

// parseKey validates an OpenSSH public key in authorized_keys form and a
// title for it, an empty one becoming the key's comment. It returns the
// key without its comment, its fingerprint and the title.
func parseKey(op, key, title string) (text, fingerprint, name string, err error) {
	pub, comment, _, rest, perr := ssh.ParseAuthorizedKey([]byte(strings.TrimSpace(key)))
	if perr != nil || len(strings.TrimSpace(string(rest))) > 0 {
		return "", "", "", &gatehouse.Error{Op: op, Kind: gatehouse.Invalid, Field: "key",
			Msg: "key is invalid. You must supply a key in OpenSSH public key format"}
	}
	if strings.TrimSpace(title) == "" {
		title = comment
	}
	title = strings.TrimSpace(title)
	if len(title) > 255 {
		return "", "", "", &gatehouse.Error{Op: op, Kind: gatehouse.Invalid, Field: "title", Msg: "title is too long (maximum is 255 characters)"}
	}
	return strings.TrimSpace(string(ssh.MarshalAuthorizedKey(pub))), ssh.FingerprintSHA256(pub), title, nil
}

// CreateKey validates an OpenSSH public key and registers it for userID
// (authz.ManageKeys), recording public_key.create. The comment is dropped;
// an empty title becomes the comment, if any. Errors: Invalid (not a
// public key), Conflict (registered already, by anyone, as a user key or
// a deploy key), NotFound.
func (s *Service) CreateKey(ctx context.Context, actor *gatehouse.Actor, userID int64, title, key string) (*gatehouse.Key, error) {
	const op = "create key"
	if err := authz.ManageKeys(actor, userID); err != nil {
		return nil, err
	}
	text, fp, title, err := parseKey(op, key, title)
	if err != nil {
		return nil, err
	}
	row := &gatehouse.Key{UserID: userID, Title: title, Key: text, Fingerprint: fp}
	if err := s.keys.CreateKey(ctx, row); err != nil {
		return nil, err
	}
	s.record(ctx, actor, gatehouse.AuditEvent{Action: gatehouse.AuditKeyCreate, UserID: userID, Note: row.Title, Detail: "fingerprint=" + row.Fingerprint})
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

// DeleteKey removes key id if the actor may manage it, recording
// public_key.delete. The store announces the deletion to every node, whose
// SSH servers end the sessions the key opened (WatchSessions). Errors:
// NotFound.
func (s *Service) DeleteKey(ctx context.Context, actor *gatehouse.Actor, id int64) error {
	row, err := s.FindKey(ctx, actor, id)
	if err != nil {
		return err
	}
	if err := s.keys.DeleteKey(ctx, id); err != nil {
		return err
	}
	s.record(ctx, actor, gatehouse.AuditEvent{Action: gatehouse.AuditKeyDelete, UserID: row.UserID, Note: row.Title, Detail: "fingerprint=" + row.Fingerprint})
	return nil
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
