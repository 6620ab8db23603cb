package token

import (
	"slices"
	"strconv"
	"strings"
)

// ScopeInfo describes one OAuth scope. Parent is the scope that implies it
// directly ("" for a top-level scope); Description is the label shown in
// the token form.
type ScopeInfo struct {
	Name, Parent, Description string
}

// registry is GitHub's classic scope set in the order of GitHub's token
// form, each parent before its children. The labels are GitHub's own,
// because users look for those exact words. Chains such as
// admin:org ⊃ write:org ⊃ read:org are modelled as a child of a child, so
// an ancestor walk gives every implied scope.
var registry = []ScopeInfo{
	{"repo", "", "Full control of private repositories"},
	{"repo:status", "repo", "Access commit status"},
	{"repo_deployment", "repo", "Access deployment status"},
	{"public_repo", "repo", "Access public repositories"},
	{"repo:invite", "repo", "Access repository invitations"},
	{"security_events", "repo", "Read and write security events"},
	{"workflow", "", "Update GitHub Action workflows"},
	{"write:packages", "", "Upload packages to GitHub Package Registry"},
	{"read:packages", "write:packages", "Download packages from GitHub Package Registry"},
	{"delete:packages", "", "Delete packages from GitHub Package Registry"},
	{"admin:org", "", "Full control of orgs and teams, read and write org projects"},
	{"write:org", "admin:org", "Read and write org and team membership, read and write org projects"},
	{"read:org", "write:org", "Read org and team membership, read org projects"},
	{"manage_runners:org", "admin:org", "Manage org runners and runner groups"},
	{"admin:public_key", "", "Full control of user public keys"},
	{"write:public_key", "admin:public_key", "Write user public keys"},
	{"read:public_key", "write:public_key", "Read user public keys"},
	{"admin:repo_hook", "", "Full control of repository hooks"},
	{"write:repo_hook", "admin:repo_hook", "Write repository hooks"},
	{"read:repo_hook", "write:repo_hook", "Read repository hooks"},
	{"admin:org_hook", "", "Full control of organization hooks"},
	{"gist", "", "Create gists"},
	{"notifications", "", "Access notifications"},
	{"user", "", "Update ALL user data"},
	{"read:user", "user", "Read ALL user profile data"},
	{"user:email", "user", "Access user email addresses (read-only)"},
	{"user:follow", "user", "Follow and unfollow users"},
	{"delete_repo", "", "Delete repositories"},
	{"write:discussion", "", "Read and write team discussions"},
	{"read:discussion", "write:discussion", "Read team discussions"},
	{"admin:enterprise", "", "Full control of enterprises"},
	{"manage_runners:enterprise", "admin:enterprise", "Manage enterprise runners and runner groups"},
	{"manage_billing:enterprise", "admin:enterprise", "Read and write enterprise billing data"},
	{"read:enterprise", "admin:enterprise", "Read enterprise profile data"},
	{"audit_log", "", "Full control of audit log"},
	{"read:audit_log", "audit_log", "Read access of audit log"},
	{"project", "", "Full control of projects"},
	{"read:project", "project", "Read access of projects"},
	{"admin:gpg_key", "", "Full control of public user GPG keys"},
	{"write:gpg_key", "admin:gpg_key", "Write public user GPG keys"},
	{"read:gpg_key", "write:gpg_key", "Read public user GPG keys"},
	{"admin:ssh_signing_key", "", "Full control of public user SSH signing keys"},
	{"write:ssh_signing_key", "admin:ssh_signing_key", "Write public user SSH signing keys"},
	{"read:ssh_signing_key", "write:ssh_signing_key", "Read public user SSH signing keys"},
	{"site_admin", "", "Access site administration API endpoints"},
	{"admin:pre_receive_hook", "", "Full control of pre-receive hooks"},
}

// parentOf maps every known scope to its parent ("" for top level); a
// missing key means the scope is unknown.
var parentOf = func() map[string]string {
	m := make(map[string]string, len(registry))
	for _, s := range registry {
		m[s.Name] = s.Parent
	}
	return m
}()

// validList is the text appended to unknown-scope errors, built once.
var validList = func() string {
	names := make([]string, len(registry))
	for i, s := range registry {
		names[i] = s.Name
	}
	return strings.Join(names, ", ")
}()

// UnknownScopeError reports a scope name that is not in the registry. Its
// message lists every valid name so that a CLI or API user can fix the
// request without looking anything up.
type UnknownScopeError struct {
	Scope string
}

// Error implements error.
func (e *UnknownScopeError) Error() string {
	return "unknown scope " + strconv.Quote(e.Scope) + "; valid scopes: " + validList
}

// Scopes returns the scope registry in display order, parents before their
// children. The slice is a copy and may be modified by the caller.
func Scopes() []ScopeInfo {
	return slices.Clone(registry)
}

// KnownScope reports whether name is a scope in the registry.
func KnownScope(name string) bool {
	_, ok := parentOf[name]
	return ok
}

// Normalize validates a scope list and reduces it to GitHub's normalized
// form: names are trimmed, empty entries and duplicates removed, and any
// scope implied by another chosen scope dropped (dropped reports that, so
// the UI can say "only the minimum set of necessary scopes has been saved").
// The result is sorted and never nil. An unknown name yields an
// *UnknownScopeError.
func Normalize(in []string) (out []string, dropped bool, err error) {
	set := make(map[string]struct{}, len(in))
	for _, raw := range in {
		name := strings.TrimSpace(raw)
		if name == "" {
			continue
		}
		if !KnownScope(name) {
			return []string{}, false, &UnknownScopeError{Scope: name}
		}
		set[name] = struct{}{}
	}
	out = make([]string, 0, len(set))
	for name := range set {
		if impliedBy(set, name) {
			dropped = true
			continue
		}
		out = append(out, name)
	}
	slices.Sort(out)
	return out, dropped, nil
}

// impliedBy reports whether a strict ancestor of name is in set.
func impliedBy(set map[string]struct{}, name string) bool {
	for p := parentOf[name]; p != ""; p = parentOf[p] {
		if _, ok := set[p]; ok {
			return true
		}
	}
	return false
}

// ParseScopeList splits a comma-separated list such as "repo, read:org" and
// normalizes it. An empty or blank string means no scopes.
func ParseScopeList(s string) ([]string, error) {
	out, _, err := Normalize(strings.Split(s, ","))
	return out, err
}

// Has reports whether granted satisfies required: either required itself
// or one of its ancestors was granted (admin:org satisfies read:org).
func Has(granted []string, required string) bool {
	for n := required; n != ""; n = parentOf[n] {
		if slices.Contains(granted, n) {
			return true
		}
	}
	return false
}

// HeaderValue formats scopes for the X-OAuth-Scopes and
// X-Accepted-OAuth-Scopes headers: sorted and joined by ", ". The input is
// not modified.
func HeaderValue(scopes []string) string {
	s := slices.Clone(scopes)
	slices.Sort(s)
	return strings.Join(s, ", ")
}
