package gatehouse

import (
	"context"
	"time"
)

// AuditAction names an event in the audit log.
type AuditAction string

// Token and authentication events, as GitHub names them where it has a name.
const (
	AuditTokenCreate      AuditAction = "personal_access_token.create"
	AuditTokenUpdate      AuditAction = "personal_access_token.update"
	AuditTokenRegenerate  AuditAction = "personal_access_token.regenerate"
	AuditTokenDelete      AuditAction = "personal_access_token.destroy"
	AuditTokenExpire      AuditAction = "personal_access_token.expire"
	AuditTokenAdminRevoke AuditAction = "personal_access_token.admin_revoke"
	AuditTokenLeaked      AuditAction = "personal_access_token.leaked"
	// Fine-grained tokens for an organization that requires approval.
	AuditTokenRequest       AuditAction = "personal_access_token.request_created"
	AuditTokenRequestCancel AuditAction = "personal_access_token.request_cancelled"
	AuditTokenApprove       AuditAction = "personal_access_token.access_granted"
	AuditTokenDeny          AuditAction = "personal_access_token.request_denied"
	AuditTokenOrgRevoke     AuditAction = "personal_access_token.access_revoked"
	AuditTokenPolicy        AuditAction = "org.personal_access_token_policy_update"
	AuditAuthFailure        AuditAction = "user.failed_login"
)

// Repository, organization and team events, as GitHub names them. The
// event's UserID is the person concerned (the member added, removed or
// changed); Note names the repository, organization or team; Detail holds
// key=value pairs (role, permission).
const (
	AuditRepoAddMember    AuditAction = "repo.add_member"
	AuditRepoUpdateMember AuditAction = "repo.update_member"
	AuditRepoRemoveMember AuditAction = "repo.remove_member"
	// The repository's own life: its UserID is the owner (a user or an
	// organization), Note its full name at the time; a rename's Detail
	// holds old_name=.
	AuditRepoArchive   AuditAction = "repo.archived"
	AuditRepoUnarchive AuditAction = "repo.unarchived"
	AuditRepoRename    AuditAction = "repo.rename"
	AuditRepoDestroy   AuditAction = "repo.destroy"

	AuditOrgCreate         AuditAction = "org.create"
	AuditOrgUpdate         AuditAction = "org.update"
	AuditOrgBasePermission AuditAction = "org.update_default_repository_permission"
	AuditOrgAddMember      AuditAction = "org.add_member"
	AuditOrgUpdateMember   AuditAction = "org.update_member"
	AuditOrgRemoveMember   AuditAction = "org.remove_member"

	AuditTeamCreate           AuditAction = "team.create"
	AuditTeamUpdate           AuditAction = "team.update"
	AuditTeamDestroy          AuditAction = "team.destroy"
	AuditTeamAddMember        AuditAction = "team.add_member"
	AuditTeamUpdateMember     AuditAction = "team.update_member"
	AuditTeamRemoveMember     AuditAction = "team.remove_member"
	AuditTeamAddRepository    AuditAction = "team.add_repository"
	AuditTeamUpdateRepository AuditAction = "team.update_repository_permission"
	AuditTeamRemoveRepository AuditAction = "team.remove_repository"
)

// AuditEvent is one entry of the audit log. It never holds a secret: a
// token is named by its ID, note and last eight characters.
type AuditEvent struct {
	ID      int64
	Action  AuditAction
	ActorID int64 // who did it; 0 for the system or an anonymous client
	UserID  int64 // whose account it concerns (the token owner); 0 if none
	TokenID int64
	Note    string // token note, or a short human description
	Detail  string // e.g. "repo alice/demo, commit abc123, path .env"
	IP      string
	At      time.Time
}

// AuditFilter narrows ListAuditEvents. Zero fields do not filter.
type AuditFilter struct {
	UserID int64
}

// AuditStore keeps the audit log. The SQL adapters implement it beside
// Store.
type AuditStore interface {
	// RecordAuditEvent appends e and sets its ID (and At when zero).
	RecordAuditEvent(ctx context.Context, e *AuditEvent) error
	// ListAuditEvents returns events newest first.
	ListAuditEvents(ctx context.Context, f AuditFilter, page Page) ([]*AuditEvent, error)
}
