package service

import (
	"context"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/gatehouse/gatehouse"
	"github.com/gatehouse/gatehouse/internal/auth"
	"github.com/gatehouse/gatehouse/internal/authz"
)

// Reasons recorded in the Detail of a failed authentication. The web UI
// translates them; anything else it shows as it is.
const (
	ReasonUnknownToken  = "unknown or revoked token"
	ReasonExpiredToken  = "expired token"
	ReasonMalformed     = "malformed token"
	ReasonPassword      = "wrong password"
	ReasonSudoPassword  = "wrong password at the sudo prompt"
	failureInterval     = time.Minute
	failureLimitClients = 10000
)

// record appends e to the audit log, naming the actor (its user and
// address) when e names none, and At from the service's clock. The audit
// log never stops the change it describes: a failure to record is logged,
// not returned.
func (s *Service) record(ctx context.Context, actor *gatehouse.Actor, e gatehouse.AuditEvent) {
	if e.ActorID == 0 {
		e.ActorID = actor.UserID()
	}
	if e.IP == "" {
		e.IP = actor.ClientIP()
	}
	if e.At.IsZero() {
		e.At = s.now()
	}
	// The change is made; a client hanging up must not lose its record.
	if err := s.audit.RecordAuditEvent(context.WithoutCancel(ctx), &e); err != nil {
		s.log.Error("recording an audit event failed", "action", string(e.Action), "user_id", e.UserID, "token_id", e.TokenID, "err", err)
	}
}

// recordToken records an event about t.
func (s *Service) recordToken(ctx context.Context, actor *gatehouse.Actor, action gatehouse.AuditAction, t *gatehouse.Token, extra string) {
	d := tokenDetail(t)
	if extra != "" {
		d += " " + extra
	}
	s.record(ctx, actor, gatehouse.AuditEvent{Action: action, UserID: t.UserID, TokenID: t.ID, Note: t.Note, Detail: d})
}

// tokenDetail names a token without its secret: the last eight characters
// (as GitHub's token_last_eight), scopes and expiry, as key=value pairs
// that read the same in every language.
func tokenDetail(t *gatehouse.Token) string {
	var b strings.Builder
	b.WriteString("last_eight=" + t.LastEight)
	if t.FineGrained() {
		perms := authz.Perms(t).String()
		b.WriteString(" kind=fine_grained repos=" + string(t.Repos) + " permissions=" + perms)
	} else {
		scopes := strings.Join(t.Scopes, ",")
		if scopes == "" {
			scopes = "none"
		}
		b.WriteString(" scopes=" + scopes)
	}
	if t.ExpiresAt.IsZero() {
		b.WriteString(" expires=never")
	} else {
		b.WriteString(" expires=" + t.ExpiresAt.UTC().Format("2006-01-02T15:04Z"))
	}
	return b.String()
}

// AuditEntry is an audit event with the logins it names resolved ("" for
// none, "#ID" for a deleted account).
type AuditEntry struct {
	*gatehouse.AuditEvent
	User, Actor string
}

// AuditLog returns a page of the audit events of userID (0: the whole
// instance), newest first, and whether an older page exists. A user reads
// their own security log; site administration reads everyone's.
// Errors: NotFound (not allowed), Unauthenticated.
func (s *Service) AuditLog(ctx context.Context, actor *gatehouse.Actor, userID int64, page gatehouse.Page) ([]AuditEntry, bool, error) {
	if err := authz.ViewAuditLog(actor, userID); err != nil {
		return nil, false, err
	}
	f := gatehouse.AuditFilter{UserID: userID}
	events, err := s.audit.ListAuditEvents(ctx, f, page)
	if err != nil {
		return nil, false, err
	}
	more := false
	if n := page.Limit(); len(events) == n && page.Page < gatehouse.MaxPage {
		// One row past this page says whether there is another.
		next, err := s.audit.ListAuditEvents(ctx, f, gatehouse.Page{Page: max(page.Page, 1)*n + 1, PerPage: 1})
		if err != nil {
			return nil, false, err
		}
		more = len(next) > 0
	}
	logins := map[int64]string{0: ""}
	login := func(id int64) (string, error) {
		if l, ok := logins[id]; ok {
			return l, nil
		}
		u, err := s.store.FindUserByID(ctx, id)
		switch {
		case gatehouse.IsKind(err, gatehouse.NotFound):
			logins[id] = "#" + strconv.FormatInt(id, 10)
		case err != nil:
			return "", err
		default:
			logins[id] = u.Login
		}
		return logins[id], nil
	}
	out := make([]AuditEntry, 0, len(events))
	for _, e := range events {
		entry := AuditEntry{AuditEvent: e}
		if entry.User, err = login(e.UserID); err != nil {
			return nil, false, err
		}
		if entry.Actor, err = login(e.ActorID); err != nil {
			return nil, false, err
		}
		out = append(out, entry)
	}
	return out, more, nil
}

// AuthFailure is a failed authentication: a bad, expired or malformed
// token on Git or the API, or a wrong password on the web.
type AuthFailure struct {
	IP string
	// UserID and TokenID name the account or token presented, when known
	// (an expired token, an existing login); the event then shows in that
	// user's security log.
	UserID, TokenID int64
	Note            string // the token's note, when known
	Reason          string // one of the Reason constants
}

// RecordAuthFailure records f in the audit log, at most once per client
// address per minute (IPv6 addresses counted by /64, what one client
// usually holds), so that a client guessing in a loop costs a map lookup
// and not a row. Later failures within the minute are dropped, not
// queued; the authenticator's throttle, not this, stops the guessing.
func (s *Service) RecordAuthFailure(ctx context.Context, f AuthFailure) {
	if !s.failures.allow(f.IP, s.now()) {
		return
	}
	s.record(ctx, nil, gatehouse.AuditEvent{Action: gatehouse.AuditAuthFailure, ActorID: 0, UserID: f.UserID,
		TokenID: f.TokenID, Note: f.Note, Detail: f.Reason, IP: f.IP})
}

// recordTokenFailure describes a refused token for the audit log: the
// token, when it exists, by id and note only.
func (s *Service) recordTokenFailure(ctx context.Context, f auth.Failure) {
	af := AuthFailure{IP: f.IP, Reason: ReasonUnknownToken}
	switch {
	case f.Malformed:
		af.Reason = ReasonMalformed
	case f.Token != nil:
		af.Reason = ReasonExpiredToken
		af.UserID, af.TokenID, af.Note = f.Token.UserID, f.Token.ID, f.Token.Note
	}
	s.RecordAuthFailure(ctx, af)
}

// failureLimiter remembers when each client address last had a failure
// recorded. Its zero value is ready. Memory is bounded: when full, it
// drops entries older than the interval, and if all are recent it
// records nothing more until they age, which bounds the rows written per
// minute even for an attacker with many addresses.
type failureLimiter struct {
	mu   sync.Mutex
	last map[string]time.Time
}

func (l *failureLimiter) allow(ip string, now time.Time) bool {
	key := auth.ClientKey(ip)
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.last == nil {
		l.last = make(map[string]time.Time)
	}
	if t, ok := l.last[key]; ok && now.Sub(t) < failureInterval && !now.Before(t) {
		return false
	}
	if _, ok := l.last[key]; !ok && len(l.last) >= failureLimitClients {
		for k, t := range l.last {
			if now.Sub(t) >= failureInterval {
				delete(l.last, k)
			}
		}
		if len(l.last) >= failureLimitClients {
			return false
		}
	}
	l.last[key] = now
	return true
}
