package service

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/gatehouse/gatehouse"
	"github.com/gatehouse/gatehouse/internal/authz"
	"github.com/gatehouse/gatehouse/internal/gitrepo"
)

// MaxDescription is the longest repository description, in characters, as
// on GitHub.
const MaxDescription = 350

// NewRepo describes a repository to create.
type NewRepo struct {
	Owner       string
	Name        string
	Description string
	Private     bool
	// Readme gives the repository a first commit on its default branch
	// holding a README.md, authored by the acting user (GitHub's
	// auto_init).
	Readme bool
}

func checkDescription(op, d string) error {
	if utf8.RuneCountInString(d) > MaxDescription {
		return &gatehouse.Error{Op: op, Kind: gatehouse.Invalid, Field: "description",
			Msg: fmt.Sprintf("description is too long (maximum is %d characters)", MaxDescription)}
	}
	return nil
}

// CreateRepo creates a repository for the actor (authz.CreateRepo): the
// bare repository on disk and its row. git runs outside any transaction:
// the repository is initialised in a temporary directory, the row
// inserted, then the directory renamed into place. With nr.Readme, a first
// commit follows; if it fails the repository stays, empty, and both it and
// the error are returned. Errors: Invalid, NotFound (owner), Forbidden,
// Conflict.
func (s *Service) CreateRepo(ctx context.Context, actor *gatehouse.Actor, nr NewRepo) (*gatehouse.Repo, error) {
	const op = "create repository"
	if !gatehouse.ValidRepoName(nr.Name) {
		return nil, &gatehouse.Error{Op: op, Kind: gatehouse.Invalid, Field: "name",
			Msg: fmt.Sprintf("invalid repository name %q: use up to 100 letters, digits, '-', '_' or '.', not ending in .git", nr.Name)}
	}
	nr.Description = strings.TrimSpace(nr.Description)
	if err := checkDescription(op, nr.Description); err != nil {
		return nil, err
	}
	if err := authz.SeeUsers(actor, s.privateMode); err != nil {
		return nil, err
	}
	owner, err := s.store.FindUserByLogin(ctx, nr.Owner)
	if err != nil {
		if gatehouse.IsKind(err, gatehouse.NotFound) {
			return nil, gatehouse.Errorf(op, gatehouse.NotFound, "no user named %q", nr.Owner)
		}
		return nil, err
	}
	var role gatehouse.OrgRole
	if owner.IsOrg && actor.UserID() != 0 {
		// OrgRole applies the organization's token policy.
		if role, err = s.OrgRole(ctx, actor, owner); err != nil {
			return nil, err
		}
	}
	if err := authz.CreateRepo(actor, owner, role, nr.Private); err != nil {
		return nil, err
	}
	tmp, err := s.repos.Prepare(ctx, "main")
	if err != nil {
		return nil, gatehouse.Wrap(op, gatehouse.Internal, err)
	}
	r := &gatehouse.Repo{OwnerID: owner.ID, Owner: owner.Login, Name: nr.Name, Description: nr.Description, Private: nr.Private, DefaultBranch: "main"}
	if err := s.store.CreateRepo(ctx, r); err != nil {
		s.repos.Discard(tmp)
		return nil, err
	}
	if err := s.repos.Commit(tmp, r.ID); err != nil {
		s.repos.Discard(tmp)
		if derr := s.store.DeleteRepo(context.WithoutCancel(ctx), r.ID); derr != nil {
			s.log.Error("removing repository row after failed create", "repo", r.FullName(), "err", derr)
		}
		return nil, gatehouse.Wrap(op, gatehouse.Internal, err)
	}
	if owner.IsOrg && role == gatehouse.OrgMember && actor.User != nil {
		// As on GitHub, a member who creates an organization's
		// repository administers it, whatever the base permission.
		if err := s.store.SetCollaborator(ctx, r.ID, actor.User.ID, gatehouse.PermAdmin); err != nil {
			return r, err
		}
	}
	if !nr.Readme {
		return r, nil
	}
	author := owner
	if actor.User != nil {
		author = actor.User
	}
	return r, s.initialCommit(ctx, r, author)
}

// initialCommit gives r a README.md on its default branch.
func (s *Service) initialCommit(ctx context.Context, r *gatehouse.Repo, author *gatehouse.User) error {
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
	if _, err := s.repos.InitialCommit(ctx, r.ID, r.DefaultBranch,
		map[string][]byte{"README.md": []byte(readme)},
		gitrepo.Signature{Name: name, Email: email, When: now}, "Initial commit\n"); err != nil {
		return gatehouse.Wrap("create repository", gatehouse.Internal, fmt.Errorf("repository %s created, but its first commit failed: %w", r.FullName(), err))
	}
	r.PushedAt = now
	return s.store.UpdateRepo(ctx, r)
}

