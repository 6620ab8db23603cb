package pushprotect

import (
	"context"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/gatehouse/gatehouse"
	"github.com/gatehouse/gatehouse/internal/token"
)

// Push describes the push being checked, for messages and the audit log.
type Push struct {
	Repo      string // OWNER/NAME
	PusherID  int64
	Pusher    string // login
	IP        string
	RequestID string
}

// Leak is a live token found in a push.
type Leak struct {
	Finding
	Token *gatehouse.Token
	Owner *gatehouse.User
	// Notified is set once the owner was sent an e-mail.
	Notified bool
}

// Revoker revokes a token everywhere; service.Service implements it.
type Revoker interface {
	// DeleteToken returns NotFound when the token is already gone.
	DeleteToken(ctx context.Context, id int64) error
}

// Guard decides which candidates are live tokens and deals with them.
type Guard struct {
	Store   gatehouse.Store
	Revoker Revoker
	// Mailer, if set, tells owners that their token was revoked.
	Mailer gatehouse.Mailer
	// Audit, if set, records a leaked-token event per revoked token.
	Audit gatehouse.AuditStore
	// ExternalURL is the server's base URL, for the link in e-mails.
	ExternalURL string
	Now         func() time.Time
}

func (g *Guard) now() time.Time {
	if g.Now != nil {
		return g.Now()
	}
	return time.Now()
}

// Live returns the findings that are live tokens of this instance, one per
// token: those the store knows by hash and that have not expired. A
// candidate the store does not know (another instance's token, a deleted
// one, or a string that merely has a valid checksum) is no leak.
func (g *Guard) Live(ctx context.Context, findings []Finding) ([]Leak, error) {
	var leaks []Leak
	seen := map[int64]bool{}
	for _, f := range findings {
		t, err := g.Store.FindTokenByHash(ctx, token.Hash(f.Token))
		if gatehouse.IsKind(err, gatehouse.NotFound) {
			continue
		}
		if err != nil {
			return nil, err
		}
		if t.Expired(g.now()) || seen[t.ID] {
			continue
		}
		seen[t.ID] = true
		owner, err := g.Store.FindUserByID(ctx, t.UserID)
		if err != nil {
			return nil, err
		}
		leaks = append(leaks, Leak{Finding: f, Token: t, Owner: owner})
	}
	return leaks, nil
}

// Handle revokes each leaked token, records it in the audit log and tells
// its owner. Revocation comes first and its failure is returned; audit and
// mail failures are returned as warnings, since the push is refused and the
// token dead whatever they do.
func (g *Guard) Handle(ctx context.Context, p Push, leaks []Leak) (warnings []string, err error) {
	for i := range leaks {
		l := &leaks[i]
		if err := g.Revoker.DeleteToken(ctx, l.Token.ID); err != nil && !gatehouse.IsKind(err, gatehouse.NotFound) {
			return warnings, fmt.Errorf("revoke token %d: %w", l.Token.ID, err)
		}
		if g.Audit != nil {
			e := &gatehouse.AuditEvent{Action: gatehouse.AuditTokenLeaked, ActorID: p.PusherID, UserID: l.Token.UserID,
				TokenID: l.Token.ID, Note: l.Token.Note, Detail: detail(p, l.Finding), IP: p.IP, At: g.now().UTC()}
			if err := g.Audit.RecordAuditEvent(ctx, e); err != nil {
				warnings = append(warnings, "recording the revocation in the audit log failed")
			}
		}
		if g.Mailer != nil && l.Owner.Email != "" {
			if err := g.Mailer.Send(ctx, g.message(p, l)); err != nil {
				warnings = append(warnings, "e-mailing "+l.Owner.Login+" about the revocation failed")
			} else {
				l.Notified = true
			}
		}
	}
	return warnings, nil
}

// detail is the audit log's description of where a token was found.
func detail(p Push, f Finding) string {
	return fmt.Sprintf("repo %s, commit %s, %s, pushed by %s", p.Repo, short(f.Commit), f.Location(), orUnknown(p.Pusher))
}

