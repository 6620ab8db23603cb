package main

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"strings"
	"testing"

	"golang.org/x/crypto/ssh"
)

// cli runs the command line over data with stdin and returns stdout,
// stderr and the error.
func cli(t *testing.T, data, stdin string, args ...string) (string, string, error) {
	t.Helper()
	var out, errOut bytes.Buffer
	err := run(context.Background(), append(args, "--data", data), strings.NewReader(stdin), &out, &errOut)
	return out.String(), errOut.String(), err
}

func pubKey(t *testing.T, comment string) (string, string) {
	t.Helper()
	pub, _, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	sp, _ := ssh.NewPublicKey(pub)
	return strings.TrimSpace(string(ssh.MarshalAuthorizedKey(sp))) + " " + comment, ssh.FingerprintSHA256(sp)
}

func TestAdminKeys(t *testing.T) {
	data := t.TempDir()
	for _, args := range [][]string{
		{"admin", "user", "create", "--username", "alice", "--email", "a@example.com"},
		{"admin", "repo", "create", "alice/app", "--private"},
	} {
		if _, errOut, err := cli(t, data, "", args...); err != nil {
			t.Fatalf("%q: %v %s", args, err, errOut)
		}
	}
	key, fp := pubKey(t, "alice@laptop")
	// Comments and blank lines before the key, as in a .pub file edited by hand.
	id, errOut, err := cli(t, data, "# my laptop\n\n"+key+"\n", "admin", "key", "add", "--user", "alice")
	if err != nil || strings.TrimSpace(id) == "" || !strings.Contains(errOut, fp) || !strings.Contains(errOut, `"alice@laptop"`) {
		t.Fatalf("key add: %q %q %v", id, errOut, err)
	}
	list, _, err := cli(t, data, "", "admin", "key", "list", "--user", "alice")
	if err != nil || !strings.Contains(list, fp) || !strings.Contains(list, "never") {
		t.Errorf("key list:\n%s %v", list, err)
	}
	if _, errOut, err := cli(t, data, key, "admin", "deploy-key", "add", "alice/app"); err == nil || !strings.Contains(errOut+err.Error(), "already in use") {
		t.Errorf("a user key as a deploy key: %v %s", err, errOut)
	}
	if _, _, err := cli(t, data, "", "admin", "key", "delete", strings.TrimSpace(id)); err != nil {
		t.Errorf("key delete: %v", err)
	}
	if list, _, _ := cli(t, data, "", "admin", "key", "list", "--user", "alice"); strings.Contains(list, fp) {
		t.Errorf("deleted key listed:\n%s", list)
	}

	dkey, dfp := pubKey(t, "ci")
	did, errOut, err := cli(t, data, dkey, "admin", "deploy-key", "add", "alice/app", "--title", "runner")
	if err != nil || !strings.Contains(errOut, "read-only deploy key") {
		t.Fatalf("deploy-key add: %q %q %v", did, errOut, err)
	}
	wkey, _ := pubKey(t, "")
	if _, errOut, err := cli(t, data, wkey, "admin", "deploy-key", "add", "alice/app", "--read-write"); err != nil || !strings.Contains(errOut, "read-write deploy key") {
		t.Errorf("deploy-key add --read-write: %q %v", errOut, err)
	}
	list, _, err = cli(t, data, "", "admin", "deploy-key", "list", "alice/app")
	if err != nil || !strings.Contains(list, dfp) || !strings.Contains(list, "runner") || !strings.Contains(list, "read-write") {
		t.Errorf("deploy-key list:\n%s %v", list, err)
	}
	if _, _, err := cli(t, data, "", "admin", "deploy-key", "delete", "alice/app", strings.TrimSpace(did)); err != nil {
		t.Errorf("deploy-key delete: %v", err)
	}

	for _, c := range []struct {
		stdin string
		args  []string
		want  string
	}{
		{"", []string{"admin", "key", "add", "--user", "alice"}, "no public key on standard input"},
		{"ssh-ed25519 nope", []string{"admin", "key", "add", "--user", "alice"}, "OpenSSH public key format"},
		{key, []string{"admin", "key", "add"}, "needs --user"},
		{key, []string{"admin", "key", "add", "--user", "nobody"}, `no user named "nobody"`},
		{"", []string{"admin", "key", "delete", "x"}, "is not a key ID"},
		{"", []string{"admin", "deploy-key", "add", "alice"}, "is not OWNER/REPO"},
		{dkey, []string{"admin", "deploy-key", "add", "alice/missing"}, "not found"},
		{"", []string{"admin", "deploy-key", "delete", "alice/app"}, "needs OWNER/REPO and the key's ID"},
	} {
		_, errOut, err := cli(t, data, c.stdin, c.args...)
		if err == nil || !strings.Contains(errOut+err.Error(), c.want) {
			t.Errorf("%q: %v %q, want %q", c.args, err, errOut, c.want)
		}
	}
}
