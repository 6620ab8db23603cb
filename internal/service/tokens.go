package service

import (
	"context"
	"slices"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/gatehouse/gatehouse"
	"github.com/gatehouse/gatehouse/internal/authz"
	"github.com/gatehouse/gatehouse/internal/token"
)

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

// CreateToken issues a token for nt.UserID (authz.ManageTokens: the user
// in a browser session, or the system). Errors: Invalid (note, scopes,
// expiry, or an expiry the site's token policy refuses), Conflict (note
// already used by this user), NotFound (user, or someone else's).
func (s *Service) CreateToken(ctx context.Context, actor *gatehouse.Actor, nt NewToken) (*IssuedToken, error) {
	const op = "create token"
	if err := authz.ManageTokens(actor, nt.UserID); err != nil {
		return nil, err
	}
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
	owner, err := s.store.FindUserByID(ctx, nt.UserID)
	if err != nil {
		return nil, err
	}
	if owner.IsOrg {
		return nil, &gatehouse.Error{Op: op, Kind: gatehouse.Invalid, Field: "user", Msg: "organizations cannot have personal access tokens; create one for a member"}
	}
	if err := checkAdminScope(op, owner, scopes); err != nil {
		return nil, err
	}
	secret, err := token.Generate(s.prefix)
	if err != nil {
		return nil, gatehouse.Wrap(op, gatehouse.Internal, err)
	}
	t := &gatehouse.Token{UserID: nt.UserID, Note: note, Scopes: scopes, Hash: token.Hash(secret), LastEight: token.LastEight(secret), ExpiresAt: exp}
	if err := s.store.CreateToken(ctx, t); err != nil {
		return nil, err
	}
	s.recordToken(ctx, actor, gatehouse.AuditTokenCreate, t, "")
	return &IssuedToken{Token: t, Secret: secret, Dropped: dropped}, nil
}

// FindToken returns token id if the actor may manage it (its owner in a
// browser session, the system). A token of someone else is NotFound,
// exactly like a missing one.
func (s *Service) FindToken(ctx context.Context, actor *gatehouse.Actor, id int64) (*gatehouse.Token, error) {
	if actor.Anonymous() {
		return nil, gatehouse.E("find token", gatehouse.Unauthenticated, authz.MsgAuthRequired)
	}
	t, err := s.store.FindTokenByID(ctx, id)
	if err != nil {
		return nil, err
	}
	if err := authz.ManageTokens(actor, t.UserID); err != nil {
		return nil, err
	}
	return t, nil
}

// ListUserTokens returns every token of a user, oldest first.
func (s *Service) ListUserTokens(ctx context.Context, actor *gatehouse.Actor, userID int64) ([]*gatehouse.Token, error) {
	if err := authz.ManageTokens(actor, userID); err != nil {
		if authz.ListAllTokens(actor) != nil {
			return nil, err
		}
	}
	return s.listTokens(ctx, gatehouse.TokenFilter{UserID: userID})
}

// ListAllTokens returns every token of the instance, oldest first, for
// site administration.
func (s *Service) ListAllTokens(ctx context.Context, actor *gatehouse.Actor) ([]*gatehouse.Token, error) {
	if err := authz.ListAllTokens(actor); err != nil {
		return nil, err
	}
	return s.listTokens(ctx, gatehouse.TokenFilter{})
}

// TokenPage returns one page of every token of the instance, for site
// administration.
func (s *Service) TokenPage(ctx context.Context, actor *gatehouse.Actor, page gatehouse.Page) ([]*gatehouse.Token, error) {
	if err := authz.ListAllTokens(actor); err != nil {
		return nil, err
	}
	return s.store.ListTokens(ctx, gatehouse.TokenFilter{}, page)
}

func (s *Service) listTokens(ctx context.Context, f gatehouse.TokenFilter) ([]*gatehouse.Token, error) {
	var all []*gatehouse.Token
	for p := 1; ; p++ {
		page, err := s.store.ListTokens(ctx, f, gatehouse.Page{Page: p, PerPage: 100})
		if err != nil {
			return nil, err
		}
		all = append(all, page...)
		if len(page) < 100 {
			return all, nil
		}
	}
}

