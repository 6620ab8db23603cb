package gatehouse

import "time"

// Token is a personal access token as stored: never the secret itself, only
// its SHA-256 and its last eight characters.
type Token struct {
	ID         int64
	UserID     int64
	Note       string
	Scopes     []string // normalized, sorted
	Hash       string   // hex SHA-256 of the whole token
	LastEight  string
	ExpiresAt  time.Time // zero: never expires
	CreatedAt  time.Time
	UpdatedAt  time.Time
	LastUsedAt time.Time // zero: never used
	LastUsedIP string
}

// Expired reports whether the token has expired at time now.
func (t *Token) Expired(now time.Time) bool {
	return !t.ExpiresAt.IsZero() && !now.Before(t.ExpiresAt)
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
