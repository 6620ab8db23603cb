package main

import (
	"bufio"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/gatehouse/gatehouse"
	"github.com/gatehouse/gatehouse/internal/authz"
	"github.com/gatehouse/gatehouse/internal/password"
	"github.com/gatehouse/gatehouse/internal/service"
)

func (e *env) userCreate(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("admin user create", flag.ContinueOnError)
	e.common(fs)
	login := fs.String("username", "", "login name")
	email := fs.String("email", "", "e-mail address")
	name := fs.String("name", "", "display name")
	admin := fs.Bool("admin", false, "make the user a site admin")
	stdinPW := fs.Bool("password-stdin", false, "read the password from the first line of standard input")
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) > 0 || *login == "" || *email == "" {
		return usagef("admin user create needs --username and --email")
	}
	pw, generated := "", false
	if *stdinPW {
		line, err := bufio.NewReader(e.stdin).ReadString('\n')
		if err != nil && line == "" {
			return fmt.Errorf("read password from standard input: %w", err)
		}
		pw = strings.TrimRight(line, "\r\n")
	} else {
		pw, generated = password.Random(), true
	}
	svc, done, err := e.open(ctx)
	if err != nil {
		return err
	}
	defer done()
	u, err := svc.CreateUser(ctx, gatehouse.SystemActor(), service.NewUser{Login: *login, Email: *email, Name: *name, Password: pw, SiteAdmin: *admin})
	if err != nil {
		return err
	}
	if generated {
		fmt.Fprintln(e.stdout, pw)
		fmt.Fprintf(e.stderr, "Created user %s (id %d). The password above is shown only now.\n", u.Login, u.ID)
	} else {
		fmt.Fprintf(e.stderr, "Created user %s (id %d).\n", u.Login, u.ID)
	}
	return nil
}

// userPromote makes an existing user a site admin, as the system: the
// way to the administration pages when nobody has them.
func (e *env) userPromote(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("admin user promote", flag.ContinueOnError)
	e.common(fs)
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return usagef("admin user promote needs the USER to make a site admin")
	}
	svc, done, err := e.open(ctx)
	if err != nil {
		return err
	}
	defer done()
	system := gatehouse.SystemActor()
	u, err := svc.FindUser(ctx, system, pos[0])
	if err != nil {
		return err
	}
	if u.IsOrg {
		return fmt.Errorf("%s is an organization: only users can be site admins", u.Login)
	}
	if u.SiteAdmin {
		fmt.Fprintf(e.stderr, "%s is a site admin already.\n", u.Login)
		return nil
	}
	if _, err := svc.SetSiteAdmin(ctx, system, u.ID, true); err != nil {
		return err
	}
	fmt.Fprintf(e.stderr, "%s is now a site admin.\n", u.Login)
	return nil
}

func (e *env) repoCreate(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("admin repo create", flag.ContinueOnError)
	e.common(fs)
	private := fs.Bool("private", false, "only the owner and collaborators can see it")
	desc := fs.String("description", "", "short description")
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return usagef("admin repo create needs OWNER/NAME")
	}
	owner, name, ok := strings.Cut(pos[0], "/")
	if !ok || owner == "" || name == "" {
		return usagef("%q is not OWNER/NAME", pos[0])
	}
	svc, done, err := e.open(ctx)
	if err != nil {
		return err
	}
	defer done()
	r, err := svc.CreateRepo(ctx, gatehouse.SystemActor(), service.NewRepo{Owner: owner, Name: name, Description: *desc, Private: *private})
	if err != nil {
		return err
	}
	vis := "public"
	if r.Private {
		vis = "private"
	}
	fmt.Fprintf(e.stderr, "Created %s repository %s (id %d).\n", vis, r.FullName(), r.ID)
	return nil
}

