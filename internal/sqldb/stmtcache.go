package sqldb

import (
	"context"
	"database/sql"
	"sync"
	"sync/atomic"
)

// conn is the database handle, with a cache of prepared statements for
// SQLite. database/sql prepares a query string anew for each call made
// on the *sql.DB, and SQLite's parser and planner then cost more than
// the lookup itself: most of a cached git request's database time. pgx
// keeps its own per-connection cache, so PostgreSQL needs none of this.
type conn struct {
	*sql.DB
	cache atomic.Bool // set once the schema is up to date

	mu    sync.Mutex
	stmts map[string]*sql.Stmt
}

// maxStmts bounds the cache. The queries are constant strings but for a
// few listings whose filters make the text vary among a few dozen forms
// (a selection of repositories is always as many placeholders); once it
// is full, further queries simply run unprepared.
const maxStmts = 512

// stmt returns the prepared statement of q, preparing it the first time,
// or nil to run q unprepared (no cache, a full cache, or an error, which
// the unprepared query then reports).
func (c *conn) stmt(ctx context.Context, q string) *sql.Stmt {
	if !c.cache.Load() {
		return nil
	}
	c.mu.Lock()
	s, ok := c.stmts[q]
	full := len(c.stmts) >= maxStmts
	c.mu.Unlock()
	if ok || full {
		return s
	}
	s, err := c.DB.PrepareContext(ctx, q)
	if err != nil {
		return nil
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if old, ok := c.stmts[q]; ok {
		s.Close()
		return old
	}
	if c.stmts == nil {
		c.stmts = map[string]*sql.Stmt{}
	}
	c.stmts[q] = s
	return s
}

func (c *conn) QueryRowContext(ctx context.Context, q string, args ...any) *sql.Row {
	if s := c.stmt(ctx, q); s != nil {
		return s.QueryRowContext(ctx, args...)
	}
	return c.DB.QueryRowContext(ctx, q, args...)
}

func (c *conn) QueryContext(ctx context.Context, q string, args ...any) (*sql.Rows, error) {
	if s := c.stmt(ctx, q); s != nil {
		return s.QueryContext(ctx, args...)
	}
	return c.DB.QueryContext(ctx, q, args...)
}

func (c *conn) ExecContext(ctx context.Context, q string, args ...any) (sql.Result, error) {
	if s := c.stmt(ctx, q); s != nil {
		return s.ExecContext(ctx, args...)
	}
	return c.DB.ExecContext(ctx, q, args...)
}

// Close closes the prepared statements, then the database.
func (c *conn) Close() error {
	c.mu.Lock()
	for _, s := range c.stmts {
		s.Close()
	}
	c.stmts = nil
	c.cache.Store(false)
	c.mu.Unlock()
	return c.DB.Close()
}
