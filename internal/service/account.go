package service

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"unicode/utf8"

	"github.com/gatehouse/gatehouse"
	"github.com/gatehouse/gatehouse/internal/authz"
	"github.com/gatehouse/gatehouse/internal/password"
)

// Locales the UI speaks; "" follows the browser.
var Locales = []string{"en", "ja"}

// NewUser describes an account to create.
type NewUser struct {
	Login, Email, Name string
	Password           string // "" for none (token-only account)
	SiteAdmin          bool
}

// NewUserProblems returns every reason nu cannot be created, one Invalid
// error per field, so that a form can show them all at once; CreateUser
// and CompleteSetup refuse with the first. Setup needs a password.
func NewUserProblems(nu NewUser, needPassword bool) []error {
	const op = "create user"
	var out []error
	switch {
	case !gatehouse.ValidLogin(nu.Login):
		out = append(out, &gatehouse.Error{Op: op, Kind: gatehouse.Invalid, Field: "login",
			Msg: fmt.Sprintf("invalid username %q: use 1-39 letters, digits or single hyphens, not starting or ending with a hyphen", nu.Login)})
	case gatehouse.ReservedLogin(nu.Login):
		out = append(out, &gatehouse.Error{Op: op, Kind: gatehouse.Invalid, Field: "login",
			Msg: fmt.Sprintf("the username %q is reserved for one of the server's own pages", nu.Login)})
	}
	if !validEmail(strings.TrimSpace(nu.Email)) {
		out = append(out, &gatehouse.Error{Op: op, Kind: gatehouse.Invalid, Field: "email", Msg: fmt.Sprintf("invalid email address %q", nu.Email)})
	}
	if utf8.RuneCountInString(strings.TrimSpace(nu.Name)) > 100 {
		out = append(out, &gatehouse.Error{Op: op, Kind: gatehouse.Invalid, Field: "name", Msg: "the name is too long (at most 100 characters)"})
	}
	if (nu.Password != "" || needPassword) && len(nu.Password) < 8 {
		out = append(out, &gatehouse.Error{Op: op, Kind: gatehouse.Invalid, Field: "password", Msg: "the password must have at least 8 characters"})
	}
	return out
}

// checkNewUser validates nu, trimming what may be trimmed.
func checkNewUser(op string, nu *NewUser) error {
	if problems := NewUserProblems(*nu, op == "setup"); len(problems) > 0 {
		return problems[0]
	}
	nu.Email = strings.TrimSpace(nu.Email)
	nu.Name = strings.TrimSpace(nu.Name)
	return nil
}

func validEmail(e string) bool {
	at := strings.IndexByte(e, '@')
	return at >= 1 && at < len(e)-1 && !strings.ContainsAny(e, " \t\r\n")
}

// CreateUser validates and creates an account; only site administration
// (or the system) may. Errors: Unauthenticated, Forbidden, Invalid,
// Conflict.
func (s *Service) CreateUser(ctx context.Context, actor *gatehouse.Actor, nu NewUser) (*gatehouse.User, error) {
	if err := authz.CreateUser(actor); err != nil {
		return nil, err
	}
	if err := checkNewUser("create user", &nu); err != nil {
		return nil, err
	}
	return s.createUser(ctx, actor, nu)
}

// createUser creates a validated account.
func (s *Service) createUser(ctx context.Context, _ *gatehouse.Actor, nu NewUser) (*gatehouse.User, error) {
	const op = "create user"
	u := &gatehouse.User{Login: nu.Login, Email: nu.Email, Name: nu.Name, SiteAdmin: nu.SiteAdmin}
	if nu.Password != "" {
		release, err := s.hashing(ctx)
		if err != nil {
			return nil, err
		}
		h, err := password.Hash(nu.Password)
		release()
		if err != nil {
			return nil, gatehouse.Wrap(op, gatehouse.Internal, err)
		}
		u.PasswordHash = h
	}
	if err := s.store.CreateUser(ctx, u); err != nil {
		return nil, err
	}
	return u, nil
}

// FindUser returns the account named login, for profiles and listings.
// Errors: Unauthenticated (an anonymous caller in private mode), NotFound.
func (s *Service) FindUser(ctx context.Context, actor *gatehouse.Actor, login string) (*gatehouse.User, error) {
	if err := authz.SeeUsers(actor, s.privateMode); err != nil {
		return nil, err
	}
	if !gatehouse.ValidLogin(login) {
		return nil, gatehouse.Errorf("find user", gatehouse.NotFound, "no user named %q", login)
	}
	u, err := s.store.FindUserByLogin(ctx, login)
	if gatehouse.IsKind(err, gatehouse.NotFound) {
		return nil, gatehouse.Errorf("find user", gatehouse.NotFound, "no user named %q", login)
	}
	return u, err
}

