package sqldb

import (
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/gatehouse/gatehouse"
)

// TestFailConnectionLoss checks that every way a driver says "the database
// is gone" becomes Unavailable with the caller's message, on both
// dialects, and that the errors that are not about the connection keep
// their kinds.
func TestFailConnectionLoss(t *testing.T) {
	refused := &net.OpError{Op: "dial", Net: "tcp", Err: os.NewSyscallError("connect", syscall.ECONNREFUSED)}
	reset := &net.OpError{Op: "read", Net: "tcp", Err: os.NewSyscallError("read", syscall.ECONNRESET)}
	lost := []struct {
		name     string
		err      error
		dialects []*dialect
	}{
		{"bad connection", driver.ErrBadConn, nil},
		{"connection done", sql.ErrConnDone, nil},
		{"connection refused", refused, nil},
		{"connection reset", reset, nil},
		{"broken pipe", fmt.Errorf("write: %w", syscall.EPIPE), nil},
		{"unexpected EOF", fmt.Errorf("failed to receive message: %w", io.ErrUnexpectedEOF), nil},
		{"wrapped refusal", fmt.Errorf("begin: %w", refused), nil},
		{"pgx closed connection", fmt.Errorf("conn busy: %w", pgconn.ErrConnClosed), []*dialect{postgresDialect}},
		{"admin shutdown 57P01", &pgconn.PgError{Severity: "FATAL", Code: "57P01"}, []*dialect{postgresDialect}},
		{"crash shutdown 57P02", &pgconn.PgError{Severity: "FATAL", Code: "57P02"}, []*dialect{postgresDialect}},
		{"cannot connect now 57P03", &pgconn.PgError{Severity: "FATAL", Code: "57P03"}, []*dialect{postgresDialect}},
		{"connection failure 08006", &pgconn.PgError{Code: "08006"}, []*dialect{postgresDialect}},
		{"connection refused by server 08004", &pgconn.PgError{Code: "08004"}, []*dialect{postgresDialect}},
	}
	for _, c := range lost {
		ds := c.dialects
		if ds == nil {
			ds = []*dialect{sqliteDialect, postgresDialect}
		}
		for _, d := range ds {
			t.Run(d.driver+"/"+c.name, func(t *testing.T) {
				err := (&DB{d: d}).fail("find user", c.err, "")
				if k := gatehouse.ErrorKind(err); k != gatehouse.Unavailable {
					t.Errorf("kind %v, want unavailable (%v)", k, err)
				}
				if m := gatehouse.ErrorMessage(err); m != MsgUnavailable {
					t.Errorf("message %q, want %q", m, MsgUnavailable)
				}
				if !errors.Is(err, c.err) {
					t.Errorf("the cause is lost: %v", err)
				}
			})
		}
	}

	kept := []struct {
		name string
		err  error
		want gatehouse.Kind
	}{
		{"unique violation", &pgconn.PgError{Code: pgUniqueViolation, ConstraintName: "users_lower_login"}, gatehouse.Conflict},
		{"too many connections", &pgconn.PgError{Code: pgTooManyConnections}, gatehouse.Unavailable},
		{"syntax error", &pgconn.PgError{Code: "42601"}, gatehouse.Internal},
		{"no rows", sql.ErrNoRows, gatehouse.Internal},
		{"plain error", errors.New("boom"), gatehouse.Internal},
		{"disk full 53100", &pgconn.PgError{Code: pgDiskFull}, gatehouse.Unavailable},
	}
	for _, c := range kept {
		t.Run("postgres/"+c.name, func(t *testing.T) {
			err := (&DB{d: postgresDialect}).fail("find user", c.err, "")
			if k := gatehouse.ErrorKind(err); k != c.want {
				t.Errorf("kind %v, want %v (%v)", k, c.want, err)
			}
			if gatehouse.ErrorMessage(err) == MsgUnavailable {
				t.Errorf("%v is not a lost connection, but says %q", c.err, MsgUnavailable)
			}
		})
	}
}

// TestSQLiteFull fills a SQLite database to its size limit, as a full disk
// would, and checks that the refused write is Unavailable with the
// caller's message, that it wrote nothing, and that reads go on working.
func TestSQLiteFull(t *testing.T) {
	db, err := Open(t.Context(), filepath.Join(t.TempDir(), "full.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	ctx := t.Context()
	// One connection, so that the limit set below holds for every query.
	db.db.SetMaxOpenConns(1)
	var pages int64
	if err := db.db.QueryRowContext(ctx, `PRAGMA page_count`).Scan(&pages); err != nil {
		t.Fatal(err)
	}
	if _, err := db.db.ExecContext(ctx, fmt.Sprintf(`PRAGMA max_page_count = %d`, pages+2)); err != nil {
		t.Fatal(err)
	}
	var fullErr error
	for i := range 1000 {
		u := &gatehouse.User{Login: fmt.Sprintf("user%d", i), Email: fmt.Sprintf("user%d@example.com", i), Name: strings.Repeat("x", 2000)}
		if fullErr = db.CreateUser(ctx, u); fullErr != nil {
			break
		}
	}
	if fullErr == nil {
		t.Fatal("1000 users fit in two more pages")
	}
	if k, m := gatehouse.ErrorKind(fullErr), gatehouse.ErrorMessage(fullErr); k != gatehouse.Unavailable || m != MsgFull {
		t.Fatalf("a write to a full database: kind %v, message %q (%v); want unavailable, %q", k, m, fullErr, MsgFull)
	}
	n, err := db.CountUsers(ctx)
	if err != nil {
		t.Fatalf("a read from a full database: %v", err)
	}
	if _, err := db.FindUserByLogin(ctx, fmt.Sprintf("user%d", n)); !gatehouse.IsKind(err, gatehouse.NotFound) {
		t.Errorf("the refused user was stored (or the lookup failed: %v)", err)
	}
}
