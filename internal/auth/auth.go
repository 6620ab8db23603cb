// Package auth turns a presented personal access token into an actor. It
// owns the token cache, the poller that keeps the cache honest across
// processes, the "last used" recorder and the throttle on failed attempts.
package auth

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"time"

	"github.com/gatehouse/gatehouse"
	"github.com/gatehouse/gatehouse/internal/logx"
	"github.com/gatehouse/gatehouse/internal/token"
)

// Messages callers see. A malformed, unknown, expired or revoked token all
// get BadCredentials so that nothing about a token's history leaks.
const (
	BadCredentials  = "Bad credentials"
	TooManyAttempts = "Maximum number of login attempts exceeded. Please try again later."
	Suspended       = "This account is suspended."
)

// Config tunes an Authenticator. Zero values take the defaults.
type Config struct {
	// PollInterval is how often the invalidation log is read (default 250ms;
	// keeps revocations by other processes under one second).
	PollInterval time.Duration
	// CacheSize bounds the number of cached tokens (default 10,000).
	CacheSize int
	// UseInterval is the least time between two "last used" writes for the
	// same token (default one minute).
	UseInterval time.Duration
	// MaxFailures failed attempts per client address within FailureWindow
	// lock that address out until the window passes (defaults 100, 15m).
	MaxFailures   int
	FailureWindow time.Duration
	Now           func() time.Time
	// OnFailure, if set, is told of every token refused as bad credentials,
	// for the audit log. It runs on the request's goroutine, so it must be
	// cheap for a client failing in a loop.
	OnFailure func(ctx context.Context, f Failure)
	// Observer, if set, is told how every token check ends and what the
	// cache did, for metrics (internal/metrics implements it).
	Observer Observer
}

// Outcome is how one token check ended, as metrics count it. The set is
// fixed, so that a label of this type stays small.
type Outcome string

// The outcomes of Token.
const (
	OutcomeOK        Outcome = "ok"        // a live token of an active user
	OutcomeMalformed Outcome = "malformed" // not a token at all: refused before any lookup
	OutcomeBad       Outcome = "bad"       // well formed but unknown or revoked
	OutcomeExpired   Outcome = "expired"   // known but past its expiry
	OutcomeSuspended Outcome = "suspended" // live, but its user is suspended
	OutcomeLocked    Outcome = "locked"    // a bad or expired token from an address now locked out
	OutcomeError     Outcome = "error"     // the store failed: nothing was decided
)

// Observer is told what token checks do. Its methods run on the request's
// goroutine, possibly many at once, so they must be cheap and safe for
// concurrent use; they are never given a token or an address.
type Observer interface {
	// TokenChecked is called once for every Token call, with how it ended.
	TokenChecked(Outcome)
	// TokenCacheLookup is called for every well-formed token looked up,
	// with whether the cache held it (a miss asks the database).
	TokenCacheLookup(hit bool)
	// TokenCacheEvicted is called when a full cache drops an entry to make
	// room; revocations and Forget do not count.
	TokenCacheEvicted()
}

type noObserver struct{}

func (noObserver) TokenChecked(Outcome)  {}
func (noObserver) TokenCacheLookup(bool) {}
func (noObserver) TokenCacheEvicted()    {}

// Failure is a refused token, described without its secret.
type Failure struct {
	IP string
	// Token is the presented token when it exists but has expired (a copy);
	// nil for a malformed, unknown or revoked one.
	Token *gatehouse.Token
	// Malformed is true when the string was not a token of this format at
	// all (no prefix, wrong length, bad checksum).
	Malformed bool
}

// Authenticator verifies tokens. Create it with New and run Run in the
// background for the life of the server.
type Authenticator struct {
	store gatehouse.Store
	cfg   Config
	log   *slog.Logger

	mu      sync.RWMutex
	byHash  map[string]*entry
	seq     int64 // last invalidation applied
	gen     int64 // bumped by every forget, so a lookup racing one does not cache
	primed  bool
	uses    map[int64]gatehouse.TokenUse // pending "last used" writes
	written map[int64]time.Time          // when each token's use was last queued

	throttle  *throttle // bad tokens
	passwords *throttle // wrong passwords
}

type entry struct {
	tok  *gatehouse.Token
	user *gatehouse.User
}

