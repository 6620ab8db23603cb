package api_test

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/testenv"
)

// TestOctokit runs octokit/octokit.test.mjs with Node's test runner against
// a fresh server. The npm packages are pinned in octokit/package-lock.json;
// install them with: npm ci --prefix e2e/api/octokit
func TestOctokit(t *testing.T) {
	node := testenv.RequireOneOf(t, "node", "apt-get install -y nodejs npm", "node")
	dir := filepath.Join(testenv.ModuleRoot(), "e2e", "api", "octokit")
	if _, err := os.Stat(filepath.Join(dir, "node_modules", "@octokit", "rest")); err != nil {
		testenv.Missing(t, "@octokit/rest is not installed: run npm ci --prefix e2e/api/octokit")
	}
	s := startServer(t)
	tok := s.Token("alice", "octokit", "repo,read:org", "30d")
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, node, "--test", "--test-reporter=spec", "octokit.test.mjs")
	cmd.Dir = dir
	cmd.Env = baseEnv(
		"HOME="+t.TempDir(),
		"NODE_EXTRA_CA_CERTS="+s.CAFile,
		"GATEHOUSE_API_URL="+s.base+"/api/v3",
		"GATEHOUSE_TOKEN="+tok,
	)
	out, err := cmd.CombinedOutput()
	t.Logf("node --test:\n%s", out)
	if err != nil {
		t.Fatalf("node --test failed: %v", err)
	}
}
