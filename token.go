package gatehouse

import "time"

// TokenKind tells the two kinds of personal access token apart.
type TokenKind string

// Token kinds. The zero value is a classic token, so that every token
// stored before fine-grained ones existed is classic.
const (
	ClassicToken     TokenKind = ""
	FineGrainedToken TokenKind = "fine_grained"
)

// RepoAccess is which repositories of its resource owner a fine-grained
// token reaches. Public repositories of anyone are always readable.
type RepoAccess string

// Repository access of fine-grained tokens.
const (
	PublicRepos   RepoAccess = "public"   // public repositories, read-only
	AllRepos      RepoAccess = "all"      // every repository of the owner, present and future
	SelectedRepos RepoAccess = "selected" // RepoIDs only (1 to MaxSelectedRepos)
)

// MaxSelectedRepos bounds a fine-grained token's selection, as GitHub does.
const MaxSelectedRepos = 50

// TokenApproval is where a fine-grained token stands with the
// organization it targets.
type TokenApproval string

// Approval states. A token that needs no approval (it targets a user, an
// organization that does not ask for approval, or one its creator owns)
// is approved at creation.
const (
	TokenApproved TokenApproval = ""
	TokenPending  TokenApproval = "pending"
	TokenDenied   TokenApproval = "denied"
)

// Token is a personal access token as stored: never the secret itself, only
// its SHA-256 and its last eight characters.
type Token struct {
	ID     int64
	UserID int64
	Kind   TokenKind
	// Note is the token's name: the note of a classic token, the name of
	// a fine-grained one. Unique per user across both kinds.
	Note   string
	Scopes []string // classic tokens: normalized, sorted

	// Fine-grained tokens only.
	Description string
	// TargetID is the resource owner: the user or one organization.
	TargetID int64
	Repos    RepoAccess
	RepoIDs  []int64 // Repos == SelectedRepos: sorted
	// Permissions maps a permission name of token.Permissions to its
	// level: 1 read, 2 write (token.Level). Metadata read is implied.
	Permissions map[string]int
	Approval    TokenApproval
	ReviewerID  int64
	ReviewedAt  time.Time
	// ReviewReason is the reason an organization owner gave.
	ReviewReason string

	Hash      string // hex SHA-256 of the whole token
	LastEight string
	ExpiresAt time.Time // zero: never expires
	CreatedAt time.Time
	UpdatedAt time.Time
	// RegeneratedAt is when the secret was last regenerated (zero:
	// never); a lifetime counts from it.
	RegeneratedAt time.Time
	LastUsedAt    time.Time // zero: never used
	LastUsedIP    string
}

// Expired reports whether the token has expired at time now.
func (t *Token) Expired(now time.Time) bool {
	return !t.ExpiresAt.IsZero() && !now.Before(t.ExpiresAt)
}

// FineGrained reports whether t is a fine-grained token.
func (t *Token) FineGrained() bool { return t.Kind == FineGrainedToken }

// Selects reports whether a fine-grained token's repository access
// includes repo: owned by its resource owner, and all of them or among
// those selected. Public repositories outside it are still readable.
func (t *Token) Selects(repo *Repo) bool {
	if repo == nil || repo.OwnerID != t.TargetID {
		return false
	}
	switch t.Repos {
	case AllRepos:
		return true
	case SelectedRepos:
		for _, id := range t.RepoIDs {
			if id == repo.ID {
				return true
			}
		}
	}
	return false
}

// TokenUse is one observed use of a token, recorded off the request path.
type TokenUse struct {
	TokenID int64
	At      time.Time
	IP      string
}

// TokenLeak says where push protection found a live token, for the audit
// log and the owner's e-mail. It never holds the token itself.
type TokenLeak struct {
	Repo     string // OWNER/NAME
	Commit   string
	Location string // e.g. "path .env (line 3)", "the commit message"
	PusherID int64  // 0 when unknown
	Pusher   string // login, "" when unknown
	IP       string
}
