package service

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/gatehouse/gatehouse"
	"github.com/gatehouse/gatehouse/internal/auth"
	"github.com/gatehouse/gatehouse/internal/notify"
	"github.com/gatehouse/gatehouse/internal/token"
)

// LiveToken returns the live token of this instance whose secret is
// secret, and its owner, for push protection (the system only). A token
// the store does not know — another instance's, a deleted one, a string
// that merely has a valid checksum — or an expired one is NotFound.
func (s *Service) LiveToken(ctx context.Context, actor *gatehouse.Actor, secret string) (*gatehouse.Token, *gatehouse.User, error) {
	const op = "find leaked token"
	if !actor.IsSystem() {
		return nil, nil, gatehouse.E(op, gatehouse.Forbidden, "only push protection looks tokens up by their secret")
	}
	t, err := s.store.FindTokenByHash(ctx, token.Hash(secret))
	if err != nil {
		return nil, nil, err
	}
	if t.Expired(s.now()) {
		return nil, nil, gatehouse.E(op, gatehouse.NotFound, "token expired")
	}
	owner, err := s.store.FindUserByID(ctx, t.UserID)
	if err != nil {
		return nil, nil, err
	}
	return t, owner, nil
}

// LeakOutcome is what RevokeLeakedToken did besides revoking.
type LeakOutcome struct {
	// Notified is set once the owner was sent an e-mail.
	Notified bool
	// MailFailed is set when sending that e-mail failed.
	MailFailed bool
}

// RevokeLeakedToken revokes t, which push protection found in a push
// (the system only), records personal_access_token.leaked in the audit
// log under the pusher, and e-mails the owner in their language. Only the
// revocation can fail the call; the token is dead whatever the mail does.
// A token already gone is no error.
func (s *Service) RevokeLeakedToken(ctx context.Context, actor *gatehouse.Actor, t *gatehouse.Token, owner *gatehouse.User, leak gatehouse.TokenLeak) (LeakOutcome, error) {
	var out LeakOutcome
	if !actor.IsSystem() {
		return out, gatehouse.E("revoke leaked token", gatehouse.Forbidden, "only push protection revokes leaked tokens")
	}
	if err := s.store.DeleteToken(ctx, t.ID); err != nil && !gatehouse.IsKind(err, gatehouse.NotFound) {
		return out, fmt.Errorf("revoke token %d: %w", t.ID, err)
	}
	s.forget(t.ID, t.UserID)
	s.record(ctx, actor, gatehouse.AuditEvent{Action: gatehouse.AuditTokenLeaked, ActorID: leak.PusherID, UserID: t.UserID,
		TokenID: t.ID, Note: t.Note, Detail: leakDetail(leak), IP: leak.IP})
	if owner.Email != "" {
		if err := s.mailer.Send(ctx, notify.LeakMessage(owner, t, leak, s.externalURL)); err != nil {
			s.log.Warn("e-mailing the owner of a leaked token failed", "user", owner.Login, "token_id", t.ID, "err", err)
			out.MailFailed = true
		} else {
			out.Notified = true
		}
	}
	return out, nil
}

// leakDetail is the audit log's description of where a token was found.
func leakDetail(l gatehouse.TokenLeak) string {
	if l.Repo == "" {
		return l.Location
	}
	pusher := l.Pusher
	if pusher == "" {
		pusher = "an unknown user"
	}
	commit := l.Commit
	if len(commit) > 12 {
		commit = commit[:12]
	}
	if commit == "" {
		// An object no pushed ref reaches: the location names it.
		return fmt.Sprintf("repo %s, %s, pushed by %s", l.Repo, l.Location, pusher)
	}
	return fmt.Sprintf("repo %s, commit %s, %s, pushed by %s", l.Repo, commit, l.Location, pusher)
}

// MaxReported is how many credentials one report may list, as GitHub's
// POST /credentials/revoke.
const MaxReported = 1000

// reportsPerHour bounds the reports one client may make.
const reportsPerHour = 60

// ReportLeakedTokens revokes every live token of this instance among
// secrets, for anyone who found them exposed (GitHub's
// POST /credentials/revoke: no authentication). Each is recorded as leaked
// under the reporting address and its owner e-mailed. The caller learns
// nothing of which were live: the answer is the same whatever they are.
// Cost is bounded: at most MaxReported per report, malformed strings
// refused before any lookup, and reportsPerHour reports per client.
// Errors: Invalid (too many), Unavailable (ErrBusy: the client reported
// too often).
func (s *Service) ReportLeakedTokens(ctx context.Context, actor *gatehouse.Actor, secrets []string) error {
	const op = "report leaked tokens"
	if len(secrets) > MaxReported {
		return &gatehouse.Error{Op: op, Kind: gatehouse.Invalid, Field: "credentials",
			Msg: fmt.Sprintf("at most %d credentials per request", MaxReported)}
	}
	if !s.reports.allow(actor.ClientIP(), s.now()) {
		return &gatehouse.Error{Op: op, Kind: gatehouse.Unavailable, Msg: "Too many reports from your network; try again later.", Err: ErrBusy}
	}
	seen := map[string]bool{}
	for _, secret := range secrets {
		if seen[secret] || token.Parse(secret) != nil {
			continue // a malformed string costs no lookup
		}
		seen[secret] = true
		t, err := s.store.FindTokenByHash(ctx, token.Hash(secret))
		if gatehouse.IsKind(err, gatehouse.NotFound) {
			continue
		}
		if err != nil {
			return err
		}
		if t.Expired(s.now()) {
			continue
		}
		owner, err := s.store.FindUserByID(ctx, t.UserID)
		if err != nil {
			return err
		}
		leak := gatehouse.TokenLeak{Location: "a report to the revocation endpoint", IP: actor.ClientIP()}
		if _, err := s.RevokeLeakedToken(ctx, gatehouse.SystemActor(), t, owner, leak); err != nil {
			return err
		}
	}
	return nil
}

// reportLimiter counts reports per client (an address, or an IPv6 /64)
// in hourly windows. Memory is bounded: when full it forgets finished
// windows, and if all are current it refuses new clients until one ends.
type reportLimiter struct {
	mu      sync.Mutex
	clients map[string]*reportWindow
}

type reportWindow struct {
	start time.Time
	n     int
}

func (l *reportLimiter) allow(ip string, now time.Time) bool {
	key := auth.ClientKey(ip)
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.clients == nil {
		l.clients = make(map[string]*reportWindow)
	}
	w := l.clients[key]
	if w == nil || now.Sub(w.start) >= time.Hour || now.Before(w.start) {
		if w == nil && len(l.clients) >= failureLimitClients {
			for k, v := range l.clients {
				if now.Sub(v.start) >= time.Hour {
					delete(l.clients, k)
				}
			}
			if len(l.clients) >= failureLimitClients {
				return false
			}
		}
		w = &reportWindow{start: now}
		l.clients[key] = w
	}
	if w.n >= reportsPerHour {
		return false
	}
	w.n++
	return true
}
