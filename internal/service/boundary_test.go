package service

// Tests of the application boundary as a whole: what New accepts, what the
// service records and sends on its own, and the rules it applies to every
// transport alike (the command line included).

import (
	"context"
	"errors"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse"
	"github.com/gatehouse/gatehouse/internal/authz"
	"github.com/gatehouse/gatehouse/internal/notify"
	"github.com/gatehouse/gatehouse/internal/token"
)

// New refuses to run with a feature silently switched off: every store
// and the Mailer are required, and the error names the missing field.
func TestNewRequiresEveryStore(t *testing.T) {
	for _, c := range []struct {
		field string
		drop  func(*Config)
	}{
		{"Store", func(c *Config) { c.Store = nil }},
		{"Audit", func(c *Config) { c.Audit = nil }},
		{"Keys", func(c *Config) { c.Keys = nil }},
		{"Sessions", func(c *Config) { c.Sessions = nil }},
		{"Reminders", func(c *Config) { c.Reminders = nil }},
		{"Repos", func(c *Config) { c.Repos = nil }},
		{"Mailer", func(c *Config) { c.Mailer = nil }},
	} {
		t.Run(c.field, func(t *testing.T) {
			cfg, _ := testConfig(t)
			c.drop(&cfg)
			s, err := New(cfg)
			if err == nil || s != nil {
				t.Fatalf("New without %s = %v, %v; want an error", c.field, s, err)
			}
			if !strings.Contains(err.Error(), "Config."+c.field) {
				t.Errorf("New without %s: %q does not name the field", c.field, err)
			}
			defer func() {
				if r := recover(); r == nil || !strings.Contains(fmtAny(r), "Config."+c.field) {
					t.Errorf("MustNew without %s: recovered %v, want a panic naming the field", c.field, r)
				}
			}()
			MustNew(cfg)
		})
	}
	cfg, _ := testConfig(t)
	if s, err := New(cfg); err != nil || s == nil {
		t.Fatalf("New with a complete Config = %v, %v", s, err)
	}
}

func fmtAny(v any) string {
	if err, ok := v.(error); ok {
		return err.Error()
	}
	if s, ok := v.(string); ok {
		return s
	}
	return ""
}

