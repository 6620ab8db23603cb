package sqldb_test

import (
	"bytes"
	"context"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse"
)

func TestSessions(t *testing.T) {
	ctx := context.Background()
	db := openFile(t, filepath.Join(t.TempDir(), "g.db"))
	defer db.Close()
	u := &gatehouse.User{Login: "alice", Email: "a@example.com"}
	if err := db.CreateUser(ctx, u); err != nil {
		t.Fatal(err)
	}
	s := &gatehouse.Session{ID: "s1", UserID: u.ID, CSRF: "c", ExpiresAt: time.Now().Add(time.Hour)}
	if err := db.CreateSession(ctx, s); err != nil {
		t.Fatal(err)
	}
	if err := db.CreateSession(ctx, &gatehouse.Session{ID: "s2", UserID: 999, CSRF: "c", ExpiresAt: time.Now().Add(time.Hour)}); !gatehouse.IsKind(err, gatehouse.NotFound) {
		t.Errorf("session of a missing user: %v", err)
	}
	expired := &gatehouse.Session{ID: "old", UserID: u.ID, CSRF: "c", ExpiresAt: time.Now().Add(-time.Second)}
	if err := db.CreateSession(ctx, expired); err != nil {
		t.Fatal(err)
	}
	if _, err := db.FindSession(ctx, "old"); !gatehouse.IsKind(err, gatehouse.NotFound) {
		t.Errorf("expired session found: %v", err)
	}
	got, err := db.FindSession(ctx, "s1")
	if err != nil || got.UserID != u.ID || got.CSRF != "c" || !got.SudoUntil.IsZero() {
		t.Fatalf("FindSession = %+v, %v", got, err)
	}
	got.SudoUntil = time.Now().Add(2 * time.Hour)
	got.Flash = []byte("sealed")
	if err := db.UpdateSession(ctx, got); err != nil {
		t.Fatal(err)
	}
	again, _ := db.FindSession(ctx, "s1")
	if !again.SudoUntil.Equal(got.SudoUntil) || !bytes.Equal(again.Flash, []byte("sealed")) {
		t.Fatalf("update lost: %+v", again)
	}

	// Of concurrent readers, exactly one gets the flash.
	var wg sync.WaitGroup
	var mu sync.Mutex
	taken := 0
	for i := 0; i < 8; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			f, err := db.TakeFlash(ctx, "s1")
			if err != nil {
				t.Error(err)
			}
			if f != nil {
				mu.Lock()
				taken++
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if taken != 1 {
		t.Fatalf("flash taken %d times", taken)
	}

	db.CreateSession(ctx, &gatehouse.Session{ID: "s3", UserID: u.ID, CSRF: "c", ExpiresAt: time.Now().Add(time.Hour)})
	if n, err := db.DeleteUserSessions(ctx, u.ID); err != nil || n != 2 {
		t.Fatalf("DeleteUserSessions = %d, %v", n, err)
	}
	if _, err := db.FindSession(ctx, "s1"); !gatehouse.IsKind(err, gatehouse.NotFound) {
		t.Error("session survived")
	}
	if err := db.DeleteSession(ctx, "missing"); err != nil {
		t.Error(err)
	}
	if err := db.UpdateSession(ctx, got); !gatehouse.IsKind(err, gatehouse.NotFound) {
		t.Errorf("update of a deleted session: %v", err)
	}
}
