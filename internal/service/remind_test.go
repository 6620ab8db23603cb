package service

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse"
	"github.com/gatehouse/gatehouse/internal/gitrepo"
	"github.com/gatehouse/gatehouse/internal/sqldb"
	"github.com/gatehouse/gatehouse/internal/testenv"
)

// databases makes a new, empty database of each supported kind and
// returns its URL; PostgreSQL needs GATEHOUSE_TEST_POSTGRES_URL.
var databases = map[string]func(t *testing.T) string{
	"sqlite":   func(t *testing.T) string { return filepath.Join(t.TempDir(), "gatehouse.db") },
	"postgres": func(t *testing.T) string { return testenv.Postgres(t) },
}

func open(t *testing.T, url string) *sqldb.DB {
	t.Helper()
	db, err := sqldb.Open(t.Context(), url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

var linkRE = regexp.MustCompile(`https://git\.example\.com/settings/tokens/(\d+)/regenerate`)

// summary describes messages as sorted "note: kind" lines, read from the
// subjects, so that tests compare them at a glance.
func summary(t *testing.T, db *sqldb.DB, msgs []gatehouse.Message) map[string]string {
	t.Helper()
	got := map[string]string{}
	for _, m := range msgs {
		id := linkRE.FindStringSubmatch(m.Body)
		if id == nil {
			t.Fatalf("no regenerate link in %q", m.Body)
		}
		var tokenID int64
		fmt.Sscan(id[1], &tokenID)
		tok, err := db.FindTokenByID(t.Context(), tokenID)
		if err != nil {
			t.Fatal(err)
		}
		kind := "soon"
		if strings.Contains(m.Subject, "has expired") || strings.Contains(m.Subject, "切れました") {
			kind = "expired"
		}
		if _, dup := got[tok.Note]; dup {
			t.Errorf("two messages about %q", tok.Note)
		}
		got[tok.Note] = kind + " to " + m.To
	}
	return got
}

type fixture struct {
	db    *sqldb.DB
	now   time.Time
	mail  *mailbox
	job   *Service
	users map[string]*gatehouse.User
}

func newFixture(t *testing.T, url string) *fixture {
	f := &fixture{db: open(t, url), now: time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC), mail: &mailbox{}, users: map[string]*gatehouse.User{}}
	f.job = f.reminders(t, f.db)
	for _, u := range []*gatehouse.User{
		{Login: "alice", Email: "alice@example.com"},
		{Login: "hana", Email: "hana@example.jp", Locale: "ja"},
		{Login: "nomail"},
		{Login: "gone", Email: "gone@example.com", Suspended: true},
	} {
		if err := f.db.CreateUser(t.Context(), u); err != nil {
			t.Fatal(err)
		}
		f.users[u.Login] = u
	}
	return f
}

// reminders is one node running the reminder job: a service of its own
// over db, sharing the fixture's clock and mailbox.
func (f *fixture) reminders(t *testing.T, db *sqldb.DB) *Service {
	t.Helper()
	s, err := New(Config{Store: db, Audit: db, Keys: db, Sessions: db, Reminders: db, Orgs: db,
		Repos: &gitrepo.Dir{Root: t.TempDir()}, Mailer: f.mail, ExternalURL: "https://git.example.com",
		Now: func() time.Time { return f.now }})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func (f *fixture) token(t *testing.T, user, note string, expires time.Time) *gatehouse.Token {
	t.Helper()
	var b [16]byte
	rand.Read(b[:])
	tok := &gatehouse.Token{UserID: f.users[user].ID, Note: note, Scopes: []string{"read:org", "repo"},
		Hash: hex.EncodeToString(b[:]), LastEight: "Ab3dEf78", ExpiresAt: expires}
	if err := f.db.CreateToken(t.Context(), tok); err != nil {
		t.Fatal(err)
	}
	return tok
}

func (f *fixture) run(t *testing.T) map[string]string {
	t.Helper()
	if _, err := f.job.RunReminders(t.Context()); err != nil {
		t.Fatal(err)
	}
	return summary(t, f.db, f.mail.take())
}

func wantMails(t *testing.T, step string, got, want map[string]string) {
	t.Helper()
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("%s: sent\n  %v\nwant\n  %v", step, got, want)
	}
}

func TestReminders(t *testing.T) {
	for name, newDB := range databases {
		t.Run(name, func(t *testing.T) {
			f := newFixture(t, newDB(t))
			day := 24 * time.Hour
			now := f.now
			f.token(t, "alice", "week", now.Add(5*day))
			f.token(t, "alice", "day", now.Add(12*time.Hour))
			expired := f.token(t, "alice", "expired", now.Add(-2*time.Hour))
			f.token(t, "alice", "long gone", now.Add(-30*day))
			f.token(t, "alice", "far", now.Add(20*day))
			f.token(t, "alice", "never", time.Time{})
			f.token(t, "alice", "edge", now.Add(7*day)) // exactly a week left
			f.token(t, "hana", "週", now.Add(3*day))
			f.token(t, "nomail", "no address", now.Add(3*day))
			f.token(t, "gone", "suspended", now.Add(12*time.Hour))

			wantMails(t, "first run", f.run(t), map[string]string{
				"week":    "soon to alice@example.com",
				"day":     "soon to alice@example.com",
				"expired": "expired to alice@example.com",
				"edge":    "soon to alice@example.com",
				"週":       "soon to hana@example.jp",
			})
			wantMails(t, "second run", f.run(t), map[string]string{})

			// Four and a half days later: "week" has a day left, the
			// others have expired. Only "far" is still far.
			f.now = now.Add(4*day + 12*time.Hour)
			wantMails(t, "later run", f.run(t), map[string]string{
				"week": "soon to alice@example.com",
				"day":  "expired to alice@example.com",
				"週":    "expired to hana@example.jp",
			})
			wantMails(t, "later run again", f.run(t), map[string]string{})

			// Regenerating gives a new expiry, and the reminders start over.
			expired.ExpiresAt = f.now.Add(3 * day)
			if err := f.db.UpdateToken(t.Context(), expired); err != nil {
				t.Fatal(err)
			}
			wantMails(t, "after regenerating", f.run(t), map[string]string{"expired": "soon to alice@example.com"})
			f.now = expired.ExpiresAt.Add(time.Minute)
			wantMails(t, "regenerated token expired", f.run(t), map[string]string{
				"expired": "expired to alice@example.com",
				"edge":    "expired to alice@example.com",
				"week":    "expired to alice@example.com",
			})
		})
	}
}

func TestReminderText(t *testing.T) {
	f := newFixture(t, databases["sqlite"](t))
	tok := f.token(t, "alice", "release script", f.now.Add(36*time.Hour))
	ja := f.token(t, "hana", "デプロイ", f.now.Add(-time.Hour))
	if _, err := f.job.RunReminders(t.Context()); err != nil {
		t.Fatal(err)
	}
	msgs := f.mail.take()
	if len(msgs) != 2 {
		t.Fatalf("%d messages", len(msgs))
	}
	for _, m := range msgs {
		if strings.Contains(m.Body, tok.Hash) || strings.Contains(m.Body, ja.Hash) {
			t.Errorf("message holds a token hash:\n%s", m.Body)
		}
		switch m.To {
		case "alice@example.com":
			for _, want := range []string{
				`Your personal access token "release script" (…Ab3dEf78) expires on Sun, 3 May 2026 00:00 UTC.`,
				"Scopes: read:org, repo",
				fmt.Sprintf("https://git.example.com/settings/tokens/%d/regenerate", tok.ID),
			} {
				if !strings.Contains(m.Body, want) {
					t.Errorf("English body lacks %q:\n%s", want, m.Body)
				}
			}
			if m.Subject != `[Gatehouse] Your personal access token "release script" expires on 2026-05-03` {
				t.Errorf("subject %q", m.Subject)
			}
		case "hana@example.jp":
			for _, want := range []string{
				"個人用アクセストークン「デプロイ」(…Ab3dEf78)は 2026年5月1日 11:00 UTC に有効期限が切れ",
				"スコープ: read:org, repo",
				fmt.Sprintf("https://git.example.com/settings/tokens/%d/regenerate", ja.ID),
			} {
				if !strings.Contains(m.Body, want) {
					t.Errorf("Japanese body lacks %q:\n%s", want, m.Body)
				}
			}
			if m.Subject != "[Gatehouse] 個人用アクセストークン「デプロイ」の有効期限が切れました" {
				t.Errorf("subject %q", m.Subject)
			}
		default:
			t.Errorf("message to %s", m.To)
		}
	}
}

// TestReminderRetry leaves a reminder the mail server could not take for
// the next run, and does not retry one it refused for good.
func TestReminderRetry(t *testing.T) {
	f := newFixture(t, databases["sqlite"](t))
	f.token(t, "alice", "a", f.now.Add(time.Hour))
	f.token(t, "alice", "b", f.now.Add(2*time.Hour))
	f.mail.fail = gatehouse.E("send e-mail", gatehouse.Unavailable, "connection refused")
	if n, err := f.job.RunReminders(t.Context()); err == nil || n != 0 {
		t.Fatalf("Run with the mail server down = %d, %v", n, err)
	}
	f.mail.fail = nil
	wantMails(t, "server back", f.run(t), map[string]string{"a": "soon to alice@example.com", "b": "soon to alice@example.com"})

	f.token(t, "alice", "c", f.now.Add(3*time.Hour))
	f.mail.fail = gatehouse.E("send e-mail", gatehouse.Invalid, "550 no such user")
	if n, err := f.job.RunReminders(t.Context()); err != nil || n != 0 {
		t.Fatalf("Run with the recipient refused = %d, %v", n, err)
	}
	f.mail.fail = nil
	wantMails(t, "after a refusal", f.run(t), map[string]string{})
}

// TestRemindersConcurrent runs the job on two nodes at once, each with its
// own connection pool to one database, and sends every reminder once.
func TestRemindersConcurrent(t *testing.T) {
	for name, newDB := range databases {
		t.Run(name, func(t *testing.T) {
			url := newDB(t)
			f := newFixture(t, url)
			const n = 30
			for i := range n {
				f.token(t, "alice", fmt.Sprintf("t%02d", i), f.now.Add(time.Duration(i)*time.Hour))
			}
			f.mail.slow = 2 * time.Millisecond
			nodes := []*Service{f.job, f.reminders(t, open(t, url)), f.reminders(t, open(t, url))}
			var wg sync.WaitGroup
			for _, job := range nodes {
				for range 2 {
					wg.Go(func() {
						if _, err := job.RunReminders(t.Context()); err != nil {
							t.Error(err)
						}
					})
				}
			}
			wg.Wait()
			msgs := f.mail.take()
			got := summary(t, f.db, msgs) // fails on duplicates
			if len(msgs) != n || len(got) != n {
				t.Errorf("%d messages about %d tokens, want %d each", len(msgs), len(got), n)
			}
		})
	}
}

// An expiry is recorded in the audit log once, by the run that sends (or
// settles) the "expired" reminder.
func TestExpiryAudited(t *testing.T) {
	for name, newDB := range databases {
		t.Run(name, func(t *testing.T) {
			// Every service records in its audit log, here the database.
			f := newFixture(t, newDB(t))
			gone := f.token(t, "alice", "expired", f.now.Add(-time.Hour))
			f.token(t, "alice", "soon", f.now.Add(48*time.Hour))
			f.token(t, "nomail", "no address", f.now.Add(-time.Hour))
			f.run(t)
			f.run(t)
			events, err := f.db.ListAuditEvents(t.Context(), gatehouse.AuditFilter{}, gatehouse.Page{})
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, e := range events {
				if e.Action != gatehouse.AuditTokenExpire {
					t.Errorf("unexpected event %s", e.Action)
				}
				got = append(got, e.Note)
				if e.TokenID == gone.ID && (e.UserID != f.users["alice"].ID || !strings.Contains(e.Detail, "last_eight=")) {
					t.Errorf("event %+v", e)
				}
			}
			slices.Sort(got)
			if fmt.Sprint(got) != "[expired no address]" {
				t.Fatalf("expiry events %v, want one per expired token", got)
			}
		})
	}
}
