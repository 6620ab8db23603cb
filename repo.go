package gatehouse

import (
	"strings"
	"time"
)

// Repo is a Git repository owned by a user.
type Repo struct {
	ID            int64
	OwnerID       int64
	Owner         string // the owner's login, filled in by stores
	Name          string
	Description   string
	Private       bool
	DefaultBranch string
	CreatedAt     time.Time
	UpdatedAt     time.Time
	PushedAt      time.Time // zero until the first push
	// ArchivedAt is when the repository was archived, zero when it is
	// not: an archived repository is read-only (see authz.Repo) until it
	// is unarchived.
	ArchivedAt time.Time
}

// FullName returns "owner/name".
func (r *Repo) FullName() string { return r.Owner + "/" + r.Name }

// Archived reports whether the repository is archived, and so read-only.
func (r *Repo) Archived() bool { return !r.ArchivedAt.IsZero() }

// ValidRepoName reports whether s is an acceptable repository name: 1–100
// characters of ASCII letters, digits, '-', '_' and '.', with at least one
// letter or digit, not ending in '.' (so neither "." nor ".."), and not
// ending in ".git" (which the URL scheme reserves).
func ValidRepoName(s string) bool {
	if len(s) == 0 || len(s) > 100 || strings.HasSuffix(strings.ToLower(s), ".git") || strings.HasSuffix(s, ".") {
		return false
	}
	if strings.Trim(s, ".-_") == "" {
		return false // only punctuation: ".", "..", "---", "._."
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9', c == '-', c == '_', c == '.':
		default:
			return false
		}
	}
	return true
}

// Permission is what a user may do to a repository. Higher includes lower.
type Permission int

// Permission levels, GitHub's collaborator roles reduced to three.
const (
	PermNone Permission = iota
	PermRead
	PermWrite
	PermAdmin
)

func (p Permission) String() string {
	switch p {
	case PermRead:
		return "read"
	case PermWrite:
		return "write"
	case PermAdmin:
		return "admin"
	}
	return "none"
}

// ParsePermission accepts GitHub's names (pull, push, admin, also triage and
// maintain, which map to read and write) and our own (read, write, admin).
func ParsePermission(s string) (Permission, bool) {
	switch strings.ToLower(s) {
	case "read", "pull", "triage":
		return PermRead, true
	case "write", "push", "maintain":
		return PermWrite, true
	case "admin":
		return PermAdmin, true
	}
	return PermNone, false
}