// Every change to a token is recorded by the service itself, under the
// actor that made it, whichever transport called: the action follows from
// the actor.
func TestTokenLifecycleAudited(t *testing.T) {
	ctx := context.Background()
	now := time.Date(2030, 3, 1, 12, 0, 0, 0, time.UTC)
	var mu sync.Mutex
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	mail := &mailbox{}
	s, db := newService(t, withClock(clock), withMailer(mail))
	alice := mustUser(t, s, NewUser{Login: "alice", Email: "alice@example.com"})
	bob := mustUser(t, s, NewUser{Login: "bob", Email: "bob@example.com"})
	admin := mustUser(t, s, NewUser{Login: "root", Email: "root@example.com", SiteAdmin: true})
	owner := session(alice, "192.0.2.10")
	siteAdmin := session(admin, "192.0.2.99")

	var secrets []string
	issue := func(note, expires string) *IssuedToken {
		t.Helper()
		it, err := s.CreateToken(ctx, owner, NewToken{UserID: alice.ID, Note: note, Scopes: []string{"repo"}, Expires: expires})
		if err != nil {
			t.Fatal(err)
		}
		secrets = append(secrets, it.Secret)
		return it
	}

	mine := issue("mine", "30d")
	if _, err := s.UpdateToken(ctx, owner, mine.Token.ID, "mine, renamed", []string{"gist"}); err != nil {
		t.Fatal(err)
	}
	regen, err := s.RegenerateToken(ctx, owner, mine.Token.ID, "30d")
	if err != nil {
		t.Fatal(err)
	}
	secrets = append(secrets, regen.Secret)
	if _, err := s.DeleteToken(ctx, owner, mine.Token.ID); err != nil {
		t.Fatal(err)
	}
	byAdmin := issue("by admin", "30d")
	if _, err := s.DeleteToken(ctx, siteAdmin, byAdmin.Token.ID); err != nil {
		t.Fatal(err)
	}
	bySystem := issue("by system", "30d")
	if _, err := s.DeleteToken(ctx, system, bySystem.Token.ID); err != nil {
		t.Fatal(err)
	}
	leaked := issue("leaked", "30d")
	found, foundOwner, err := s.LiveToken(ctx, system, leaked.Secret)
	if err != nil || found.ID != leaked.Token.ID || foundOwner.ID != alice.ID {
		t.Fatalf("LiveToken = %+v, %+v, %v", found, foundOwner, err)
	}
	leak := gatehouse.TokenLeak{Repo: "alice/demo", Commit: strings.Repeat("ab", 20), Location: "path .env (line 2)",
		PusherID: bob.ID, Pusher: "bob", IP: "192.0.2.50"}
	out, err := s.RevokeLeakedToken(ctx, system, found, foundOwner, leak)
	if err != nil || !out.Notified || out.MailFailed {
		t.Fatalf("RevokeLeakedToken = %+v, %v", out, err)
	}
	expiring := issue("expiring", "7d")
	mu.Lock()
	now = now.Add(7*24*time.Hour + time.Hour)
	mu.Unlock()
	if _, err := s.RunReminders(ctx); err != nil {
		t.Fatal(err)
	}

	type want struct {
		action  gatehouse.AuditAction
		actor   int64
		ip      string
		tokenID int64
		detail  string // a substring
	}
	wants := []want{ // oldest first
		{gatehouse.AuditTokenCreate, alice.ID, "192.0.2.10", mine.Token.ID, "last_eight=" + token.LastEight(mine.Secret)},
		{gatehouse.AuditTokenUpdate, alice.ID, "192.0.2.10", mine.Token.ID, "scopes=gist"},
		{gatehouse.AuditTokenRegenerate, alice.ID, "192.0.2.10", mine.Token.ID, "last_eight=" + token.LastEight(regen.Secret)},
		{gatehouse.AuditTokenDelete, alice.ID, "192.0.2.10", mine.Token.ID, ""},
		{gatehouse.AuditTokenCreate, alice.ID, "192.0.2.10", byAdmin.Token.ID, ""},
		{gatehouse.AuditTokenAdminRevoke, admin.ID, "192.0.2.99", byAdmin.Token.ID, ""},
		{gatehouse.AuditTokenCreate, alice.ID, "192.0.2.10", bySystem.Token.ID, ""},
		{gatehouse.AuditTokenAdminRevoke, 0, "", bySystem.Token.ID, ""},
		{gatehouse.AuditTokenCreate, alice.ID, "192.0.2.10", leaked.Token.ID, ""},
		{gatehouse.AuditTokenLeaked, bob.ID, "192.0.2.50", leaked.Token.ID, "repo alice/demo, commit abababababab, path .env (line 2), pushed by bob"},
		{gatehouse.AuditTokenCreate, alice.ID, "192.0.2.10", expiring.Token.ID, ""},
		{gatehouse.AuditTokenExpire, 0, "", expiring.Token.ID, "last_eight=" + token.LastEight(expiring.Secret)},
	}
	evs := auditLog(t, db, alice.ID)
	if len(evs) != len(wants) {
		for _, e := range evs {
			t.Logf("%+v", *e)
		}
		t.Fatalf("%d events, want %d", len(evs), len(wants))
	}
	for i, w := range wants {
		e := evs[len(evs)-1-i]
		if e.Action != w.action || e.ActorID != w.actor || e.UserID != alice.ID || e.IP != w.ip ||
			e.TokenID != w.tokenID || !strings.Contains(e.Detail, w.detail) || e.At.IsZero() {
			t.Errorf("event %d = %+v, want %+v", i, *e, w)
		}
	}
	noSecret(t, evs, secrets...)
	for _, id := range []int64{mine.Token.ID, byAdmin.Token.ID, bySystem.Token.ID, leaked.Token.ID} {
		if _, err := db.FindTokenByID(ctx, id); !gatehouse.IsKind(err, gatehouse.NotFound) {
			t.Errorf("token %d outlived its deletion: %v", id, err)
		}
	}
	// The expiry went out by mail too, once.
	var expiredMails int
	for _, m := range mail.take() {
		if strings.Contains(m.Subject, `"expiring" has expired`) {
			expiredMails++
		}
	}
	if expiredMails != 1 {
		t.Errorf("%d expiry mails, want 1", expiredMails)
	}
}

