package cli_test

import (
	"strings"
	"testing"
)

// TestOrgCommands creates an organization and its members from the
// command line, through the service as the system: the rules of the web
// UI and the API hold here too (one login namespace, at least one owner).
func TestOrgCommands(t *testing.T) {
	data := t.TempDir()
	for _, u := range []string{"alice", "bob"} {
		if _, errOut, code := run(t, data, "", "admin", "user", "create", "--username", u, "--email", u+"@example.com"); code != 0 {
			t.Fatalf("user create %s: exit %d: %s", u, code, errOut)
		}
	}
	out, errOut, code := run(t, data, "", "admin", "org", "create", "acme", "--owner", "alice", "--name", "Acme Corporation")
	if code != 0 || out != "" || !strings.Contains(errOut, "Created organization acme") || !strings.Contains(errOut, "owned by alice") {
		t.Fatalf("org create: exit %d, stdout %q, stderr %q", code, out, errOut)
	}
	_, errOut, code = run(t, data, "", "admin", "org", "member", "add", "acme", "bob")
	if code != 0 || !strings.Contains(errOut, "bob is now a member of acme.") {
		t.Fatalf("org member add: exit %d, stderr %q", code, errOut)
	}
	_, errOut, code = run(t, data, "", "admin", "org", "member", "add", "acme", "bob", "--role", "admin")
	if code != 0 || !strings.Contains(errOut, "bob is now an owner of acme.") {
		t.Fatalf("org member add --role admin: exit %d, stderr %q", code, errOut)
	}
	// Two owners now: alice may become a member; bob, then the last
	// owner, may not.
	if _, errOut, code = run(t, data, "", "admin", "org", "member", "add", "acme", "alice", "--role", "member"); code != 0 {
		t.Fatalf("demote alice: exit %d, stderr %q", code, errOut)
	}
	// The organization owns repositories like a user.
	if _, errOut, code = run(t, data, "", "admin", "repo", "create", "acme/tools", "--private"); code != 0 || !strings.Contains(errOut, "acme/tools") {
		t.Fatalf("repo create acme/tools: exit %d, stderr %q", code, errOut)
	}

	for name, tc := range map[string]struct {
		args []string
		code int
		msg  string
	}{
		"no owner":          {[]string{"admin", "org", "create", "beta"}, 2, "--owner"},
		"no name":           {[]string{"admin", "org", "create", "--owner", "alice"}, 2, "NAME"},
		"unknown owner":     {[]string{"admin", "org", "create", "beta", "--owner", "zed"}, 1, `no user named "zed"`},
		"name of a user":    {[]string{"admin", "org", "create", "bob", "--owner", "alice"}, 1, "already taken"},
		"name of an org":    {[]string{"admin", "org", "create", "ACME", "--owner", "alice"}, 1, "already taken"},
		"reserved name":     {[]string{"admin", "org", "create", "settings", "--owner", "alice"}, 1, "reserved"},
		"bad name":          {[]string{"admin", "org", "create", "x--y", "--owner", "alice"}, 1, "invalid organization name"},
		"last owner":        {[]string{"admin", "org", "member", "add", "acme", "bob", "--role", "member"}, 1, "at least one owner"},
		"bad role":          {[]string{"admin", "org", "member", "add", "acme", "alice", "--role", "boss"}, 2, "use member or admin"},
		"unknown org":       {[]string{"admin", "org", "member", "add", "nope", "alice"}, 1, `no organization named "nope"`},
		"a user is no org":  {[]string{"admin", "org", "member", "add", "alice", "bob"}, 1, `no organization named "alice"`},
		"unknown member":    {[]string{"admin", "org", "member", "add", "acme", "zed"}, 1, `no user named "zed"`},
		"org as a member":   {[]string{"admin", "org", "member", "add", "acme", "acme"}, 1, "cannot be a member"},
		"member needs verb": {[]string{"admin", "org", "member"}, 2, "admin org member needs a command: add"},
		"member arguments":  {[]string{"admin", "org", "member", "add", "acme"}, 2, "ORG and USER"},
	} {
		t.Run(name, func(t *testing.T) {
			out, errOut, code := run(t, data, "", tc.args...)
			if code != tc.code || !strings.Contains(errOut, tc.msg) || out != "" {
				t.Fatalf("exit %d (want %d), stdout %q, stderr %q (want %q)", code, tc.code, out, errOut, tc.msg)
			}
			if strings.Count(strings.TrimSpace(errOut), "\n") > 1 {
				t.Errorf("error message should be short:\n%s", errOut)
			}
		})
	}
	out, _, _ = gatehouse(t, "help")
	for _, want := range []string{"gatehouse admin org create NAME --owner USER", "gatehouse admin org member add ORG USER"} {
		if !strings.Contains(out, want) {
			t.Errorf("the usage text lacks %q", want)
		}
	}
	out, _, _ = gatehouse(t, "help", "admin", "org", "member", "add")
	if want := "--role string  (default \"member\")\n        member, or admin for an owner"; !strings.Contains(out, want) {
		t.Errorf("help admin org member add lacks %q:\n%s", want, out)
	}
}
