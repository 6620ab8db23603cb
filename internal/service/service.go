// Package service holds the operations that change Gatehouse's state —
// creating users, repositories and tokens, revoking tokens — shared by the
// command line, the REST API and the web UI so that each rule is written
// once.
package service

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/gatehouse/gatehouse"
	"github.com/gatehouse/gatehouse/internal/gitrepo"
	"github.com/gatehouse/gatehouse/internal/password"
	"github.com/gatehouse/gatehouse/internal/token"
)

// Forgetter drops cached credentials; the authenticator implements it.
type Forgetter interface {
	Forget(tokenID, userID int64)
}

// Service is the write side of Gatehouse.
type Service struct {
	Store gatehouse.Store
	Repos *gitrepo.Dir
	// Cache, if set, is told about every token change made here so that it
	// wins at once on this node.
	Cache Forgetter
	// Audit, if set, receives an event for every token change made here
	// and for failed authentications (RecordAuthFailure).
	Audit  gatehouse.AuditStore
	Prefix string // token prefix, default token.DefaultPrefix
	Log    *slog.Logger
	Now    func() time.Time

	failures failureLimiter
}

func (s *Service) now() time.Time {
	if s.Now != nil {
		return s.Now()
	}
	return time.Now()
}

func (s *Service) forget(tokenID, userID int64) {
	if s.Cache != nil {
		s.Cache.Forget(tokenID, userID)
	}
}

// NewUser describes an account to create.
type NewUser struct {
	Login, Email, Name string
	Password           string // "" for none (token-only account)
	SiteAdmin          bool
}

// CreateUser validates and creates an account. Errors: Invalid, Conflict.
func (s *Service) CreateUser(ctx context.Context, nu NewUser) (*gatehouse.User, error) {
	const op = "create user"
	if !gatehouse.ValidLogin(nu.Login) {
		return nil, &gatehouse.Error{Op: op, Kind: gatehouse.Invalid, Field: "login",
			Msg: fmt.Sprintf("invalid username %q: use 1-39 letters, digits or single hyphens, not starting or ending with a hyphen", nu.Login)}
	}
	if gatehouse.ReservedLogin(nu.Login) {
		return nil, &gatehouse.Error{Op: op, Kind: gatehouse.Invalid, Field: "login",
			Msg: fmt.Sprintf("the username %q is reserved for one of the server's own pages", nu.Login)}
	}
	if at := strings.IndexByte(nu.Email, '@'); at < 1 || at == len(nu.Email)-1 || strings.ContainsAny(nu.Email, " \t\r\n") {
		return nil, &gatehouse.Error{Op: op, Kind: gatehouse.Invalid, Field: "email", Msg: fmt.Sprintf("invalid email address %q", nu.Email)}
	}
	u := &gatehouse.User{Login: nu.Login, Email: nu.Email, Name: nu.Name, SiteAdmin: nu.SiteAdmin}
	if nu.Password != "" {
		if len(nu.Password) < 8 {
			return nil, &gatehouse.Error{Op: op, Kind: gatehouse.Invalid, Field: "password", Msg: "the password must have at least 8 characters"}
		}
		h, err := password.Hash(nu.Password)
		if err != nil {
			return nil, gatehouse.Wrap(op, gatehouse.Internal, err)
		}
		u.PasswordHash = h
	}
	if err := s.Store.CreateUser(ctx, u); err != nil {
		return nil, err
	}
	return u, nil
}

// NewRepo describes a repository to create.
type NewRepo struct {
	Owner       string
	Name        string
	Description string
	Private     bool
}

// CreateRepo creates the bare repository on disk and its row. git runs
// outside any transaction: the repository is initialised in a temporary
// directory, the row inserted, then the directory renamed into place.
// Errors: Invalid, NotFound (owner), Conflict.
func (s *Service) CreateRepo(ctx context.Context, nr NewRepo) (*gatehouse.Repo, error) {
	const op = "create repository"
	if !gatehouse.ValidRepoName(nr.Name) {
		return nil, &gatehouse.Error{Op: op, Kind: gatehouse.Invalid, Field: "name",
			Msg: fmt.Sprintf("invalid repository name %q: use up to 100 letters, digits, '-', '_' or '.', not ending in .git", nr.Name)}
	}
	owner, err := s.Store.FindUserByLogin(ctx, nr.Owner)
	if err != nil {
		if gatehouse.IsKind(err, gatehouse.NotFound) {
			return nil, gatehouse.Errorf(op, gatehouse.NotFound, "no user named %q", nr.Owner)
		}
		return nil, err
	}
	tmp, err := s.Repos.Prepare(ctx, "main")
	if err != nil {
		return nil, gatehouse.Wrap(op, gatehouse.Internal, err)
	}
	r := &gatehouse.Repo{OwnerID: owner.ID, Owner: owner.Login, Name: nr.Name, Description: nr.Description, Private: nr.Private, DefaultBranch: "main"}
	if err := s.Store.CreateRepo(ctx, r); err != nil {
		s.Repos.Discard(tmp)
		return nil, err
	}
	if err := s.Repos.Commit(tmp, r.ID); err != nil {
		s.Repos.Discard(tmp)
		if derr := s.Store.DeleteRepo(context.WithoutCancel(ctx), r.ID); derr != nil {
			s.log().Error("removing repository row after failed create", "repo", r.FullName(), "err", derr)
		}
		return nil, gatehouse.Wrap(op, gatehouse.Internal, err)
	}
	return r, nil
}

