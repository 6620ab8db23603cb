package sqldb_test

import (
	"bytes"
	"database/sql"
	"fmt"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse"
	"github.com/gatehouse/gatehouse/internal/sqldb"
	"github.com/gatehouse/gatehouse/internal/sqldb/storetest"
	"github.com/gatehouse/gatehouse/internal/testenv"
)

// The PostgreSQL tests run against the server named by
// GATEHOUSE_TEST_POSTGRES_URL, each in a database of its own; without it
// they fail under CI=true and skip loudly otherwise (testenv.Postgres).

func TestPostgresStore(t *testing.T) {
	testenv.RequirePostgres(t) // once, rather than in every subtest
	storetest.Run(t, func(t *testing.T) gatehouse.Store {
		return openFile(t, testenv.Postgres(t))
	})
}

// databases returns, for each supported database, a function that makes a
// new, empty one and returns its URL.
func databases() map[string]func(t *testing.T) string {
	return map[string]func(t *testing.T) string{
		"sqlite":   func(t *testing.T) string { return filepath.Join(t.TempDir(), "gatehouse.db") },
		"postgres": func(t *testing.T) string { return testenv.Postgres(t) },
	}
}

// TestPostgresConcurrentOpen opens a fresh database from several handles at
// once, as nodes starting together do: the advisory lock lets one migrate
// while the others wait and find the schema in place.
func TestPostgresConcurrentOpen(t *testing.T) {
	u := testenv.Postgres(t)
	var wg sync.WaitGroup
	dbs := make([]*sqldb.DB, 6)
	for i := range dbs {
		wg.Go(func() {
			db, err := sqldb.Open(t.Context(), u)
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

	raw := rawPostgres(t, u)
	var n, distinct int
	if err := raw.QueryRow(`SELECT COUNT(*), COUNT(DISTINCT version) FROM schema_migrations`).Scan(&n, &distinct); err != nil {
		t.Fatal(err)
	}
	if n == 0 || n != distinct {
		t.Errorf("schema_migrations has %d rows for %d versions", n, distinct)
	}
}

// TestPostgresReopen opens a migrated database again, keeps its data, and
// refuses one migrated by a newer build.
func TestPostgresReopen(t *testing.T) {
	u := testenv.Postgres(t)
	db := openFile(t, u)
	if err := db.CreateUser(t.Context(), &gatehouse.User{Login: "keep"}); err != nil {
		t.Fatal(err)
	}
	db.Close()
	db = openFile(t, u)
	if _, err := db.FindUserByLogin(t.Context(), "KEEP"); err != nil {
		t.Fatalf("user lost on reopening: %v", err)
	}
	db.Close()

	raw := rawPostgres(t, u)
	if _, err := raw.Exec(`INSERT INTO schema_migrations (version, applied_at) VALUES (999999, 0)`); err != nil {
		t.Fatal(err)
	}
	if db, err := sqldb.Open(t.Context(), u); err == nil {
		db.Close()
		t.Fatal("Open accepted a database with a newer schema")
	}
}

// TestPostgresURLs refuses what cannot be a PostgreSQL URL before
// connecting, without repeating the URL, and reports a server that is not
// there.
func TestPostgresURLs(t *testing.T) {
	for _, u := range []string{
		"postgres://user:s3cr3t@localhost:notaport/db",
		"postgresql://user:s3cr3t@[::1/db",
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
		if strings.Contains(err.Error(), "s3cr3t") {
			t.Errorf("Open(%q): error repeats the password: %v", u, err)
		}
	}
	// Port 1 on loopback: nothing listens there.
	db, err := sqldb.Open(t.Context(), "postgres://user:s3cr3t@127.0.0.1:1/db?connect_timeout=5")
	if err == nil {
		db.Close()
		t.Fatal("Open of an unreachable server succeeded")
	}
	if strings.Contains(err.Error(), "s3cr3t") {
		t.Errorf("connection error repeats the password: %v", err)
	}
}

// TestKeysAndSessionsBothDatabases runs every query of keys.go and web.go,
// which the contract suite does not cover, on both databases.
func TestKeysAndSessionsBothDatabases(t *testing.T) {
	for name, newDB := range databases() {
		t.Run(name, func(t *testing.T) {
			ctx := t.Context()
			db := openFile(t, newDB(t))
			defer db.Close()
			alice := &gatehouse.User{Login: "alice", Email: "a@example.com"}
			bob := &gatehouse.User{Login: "bob", Email: "b@example.com"}
			for _, u := range []*gatehouse.User{alice, bob} {
				if err := db.CreateUser(ctx, u); err != nil {
					t.Fatal(err)
				}
			}

			k := &gatehouse.Key{UserID: alice.ID, Title: "laptop", Key: "ssh-ed25519 AAAA", Fingerprint: "SHA256:one"}
			if err := db.CreateKey(ctx, k); err != nil {
				t.Fatal(err)
			}
			if got, err := db.FindKey(ctx, k.ID); err != nil || *got != *k {
				t.Fatalf("FindKey = %+v, %v; want %+v", got, err, k)
			}
			err := db.CreateKey(ctx, &gatehouse.Key{UserID: bob.ID, Key: "k", Fingerprint: "SHA256:one"})
			if !gatehouse.IsKind(err, gatehouse.Conflict) || gatehouse.ErrorMessage(err) != "key is already in use" {
				t.Errorf("duplicate key: %v", err)
			}
			err = db.CreateKey(ctx, &gatehouse.Key{UserID: bob.ID + 1000, Key: "k", Fingerprint: "SHA256:two"})
			if !gatehouse.IsKind(err, gatehouse.NotFound) || gatehouse.ErrorMessage(err) != "user not found" {
				t.Errorf("key of a missing user: %v", err)
			}
			if err := db.CreateKey(ctx, &gatehouse.Key{UserID: alice.ID, Key: "k", Fingerprint: "SHA256:b", Title: "b"}); err != nil {
				t.Fatal(err)
			}
			if page, err := db.ListKeys(ctx, alice.ID, gatehouse.Page{Page: 2, PerPage: 1}); err != nil || len(page) != 1 || page[0].Title != "b" {
				t.Errorf("ListKeys page 2 = %+v, %v", page, err)
			}
			if err := db.DeleteKey(ctx, k.ID); err != nil {
				t.Fatal(err)
			}
			if err := db.DeleteKey(ctx, k.ID); !gatehouse.IsKind(err, gatehouse.NotFound) {
				t.Errorf("DeleteKey twice: %v", err)
			}

			s := &gatehouse.Session{ID: "s1", UserID: alice.ID, CSRF: "c", IP: "192.0.2.1", ExpiresAt: time.Now().Add(time.Hour)}
			if err := db.CreateSession(ctx, s); err != nil {
				t.Fatal(err)
			}
			err = db.CreateSession(ctx, &gatehouse.Session{ID: "s2", UserID: bob.ID + 1000, CSRF: "c", ExpiresAt: time.Now().Add(time.Hour)})
			if !gatehouse.IsKind(err, gatehouse.NotFound) {
				t.Errorf("session of a missing user: %v", err)
			}
			if err := db.CreateSession(ctx, &gatehouse.Session{ID: "old", UserID: alice.ID, CSRF: "c", ExpiresAt: time.Now().Add(-time.Second)}); err != nil {
				t.Fatal(err)
			}
			if _, err := db.FindSession(ctx, "old"); !gatehouse.IsKind(err, gatehouse.NotFound) {
				t.Errorf("expired session found: %v", err)
			}
			got, err := db.FindSession(ctx, "s1")
			if err != nil || got.UserID != alice.ID || got.IP != "192.0.2.1" || got.Flash != nil || !got.SudoUntil.IsZero() {
				t.Fatalf("FindSession = %+v, %v", got, err)
			}
			got.SudoUntil = time.Now().Add(time.Hour)
			got.SeenAt = time.Now()
			got.Flash = []byte("sealed\x00bytes")
			if err := db.UpdateSession(ctx, got); err != nil {
				t.Fatal(err)
			}
			if again, err := db.FindSession(ctx, "s1"); err != nil || !again.SudoUntil.Equal(got.SudoUntil) || !bytes.Equal(again.Flash, got.Flash) {
				t.Fatalf("after UpdateSession: %+v, %v", again, err)
			}
			var (
				wg    sync.WaitGroup
				mu    sync.Mutex
				taken int
			)
			for range 8 {
				wg.Go(func() {
					f, err := db.TakeFlash(ctx, "s1")
					if err != nil {
						t.Error(err)
					}
					if f != nil {
						mu.Lock()
						taken++
						mu.Unlock()
					}
				})
			}
			wg.Wait()
			if taken != 1 {
				t.Errorf("flash taken %d times, want once", taken)
			}
			if err := db.DeleteSession(ctx, "s1"); err != nil {
				t.Fatal(err)
			}
			if err := db.UpdateSession(ctx, got); !gatehouse.IsKind(err, gatehouse.NotFound) {
				t.Errorf("UpdateSession of a deleted session: %v", err)
			}
			if n, err := db.DeleteUserSessions(ctx, alice.ID); err != nil || n != 1 {
				t.Errorf("DeleteUserSessions = %d, %v; want the expired one", n, err)
			}
		})
	}
}

// TestTwoHandlesBothDatabases opens one database twice, as two nodes or a
// node and an admin command do, and checks that each sees the other's
// writes and invalidations.
func TestTwoHandlesBothDatabases(t *testing.T) {
	for name, newDB := range databases() {
		t.Run(name, func(t *testing.T) {
			ctx := t.Context()
			u := newDB(t)
			nodeA, nodeB := openFile(t, u), openFile(t, u)
			defer nodeA.Close()
			defer nodeB.Close()
			_, seq, err := nodeB.Invalidations(ctx, 0)
			if err != nil {
				t.Fatal(err)
			}
			user := &gatehouse.User{Login: "root"}
			if err := nodeA.CreateUser(ctx, user); err != nil {
				t.Fatal(err)
			}
			tok := &gatehouse.Token{UserID: user.ID, Note: "n", Hash: fmt.Sprintf("%064x", 1)}
			if err := nodeB.CreateToken(ctx, tok); err != nil {
				t.Fatal(err)
			}
			if err := nodeA.DeleteToken(ctx, tok.ID); err != nil {
				t.Fatal(err)
			}
			invs, _, err := nodeB.Invalidations(ctx, seq)
			if err != nil {
				t.Fatal(err)
			}
			if len(invs) != 1 || invs[0].TokenID != tok.ID || invs[0].UserID != user.ID {
				t.Errorf("node B sees invalidations %+v, want node A's deletion of token %d", invs, tok.ID)
			}
		})
	}
}

// TestInvalidationsNeverSkipped races token deletions on two handles
// against a poller that asks only for what is newer than the newest
// sequence number it saw, the way every node's cache polls. Every deletion
// must reach the poller: on PostgreSQL, sequence values drawn in one order
// and committed in another would make it skip some.
func TestInvalidationsNeverSkipped(t *testing.T) {
	for name, newDB := range databases() {
		t.Run(name, func(t *testing.T) {
			ctx := t.Context()
			u := newDB(t)
			nodeA, nodeB, poller := openFile(t, u), openFile(t, u), openFile(t, u)
			defer nodeA.Close()
			defer nodeB.Close()
			defer poller.Close()
			user := &gatehouse.User{Login: "busy"}
			if err := nodeA.CreateUser(ctx, user); err != nil {
				t.Fatal(err)
			}
			const writers, perWriter = 8, 25
			var ids []int64
			for i := range writers * perWriter {
				tok := &gatehouse.Token{UserID: user.ID, Note: "t" + strconv.Itoa(i), Hash: fmt.Sprintf("%064x", i+1)}
				if err := nodeA.CreateToken(ctx, tok); err != nil {
					t.Fatal(err)
				}
				ids = append(ids, tok.ID)
			}

			seen := map[int64]bool{}
			var last int64
			poll := func() {
				invs, next, err := poller.Invalidations(ctx, last)
				if err != nil {
					t.Error(err)
					return
				}
				for _, inv := range invs {
					seen[inv.TokenID] = true
				}
				last = next
			}
			poll()
			var wg sync.WaitGroup
			for w := range writers {
				db := nodeA
				if w%2 == 1 {
					db = nodeB
				}
				wg.Go(func() {
					for _, id := range ids[w*perWriter : (w+1)*perWriter] {
						if err := db.DeleteToken(ctx, id); err != nil {
							t.Errorf("DeleteToken %d: %v", id, err)
						}
					}
				})
			}
			done := make(chan struct{})
			go func() { wg.Wait(); close(done) }()
			for running := true; running; {
				select {
				case <-done:
					running = false
				default:
				}
				poll()
			}
			poll()
			missed := 0
			for _, id := range ids {
				if !seen[id] {
					missed++
				}
			}
			if missed > 0 {
				t.Errorf("the poller missed %d of %d deletions", missed, len(ids))
			}
		})
	}
}

// TestPostgresInvalidationOrder holds a transaction open after it wrote to
// the invalidation log and checks that a later writer waits for it, so that
// a poller never sees the later sequence number before the earlier one.
func TestPostgresInvalidationOrder(t *testing.T) {
	ctx := t.Context()
	u := testenv.Postgres(t)
	store := openFile(t, u)
	defer store.Close()
	user := &gatehouse.User{Login: "u"}
	if err := store.CreateUser(ctx, user); err != nil {
		t.Fatal(err)
	}
	tok := &gatehouse.Token{UserID: user.ID, Note: "n", Hash: fmt.Sprintf("%064x", 7)}
	if err := store.CreateToken(ctx, tok); err != nil {
		t.Fatal(err)
	}
	_, last, err := store.Invalidations(ctx, 0)
	if err != nil {
		t.Fatal(err)
	}

	raw := rawPostgres(t, u)
	slow, err := raw.BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer slow.Rollback()
	var slowSeq int64
	if err := slow.QueryRowContext(ctx,
		`INSERT INTO invalidations (token_id, user_id, at) VALUES (0, $1, 0) RETURNING seq`,
		user.ID).Scan(&slowSeq); err != nil {
		t.Fatal(err)
	}

	deleted := make(chan error, 1)
	go func() { deleted <- store.DeleteToken(ctx, tok.ID) }()
	select {
	case err := <-deleted:
		t.Fatalf("DeleteToken finished (%v) while an earlier invalidation was uncommitted", err)
	case <-time.After(300 * time.Millisecond):
	}
	if invs, _, err := store.Invalidations(ctx, last); err != nil || len(invs) != 0 {
		t.Fatalf("while the first writer is open the log shows %+v, %v; want nothing", invs, err)
	}
	if err := slow.Commit(); err != nil {
		t.Fatal(err)
	}
	if err := <-deleted; err != nil {
		t.Fatal(err)
	}
	invs, _, err := store.Invalidations(ctx, last)
	if err != nil {
		t.Fatal(err)
	}
	if len(invs) != 2 || invs[0].Seq != slowSeq || invs[1].TokenID != tok.ID || invs[1].Seq <= slowSeq {
		t.Errorf("log after both commits = %+v, want seq %d then the deletion of token %d", invs, slowSeq, tok.ID)
	}
}

func rawPostgres(t *testing.T, u string) *sql.DB {
	t.Helper()
	db, err := sql.Open("pgx/v5", u)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}