// RepoChange lists the repository settings to change; nil fields stay.
type RepoChange struct {
	Description   *string
	Private       *bool
	DefaultBranch *string
	// Name renames the repository; its old name keeps finding it (git
	// remotes, links), as GitHub redirects it, until a repository of the
	// owner takes that name.
	Name *string
	// Archived archives (true) or unarchives (false) the repository.
	Archived *bool
}

// Messages of refused default branch changes, GitHub's.
const (
	msgEmptyDefaultBranch = "Cannot update default branch for an empty repository. Please init the repository and push first."
	msgNoSuchBranch       = "The branch %s was not found. Please push that ref first or create it via the Git Data API."
)

// UpdateRepo applies c to r, which takes the admin role. An archived
// repository's settings are read-only (authz.EditArchived): only a change
// that unarchives it goes through, and its other settings with it. The
// steps run in the order that keeps that rule: unarchive, settings (the
// default branch on disk first, so that clones check it out), rename,
// archive; each is recorded in the audit log. A failure stops at its step,
// the earlier ones done. Errors: Invalid (description, name, default
// branch), Conflict (name taken), NotFound, Forbidden (ErrArchived).
func (s *Service) UpdateRepo(ctx context.Context, actor *gatehouse.Actor, r *gatehouse.Repo, c RepoChange) error {
	const op = "update repository"
	if _, err := s.authorize(ctx, actor, r, authz.Admin); err != nil {
		return err
	}
	next := *r
	if c.Description != nil {
		d := strings.TrimSpace(*c.Description)
		if err := checkDescription(op, d); err != nil {
			return err
		}
		next.Description = d
	}
	if c.Private != nil {
		next.Private = *c.Private
	}
	if c.DefaultBranch != nil {
		b := *c.DefaultBranch
		if b == "" || strings.ContainsAny(b, " ~^:?*[\\\x00") || strings.Contains(b, "..") || strings.HasPrefix(b, "-") {
			return &gatehouse.Error{Op: op, Kind: gatehouse.Invalid, Field: "default_branch", Msg: fmt.Sprintf("invalid branch name %q", b)}
		}
		next.DefaultBranch = b
	}
	rename := c.Name != nil && *c.Name != r.Name
	if rename && !gatehouse.ValidRepoName(*c.Name) {
		return &gatehouse.Error{Op: op, Kind: gatehouse.Invalid, Field: "name",
			Msg: fmt.Sprintf("invalid repository name %q: use up to 100 letters, digits, '-', '_' or '.', not ending in .git", *c.Name)}
	}
	settings := next.Description != r.Description || next.Private != r.Private || next.DefaultBranch != r.DefaultBranch
	unarchive := c.Archived != nil && !*c.Archived && r.Archived()
	archive := c.Archived != nil && *c.Archived && !r.Archived()
	if settings || rename {
		if err := authz.EditArchived(actor, r, unarchive); err != nil {
			return err
		}
	}
	if unarchive {
		if err := s.store.ArchiveRepo(ctx, r.ID, time.Time{}); err != nil {
			return err
		}
		r.ArchivedAt, next.ArchivedAt = time.Time{}, time.Time{}
		s.recordRepo(ctx, actor, gatehouse.AuditRepoUnarchive, r, "")
	}
	if settings {
		if next.DefaultBranch != r.DefaultBranch {
			if err := s.repos.SetHead(ctx, r.ID, next.DefaultBranch); err != nil {
				if !errors.Is(err, gitrepo.ErrNoBranch) {
					return gatehouse.Wrap(op, gatehouse.Internal, err)
				}
				msg := fmt.Sprintf(msgNoSuchBranch, next.DefaultBranch)
				if r.PushedAt.IsZero() {
					msg = msgEmptyDefaultBranch
				}
				return &gatehouse.Error{Op: op, Kind: gatehouse.Invalid, Field: "default_branch", Msg: msg}
			}
		}
		if err := s.store.UpdateRepo(ctx, &next); err != nil {
			return err
		}
		*r = next
	}
	if rename {
		old := r.FullName()
		if err := s.store.RenameRepo(ctx, r.ID, *c.Name); err != nil {
			return err
		}
		r.Name = *c.Name
		s.recordRepo(ctx, actor, gatehouse.AuditRepoRename, r, "old_name="+old)
	}
	if archive {
		at := s.now().UTC().Truncate(time.Millisecond)
		if err := s.store.ArchiveRepo(ctx, r.ID, at); err != nil {
			return err
		}
		r.ArchivedAt = at
		s.recordRepo(ctx, actor, gatehouse.AuditRepoArchive, r, "")
	}
	if rename || archive || unarchive {
		// The store set the time of the change; read it back.
		fresh, err := s.store.FindRepoByID(ctx, r.ID)
		if err != nil {
			return err
		}
		*r = *fresh
	}
	return nil
}

