package sqldb

import (
	"context"
	"os"

	"github.com/gatehouse/gatehouse"
)

// IsPostgres reports whether databaseURL selects PostgreSQL rather than a
// SQLite file.
func IsPostgres(databaseURL string) bool { return isPostgres(databaseURL) }

// SQLiteFile returns the file a SQLite databaseURL (as Open accepts it)
// names. It returns an Invalid error for URLs Open would refuse.
func SQLiteFile(databaseURL string) (string, error) { return sqlitePath(databaseURL) }

// Snapshot writes a consistent copy of a SQLite database to the new file
// dest while other connections and processes keep reading and writing.
// VACUUM INTO runs in one read transaction, so the copy is the database as
// of one commit, and it is a plain database file, not needing the WAL. On
// PostgreSQL it returns an Invalid error: use pg_dump there.
func (db *DB) Snapshot(ctx context.Context, dest string) error {
	const op = "snapshot database"
	if db.d != sqliteDialect {
		return gatehouse.E(op, gatehouse.Invalid, "only SQLite databases can be snapshotted; use pg_dump for PostgreSQL")
	}
	if _, err := os.Lstat(dest); err == nil {
		return gatehouse.E(op, gatehouse.Conflict, "the snapshot file already exists")
	}
	if _, err := db.db.ExecContext(ctx, `VACUUM INTO $1`, dest); err != nil {
		return db.fail(op, err, "")
	}
	return nil
}
