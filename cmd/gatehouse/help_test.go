package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// runOut runs the command line args and returns what it printed.
func runOut(t *testing.T, args ...string) (stdout, stderr string, err error) {
	t.Helper()
	var out, errOut bytes.Buffer
	err = run(context.Background(), args, strings.NewReader(""), &out, &errOut)
	return out.String(), errOut.String(), err
}

// flagLines maps each flag of a command's help to its first line, which
// names its variable and default.
func flagLines(help string) map[string]string {
	lines := map[string]string{}
	for _, l := range strings.Split(help, "\n") {
		if rest, ok := strings.CutPrefix(l, "  --"); ok {
			name, _, _ := strings.Cut(rest, " ")
			lines[name] = l
		}
	}
	return lines
}

// TestServeHelpListsEveryFlag keeps serve's help complete: every flag
// serve parses is listed, with the variable that stands in for it and its
// default, and only the TLS files have no variable.
func TestServeHelpListsEveryFlag(t *testing.T) {
	// A variable set in the shell must not show up as the default.
	t.Setenv("GATEHOUSE_DATA", "/elsewhere")
	t.Setenv("GATEHOUSE_LISTEN", "127.0.0.1:9")
	help, _, err := runOut(t, "serve", "--help")
	if err != nil {
		t.Fatalf("serve --help: %v", err)
	}
	lines := flagLines(help)
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	(&env{}).common(fs)
	newServeConfig().register(fs)
	envOf := map[string]string{}
	for _, fe := range append(commonEnv(), serveEnv()...) {
		envOf[fe[0]] = fe[1]
	}
	noEnv := map[string]bool{"tls-cert": true, "tls-key": true, "tls-self-signed": true}
	n := 0
	fs.VisitAll(func(f *flag.Flag) {
		n++
		line, ok := lines[f.Name]
		if !ok {
			t.Errorf("serve --help does not list --%s", f.Name)
			return
		}
		switch env := envOf[f.Name]; {
		case env == "" && !noEnv[f.Name]:
			t.Errorf("--%s has no environment variable: add it to serveEnv", f.Name)
		case env != "" && !strings.Contains(line, "env "+env):
			t.Errorf("--%s: %q does not name %s", f.Name, line, env)
		}
		if def := defaultText(f); def != "" && !strings.Contains(line, "default "+def) {
			t.Errorf("--%s: %q does not give the default %s", f.Name, line, def)
		}
	})
	if len(lines) != n {
		t.Errorf("serve --help lists %d flags, serve has %d:\n%s", len(lines), n, help)
	}
	for _, want := range []string{`--listen string  (env GATEHOUSE_LISTEN; default "127.0.0.1:3000")`,
		`--data string  (env GATEHOUSE_DATA; default "./gatehouse-data")`, "--rate-limit int  (env GATEHOUSE_RATE_LIMIT; default 0)",
		"GATEHOUSE_SMTP_PASSWORD"} {
		if !strings.Contains(help, want) {
			t.Errorf("serve --help lacks %q:\n%s", want, help)
		}
	}
	if strings.Contains(help, "/elsewhere") || strings.Contains(help, "127.0.0.1:9\"") {
		t.Errorf("serve --help shows the environment's values as defaults:\n%s", help)
	}
}

// TestEveryCommandHasHelp runs "COMMAND --help" and "help COMMAND" for
// every command: both print the same help, which names the command, and
// succeed; every flag has a usage text.
func TestEveryCommandHasHelp(t *testing.T) {
	for _, c := range commands() {
		if c.name == "help" {
			continue
		}
		args := strings.Fields(c.name)
		viaFlag, _, err := runOut(t, append(args, "--help")...)
		if err != nil {
			t.Errorf("%s --help: %v", c.name, err)
			continue
		}
		viaHelp, _, err := runOut(t, append([]string{"help"}, args...)...)
		if err != nil {
			t.Errorf("help %s: %v", c.name, err)
		}
		if viaFlag != viaHelp {
			t.Errorf("%s --help and help %s differ:\n%s\n---\n%s", c.name, c.name, viaFlag, viaHelp)
		}
		if !strings.HasPrefix(viaFlag, "Usage: gatehouse "+strings.TrimSpace(c.name+" "+c.args)) || !strings.Contains(viaFlag, c.summary) {
			t.Errorf("%s --help:\n%s", c.name, viaFlag)
		}
		for name, line := range flagLines(viaFlag) {
			if i := strings.Index(viaFlag, line+"\n        "); i < 0 || strings.HasPrefix(viaFlag[i+len(line)+9:], "\n") {
				t.Errorf("%s: --%s has no usage text", c.name, name)
			}
		}
		if c.name != "version" && !strings.Contains(viaFlag, "--data string  (env GATEHOUSE_DATA") {
			t.Errorf("%s --help does not list --data with its variable:\n%s", c.name, viaFlag)
		}
	}
	for _, args := range [][]string{{"help"}, {"--help"}, {"-h"}, {"help", "help"}} {
		out, _, err := runOut(t, args...)
		if err != nil || !strings.Contains(out, "gatehouse admin token create --user NAME --note N") {
			t.Errorf("%q: %v\n%s", args, err, out)
		}
	}
}

