// Package sqldb implements gatehouse.Store on SQL databases.
//
// Two databases are supported: SQLite (through the pure-Go modernc.org/sqlite
// driver), the embedded default, and PostgreSQL (through pgx), which lets
// several server nodes share one database. Every query is written once, in
// SQL both accept; what differs is a migrations directory and an error
// classifier per database (see dialect).
//
// Several processes may use one SQLite file at the same time, typically the
// server and an administrative command. Writers therefore wait for each
// other (a busy timeout and transactions that take the write lock when they
// begin) instead of failing, and caches learn about changes made elsewhere
// through the invalidations table.
package sqldb

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"embed"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/gatehouse/gatehouse"
)

// migrationsFS holds one directory of numbered schema files per dialect.
//
//go:embed migrations
var migrationsFS embed.FS

// sqlitePragmas configure every SQLite connection. busy_timeout comes first
// in the driver's order, so that even the journal mode switch on a fresh
// file waits for other processes instead of failing. _txlock=immediate makes
// every read-write transaction take the write lock at BEGIN: a deferred
// transaction that reads and then writes in WAL mode fails at once with
// SQLITE_BUSY when another connection committed in between, and the busy
// timeout cannot help it.
const sqlitePragmas = "_pragma=busy_timeout(10000)" +
	"&_pragma=journal_mode(WAL)" +
	"&_pragma=foreign_keys(1)" +
	"&_pragma=synchronous(NORMAL)" +
	"&_txlock=immediate"

// invalidationTTL is how long invalidation rows are kept. Caches poll far
// more often than this; a process that has not polled for so long has to
// drop its whole cache anyway.
const invalidationTTL = time.Hour

// DB is a gatehouse.Store backed by a SQL database. It is safe for
// concurrent use.
type DB struct {
	db *conn
	d  *dialect
}

var _ gatehouse.Store = (*DB)(nil)

// Open connects to the database named by databaseURL and brings its schema
// up to date. databaseURL is a path to a SQLite file, which is created with
// its parent directory if missing, or the same as a "sqlite:" or "file:"
// URL (sqlite:///var/lib/gatehouse/gatehouse.db), or a postgres:// or
// postgresql:// URL naming an existing PostgreSQL database.
func Open(ctx context.Context, databaseURL string) (*DB, error) {
	const op = "open database"
	if isPostgres(databaseURL) {
		return openPostgres(ctx, databaseURL)
	}
	file, err := sqlitePath(databaseURL)
	if err != nil {
		return nil, err
	}
	if err := createFile(file); err != nil {
		return nil, gatehouse.Wrap(op, gatehouse.Internal, err)
	}
	// A plain path, not a file: URI, so that no character in it is
	// taken for URI syntax; the driver splits the parameters off at '?'.
	dsn := file + "?" + sqlitePragmas
	// Turning a new file to WAL needs an exclusive lock that SQLite does not
	// wait for with the busy timeout, so processes opening a fresh file at
	// the same moment (a server and an admin command) may see SQLITE_BUSY
	// once; the file is usable a moment later.
	for attempt := 0; ; attempt++ {
		db, err := open(ctx, sqliteDialect, dsn)
		if err == nil || attempt == 20 || !gatehouse.IsKind(err, gatehouse.Unavailable) || ctx.Err() != nil {
			return db, err
		}
		time.Sleep(time.Duration(10+attempt*10) * time.Millisecond)
	}
}

func open(ctx context.Context, d *dialect, dsn string) (*DB, error) {
	const op = "open database"
	sdb, err := sql.Open(d.driver, dsn)
	if err != nil {
		return nil, gatehouse.Wrap(op, gatehouse.Internal, err)
	}
	db := &DB{db: &conn{DB: sdb}, d: d}
	if err := db.migrate(ctx); err != nil {
		sdb.Close()
		return nil, err
	}
	db.db.cache.Store(d == sqliteDialect)
	return db, nil
}

// Close releases the database.
func (db *DB) Close() error {
	if err := db.db.Close(); err != nil {
		return gatehouse.Wrap("close database", gatehouse.Internal, err)
	}
	return nil
}

func isPostgres(u string) bool {
	l := strings.ToLower(u)
	return strings.HasPrefix(l, "postgres://") || strings.HasPrefix(l, "postgresql://")
}

