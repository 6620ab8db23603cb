package testenv

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"net/url"
	"os"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // the "pgx/v5" database/sql driver
)

// PostgresURLEnv names the environment variable with the URL of a
// PostgreSQL database (postgres://USER@HOST:PORT/DB?…) whose user may create
// and drop databases. .ci/postgres.sh starts a throwaway server and prints
// it.
const PostgresURLEnv = "GATEHOUSE_TEST_POSTGRES_URL"

// RequirePostgres returns GATEHOUSE_TEST_POSTGRES_URL. When it is unset the
// test fails under CI=true and skips loudly otherwise.
func RequirePostgres(t testing.TB) string {
	t.Helper()
	base := os.Getenv(PostgresURLEnv)
	if base == "" {
		Missing(t, "PostgreSQL is not available: "+PostgresURLEnv+" is not set; start a server with: eval \"$(bash .ci/postgres.sh start)\"")
	}
	return base
}

// Postgres creates a new, empty database on the server named by
// GATEHOUSE_TEST_POSTGRES_URL, drops it when the test ends, and returns its
// URL. Without the variable the test fails under CI=true and skips loudly
// otherwise (RequirePostgres).
func Postgres(t testing.TB) string {
	t.Helper()
	base := RequirePostgres(t)
	u, err := url.Parse(base)
	if err != nil || (u.Scheme != "postgres" && u.Scheme != "postgresql") {
		// The value may hold a password: do not print it.
		t.Fatalf("%s must be a postgres:// URL", PostgresURLEnv)
	}
	var b [6]byte
	rand.Read(b[:])
	name := "gatehouse_test_" + hex.EncodeToString(b[:])

	admin := func(stmt string) {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		db, err := sql.Open("pgx/v5", base)
		if err != nil {
			t.Fatalf("PostgreSQL at %s: %v", u.Host, err)
		}
		defer db.Close()
		if _, err := db.ExecContext(ctx, stmt); err != nil {
			t.Fatalf("PostgreSQL at %s: %s: %v", u.Host, stmt, err)
		}
	}
	admin("CREATE DATABASE " + name)
	t.Cleanup(func() { admin("DROP DATABASE IF EXISTS " + name + " WITH (FORCE)") })

	u.Path = "/" + name
	return u.String()
}