// New returns an Authenticator reading from store.
func New(store gatehouse.Store, cfg Config, log *slog.Logger) *Authenticator {
	if cfg.PollInterval <= 0 {
		cfg.PollInterval = 250 * time.Millisecond
	}
	if cfg.CacheSize <= 0 {
		cfg.CacheSize = 10000
	}
	if cfg.UseInterval <= 0 {
		cfg.UseInterval = time.Minute
	}
	if cfg.MaxFailures <= 0 {
		cfg.MaxFailures = 100
	}
	if cfg.FailureWindow <= 0 {
		cfg.FailureWindow = 15 * time.Minute
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Observer == nil {
		cfg.Observer = noObserver{}
	}
	if log == nil {
		log = slog.Default()
	}
	return &Authenticator{
		store:     store,
		cfg:       cfg,
		log:       log,
		byHash:    make(map[string]*entry),
		uses:      make(map[int64]gatehouse.TokenUse),
		written:   make(map[int64]time.Time),
		throttle:  newThrottle(cfg.MaxFailures, cfg.FailureWindow),
		passwords: newThrottle(cfg.MaxFailures, cfg.FailureWindow),
	}
}

// ErrLocked is the cause of Token's Unavailable error for an address
// locked out after repeated failures, which tells it apart from a store
// that is unavailable.
var ErrLocked = errors.New("locked out after repeated failures")

// Token authenticates a presented token for a client at ip. It returns
// Unauthenticated with BadCredentials for anything that is not a live token
// of an active user, Forbidden for a suspended user, and Unavailable with
// TooManyAttempts for a failed attempt while ip is locked out after
// repeated failures.
//
// A string that is not a well-formed token with a valid checksum is refused
// before the cache or the database is consulted, and is not counted: it
// cannot be a guess at a real token. A live token is accepted even from a
// locked-out address, so that one client looping with a revoked token does
// not lock out everyone behind the same NAT; with 178 random bits a token
// cannot be guessed, so the lockout costs nothing in safety. Every call
// is reported to Config.Observer.
func (a *Authenticator) Token(ctx context.Context, secret, ip string) (*gatehouse.Actor, error) {
	actor, outcome, err := a.token(ctx, secret, ip)
	a.cfg.Observer.TokenChecked(outcome)
	return actor, err
}

// token is Token, also saying how the check ended.
func (a *Authenticator) token(ctx context.Context, secret, ip string) (*gatehouse.Actor, Outcome, error) {
	const op = "authenticate"
	now := a.cfg.Now()
	if token.Parse(secret) != nil {
		a.failed(ctx, Failure{IP: ip, Malformed: true})
		return nil, OutcomeMalformed, gatehouse.E(op, gatehouse.Unauthenticated, BadCredentials)
	}
	refuse := func(tok *gatehouse.Token, outcome Outcome) (*gatehouse.Actor, Outcome, error) {
		a.failed(ctx, Failure{IP: ip, Token: tok})
		a.throttle.fail(ip, now)
		if a.throttle.locked(ip, now) {
			return nil, OutcomeLocked, &gatehouse.Error{Op: op, Kind: gatehouse.Unavailable, Msg: TooManyAttempts, Err: ErrLocked}
		}
		return nil, outcome, gatehouse.E(op, gatehouse.Unauthenticated, BadCredentials)
	}
	hash := token.Hash(secret)
	e, err := a.lookup(ctx, hash)
	if err != nil {
		if gatehouse.IsKind(err, gatehouse.NotFound) {
			return refuse(nil, OutcomeBad)
		}
		return nil, OutcomeError, err
	}
	if e.tok.Expired(now) {
		tok := *e.tok
		return refuse(&tok, OutcomeExpired)
	}
	if e.user.Suspended {
		return nil, OutcomeSuspended, gatehouse.E(op, gatehouse.Forbidden, Suspended)
	}
	a.noteUse(e.tok.ID, ip, now)
	// Copies, so that handlers cannot alter the cached values.
	tok, user := *e.tok, *e.user
	return &gatehouse.Actor{User: &user, Token: &tok}, OutcomeOK, nil
}

func (a *Authenticator) failed(ctx context.Context, f Failure) {
	if a.cfg.OnFailure != nil {
		a.cfg.OnFailure(ctx, f)
	}
}

// Failed records a wrong password (at sign-in or the sudo prompt) for ip
// and reports whether ip is now locked out of password sign-in. Passwords
// have a budget of their own: forged tokens, which cost an attacker
// nothing to make, must not lock people out of signing in, nor the
// reverse.
func (a *Authenticator) Failed(ip string) bool {
	now := a.cfg.Now()
	a.passwords.fail(ip, now)
	return a.passwords.locked(ip, now)
}

// Locked reports whether ip is locked out of password sign-in after
// repeated failures.
func (a *Authenticator) Locked(ip string) bool { return a.passwords.locked(ip, a.cfg.Now()) }

// TokensLocked reports whether ip is locked out of token authentication.
func (a *Authenticator) TokensLocked(ip string) bool { return a.throttle.locked(ip, a.cfg.Now()) }

func (a *Authenticator) lookup(ctx context.Context, hash string) (*entry, error) {
	a.mu.RLock()
	e := a.byHash[hash]
	primed := a.primed
	a.mu.RUnlock()
	a.cfg.Observer.TokenCacheLookup(e != nil)
	if e != nil {
		return e, nil
	}
	if !primed {
		// Before the poller has read the invalidation log once, a cached
		// entry could predate a revocation; learn the current position first.
		if err := a.Poll(ctx); err != nil {
			return nil, err
		}
	}
	a.mu.RLock()
	seq, gen := a.seq, a.gen
	a.mu.RUnlock()
	tok, err := a.store.FindTokenByHash(ctx, hash)
	if err != nil {
		return nil, err
	}
	user, err := a.store.FindUserByID(ctx, tok.UserID)
	if err != nil {
		return nil, err
	}
	e = &entry{tok: tok, user: user}
	a.mu.Lock()
	// Only cache what was read after the last applied invalidation and the
	// last local Forget: if either happened while we read, the row may
	// already be stale (a deletion must win at once on this node).
	if a.seq == seq && a.gen == gen {
		if len(a.byHash) >= a.cfg.CacheSize {
			for k := range a.byHash { // evict an arbitrary entry
				delete(a.byHash, k)
				a.cfg.Observer.TokenCacheEvicted()
				break
			}
		}
		a.byHash[hash] = e
	}
	a.mu.Unlock()
	return e, nil
}

// Forget drops a token, or every token of a user when tokenID is 0, from the
// cache at once. Services call it after changing a token on this node so
// the change wins immediately here; other nodes learn it from Poll.
func (a *Authenticator) Forget(tokenID, userID int64) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.forgetLocked(tokenID, userID)
}