// checkAdminScope refuses the site_admin scope on a token of someone who
// is not a site administrator: a scope never grants more than the user
// has, and a token that says it could would mislead its readers (and
// start working the day its owner is promoted).
func checkAdminScope(op string, owner *gatehouse.User, scopes []string) error {
	if !owner.SiteAdmin && slices.Contains(scopes, "site_admin") {
		return &gatehouse.Error{Op: op, Kind: gatehouse.Invalid, Field: "scopes",
			Msg: "the site_admin scope is for site administrators' tokens only"}
	}
	return nil
}

// checkNote trims and validates a token note: printable text, no control
// characters (they would reach terminals through admin token list).
func checkNote(op, note string) (string, error) {
	note = strings.TrimSpace(note)
	if note == "" {
		return "", &gatehouse.Error{Op: op, Kind: gatehouse.Invalid, Field: "note", Msg: "a note is required: say what the token is for"}
	}
	if strings.IndexFunc(note, unicode.IsControl) >= 0 || !utf8.ValidString(note) {
		return "", &gatehouse.Error{Op: op, Kind: gatehouse.Invalid, Field: "note", Msg: "the note must be printable text, without control characters"}
	}
	if utf8.RuneCountInString(note) > 200 {
		return "", &gatehouse.Error{Op: op, Kind: gatehouse.Invalid, Field: "note", Msg: "the note is too long (at most 200 characters)"}
	}
	return note, nil
}

// expiry turns an expiration choice ("" meaning 30 days) into a time and
// checks it against the site's token policy.
func (s *Service) expiry(ctx context.Context, op, expires string) (time.Time, error) {
	if expires == "" {
		expires = "30d"
	}
	exp, err := token.ParseExpiry(expires, s.now())
	if err != nil {
		return time.Time{}, &gatehouse.Error{Op: op, Kind: gatehouse.Invalid, Field: "expires", Msg: err.Error()}
	}
	if err := s.checkPolicy(ctx, op, exp); err != nil {
		return time.Time{}, err
	}
	return exp, nil
}

// UpdatedToken is the result of UpdateToken.
type UpdatedToken struct {
	Token *gatehouse.Token
	// Dropped is true when scopes implied by others were removed.
	Dropped bool
}

// UpdateToken changes the note and scopes of a token the actor manages.
// The secret and the expiry stay; a narrowed token is narrowed at once
// everywhere. Errors: NotFound, Invalid (note, scopes), Conflict (note
// taken).
func (s *Service) UpdateToken(ctx context.Context, actor *gatehouse.Actor, id int64, note string, scopes []string) (*UpdatedToken, error) {
	const op = "update token"
	t, err := s.FindToken(ctx, actor, id)
	if err != nil {
		return nil, err
	}
	if t.FineGrained() {
		return nil, &gatehouse.Error{Op: op, Kind: gatehouse.Invalid, Field: "scopes", Msg: "a fine-grained token has permissions, not scopes"}
	}
	if note, err = checkNote(op, note); err != nil {
		return nil, err
	}
	norm, dropped, err := token.Normalize(scopes)
	if err != nil {
		return nil, &gatehouse.Error{Op: op, Kind: gatehouse.Invalid, Field: "scopes", Msg: err.Error()}
	}
	owner, err := s.store.FindUserByID(ctx, t.UserID)
	if err != nil {
		return nil, err
	}
	if err := checkAdminScope(op, owner, norm); err != nil {
		return nil, err
	}
	t.Note, t.Scopes = note, norm
	if err := s.store.UpdateToken(ctx, t); err != nil {
		return nil, err
	}
	s.forget(t.ID, t.UserID)
	s.recordToken(ctx, actor, gatehouse.AuditTokenUpdate, t, "")
	return &UpdatedToken{Token: t, Dropped: dropped}, nil
}

