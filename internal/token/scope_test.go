package token

import (
	"errors"
	"slices"
	"strings"
	"testing"
)

func TestRegistryShape(t *testing.T) {
	seen := map[string]bool{}
	for _, s := range Scopes() {
		if seen[s.Name] {
			t.Errorf("duplicate scope %q", s.Name)
		}
		if s.Parent != "" && !seen[s.Parent] {
			t.Errorf("scope %q listed before its parent %q", s.Name, s.Parent)
		}
		if s.Description == "" {
			t.Errorf("scope %q has no description", s.Name)
		}
		seen[s.Name] = true
	}
	// Parents come first, so the ancestor walk always ends: no cycles.
	for _, name := range []string{
		"repo", "repo:status", "repo_deployment", "public_repo", "repo:invite", "security_events",
		"workflow", "write:packages", "read:packages", "delete:packages", "admin:org", "write:org",
		"read:org", "manage_runners:org", "admin:public_key", "write:public_key", "read:public_key",
		"admin:repo_hook", "write:repo_hook", "read:repo_hook", "admin:org_hook", "gist",
		"notifications", "user", "read:user", "user:email", "user:follow", "delete_repo",
		"write:discussion", "read:discussion", "admin:enterprise", "manage_runners:enterprise",
		"manage_billing:enterprise", "read:enterprise", "audit_log", "read:audit_log",
		"admin:gpg_key", "write:gpg_key", "read:gpg_key", "admin:ssh_signing_key",
		"write:ssh_signing_key", "read:ssh_signing_key", "project", "read:project",
		"site_admin", "admin:pre_receive_hook",
	} {
		if !KnownScope(name) {
			t.Errorf("scope %q missing", name)
		}
	}
	if KnownScope("") || KnownScope("REPO") || KnownScope("devtools") {
		t.Error("KnownScope accepts a name it should not")
	}
	s := Scopes()
	s[0].Name = "mutated"
	if Scopes()[0].Name != "repo" {
		t.Error("Scopes returns the registry itself, not a copy")
	}
}

func TestNormalize(t *testing.T) {
	tests := []struct {
		in      []string
		want    []string
		dropped bool
	}{
		{nil, []string{}, false},
		{[]string{}, []string{}, false},
		{[]string{"", "  "}, []string{}, false},
		{[]string{"user", "gist", "user:email"}, []string{"gist", "user"}, true},
		{[]string{"admin:org", "read:org"}, []string{"admin:org"}, true},
		{[]string{"write:org", "read:org"}, []string{"write:org"}, true},
		{[]string{"admin:org", "manage_runners:org", "write:org"}, []string{"admin:org"}, true},
		{[]string{"admin:public_key", "read:public_key"}, []string{"admin:public_key"}, true},
		{[]string{"write:gpg_key", "read:gpg_key"}, []string{"write:gpg_key"}, true},
		{[]string{"read:org", "read:org", " read:org "}, []string{"read:org"}, false},
		{[]string{"workflow", "repo", "gist"}, []string{"gist", "repo", "workflow"}, false},
		{[]string{"public_repo", "repo:status"}, []string{"public_repo", "repo:status"}, false},
		{[]string{"repo", "public_repo", "repo:status", "security_events"}, []string{"repo"}, true},
		{[]string{"read:packages", "write:packages", "delete:packages"}, []string{"delete:packages", "write:packages"}, true},
	}
	for _, tt := range tests {
		got, dropped, err := Normalize(tt.in)
		if err != nil {
			t.Errorf("Normalize(%q) error %v", tt.in, err)
			continue
		}
		if got == nil || !slices.Equal(got, tt.want) || dropped != tt.dropped {
			t.Errorf("Normalize(%q) = %q, %v; want %q, %v", tt.in, got, dropped, tt.want, tt.dropped)
		}
	}
}