// Looking tokens up by their secret and revoking leaked ones is push
// protection's, which runs as the system; no user may, not even a site
// admin in a browser session.
func TestLeakUseCasesAreTheSystems(t *testing.T) {
	ctx := context.Background()
	s, db := newService(t)
	alice := mustUser(t, s, NewUser{Login: "alice", Email: "alice@example.com"})
	admin := mustUser(t, s, NewUser{Login: "root", Email: "root@example.com", SiteAdmin: true})
	it, err := s.CreateToken(ctx, session(alice, ""), NewToken{UserID: alice.ID, Note: "n"})
	if err != nil {
		t.Fatal(err)
	}
	for name, actor := range map[string]*gatehouse.Actor{
		"anonymous":  gatehouse.AnonymousActor("192.0.2.1"),
		"nil":        nil,
		"owner":      session(alice, "192.0.2.1"),
		"site admin": session(admin, "192.0.2.1"),
	} {
		if _, _, err := s.LiveToken(ctx, actor, it.Secret); !gatehouse.IsKind(err, gatehouse.Forbidden) {
			t.Errorf("LiveToken as %s: %v, want Forbidden", name, err)
		}
		if _, err := s.RevokeLeakedToken(ctx, actor, it.Token, alice, gatehouse.TokenLeak{}); !gatehouse.IsKind(err, gatehouse.Forbidden) {
			t.Errorf("RevokeLeakedToken as %s: %v, want Forbidden", name, err)
		}
	}
	if _, err := db.FindTokenByID(ctx, it.Token.ID); err != nil {
		t.Fatalf("the token was revoked by a refused call: %v", err)
	}
	if evs := auditLog(t, db, alice.ID); len(evs) != 1 || evs[0].Action != gatehouse.AuditTokenCreate {
		t.Errorf("audit log after refused calls: %+v", evs)
	}
}

// The leak e-mail speaks the owner's language: Japanese for "ja", English
// for "en" and for no choice. Each names the token by its last eight
// characters and never holds the secret.
func TestLeakMailLocalized(t *testing.T) {
	ctx := context.Background()
	mail := &mailbox{}
	s, _ := newService(t, withMailer(mail))
	for _, c := range []struct {
		login, locale string
		subject, body []string // substrings
	}{
		{"hana", "ja", []string{"個人用アクセストークン「デプロイ」", "取り消しました"}, []string{"hana さん", "取り消され、もう使えません", "bob による hana/site へのプッシュ"}},
		{"alice", "en", []string{`Your personal access token "デプロイ" was found in a push and revoked`}, []string{"Hello alice,", "ending in", "It has been revoked"}},
		{"carol", "", []string{`Your personal access token "デプロイ" was found in a push and revoked`}, []string{"Hello carol,", "ending in", "It has been revoked"}},
	} {
		t.Run(c.login+"/"+c.locale, func(t *testing.T) {
			u := mustUser(t, s, NewUser{Login: c.login, Email: c.login + "@example.com"})
			u, err := s.UpdateProfile(ctx, session(u, ""), u.ID, "", u.Email, c.locale)
			if err != nil || u.Locale != c.locale {
				t.Fatalf("UpdateProfile = %+v, %v", u, err)
			}
			it, err := s.CreateToken(ctx, session(u, ""), NewToken{UserID: u.ID, Note: "デプロイ", Scopes: []string{"repo"}})
			if err != nil {
				t.Fatal(err)
			}
			tok, owner, err := s.LiveToken(ctx, system, it.Secret)
			if err != nil {
				t.Fatal(err)
			}
			leak := gatehouse.TokenLeak{Repo: c.login + "/site", Commit: strings.Repeat("c", 40), Location: "path deploy.sh (line 7)",
				PusherID: 99, Pusher: "bob", IP: "192.0.2.5"}
			if out, err := s.RevokeLeakedToken(ctx, system, tok, owner, leak); err != nil || !out.Notified {
				t.Fatalf("RevokeLeakedToken = %+v, %v", out, err)
			}
			msgs := mail.take()
			if len(msgs) != 1 {
				t.Fatalf("%d messages, want 1", len(msgs))
			}
			m := msgs[0]
			if want := notify.LeakMessage(owner, tok, leak, "https://git.example.com"); m != want {
				t.Errorf("sent\n%+v\nwant notify.LeakMessage's\n%+v", m, want)
			}
			if m.To != c.login+"@example.com" {
				t.Errorf("sent to %q", m.To)
			}
			for _, want := range c.subject {
				if !strings.Contains(m.Subject, want) {
					t.Errorf("subject %q lacks %q", m.Subject, want)
				}
			}
			for _, want := range append(c.body, token.LastEight(it.Secret), "https://git.example.com/settings/tokens") {
				if !strings.Contains(m.Body, want) {
					t.Errorf("body lacks %q:\n%s", want, m.Body)
				}
			}
			japanese := strings.Contains(m.Subject+m.Body, "さん") || strings.Contains(m.Subject+m.Body, "取り消")
			if japanese != (c.locale == "ja") {
				t.Errorf("locale %q got a mail in the wrong language:\n%s\n%s", c.locale, m.Subject, m.Body)
			}
			body := strings.TrimPrefix(it.Secret, token.DefaultPrefix)
			for _, secret := range []string{it.Secret, body[:len(body)-8], token.Hash(it.Secret)} {
				if strings.Contains(m.Subject, secret) || strings.Contains(m.Body, secret) {
					t.Errorf("the mail holds the secret or its hash:\n%s\n%s", m.Subject, m.Body)
				}
			}
		})
	}
}