// RegenerateToken gives a token the actor manages a new secret and a new
// expiration, keeping its id, note and scopes. The old secret stops
// working at once on this node and within a second everywhere. expires
// takes the forms of NewToken.Expires. Errors: NotFound, Invalid (expiry,
// policy).
func (s *Service) RegenerateToken(ctx context.Context, actor *gatehouse.Actor, id int64, expires string) (*IssuedToken, error) {
	const op = "regenerate token"
	t, err := s.FindToken(ctx, actor, id)
	if err != nil {
		return nil, err
	}
	exp, err := s.regenerationExpiry(ctx, op, expires, t)
	if err != nil {
		return nil, err
	}
	secret, err := s.regenerateSecret(t)
	if err != nil {
		return nil, gatehouse.Wrap(op, gatehouse.Internal, err)
	}
	t.Hash, t.LastEight, t.ExpiresAt = token.Hash(secret), token.LastEight(secret), exp
	t.RegeneratedAt = s.now() // a lifetime counts from the regeneration
	if err := s.store.UpdateToken(ctx, t); err != nil {
		return nil, err
	}
	s.forget(t.ID, t.UserID)
	s.recordToken(ctx, actor, gatehouse.AuditTokenRegenerate, t, "")
	return &IssuedToken{Token: t, Secret: secret}, nil
}

// DeleteToken revokes a token: it stops working at once on this node and
// within a second on every other. authz.RevokeToken decides who may and
// what the audit log records: a deletion by its owner, or a revocation by
// a site admin or the system. It returns the deleted token. Errors:
// NotFound, Forbidden (a token deleting itself).
func (s *Service) DeleteToken(ctx context.Context, actor *gatehouse.Actor, id int64) (*gatehouse.Token, error) {
	if actor.Anonymous() {
		return nil, gatehouse.E("delete token", gatehouse.Unauthenticated, authz.MsgAuthRequired)
	}
	t, err := s.store.FindTokenByID(ctx, id)
	if err != nil {
		return nil, err
	}
	action, err := authz.RevokeToken(actor, t)
	if err != nil {
		return nil, err
	}
	if err := s.store.DeleteToken(ctx, id); err != nil {
		return nil, err
	}
	s.forget(id, t.UserID)
	s.recordToken(ctx, actor, action, t, "")
	s.recordCancelled(ctx, actor, t)
	return t, nil
}

// recordCancelled records, for a deleted token that was waiting for an
// organization's approval, that its request is gone with it (the owners'
// list of requests no longer shows it).
func (s *Service) recordCancelled(ctx context.Context, actor *gatehouse.Actor, t *gatehouse.Token) {
	if !t.FineGrained() || t.Approval != gatehouse.TokenPending {
		return
	}
	detail := ""
	if org, err := s.store.FindUserByID(ctx, t.TargetID); err == nil {
		detail = "org=" + org.Login
	}
	s.record(ctx, actor, gatehouse.AuditEvent{Action: gatehouse.AuditTokenRequestCancel, UserID: t.UserID, TokenID: t.ID, Note: t.Note, Detail: detail})
}

// RevokeAllTokens deletes every token of a user and reports how many. The
// audit log gets one event per token, as DeleteToken would record it,
// marked revoke_all.
func (s *Service) RevokeAllTokens(ctx context.Context, actor *gatehouse.Actor, userID int64) (int, error) {
	if err := authz.ManageTokens(actor, userID); err != nil {
		return 0, err
	}
	tokens, err := s.listTokens(ctx, gatehouse.TokenFilter{UserID: userID})
	if err != nil {
		return 0, err
	}
	n := 0
	for _, t := range tokens {
		action, err := authz.RevokeToken(actor, t)
		if err != nil {
			return n, err
		}
		if err := s.store.DeleteToken(ctx, t.ID); err != nil {
			if gatehouse.IsKind(err, gatehouse.NotFound) {
				continue // deleted meanwhile
			}
			s.forget(0, userID)
			return n, err
		}
		s.recordToken(ctx, actor, action, t, "via=revoke_all")
		s.recordCancelled(ctx, actor, t)
		n++
	}
	s.forget(0, userID)
	return n, nil
}