func (e *env) tokenCreate(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("admin token create", flag.ContinueOnError)
	e.common(fs)
	user := fs.String("user", "", "owner of the token")
	note := fs.String("note", "", "what the token is for")
	scopes := fs.String("scopes", "", "comma-separated scopes (none: public read only)")
	expires := fs.String("expires", "30d", "7d, 30d, 60d, 90d (any Nd), YYYY-MM-DD, or never")
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) > 0 || *user == "" || *note == "" {
		return usagef("admin token create needs --user and --note")
	}
	var list []string
	for _, s := range strings.Split(*scopes, ",") {
		if s = strings.TrimSpace(s); s != "" {
			list = append(list, s)
		}
	}
	svc, done, err := e.open(ctx)
	if err != nil {
		return err
	}
	defer done()
	system := gatehouse.SystemActor()
	u, err := svc.FindUser(ctx, system, *user)
	if err != nil {
		return err
	}
	it, err := svc.CreateToken(ctx, system, service.NewToken{UserID: u.ID, Note: *note, Scopes: list, Expires: *expires})
	if err != nil {
		return err
	}
	fmt.Fprintln(e.stdout, it.Secret)
	exp := "never expires"
	if !it.Token.ExpiresAt.IsZero() {
		exp = "expires " + it.Token.ExpiresAt.UTC().Format("2006-01-02 15:04:05 UTC")
	}
	sc := strings.Join(it.Token.Scopes, ",")
	if sc == "" {
		sc = "none (public read only)"
	}
	fmt.Fprintf(e.stderr, "Token %d for %s: scopes %s; %s.", it.Token.ID, u.Login, sc, exp)
	if it.Dropped {
		fmt.Fprint(e.stderr, " Scopes implied by others were dropped.")
	}
	fmt.Fprintln(e.stderr, " It is shown only now.")
	return nil
}

// tokenJSON is the --json shape of a token listing: never the secret.
type tokenJSON struct {
	ID             int64      `json:"id"`
	User           string     `json:"user"`
	Note           string     `json:"note"`
	Scopes         []string   `json:"scopes"`
	TokenLastEight string     `json:"token_last_eight"`
	HashedToken    string     `json:"hashed_token"`
	CreatedAt      time.Time  `json:"created_at"`
	ExpiresAt      *time.Time `json:"expires_at"`
	LastUsedAt     *time.Time `json:"last_used_at"`
}

func timePtr(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	t = t.UTC()
	return &t
}

func (e *env) tokenList(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("admin token list", flag.ContinueOnError)
	e.common(fs)
	user := fs.String("user", "", "only this user's tokens")
	asJSON := fs.Bool("json", false, "print JSON")
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return usagef("admin token list takes no arguments")
	}
	svc, done, err := e.open(ctx)
	if err != nil {
		return err
	}
	defer done()
	system := gatehouse.SystemActor()
	var toks []*gatehouse.Token
	if *user != "" {
		u, err := svc.FindUser(ctx, system, *user)
		if err != nil {
			return err
		}
		toks, err = svc.ListUserTokens(ctx, system, u.ID)
		if err != nil {
			return err
		}
	} else if toks, err = svc.ListAllTokens(ctx, system); err != nil {
		return err
	}
	logins := map[int64]string{}
	var rows []tokenJSON
	for _, t := range toks {
		if _, ok := logins[t.UserID]; !ok {
			if u, err := svc.UserByID(ctx, system, t.UserID); err == nil {
				logins[t.UserID] = u.Login
			}
		}
		rows = append(rows, tokenJSON{ID: t.ID, User: logins[t.UserID], Note: t.Note, Scopes: t.Scopes,
			TokenLastEight: t.LastEight, HashedToken: t.Hash, CreatedAt: t.CreatedAt.UTC(),
			ExpiresAt: timePtr(t.ExpiresAt), LastUsedAt: timePtr(t.LastUsedAt)})
	}
	if *asJSON {
		if rows == nil {
			rows = []tokenJSON{}
		}
		enc := json.NewEncoder(e.stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(rows)
	}
	tw := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tUSER\tNOTE\tSCOPES\tLAST 8\tEXPIRES\tLAST USED")
	now := time.Now()
	for _, r := range rows {
		exp := "never"
		if r.ExpiresAt != nil {
			exp = r.ExpiresAt.Format("2006-01-02")
			if !now.Before(*r.ExpiresAt) {
				exp = "expired"
			}
		}
		used := "never"
		if r.LastUsedAt != nil {
			used = r.LastUsedAt.Format("2006-01-02 15:04")
		}
		sc := strings.Join(r.Scopes, ",")
		if sc == "" {
			sc = "-"
		}
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t…%s\t%s\t%s\n", r.ID, r.User, r.Note, sc, r.TokenLastEight, exp, used)
	}
	return tw.Flush()
}

