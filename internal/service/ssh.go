package service

import (
	"context"
	"errors"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/gatehouse/gatehouse"
	"github.com/gatehouse/gatehouse/internal/authz"
	"github.com/gatehouse/gatehouse/internal/logx"
)

// The SSH transport's use cases: the credential → actor step for public
// keys, the repository decision for the actors it makes, and the end of
// sessions whose key or user stopped being valid.

// ErrUnknownKey: no user and no repository has the presented SSH key.
var ErrUnknownKey = errors.New("unknown SSH key")

// keyUseInterval is the least time between two "last used" writes for one
// key, as for tokens.
const keyUseInterval = time.Minute

// AuthenticateKey is the credential → actor step of SSH: it finds who holds
// pub, a user (an actor with User and Key set) or a repository (an actor
// with DeployKey set and no user), for a client at ip. It records nothing:
// the SSH server calls it when a key is offered, before the client proves
// it holds the private key, and KeyUsed once it has. Passwords and tokens
// never reach it. Errors: Unauthenticated (ErrUnknownKey), Forbidden
// (ErrSuspended), Unavailable, Internal.
func (s *Service) AuthenticateKey(ctx context.Context, pub ssh.PublicKey, ip string) (*gatehouse.Actor, error) {
	const op = "authenticate key"
	fp := ssh.FingerprintSHA256(pub)
	text := string(ssh.MarshalAuthorizedKey(pub))
	unknown := &gatehouse.Error{Op: op, Kind: gatehouse.Unauthenticated, Msg: ErrUnknownKey.Error(), Err: ErrUnknownKey}
	k, err := s.keys.FindKeyByFingerprint(ctx, fp)
	switch {
	case err == nil:
		if k.Key+"\n" != text {
			return nil, unknown // a fingerprint collision would end here
		}
		u, err := s.store.FindUserByID(ctx, k.UserID)
		if err != nil {
			if gatehouse.IsKind(err, gatehouse.NotFound) {
				return nil, unknown
			}
			return nil, err
		}
		if u.Suspended {
			return nil, &gatehouse.Error{Op: op, Kind: gatehouse.Forbidden, Msg: ErrSuspended.Error(), Err: ErrSuspended}
		}
		if u.IsOrg {
			return nil, unknown // nobody signs in as an organization
		}
		return &gatehouse.Actor{User: u, Key: k, IP: ip}, nil
	case !gatehouse.IsKind(err, gatehouse.NotFound):
		return nil, err
	}
	dk, err := s.keys.FindDeployKeyByFingerprint(ctx, fp)
	switch {
	case err == nil:
		if dk.Key+"\n" != text {
			return nil, unknown
		}
		return &gatehouse.Actor{DeployKey: dk, IP: ip}, nil
	case gatehouse.IsKind(err, gatehouse.NotFound):
		return nil, unknown
	}
	return nil, err
}

// KeyUsed records that the actor's SSH key was used now, once the client
// has proven it holds the private key; at most once a minute per key (the
// actor carries the time last recorded). A failure is logged, not
// returned: "last used" never stops a clone.
func (s *Service) KeyUsed(ctx context.Context, actor *gatehouse.Actor) {
	now := s.now()
	var err error
	switch {
	case actor == nil:
		return
	case actor.Key != nil:
		if now.Sub(actor.Key.LastUsedAt) < keyUseInterval {
			return
		}
		err = s.keys.TouchKey(ctx, actor.Key.ID, now)
	case actor.DeployKey != nil:
		if now.Sub(actor.DeployKey.LastUsedAt) < keyUseInterval {
			return
		}
		err = s.keys.TouchDeployKey(ctx, actor.DeployKey.ID, now)
	default:
		return
	}
	if err != nil {
		s.log.Warn("recording SSH key use failed", "err", err)
	}
}

// KeyHolder names who the actor's SSH key belongs to, for the greeting of
// ssh -T: the user's login, or the repository's full name for a deploy
// key. Errors: NotFound (the repository is gone), Internal.
func (s *Service) KeyHolder(ctx context.Context, actor *gatehouse.Actor) (string, error) {
	if actor.DeployKey != nil {
		r, err := s.store.FindRepoByID(ctx, actor.DeployKey.RepoID)
		if err != nil {
			return "", err
		}
		return r.FullName(), nil
	}
	return actor.Login(), nil
}

// SSHRepo is Repo for an actor that AuthenticateKey made, called when a git
// command starts. It first checks that the actor's key still exists and
// its user is not suspended, so that a command never runs on a key deleted
// after the handshake (WatchSessions may not have seen that session yet).
// Users then get exactly Repo's decision, the one of HTTPS; deploy keys get
// authz.DeployKeyRepo's. Errors: as Repo, and Unauthenticated
// (ErrUnknownKey) for a key deleted meanwhile, Forbidden (ErrSuspended).
func (s *Service) SSHRepo(ctx context.Context, actor *gatehouse.Actor, owner, name string, action authz.Action) (*gatehouse.Repo, error) {
	fresh, err := s.recheckKey(ctx, actor)
	if err != nil {
		return nil, err
	}
	if fresh.DeployKey == nil {
		repo, _, err := s.Repo(ctx, fresh, owner, name, action)
		return repo, err
	}
	// Until authz.Repo hands deploy-key actors to authz.DeployKeyRepo
	// itself, Repo would take them for anonymous clients; decide here.
	var repo *gatehouse.Repo
	if gatehouse.ValidLogin(owner) && gatehouse.ValidRepoName(name) {
		r, err := s.store.FindRepo(ctx, owner, name)
		switch {
		case err == nil:
			repo = r
		case !gatehouse.IsKind(err, gatehouse.NotFound):
			return nil, err
		}
	}
	if err := authz.DeployKeyRepo(fresh, repo, action); err != nil {
		return nil, err
	}
	return repo, nil
}

