// Package service is Gatehouse's application boundary. Every transport —
// the command line, the REST and GraphQL API, the web UI, git over HTTPS,
// the push hook — and every background job changes state only through it,
// and reads through it anything whose visibility depends on the caller.
//
// Every use case takes the acting principal explicitly (a
// *gatehouse.Actor: a user with the limits of the credential used, an
// anonymous client, or the system), loads what the rules of
// internal/authz need, asks them, acts, and records the change in the
// audit log under that actor. Transports turn a request into an actor and
// a call here, and the answer or its error kind into a response; they
// never decide who may do what.
//
// The service is built once, by New, with every store it needs.
package service

import (
	"cmp"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/gatehouse/gatehouse"
	"github.com/gatehouse/gatehouse/internal/auth"
	"github.com/gatehouse/gatehouse/internal/authz"
	"github.com/gatehouse/gatehouse/internal/gitrepo"
	"github.com/gatehouse/gatehouse/internal/token"
)

// Config is everything the service needs. Every store is required: New
// fails rather than running with a feature silently switched off.
type Config struct {
	Store     gatehouse.Store
	Audit     gatehouse.AuditStore
	Keys      gatehouse.KeyStore
	Sessions  gatehouse.SessionStore
	Reminders gatehouse.ReminderStore
	Orgs      gatehouse.OrgStore
	Repos     *gitrepo.Dir
	// Mailer sends the e-mails of the service (leaked tokens, expiry
	// reminders). Required; the command line passes the instance's own.
	Mailer gatehouse.Mailer
	// ExternalURL is the base URL users reach the server at, without a
	// trailing slash, for links in e-mails.
	ExternalURL string
	// TokenPrefix of new tokens; default token.DefaultPrefix.
	TokenPrefix string
	// PrivateMode makes every listing, page, API call and git request of
	// anonymous callers ask them to sign in.
	PrivateMode bool
	// NoUserOrgs keeps organization creation to site admins (by default
	// any user may create one from the web UI).
	NoUserOrgs bool
	// Auth tunes the credential cache and the failure throttle.
	Auth auth.Config
	// MaxHashes bounds the password hashes computed at once (default 2:
	// each takes password.MemoryKiB, and anyone can make the server
	// compute one by typing a password). HashWait is how long a sign-in
	// waits for a turn before it is refused with ErrBusy (default 5 s).
	MaxHashes int
	HashWait  time.Duration
	Log       *slog.Logger
	// Now is the clock; default time.Now.
	Now func() time.Time
}

// Service is the application boundary. Build it with New.
type Service struct {
	store     gatehouse.Store
	audit     gatehouse.AuditStore
	keys      gatehouse.KeyStore
	sessions  gatehouse.SessionStore
	reminders gatehouse.ReminderStore
	orgs      gatehouse.OrgStore
	repos     *gitrepo.Dir
	mailer    gatehouse.Mailer
	auth      *auth.Authenticator

	externalURL string
	prefix      string
	privateMode bool
	noUserOrgs  bool
	log         *slog.Logger
	now         func() time.Time

	failures  failureLimiter
	reports   reportLimiter
	hashSlots chan struct{}
	hashWait  time.Duration
}