// The owner of a repository cannot be made a collaborator of it, whoever
// asks: the owner in a browser session, or the system (the command line
// used to write the owner as a read collaborator: `gatehouse admin repo
// collaborator alice/x alice`).
func TestOwnerIsNoCollaborator(t *testing.T) {
	ctx := context.Background()
	s, db := newService(t)
	alice := mustUser(t, s, NewUser{Login: "alice", Email: "alice@example.com"})
	r, err := s.CreateRepo(ctx, system, NewRepo{Owner: "alice", Name: "x"})
	if err != nil {
		t.Fatal(err)
	}
	for name, actor := range map[string]*gatehouse.Actor{
		"system": system,
		"owner":  session(alice, "192.0.2.10"),
	} {
		for _, p := range []gatehouse.Permission{gatehouse.PermRead, gatehouse.PermWrite, gatehouse.PermAdmin} {
			_, err := s.SetCollaborator(ctx, actor, r, "alice", p)
			var e *gatehouse.Error
			if !errors.As(err, &e) || e.Kind != gatehouse.Invalid || e.Msg != "Repository owner cannot be a collaborator" {
				t.Errorf("SetCollaborator(owner, %v) as %s: %v, want Invalid %q", p, name, err, "Repository owner cannot be a collaborator")
			}
		}
	}
	if p, err := db.Collaborator(ctx, r.ID, alice.ID); err != nil || p != gatehouse.PermNone {
		t.Errorf("the owner's stored grant: %v, %v; want none", p, err)
	}
	collabs, err := s.ListCollaborators(ctx, system, r)
	if err != nil || len(collabs) != 1 || collabs[0].User.ID != alice.ID || collabs[0].Permission != gatehouse.PermAdmin {
		t.Errorf("ListCollaborators = %+v, %v; want the owner alone, as admin", collabs, err)
	}
	// Anyone else can be granted, by either.
	mustUser(t, s, NewUser{Login: "bob", Email: "bob@example.com"})
	if _, err := s.SetCollaborator(ctx, system, r, "bob", gatehouse.PermRead); err != nil {
		t.Errorf("the system granting bob: %v", err)
	}
	if _, err := s.SetCollaborator(ctx, session(alice, ""), r, "bob", gatehouse.PermWrite); err != nil {
		t.Errorf("the owner granting bob: %v", err)
	}
}

