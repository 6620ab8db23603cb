package sqldb

import (
	"database/sql"
	"fmt"
	"path/filepath"
	"testing"
)

// TestStatementCache: a query is prepared once and reused, answers what
// the unprepared query does, stops being cached once the cache is full,
// and the statements close with the database.
func TestStatementCache(t *testing.T) {
	raw, err := sql.Open(sqliteDialect.driver, filepath.Join(t.TempDir(), "t.db"))
	if err != nil {
		t.Fatal(err)
	}
	c := &conn{DB: raw}
	c.cache.Store(true)
	ctx := t.Context()
	if _, err := c.ExecContext(ctx, `CREATE TABLE t (n INTEGER)`); err != nil {
		t.Fatal(err)
	}
	for i := range 3 {
		if _, err := c.ExecContext(ctx, `INSERT INTO t (n) VALUES ($1)`, i); err != nil {
			t.Fatal(err)
		}
	}
	first := c.stmts[`INSERT INTO t (n) VALUES ($1)`]
	if first == nil || len(c.stmts) != 2 {
		t.Fatalf("cached: %v", c.stmts)
	}
	var sum int
	if err := c.QueryRowContext(ctx, `SELECT SUM(n) FROM t WHERE n >= $1`, 1).Scan(&sum); err != nil || sum != 3 {
		t.Fatalf("sum %d, %v", sum, err)
	}
	// A statement that cannot be prepared runs unprepared, and its error
	// is the query's own.
	if _, err := c.QueryContext(ctx, `SELECT nope FROM t`); err == nil {
		t.Fatal("a bad query ran")
	}
	for i := len(c.stmts); i < maxStmts+10; i++ {
		if err := c.QueryRowContext(ctx, fmt.Sprintf(`SELECT COUNT(*) + %d FROM t`, i)).Scan(&sum); err != nil || sum != 3+i {
			t.Fatalf("query %d: %d, %v", i, sum, err)
		}
	}
	if len(c.stmts) != maxStmts || c.stmts[`INSERT INTO t (n) VALUES ($1)`] != first {
		t.Errorf("%d statements cached, want %d with the first ones kept", len(c.stmts), maxStmts)
	}
	if err := c.Close(); err != nil || c.stmts != nil {
		t.Errorf("close: %v, %d left", err, len(c.stmts))
	}
}
