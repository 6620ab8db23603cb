package service

import (
	"context"
	"fmt"
	"strings"
	"sync"

	"github.com/gatehouse/gatehouse"
	"github.com/gatehouse/gatehouse/internal/password"
)

// Locales the UI speaks; "" follows the browser.
var Locales = []string{"en", "ja"}

// UpdateProfile changes a user's display name, e-mail and UI language.
// Errors: NotFound, Invalid (email, locale), Conflict (email in use).
func (s *Service) UpdateProfile(ctx context.Context, userID int64, name, email, locale string) (*gatehouse.User, error) {
	const op = "update profile"
	u, err := s.Store.FindUserByID(ctx, userID)
	if err != nil {
		return nil, err
	}
	email = strings.TrimSpace(email)
	if at := strings.IndexByte(email, '@'); at < 1 || at == len(email)-1 || strings.ContainsAny(email, " \t\r\n") {
		return nil, &gatehouse.Error{Op: op, Kind: gatehouse.Invalid, Field: "email", Msg: fmt.Sprintf("invalid email address %q", email)}
	}
	if locale != "" && !validLocale(locale) {
		return nil, &gatehouse.Error{Op: op, Kind: gatehouse.Invalid, Field: "locale", Msg: fmt.Sprintf("unsupported language %q", locale)}
	}
	name = strings.TrimSpace(name)
	if len(name) > 100 {
		return nil, &gatehouse.Error{Op: op, Kind: gatehouse.Invalid, Field: "name", Msg: "the name is too long (at most 100 characters)"}
	}
	u.Name, u.Email, u.Locale = name, email, locale
	if err := s.Store.UpdateUser(ctx, u); err != nil {
		return nil, err
	}
	return u, nil
}

func validLocale(l string) bool {
	for _, x := range Locales {
		if x == l {
			return true
		}
	}
	return false
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

// SetSuspended suspends or reinstates a user. A suspended user's tokens
// and sessions stop working at once. Admins cannot suspend themselves.
// Errors: NotFound, Forbidden.
func (s *Service) SetSuspended(ctx context.Context, actorID, userID int64, suspended bool) (*gatehouse.User, error) {
	if actorID == userID && suspended {
		return nil, gatehouse.E("suspend user", gatehouse.Forbidden, "you cannot suspend your own account")
	}
	u, err := s.Store.FindUserByID(ctx, userID)
	if err != nil {
		return nil, err
	}
	u.Suspended = suspended
	if err := s.Store.UpdateUser(ctx, u); err != nil {
		return nil, err
	}
	s.forget(0, u.ID)
	return u, nil
}

// SetSiteAdmin promotes a user to site admin or demotes one. Admins cannot
// demote themselves, so an instance always keeps the admin who acts.
// Errors: NotFound, Forbidden.
func (s *Service) SetSiteAdmin(ctx context.Context, actorID, userID int64, admin bool) (*gatehouse.User, error) {
	if actorID == userID && !admin {
		return nil, gatehouse.E("demote user", gatehouse.Forbidden, "you cannot remove your own site admin role")
	}
	u, err := s.Store.FindUserByID(ctx, userID)
	if err != nil {
		return nil, err
	}
	u.SiteAdmin = admin
	if err := s.Store.UpdateUser(ctx, u); err != nil {
		return nil, err
	}
	s.forget(0, u.ID)
	return u, nil
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