func orUnknown(s string) string {
	if s == "" {
		return "an unknown user"
	}
	return s
}

func short(oid string) string {
	if len(oid) > 12 {
		return oid[:12]
	}
	return oid
}

func (g *Guard) message(p Push, l *Leak) gatehouse.Message {
	var b strings.Builder
	fmt.Fprintf(&b, "Hello %s,\n\n", l.Owner.Login)
	fmt.Fprintf(&b, "Your personal access token %q (ending in %s) was found in a push to\n%s by %s. ", l.Token.Note, l.Token.LastEight, p.Repo, orUnknown(p.Pusher))
	b.WriteString("It has been revoked and no longer works.\n\n")
	fmt.Fprintf(&b, "  commit: %s\n  where:  %s\n\n", l.Commit, l.Location())
	b.WriteString("The push was rejected, so the token is not in the repository; but the\n" +
		"commit that holds it exists wherever it was made, so the token must be\n" +
		"treated as known to others.\n\n")
	b.WriteString("If you still need a token, create a new one")
	if g.ExternalURL != "" {
		fmt.Fprintf(&b, ":\n\n  %s/settings/tokens\n", g.ExternalURL)
	} else {
		b.WriteString(" under Settings > Developer settings > Personal access tokens.\n")
	}
	return gatehouse.Message{
		To:      l.Owner.Email,
		Subject: fmt.Sprintf("[Gatehouse] Your personal access token %q was found in a push and revoked", l.Token.Note),
		Body:    b.String(),
	}
}

// maxShown is how many leaks the rejection message lists, as GitHub does.
const maxShown = 5

// Report writes the rejection that git shows the pusher as "remote:" lines.
// It names each token by its last eight characters and note, never in full.
func Report(w io.Writer, leaks []Leak) {
	fmt.Fprintf(w, "\nerror: push protection: this push contains %s of this server.\n\n", plural(len(leaks), "a live personal access token", "live personal access tokens"))
	for i, l := range leaks {
		if i == maxShown {
			fmt.Fprintf(w, "  … and %d more\n\n", len(leaks)-maxShown)
			break
		}
		fmt.Fprintf(w, "  token …%s (%q of %s)\n", l.Token.LastEight, l.Token.Note, l.Owner.Login)
		fmt.Fprintf(w, "    commit: %s\n", l.Commit)
		fmt.Fprintf(w, "    %s\n\n", where(l.Finding))
	}
	notified := true
	for _, l := range leaks {
		notified = notified && l.Notified
	}
	revoked := plural(len(leaks), "The token has been revoked and no longer works", "The tokens have been revoked and no longer work")
	if notified {
		fmt.Fprintf(w, "%s; the owner was told by e-mail.\n", revoked)
	} else {
		fmt.Fprintf(w, "%s.\n", revoked)
	}
	fmt.Fprintf(w, "Create a new one under Settings > Developer settings > Personal access tokens,\n")
	fmt.Fprintf(w, "and keep it out of the repository (an environment variable or a credential helper).\n\n")
	first := leaks[0].Commit
	fmt.Fprintf(w, "Remove the token from your commits, then push again. In the last commit:\n")
	fmt.Fprintf(w, "  edit the file, then: git commit --amend --all\n")
	fmt.Fprintf(w, "In an older commit, rewrite from the one that added it:\n")
	fmt.Fprintf(w, "  git rebase -i %s~1   (or --root if it is the first commit)\n", short(first))
	fmt.Fprintf(w, "  mark it \"edit\", remove the token, git commit --amend --all, git rebase --continue\n\n")
}

func where(f Finding) string {
	switch {
	case f.Ref != "" || (f.Path != "" && f.Line == 0):
		return "in " + f.Location()
	case f.Tag != "":
		return "in the message of tag " + f.Tag
	case f.Path == "":
		return "in the commit message"
	}
	return fmt.Sprintf("path:   %s (line %d)", f.Path, f.Line)
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}