// TestGroupHelp lists the commands of a group for "help GROUP" and
// "GROUP --help".
func TestGroupHelp(t *testing.T) {
	for _, args := range [][]string{{"help", "admin"}, {"admin", "--help"}, {"admin", "-h"}} {
		out, _, err := runOut(t, args...)
		if err != nil || !strings.Contains(out, "gatehouse admin user create") || !strings.Contains(out, "gatehouse admin deploy-key delete OWNER/REPO ID") || strings.Contains(out, "gatehouse serve") {
			t.Errorf("%q: %v\n%s", args, err, out)
		}
	}
	out, _, err := runOut(t, "admin", "token", "--help")
	if err != nil || !strings.Contains(out, "admin token revoke ID") || strings.Contains(out, "admin user create") {
		t.Errorf("admin token --help: %v\n%s", err, out)
	}
}

// TestUsageErrorsNameTheirCommand checks that a mistake is a one-line
// usage error that knows which command's help to point at.
func TestUsageErrorsNameTheirCommand(t *testing.T) {
	for _, c := range []struct {
		args    []string
		cmd     string
		message string
	}{
		{[]string{"frobnicate"}, "", `unknown command "frobnicate"`},
		{[]string{"admin"}, "admin", "admin needs a command: user, repo, org, token, key or deploy-key"},
		{[]string{"admin", "token"}, "admin token", "admin token needs a command: create, list, access or revoke"},
		{[]string{"admin", "token", "frob"}, "admin token", `unknown command "admin token frob"`},
		{[]string{"admin", "token", "revoke"}, "admin token revoke", "admin token revoke needs the token ID"},
		{[]string{"serve", "--bogus"}, "serve", "serve: flag provided but not defined: -bogus"},
		{[]string{"help", "nosuch"}, "", `no command "nosuch"`},
		{[]string{"version", "extra"}, "version", "version takes no arguments"},
		{[]string{"admin", "user", "promote"}, "admin user promote", "admin user promote needs the USER"},
	} {
		_, _, err := runOut(t, c.args...)
		var ue usageError
		if !errors.As(err, &ue) || ue.cmd != c.cmd || !strings.Contains(ue.msg, c.message) || strings.Contains(ue.msg, "\n") {
			t.Errorf("%q: %#v, want a one-line usage error of %q containing %q", c.args, err, c.cmd, c.message)
		}
	}
}

// TestCommonFlagsFromEnvironment keeps the variables of the common flags
// working now that they apply after parsing: the variable when the flag
// is missing, the flag over the variable.
func TestCommonFlagsFromEnvironment(t *testing.T) {
	fromEnv, fromFlag := t.TempDir(), t.TempDir()
	t.Setenv("GATEHOUSE_DATA", fromEnv)
	if _, errOut, err := runOut(t, "admin", "user", "create", "--username", "alice", "--email", "a@example.com"); err != nil {
		t.Fatalf("user create: %v %s", err, errOut)
	}
	if _, err := os.Stat(filepath.Join(fromEnv, "gatehouse.db")); err != nil {
		t.Errorf("GATEHOUSE_DATA was not used: %v", err)
	}
	if _, errOut, err := runOut(t, "admin", "user", "create", "--username", "bob", "--email", "b@example.com", "--data", fromFlag); err != nil {
		t.Fatalf("user create --data: %v %s", err, errOut)
	}
	if _, err := os.Stat(filepath.Join(fromFlag, "gatehouse.db")); err != nil {
		t.Errorf("--data did not win over GATEHOUSE_DATA: %v", err)
	}
	t.Setenv("GATEHOUSE_TOKEN_PREFIX", "ghp_")
	out, _, err := runOut(t, "admin", "token", "create", "--user", "alice", "--note", "x")
	if err != nil || !strings.HasPrefix(out, "ghp_") {
		t.Errorf("GATEHOUSE_TOKEN_PREFIX=ghp_: %q, %v", out, err)
	}
}

// TestPromote makes a user a site admin from the command line.
func TestPromote(t *testing.T) {
	data := t.TempDir()
	if _, errOut, err := runOut(t, "admin", "user", "create", "--username", "alice", "--email", "a@example.com", "--data", data); err != nil {
		t.Fatalf("user create: %v %s", err, errOut)
	}
	_, errOut, err := runOut(t, "admin", "user", "promote", "alice", "--data", data)
	if err != nil || errOut != "alice is now a site admin.\n" {
		t.Fatalf("promote: %v %q", err, errOut)
	}
	_, errOut, err = runOut(t, "admin", "user", "promote", "ALICE", "--data", data)
	if err != nil || errOut != "alice is a site admin already.\n" {
		t.Fatalf("promote again: %v %q", err, errOut)
	}
	if _, _, err := runOut(t, "admin", "user", "promote", "nobody", "--data", data); err == nil || !strings.Contains(oneLine(err), `no user named "nobody"`) {
		t.Fatalf("promote nobody: %v", err)
	}
}
