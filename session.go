package gatehouse

import (
	"context"
	"time"
)

// Session is a signed-in browser. The cookie holds a random secret; the
// store keeps only its SHA-256 (ID), so a copy of the database does not
// let anyone sign in.
type Session struct {
	ID        string // hex SHA-256 of the cookie secret
	UserID    int64
	CSRF      string    // per-session token every form must echo
	SudoUntil time.Time // zero: not in sudo mode
	// Flash is a one-time message for the next page, sealed with a key
	// derived from the cookie secret (the new token's secret travels here
	// from the form post to the page that shows it once).
	Flash     []byte
	IP        string
	CreatedAt time.Time
	SeenAt    time.Time
	ExpiresAt time.Time
}

// SessionStore keeps web sessions. It is separate from Store because only
// the web UI needs it.
//
// Methods return *Error values: NotFound for a missing or expired session,
// NotFound from CreateSession when the user does not exist, Internal for
// everything else.
type SessionStore interface {
	// CreateSession inserts s; ID, UserID, CSRF and ExpiresAt must be set.
	CreateSession(ctx context.Context, s *Session) error
	// FindSession returns the session with the given ID unless it expired.
	// Returns NotFound.
	FindSession(ctx context.Context, id string) (*Session, error)
	// UpdateSession saves SudoUntil, Flash and SeenAt. Returns NotFound.
	UpdateSession(ctx context.Context, s *Session) error
	// TakeFlash returns the session's flash and clears it in one step, so
	// that two concurrent page loads cannot both read it. Returns nil when
	// there is none.
	TakeFlash(ctx context.Context, id string) ([]byte, error)
	// DeleteSession removes one session (sign out). Missing is not an error.
	DeleteSession(ctx context.Context, id string) error
	// DeleteUserSessions removes every session of a user (suspension,
	// password change) and reports how many there were.
	DeleteUserSessions(ctx context.Context, userID int64) (int, error)
}
