package gatehouse

import (
	"context"
	"time"
)

// Key is an SSH public key a user registered for Git over SSH. Tokens never
// work over SSH; keys never work over HTTPS.
type Key struct {
	ID     int64
	UserID int64
	Title  string
	// Key is the public key in authorized_keys form without its comment:
	// "ssh-ed25519 AAAA…".
	Key string
	// Fingerprint is the SHA-256 fingerprint ("SHA256:…"); a key may be
	// registered only once on the whole instance, as on GitHub.
	Fingerprint string
	CreatedAt   time.Time
	LastUsedAt  time.Time // zero: never used
}

// KeyStore keeps SSH public keys: users' keys and repositories' deploy
// keys. It is separate from Store so that the key feature can grow without
// touching the main contract; the SQL adapter implements both.
//
// Methods return *Error values with the kinds listed.
type KeyStore interface {
	DeployKeyStore
	// CreateKey inserts k and sets its ID and CreatedAt. Returns Conflict
	// when a key with the same fingerprint exists (a user key or a deploy
	// key), NotFound when the user does not exist.
	CreateKey(ctx context.Context, k *Key) error
	// FindKey returns NotFound when there is no such key.
	FindKey(ctx context.Context, id int64) (*Key, error)
	// ListKeys returns a user's keys ordered by ID.
	ListKeys(ctx context.Context, userID int64, page Page) ([]*Key, error)
	// DeleteKey removes a key and records an invalidation of its user, so
	// that every node ends the sessions it opened. Returns NotFound.
	DeleteKey(ctx context.Context, id int64) error
	// FindKeyByFingerprint is the lookup of SSH authentication. Returns
	// NotFound.
	FindKeyByFingerprint(ctx context.Context, fingerprint string) (*Key, error)
	// TouchKey records that the key was used at t. A key deleted
	// meanwhile is no error.
	TouchKey(ctx context.Context, id int64, t time.Time) error
}
