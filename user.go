package gatehouse

import (
	"strings"
	"time"
)

// User is a person with an account. Logins are unique, case-insensitively.
type User struct {
	ID           int64
	Login        string
	Email        string
	Name         string
	SiteAdmin    bool
	Suspended    bool
	PasswordHash string // argon2id, PHC string form; empty means no password login
	Locale       string // "" follows the browser
	// IsOrg marks an organization: an account nobody signs in to, with
	// members and teams (see OrgStore).
	IsOrg bool
	// Description is an organization's profile text.
	Description string
	// BasePermission is what every member of an organization holds on its
	// repositories (read by default).
	BasePermission Permission
	CreatedAt      time.Time
	UpdatedAt      time.Time
}

// Type is the account type as GitHub names it: "User" or "Organization".
func (u *User) Type() string {
	if u.IsOrg {
		return "Organization"
	}
	return "User"
}

// ValidLogin reports whether s is an acceptable login or repository owner
// name: 1–39 characters of ASCII letters, digits and single hyphens, not
// starting or ending with a hyphen (GitHub's rule).
func ValidLogin(s string) bool {
	if len(s) == 0 || len(s) > 39 || s[0] == '-' || s[len(s)-1] == '-' {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
		case c == '-' && s[i-1] != '-':
		default:
			return false
		}
	}
	return true
}

// reservedLogins are first path segments the server itself uses; a user
// with such a login would have a profile page nobody can reach.
var reservedLogins = map[string]bool{
	"admin": true, "api": true, "avatars": true, "healthz": true, "login": true, "logout": true,
	"metrics": true, "new": true, "settings": true, "setup": true, "static": true, "sudo": true,
	"organizations": true, "orgs": true,
}

// ReservedLogin reports whether s names one of the server's own pages and
// so cannot be a login.
func ReservedLogin(s string) bool { return reservedLogins[strings.ToLower(s)] }