func TestNormalizeUnknown(t *testing.T) {
	_, _, err := Normalize([]string{"repo", "foo"})
	var ue *UnknownScopeError
	if !errors.As(err, &ue) || ue.Scope != "foo" {
		t.Fatalf("Normalize(foo) error = %v, want *UnknownScopeError for foo", err)
	}
	msg := err.Error()
	if !strings.HasPrefix(msg, `unknown scope "foo"; valid scopes: repo, repo:status, `) {
		t.Fatalf("message = %q", msg)
	}
	for _, s := range Scopes() {
		if !strings.Contains(msg, s.Name) {
			t.Errorf("message does not list %q", s.Name)
		}
	}
	for _, bad := range []string{"Repo", "repo:", "read org", "all", "\"x\"; valid scopes: none"} {
		if _, _, err := Normalize([]string{bad}); err == nil {
			t.Errorf("Normalize(%q) accepted", bad)
		}
	}
	// Control characters and quotes are escaped, not echoed raw.
	_, _, err = Normalize([]string{"a\"b\x1b"})
	if err == nil || strings.ContainsAny(err.Error(), "\x1b") {
		t.Fatalf("unescaped error %q", err)
	}
}

func TestParseScopeList(t *testing.T) {
	tests := []struct {
		in   string
		want []string
	}{
		{"", []string{}},
		{" ", []string{}},
		{"repo,read:org", []string{"read:org", "repo"}},
		{"repo, read:org", []string{"read:org", "repo"}},
		{" repo , read:org ,", []string{"read:org", "repo"}},
		{"user,gist,user:email", []string{"gist", "user"}},
	}
	for _, tt := range tests {
		got, err := ParseScopeList(tt.in)
		if err != nil || !slices.Equal(got, tt.want) {
			t.Errorf("ParseScopeList(%q) = %q, %v; want %q", tt.in, got, err, tt.want)
		}
	}
	if _, err := ParseScopeList("repo,nope"); err == nil {
		t.Error("ParseScopeList accepted an unknown scope")
	}
}

func TestHas(t *testing.T) {
	tests := []struct {
		granted  []string
		required string
		want     bool
	}{
		{[]string{"repo"}, "repo", true},
		{[]string{"repo"}, "public_repo", true},
		{[]string{"repo"}, "repo:status", true},
		{[]string{"public_repo"}, "repo", false},
		{[]string{"admin:org"}, "read:org", true},
		{[]string{"admin:org"}, "write:org", true},
		{[]string{"write:org"}, "read:org", true},
		{[]string{"read:org"}, "write:org", false},
		{[]string{"read:org"}, "admin:org", false},
		{[]string{"admin:public_key"}, "read:public_key", true},
		{[]string{"write:public_key"}, "read:public_key", true},
		{[]string{"read:public_key"}, "write:public_key", false},
		{[]string{"user"}, "user:email", true},
		{[]string{"user:email"}, "user", false},
		{[]string{"gist", "user"}, "read:user", true},
		{nil, "repo", false},
		{[]string{}, "gist", false},
		{[]string{"repo"}, "delete_repo", false},
		{[]string{"admin:enterprise"}, "read:enterprise", true},
		{[]string{"write:packages"}, "read:packages", true},
		{[]string{"write:packages"}, "delete:packages", false},
		{[]string{"repo"}, "", false},
		{[]string{"custom"}, "custom", true}, // unknown names match only themselves
	}
	for _, tt := range tests {
		if got := Has(tt.granted, tt.required); got != tt.want {
			t.Errorf("Has(%q, %q) = %v, want %v", tt.granted, tt.required, got, tt.want)
		}
	}
}

func TestHeaderValue(t *testing.T) {
	in := []string{"repo", "gist", "admin:org"}
	if got := HeaderValue(in); got != "admin:org, gist, repo" {
		t.Fatalf("HeaderValue = %q", got)
	}
	if in[0] != "repo" {
		t.Fatal("HeaderValue modified its input")
	}
	if got := HeaderValue(nil); got != "" {
		t.Fatalf("HeaderValue(nil) = %q", got)
	}
}
