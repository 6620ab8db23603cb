package gatehouse

import (
	"context"
	"time"
)

// Store is the persistence contract. The SQLite and PostgreSQL adapters in
// internal/sqldb implement it and are checked by the same contract suite.
//
// Every method returns *Error values: NotFound when a looked-up row does not
// exist, Conflict when a unique value (login, repository name, token note
// per user, token hash) is already taken, Invalid for values the database
// refuses, and Internal for everything else.
type Store interface {
	// CreateUser inserts u and sets its ID, CreatedAt and UpdatedAt.
	// Returns Conflict when the login or email is taken.
	CreateUser(ctx context.Context, u *User) error
	// UpdateUser saves every mutable field of u (email, name, site admin,
	// suspended, password hash, locale) and records an invalidation so
	// that cached credentials of the user are re-read. Returns NotFound.
	UpdateUser(ctx context.Context, u *User) error
	// FindUserByID returns NotFound when there is no such user.
	FindUserByID(ctx context.Context, id int64) (*User, error)
	// FindUserByLogin matches case-insensitively; it finds organizations
	// too (IsOrg set). Returns NotFound.
	FindUserByLogin(ctx context.Context, login string) (*User, error)
	// ListUsers returns users (not organizations) ordered by ID.
	ListUsers(ctx context.Context, page Page) ([]*User, error)
	// CountUsers returns the number of users, organizations not counted.
	CountUsers(ctx context.Context) (int, error)

	// CreateRepo inserts r and sets its ID and times. Returns Conflict when
	// the owner already has a repository of that name (case-insensitively),
	// NotFound when the owner does not exist.
	CreateRepo(ctx context.Context, r *Repo) error
	// UpdateRepo saves description, private, default branch and pushed at
	// (not the name, see RenameRepo, nor the archive state, see
	// ArchiveRepo). Returns NotFound.
	UpdateRepo(ctx context.Context, r *Repo) error
	// ArchiveRepo sets when the repository was archived, or unarchives it
	// when at is zero, and its updated at; nothing else changes, so that a
	// concurrent UpdateRepo (a push being recorded) cannot undo it.
	// Returns NotFound.
	ArchiveRepo(ctx context.Context, id int64, at time.Time) error
	// RenameRepo gives the repository a new name and keeps the old one as
	// a redirect: FindRepo finds the repository by it until a repository
	// of the owner takes that name (created or renamed to it). Returns
	// Conflict when the owner has another repository of that name
	// (case-insensitively), NotFound.
	RenameRepo(ctx context.Context, id int64, name string) error
	// DeleteRepo removes the repository row, its collaborators and the
	// names it redirects from. Returns NotFound.
	DeleteRepo(ctx context.Context, id int64) error
	// FindRepo looks a repository up by owner login and name,
	// case-insensitively; a name the repository had before a rename finds
	// it too (see RenameRepo), with its current name. Returns NotFound.
	FindRepo(ctx context.Context, owner, name string) (*Repo, error)
	// FindRepoByID returns NotFound.
	FindRepoByID(ctx context.Context, id int64) (*Repo, error)
	// ListRepos returns repositories matching f ordered by owner and name.
	ListRepos(ctx context.Context, f RepoFilter, page Page) ([]*Repo, error)

	// SetCollaborator grants user the permission on the repository,
	// replacing any earlier grant; PermNone removes it. Returns NotFound
	// when the repository or user does not exist.
	SetCollaborator(ctx context.Context, repoID, userID int64, p Permission) error
	// Collaborator returns the user's explicit grant on the repository, or
	// PermNone. Ownership is not a grant; see authz.
	Collaborator(ctx context.Context, repoID, userID int64) (Permission, error)
	// ListCollaborators returns the explicit grants on a repository ordered
	// by login.
	ListCollaborators(ctx context.Context, repoID int64) ([]Collaborator, error)

	// CreateToken inserts t (either kind, with a fine-grained token's
	// selection) and sets its ID and times. Returns Conflict when the user
	// already has a token with that note, or the hash is taken.
	CreateToken(ctx context.Context, t *Token) error
	// UpdateToken saves note and scopes, and, for a regeneration, hash,
	// last eight and expiry; for fine-grained tokens also the description,
	// repository access and selection, permissions, and the approval with
	// its reviewer, time and reason. It records an invalidation. Returns
	// NotFound, Conflict (note taken).
	UpdateToken(ctx context.Context, t *Token) error
	// DeleteToken removes a token and records an invalidation so that every
	// node drops it from its cache. Returns NotFound.
	DeleteToken(ctx context.Context, id int64) error
	// FindTokenByHash is the one lookup on the authentication path: one
	// indexed equality on the hex SHA-256 (joined, for a fine-grained
	// token with selected repositories, with its selection). Returns
	// NotFound.
	FindTokenByHash(ctx context.Context, hash string) (*Token, error)
	// FindTokenByID returns NotFound.
	FindTokenByID(ctx context.Context, id int64) (*Token, error)
	// ListTokens returns tokens matching f ordered by ID.
	ListTokens(ctx context.Context, f TokenFilter, page Page) ([]*Token, error)
	// RecordTokenUses stores the latest use of each token in one batch.
	RecordTokenUses(ctx context.Context, uses []TokenUse) error

	// Invalidations returns the invalidations recorded after the given
	// sequence number, oldest first, and the newest sequence number seen.
	// Caches poll it to learn of deletions made by other processes.
	Invalidations(ctx context.Context, after int64) ([]Invalidation, int64, error)

	// Setting returns a stored instance setting, NotFound when unset.
	Setting(ctx context.Context, key string) (string, error)
	// SetSetting stores an instance setting.
	SetSetting(ctx context.Context, key, value string) error
	// DeleteSetting removes a setting if it is present and reports whether
	// it was. Used for single-use secrets: only one caller gets true.
	DeleteSetting(ctx context.Context, key string) (bool, error)

	// Close releases the database.
	Close() error
}