// A description is at most 350 characters (not bytes), on creation and on
// change alike.
func TestRepoDescriptionLimit(t *testing.T) {
	ctx := context.Background()
	s, db := newService(t)
	alice := mustUser(t, s, NewUser{Login: "alice", Email: "alice@example.com"})
	owner := session(alice, "")
	invalidDescription := func(t *testing.T, what string, err error) {
		t.Helper()
		var e *gatehouse.Error
		if !errors.As(err, &e) || e.Kind != gatehouse.Invalid || e.Field != "description" {
			t.Errorf("%s: %v, want Invalid on field description", what, err)
		}
	}
	for _, ch := range []string{"d", "é", "字"} {
		ok, long := strings.Repeat(ch, MaxDescription), strings.Repeat(ch, MaxDescription+1)
		name := "r" + strings.Repeat("x", len(ch))
		_, err := s.CreateRepo(ctx, owner, NewRepo{Owner: "alice", Name: name, Description: long})
		invalidDescription(t, "CreateRepo with 351 × "+ch, err)
		if _, err := db.FindRepo(ctx, "alice", name); !gatehouse.IsKind(err, gatehouse.NotFound) {
			t.Errorf("a refused repository was created: %v", err)
		}
		r, err := s.CreateRepo(ctx, owner, NewRepo{Owner: "alice", Name: name, Description: ok})
		if err != nil || r.Description != ok {
			t.Fatalf("CreateRepo with 350 × %s: %v", ch, err)
		}
		invalidDescription(t, "UpdateRepo with 351 × "+ch, s.UpdateRepo(ctx, owner, r, RepoChange{Description: &long}))
		if stored, err := db.FindRepo(ctx, "alice", name); err != nil || stored.Description != ok || r.Description != ok {
			t.Errorf("a refused change was applied: %+v, %v", stored, err)
		}
		short := ok[:len(ch)]
		if err := s.UpdateRepo(ctx, owner, r, RepoChange{Description: &short}); err != nil {
			t.Fatal(err)
		}
		if err := s.UpdateRepo(ctx, owner, r, RepoChange{Description: &ok}); err != nil || r.Description != ok {
			t.Errorf("UpdateRepo with 350 × %s: %v", ch, err)
		}
		if stored, err := db.FindRepo(ctx, "alice", name); err != nil || stored.Description != ok {
			t.Errorf("stored description after UpdateRepo: %+v, %v", stored, err)
		}
	}
}

// In private mode anonymous callers see nothing, not even public
// repositories, and are asked to sign in; signed-in users still see them.
func TestPrivateMode(t *testing.T) {
	ctx := context.Background()
	for _, private := range []bool{false, true} {
		s, _ := newService(t, func(c *Config) { c.PrivateMode = private })
		if s.PrivateMode() != private {
			t.Fatalf("PrivateMode() = %v, want %v", s.PrivateMode(), private)
		}
		alice := mustUser(t, s, NewUser{Login: "alice", Email: "alice@example.com"})
		bob := mustUser(t, s, NewUser{Login: "bob", Email: "bob@example.com"})
		if _, err := s.CreateRepo(ctx, system, NewRepo{Owner: "alice", Name: "public"}); err != nil {
			t.Fatal(err)
		}
		check := func(who string, actor *gatehouse.Actor, wantSee bool) {
			t.Helper()
			ok := func(what string, err error) {
				t.Helper()
				switch {
				case wantSee && err != nil:
					t.Errorf("private mode %v, %s: %s: %v, want success", private, who, what, err)
				case !wantSee && !gatehouse.IsKind(err, gatehouse.Unauthenticated):
					t.Errorf("private mode %v, %s: %s: %v, want Unauthenticated", private, who, what, err)
				}
			}
			_, err := s.FindUser(ctx, actor, "alice")
			ok("FindUser", err)
			repos, err := s.ListRepos(ctx, actor, alice, false, gatehouse.Page{PerPage: 100})
			ok("ListRepos", err)
			if wantSee && (len(repos) != 1 || repos[0].Name != "public") {
				t.Errorf("private mode %v, %s: ListRepos = %v", private, who, repos)
			}
			_, _, err = s.Repo(ctx, actor, "alice", "public", authz.Read)
			ok("Repo(read)", err)
		}
		check("anonymous", gatehouse.AnonymousActor("192.0.2.1"), !private)
		check("nil actor", nil, !private)
		check("bob in a browser", session(bob, "192.0.2.2"), true)
		check("the system", system, true)
	}
}

