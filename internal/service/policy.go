package service

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/gatehouse/gatehouse"
	"github.com/gatehouse/gatehouse/internal/authz"
)

// Settings keys of the token policy.
const (
	settingRequireExpiration = "token_policy.require_expiration"
	settingMaxLifetimeDays   = "token_policy.max_lifetime_days"
)

// MaxPolicyDays bounds max_lifetime_days, as GitHub's policy does (1–366).
const MaxPolicyDays = 366

// Errors wrapped by the Invalid errors that the token policy produces, so
// that a caller can tell them apart with errors.Is and word them itself.
var (
	ErrExpirationRequired = errors.New("the token policy requires an expiration date")
	ErrLifetimeTooLong    = errors.New("the expiration is later than the token policy allows")
)

// TokenPolicy is what site admins set for every new or regenerated token.
type TokenPolicy struct {
	RequireExpiration bool
	// MaxLifetimeDays limits how far in the future a token may expire;
	// 0 means no limit. A positive limit implies RequireExpiration.
	MaxLifetimeDays int
}

// ExpirationRequired reports whether "no expiration" is refused.
func (p TokenPolicy) ExpirationRequired() bool {
	return p.RequireExpiration || p.MaxLifetimeDays > 0
}

// LatestExpiry returns the latest expiry the policy allows for a token
// issued at now: the end (UTC) of the day MaxLifetimeDays from now, so
// that both the preset and the custom-date forms of the longest allowed
// lifetime pass. The zero time means no limit.
func (p TokenPolicy) LatestExpiry(now time.Time) time.Time {
	if p.MaxLifetimeDays <= 0 {
		return time.Time{}
	}
	d := now.UTC().AddDate(0, 0, p.MaxLifetimeDays)
	return time.Date(d.Year(), d.Month(), d.Day(), 23, 59, 59, 0, time.UTC)
}

// Allows reports why an expiry (zero: never) breaks the policy, or nil.
func (p TokenPolicy) Allows(exp, now time.Time) error {
	if exp.IsZero() {
		if p.ExpirationRequired() {
			return ErrExpirationRequired
		}
		return nil
	}
	if latest := p.LatestExpiry(now); !latest.IsZero() && exp.After(latest) {
		return ErrLifetimeTooLong
	}
	return nil
}

// TokenPolicy reads the current policy. Unset settings mean no policy.
func (s *Service) TokenPolicy(ctx context.Context) (TokenPolicy, error) {
	var p TokenPolicy
	v, err := s.store.Setting(ctx, settingRequireExpiration)
	switch {
	case err == nil:
		p.RequireExpiration = v == "true"
	case !gatehouse.IsKind(err, gatehouse.NotFound):
		return p, err
	}
	v, err = s.store.Setting(ctx, settingMaxLifetimeDays)
	switch {
	case err == nil:
		if n, perr := strconv.Atoi(v); perr == nil && n > 0 {
			p.MaxLifetimeDays = n
		}
	case !gatehouse.IsKind(err, gatehouse.NotFound):
		return p, err
	}
	return p, nil
}

// SetTokenPolicy stores the policy. It applies to tokens created or
// regenerated afterwards; site administration only. Errors: Invalid
// (days out of range), Forbidden.
func (s *Service) SetTokenPolicy(ctx context.Context, actor *gatehouse.Actor, p TokenPolicy) error {
	const op = "set token policy"
	if err := authz.SiteAdmin(actor); err != nil {
		return err
	}
	if p.MaxLifetimeDays < 0 || p.MaxLifetimeDays > MaxPolicyDays {
		return &gatehouse.Error{Op: op, Kind: gatehouse.Invalid, Field: "max_lifetime_days",
			Msg: fmt.Sprintf("the maximum lifetime must be between 1 and %d days, or empty for no limit", MaxPolicyDays)}
	}
	if err := s.store.SetSetting(ctx, settingRequireExpiration, strconv.FormatBool(p.RequireExpiration)); err != nil {
		return err
	}
	return s.store.SetSetting(ctx, settingMaxLifetimeDays, strconv.Itoa(p.MaxLifetimeDays))
}

// checkPolicy turns a policy violation into the Invalid error of op.
func (s *Service) checkPolicy(ctx context.Context, op string, exp time.Time) error {
	p, err := s.TokenPolicy(ctx)
	if err != nil {
		return err
	}
	if perr := p.Allows(exp, s.now()); perr != nil {
		msg := perr.Error()
		if errors.Is(perr, ErrLifetimeTooLong) {
			msg = fmt.Sprintf("the token policy allows an expiration at most %d days from now", p.MaxLifetimeDays)
		}
		return &gatehouse.Error{Op: op, Kind: gatehouse.Invalid, Field: "expires", Msg: msg, Err: perr}
	}
	return nil
}
