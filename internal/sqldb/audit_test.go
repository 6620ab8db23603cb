package sqldb_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse"
)

// TestAuditEventsBothDatabases records and lists audit events on both
// databases: newest first, filtered by user, paginated, every field kept.
func TestAuditEventsBothDatabases(t *testing.T) {
	for name, newDB := range databases() {
		t.Run(name, func(t *testing.T) {
			ctx := t.Context()
			db := openFile(t, newDB(t))
			defer db.Close()

			if got, err := db.ListAuditEvents(ctx, gatehouse.AuditFilter{}, gatehouse.Page{}); err != nil || got == nil || len(got) != 0 {
				t.Fatalf("empty log = %v, %v; want an empty, non-nil list", got, err)
			}

			at := time.Date(2030, 6, 14, 9, 30, 0, 123456789, time.UTC)
			first := &gatehouse.AuditEvent{Action: gatehouse.AuditTokenCreate, ActorID: 1, UserID: 1, TokenID: 7,
				Note: "laptop", Detail: "last_eight=abcd1234 scopes=repo", IP: "192.0.2.1", At: at}
			if err := db.RecordAuditEvent(ctx, first); err != nil {
				t.Fatal(err)
			}
			if first.ID == 0 || !first.At.Equal(at.Truncate(time.Millisecond)) {
				t.Errorf("after RecordAuditEvent: ID %d, At %v", first.ID, first.At)
			}
			// Users and tokens are not referenced: the log names ones that
			// never existed or are gone, and 0 for none.
			anon := &gatehouse.AuditEvent{Action: gatehouse.AuditAuthFailure, IP: "2001:db8::1", Detail: "unknown or revoked token"}
			if err := db.RecordAuditEvent(ctx, anon); err != nil {
				t.Fatal(err)
			}
			if anon.At.IsZero() || time.Since(anon.At) > time.Minute {
				t.Errorf("At not set to now: %v", anon.At)
			}
			for i := range 5 {
				if err := db.RecordAuditEvent(ctx, &gatehouse.AuditEvent{Action: gatehouse.AuditTokenUpdate, ActorID: 1, UserID: 2,
					TokenID: int64(10 + i), Note: fmt.Sprint("t", i)}); err != nil {
					t.Fatal(err)
				}
			}

			all, err := db.ListAuditEvents(ctx, gatehouse.AuditFilter{}, gatehouse.Page{})
			if err != nil || len(all) != 7 {
				t.Fatalf("all events = %d, %v", len(all), err)
			}
			for i := 1; i < len(all); i++ {
				if all[i-1].ID <= all[i].ID {
					t.Fatalf("not newest first: %d before %d", all[i-1].ID, all[i].ID)
				}
			}
			if got := all[len(all)-1]; *got != *first {
				t.Errorf("read back %+v, want %+v", got, first)
			}
			if got := all[len(all)-2]; *got != *anon {
				t.Errorf("read back %+v, want %+v", got, anon)
			}

			mine, err := db.ListAuditEvents(ctx, gatehouse.AuditFilter{UserID: 2}, gatehouse.Page{Page: 2, PerPage: 2})
			if err != nil || len(mine) != 2 || mine[0].Note != "t2" || mine[1].Note != "t1" {
				t.Errorf("user 2, page 2 = %+v, %v; want t2, t1", mine, err)
			}
			if one, err := db.ListAuditEvents(ctx, gatehouse.AuditFilter{UserID: 1}, gatehouse.Page{}); err != nil || len(one) != 1 || one[0].ID != first.ID {
				t.Errorf("user 1 = %+v, %v", one, err)
			}
		})
	}
}