// Listings show exactly what the pages would: a site admin gains nothing
// on other people's private repositories; the owner sees all of theirs;
// a collaborator sees the ones they collaborate on.
func TestListReposVisibility(t *testing.T) {
	ctx := context.Background()
	s, _ := newService(t)
	alice := mustUser(t, s, NewUser{Login: "alice", Email: "alice@example.com"})
	bob := mustUser(t, s, NewUser{Login: "bob", Email: "bob@example.com"})
	admin := mustUser(t, s, NewUser{Login: "root", Email: "root@example.com", SiteAdmin: true})
	for _, nr := range []NewRepo{
		{Owner: "alice", Name: "open"},
		{Owner: "alice", Name: "secret", Private: true},
		{Owner: "alice", Name: "shared", Private: true},
	} {
		if _, err := s.CreateRepo(ctx, system, nr); err != nil {
			t.Fatal(err)
		}
	}
	shared, _, err := s.Repo(ctx, system, "alice", "shared", authz.Read)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.SetCollaborator(ctx, session(alice, ""), shared, "bob", gatehouse.PermRead); err != nil {
		t.Fatal(err)
	}
	names := func(actor *gatehouse.Actor) []string {
		t.Helper()
		repos, err := s.ListRepos(ctx, actor, alice, false, gatehouse.Page{PerPage: 100})
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, r := range repos {
			out = append(out, r.Name)
		}
		slices.Sort(out)
		return out
	}
	for _, c := range []struct {
		who   string
		actor *gatehouse.Actor
		want  []string
	}{
		{"a site admin", session(admin, ""), []string{"open"}},
		{"the owner", session(alice, ""), []string{"open", "secret", "shared"}},
		{"a collaborator", session(bob, ""), []string{"open", "shared"}},
		{"anonymous", gatehouse.AnonymousActor("192.0.2.1"), []string{"open"}},
		{"the system", system, []string{"open", "secret", "shared"}},
	} {
		if got := names(c.actor); !slices.Equal(got, c.want) {
			t.Errorf("ListRepos(alice) for %s = %v, want %v", c.who, got, c.want)
		}
	}
	// What a listing hides, the repository itself refuses.
	if _, _, err := s.Repo(ctx, session(admin, ""), "alice", "secret", authz.Read); !gatehouse.IsKind(err, gatehouse.NotFound) {
		t.Errorf("a site admin reading alice/secret: %v, want NotFound", err)
	}
}

// TestLengthsCountCharacters checks that the limits the messages state in
// characters count characters, not bytes: a Japanese note or name of the
// stated length is accepted, one more is refused.
func TestLengthsCountCharacters(t *testing.T) {
	ctx := context.Background()
	s, _ := newService(t)
	u := mustUser(t, s, NewUser{Login: "hanako", Email: "h@example.com"})
	if _, err := s.CreateToken(ctx, system, NewToken{UserID: u.ID, Note: strings.Repeat("字", 200), Expires: "7d"}); err != nil {
		t.Fatalf("a 200-character note: %v", err)
	}
	if _, err := s.CreateToken(ctx, system, NewToken{UserID: u.ID, Note: strings.Repeat("字", 201), Expires: "7d"}); !isField(err, "note") {
		t.Fatalf("a 201-character note: %v", err)
	}
	me := session(u, "192.0.2.1")
	if _, err := s.UpdateProfile(ctx, me, u.ID, strings.Repeat("花", 100), u.Email, "ja"); err != nil {
		t.Fatalf("a 100-character name: %v", err)
	}
	if _, err := s.UpdateProfile(ctx, me, u.ID, strings.Repeat("花", 101), u.Email, "ja"); !isField(err, "name") {
		t.Fatalf("a 101-character name: %v", err)
	}
	if _, err := s.FindToken(ctx, gatehouse.AnonymousActor("192.0.2.9"), 1); !gatehouse.IsKind(err, gatehouse.Unauthenticated) {
		t.Fatalf("an anonymous token lookup must not reveal whether the id exists: %v", err)
	}
}

