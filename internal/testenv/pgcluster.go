package testenv

import (
	"bytes"
	"context"
	"os/exec"
	"path/filepath"
	"regexp"
	"testing"
	"time"
)

// PGCluster is a PostgreSQL server of a test's own, started by
// .ci/postgres.sh, that the test may stop and start again (Down, Up)
// under running gatehouse servers. Tests that only need a database use
// Postgres, which shares the server of GATEHOUSE_TEST_POSTGRES_URL; taking
// that one down would break every other package running at the same time.
type PGCluster struct {
	// URL names the cluster's database gatehouse_test.
	URL string
	// Dir is the cluster's directory (GATEHOUSE_PG_DIR).
	Dir string
}

var (
	pgDirRE = regexp.MustCompile(`(?m)^export GATEHOUSE_PG_DIR='([^']+)'$`)
	pgURLRE = regexp.MustCompile(`(?m)^export ` + PostgresURLEnv + `='([^']+)'$`)
)

// StartPGCluster starts a new PostgreSQL cluster with .ci/postgres.sh and
// removes it when the test ends. When the script cannot (PostgreSQL is not
// installed and cannot be), the test fails under CI=true and skips loudly
// otherwise.
func StartPGCluster(t testing.TB) *PGCluster {
	t.Helper()
	out, errOut, err := pgScript(t, 3*time.Minute, "start")
	if err != nil {
		Missing(t, "a PostgreSQL cluster of the test's own could not be started with .ci/postgres.sh start: "+err.Error()+"\n"+errOut)
	}
	dir, url := pgDirRE.FindStringSubmatch(out), pgURLRE.FindStringSubmatch(out)
	if dir == nil || url == nil {
		t.Fatalf(".ci/postgres.sh start printed no GATEHOUSE_PG_DIR and URL:\n%s\n%s", out, errOut)
	}
	c := &PGCluster{URL: url[1], Dir: dir[1]}
	t.Cleanup(func() {
		if _, errOut, err := pgScript(t, time.Minute, "stop", c.Dir); err != nil {
			t.Errorf(".ci/postgres.sh stop %s: %v\n%s", c.Dir, err, errOut)
		}
	})
	return c
}

// Down stops the server (a fast shutdown: every session ends with
// admin_shutdown) and keeps its files.
func (c *PGCluster) Down(t testing.TB) {
	t.Helper()
	if _, errOut, err := pgScript(t, time.Minute, "down", c.Dir); err != nil {
		t.Fatalf(".ci/postgres.sh down: %v\n%s", err, errOut)
	}
}

// Up starts the server again, on the same port with the same data.
func (c *PGCluster) Up(t testing.TB) {
	t.Helper()
	if _, errOut, err := pgScript(t, time.Minute, "up", c.Dir); err != nil {
		t.Fatalf(".ci/postgres.sh up: %v\n%s", err, errOut)
	}
}

func pgScript(t testing.TB, timeout time.Duration, args ...string) (string, string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, "bash", append([]string{filepath.Join(ModuleRoot(), ".ci", "postgres.sh")}, args...)...)
	cmd.Env = cleanEnv()
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err := cmd.Run()
	return out.String(), errOut.String(), err
}
