package token

import (
	"fmt"
	"slices"
	"strings"
)

// Level is how far a fine-grained permission goes.
type Level int

// Levels, in increasing order.
const (
	NoAccess Level = iota
	ReadOnly
	ReadWrite
)

// String returns GitHub's name of the level: "read" or "write" ("" for no
// access).
func (l Level) String() string {
	switch l {
	case ReadOnly:
		return "read"
	case ReadWrite:
		return "write"
	}
	return ""
}

// ParseLevel accepts GitHub's names ("read", "write"), and "none".
func ParseLevel(s string) (Level, bool) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "read", "read-only", "readonly":
		return ReadOnly, true
	case "write", "read-write", "readwrite":
		return ReadWrite, true
	case "none", "", "no-access":
		return NoAccess, true
	}
	return NoAccess, false
}

// Permission is one fine-grained permission at a level: what a route or
// an operation needs of a fine-grained token.
type Permission struct {
	Name  string
	Level Level
}

// String is GitHub's form in X-Accepted-GitHub-Permissions: contents=read.
func (p Permission) String() string {
	if p.Name == "" {
		return ""
	}
	return p.Name + "=" + p.Level.String()
}

// Phrase is the permission as people read it: "contents: write".
func (p Permission) Phrase() string { return p.Name + ": " + p.Level.String() }

// Group says what a permission applies to.
type Group string

// Permission groups, as the token form shows them.
const (
	RepositoryPerms   Group = "repository"
	OrganizationPerms Group = "organization"
	AccountPerms      Group = "account"
)

// PermInfo describes a fine-grained permission.
type PermInfo struct {
	Name  string
	Group Group
	// Max is the highest level the permission has.
	Max Level
	// Always is set for metadata, which every token has read-only.
	Always      bool
	Description string
}

var permissions = []PermInfo{
	{Name: "metadata", Group: RepositoryPerms, Max: ReadOnly, Always: true, Description: "Search repositories, list collaborators, and access repository metadata."},
	{Name: "contents", Group: RepositoryPerms, Max: ReadWrite, Description: "Repository contents: clone and fetch (read), push (write), the README and contents API."},
	{Name: "administration", Group: RepositoryPerms, Max: ReadWrite, Description: "Repository settings, collaborators, deploy keys, creating and deleting repositories."},
	{Name: "members", Group: OrganizationPerms, Max: ReadWrite, Description: "Organization members and teams."},
	{Name: "organization_administration", Group: OrganizationPerms, Max: ReadWrite, Description: "Organization settings and its personal access token policy and requests."},
	{Name: "email_addresses", Group: AccountPerms, Max: ReadWrite, Description: "The account's email addresses."},
	{Name: "git_ssh_keys", Group: AccountPerms, Max: ReadWrite, Description: "The account's SSH keys."},
	{Name: "profile", Group: AccountPerms, Max: ReadWrite, Description: "The account's profile."},
}

// Permissions returns the fine-grained permissions, in the order the token
// form shows them.
func Permissions() []PermInfo { return slices.Clone(permissions) }

// PermissionInfo returns the description of the named permission.
func PermissionInfo(name string) (PermInfo, bool) {
	for _, p := range permissions {
		if p.Name == name {
			return p, true
		}
	}
	return PermInfo{}, false
}

// Perms is what a fine-grained token holds: permission name → level.
// Metadata is always read; no-access entries are not kept.
type Perms map[string]Level

// Level returns the level of the named permission.
func (ps Perms) Level(name string) Level {
	if name == "metadata" {
		return ReadOnly
	}
	return ps[name]
}

// Allows reports whether ps grants p.
func (ps Perms) Allows(p Permission) bool { return ps.Level(p.Name) >= p.Level }

// String lists the permissions as name:level, sorted, comma-separated:
// the CLI's form, which ParsePerms reads back.
func (ps Perms) String() string {
	var out []string
	for _, info := range permissions {
		if l := ps.Level(info.Name); l > NoAccess {
			out = append(out, info.Name+":"+l.String())
		}
	}
	return strings.Join(out, ",")
}

// Normalize validates ps and returns a copy with metadata read and
// no-access entries dropped.
func (ps Perms) Normalize() (Perms, error) {
	out := Perms{}
	for name, l := range ps {
		info, ok := PermissionInfo(name)
		if !ok {
			return nil, fmt.Errorf("unknown permission %q; known: %s", name, permNames())
		}
		if l > info.Max {
			return nil, fmt.Errorf("permission %s can only be %s", name, info.Max)
		}
		if l > NoAccess && !info.Always {
			out[name] = l
		}
	}
	return out, nil
}

// ParsePerms reads the CLI's form, "contents:write,administration:read"
// (spaces or commas between entries; "=" works as well as ":").
func ParsePerms(s string) (Perms, error) {
	ps := Perms{}
	for _, f := range strings.FieldsFunc(s, func(r rune) bool { return r == ',' || r == ' ' }) {
		name, lvl, ok := strings.Cut(f, ":")
		if !ok {
			name, lvl, ok = strings.Cut(f, "=")
		}
		if !ok {
			return nil, fmt.Errorf("permission %q: write NAME:read or NAME:write", f)
		}
		l, ok := ParseLevel(lvl)
		if !ok {
			return nil, fmt.Errorf("permission %q: the level is read, write or none", f)
		}
		ps[strings.TrimSpace(name)] = l
	}
	return ps.Normalize()
}

func permNames() string {
	var n []string
	for _, p := range permissions {
		n = append(n, p.Name)
	}
	return strings.Join(n, ", ")
}