func (a *Authenticator) forgetLocked(tokenID, userID int64) {
	a.gen++
	for h, e := range a.byHash {
		if (tokenID != 0 && e.tok.ID == tokenID) || (tokenID == 0 && e.user.ID == userID) {
			delete(a.byHash, h)
		}
	}
}

// Poll applies invalidations recorded since the last poll, by this or any
// other process sharing the database.
func (a *Authenticator) Poll(ctx context.Context) error {
	a.mu.RLock()
	after, primed := a.seq, a.primed
	a.mu.RUnlock()
	invs, last, err := a.store.Invalidations(ctx, after)
	if err != nil {
		return err
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	if !primed && !a.primed {
		// The first poll only learns where the log stands: the cache is empty.
		a.seq, a.primed = last, true
		return nil
	}
	for _, inv := range invs {
		if inv.Seq <= a.seq {
			continue
		}
		a.forgetLocked(inv.TokenID, inv.UserID)
		a.seq = inv.Seq
	}
	if last > a.seq {
		a.seq = last
	}
	return nil
}

// Run polls the invalidation log and flushes "last used" records until ctx
// is done, then flushes once more.
func (a *Authenticator) Run(ctx context.Context) {
	poll := time.NewTicker(a.cfg.PollInterval)
	defer poll.Stop()
	flush := time.NewTicker(5 * time.Second)
	defer flush.Stop()
	failures := &logx.Failures{Log: a.log, Msg: "reading token invalidations failed"}
	for {
		select {
		case <-ctx.Done():
			fctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			a.Flush(fctx)
			cancel()
			return
		case <-poll.C:
			if err := a.Poll(ctx); err != nil && ctx.Err() == nil {
				failures.Failed(err)
			} else if err == nil {
				failures.OK()
			}
		case <-flush.C:
			a.Flush(ctx)
		}
	}
}

// noteUse queues a "last used" record, at most one per token per
// UseInterval, without touching the database.
func (a *Authenticator) noteUse(id int64, ip string, now time.Time) {
	a.mu.RLock()
	last, ok := a.written[id]
	a.mu.RUnlock()
	if ok && now.Sub(last) < a.cfg.UseInterval {
		return
	}
	a.mu.Lock()
	a.written[id] = now
	a.uses[id] = gatehouse.TokenUse{TokenID: id, At: now, IP: ip}
	a.mu.Unlock()
}

// Flush writes queued "last used" records in one batch.
func (a *Authenticator) Flush(ctx context.Context) {
	a.mu.Lock()
	if len(a.uses) == 0 {
		a.mu.Unlock()
		return
	}
	batch := make([]gatehouse.TokenUse, 0, len(a.uses))
	for _, u := range a.uses {
		batch = append(batch, u)
	}
	a.uses = make(map[int64]gatehouse.TokenUse)
	cutoff := a.cfg.Now().Add(-a.cfg.UseInterval)
	for id, t := range a.written {
		if t.Before(cutoff) {
			delete(a.written, id)
		}
	}
	a.mu.Unlock()
	if err := a.store.RecordTokenUses(ctx, batch); err != nil {
		a.log.Warn("recording token use failed", "err", err, "tokens", len(batch))
	}
}