func isField(err error, field string) bool {
	var ge *gatehouse.Error
	return errors.As(err, &ge) && ge.Kind == gatehouse.Invalid && ge.Field == field
}

// TestSetupLinkEndsWithFirstAccount is the regression for the setup link
// outliving setup: accounts made from the command line after the link was
// printed end setup, and the link can no longer make a site admin, now or
// after a restart (PrepareSetup runs at every start).
func TestSetupLinkEndsWithFirstAccount(t *testing.T) {
	ctx := context.Background()
	s, db := newService(t)
	code, err := s.PrepareSetup(ctx)
	if err != nil || code == "" {
		t.Fatalf("PrepareSetup = %q, %v", code, err)
	}
	mustUser(t, s, NewUser{Login: "cli", Email: "cli@example.com"})
	if s.CheckSetup(ctx, code) {
		t.Fatal("the setup form must not open once an account exists")
	}
	_, err = s.CompleteSetup(ctx, gatehouse.AnonymousActor("192.0.2.1"), code, NewUser{Login: "intruder", Email: "i@example.com", Password: "long enough"})
	if !gatehouse.IsKind(err, gatehouse.Forbidden) {
		t.Fatalf("setup after an account exists: %v", err)
	}
	if again, err := s.PrepareSetup(ctx); again != "" || err != nil {
		t.Fatalf("a restart must print no link: %q, %v", again, err)
	}
	if _, err := db.Setting(ctx, "setup_code_sha256"); !gatehouse.IsKind(err, gatehouse.NotFound) {
		t.Fatalf("the setup code must be deleted: %v", err)
	}
	if u, err := db.FindUserByLogin(ctx, "intruder"); err == nil {
		t.Fatalf("setup made %+v", u)
	}
}

// TestReportLeakedTokens covers GitHub's revocation endpoint as a use
// case: anyone may report; live tokens of this instance are revoked,
// recorded and their owners told; nothing says which were live; the cost
// is bounded.
func TestReportLeakedTokens(t *testing.T) {
	ctx := context.Background()
	mb := &mailbox{}
	s, db := newService(t, withMailer(mb))
	u := mustUser(t, s, NewUser{Login: "leaky", Email: "leaky@example.com"})
	live, err := s.CreateToken(ctx, system, NewToken{UserID: u.ID, Note: "ci", Expires: "never"})
	if err != nil {
		t.Fatal(err)
	}
	other, _ := token.Generate(token.DefaultPrefix) // well-formed, unknown
	reporter := gatehouse.AnonymousActor("203.0.113.7")
	if err := s.ReportLeakedTokens(ctx, reporter, []string{"garbage", other, live.Secret, live.Secret}); err != nil {
		t.Fatal(err)
	}
	if _, err := db.FindTokenByID(ctx, live.Token.ID); !gatehouse.IsKind(err, gatehouse.NotFound) {
		t.Fatalf("the reported token still exists: %v", err)
	}
	msgs := mb.take()
	if len(msgs) != 1 || !strings.Contains(msgs[0].Subject, "reported as exposed") || strings.Contains(msgs[0].Body, live.Secret) {
		t.Fatalf("owner mail: %+v", msgs)
	}
	events, _ := db.ListAuditEvents(ctx, gatehouse.AuditFilter{UserID: u.ID}, gatehouse.Page{})
	found := false
	for _, e := range events {
		if e.Action == gatehouse.AuditTokenLeaked {
			found = e.IP == "203.0.113.7" && e.TokenID == live.Token.ID && !strings.Contains(e.Detail, live.Secret)
		}
	}
	if !found {
		t.Fatalf("no leaked event under the reporter's address: %+v", events)
	}
	if err := s.ReportLeakedTokens(ctx, reporter, make([]string, MaxReported+1)); !gatehouse.IsKind(err, gatehouse.Invalid) {
		t.Fatalf("more than %d credentials: %v", MaxReported, err)
	}
	n := 1
	for ; n < 1000; n++ {
		if err := s.ReportLeakedTokens(ctx, reporter, nil); err != nil {
			if !errors.Is(err, ErrBusy) {
				t.Fatal(err)
			}
			break
		}
	}
	if n != reportsPerHour {
		t.Fatalf("report %d refused; want the limit at %d per hour", n+1, reportsPerHour)
	}
	if err := s.ReportLeakedTokens(ctx, gatehouse.AnonymousActor("198.51.100.1"), nil); err != nil {
		t.Fatalf("another client: %v", err)
	}
}

