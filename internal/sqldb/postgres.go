package sqldb

import (
	"context"
	"errors"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	_ "github.com/jackc/pgx/v5/stdlib" // registers the "pgx/v5" database/sql driver

	"github.com/gatehouse/gatehouse"
)

// postgresDialect runs on PostgreSQL through pgx. Its schema mirrors the
// SQLite one column for column (migrations/postgres); the differences the
// queries cannot see are in the schema files: identity columns, BOOLEAN and
// BYTEA, and the trigger that orders the invalidation log (0001_init.sql).
var postgresDialect = &dialect{
	repoIDList: `string_agg(repo_id::text, ',')`,
	driver:     "pgx/v5",
	migrations: "migrations/postgres",
	// Nodes that start at the same time on a fresh database would
	// otherwise all try to create the tables; the lock is released when
	// the migration transaction ends, and the waiters then find every
	// migration recorded.
	migrateLock: `SELECT pg_advisory_xact_lock(hashtextextended('gatehouse.migrate', 0))`,
	classify:    postgresClassify,
}

// postgresUnique maps the names of the unique indexes and constraints in
// migrations/postgres to the dialect-neutral constraint names.
var postgresUnique = map[string]string{
	"users_lower_login":      consLogin,
	"users_lower_email":      consEmail,
	"repos_owner_lower_name": consRepoName,
	"tokens_user_note":       consTokenNote,
	"tokens_hash":            consTokenHash,
	"teams_org_slug":         consTeamSlug,
}

// PostgreSQL error codes (SQLSTATE) the store tells apart.
const (
	pgUniqueViolation      = "23505"
	pgForeignKeyViolation  = "23503"
	pgNotNullViolation     = "23502"
	pgCheckViolation       = "23514"
	pgSerializationFailure = "40001"
	pgDeadlockDetected     = "40P01"
	pgLockNotAvailable     = "55P03"
	pgDiskFull             = "53100"
	pgTooManyConnections   = "53300"
	pgAdminShutdown        = "57P01"
	pgCrashShutdown        = "57P02"
	pgCannotConnectNow     = "57P03"
	pgIdleSessionTimeout   = "57P05"
	// pgConnectionException is the class (first two characters) of the
	// codes for connections that failed or were never made.
	pgConnectionException = "08"
)

// postgresClassify reads pgx's errors. A server that is down, restarting
// or shutting down shows as a failed dial (*pgconn.ConnectError, e.g.
// connection refused), as FATAL admin_shutdown (57P01) to every session it
// ends, as cannot_connect_now (57P03) while it starts or stops, or as a
// connection pgx has closed: all of them are classUnavailable.
func postgresClassify(err error) (errClass, string) {
	var ce *pgconn.ConnectError
	if errors.As(err, &ce) || errors.Is(err, pgconn.ErrConnClosed) || pgconn.Timeout(err) {
		return classUnavailable, ""
	}
	var pe *pgconn.PgError
	if !errors.As(err, &pe) {
		return classOther, ""
	}
	if strings.HasPrefix(pe.Code, pgConnectionException) {
		return classUnavailable, ""
	}
	switch pe.Code {
	case pgAdminShutdown, pgCrashShutdown, pgCannotConnectNow, pgIdleSessionTimeout:
		return classUnavailable, ""
	case pgDiskFull:
		return classFull, ""
	case pgUniqueViolation:
		return classUnique, postgresUnique[pe.ConstraintName]
	case pgForeignKeyViolation:
		return classForeignKey, ""
	case pgNotNullViolation, pgCheckViolation:
		return classInvalid, ""
	case pgSerializationFailure, pgDeadlockDetected, pgLockNotAvailable,
		pgTooManyConnections:
		return classBusy, ""
	}
	return classOther, ""
}

// Connection pool limits for one process. Every node has its own pool, so
// the server's max_connections has to allow postgresMaxConns per node plus
// the administrative commands.
const (
	postgresMaxConns    = 20
	postgresIdleConns   = 5
	postgresMaxIdleTime = 5 * time.Minute
)

// openPostgres opens a postgres:// or postgresql:// URL. Every parameter
// pgx understands (sslmode, search_path, …) may be given in it.
func openPostgres(ctx context.Context, databaseURL string) (*DB, error) {
	const op = "open database"
	// Parse first, so that a malformed URL is a usage error rather than a
	// failed connection. The parser's message is not passed on: it may
	// quote the URL, and with it the password.
	if _, err := pgx.ParseConfig(databaseURL); err != nil {
		return nil, gatehouse.E(op, gatehouse.Invalid, "malformed PostgreSQL URL; see https://www.postgresql.org/docs/current/libpq-connect.html#LIBPQ-CONNSTRING")
	}
	db, err := open(ctx, postgresDialect, databaseURL)
	if err != nil {
		return nil, err
	}
	db.db.SetMaxOpenConns(postgresMaxConns)
	db.db.SetMaxIdleConns(postgresIdleConns)
	db.db.SetConnMaxIdleTime(postgresMaxIdleTime)
	return db, nil
}
