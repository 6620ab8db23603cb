package cli_test

import (
	"bytes"
	"errors"
	"os/exec"
	"strings"
	"testing"

	"github.com/gatehouse/gatehouse/internal/testenv"
)

// gatehouse runs the binary with args alone and returns its output and
// exit status.
func gatehouse(t *testing.T, args ...string) (string, string, int) {
	t.Helper()
	cmd := testenv.Command(t, args...)
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err := cmd.Run()
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		return out.String(), errOut.String(), ee.ExitCode()
	}
	if err != nil {
		t.Fatal(err)
	}
	return out.String(), errOut.String(), 0
}

// TestHelp is the regression for "serve --help" exiting 2 and pointing at
// an overview that listed 6 of serve's flags: every command's help lists
// its flags with their variables and defaults, on standard output, with
// exit status 0, whether asked for with --help, -h or "help COMMAND".
func TestHelp(t *testing.T) {
	serve, errOut, code := gatehouse(t, "serve", "--help")
	if code != 0 || errOut != "" || !strings.HasPrefix(serve, "Usage: gatehouse serve") {
		t.Fatalf("serve --help: exit %d, stderr %q\n%s", code, errOut, serve)
	}
	for _, want := range []string{
		`--listen string  (env GATEHOUSE_LISTEN; default "127.0.0.1:3000")`,
		`--external-url string  (env GATEHOUSE_EXTERNAL_URL)`,
		`--log-level string  (env GATEHOUSE_LOG_LEVEL; default "info")`,
		`--log-format string  (env GATEHOUSE_LOG_FORMAT; default "text")`,
		`--trusted-proxy CIDR  (env GATEHOUSE_TRUSTED_PROXY)`,
		`--smtp-addr string  (env GATEHOUSE_SMTP_ADDR)`,
		`--smtp-from string  (env GATEHOUSE_SMTP_FROM)`,
		`--smtp-user string  (env GATEHOUSE_SMTP_USER)`,
		`--rate-limit int  (env GATEHOUSE_RATE_LIMIT; default 0)`,
		`--rate-limit-anonymous int  (env GATEHOUSE_RATE_LIMIT_ANONYMOUS; default 60)`,
		`--token-prefix string  (env GATEHOUSE_TOKEN_PREFIX; default "gtp_")`,
		`--data string  (env GATEHOUSE_DATA; default "./gatehouse-data")`,
		`--database string  (env GATEHOUSE_DATABASE_URL)`,
		`--max-push-size int  (env GATEHOUSE_MAX_PUSH_SIZE; default 2048)`,
		`--ssh-listen string  (env GATEHOUSE_SSH_LISTEN)`,
		`--tls-self-signed`,
		`GATEHOUSE_SMTP_PASSWORD`,
	} {
		if !strings.Contains(serve, want) {
			t.Errorf("serve --help lacks %q", want)
		}
	}
	if t.Failed() {
		t.Logf("serve --help:\n%s", serve)
	}
	for _, name := range []string{"serve", "admin user create", "admin user promote", "admin repo create", "admin repo collaborator",
		"admin token create", "admin token list", "admin token revoke", "admin org create", "admin org member add",
		"admin key add", "admin key list", "admin key delete", "admin deploy-key add", "admin deploy-key list", "admin deploy-key delete",
		"backup", "restore", "hook pre-receive", "version"} {
		args := strings.Fields(name)
		viaHelp, errOut, code := gatehouse(t, append([]string{"help"}, args...)...)
		if code != 0 || errOut != "" || !strings.HasPrefix(viaHelp, "Usage: gatehouse "+name) {
			t.Errorf("help %s: exit %d, stderr %q\n%s", name, code, errOut, viaHelp)
			continue
		}
		for _, h := range []string{"--help", "-h"} {
			if out, _, code := gatehouse(t, append(args, h)...); code != 0 || out != viaHelp {
				t.Errorf("%s %s: exit %d, and not the same as help %s:\n%s", name, h, code, name, out)
			}
		}
	}
	for _, group := range []string{"admin", "admin user", "admin repo", "admin token", "admin org", "admin key", "admin deploy-key", "hook"} {
		out, errOut, code := gatehouse(t, "help", group)
		if code != 0 || errOut != "" || !strings.Contains(out, "gatehouse "+group+" ") {
			t.Errorf("help %s: exit %d, stderr %q\n%s", group, code, errOut, out)
		}
		if again, _, code := gatehouse(t, append(strings.Fields(group), "--help")...); code != 0 || again != out {
			t.Errorf("%s --help: exit %d\n%s", group, code, again)
		}
	}
	overview, _, code := gatehouse(t, "help")
	if code != 0 || !strings.Contains(overview, "gatehouse admin token create --user NAME --note N") || !strings.Contains(overview, "gatehouse help [COMMAND]") {
		t.Errorf("help: exit %d\n%s", code, overview)
	}
}

// TestUsageErrorsAreOneLine checks that a mistake on the command line is
// one line on standard error, naming the help to read, with exit status 2.
func TestUsageErrorsAreOneLine(t *testing.T) {
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"serve", "--bogus"}, "gatehouse: serve: flag provided but not defined: -bogus; see 'gatehouse help serve'\n"},
		{[]string{"admin", "token", "create", "--user", "alice"}, "gatehouse: admin token create needs --user and --note; see 'gatehouse help admin token create'\n"},
		{[]string{"admin"}, "gatehouse: admin needs a command: user, repo, org, token, key or deploy-key; see 'gatehouse help admin'\n"},
		{[]string{"admin", "key", "frob"}, "gatehouse: unknown command \"admin key frob\"; see 'gatehouse help admin key'\n"},
		{[]string{"frobnicate"}, "gatehouse: unknown command \"frobnicate\"; see 'gatehouse help'\n"},
		{[]string{"help", "frobnicate"}, "gatehouse: no command \"frobnicate\"; see 'gatehouse help'\n"},
	} {
		out, errOut, code := gatehouse(t, c.args...)
		if code != 2 || out != "" || errOut != c.want {
			t.Errorf("%q: exit %d, stdout %q, stderr %q; want exit 2 and %q", c.args, code, out, errOut, c.want)
		}
	}
}
