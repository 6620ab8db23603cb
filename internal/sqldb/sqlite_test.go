package sqldb_test

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"testing"

	"github.com/gatehouse/gatehouse"
	"github.com/gatehouse/gatehouse/internal/sqldb"
	"github.com/gatehouse/gatehouse/internal/sqldb/storetest"
)

func openFile(t *testing.T, file string) *sqldb.DB {
	t.Helper()
	db, err := sqldb.Open(t.Context(), file)
	if err != nil {
		t.Fatalf("Open(%q): %v", file, err)
	}
	return db
}

func TestSQLiteStore(t *testing.T) {
	storetest.Run(t, func(t *testing.T) gatehouse.Store {
		// A missing parent directory is created.
		return openFile(t, filepath.Join(t.TempDir(), "data", "gatehouse.db"))
	})
}

func TestFileMode(t *testing.T) {
	file := filepath.Join(t.TempDir(), "gatehouse.db")
	db := openFile(t, file)
	defer db.Close()
	fi, err := os.Stat(file)
	if err != nil {
		t.Fatal(err)
	}
	if m := fi.Mode().Perm(); m != 0o600 {
		t.Errorf("database file mode = %o, want 600", m)
	}
}

func TestOpenURLs(t *testing.T) {
	dir := t.TempDir()
	for _, u := range []string{
		"sqlite://" + filepath.Join(dir, "a.db"),
		"sqlite:" + filepath.Join(dir, "b.db"),
		"file:" + filepath.Join(dir, "c.db"),
		"file://" + filepath.Join(dir, "d.db"),
		"file://localhost" + filepath.Join(dir, "e%20f.db"),
	} {
		db, err := sqldb.Open(t.Context(), u)
		if err != nil {
			t.Errorf("Open(%q): %v", u, err)
			continue
		}
		db.Close()
	}
	for _, name := range []string{"a.db", "b.db", "c.db", "d.db", "e f.db"} {
		if _, err := os.Stat(filepath.Join(dir, name)); err != nil {
			t.Errorf("database file %s not created: %v", name, err)
		}
	}

	for _, u := range []string{
		"",
		":memory:",
		"mysql://localhost/gatehouse",
		"sqlite://otherhost/var/gatehouse.db",
		"sqlite://" + filepath.Join(dir, "x.db") + "?_pragma=foreign_keys(0)",
	} {
		db, err := sqldb.Open(t.Context(), u)
		if err == nil {
			db.Close()
			t.Errorf("Open(%q) succeeded", u)
			continue
		}
		if !gatehouse.IsKind(err, gatehouse.Invalid) {
			t.Errorf("Open(%q): %v, want kind invalid", u, err)
		}
	}
}

// TestTwoHandles opens one file twice, as the server and an admin command
// running in another process do, and checks that each sees the other's
// writes and invalidations.
func TestTwoHandles(t *testing.T) {
	ctx := t.Context()
	file := filepath.Join(t.TempDir(), "gatehouse.db")
	server := openFile(t, file)
	defer server.Close()
	admin := openFile(t, file)
	defer admin.Close()

	_, seq, err := server.Invalidations(ctx, 0)
	if err != nil {
		t.Fatal(err)
	}

	u := &gatehouse.User{Login: "root", Email: "root@example.com"}
	if err := admin.CreateUser(ctx, u); err != nil {
		t.Fatal(err)
	}
	if _, err := server.FindUserByLogin(ctx, "ROOT"); err != nil {
		t.Fatalf("server does not see the admin's user: %v", err)
	}

	tok := &gatehouse.Token{UserID: u.ID, Note: "n", Scopes: []string{"repo"}, Hash: fmt.Sprintf("%064x", 1)}
	if err := server.CreateToken(ctx, tok); err != nil {
		t.Fatal(err)
	}
	if err := admin.DeleteToken(ctx, tok.ID); err != nil {
		t.Fatalf("admin cannot delete the server's token: %v", err)
	}
	invs, seq, err := server.Invalidations(ctx, seq)
	if err != nil {
		t.Fatal(err)
	}
	if len(invs) != 1 || invs[0].TokenID != tok.ID || invs[0].UserID != u.ID {
		t.Fatalf("server sees invalidations %+v, want the admin's deletion of token %d", invs, tok.ID)
	}
	if _, err := server.FindTokenByHash(ctx, tok.Hash); !gatehouse.IsKind(err, gatehouse.NotFound) {
		t.Errorf("server still finds the deleted token: %v", err)
	}

	u.Suspended = true
	if err := admin.UpdateUser(ctx, u); err != nil {
		t.Fatal(err)
	}
	invs, _, err = server.Invalidations(ctx, seq)
	if err != nil {
		t.Fatal(err)
	}
	if len(invs) != 1 || invs[0].TokenID != 0 || invs[0].UserID != u.ID {
		t.Errorf("server sees invalidations %+v, want the admin's suspension of user %d", invs, u.ID)
	}

	// Writers on both handles at once all succeed: they wait for the
	// lock instead of failing with "database is locked".
	var wg sync.WaitGroup
	for i := range 16 {
		db := server
		if i%2 == 1 {
			db = admin
		}
		wg.Go(func() {
			tok := &gatehouse.Token{UserID: u.ID, Note: "w" + strconv.Itoa(i), Hash: fmt.Sprintf("%064x", 100+i)}
			if err := db.CreateToken(ctx, tok); err != nil {
				t.Errorf("CreateToken %d: %v", i, err)
			}
		})
	}
	wg.Wait()
}

