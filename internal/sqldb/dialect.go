package sqldb

import (
	"errors"
	"strings"

	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"
)

// A dialect is everything that differs between the databases we support.
// Query text is shared: it uses $n placeholders, RETURNING and ON CONFLICT,
// which SQLite and PostgreSQL both understand, so that an adapter for a new
// database needs only its schema and a way to read its errors.
type dialect struct {
	// driver is the database/sql driver name.
	driver string
	// repoIDList aggregates token_repos.repo_id of one token into a
	// comma-separated list (NULL for none).
	repoIDList string
	// migrations is the directory of migrationsFS holding this dialect's
	// numbered schema files.
	migrations string
	// migrateLock, when not empty, runs first inside the migration
	// transaction to keep concurrent migrators apart. SQLite needs none:
	// its transactions begin IMMEDIATE and so already hold the write lock.
	migrateLock string
	// classify tells what kind of failure a driver error is and, for
	// unique violations, which constraint (one of the cons* names) it hit.
	classify func(err error) (errClass, string)
}

// errClass is a driver error reduced to what the store needs to choose a
// gatehouse.Kind.
type errClass int

const (
	classOther       errClass = iota
	classUnique               // a unique or primary key constraint
	classForeignKey           // a referenced row is missing
	classInvalid              // NOT NULL or CHECK: a value the schema refuses
	classBusy                 // the database stayed locked past the timeout
	classUnavailable          // the database cannot be reached: refused, lost, shutting down
	classFull                 // the database's disk (or its size limit) is full
)

// Dialect-neutral names of the unique constraints that callers can run
// into. Each dialect maps its own error details to these.
const (
	consLogin     = "users.login"
	consEmail     = "users.email"
	consRepoName  = "repos.name"
	consTokenNote = "tokens.note"
	consTokenHash = "tokens.hash"
	consTeamSlug  = "teams.slug"
)

var sqliteDialect = &dialect{
	repoIDList: `group_concat(repo_id, ',')`,
	driver:     "sqlite",
	migrations: "migrations/sqlite",
	classify:   sqliteClassify,
}

// sqliteUnique maps the column list SQLite names in a unique violation
// ("UNIQUE constraint failed: tokens.user_id, tokens.note") to a constraint.
var sqliteUnique = map[string]string{
	"users.lower_login":                consLogin,
	"users.lower_email":                consEmail,
	"repos.owner_id, repos.lower_name": consRepoName,
	"tokens.user_id, tokens.note":      consTokenNote,
	"tokens.hash":                      consTokenHash,
	"teams.org_id, teams.slug":         consTeamSlug,
}

func sqliteClassify(err error) (errClass, string) {
	var se *sqlite.Error
	if !errors.As(err, &se) {
		return classOther, ""
	}
	switch se.Code() {
	case sqlite3.SQLITE_CONSTRAINT_UNIQUE, sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY:
		return classUnique, sqliteUnique[sqliteColumns(se.Error())]
	case sqlite3.SQLITE_CONSTRAINT_FOREIGNKEY:
		return classForeignKey, ""
	case sqlite3.SQLITE_CONSTRAINT_NOTNULL, sqlite3.SQLITE_CONSTRAINT_CHECK:
		return classInvalid, ""
	}
	// Extended codes keep the primary code in the low byte.
	switch se.Code() & 0xff {
	case sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED:
		return classBusy, ""
	case sqlite3.SQLITE_FULL:
		return classFull, ""
	}
	return classOther, ""
}

// sqliteColumns extracts the column list from a constraint message. The
// driver decorates SQLite's text ("constraint failed: UNIQUE constraint
// failed: users.lower_login (2067)"), so the list is found by its marker
// and the trailing code is cut off.
func sqliteColumns(msg string) string {
	const marker = "constraint failed: "
	i := strings.LastIndex(msg, marker)
	if i < 0 {
		return ""
	}
	s := msg[i+len(marker):]
	if j := strings.LastIndex(s, " ("); j >= 0 {
		s = s[:j]
	}
	return strings.TrimSpace(s)
}