// sqlitePath turns the accepted spellings of a SQLite location into a file
// path.
func sqlitePath(u string) (string, error) {
	const op = "open database"
	p := u
	lower := strings.ToLower(u)
	for _, scheme := range []string{"sqlite:", "sqlite3:", "file:"} {
		if !strings.HasPrefix(lower, scheme) {
			continue
		}
		p = u[len(scheme):]
		if strings.Contains(p, "?") || strings.Contains(p, "#") {
			return "", gatehouse.E(op, gatehouse.Invalid, "database URL parameters are not supported; the SQLite settings are fixed")
		}
		if rest, ok := strings.CutPrefix(p, "//"); ok {
			// The authority must be empty (sqlite:///abs/path) or
			// localhost; anything else would be a remote file.
			host, tail, _ := strings.Cut(rest, "/")
			if host != "" && !strings.EqualFold(host, "localhost") {
				return "", gatehouse.E(op, gatehouse.Invalid, "database URL names a remote host; give a local path")
			}
			p = "/" + tail
		}
		var err error
		if p, err = url.PathUnescape(p); err != nil {
			return "", gatehouse.E(op, gatehouse.Invalid, "database URL has a malformed escape")
		}
		break
	}
	switch {
	case p == "" || p == "/":
		return "", gatehouse.E(op, gatehouse.Invalid, "database path is empty")
	case strings.HasPrefix(p, ":memory:"):
		// Every pooled connection would get its own empty database.
		return "", gatehouse.E(op, gatehouse.Invalid, "in-memory databases are not supported; give a file path")
	case strings.Contains(p, "://"):
		return "", gatehouse.E(op, gatehouse.Invalid, "unsupported database URL; use a SQLite file path or postgres://")
	case strings.ContainsAny(p, "?\x00"):
		return "", gatehouse.E(op, gatehouse.Invalid, "database path must not contain '?'")
	}
	return filepath.Clean(p), nil
}

// createFile makes the database file, and its directory, readable by the
// owner only before SQLite opens it: the file holds password and token
// hashes, and SQLite gives its -wal and -shm files the same mode.
func createFile(file string) error {
	if err := os.MkdirAll(filepath.Dir(file), 0o700); err != nil {
		return err
	}
	f, err := os.OpenFile(file, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return err
	}
	return f.Close()
}

// migration is one numbered schema file.
type migration struct {
	version int64
	name    string
}

func (db *DB) migrations() ([]migration, error) {
	entries, err := fs.ReadDir(migrationsFS, db.d.migrations)
	if err != nil {
		return nil, err
	}
	var ms []migration
	seen := map[int64]string{}
	for _, e := range entries {
		if e.IsDir() || !strings.HasSuffix(e.Name(), ".sql") {
			continue
		}
		num, _, _ := strings.Cut(e.Name(), "_")
		v, err := strconv.ParseInt(num, 10, 64)
		if err != nil || v <= 0 {
			return nil, fmt.Errorf("migration %s: name must start with a positive version number", e.Name())
		}
		if other, dup := seen[v]; dup {
			return nil, fmt.Errorf("migrations %s and %s share version %d", other, e.Name(), v)
		}
		seen[v] = e.Name()
		ms = append(ms, migration{version: v, name: e.Name()})
	}
	sort.Slice(ms, func(i, j int) bool { return ms[i].version < ms[j].version })
	return ms, nil
}