// UserByID returns the account with the given ID, as FindUser.
func (s *Service) UserByID(ctx context.Context, actor *gatehouse.Actor, id int64) (*gatehouse.User, error) {
	if err := authz.SeeUsers(actor, s.privateMode); err != nil {
		return nil, err
	}
	return s.store.FindUserByID(ctx, id)
}

// ListUsers returns a page of every account, for site administration.
func (s *Service) ListUsers(ctx context.Context, actor *gatehouse.Actor, page gatehouse.Page) ([]*gatehouse.User, error) {
	if err := authz.SiteAdmin(actor); err != nil {
		return nil, err
	}
	return s.store.ListUsers(ctx, page)
}

// UpdateProfile changes a user's display name, e-mail and UI language.
// Errors: NotFound, Forbidden, Invalid (email, locale, name), Conflict
// (email in use).
func (s *Service) UpdateProfile(ctx context.Context, actor *gatehouse.Actor, userID int64, name, email, locale string) (*gatehouse.User, error) {
	const op = "update profile"
	if err := authz.EditProfile(actor, userID); err != nil {
		return nil, err
	}
	u, err := s.store.FindUserByID(ctx, userID)
	if err != nil {
		return nil, err
	}
	email = strings.TrimSpace(email)
	if !validEmail(email) {
		return nil, &gatehouse.Error{Op: op, Kind: gatehouse.Invalid, Field: "email", Msg: fmt.Sprintf("invalid email address %q", email)}
	}
	if locale != "" && !slices.Contains(Locales, locale) {
		return nil, &gatehouse.Error{Op: op, Kind: gatehouse.Invalid, Field: "locale", Msg: fmt.Sprintf("unsupported language %q", locale)}
	}
	name = strings.TrimSpace(name)
	if utf8.RuneCountInString(name) > 100 {
		return nil, &gatehouse.Error{Op: op, Kind: gatehouse.Invalid, Field: "name", Msg: "the name is too long (at most 100 characters)"}
	}
	u.Name, u.Email, u.Locale = name, email, locale
	if err := s.store.UpdateUser(ctx, u); err != nil {
		return nil, err
	}
	// Cached credentials carry a copy of the user: drop them here at
	// once (other nodes learn it from the invalidation UpdateUser
	// records).
	s.forget(0, u.ID)
	return u, nil
}

// SetSuspended suspends or reinstates a user. A suspended user's tokens
// and sessions stop working at once. Admins cannot suspend themselves.
// Errors: NotFound, Forbidden.
func (s *Service) SetSuspended(ctx context.Context, actor *gatehouse.Actor, userID int64, suspended bool) (*gatehouse.User, error) {
	change := authz.Reinstate
	if suspended {
		change = authz.Suspend
	}
	return s.changeUser(ctx, actor, userID, change, func(u *gatehouse.User) { u.Suspended = suspended })
}

// SetSiteAdmin promotes a user to site admin or demotes one. Admins cannot
// demote themselves, so an instance always keeps the admin who acts.
// Errors: NotFound, Forbidden.
func (s *Service) SetSiteAdmin(ctx context.Context, actor *gatehouse.Actor, userID int64, admin bool) (*gatehouse.User, error) {
	change := authz.Demote
	if admin {
		change = authz.Promote
	}
	return s.changeUser(ctx, actor, userID, change, func(u *gatehouse.User) { u.SiteAdmin = admin })
}

func (s *Service) changeUser(ctx context.Context, actor *gatehouse.Actor, userID int64, change authz.UserChange, apply func(*gatehouse.User)) (*gatehouse.User, error) {
	if err := authz.SiteAdmin(actor); err != nil {
		return nil, err
	}
	u, err := s.store.FindUserByID(ctx, userID)
	if err != nil {
		return nil, err
	}
	if err := authz.ChangeUser(actor, u, change); err != nil {
		return nil, err
	}
	apply(u)
	if err := s.store.UpdateUser(ctx, u); err != nil {
		return nil, err
	}
	s.forget(0, u.ID)
	if u.Suspended {
		if _, err := s.sessions.DeleteUserSessions(ctx, u.ID); err != nil {
			return u, err
		}
	}
	return u, nil
}

// CheckPassword reports whether pw is the user's password. A user without
// one never matches. The comparison costs the same whether or not the
// account exists (pass nil for a missing one), so timing does not reveal
// which logins exist.
func CheckPassword(u *gatehouse.User, pw string) bool {
	hash := dummyHash()
	if u != nil && u.PasswordHash != "" {
		hash = u.PasswordHash
	}
	ok, err := password.Verify(hash, pw)
	return err == nil && ok && u != nil && u.PasswordHash != ""
}

// dummyHash is a real hash of a random password, computed once, that
// CheckPassword verifies against when there is no account to check.
var dummyHash = sync.OnceValue(func() string {
	h, err := password.Hash(password.Random())
	if err != nil {
		panic("service: hashing a random password: " + err.Error())
	}
	return h
})

