package main

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/gatehouse/gatehouse"
)

// TestFineGrainedRepoAccess reads --repos as the help describes it.
func TestFineGrainedRepoAccess(t *testing.T) {
	for _, c := range []struct {
		in     string
		access gatehouse.RepoAccess
		names  string
	}{
		{"public", gatehouse.PublicRepos, ""},
		{"", gatehouse.PublicRepos, ""},
		{"ALL", gatehouse.AllRepos, ""},
		{"a", gatehouse.SelectedRepos, "a"},
		{" a, acme/b ,", gatehouse.SelectedRepos, "a|acme/b"},
		{"acme/all", gatehouse.SelectedRepos, "acme/all"},
	} {
		access, names, err := parseRepoAccess(c.in)
		if err != nil || access != c.access || strings.Join(names, "|") != c.names {
			t.Errorf("parseRepoAccess(%q) = %q, %q, %v; want %q, %q", c.in, access, names, err, c.access, c.names)
		}
	}
	var ue usageError
	if _, _, err := parseRepoAccess(" , "); !errors.As(err, &ue) {
		t.Errorf("parseRepoAccess(\" , \"): %v, want a usage error", err)
	}
}

// TestFineGrainedTokenPolicyFlags: token-policy changes only the fields
// whose flags are given, and an explicit =false or 0 changes them back.
func TestFineGrainedTokenPolicyFlags(t *testing.T) {
	data := t.TempDir()
	must := func(args ...string) string {
		t.Helper()
		out, errOut, err := runOut(t, append(args, "--data", data)...)
		if err != nil {
			t.Fatalf("%s: %v %s", strings.Join(args, " "), err, errOut)
		}
		return out
	}
	policy := func() policyJSON {
		t.Helper()
		var p policyJSON
		if err := json.Unmarshal([]byte(must("admin", "org", "token-policy", "acme", "--json")), &p); err != nil {
			t.Fatal(err)
		}
		return p
	}
	must("admin", "user", "create", "--username", "alice", "--email", "a@example.com")
	must("admin", "org", "create", "acme", "--owner", "alice")
	if p := policy(); p != (policyJSON{Org: "acme", RequireApproval: true}) {
		t.Fatalf("the default policy is %+v", p)
	}
	must("admin", "org", "token-policy", "acme", "--max-classic-days", "10")
	must("admin", "org", "token-policy", "acme", "--restrict-classic", "--require-approval=false")
	want := policyJSON{Org: "acme", RestrictClassic: true, MaxClassicDays: 10}
	if p := policy(); p != want {
		t.Fatalf("policy %+v, want %+v", p, want)
	}
	must("admin", "org", "token-policy", "acme", "--restrict-classic=false", "--max-classic-days", "0", "--max-fine-grained-days", "90")
	want = policyJSON{Org: "acme", MaxFineGrainedDays: 90}
	if p := policy(); p != want {
		t.Fatalf("policy %+v, want %+v", p, want)
	}
}

// TestFineGrainedTokenCreateOutput: the secret alone on stdout, as for
// classic tokens; the classic-only and fine-grained-only flags are usage
// errors of the other kind.
func TestFineGrainedTokenCreateOutput(t *testing.T) {
	data := t.TempDir()
	if _, errOut, err := runOut(t, "admin", "user", "create", "--username", "alice", "--email", "a@example.com", "--data", data); err != nil {
		t.Fatalf("user create: %v %s", err, errOut)
	}
	out, errOut, err := runOut(t, "admin", "token", "create", "--fine-grained", "--user", "alice", "--note", "x", "--permissions", "contents:read", "--data", data)
	if err != nil || !strings.HasPrefix(out, "gtp_pat_") || strings.Count(out, "\n") != 1 || len(out) != len("gtp_pat_")+36+1 {
		t.Fatalf("token create --fine-grained: %v, stdout %q, stderr %q", err, out, errOut)
	}
	if !strings.Contains(errOut, "Fine-grained token 1 for alice on alice: public repositories (read-only); permissions metadata:read,contents:read;") {
		t.Errorf("token create --fine-grained stderr: %q", errOut)
	}
	for _, args := range [][]string{
		{"--user", "alice", "--note", "y", "--repos", "all"},
		{"--user", "alice", "--note", "y", "--description", "d"},
		{"--fine-grained", "--user", "alice", "--note", "y", "--scopes", ""},
		{"--fine-grained", "--user", "alice", "--note", "y", "--permissions", "nope:read"},
	} {
		_, _, err := runOut(t, append(append([]string{"admin", "token", "create"}, args...), "--data", data)...)
		var ue usageError
		if !errors.As(err, &ue) || ue.cmd != "admin token create" {
			t.Errorf("token create %q: %#v, want a usage error of admin token create", args, err)
		}
	}
}