// ArchiveRepo archives r (archived) or unarchives it: UpdateRepo with that
// change alone, for the transports that have a call of its own for it
// (GraphQL's archiveRepository and unarchiveRepository). Archiving an
// archived repository changes nothing. Errors: as UpdateRepo.
func (s *Service) ArchiveRepo(ctx context.Context, actor *gatehouse.Actor, r *gatehouse.Repo, archived bool) error {
	return s.UpdateRepo(ctx, actor, r, RepoChange{Archived: &archived})
}

// RepoByID is RepoFor for a repository named by its ID (GraphQL names
// repositories by node id): the repository, the actor's role on it, and
// authz.Repo's decision for need. Errors: as RepoFor.
func (s *Service) RepoByID(ctx context.Context, actor *gatehouse.Actor, id int64, need authz.Need) (*gatehouse.Repo, gatehouse.Permission, error) {
	r, err := s.store.FindRepoByID(ctx, id)
	if gatehouse.IsKind(err, gatehouse.NotFound) {
		return nil, gatehouse.PermNone, authz.Repo(actor, nil, gatehouse.PermNone, need, nil, s.privateMode)
	}
	if err != nil {
		return nil, gatehouse.PermNone, err
	}
	role, err := s.authorizeFor(ctx, actor, r, need)
	if err != nil {
		return nil, gatehouse.PermNone, err
	}
	return r, role, nil
}

// recordRepo records an event of r's own life, concerning its owner.
func (s *Service) recordRepo(ctx context.Context, actor *gatehouse.Actor, action gatehouse.AuditAction, r *gatehouse.Repo, detail string) {
	s.record(ctx, actor, gatehouse.AuditEvent{Action: action, UserID: r.OwnerID, Note: r.FullName(), Detail: detail})
}

// DeleteRepo removes the repository's row, so that it stops being served at
// once, then its directory; it takes the admin role, archived or not.
// Errors: NotFound, Forbidden.
func (s *Service) DeleteRepo(ctx context.Context, actor *gatehouse.Actor, r *gatehouse.Repo) error {
	if _, err := s.authorize(ctx, actor, r, authz.Admin); err != nil {
		return err
	}
	if err := s.store.DeleteRepo(ctx, r.ID); err != nil {
		return err
	}
	s.recordRepo(ctx, actor, gatehouse.AuditRepoDestroy, r, "")
	if err := s.repos.Remove(r.ID); err != nil {
		// The row is gone, so nothing serves the directory any more; it
		// only wastes space until an administrator removes it.
		s.log.Error("removing deleted repository from disk", "repo", r.FullName(), "id", r.ID, "err", err)
	}
	return nil
}

// RecordPush notes a push the actor made to r: its time, and the default
// branch when the push created the first branch. Bookkeeping: failures are
// logged, not returned.
func (s *Service) RecordPush(ctx context.Context, actor *gatehouse.Actor, r *gatehouse.Repo) {
	if _, err := s.authorize(ctx, actor, r, authz.Write); err != nil {
		s.log.Warn("recording push refused", "repo", r.FullName(), "err", err)
		return
	}
	head, err := s.repos.FixHead(ctx, r.ID)
	if err != nil {
		s.log.Warn("checking HEAD after push failed", "repo", r.FullName(), "err", err)
	}
	if head != "" {
		r.DefaultBranch = head
	}
	r.PushedAt = s.now().UTC()
	if err := s.store.UpdateRepo(ctx, r); err != nil {
		s.log.Warn("recording push failed", "repo", r.FullName(), "err", err)
	}
}

// ListRepos returns a page of owner's repositories that the actor may see
// (authz.ListRepos); publicOnly narrows it to public ones, as GitHub's GET
// /users/{username}/repos. Errors: Unauthenticated (private mode).
func (s *Service) ListRepos(ctx context.Context, actor *gatehouse.Actor, owner *gatehouse.User, publicOnly bool, page gatehouse.Page) ([]*gatehouse.Repo, error) {
	f, err := authz.ListRepos(actor, owner, s.privateMode)
	if err != nil {
		return nil, err
	}
	f.PublicOnly = f.PublicOnly || publicOnly
	return s.store.ListRepos(ctx, f, page)
}