// SignIn checks a login and password typed into the sign-in form by the
// anonymous actor and returns the account. At most Config.MaxHashes
// passwords are checked at once; the lock-out is checked again once a
// turn comes, so that parallel attempts cannot all hash. Unknown logins
// cost the same hash as known ones. Failures are throttled per client
// and recorded in the audit log. A password hashed with older parameters
// is hashed again. Errors: Unauthenticated (wrong login or password),
// Forbidden (ErrLockedOut, ErrSuspended), Unavailable (ErrBusy), Internal.
func (s *Service) SignIn(ctx context.Context, actor *gatehouse.Actor, login, pw string) (*gatehouse.User, error) {
	const op = "sign in"
	ip := actor.ClientIP()
	if s.auth.Locked(ip) {
		return nil, &gatehouse.Error{Op: op, Kind: gatehouse.Forbidden, Msg: auth429, Err: ErrLockedOut}
	}
	var u *gatehouse.User
	if gatehouse.ValidLogin(login) {
		found, err := s.store.FindUserByLogin(ctx, login)
		switch {
		case err == nil && !found.IsOrg:
			u = found
		case err != nil && !gatehouse.IsKind(err, gatehouse.NotFound):
			return nil, err
		}
	}
	ok, err := s.checkPassword(ctx, op, ip, u, pw)
	if err != nil {
		return nil, err
	}
	if !ok {
		f := AuthFailure{IP: ip, Reason: ReasonPassword}
		if u != nil {
			f.UserID = u.ID
		}
		s.RecordAuthFailure(ctx, f)
		if s.auth.Failed(ip) {
			return nil, &gatehouse.Error{Op: op, Kind: gatehouse.Forbidden, Msg: auth429, Err: ErrLockedOut}
		}
		return nil, gatehouse.E(op, gatehouse.Unauthenticated, "Incorrect username or password.")
	}
	if u.Suspended {
		return nil, &gatehouse.Error{Op: op, Kind: gatehouse.Forbidden, Msg: ErrSuspended.Error(), Err: ErrSuspended}
	}
	s.rehash(ctx, u, pw)
	return u, nil
}

// checkPassword verifies pw for u (nil: no such account) in a hashing
// turn, checking the lock-out again once the turn comes.
func (s *Service) checkPassword(ctx context.Context, op, ip string, u *gatehouse.User, pw string) (bool, error) {
	release, err := s.hashing(ctx)
	if err != nil {
		return false, err
	}
	defer release()
	if s.auth.Locked(ip) {
		return false, &gatehouse.Error{Op: op, Kind: gatehouse.Forbidden, Msg: auth429, Err: ErrLockedOut}
	}
	return CheckPassword(u, pw), nil
}

// rehash stores a fresh hash of pw, which has just been verified, when
// u's hash was made with other parameters. A failure only postpones it.
func (s *Service) rehash(ctx context.Context, u *gatehouse.User, pw string) {
	if !password.NeedsRehash(u.PasswordHash) {
		return
	}
	release, err := s.hashing(ctx)
	if err != nil {
		return
	}
	h, err := password.Hash(pw)
	release()
	if err != nil {
		return
	}
	next := *u
	next.PasswordHash = h
	if err := s.store.UpdateUser(ctx, &next); err != nil {
		s.log.Warn("storing a fresh password hash failed", "user", u.Login, "err", err)
		return
	}
	u.PasswordHash = h
}

// ConfirmPassword checks the signed-in actor's password again (sudo mode),
// bounded, throttled and recorded as SignIn. Errors: Unauthenticated
// (wrong password), Forbidden (ErrLockedOut), Unavailable (ErrBusy).
func (s *Service) ConfirmPassword(ctx context.Context, actor *gatehouse.Actor, pw string) error {
	const op = "confirm password"
	if actor.User == nil {
		return gatehouse.E(op, gatehouse.Unauthenticated, authz.MsgAuthRequired)
	}
	ip := actor.ClientIP()
	if s.auth.Locked(ip) {
		return &gatehouse.Error{Op: op, Kind: gatehouse.Forbidden, Msg: auth429, Err: ErrLockedOut}
	}
	ok, err := s.checkPassword(ctx, op, ip, actor.User, pw)
	if err != nil {
		return err
	}
	if !ok {
		s.RecordAuthFailure(ctx, AuthFailure{IP: ip, UserID: actor.User.ID, Reason: ReasonSudoPassword})
		if s.auth.Failed(ip) {
			return &gatehouse.Error{Op: op, Kind: gatehouse.Forbidden, Msg: auth429, Err: ErrLockedOut}
		}
		return gatehouse.E(op, gatehouse.Unauthenticated, "Incorrect password.")
	}
	s.rehash(ctx, actor.User, pw)
	return nil
}

// auth429 is the text of a lock-out.
const auth429 = "Maximum number of login attempts exceeded. Please try again later."