// RecordSSHPush is RecordPush for an actor that AuthenticateKey made.
func (s *Service) RecordSSHPush(ctx context.Context, actor *gatehouse.Actor, r *gatehouse.Repo) {
	if actor.DeployKey == nil {
		s.RecordPush(ctx, actor, r)
		return
	}
	// RecordPush re-decides with authz.Repo, which does not know deploy
	// keys yet: decide here, then record as the system (RecordPush keeps
	// no actor, only the push time and HEAD).
	if err := authz.DeployKeyRepo(actor, r, authz.Write); err != nil {
		s.log.Warn("recording push refused", "repo", r.FullName(), "err", err)
		return
	}
	s.RecordPush(ctx, gatehouse.SystemActor(), r)
}

// recheckKey reloads the actor's key and user: the actor as it stands now,
// or why it no longer stands.
func (s *Service) recheckKey(ctx context.Context, actor *gatehouse.Actor) (*gatehouse.Actor, error) {
	const op = "authenticate key"
	unknown := &gatehouse.Error{Op: op, Kind: gatehouse.Unauthenticated, Msg: ErrUnknownKey.Error(), Err: ErrUnknownKey}
	switch {
	case actor == nil:
		return nil, unknown
	case actor.Key != nil:
		k, err := s.keys.FindKey(ctx, actor.Key.ID)
		if err != nil {
			if gatehouse.IsKind(err, gatehouse.NotFound) {
				return nil, unknown
			}
			return nil, err
		}
		u, err := s.store.FindUserByID(ctx, k.UserID)
		if err != nil {
			if gatehouse.IsKind(err, gatehouse.NotFound) {
				return nil, unknown
			}
			return nil, err
		}
		if u.Suspended {
			return nil, &gatehouse.Error{Op: op, Kind: gatehouse.Forbidden, Msg: ErrSuspended.Error(), Err: ErrSuspended}
		}
		return &gatehouse.Actor{User: u, Key: k, IP: actor.IP}, nil
	case actor.DeployKey != nil:
		k, err := s.keys.FindDeployKey(ctx, actor.DeployKey.ID)
		if err != nil {
			if gatehouse.IsKind(err, gatehouse.NotFound) {
				return nil, unknown
			}
			return nil, err
		}
		return &gatehouse.Actor{DeployKey: k, IP: actor.IP}, nil
	}
	return nil, unknown
}

// SessionEnder is the SSH server's registry of open connections, through
// which WatchSessions ends those whose credential stopped being valid.
type SessionEnder interface {
	// EndSessions closes at once every open connection whose actor stale
	// reports true for, and returns how many it closed. It calls stale
	// outside its own locks: stale may read the database.
	EndSessions(stale func(*gatehouse.Actor) bool) int
}

// WatchSessions ends, until ctx is done, the SSH sessions in e whose key
// was deleted or whose user was suspended, by this process or any other
// sharing the database: every interval (default 250 ms) it reads the
// invalidation log the stores write in the transaction of each change. An
// entry naming a user (a key of theirs deleted, the account suspended or
// changed) re-checks that user's sessions; one naming no user (a deploy
// key deleted) re-checks every deploy-key session; token entries are
// another cache's business. A session whose re-check fails for any reason,
// a database error included, is ended: it may be opened again.
func (s *Service) WatchSessions(ctx context.Context, e SessionEnder, interval time.Duration) {
	if interval <= 0 {
		interval = 250 * time.Millisecond
	}
	t := time.NewTicker(interval)
	defer t.Stop()
	var seq int64
	primed := false
	failures := &logx.Failures{Log: s.log, Msg: "reading invalidations for SSH sessions failed"}
	for {
		invs, last, err := s.store.Invalidations(ctx, seq)
		if err == nil {
			failures.OK()
		}
		switch {
		case err != nil:
			if ctx.Err() == nil {
				failures.Failed(err)
			}
		case !primed:
			// Sessions opened before this point authenticated against
			// the state the log describes up to here.
			seq, primed = last, true
		default:
			seq = last
			if n := s.endStale(ctx, e, invs); n > 0 {
				s.log.Info("ended SSH sessions whose key or user is no longer valid", "sessions", n)
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// endStale re-checks the sessions that invs concern and ends the stale
// ones.
func (s *Service) endStale(ctx context.Context, e SessionEnder, invs []gatehouse.Invalidation) int {
	users := map[int64]bool{}
	for _, inv := range invs {
		if inv.TokenID == 0 {
			users[inv.UserID] = true // 0: deploy keys
		}
	}
	if len(users) == 0 {
		return 0
	}
	return e.EndSessions(func(a *gatehouse.Actor) bool {
		switch {
		case a == nil:
			return true
		case a.DeployKey != nil && !users[0]:
			return false
		case a.DeployKey == nil && !users[a.UserID()]:
			return false
		}
		_, err := s.recheckKey(ctx, a)
		return err != nil
	})
}