func (e *env) tokenRevoke(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("admin token revoke", flag.ContinueOnError)
	e.common(fs)
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return usagef("admin token revoke needs the token ID (see 'admin token list')")
	}
	id, err := strconv.ParseInt(pos[0], 10, 64)
	if err != nil || id <= 0 {
		return usagef("%q is not a token ID", pos[0])
	}
	svc, done, err := e.open(ctx)
	if err != nil {
		return err
	}
	defer done()
	if _, err := svc.DeleteToken(ctx, gatehouse.SystemActor(), id); err != nil {
		if gatehouse.IsKind(err, gatehouse.NotFound) {
			return fmt.Errorf("no token with ID %d", id)
		}
		return err
	}
	fmt.Fprintf(e.stderr, "Revoked token %d.\n", id)
	return nil
}

func (e *env) repoCollaborator(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("admin repo collaborator", flag.ContinueOnError)
	e.common(fs)
	perm := fs.String("permission", "write", "read, write, admin, or none to remove")
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 2 {
		return usagef("admin repo collaborator needs OWNER/NAME and USER")
	}
	owner, name, ok := strings.Cut(pos[0], "/")
	if !ok {
		return usagef("%q is not OWNER/NAME", pos[0])
	}
	p, ok := gatehouse.ParsePermission(*perm)
	if !ok && *perm != "none" {
		return usagef("--permission %q: use read, write, admin or none", *perm)
	}
	svc, done, err := e.open(ctx)
	if err != nil {
		return err
	}
	defer done()
	system := gatehouse.SystemActor()
	r, _, err := svc.Repo(ctx, system, owner, name, authz.Admin)
	if err != nil {
		if gatehouse.IsKind(err, gatehouse.NotFound) {
			return fmt.Errorf("no repository %s", pos[0])
		}
		return err
	}
	u, err := svc.SetCollaborator(ctx, system, r, pos[1], p)
	if err != nil {
		return err
	}
	fmt.Fprintf(e.stderr, "%s now has %s permission on %s.\n", u.Login, p, r.FullName())
	return nil
}

// orgCreate creates an organization as the system, with its first owner.
func (e *env) orgCreate(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("admin org create", flag.ContinueOnError)
	e.common(fs)
	owner := fs.String("owner", "", "login of the first owner")
	name := fs.String("name", "", "profile name")
	email := fs.String("email", "", "contact e-mail address")
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 || *owner == "" {
		return usagef("admin org create needs NAME and --owner USER")
	}
	svc, done, err := e.open(ctx)
	if err != nil {
		return err
	}
	defer done()
	org, err := svc.CreateOrg(ctx, gatehouse.SystemActor(), service.NewOrg{Login: pos[0], Name: *name, Email: *email, Owner: *owner})
	if err != nil {
		if gatehouse.IsKind(err, gatehouse.Conflict) {
			return fmt.Errorf("the name %s is already taken by a user or an organization", pos[0])
		}
		return err
	}
	fmt.Fprintf(e.stderr, "Created organization %s (id %d) owned by %s.\n", org.Login, org.ID, *owner)
	return nil
}

// orgMemberAdd changes an organization's members as the system: "ORG
// USER [--role member|admin]" adds USER, or changes their role (the last
// owner cannot be demoted).
func (e *env) orgMemberAdd(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("admin org member add", flag.ContinueOnError)
	e.common(fs)
	roleName := fs.String("role", "member", "member, or admin for an owner")
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 2 {
		return usagef("admin org member add needs ORG and USER")
	}
	role, ok := gatehouse.ParseOrgRole(*roleName)
	if !ok {
		return usagef("--role %q: use member or admin", *roleName)
	}
	svc, done, err := e.open(ctx)
	if err != nil {
		return err
	}
	defer done()
	system := gatehouse.SystemActor()
	org, err := svc.FindOrg(ctx, system, pos[0])
	if err != nil {
		if gatehouse.IsKind(err, gatehouse.NotFound) {
			return fmt.Errorf("no organization named %q", pos[0])
		}
		return err
	}
	m, err := svc.SetMembership(ctx, system, org, pos[1], role)
	if err != nil {
		return err
	}
	what := "a member"
	if m.Role == gatehouse.OrgOwner {
		what = "an owner"
	}
	fmt.Fprintf(e.stderr, "%s is now %s of %s.\n", m.User.Login, what, org.Login)
	return nil
}
