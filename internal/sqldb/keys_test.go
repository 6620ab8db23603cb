package sqldb

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/gatehouse/gatehouse"
)

func TestKeys(t *testing.T) {
	ctx := context.Background()
	db, err := Open(ctx, filepath.Join(t.TempDir(), "g.db"))
	if err != nil {
		t.Fatal(err)
	}
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
	if k.ID == 0 || k.CreatedAt.IsZero() {
		t.Fatalf("CreateKey did not fill ID and CreatedAt: %+v", k)
	}
	got, err := db.FindKey(ctx, k.ID)
	if err != nil || *got != *k {
		t.Fatalf("FindKey = %+v, %v; want %+v", got, err, k)
	}
	// A fingerprint is unique across users.
	dup := &gatehouse.Key{UserID: bob.ID, Key: "ssh-ed25519 AAAA", Fingerprint: "SHA256:one"}
	if err := db.CreateKey(ctx, dup); !gatehouse.IsKind(err, gatehouse.Conflict) {
		t.Fatalf("duplicate key: %v", err)
	}
	if err := db.CreateKey(ctx, &gatehouse.Key{UserID: 999, Key: "k", Fingerprint: "SHA256:two"}); !gatehouse.IsKind(err, gatehouse.NotFound) {
		t.Fatalf("key of a missing user: %v", err)
	}
	for i, fp := range []string{"SHA256:a", "SHA256:b"} {
		if err := db.CreateKey(ctx, &gatehouse.Key{UserID: alice.ID, Key: "k", Fingerprint: fp, Title: fp}); err != nil {
			t.Fatal(i, err)
		}
	}
	page, err := db.ListKeys(ctx, alice.ID, gatehouse.Page{Page: 2, PerPage: 2})
	if err != nil || len(page) != 1 || page[0].Title != "SHA256:b" {
		t.Fatalf("ListKeys page 2 = %+v, %v", page, err)
	}
	if none, err := db.ListKeys(ctx, bob.ID, gatehouse.Page{}); err != nil || none == nil || len(none) != 0 {
		t.Fatalf("ListKeys of bob = %#v, %v", none, err)
	}
	if err := db.DeleteKey(ctx, k.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := db.FindKey(ctx, k.ID); !gatehouse.IsKind(err, gatehouse.NotFound) {
		t.Fatalf("FindKey after delete: %v", err)
	}
	if err := db.DeleteKey(ctx, k.ID); !gatehouse.IsKind(err, gatehouse.NotFound) {
		t.Fatalf("DeleteKey twice: %v", err)
	}
}
