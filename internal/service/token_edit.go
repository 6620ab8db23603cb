package service

import (
	"context"
	"strings"
	"time"

	"github.com/gatehouse/gatehouse"
	"github.com/gatehouse/gatehouse/internal/token"
)

// UserToken returns token id if it belongs to userID. A token of someone
// else is NotFound, exactly like a missing one.
func (s *Service) UserToken(ctx context.Context, userID, id int64) (*gatehouse.Token, error) {
	t, err := s.Store.FindTokenByID(ctx, id)
	if err != nil {
		return nil, err
	}
	if t.UserID != userID {
		return nil, gatehouse.E("find token", gatehouse.NotFound, "token not found")
	}
	return t, nil
}

// ListUserTokens returns every token of a user, oldest first.
func (s *Service) ListUserTokens(ctx context.Context, userID int64) ([]*gatehouse.Token, error) {
	return s.listTokens(ctx, gatehouse.TokenFilter{UserID: userID})
}

// ListAllTokens returns every token of the instance, oldest first.
func (s *Service) ListAllTokens(ctx context.Context) ([]*gatehouse.Token, error) {
	return s.listTokens(ctx, gatehouse.TokenFilter{})
}

func (s *Service) listTokens(ctx context.Context, f gatehouse.TokenFilter) ([]*gatehouse.Token, error) {
	var all []*gatehouse.Token
	for p := 1; ; p++ {
		page, err := s.Store.ListTokens(ctx, f, gatehouse.Page{Page: p, PerPage: 100})
		if err != nil {
			return nil, err
		}
		all = append(all, page...)
		if len(page) < 100 {
			return all, nil
		}
	}
}

// checkNote trims and validates a token note.
func checkNote(op, note string) (string, error) {
	note = strings.TrimSpace(note)
	if note == "" {
		return "", &gatehouse.Error{Op: op, Kind: gatehouse.Invalid, Field: "note", Msg: "a note is required: say what the token is for"}
	}
	if len(note) > 200 {
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

// UpdateToken changes the note and scopes of a user's token. The secret
// and the expiry stay; a narrowed token is narrowed at once everywhere.
// Errors: NotFound, Invalid (note, scopes), Conflict (note taken).
func (s *Service) UpdateToken(ctx context.Context, userID, id int64, note string, scopes []string) (*UpdatedToken, error) {
	const op = "update token"
	t, err := s.UserToken(ctx, userID, id)
	if err != nil {
		return nil, err
	}
	if note, err = checkNote(op, note); err != nil {
		return nil, err
	}
	norm, dropped, err := token.Normalize(scopes)
	if err != nil {
		return nil, &gatehouse.Error{Op: op, Kind: gatehouse.Invalid, Field: "scopes", Msg: err.Error()}
	}
	t.Note, t.Scopes = note, norm
	if err := s.Store.UpdateToken(ctx, t); err != nil {
		return nil, err
	}
	s.forget(t.ID, t.UserID)
	s.recordToken(ctx, gatehouse.AuditTokenUpdate, t, "")
	return &UpdatedToken{Token: t, Dropped: dropped}, nil
}

// RegenerateToken gives a user's token a new secret and a new expiration,
// keeping its id, note and scopes. The old secret stops working at once on
// this node and within a second everywhere. expires takes the forms of
// NewToken.Expires. Errors: NotFound, Invalid (expiry, policy).
func (s *Service) RegenerateToken(ctx context.Context, userID, id int64, expires string) (*IssuedToken, error) {
	const op = "regenerate token"
	t, err := s.UserToken(ctx, userID, id)
	if err != nil {
		return nil, err
	}
	exp, err := s.expiry(ctx, op, expires)
	if err != nil {
		return nil, err
	}
	secret, err := token.Generate(s.prefix())
	if err != nil {
		return nil, gatehouse.Wrap(op, gatehouse.Internal, err)
	}
	t.Hash, t.LastEight, t.ExpiresAt = token.Hash(secret), token.LastEight(secret), exp
	if err := s.Store.UpdateToken(ctx, t); err != nil {
		return nil, err
	}
	s.forget(t.ID, t.UserID)
	s.recordToken(ctx, gatehouse.AuditTokenRegenerate, t, "")
	return &IssuedToken{Token: t, Secret: secret}, nil
}

// RevokeAllTokens deletes every token of a user and reports how many. The
// audit log gets one event per token, as DeleteToken would record it,
// marked revoke_all.
func (s *Service) RevokeAllTokens(ctx context.Context, userID int64) (int, error) {
	tokens, err := s.ListUserTokens(ctx, userID)
	if err != nil {
		return 0, err
	}
	n := 0
	for _, t := range tokens {
		if err := s.Store.DeleteToken(ctx, t.ID); err != nil {
			if gatehouse.IsKind(err, gatehouse.NotFound) {
				continue // deleted meanwhile
			}
			s.forget(0, userID)
			return n, err
		}
		s.recordToken(ctx, revokeAction(ctx, t), t, "via=revoke_all")
		n++
	}
	s.forget(0, userID)
	return n, nil
}
