package pushprotect

import (
	"context"
	"fmt"
	"io"

	"github.com/gatehouse/gatehouse"
	"github.com/gatehouse/gatehouse/internal/service"
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

// Service is what the guard asks of the application boundary, which
// looks tokens up, revokes them, records the leak in the audit log and
// e-mails the owner in their language; service.Service implements it.
type Service interface {
	// LiveToken returns NotFound for anything but a live token.
	LiveToken(ctx context.Context, actor *gatehouse.Actor, secret string) (*gatehouse.Token, *gatehouse.User, error)
	RevokeLeakedToken(ctx context.Context, actor *gatehouse.Actor, t *gatehouse.Token, owner *gatehouse.User, leak gatehouse.TokenLeak) (service.LeakOutcome, error)
}

// Guard decides which candidates are live tokens and deals with them, as
// the system (push protection runs inside the server's git).
type Guard struct {
	Service Service
}

// Live returns the findings that are live tokens of this instance, one per
// token. A candidate the service does not know (another instance's token,
// a deleted or expired one, or a string that merely has a valid checksum)
// is no leak.
func (g *Guard) Live(ctx context.Context, findings []Finding) ([]Leak, error) {
	var leaks []Leak
	seen := map[int64]bool{}
	for _, f := range findings {
		t, owner, err := g.Service.LiveToken(ctx, gatehouse.SystemActor(), f.Token)
		if gatehouse.IsKind(err, gatehouse.NotFound) {
			continue
		}
		if err != nil {
			return nil, err
		}
		if seen[t.ID] {
			continue
		}
		seen[t.ID] = true
		leaks = append(leaks, Leak{Finding: f, Token: t, Owner: owner})
	}
	return leaks, nil
}

// Handle revokes each leaked token through the service, which records it
// and tells its owner. A revocation failure is returned; a mail failure is
// a warning for the pusher, since the push is refused and the token dead
// whatever the mail does.
func (g *Guard) Handle(ctx context.Context, p Push, leaks []Leak) (warnings []string, err error) {
	for i := range leaks {
		l := &leaks[i]
		leak := gatehouse.TokenLeak{Repo: p.Repo, Commit: l.Commit, Location: l.Location(), PusherID: p.PusherID, Pusher: p.Pusher, IP: p.IP}
		out, err := g.Service.RevokeLeakedToken(ctx, gatehouse.SystemActor(), l.Token, l.Owner, leak)
		if err != nil {
			return warnings, err
		}
		l.Notified = out.Notified
		if out.MailFailed {
			warnings = append(warnings, "e-mailing "+l.Owner.Login+" about the revocation failed")
		}
	}
	return warnings, nil
}

func short(oid string) string {
	if len(oid) > 12 {
		return oid[:12]
	}
	return oid
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
		if l.Commit != "" {
			fmt.Fprintf(w, "    commit: %s\n", l.Commit)
		} else {
			fmt.Fprintf(w, "    object: %s\n", l.Object)
		}
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
	first := ""
	for _, l := range leaks {
		if l.Commit != "" {
			first = l.Commit
			break
		}
	}
	if first == "" {
		// Only objects that no pushed ref reaches, which git push does
		// not send: the client built the pack itself.
		fmt.Fprintf(w, "The push carries objects that none of its refs reaches; git push sends only what\n")
		fmt.Fprintf(w, "the refs need. Push with git push from a clone that does not hold the token.\n\n")
		return
	}
	fmt.Fprintf(w, "Remove the token from your commits, then push again. In the last commit:\n")
	fmt.Fprintf(w, "  edit the file, then: git commit --amend --all\n")
	fmt.Fprintf(w, "In an older commit, rewrite from the one that added it:\n")
	fmt.Fprintf(w, "  git rebase -i %s~1   (or --root if it is the first commit)\n", short(first))
	fmt.Fprintf(w, "  mark it \"edit\", remove the token, git commit --amend --all, git rebase --continue\n\n")
}

func where(f Finding) string {
	switch {
	case f.Ref != "" || f.Object != "" || (f.Path != "" && f.Line == 0):
		return "in " + f.Location()
	case f.Tag != "" || f.Path == "":
		return "in the " + f.Location()
	case f.Encoding != "":
		return fmt.Sprintf("path:   %s (line %d, %s)", f.Redact(f.Path), f.Line, f.Encoding)
	}
	return fmt.Sprintf("path:   %s (line %d)", f.Redact(f.Path), f.Line)
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}
