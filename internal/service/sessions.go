package service

import (
	"context"

	"github.com/gatehouse/gatehouse"
)

// Browser sessions. The web UI makes the secrets and cookies; the service
// keeps the rows, so that a suspension ends them and nothing else writes
// them.

// StartSession stores a new session for a user who just signed in (see
// SignIn and CompleteSetup), first removing the session the browser
// brought along (replaces, "" for none), so that a planted cookie cannot
// be promoted. Errors: NotFound (no such user).
func (s *Service) StartSession(ctx context.Context, sess *gatehouse.Session, replaces string) error {
	if replaces != "" {
		if err := s.sessions.DeleteSession(ctx, replaces); err != nil {
			s.log.Warn("removing the replaced session failed", "err", err)
		}
	}
	return s.sessions.CreateSession(ctx, sess)
}

// Session returns the live session with the given ID and its user. A
// session that is gone, expired, or of a suspended user (whose sessions
// are then removed) is NotFound.
func (s *Service) Session(ctx context.Context, id string) (*gatehouse.Session, *gatehouse.User, error) {
	sess, err := s.sessions.FindSession(ctx, id)
	if err != nil {
		return nil, nil, err
	}
	u, err := s.store.FindUserByID(ctx, sess.UserID)
	if err != nil {
		return nil, nil, err
	}
	if u.Suspended {
		if _, err := s.sessions.DeleteUserSessions(ctx, u.ID); err != nil {
			return nil, nil, err
		}
		return nil, nil, gatehouse.E("load session", gatehouse.NotFound, "account suspended")
	}
	return sess, u, nil
}

// ownSession refuses a session that is not the actor's.
func ownSession(actor *gatehouse.Actor, sess *gatehouse.Session) error {
	if actor.UserID() == 0 || sess.UserID != actor.UserID() {
		return gatehouse.E("session", gatehouse.NotFound, "session not found")
	}
	return nil
}

// SaveSession saves the actor's session (sudo mode, flash, last seen).
// Errors: NotFound.
func (s *Service) SaveSession(ctx context.Context, actor *gatehouse.Actor, sess *gatehouse.Session) error {
	if err := ownSession(actor, sess); err != nil {
		return err
	}
	return s.sessions.UpdateSession(ctx, sess)
}

// TakeFlash returns the flash of the actor's session and clears it in one
// step. Errors: NotFound.
func (s *Service) TakeFlash(ctx context.Context, actor *gatehouse.Actor, sess *gatehouse.Session) ([]byte, error) {
	if err := ownSession(actor, sess); err != nil {
		return nil, err
	}
	return s.sessions.TakeFlash(ctx, sess.ID)
}

// EndSession signs the actor's session out.
func (s *Service) EndSession(ctx context.Context, actor *gatehouse.Actor, sess *gatehouse.Session) error {
	if err := ownSession(actor, sess); err != nil {
		return err
	}
	return s.sessions.DeleteSession(ctx, sess.ID)
}
