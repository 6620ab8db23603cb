package service

import (
	"context"
	"fmt"
	"strings"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/gatehouse/gatehouse"
	"github.com/gatehouse/gatehouse/internal/gitrepo"
)

// CreateRepoReadme creates a repository like CreateRepo and, when
// withReadme is set, gives it a first commit on its default branch holding
// a README.md, authored by author (GitHub's auto_init). If that commit
// fails the repository stays, empty, and the error says so.
func (s *Service) CreateRepoReadme(ctx context.Context, nr NewRepo, withReadme bool, author *gatehouse.User) (*gatehouse.Repo, error) {
	r, err := s.CreateRepo(ctx, nr)
	if err != nil || !withReadme {
		return r, err
	}
	const op = "create repository"
	readme := "# " + r.Name + "\n"
	if r.Description != "" {
		readme += "\n" + r.Description + "\n"
	}
	name := author.Name
	if name == "" {
		name = author.Login
	}
	email := author.Email
	if email == "" {
		email = author.Login + "@users.noreply.gatehouse"
	}
	now := s.now()
	if _, err := s.Repos.InitialCommit(ctx, r.ID, r.DefaultBranch,
		map[string][]byte{"README.md": []byte(readme)},
		gitrepo.Signature{Name: name, Email: email, When: now}, "Initial commit\n"); err != nil {
		return r, gatehouse.Wrap(op, gatehouse.Internal, fmt.Errorf("repository %s created, but its first commit failed: %w", r.FullName(), err))
	}
	r.PushedAt = now
	if err := s.Store.UpdateRepo(ctx, r); err != nil {
		return r, err
	}
	return r, nil
}

// RepoChange lists the repository settings to change; nil fields stay.
type RepoChange struct {
	Description   *string
	Private       *bool
	DefaultBranch *string
}

// UpdateRepo applies c to r and saves it. Errors: Invalid, NotFound.
func (s *Service) UpdateRepo(ctx context.Context, r *gatehouse.Repo, c RepoChange) error {
	const op = "update repository"
	if c.Description != nil {
		if len(*c.Description) > 350 {
			return &gatehouse.Error{Op: op, Kind: gatehouse.Invalid, Field: "description", Msg: "description is too long (maximum is 350 characters)"}
		}
		r.Description = *c.Description
	}
	if c.Private != nil {
		r.Private = *c.Private
	}
	if c.DefaultBranch != nil {
		b := *c.DefaultBranch
		if b == "" || strings.ContainsAny(b, " ~^:?*[\\\x00") || strings.Contains(b, "..") || strings.HasPrefix(b, "-") {
			return &gatehouse.Error{Op: op, Kind: gatehouse.Invalid, Field: "default_branch", Msg: fmt.Sprintf("invalid branch name %q", b)}
		}
		r.DefaultBranch = b
	}
	return s.Store.UpdateRepo(ctx, r)
}

// DeleteRepo removes the repository's row, so that it stops being served at
// once, then its directory. Errors: NotFound.
func (s *Service) DeleteRepo(ctx context.Context, r *gatehouse.Repo) error {
	if err := s.Store.DeleteRepo(ctx, r.ID); err != nil {
		return err
	}
	if err := s.Repos.Remove(r.ID); err != nil {
		// The row is gone, so nothing serves the directory any more; it
		// only wastes space until an administrator removes it.
		s.log().Error("removing deleted repository from disk", "repo", r.FullName(), "id", r.ID, "err", err)
	}
	return nil
}

// SetCollaborator grants login the permission p on r (PermNone removes the
// grant). Errors: NotFound (no such user), Invalid (the owner).
func (s *Service) SetCollaborator(ctx context.Context, r *gatehouse.Repo, login string, p gatehouse.Permission) (*gatehouse.User, error) {
	const op = "set collaborator"
	u, err := s.Store.FindUserByLogin(ctx, login)
	if err != nil {
		return nil, err
	}
	if u.ID == r.OwnerID {
		return nil, &gatehouse.Error{Op: op, Kind: gatehouse.Invalid, Field: "username", Msg: "Repository owner cannot be a collaborator"}
	}
	if err := s.Store.SetCollaborator(ctx, r.ID, u.ID, p); err != nil {
		return nil, err
	}
	return u, nil
}

// Keys manages SSH public keys.
type Keys struct {
	Store gatehouse.KeyStore
	Now   func() time.Time
}

// Create validates an OpenSSH public key and registers it for userID. The
// comment is dropped; an empty title becomes the comment, if any.
// Errors: Invalid (not a public key), Conflict (registered already).
func (k *Keys) Create(ctx context.Context, userID int64, title, key string) (*gatehouse.Key, error) {
	const op = "create key"
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
	if err := k.Store.CreateKey(ctx, row); err != nil {
		return nil, err
	}
	return row, nil
}

// Delete removes key id of userID; a key of anyone else is NotFound.
func (k *Keys) Delete(ctx context.Context, userID, id int64) error {
	row, err := k.Store.FindKey(ctx, id)
	if err != nil {
		return err
	}
	if row.UserID != userID {
		return gatehouse.E("delete key", gatehouse.NotFound, "key not found")
	}
	return k.Store.DeleteKey(ctx, id)
}