// New checks cfg and builds the service.
func New(cfg Config) (*Service, error) {
	missing := ""
	switch {
	case cfg.Store == nil:
		missing = "Store"
	case cfg.Audit == nil:
		missing = "Audit"
	case cfg.Keys == nil:
		missing = "Keys"
	case cfg.Sessions == nil:
		missing = "Sessions"
	case cfg.Reminders == nil:
		missing = "Reminders"
	case cfg.Orgs == nil:
		missing = "Orgs"
	case cfg.Repos == nil:
		missing = "Repos"
	case cfg.Mailer == nil:
		missing = "Mailer"
	}
	if missing != "" {
		return nil, fmt.Errorf("service: Config.%s is required", missing)
	}
	s := &Service{
		store: cfg.Store, audit: cfg.Audit, keys: cfg.Keys, sessions: cfg.Sessions, reminders: cfg.Reminders, orgs: cfg.Orgs,
		repos: cfg.Repos, mailer: cfg.Mailer,
		externalURL: cfg.ExternalURL,
		prefix:      cmp.Or(cfg.TokenPrefix, token.DefaultPrefix),
		privateMode: cfg.PrivateMode,
		noUserOrgs:  cfg.NoUserOrgs,
		log:         cfg.Log,
		now:         cfg.Now,
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	if s.now == nil {
		s.now = time.Now
	}
	s.hashSlots = make(chan struct{}, cmp.Or(max(cfg.MaxHashes, 0), 2))
	s.hashWait = cmp.Or(cfg.HashWait, 5*time.Second)
	acfg := cfg.Auth
	if acfg.Now == nil {
		acfg.Now = s.now
	}
	acfg.OnFailure = func(ctx context.Context, f auth.Failure) { s.recordTokenFailure(ctx, f) }
	s.auth = auth.New(cfg.Store, acfg, s.log)
	return s, nil
}

// MustNew is New for tests and fixed wiring: it panics on a bad Config.
func MustNew(cfg Config) *Service {
	s, err := New(cfg)
	if err != nil {
		panic(err)
	}
	return s
}

// PrivateMode reports whether anonymous callers must sign in for
// everything.
func (s *Service) PrivateMode() bool { return s.privateMode }

// Run keeps the credential cache honest across processes and saves "last
// used" records until ctx ends; the server runs it for its lifetime.
func (s *Service) Run(ctx context.Context) { s.auth.Run(ctx) }

// Poll applies, at once, revocations made by other processes.
func (s *Service) Poll(ctx context.Context) error { return s.auth.Poll(ctx) }

// Flush saves pending "last used" records.
func (s *Service) Flush(ctx context.Context) { s.auth.Flush(ctx) }

// forget drops cached credentials on this node after a change.
func (s *Service) forget(tokenID, userID int64) { s.auth.Forget(tokenID, userID) }

// Reasons a credential is refused, matched with errors.Is. Transports word
// each one for their clients.
var (
	// ErrBadCredentials: the token is malformed, unknown, expired or
	// revoked (all alike, so that nothing about a token's history leaks).
	ErrBadCredentials = errors.New(auth.BadCredentials)
	// ErrPasswordRefused: an account password was sent where only tokens
	// are accepted (git and the API). It is never checked.
	ErrPasswordRefused = errors.New("password authentication is not supported; use a personal access token")
	// ErrPlainHTTP: credentials crossed the network unencrypted.
	ErrPlainHTTP = errors.New("credentials sent over plain HTTP are refused")
	// ErrLockedOut: too many failures from this address.
	ErrLockedOut = errors.New(auth.TooManyAttempts)
	// ErrSuspended: the account is suspended.
	ErrSuspended = errors.New(auth.Suspended)
	// ErrBusy: too many passwords are being checked at once; the caller
	// should try again in a few seconds (BusyRetry).
	ErrBusy = errors.New("too many sign-ins at once; try again in a few seconds")
)

// BusyRetry is the Retry-After, in seconds, for ErrBusy.
const BusyRetry = 5

// hashing waits for a turn to compute a password hash, at most hashWait,
// and returns the function that gives the turn back. Errors: Unavailable
// (ErrBusy), or the context's.
func (s *Service) hashing(ctx context.Context) (func(), error) {
	t := time.NewTimer(s.hashWait)
	defer t.Stop()
	select {
	case s.hashSlots <- struct{}{}:
		return func() { <-s.hashSlots }, nil
	case <-t.C:
		return nil, &gatehouse.Error{Op: "check password", Kind: gatehouse.Unavailable, Msg: "Too many sign-ins at once. Try again in a few seconds.", Err: ErrBusy}
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// Authenticate is the one step from a presented credential to an actor,
// for every transport. No credential gives the anonymous actor. Errors:
// Unauthenticated (ErrBadCredentials, ErrPasswordRefused), Forbidden
// (ErrPlainHTTP, ErrSuspended, ErrLockedOut), Internal.
func (s *Service) Authenticate(ctx context.Context, c gatehouse.Credential) (*gatehouse.Actor, error) {
	const op = "authenticate"
	switch c.Kind {
	case gatehouse.NoCredential:
		return gatehouse.AnonymousActor(c.IP), nil
	case gatehouse.TokenCredential, gatehouse.PasswordCredential:
	default:
		return nil, &gatehouse.Error{Op: op, Kind: gatehouse.Unauthenticated, Msg: auth.BadCredentials, Err: ErrBadCredentials}
	}
	if c.Insecure {
		return nil, &gatehouse.Error{Op: op, Kind: gatehouse.Forbidden, Msg: ErrPlainHTTP.Error(), Err: ErrPlainHTTP}
	}
	if c.Kind == gatehouse.PasswordCredential {
		// Checking would make git and the API a password-guessing oracle
		// and cost a slow hash per request; a refusal guesses nothing, so
		// it is not counted either.
		return nil, &gatehouse.Error{Op: op, Kind: gatehouse.Unauthenticated, Msg: auth.BadCredentials, Err: ErrPasswordRefused}
	}
	actor, err := s.auth.Token(ctx, c.Secret, c.IP)
	if err != nil {
		switch gatehouse.ErrorKind(err) {
		case gatehouse.Unauthenticated:
			return nil, &gatehouse.Error{Op: op, Kind: gatehouse.Unauthenticated, Msg: auth.BadCredentials, Err: ErrBadCredentials}
		case gatehouse.Unavailable:
			if !errors.Is(err, auth.ErrLocked) {
				return nil, err // the store: the database is unavailable
			}
			return nil, &gatehouse.Error{Op: op, Kind: gatehouse.Forbidden, Msg: auth.TooManyAttempts, Err: ErrLockedOut}
		case gatehouse.Forbidden:
			return nil, &gatehouse.Error{Op: op, Kind: gatehouse.Forbidden, Msg: auth.Suspended, Err: ErrSuspended}
		}
		return nil, err
	}
	actor.IP = c.IP
	return actor, nil
}

// Repo finds owner/name and decides, with authz.Repo, whether the actor
// may perform action on it. It returns the repository and the actor's
// role on it. Errors: Unauthenticated (an anonymous caller, for anything
// it may not do, whether the repository exists or not), NotFound,
// Forbidden, Internal.
func (s *Service) Repo(ctx context.Context, actor *gatehouse.Actor, owner, name string, action authz.Action) (*gatehouse.Repo, gatehouse.Permission, error) {
	return s.RepoFor(ctx, actor, owner, name, action.Need())
}

// RepoFor is Repo for an operation that needs of a fine-grained token
// another permission than its action's default (the API's route table
// declares one per route).
func (s *Service) RepoFor(ctx context.Context, actor *gatehouse.Actor, owner, name string, need authz.Need) (*gatehouse.Repo, gatehouse.Permission, error) {
	var repo *gatehouse.Repo
	if gatehouse.ValidLogin(owner) && gatehouse.ValidRepoName(name) {
		r, err := s.store.FindRepo(ctx, owner, name)
		switch {
		case err == nil:
			repo = r
		case !gatehouse.IsKind(err, gatehouse.NotFound):
			return nil, gatehouse.PermNone, err
		}
	}
	if repo == nil {
		return nil, gatehouse.PermNone, authz.Repo(actor, nil, gatehouse.PermNone, need, nil, s.privateMode)
	}
	role, err := s.authorizeFor(ctx, actor, repo, need)
	if err != nil {
		return nil, gatehouse.PermNone, err
	}
	return repo, role, nil
}

// Role returns the actor's role on repo (authz.Role), looking up its
// grants: collaborator, teams, organization membership.
func (s *Service) Role(ctx context.Context, actor *gatehouse.Actor, repo *gatehouse.Repo) (gatehouse.Permission, error) {
	g, err := s.grants(ctx, actor, repo)
	return authz.Role(actor, repo, g), err
}

// grants loads what authz.Role and authz.Repo need beyond the actor and
// the repository: its grants on the repository and, when a token is in
// use, the owning organization's token policy.
func (s *Service) grants(ctx context.Context, actor *gatehouse.Actor, repo *gatehouse.Repo) (gatehouse.Grants, error) {
	var g gatehouse.Grants
	if u := actor.UserID(); u != 0 && u != repo.OwnerID {
		var err error
		if g, err = s.orgs.RepoGrants(ctx, repo.ID, u); err != nil {
			return g, fmt.Errorf("repository grants: %w", err)
		}
	}
	if actor != nil && actor.Token != nil && actor.User != nil {
		p, err := s.orgs.TokenPolicy(ctx, repo.OwnerID)
		switch {
		case err == nil:
			g.Policy = &p
		case !gatehouse.IsKind(err, gatehouse.NotFound): // NotFound: a user's repository
			return g, fmt.Errorf("token policy: %w", err)
		}
	}
	return g, nil
}

// authorize re-decides action on a repository a transport already holds,
// so that a use case never trusts the transport's earlier check.
func (s *Service) authorize(ctx context.Context, actor *gatehouse.Actor, repo *gatehouse.Repo, action authz.Action) (gatehouse.Permission, error) {
	return s.authorizeFor(ctx, actor, repo, action.Need())
}

func (s *Service) authorizeFor(ctx context.Context, actor *gatehouse.Actor, repo *gatehouse.Repo, need authz.Need) (gatehouse.Permission, error) {
	g, err := s.grants(ctx, actor, repo)
	if err != nil {
		return gatehouse.PermNone, err
	}
	role := authz.Role(actor, repo, g)
	return role, authz.Repo(actor, repo, role, need, g.Policy, s.privateMode)
}

// setupKey holds the SHA-256 of the one-time setup code.
const setupKey = "setup_code_sha256"

// PrepareSetup returns a fresh one-time setup code when the instance has no
// users yet, replacing any earlier one, or "" when setup is done (and then
// deletes any code left over, so that an old link cannot create an admin).
func (s *Service) PrepareSetup(ctx context.Context) (string, error) {
	n, err := s.store.CountUsers(ctx)
	if err != nil {
		return "", err
	}
	if n > 0 {
		_, err := s.store.DeleteSetting(ctx, setupKey)
		return "", err
	}
	var b [24]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", err
	}
	code := hex.EncodeToString(b[:])
	sum := sha256.Sum256([]byte(code))
	if err := s.store.SetSetting(ctx, setupKey, hex.EncodeToString(sum[:])); err != nil {
		return "", err
	}
	return code, nil
}

// Reasons a setup link is refused, matched with errors.Is; both are
// Forbidden.
var (
	// ErrSetupDone: the instance has accounts, so setup is over whatever
	// the link (the first account, or accounts made from the command line).
	ErrSetupDone = gatehouse.E("setup", gatehouse.Forbidden, "this instance already has accounts: setup is done; sign in, or ask a site admin")
	// ErrSetupCode: the link's code is not the current one (mistyped, or
	// from before a restart, which prints a new link).
	ErrSetupCode = gatehouse.E("setup", gatehouse.Forbidden, "this setup link is not the current one: use the link serve printed at its last start")
)

// CheckSetup reports whether code is the current setup code and setup is
// still open (no account exists), without using the code up.
func (s *Service) CheckSetup(ctx context.Context, code string) bool {
	return s.CheckSetupCode(ctx, code) == nil
}

// CheckSetupCode is CheckSetup saying why not. Errors: ErrSetupDone,
// ErrSetupCode, or the store's.
func (s *Service) CheckSetupCode(ctx context.Context, code string) error {
	if n, err := s.store.CountUsers(ctx); err != nil || n > 0 {
		if err != nil {
			return err
		}
		return ErrSetupDone
	}
	want, err := s.store.Setting(ctx, setupKey)
	if gatehouse.IsKind(err, gatehouse.NotFound) {
		return ErrSetupCode
	}
	if err != nil {
		return err
	}
	sum := sha256.Sum256([]byte(code))
	if subtle.ConstantTimeCompare([]byte(hex.EncodeToString(sum[:])), []byte(want)) != 1 {
		return ErrSetupCode
	}
	return nil
}

// CompleteSetup creates the first site admin if code is the current setup
// code, using the code up so that it works exactly once. The setup link is
// the credential: the actor is whoever holds it. Errors: Forbidden
// (ErrSetupDone, ErrSetupCode, or a code used meanwhile), and those of
// CreateUser.
func (s *Service) CompleteSetup(ctx context.Context, actor *gatehouse.Actor, code string, nu NewUser) (*gatehouse.User, error) {
	if err := s.CheckSetupCode(ctx, code); err != nil {
		// Accounts made since the link was printed (from the command
		// line) end setup: the link must not make a site admin on a
		// running instance.
		if errors.Is(err, ErrSetupDone) {
			if _, derr := s.store.DeleteSetting(ctx, setupKey); derr != nil {
				return nil, derr
			}
		}
		return nil, err
	}
	// Validate before spending the code, so a typo does not lock setup out.
	if err := checkNewUser("setup", &nu); err != nil {
		return nil, err
	}
	ok, err := s.store.DeleteSetting(ctx, setupKey)
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, gatehouse.E("setup", gatehouse.Forbidden, "this setup link has already been used")
	}
	nu.SiteAdmin = true
	return s.createUser(ctx, actor, nu)
}
