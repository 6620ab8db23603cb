// Package web drives the web UI of the built gatehouse binary in a real
// Chromium (Debian's /usr/bin/chromium through the DevTools protocol),
// together with real git, the way a person following the personal access
// token documentation would: set up, sign in, avatar menu → Settings →
// Developer settings → Personal access tokens, generate, copy, use, delete.
//
// Chromium and git are required. Under CI=true a missing one fails the
// tests; elsewhere they are skipped with a message saying what to install.
// Screenshots go to $GATEHOUSE_ARTIFACTS, default artifacts/screenshots at
// the module root (ignored by git, kept by CI as artifacts).
package web

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/gatehouse/gatehouse/internal/testenv"
)

func chromium(t *testing.T) string {
	return testenv.RequireOneOf(t, "Chromium", "apt-get install -y chromium", os.Getenv("GATEHOUSE_CHROMIUM"), "/usr/bin/chromium", "chromium")
}

// newGit returns real git with a private HOME, no system configuration and
// a credential helper that answers with the user and token given to
// RunAs, so that git goes through its normal 401 → credentials → retry
// exchange.
func newGit(t *testing.T) *testenv.Git {
	t.Helper()
	g := testenv.NewGit(t, "")
	g.UseCredentialHelper()
	return g
}

// artifacts returns the screenshot folder, creating it.
func artifacts(t *testing.T) string {
	dir := os.Getenv("GATEHOUSE_ARTIFACTS")
	if dir == "" {
		dir = filepath.Join(testenv.ModuleRoot(), "artifacts", "screenshots")
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}
