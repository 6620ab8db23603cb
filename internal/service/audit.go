package service

import (
	"context"
	"net/netip"
	"strings"
	"sync"
	"time"

	"github.com/gatehouse/gatehouse"
)

// Origin says who makes a change and from which address, for the audit
// log. The transports attach it to the request context with WithOrigin;
// a change made without one is the system's (the command line), which is
// how an administrator revoking from the shell is recorded.
type Origin struct {
	ActorID int64
	IP      string
}

type originKey struct{}

// WithOrigin returns a context carrying o.
func WithOrigin(ctx context.Context, o Origin) context.Context {
	return context.WithValue(ctx, originKey{}, o)
}

func originOf(ctx context.Context) Origin {
	o, _ := ctx.Value(originKey{}).(Origin)
	return o
}

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

// RecordEvent appends e to the audit log, taking the actor and address
// from ctx's Origin when e has none, and At from the service's clock. The
// audit log never stops the change it describes: a failure to record is
// logged, not returned. It does nothing when the service has no Audit store.
func (s *Service) RecordEvent(ctx context.Context, e gatehouse.AuditEvent) {
	if s.Audit == nil {
		return
	}
	o := originOf(ctx)
	if e.ActorID == 0 {
		e.ActorID = o.ActorID
	}
	if e.IP == "" {
		e.IP = o.IP
	}
	if e.At.IsZero() {
		e.At = s.now()
	}
	// The change is made; a client hanging up must not lose its record.
	if err := s.Audit.RecordAuditEvent(context.WithoutCancel(ctx), &e); err != nil {
		s.log().Error("recording an audit event failed", "action", string(e.Action), "user_id", e.UserID, "token_id", e.TokenID, "err", err)
	}
}

// recordToken records an event about t.
func (s *Service) recordToken(ctx context.Context, action gatehouse.AuditAction, t *gatehouse.Token, extra string) {
	d := tokenDetail(t)
	if extra != "" {
		d += " " + extra
	}
	s.RecordEvent(ctx, gatehouse.AuditEvent{Action: action, UserID: t.UserID, TokenID: t.ID, Note: t.Note, Detail: d})
}

// tokenDetail names a token without its secret: the last eight characters
// (as GitHub's token_last_eight), scopes and expiry, as key=value pairs
// that read the same in every language.
func tokenDetail(t *gatehouse.Token) string {
	var b strings.Builder
	b.WriteString("last_eight=" + t.LastEight)
	scopes := strings.Join(t.Scopes, ",")
	if scopes == "" {
		scopes = "none"
	}
	b.WriteString(" scopes=" + scopes)
	if t.ExpiresAt.IsZero() {
		b.WriteString(" expires=never")
	} else {
		b.WriteString(" expires=" + t.ExpiresAt.UTC().Format("2006-01-02T15:04Z"))
	}
	return b.String()
}

// revokeAction tells a deletion by the token's owner from a revocation by
// anyone else: a site admin on the web or the API, or the command line.
func revokeAction(ctx context.Context, t *gatehouse.Token) gatehouse.AuditAction {
	if originOf(ctx).ActorID == t.UserID {
		return gatehouse.AuditTokenDelete
	}
	return gatehouse.AuditTokenAdminRevoke
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
	if s.Audit == nil || !s.failures.allow(f.IP, s.now()) {
		return
	}
	s.RecordEvent(ctx, gatehouse.AuditEvent{Action: gatehouse.AuditAuthFailure, ActorID: 0, UserID: f.UserID,
		TokenID: f.TokenID, Note: f.Note, Detail: f.Reason, IP: f.IP})
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
	key := clientKey(ip)
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

// clientKey is the address a failure counts against: the address itself,
// or its /64 for IPv6.
func clientKey(ip string) string {
	a, err := netip.ParseAddr(ip)
	if err != nil {
		return ip
	}
	a = a.Unmap()
	if a.Is6() {
		p, _ := a.Prefix(64)
		return p.String()
	}
	return a.String()
}