// TestMigrationIdempotent opens a database again and finds its data intact.
func TestMigrationIdempotent(t *testing.T) {
	ctx := t.Context()
	file := filepath.Join(t.TempDir(), "gatehouse.db")
	db := openFile(t, file)
	if err := db.CreateUser(ctx, &gatehouse.User{Login: "keep"}); err != nil {
		t.Fatal(err)
	}
	db.Close()

	db = openFile(t, file)
	defer db.Close()
	if _, err := db.FindUserByLogin(ctx, "keep"); err != nil {
		t.Fatalf("user lost on reopening: %v", err)
	}
	again := openFile(t, file)
	again.Close()

	raw, err := sql.Open("sqlite", file)
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	var n, distinct int
	if err := raw.QueryRow(`SELECT COUNT(*), COUNT(DISTINCT version) FROM schema_migrations`).Scan(&n, &distinct); err != nil {
		t.Fatal(err)
	}
	if n == 0 || n != distinct {
		t.Errorf("schema_migrations has %d rows for %d versions", n, distinct)
	}
}

// TestConcurrentOpen opens a fresh file from several goroutines at once:
// exactly one migrates, the others wait and find the schema in place.
func TestConcurrentOpen(t *testing.T) {
	file := filepath.Join(t.TempDir(), "gatehouse.db")
	var wg sync.WaitGroup
	dbs := make([]*sqldb.DB, 6)
	for i := range dbs {
		wg.Go(func() {
			db, err := sqldb.Open(t.Context(), file)
			if err != nil {
				t.Errorf("Open %d: %v", i, err)
				return
			}
			dbs[i] = db
		})
	}
	wg.Wait()
	for i, db := range dbs {
		if db == nil {
			continue
		}
		if err := db.CreateUser(t.Context(), &gatehouse.User{Login: "u" + strconv.Itoa(i)}); err != nil {
			t.Errorf("CreateUser on handle %d: %v", i, err)
		}
		db.Close()
	}
}

// TestNewerSchema refuses a database migrated by a newer build.
func TestNewerSchema(t *testing.T) {
	file := filepath.Join(t.TempDir(), "gatehouse.db")
	openFile(t, file).Close()
	raw, err := sql.Open("sqlite", file)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := raw.Exec(`INSERT INTO schema_migrations (version, applied_at) VALUES (999999, 0)`); err != nil {
		t.Fatal(err)
	}
	raw.Close()
	if db, err := sqldb.Open(t.Context(), file); err == nil {
		db.Close()
		t.Fatal("Open accepted a database with a newer schema")
	}
}

// helperEnv names the database file a re-executed test binary writes to.
const helperEnv = "GATEHOUSE_SQLDB_HELPER_FILE"

// TestOtherProcess runs writers in a second process against the same file,
// the way an admin command runs beside the server, and checks that neither
// side fails with a locked database.
func TestOtherProcess(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a process")
	}
	ctx := t.Context()
	file := filepath.Join(t.TempDir(), "gatehouse.db")
	db := openFile(t, file)
	defer db.Close()
	u := &gatehouse.User{Login: "shared"}
	if err := db.CreateUser(ctx, u); err != nil {
		t.Fatal(err)
	}

	cmd := exec.CommandContext(ctx, os.Args[0], "-test.run=^TestHelperProcess$", "-test.v")
	cmd.Env = append(os.Environ(), helperEnv+"="+file)
	var out []byte
	done := make(chan error, 1)
	go func() {
		var err error
		out, err = cmd.CombinedOutput()
		done <- err
	}()
	for i := range 50 {
		tok := &gatehouse.Token{UserID: u.ID, Note: "parent" + strconv.Itoa(i), Hash: fmt.Sprintf("p%063x", i)}
		if err := db.CreateToken(ctx, tok); err != nil {
			t.Errorf("parent CreateToken %d: %v", i, err)
		}
	}
	if err := <-done; err != nil {
		t.Fatalf("helper process: %v\n%s", err, out)
	}
	toks, err := db.ListTokens(ctx, gatehouse.TokenFilter{UserID: u.ID}, gatehouse.Page{PerPage: 100})
	if err != nil {
		t.Fatal(err)
	}
	if len(toks) != 100 {
		t.Errorf("%d tokens, want 100 (50 from each process)", len(toks))
	}
	invs, _, err := db.Invalidations(ctx, 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(invs) != 1 || invs[0].TokenID == 0 {
		t.Errorf("parent sees invalidations %+v, want the helper's token deletion", invs)
	}
}

// TestHelperProcess is the second process of TestOtherProcess; it does
// nothing when run directly.
func TestHelperProcess(t *testing.T) {
	file := os.Getenv(helperEnv)
	if file == "" {
		return
	}
	ctx := context.Background()
	db, err := sqldb.Open(ctx, file)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	u, err := db.FindUserByLogin(ctx, "shared")
	if err != nil {
		t.Fatal(err)
	}
	var first *gatehouse.Token
	for i := range 50 {
		tok := &gatehouse.Token{UserID: u.ID, Note: "child" + strconv.Itoa(i), Hash: fmt.Sprintf("c%063x", i)}
		if err := db.CreateToken(ctx, tok); err != nil {
			t.Fatalf("child CreateToken %d: %v", i, err)
		}
		if first == nil {
			first = tok
		}
	}
	// Replace the first token so that the parent has an invalidation to
	// see without changing the count.
	if err := db.DeleteToken(ctx, first.ID); err != nil {
		t.Fatal(err)
	}
	tok := &gatehouse.Token{UserID: u.ID, Note: first.Note, Hash: fmt.Sprintf("d%063x", 0)}
	if err := db.CreateToken(ctx, tok); err != nil {
		t.Fatal(err)
	}
}
