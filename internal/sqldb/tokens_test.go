package sqldb

import (
	"context"
	"database/sql"
	"fmt"
	"io/fs"
	"path"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse"
	"github.com/gatehouse/gatehouse/internal/testenv"
)

// What the contract suite cannot reach through the store: the schema's
// own checks, the cascade from an organization's row (the store deletes
// no accounts), and migration 0015 on a database that already holds
// tokens. Each runs on both databases.

// bothDatabases returns, for each database, its dialect and a function
// that makes a new, empty one and returns its URL.
func bothDatabases() map[string]struct {
	d   *dialect
	url func(t *testing.T) string
} {
	return map[string]struct {
		d   *dialect
		url func(t *testing.T) string
	}{
		"sqlite":   {sqliteDialect, func(t *testing.T) string { return filepath.Join(t.TempDir(), "gatehouse.db") }},
		"postgres": {postgresDialect, func(t *testing.T) string { return testenv.Postgres(t) }},
	}
}

func openTest(t *testing.T, url string) *DB {
	t.Helper()
	db, err := Open(t.Context(), url)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func mustDo(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func TestFineGrainedSchema(t *testing.T) {
	for name, b := range bothDatabases() {
		t.Run(name, func(t *testing.T) {
			ctx := t.Context()
			db := openTest(t, b.url(t))
			owner := &gatehouse.User{Login: "owner"}
			alice := &gatehouse.User{Login: "alice"}
			mustDo(t, db.CreateUser(ctx, owner))
			mustDo(t, db.CreateUser(ctx, alice))
			acme := &gatehouse.User{Login: "acme"}
			mustDo(t, db.CreateOrg(ctx, acme, owner.ID))
			mustDo(t, db.SetMembership(ctx, acme.ID, alice.ID, gatehouse.OrgMember))
			r1 := &gatehouse.Repo{OwnerID: acme.ID, Name: "one"}
			r2 := &gatehouse.Repo{OwnerID: acme.ID, Name: "two"}
			mustDo(t, db.CreateRepo(ctx, r1))
			mustDo(t, db.CreateRepo(ctx, r2))

			expires := time.Now().Add(time.Hour)
			seq := 0
			mk := func(tok *gatehouse.Token) *gatehouse.Token {
				seq++
				tok.Hash = fmt.Sprintf("%064x", seq)
				tok.ExpiresAt = expires
				mustDo(t, db.CreateToken(ctx, tok))
				return tok
			}
			fine := mk(&gatehouse.Token{UserID: alice.ID, Kind: gatehouse.FineGrainedToken, Note: "fine",
				TargetID: acme.ID, Repos: gatehouse.SelectedRepos, RepoIDs: []int64{r2.ID, r1.ID},
				Permissions: map[string]int{"contents": 2, "administration": 1}, Approval: gatehouse.TokenPending})
			mine := mk(&gatehouse.Token{UserID: alice.ID, Kind: gatehouse.FineGrainedToken, Note: "mine",
				TargetID: alice.ID, Repos: gatehouse.AllRepos})
			classic := mk(&gatehouse.Token{UserID: alice.ID, Note: "classic", Scopes: []string{"repo"}})
			mustDo(t, db.SetTokenPolicy(ctx, gatehouse.TokenPolicy{OrgID: acme.ID, RestrictClassic: true}))

			var perms string
			mustDo(t, db.db.QueryRowContext(ctx, `SELECT permissions FROM tokens WHERE id = $1`, fine.ID).Scan(&perms))
			if perms != "administration:read contents:write" {
				t.Errorf("permissions column = %q, want them sorted by name", perms)
			}

			// Reminders carry the selection too.
			rem, err := db.PendingReminders(ctx, gatehouse.ReminderDay, time.Now(), expires.Add(time.Minute), time.Now(), 10)
			mustDo(t, err)
			if len(rem) != 3 {
				t.Fatalf("PendingReminders = %d tokens, want 3", len(rem))
			}
			for _, tok := range rem {
				if tok.ID == fine.ID && !slices.Equal(tok.RepoIDs, []int64{r1.ID, r2.ID}) {
					t.Errorf("PendingReminders: RepoIDs = %v, want [%d %d]", tok.RepoIDs, r1.ID, r2.ID)
				}
				if tok.ID != fine.ID && tok.RepoIDs != nil {
					t.Errorf("PendingReminders: token %q has RepoIDs %v", tok.Note, tok.RepoIDs)
				}
			}

			// The schema refuses what the store's checks refuse, whoever
			// writes.
			for _, c := range []struct {
				what, stmt string
				args       []any
			}{
				{"an unknown kind", `UPDATE tokens SET kind = 'other' WHERE id = $1`, []any{classic.ID}},
				{"a classic token with a resource owner", `UPDATE tokens SET target_id = $1 WHERE id = $2`, []any{acme.ID, classic.ID}},
				{"a classic token with repository access", `UPDATE tokens SET repos = 'all' WHERE id = $1`, []any{classic.ID}},
				{"a classic token with permissions", `UPDATE tokens SET permissions = 'contents:read' WHERE id = $1`, []any{classic.ID}},
				{"a classic token pending", `UPDATE tokens SET approval = 'pending' WHERE id = $1`, []any{classic.ID}},
				{"a classic token reviewed", `UPDATE tokens SET reviewer_id = $1 WHERE id = $2`, []any{owner.ID, classic.ID}},
				{"a classic token turned fine-grained", `UPDATE tokens SET kind = 'fine_grained' WHERE id = $1`, []any{classic.ID}},
				{"a fine-grained token without a resource owner", `UPDATE tokens SET target_id = NULL WHERE id = $1`, []any{fine.ID}},
				{"a fine-grained token without repository access", `UPDATE tokens SET repos = '' WHERE id = $1`, []any{fine.ID}},
				{"a fine-grained token with scopes", `UPDATE tokens SET scopes = 'repo' WHERE id = $1`, []any{fine.ID}},
				{"an unknown approval", `UPDATE tokens SET approval = 'maybe' WHERE id = $1`, []any{fine.ID}},
				{"an unknown repository access", `UPDATE tokens SET repos = 'some' WHERE id = $1`, []any{fine.ID}},
				{"a missing resource owner", `UPDATE tokens SET target_id = $1 WHERE id = $2`, []any{acme.ID + 1000, fine.ID}},
				{"a selection of a missing repository", `INSERT INTO token_repos (token_id, repo_id) VALUES ($1, $2)`, []any{fine.ID, r2.ID + 1000}},
				{"a negative lifetime bound", `UPDATE org_token_policies SET max_classic_days = -1 WHERE org_id = $1`, []any{acme.ID}},
				{"a negative lifetime bound", `UPDATE org_token_policies SET max_fine_grained_days = -1 WHERE org_id = $1`, []any{acme.ID}},
				{"a policy of a missing organization", `INSERT INTO org_token_policies (org_id) VALUES ($1)`, []any{acme.ID + 1000}},
			} {
				if _, err := db.db.ExecContext(ctx, c.stmt, c.args...); err == nil {
					t.Errorf("the schema accepts %s", c.what)
				} else if k := gatehouse.ErrorKind(db.fail("raw", err, "")); k != gatehouse.Invalid && k != gatehouse.NotFound {
					t.Errorf("%s: %v is %v, want invalid or not found", c.what, err, k)
				}
			}

			// An organization that goes takes its tokens, their
			// selections and its policy along; the rest stays.
			if _, err := db.db.ExecContext(ctx, `DELETE FROM users WHERE id = $1`, acme.ID); err != nil {
				t.Fatalf("deleting the organization's row: %v", err)
			}
			if _, err := db.FindTokenByID(ctx, fine.ID); !gatehouse.IsKind(err, gatehouse.NotFound) {
				t.Errorf("a token of a deleted organization is still found: %v", err)
			}
			var n int
			mustDo(t, db.db.QueryRowContext(ctx, `SELECT COUNT(*) FROM token_repos`).Scan(&n))
			if n != 0 {
				t.Errorf("%d selected repositories left after the organization went", n)
			}
			mustDo(t, db.db.QueryRowContext(ctx, `SELECT COUNT(*) FROM org_token_policies`).Scan(&n))
			if n != 0 {
				t.Errorf("%d policies left after the organization went", n)
			}
			if _, err := db.TokenPolicy(ctx, acme.ID); !gatehouse.IsKind(err, gatehouse.NotFound) {
				t.Errorf("TokenPolicy of a deleted organization: %v", err)
			}
			for _, tok := range []*gatehouse.Token{mine, classic} {
				if _, err := db.FindTokenByID(ctx, tok.ID); err != nil {
					t.Errorf("token %q went with the organization: %v", tok.Note, err)
				}
			}
		})
	}
}

// TestMigrateTokens brings a database that holds tokens from version 14
// to the newest: its tokens read back as the classic tokens they were, and
// its organizations have the default policy.
func TestMigrateTokens(t *testing.T) {
	for name, b := range bothDatabases() {
		t.Run(name, func(t *testing.T) {
			ctx := t.Context()
			url := b.url(t)
			dsn := url
			if b.d == sqliteDialect {
				mustDo(t, createFile(url))
				dsn = url + "?" + sqlitePragmas
			}
			raw, err := sql.Open(b.d.driver, dsn)
			mustDo(t, err)
			old := &DB{db: &conn{DB: raw}, d: b.d}
			mustDo(t, migrateTo(ctx, old, 14))
			var userID, orgID int64
			mustDo(t, raw.QueryRowContext(ctx, `INSERT INTO users (login, lower_login, created_at, updated_at)
				VALUES ('alice', 'alice', 1, 1) RETURNING id`).Scan(&userID))
			mustDo(t, raw.QueryRowContext(ctx, `INSERT INTO users (login, lower_login, is_org, created_at, updated_at)
				VALUES ('acme', 'acme', TRUE, 1, 1) RETURNING id`).Scan(&orgID))
			hash := fmt.Sprintf("%064x", 42)
			_, err = raw.ExecContext(ctx, `INSERT INTO tokens
				(user_id, note, scopes, hash, last_eight, expires_at, created_at, updated_at, last_used_at, last_used_ip)
				VALUES ($1, 'old', 'read:org repo', $2, '0000002a', 5000, 1000, 2000, 3000, '192.0.2.1')`,
				userID, hash)
			mustDo(t, err)
			raw.Close()

			db := openTest(t, url)
			got, err := db.FindTokenByHash(ctx, hash)
			mustDo(t, err)
			want := gatehouse.Token{ID: got.ID, UserID: userID, Note: "old", Hash: hash, LastEight: "0000002a",
				LastUsedIP: "192.0.2.1"}
			if got.Kind != "" || got.Note != want.Note || got.UserID != userID || !slices.Equal(got.Scopes, []string{"read:org", "repo"}) ||
				got.Description != "" || got.TargetID != 0 || got.Repos != "" || got.RepoIDs != nil ||
				len(got.Permissions) != 0 || got.Approval != "" || got.ReviewerID != 0 || !got.ReviewedAt.IsZero() ||
				got.ReviewReason != "" || got.LastEight != want.LastEight || got.LastUsedIP != want.LastUsedIP ||
				got.ExpiresAt.UnixMilli() != 5000 || got.CreatedAt.UnixMilli() != 1000 ||
				got.UpdatedAt.UnixMilli() != 2000 || got.LastUsedAt.UnixMilli() != 3000 {
				t.Errorf("a token stored before migration 0015 reads back as %+v", got)
			}
			p, err := db.TokenPolicy(ctx, orgID)
			mustDo(t, err)
			if p != gatehouse.DefaultTokenPolicy(orgID) {
				t.Errorf("policy of an organization from before migration 0015 = %+v", p)
			}
			// And it can still be saved as a classic token.
			got.Note = "renamed"
			mustDo(t, db.UpdateToken(ctx, got))
		})
	}
}

// migrateTo applies the migrations up to version last the way migrate
// does, so that a test can fill a database of an older schema.
func migrateTo(ctx context.Context, db *DB, last int64) error {
	ms, err := db.migrations()
	if err != nil {
		return err
	}
	return db.tx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `CREATE TABLE schema_migrations (
			version    BIGINT PRIMARY KEY,
			applied_at BIGINT NOT NULL
		)`); err != nil {
			return err
		}
		for _, m := range ms {
			if m.version > last {
				break
			}
			text, err := fs.ReadFile(migrationsFS, path.Join(db.d.migrations, m.name))
			if err != nil {
				return err
			}
			if _, err := tx.ExecContext(ctx, string(text)); err != nil {
				return fmt.Errorf("%s: %w", m.name, err)
			}
			if _, err := tx.ExecContext(ctx,
				`INSERT INTO schema_migrations (version, applied_at) VALUES ($1, 0)`, m.version); err != nil {
				return err
			}
		}
		return nil
	})
}