// Page selects a slice of a listing. PerPage 0 means the default (30);
// Page counts from 1.
type Page struct {
	Page    int
	PerPage int
}

// Limit and Offset turn a Page into SQL terms, applying defaults and caps.
func (p Page) Limit() int {
	switch {
	case p.PerPage <= 0:
		return 30
	case p.PerPage > 100:
		return 100
	}
	return p.PerPage
}

// MaxPage bounds page numbers so that offsets cannot overflow.
const MaxPage = 1 << 20

// Offset is the number of rows to skip.
func (p Page) Offset() int {
	if p.Page <= 1 {
		return 0
	}
	return (min(p.Page, MaxPage) - 1) * p.Limit()
}

// RepoFilter narrows ListRepos. Zero fields do not filter.
type RepoFilter struct {
	OwnerID int64
	// VisibleTo, when non-zero, keeps public repositories plus private ones
	// the user owns or collaborates on.
	VisibleTo int64
	// PublicOnly keeps only public repositories.
	PublicOnly bool
	// Member, when non-zero, keeps repositories the user owns or
	// collaborates on.
	Member int64
	// PrivateOnly keeps only private repositories.
	PrivateOnly bool
	// LimitPrivate keeps, of the private repositories the other fields
	// let through, those owned by PrivateOwnerID and, when PrivateIDs is
	// not nil, among PrivateIDs: what a fine-grained token reaches.
	LimitPrivate   bool
	PrivateOwnerID int64
	PrivateIDs     []int64
	// TokenKind, when TokenKindSet, drops the private repositories of
	// organizations whose token policy refuses a token of that kind
	// living TokenLifetime days (-1: it never expires): the listing form
	// of authz's policy rule, for callers using a token.
	TokenKind     TokenKind
	TokenKindSet  bool
	TokenLifetime int
}

// The access VisibleTo and Member count, besides owning a repository and
// being its collaborator: a grant to a team the user belongs to, and
// membership of the organization that owns it (an owner always, a member
// when the base permission is not none).

// TokenFilter narrows ListTokens. Zero fields do not filter.
type TokenFilter struct {
	UserID int64
	// Kind keeps tokens of one kind when KindSet.
	Kind    TokenKind
	KindSet bool
	// TargetID keeps fine-grained tokens whose resource owner it is.
	TargetID int64
	// Approval keeps fine-grained tokens in that state when ApprovalSet.
	Approval    TokenApproval
	ApprovalSet bool
}

// Collaborator is an explicit grant on a repository.
type Collaborator struct {
	User       *User
	Permission Permission
}

// Invalidation tells caches that a token or all tokens of a user changed.
type Invalidation struct {
	Seq     int64
	TokenID int64 // 0 when the whole user changed
	UserID  int64
	At      time.Time
}
