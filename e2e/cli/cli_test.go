// Package cli_test runs the gatehouse command line as an operator would.
package cli_test

import (
	"bytes"
	"errors"
	"os/exec"
	"regexp"
	"strings"
	"testing"

	"github.com/gatehouse/gatehouse/internal/testenv"
)

func run(t *testing.T, data string, stdin string, args ...string) (string, string, int) {
	t.Helper()
	cmd := exec.Command(testenv.Binary(t), append(args, "--data", data)...)
	cmd.Stdin = strings.NewReader(stdin)
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err := cmd.Run()
	code := 0
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return out.String(), errOut.String(), code
}

var tokenRE = regexp.MustCompile(`^gtp_[0-9A-Za-z]{36}\n$`)

func TestAdminCommands(t *testing.T) {
	data := t.TempDir()
	out, _, code := run(t, data, "", "admin", "user", "create", "--username", "alice", "--email", "a@example.com")
	if code != 0 || len(strings.TrimSpace(out)) < 16 {
		t.Fatalf("user create without --password-stdin should print a random password: %q (exit %d)", out, code)
	}
	out, _, code = run(t, data, "s3cret-password\n", "admin", "user", "create", "--username", "bob", "--email", "b@example.com", "--password-stdin", "--admin")
	if code != 0 || out != "" {
		t.Fatalf("user create --password-stdin: %q (exit %d)", out, code)
	}
	if _, _, code = run(t, data, "", "admin", "repo", "create", "alice/demo", "--private", "--description", "d"); code != 0 {
		t.Fatalf("repo create exit %d", code)
	}
	out, errOut, code := run(t, data, "", "admin", "token", "create", "--user", "alice", "--note", "ci", "--scopes", "repo,read:org", "--expires", "7d")
	if code != 0 || !tokenRE.MatchString(out) {
		t.Fatalf("token create stdout must be the token alone: %q (exit %d, stderr %s)", out, code, errOut)
	}
	tok := strings.TrimSpace(out)
	out, _, _ = run(t, data, "", "admin", "token", "list")
	if !strings.Contains(out, "ci") || !strings.Contains(out, tok[len(tok)-8:]) || strings.Contains(out, tok) {
		t.Fatalf("token list shows the note and last eight, never the token:\n%s", out)
	}
	out, _, _ = run(t, data, "", "admin", "token", "list", "--user", "alice", "--json")
	if !strings.Contains(out, `"token_last_eight": "`+tok[len(tok)-8:]+`"`) || strings.Contains(out, tok) {
		t.Fatalf("token list --json:\n%s", out)
	}

	for name, tc := range map[string]struct {
		args []string
		code int
		msg  string
	}{
		"unknown scope":   {[]string{"admin", "token", "create", "--user", "alice", "--note", "x", "--scopes", "rpo"}, 1, "valid scopes: repo"},
		"duplicate note":  {[]string{"admin", "token", "create", "--user", "alice", "--note", "ci"}, 1, "note already exists"},
		"bad expiry":      {[]string{"admin", "token", "create", "--user", "alice", "--note", "y", "--expires", "tomorrow"}, 1, "expir"},
		"no such user":    {[]string{"admin", "token", "create", "--user", "zed", "--note", "y"}, 1, "no user named"},
		"missing note":    {[]string{"admin", "token", "create", "--user", "alice"}, 2, "--note"},
		"unknown command": {[]string{"frobnicate"}, 2, "unknown command"},
		"revoke bad id":   {[]string{"admin", "token", "revoke", "abc"}, 2, "not a token ID"},
		"revoke missing":  {[]string{"admin", "token", "revoke", "999"}, 1, "no token with ID 999"},
		"duplicate repo":  {[]string{"admin", "repo", "create", "alice/DEMO"}, 1, "already"},
		"bad login":       {[]string{"admin", "user", "create", "--username", "-x", "--email", "x@example.com"}, 1, "invalid username"},
		"reserved login":  {[]string{"admin", "user", "create", "--username", "Settings", "--email", "s@example.com"}, 1, "reserved"},
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
	if _, _, code := run(t, data, "", "admin", "token", "revoke", "1"); code != 0 {
		t.Fatalf("revoke exit %d", code)
	}
	if out, _, _ := run(t, data, "", "admin", "token", "list"); strings.Contains(out, tok[len(tok)-8:]) {
		t.Fatalf("revoked token still listed:\n%s", out)
	}
}

func TestVersion(t *testing.T) {
	for _, args := range [][]string{{"version"}, {"--version"}} {
		out, _, code := gatehouse(t, args...)
		if code != 0 || !strings.HasPrefix(out, "gatehouse ") {
			t.Fatalf("%s: %q exit %d", args[0], out, code)
		}
	}
}

func TestFirstServePrintsSetupURLOnce(t *testing.T) {
	s := testenv.Start(t, testenv.Options{})
	if s.SetupURL == "" || !strings.HasPrefix(s.SetupURL, s.URL+"/setup?code=") {
		t.Fatalf("first start printed no setup URL:\n%s", s.Log())
	}
	data := s.Data
	s.Stop()
	s.CreateUser("root", true)
	again := testenv.Start(t, testenv.Options{Data: data})
	if again.SetupURL != "" || strings.Contains(again.Log(), "setup?code=") {
		t.Fatalf("a server with users printed a setup URL:\n%s", again.Log())
	}
}

// TestCollaboratorCommandAppliesServiceRules is the regression for the
// command line writing straight to the store: making the owner a
// collaborator of their own repository is refused, as on the API, and
// nothing is written.
func TestCollaboratorCommandAppliesServiceRules(t *testing.T) {
	data := t.TempDir()
	for _, u := range []string{"alice", "bob"} {
		if _, errOut, code := run(t, data, "", "admin", "user", "create", "--username", u, "--email", u+"@example.com"); code != 0 {
			t.Fatalf("user create %s: exit %d: %s", u, code, errOut)
		}
	}
	if _, errOut, code := run(t, data, "", "admin", "repo", "create", "alice/x", "--private"); code != 0 {
		t.Fatalf("repo create: exit %d: %s", code, errOut)
	}
	_, errOut, code := run(t, data, "", "admin", "repo", "collaborator", "alice/x", "alice", "--permission", "read")
	if code != 1 || !strings.Contains(errOut, "Repository owner cannot be a collaborator") {
		t.Fatalf("owner as collaborator: exit %d, stderr %q; want exit 1 naming the rule", code, errOut)
	}
	_, errOut, code = run(t, data, "", "admin", "repo", "collaborator", "alice/x", "bob", "--permission", "read")
	if code != 0 || !strings.Contains(errOut, "bob now has read permission on alice/x") {
		t.Fatalf("bob as collaborator: exit %d, stderr %q", code, errOut)
	}
	_, errOut, code = run(t, data, "", "admin", "repo", "collaborator", "alice/nope", "bob")
	if code != 1 || !strings.Contains(errOut, "no repository alice/nope") {
		t.Fatalf("missing repository: exit %d, stderr %q", code, errOut)
	}
	_, errOut, code = run(t, data, "", "admin", "repo", "collaborator", "alice/x", "carol")
	if code != 1 || !strings.Contains(errOut, `no user named "carol"`) {
		t.Fatalf("missing user: exit %d, stderr %q", code, errOut)
	}
}