// TestCachedActorFollowsProfileChanges is the regression for a token that
// was already used keeping a stale copy of its user: after the e-mail
// address changed, GET /user/emails still answered the old one.
func TestCachedActorFollowsProfileChanges(t *testing.T) {
	ctx := context.Background()
	s, _ := newService(t)
	u := mustUser(t, s, NewUser{Login: "cache", Email: "old@example.com"})
	it, err := s.CreateToken(ctx, system, NewToken{UserID: u.ID, Note: "t", Scopes: []string{"user"}, Expires: "never"})
	if err != nil {
		t.Fatal(err)
	}
	cred := gatehouse.Credential{Kind: gatehouse.TokenCredential, Secret: it.Secret, IP: "192.0.2.1"}
	a, err := s.Authenticate(ctx, cred)
	if err != nil || a.User.Email != "old@example.com" {
		t.Fatalf("first use: %+v, %v", a, err)
	}
	if _, err := s.UpdateProfile(ctx, a, u.ID, "", "new@example.com", ""); err != nil {
		t.Fatal(err)
	}
	a, err = s.Authenticate(ctx, cred)
	if err != nil || a.User.Email != "new@example.com" {
		t.Fatalf("after the change the cached actor says %q (%v)", a.User.Email, err)
	}
}

// TestSmallerHardening covers three refusals of the hardening review: a
// non-admin cannot mint a site_admin token (creating or editing), a note
// with control characters is refused before it reaches a terminal, and
// repository names made of dots or dashes only, or ending in a dot, are
// refused.
func TestSmallerHardening(t *testing.T) {
	ctx := context.Background()
	s, _ := newService(t)
	u := mustUser(t, s, NewUser{Login: "plain", Email: "p@example.com"})
	admin := mustUser(t, s, NewUser{Login: "boss", Email: "b@example.com", SiteAdmin: true})
	if _, err := s.CreateToken(ctx, system, NewToken{UserID: u.ID, Note: "x", Scopes: []string{"site_admin"}}); !isField(err, "scopes") {
		t.Fatalf("a non-admin's site_admin token: %v", err)
	}
	if _, err := s.CreateToken(ctx, system, NewToken{UserID: admin.ID, Note: "x", Scopes: []string{"site_admin"}}); err != nil {
		t.Fatalf("an admin's site_admin token: %v", err)
	}
	it, err := s.CreateToken(ctx, system, NewToken{UserID: u.ID, Note: "y", Scopes: []string{"repo"}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.UpdateToken(ctx, session(u, ""), it.Token.ID, "y", []string{"repo", "site_admin"}); !isField(err, "scopes") {
		t.Fatalf("widening to site_admin: %v", err)
	}
	for _, note := range []string{"evil\x1b[2J", "tab\there", "bell\a", "nul\x00"} {
		if _, err := s.CreateToken(ctx, system, NewToken{UserID: u.ID, Note: note}); !isField(err, "note") {
			t.Errorf("note %q: %v", note, err)
		}
	}
	for _, name := range []string{"...", "---", "-.-", "_", "trailing.", "a..", "x.git"} {
		if _, err := s.CreateRepo(ctx, system, NewRepo{Owner: "plain", Name: name}); !isField(err, "name") {
			t.Errorf("repository name %q: %v", name, err)
		}
	}
	for _, name := range []string{".github", "a.b", "dot.in.middle", "-x", "x_"} {
		if _, err := s.CreateRepo(ctx, system, NewRepo{Owner: "plain", Name: name}); err != nil {
			t.Errorf("repository name %q: %v", name, err)
		}
	}
}
