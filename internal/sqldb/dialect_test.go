package sqldb

import (
	"fmt"
	"maps"
	"path/filepath"
	"slices"
	"testing"

	"github.com/gatehouse/gatehouse"
	"github.com/gatehouse/gatehouse/internal/testenv"
)

// TestMigrationVersionsMatch keeps the dialects' migration directories in
// step: a schema change made for one database and forgotten for the other
// shows up here, before any query runs.
func TestMigrationVersionsMatch(t *testing.T) {
	versions := func(d *dialect) []string {
		ms, err := (&DB{d: d}).migrations()
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, m := range ms {
			out = append(out, m.name)
		}
		return out
	}
	lite, pg := versions(sqliteDialect), versions(postgresDialect)
	if len(lite) == 0 || !slices.Equal(lite, pg) {
		t.Errorf("migration files differ:\n sqlite:   %v\n postgres: %v", lite, pg)
	}
}

// TestSchemasMatch migrates both databases and compares every table's
// columns and their nullability, which the shared query text relies on.
func TestSchemasMatch(t *testing.T) {
	pgURL := testenv.Postgres(t)
	ctx := t.Context()
	type column struct {
		table, name string
		notNull     bool
	}
	lite, err := Open(ctx, filepath.Join(t.TempDir(), "g.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer lite.Close()
	pg, err := Open(ctx, pgURL)
	if err != nil {
		t.Fatal(err)
	}
	defer pg.Close()

	read := func(db *DB, q string) map[string]column {
		rows, err := db.db.QueryContext(ctx, q)
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		out := map[string]column{}
		for rows.Next() {
			var c column
			if err := rows.Scan(&c.table, &c.name, &c.notNull); err != nil {
				t.Fatal(err)
			}
			out[c.table+"."+c.name] = c
		}
		if err := rows.Err(); err != nil {
			t.Fatal(err)
		}
		return out
	}
	// A primary key column is NOT NULL in effect on SQLite too (an
	// INTEGER PRIMARY KEY is the rowid; the text keys are always given).
	liteCols := read(lite, `SELECT m.name, c.name, c."notnull" OR c.pk > 0
		FROM sqlite_master m, pragma_table_info(m.name) c
		WHERE m.type = 'table' AND m.name NOT LIKE 'sqlite_%'`)
	pgCols := read(pg, `SELECT table_name, column_name, is_nullable = 'NO'
		FROM information_schema.columns WHERE table_schema = current_schema()`)
	for _, k := range slices.Sorted(maps.Keys(liteCols)) {
		p, ok := pgCols[k]
		switch {
		case !ok:
			t.Errorf("column %s is missing on PostgreSQL", k)
		case p != liteCols[k]:
			t.Errorf("column %s: NOT NULL is %v on SQLite, %v on PostgreSQL", k, liteCols[k].notNull, p.notNull)
		}
	}
	for _, k := range slices.Sorted(maps.Keys(pgCols)) {
		if _, ok := liteCols[k]; !ok {
			t.Errorf("column %s exists only on PostgreSQL", k)
		}
	}
}

// TestDriverErrors checks that each database's constraint failures become
// the same kinds and messages.
func TestDriverErrors(t *testing.T) {
	for name, newURL := range map[string]func(t *testing.T) string{
		"sqlite":   func(t *testing.T) string { return filepath.Join(t.TempDir(), "g.db") },
		"postgres": func(t *testing.T) string { return testenv.Postgres(t) },
	} {
		t.Run(name, func(t *testing.T) {
			ctx := t.Context()
			db, err := Open(ctx, newURL(t))
			if err != nil {
				t.Fatal(err)
			}
			defer db.Close()
			u := &gatehouse.User{Login: "alice", Email: "a@example.com"}
			if err := db.CreateUser(ctx, u); err != nil {
				t.Fatal(err)
			}
			r := &gatehouse.Repo{OwnerID: u.ID, Name: "repo"}
			if err := db.CreateRepo(ctx, r); err != nil {
				t.Fatal(err)
			}
			tok := &gatehouse.Token{UserID: u.ID, Note: "ci", Hash: "h1"}
			if err := db.CreateToken(ctx, tok); err != nil {
				t.Fatal(err)
			}
			for _, c := range []struct {
				stmt string
				kind gatehouse.Kind
				msg  string
			}{
				{`INSERT INTO users (login, lower_login, created_at, updated_at) VALUES ('ALICE', 'alice', 0, 0)`,
					gatehouse.Conflict, "login already taken"},
				{`INSERT INTO users (login, lower_login, email, lower_email, created_at, updated_at) VALUES ('b', 'b', 'A@example.com', 'a@example.com', 0, 0)`,
					gatehouse.Conflict, "email already in use"},
				{fmt.Sprintf(`INSERT INTO repos (owner_id, name, lower_name, created_at, updated_at) VALUES (%d, 'REPO', 'repo', 0, 0)`, u.ID),
					gatehouse.Conflict, "a repository with this name already exists"},
				{fmt.Sprintf(`INSERT INTO tokens (user_id, note, hash, created_at, updated_at) VALUES (%d, 'ci', 'h2', 0, 0)`, u.ID),
					gatehouse.Conflict, "a token with this note already exists"},
				{fmt.Sprintf(`INSERT INTO tokens (user_id, note, hash, created_at, updated_at) VALUES (%d, 'other', 'h1', 0, 0)`, u.ID),
					gatehouse.Conflict, "a token with this value already exists"},
				{`INSERT INTO tokens (user_id, note, hash, created_at, updated_at) VALUES (999999, 'n', 'h3', 0, 0)`,
					gatehouse.NotFound, "a referenced record does not exist"},
				{`INSERT INTO settings (key, value) VALUES ('k', NULL)`,
					gatehouse.Invalid, "value refused by the database"},
				{fmt.Sprintf(`INSERT INTO collaborators (repo_id, user_id, permission) VALUES (%d, %d, 9)`, r.ID, u.ID),
					gatehouse.Invalid, "value refused by the database"},
			} {
				_, err := db.db.ExecContext(ctx, c.stmt)
				if err == nil {
					t.Errorf("%s: succeeded", c.stmt)
					continue
				}
				err = db.fail("op", err, "")
				if !gatehouse.IsKind(err, c.kind) || gatehouse.ErrorMessage(err) != c.msg {
					t.Errorf("%s:\n got %v (kind %v, message %q)\nwant kind %v, message %q",
						c.stmt, err, gatehouse.ErrorKind(err), gatehouse.ErrorMessage(err), c.kind, c.msg)
				}
			}
		})
	}
}
