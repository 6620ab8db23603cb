package service

import (
	"context"
	"fmt"

	"github.com/gatehouse/gatehouse"
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
	pusher := l.Pusher
	if pusher == "" {
		pusher = "an unknown user"
	}
	commit := l.Commit
	if len(commit) > 12 {
		commit = commit[:12]
	}
	return fmt.Sprintf("repo %s, commit %s, %s, pushed by %s", l.Repo, commit, l.Location, pusher)
}
