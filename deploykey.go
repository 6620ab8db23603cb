package gatehouse

import (
	"context"
	"time"
)

// DeployKey is an SSH public key that opens one repository to a machine (a
// CI job, a deploy script) rather than to a person: it acts for no user,
// reaches its repository only, and may push only when it is not ReadOnly.
// Its fingerprint is unique across the instance, user keys included: one
// key, one holder.
type DeployKey struct {
	ID     int64
	RepoID int64
	Title  string
	// Key is the public key in authorized_keys form without its comment.
	Key string
	// Fingerprint is the SHA-256 fingerprint ("SHA256:…"), as ssh-keygen -l
	// prints it.
	Fingerprint string
	// ReadOnly keys may clone and fetch; the others may push too.
	ReadOnly   bool
	CreatedAt  time.Time
	LastUsedAt time.Time // zero: never used
}

// Audit events of SSH keys, as GitHub names them. The event's UserID is the
// key's owner (user keys) and Note its title; Detail holds the fingerprint
// and, for deploy keys, the repository and whether the key may push.
const (
	AuditKeyCreate       AuditAction = "public_key.create"
	AuditKeyDelete       AuditAction = "public_key.delete"
	AuditDeployKeyCreate AuditAction = "deploy_key.create"
	AuditDeployKeyDelete AuditAction = "deploy_key.delete"
)

// DeployKeyStore keeps deploy keys. It is part of KeyStore, because a
// fingerprint must be unique across user keys and deploy keys together,
// which only one store can promise.
//
// Methods return *Error values with the kinds listed.
type DeployKeyStore interface {
	// CreateDeployKey inserts k and sets its ID and CreatedAt. Returns
	// Conflict when the fingerprint is registered already, as a user key
	// or a deploy key of any repository; NotFound when the repository does
	// not exist.
	CreateDeployKey(ctx context.Context, k *DeployKey) error
	// FindDeployKey returns NotFound when there is no such key.
	FindDeployKey(ctx context.Context, id int64) (*DeployKey, error)
	// FindDeployKeyByFingerprint is the lookup of SSH authentication.
	// Returns NotFound.
	FindDeployKeyByFingerprint(ctx context.Context, fingerprint string) (*DeployKey, error)
	// ListDeployKeys returns a repository's deploy keys ordered by ID.
	ListDeployKeys(ctx context.Context, repoID int64, page Page) ([]*DeployKey, error)
	// DeleteDeployKey removes a key and records an invalidation naming no
	// user, so that every node re-checks its deploy-key sessions. Returns
	// NotFound.
	DeleteDeployKey(ctx context.Context, id int64) error
	// TouchDeployKey records that the key was used at t. A key deleted
	// meanwhile is no error.
	TouchDeployKey(ctx context.Context, id int64, t time.Time) error
}