// migrate applies the schema files not yet recorded in schema_migrations,
// all in one transaction. The transaction holds the write lock (SQLite) or
// the dialect's migrateLock (PostgreSQL) from its start, so of several
// processes opening a fresh database at once one migrates and the others
// wait and then find nothing to do.
func (db *DB) migrate(ctx context.Context) error {
	const op = "migrate database"
	ms, err := db.migrations()
	if err != nil {
		return gatehouse.Wrap(op, gatehouse.Internal, err)
	}
	err = db.tx(ctx, func(tx *sql.Tx) error {
		if db.d.migrateLock != "" {
			if _, err := tx.ExecContext(ctx, db.d.migrateLock); err != nil {
				return err
			}
		}
		if _, err := tx.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
			version    BIGINT PRIMARY KEY,
			applied_at BIGINT NOT NULL
		)`); err != nil {
			return err
		}
		applied := map[int64]bool{}
		var newest int64
		rows, err := tx.QueryContext(ctx, `SELECT version FROM schema_migrations`)
		if err != nil {
			return err
		}
		for rows.Next() {
			var v int64
			if err := rows.Scan(&v); err != nil {
				rows.Close()
				return err
			}
			applied[v] = true
			newest = max(newest, v)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		if len(ms) > 0 && newest > ms[len(ms)-1].version {
			// Running an old binary on a newer schema could write rows
			// the newer code does not expect.
			return gatehouse.Errorf(op, gatehouse.Internal,
				"database schema version %d is newer than this build supports (%d)", newest, ms[len(ms)-1].version)
		}
		for _, m := range ms {
			if applied[m.version] {
				continue
			}
			text, err := fs.ReadFile(migrationsFS, path.Join(db.d.migrations, m.name))
			if err != nil {
				return err
			}
			if _, err := tx.ExecContext(ctx, string(text)); err != nil {
				return fmt.Errorf("%s: %w", m.name, err)
			}
			if _, err := tx.ExecContext(ctx,
				`INSERT INTO schema_migrations (version, applied_at) VALUES ($1, $2)`,
				m.version, now().UnixMilli()); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return db.fail(op, err, "")
	}
	return nil
}

// tx runs fn in a read-write transaction and commits when fn succeeds.
func (db *DB) tx(ctx context.Context, fn func(*sql.Tx) error) error {
	tx, err := db.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	if err := fn(tx); err != nil {
		tx.Rollback()
		return err
	}
	return tx.Commit()
}

// conflictMessages are shown to callers who hit a unique constraint.
var conflictMessages = map[string]string{
	consLogin:     "login already taken",
	consEmail:     "email already in use",
	consRepoName:  "a repository with this name already exists",
	consTokenNote: "a token with this note already exists",
	consTokenHash: "a token with this value already exists",
	consTeamSlug:  "a team with this name or slug already exists",
}

// fail turns err into a *gatehouse.Error for op. missing is the message for
// a foreign key failure, which for every statement here means that a row
// the new one refers to does not exist. Errors that already are
// *gatehouse.Error pass through unchanged.
func (db *DB) fail(op string, err error, missing string) error {
	if ge, ok := err.(*gatehouse.Error); ok {
		return ge
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return gatehouse.Wrap(op, gatehouse.Unavailable, err)
	}
	class, cons := db.d.classify(err)
	switch class {
	case classUnique:
		msg := conflictMessages[cons]
		if msg == "" {
			msg = "already exists"
		}
		return &gatehouse.Error{Op: op, Kind: gatehouse.Conflict, Msg: msg, Err: err}
	case classForeignKey:
		if missing == "" {
			missing = "a referenced record does not exist"
		}
		return &gatehouse.Error{Op: op, Kind: gatehouse.NotFound, Msg: missing, Err: err}
	case classInvalid:
		return &gatehouse.Error{Op: op, Kind: gatehouse.Invalid, Msg: "value refused by the database", Err: err}
	case classBusy:
		return &gatehouse.Error{Op: op, Kind: gatehouse.Unavailable, Msg: "database is busy", Err: err}
	case classUnavailable:
		return &gatehouse.Error{Op: op, Kind: gatehouse.Unavailable, Msg: MsgUnavailable, Err: err}
	case classFull:
		// Nothing was written (the statement or its transaction failed
		// whole); reads go on working, and writes once space is freed.
		return &gatehouse.Error{Op: op, Kind: gatehouse.Unavailable, Msg: MsgFull, Err: err}
	}
	if unreachable(err) {
		return &gatehouse.Error{Op: op, Kind: gatehouse.Unavailable, Msg: MsgUnavailable, Err: err}
	}
	return gatehouse.Wrap(op, gatehouse.Internal, err)
}

// MsgUnavailable is the caller's message for a database that cannot be
// reached. The cause (which may name the host) goes to the log only.
const MsgUnavailable = "the database is unavailable; try again shortly"

// MsgFull is the caller's message for a write refused because the
// database's disk is full.
const MsgFull = "the database has no disk space left; tell the administrator"

// unreachable reports whether err says that the connection to the
// database failed, in terms that do not depend on the driver: the pool
// gave up on bad connections, a connection was already closed, or the
// network refused, reset or timed out. Such a failure is temporary from a
// caller's point of view (the pool opens new connections as soon as the
// server answers again), so it is Unavailable, not Internal.
func unreachable(err error) bool {
	var ne net.Error
	return errors.Is(err, driver.ErrBadConn) ||
		errors.Is(err, sql.ErrConnDone) ||
		errors.Is(err, io.ErrUnexpectedEOF) ||
		errors.Is(err, syscall.ECONNREFUSED) ||
		errors.Is(err, syscall.ECONNRESET) ||
		errors.Is(err, syscall.EPIPE) ||
		errors.As(err, &ne)
}

// affected returns the NotFound error msg when res touched no row.
func affected(op string, res sql.Result, msg string) error {
	n, err := res.RowsAffected()
	if err != nil {
		return err
	}
	if n == 0 {
		return gatehouse.E(op, gatehouse.NotFound, msg)
	}
	return nil
}

// now is the time stamp for new and changed rows, at the precision the
// database keeps so that a struct just written equals the one read back.
func now() time.Time { return time.Now().UTC().Truncate(time.Millisecond) }

// msec converts a time to its column value: Unix milliseconds, or NULL for
// the zero time.
func msec(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return t.UnixMilli()
}

// fromMsec is the inverse of msec.
func fromMsec(v sql.NullInt64) time.Time {
	if !v.Valid {
		return time.Time{}
	}
	return time.UnixMilli(v.Int64).UTC()
}

// norm is t as it will read back from the database.
func norm(t time.Time) time.Time {
	if t.IsZero() {
		return time.Time{}
	}
	return t.UTC().Truncate(time.Millisecond)
}

// scanner is a *sql.Row or *sql.Rows.
type scanner interface {
	Scan(dest ...any) error
}

// queryAll runs a listing query and scans every row with scan. The result
// is never nil, so that an empty listing encodes as [] rather than null.
func queryAll[T any](ctx context.Context, db *DB, op string, scan func(scanner) (T, error), query string, args ...any) ([]T, error) {
	rows, err := db.db.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, db.fail(op, err, "")
	}
	defer rows.Close()
	all := []T{}
	for rows.Next() {
		v, err := scan(rows)
		if err != nil {
			return nil, db.fail(op, err, "")
		}
		all = append(all, v)
	}
	if err := rows.Err(); err != nil {
		return nil, db.fail(op, err, "")
	}
	return all, nil
}

// recordInvalidation announces a change to a token (tokenID > 0) or to all
// of a user's tokens, and drops announcements every cache has long seen.
// It runs in the transaction of the change, so that a cache never misses
// a committed change and never hears of one that was rolled back.
func recordInvalidation(ctx context.Context, tx *sql.Tx, tokenID, userID int64) error {
	t := now()
	if _, err := tx.ExecContext(ctx,
		`DELETE FROM invalidations WHERE at < $1`, t.Add(-invalidationTTL).UnixMilli()); err != nil {
		return err
	}
	_, err := tx.ExecContext(ctx,
		`INSERT INTO invalidations (token_id, user_id, at) VALUES ($1, $2, $3)`,
		tokenID, userID, t.UnixMilli())
	return err
}

// Invalidations returns the invalidations recorded after the given sequence
// number, oldest first, and the newest sequence number seen.
//
// Polling by "greater than the last seen" misses nothing because sequence
// numbers become visible in order on both databases. On SQLite writers are
// serialized anyway. On PostgreSQL, where sequence values can commit out of
// order, the schema serializes inserts into invalidations: a trigger takes
// a transaction-scoped advisory lock before drawing the value, so the next
// one is drawn only after the previous writer has committed (see
// migrations/postgres/0001_init.sql). That was chosen over re-reading a
// trailing window by time, which needs a bound on how long a transaction
// may stay open and a cursor richer than one number, and over a table
// lock, which deadlocks with the writers' own ROW EXCLUSIVE locks.
func (db *DB) Invalidations(ctx context.Context, after int64) ([]gatehouse.Invalidation, int64, error) {
	const op = "list invalidations"
	rows, err := db.db.QueryContext(ctx,
		`SELECT seq, token_id, user_id, at FROM invalidations WHERE seq > $1 ORDER BY seq`, after)
	if err != nil {
		return nil, after, db.fail(op, err, "")
	}
	defer rows.Close()
	var out []gatehouse.Invalidation
	last := after
	for rows.Next() {
		var (
			inv gatehouse.Invalidation
			at  sql.NullInt64
		)
		if err := rows.Scan(&inv.Seq, &inv.TokenID, &inv.UserID, &at); err != nil {
			return nil, after, db.fail(op, err, "")
		}
		inv.At = fromMsec(at)
		out = append(out, inv)
		last = inv.Seq
	}
	if err := rows.Err(); err != nil {
		return nil, after, db.fail(op, err, "")
	}
	return out, last, nil
}