// ListOwnRepos returns a page of the repositories the actor owns or
// collaborates on (ownedOnly: owns), private ones only for a credential
// with the repo scope (authz.ListOwnRepos).
func (s *Service) ListOwnRepos(ctx context.Context, actor *gatehouse.Actor, ownedOnly, publicOnly bool, page gatehouse.Page) ([]*gatehouse.Repo, error) {
	f, err := authz.ListOwnRepos(actor, ownedOnly)
	if err != nil {
		return nil, err
	}
	f.PublicOnly = f.PublicOnly || publicOnly
	return s.store.ListRepos(ctx, f, page)
}

// SetCollaborator grants login the permission p on r (PermNone removes the
// grant); it takes the admin role, and the owner cannot be a collaborator.
// An archived repository's collaborators are read-only, as on GitHub.
// Errors: NotFound (no such user), Invalid (the owner), Forbidden
// (ErrArchived too).
func (s *Service) SetCollaborator(ctx context.Context, actor *gatehouse.Actor, r *gatehouse.Repo, login string, p gatehouse.Permission) (*gatehouse.User, error) {
	role, err := s.authorize(ctx, actor, r, authz.Admin)
	if err != nil {
		return nil, err
	}
	if err := authz.EditArchived(actor, r, false); err != nil {
		return nil, err
	}
	u, err := s.store.FindUserByLogin(ctx, login)
	if err != nil {
		if gatehouse.IsKind(err, gatehouse.NotFound) {
			return nil, gatehouse.Errorf("set collaborator", gatehouse.NotFound, "no user named %q", login)
		}
		return nil, err
	}
	g, err := s.grants(ctx, actor, r)
	if err != nil {
		return nil, err
	}
	if err := authz.SetCollaborator(actor, r, role, g.Policy, u, s.privateMode); err != nil {
		return nil, err
	}
	if u.IsOrg {
		return nil, &gatehouse.Error{Op: "set collaborator", Kind: gatehouse.Invalid, Field: "username", Msg: "An organization cannot be a collaborator; grant a team instead."}
	}
	old, err := s.store.Collaborator(ctx, r.ID, u.ID)
	if err != nil {
		return nil, err
	}
	if err := s.store.SetCollaborator(ctx, r.ID, u.ID, p); err != nil {
		return nil, err
	}
	action := gatehouse.AuditRepoUpdateMember
	switch {
	case old == p:
		return u, nil
	case p == gatehouse.PermNone:
		action = gatehouse.AuditRepoRemoveMember
	case old == gatehouse.PermNone:
		action = gatehouse.AuditRepoAddMember
	}
	s.record(ctx, actor, gatehouse.AuditEvent{Action: action, UserID: u.ID, Note: r.FullName(), Detail: "permission=" + p.String()})
	return u, nil
}

// ListCollaborators returns everyone with a role on r — the owner first
// (admin), then the explicit grants by login — for an actor with push
// access, as on GitHub. Errors: NotFound, Forbidden.
func (s *Service) ListCollaborators(ctx context.Context, actor *gatehouse.Actor, r *gatehouse.Repo) ([]gatehouse.Collaborator, error) {
	if _, err := s.authorizeFor(ctx, actor, r, authz.Need{Action: authz.Write, Perm: authz.MetadataRead}); err != nil {
		return nil, err
	}
	owner, err := s.store.FindUserByID(ctx, r.OwnerID)
	if err != nil {
		return nil, err
	}
	grants, err := s.store.ListCollaborators(ctx, r.ID)
	if err != nil {
		return nil, err
	}
	return append([]gatehouse.Collaborator{{User: owner, Permission: gatehouse.PermAdmin}}, grants...), nil
}

// CollaboratorRole returns login's role on r — admin for the owner, the
// explicit grant otherwise (PermNone when there is none) — for an actor
// with push access. Errors: NotFound, Forbidden.
func (s *Service) CollaboratorRole(ctx context.Context, actor *gatehouse.Actor, r *gatehouse.Repo, login string) (*gatehouse.User, gatehouse.Permission, error) {
	if _, err := s.authorizeFor(ctx, actor, r, authz.Need{Action: authz.Write, Perm: authz.MetadataRead}); err != nil {
		return nil, 0, err
	}
	u, err := s.store.FindUserByLogin(ctx, login)
	if err != nil {
		return nil, 0, err
	}
	if u.ID == r.OwnerID {
		return u, gatehouse.PermAdmin, nil
	}
	p, err := s.store.Collaborator(ctx, r.ID, u.ID)
	return u, p, err
}
