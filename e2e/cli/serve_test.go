package cli_test

import (
	"bytes"
	"errors"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/gatehouse/gatehouse/internal/testenv"
)

// TestServePrivateMode checks that --private-mode and
// GATEHOUSE_PRIVATE_MODE reach the server, the flag winning.
func TestServePrivateMode(t *testing.T) {
	for name, c := range map[string]struct {
		args, env []string
		private   bool
	}{
		"default":            {nil, nil, false},
		"flag":               {[]string{"--private-mode"}, nil, true},
		"env":                {nil, []string{"GATEHOUSE_PRIVATE_MODE=true"}, true},
		"flag overrides env": {[]string{"--private-mode=false"}, []string{"GATEHOUSE_PRIVATE_MODE=1"}, false},
	} {
		t.Run(name, func(t *testing.T) {
			s := testenv.Start(t, testenv.Options{Args: c.args, Env: c.env})
			s.CreateUser("alice", false)
			s.Admin("repo", "create", "alice/demo")
			resp, err := http.Get(s.URL + "/api/v3/repos/alice/demo")
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			want := http.StatusOK
			if c.private {
				want = http.StatusUnauthorized
			}
			if resp.StatusCode != want {
				t.Fatalf("anonymous GET of a public repository: %d, want %d", resp.StatusCode, want)
			}
		})
	}
}

// TestServeRefusesBadEnvironment checks that a variable that does not
// parse stops serve with a usage error naming it, rather than being
// ignored.
func TestServeRefusesBadEnvironment(t *testing.T) {
	for env, want := range map[string]string{
		"GATEHOUSE_RATE_LIMIT=abc":      `GATEHOUSE_RATE_LIMIT "abc" is not a whole number`,
		"GATEHOUSE_PRIVATE_MODE=maybe":  `GATEHOUSE_PRIVATE_MODE "maybe" is not true or false`,
		"GATEHOUSE_TRUSTED_PROXY=proxy": `GATEHOUSE_TRUSTED_PROXY "proxy" is not a CIDR or address`,
	} {
		cmd := exec.Command(testenv.Binary(t), "serve", "--listen", "127.0.0.1:0", "--data", t.TempDir())
		cmd.Env = append(os.Environ(), env)
		var errOut bytes.Buffer
		cmd.Stderr = &errOut
		err := cmd.Run()
		var ee *exec.ExitError
		if !errors.As(err, &ee) || ee.ExitCode() != 2 || !strings.Contains(errOut.String(), want) {
			t.Errorf("serve with %s: %v, %q; want exit 2 and %q", env, err, errOut.String(), want)
		}
	}
}