// NewToken describes a personal access token to issue.
type NewToken struct {
	UserID int64
	Note   string
	Scopes []string
	// Expires is "7d", "30d", "YYYY-MM-DD" or "never"; "" means 30 days.
	Expires string
}

// IssuedToken is a created token and its secret, which exists only here:
// the store keeps its hash.
type IssuedToken struct {
	Token  *gatehouse.Token
	Secret string
	// Dropped is true when scopes implied by others were removed.
	Dropped bool
}

// CreateToken issues a token. Errors: Invalid (note, scopes, expiry, or an
// expiry the site's token policy refuses), Conflict (note already used by this user), NotFound (user).
func (s *Service) CreateToken(ctx context.Context, nt NewToken) (*IssuedToken, error) {
	const op = "create token"
	note, err := checkNote(op, nt.Note)
	if err != nil {
		return nil, err
	}
	scopes, dropped, err := token.Normalize(nt.Scopes)
	if err != nil {
		return nil, &gatehouse.Error{Op: op, Kind: gatehouse.Invalid, Field: "scopes", Msg: err.Error()}
	}
	exp, err := s.expiry(ctx, op, nt.Expires)
	if err != nil {
		return nil, err
	}
	if _, err := s.Store.FindUserByID(ctx, nt.UserID); err != nil {
		return nil, err
	}
	secret, err := token.Generate(s.prefix())
	if err != nil {
		return nil, gatehouse.Wrap(op, gatehouse.Internal, err)
	}
	t := &gatehouse.Token{UserID: nt.UserID, Note: note, Scopes: scopes, Hash: token.Hash(secret), LastEight: token.LastEight(secret), ExpiresAt: exp}
	if err := s.Store.CreateToken(ctx, t); err != nil {
		return nil, err
	}
	s.recordToken(ctx, gatehouse.AuditTokenCreate, t, "")
	return &IssuedToken{Token: t, Secret: secret, Dropped: dropped}, nil
}

func (s *Service) prefix() string {
	if s.Prefix != "" {
		return s.Prefix
	}
	return token.DefaultPrefix
}

// DeleteToken revokes a token: it stops working at once on this node and
// within a second on every other. The audit log records a deletion when
// the Origin in ctx is the token's owner and a revocation by an
// administrator otherwise. Errors: NotFound.
func (s *Service) DeleteToken(ctx context.Context, id int64) error {
	t, err := s.Store.FindTokenByID(ctx, id)
	if err != nil {
		return err
	}
	if err := s.Store.DeleteToken(ctx, id); err != nil {
		return err
	}
	s.forget(id, t.UserID)
	s.recordToken(ctx, revokeAction(ctx, t), t, "")
	return nil
}

func (s *Service) log() *slog.Logger {
	if s.Log != nil {
		return s.Log
	}
	return slog.Default()
}

// setupKey holds the SHA-256 of the one-time setup code.
const setupKey = "setup_code_sha256"

// PrepareSetup returns a fresh one-time setup code when the instance has no
// users yet, replacing any earlier one, or "" when setup is done.
func (s *Service) PrepareSetup(ctx context.Context) (string, error) {
	n, err := s.Store.CountUsers(ctx)
	if err != nil || n > 0 {
		return "", err
	}
	var b [24]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", err
	}
	code := hex.EncodeToString(b[:])
	sum := sha256.Sum256([]byte(code))
	if err := s.Store.SetSetting(ctx, setupKey, hex.EncodeToString(sum[:])); err != nil {
		return "", err
	}
	return code, nil
}

// CheckSetup reports whether code is the current setup code, without
// using it up.
func (s *Service) CheckSetup(ctx context.Context, code string) bool {
	want, err := s.Store.Setting(ctx, setupKey)
	if err != nil {
		return false
	}
	sum := sha256.Sum256([]byte(code))
	return subtle.ConstantTimeCompare([]byte(hex.EncodeToString(sum[:])), []byte(want)) == 1
}

// CompleteSetup creates the first site admin if code is the current setup
// code, using the code up so that it works exactly once. Errors: Forbidden
// (wrong or used code), and those of CreateUser.
func (s *Service) CompleteSetup(ctx context.Context, code string, nu NewUser) (*gatehouse.User, error) {
	if !s.CheckSetup(ctx, code) {
		return nil, gatehouse.E("setup", gatehouse.Forbidden, "this setup link is invalid or has already been used")
	}
	// Validate before spending the code, so a typo does not lock setup out.
	if !gatehouse.ValidLogin(nu.Login) || gatehouse.ReservedLogin(nu.Login) {
		return nil, &gatehouse.Error{Op: "setup", Kind: gatehouse.Invalid, Field: "login", Msg: fmt.Sprintf("invalid username %q", nu.Login)}
	}
	if len(nu.Password) < 8 {
		return nil, &gatehouse.Error{Op: "setup", Kind: gatehouse.Invalid, Field: "password", Msg: "the password must have at least 8 characters"}
	}
	ok, err := s.Store.DeleteSetting(ctx, setupKey)
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, gatehouse.E("setup", gatehouse.Forbidden, "this setup link has already been used")
	}
	nu.SiteAdmin = true
	return s.CreateUser(ctx, nu)
}
