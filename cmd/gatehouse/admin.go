package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
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
	"github.com/gatehouse/gatehouse/internal/token"
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
	note := fs.String("note", "", "what the token is for: the note of a classic token, the name of a\nfine-grained one (unique per user)")
	scopes := fs.String("scopes", "", "classic tokens: comma-separated scopes (none: public read only)")
	expires := fs.String("expires", "30d", "7d, 30d, 60d, 90d (any Nd), YYYY-MM-DD, or never\n(a fine-grained token for an organization must expire)")
	fine := fs.Bool("fine-grained", false, "create a fine-grained token: for one resource owner (--owner), on chosen\nrepositories (--repos), with per-area permissions (--permissions)")
	owner := fs.String("owner", "", "fine-grained: the resource owner, the user or an organization they belong to\n(default: the user)")
	repos := fs.String("repos", "public", "fine-grained: public (public repositories, read-only), all (every repository\nof the owner, present and future), or a comma-separated list of 1 to 50 of\nthe owner's repositories (NAME or OWNER/NAME)")
	perms := fs.String("permissions", "", "fine-grained: comma-separated NAME:read or NAME:write, NAME one of\n"+permissionNames()+"\n(metadata:read is always included; none: public read only)")
	desc := fs.String("description", "", "fine-grained: what the token is for, at more length")
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) > 0 || *user == "" || *note == "" {
		return usagef("admin token create needs --user and --note")
	}
	given := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { given[f.Name] = true })
	if *fine && given["scopes"] {
		return usagef("fine-grained tokens have --permissions, not --scopes")
	}
	if !*fine {
		for _, n := range []string{"owner", "repos", "permissions", "description"} {
			if given[n] {
				return usagef("--%s is for fine-grained tokens: add --fine-grained", n)
			}
		}
	}
	var nf service.NewFineGrained
	if *fine {
		a, err := parseAccess(*repos, *perms)
		if err != nil {
			return err
		}
		nf = service.NewFineGrained{Name: *note, Description: *desc, Owner: *owner, Repos: a.Repos, RepoNames: a.RepoNames, Permissions: a.Permissions, Expires: *expires}
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
	if *fine {
		nf.UserID = u.ID
		return e.fineGrainedCreate(ctx, svc, u, nf)
	}
	it, err := svc.CreateToken(ctx, system, service.NewToken{UserID: u.ID, Note: *note, Scopes: list, Expires: *expires})
	if err != nil {
		return err
	}
	fmt.Fprintln(e.stdout, it.Secret)
	sc := strings.Join(it.Token.Scopes, ",")
	if sc == "" {
		sc = "none (public read only)"
	}
	fmt.Fprintf(e.stderr, "Token %d for %s: scopes %s; %s.", it.Token.ID, u.Login, sc, expiryPhrase(it.Token))
	if it.Dropped {
		fmt.Fprint(e.stderr, " Scopes implied by others were dropped.")
	}
	fmt.Fprintln(e.stderr, " It is shown only now.")
	return nil
}

// fineGrainedCreate issues the fine-grained token nf describes for u and
// prints it as tokenCreate prints a classic one: the secret alone on
// standard output, what it reaches on standard error.
func (e *env) fineGrainedCreate(ctx context.Context, svc *service.Service, u *gatehouse.User, nf service.NewFineGrained) error {
	it, err := svc.CreateFineGrainedToken(ctx, gatehouse.SystemActor(), nf)
	var ge *gatehouse.Error
	if errors.As(err, &ge) && ge.Kind == gatehouse.Invalid && ge.Field == "owner" && strings.HasPrefix(ge.Msg, "the resource owner must be") {
		// The service speaks to the user; here the operator acts for them.
		return fmt.Errorf("the resource owner must be %s or an organization %s belongs to; %q is neither", u.Login, u.Login, nf.Owner)
	}
	if err != nil {
		return err
	}
	t := it.Token
	fmt.Fprintln(e.stdout, it.Secret)
	target, repos, err := svc.TokenTarget(ctx, t)
	if err != nil || target == nil {
		target = u
	}
	fmt.Fprintf(e.stderr, "Fine-grained token %d for %s on %s: %s; permissions %s; %s.", t.ID, u.Login, target.Login,
		repoAccessPhrase(t, target, repos), permsPhrase(t), expiryPhrase(t))
	if t.Approval == gatehouse.TokenPending {
		fmt.Fprintf(e.stderr, " Pending: until an owner of %s approves it (admin org token-review %s %d --approve), it reads public repositories only.",
			target.Login, target.Login, t.ID)
	}
	fmt.Fprintln(e.stderr, " It is shown only now.")
	return nil
}

// parseID reads the ID of a what ("token", "key" …) given as an argument.
func parseID(arg, what string) (int64, error) {
	id, err := strconv.ParseInt(arg, 10, 64)
	if err != nil || id <= 0 {
		return 0, usagef("%q is not a %s ID", arg, what)
	}
	return id, nil
}

// parseAccess reads --repos and --permissions.
func parseAccess(repos, perms string) (service.FineGrainedAccess, error) {
	ps, err := token.ParsePerms(perms)
	if err != nil {
		return service.FineGrainedAccess{}, usagef("--permissions: %v", err)
	}
	access, names, err := parseRepoAccess(repos)
	if err != nil {
		return service.FineGrainedAccess{}, err
	}
	return service.FineGrainedAccess{Repos: access, RepoNames: names, Permissions: ps}, nil
}

// parseRepoAccess reads --repos: public, all, or a list of repositories.
// A repository named "all" or "public" is selected as OWNER/all.
func parseRepoAccess(s string) (gatehouse.RepoAccess, []string, error) {
	switch v := strings.ToLower(strings.TrimSpace(s)); v {
	case "public", "":
		return gatehouse.PublicRepos, nil, nil
	case "all":
		return gatehouse.AllRepos, nil, nil
	}
	var names []string
	for _, n := range strings.Split(s, ",") {
		if n = strings.TrimSpace(n); n != "" {
			names = append(names, n)
		}
	}
	if len(names) == 0 {
		return "", nil, usagef("--repos %q: give public, all, or repository names", s)
	}
	return gatehouse.SelectedRepos, names, nil
}

// permissionNames lists the permissions a token may be given, one line
// per group (metadata, always there, is left out).
func permissionNames() string {
	var lines []string
	var group token.Group
	var names []string
	flush := func() {
		if len(names) > 0 {
			lines = append(lines, fmt.Sprintf("  %s (%s)", strings.Join(names, ", "), group))
		}
		names = nil
	}
	for _, p := range token.Permissions() {
		if p.Always {
			continue
		}
		if p.Group != group {
			flush()
			group = p.Group
		}
		names = append(names, p.Name)
	}
	flush()
	return strings.Join(lines, "\n")
}

// expiryPhrase says when t expires.
func expiryPhrase(t *gatehouse.Token) string {
	if t.ExpiresAt.IsZero() {
		return "never expires"
	}
	return "expires " + t.ExpiresAt.UTC().Format("2006-01-02 15:04:05 UTC")
}

// tokenPerms returns a fine-grained token's permissions.
func tokenPerms(t *gatehouse.Token) token.Perms {
	ps := token.Perms{}
	for n, l := range t.Permissions {
		ps[n] = token.Level(l)
	}
	return ps
}

// permsPhrase lists a fine-grained token's permissions, metadata:read
// (always there) included.
func permsPhrase(t *gatehouse.Token) string {
	return tokenPerms(t).String()
}

// repoAccessPhrase says which repositories of target a fine-grained token
// reaches.
func repoAccessPhrase(t *gatehouse.Token, target *gatehouse.User, repos []*gatehouse.Repo) string {
	switch t.Repos {
	case gatehouse.AllRepos:
		return "all repositories of " + target.Login
	case gatehouse.SelectedRepos:
		return "repositories " + repoNames(repos)
	}
	return "public repositories (read-only)"
}

func repoNames(repos []*gatehouse.Repo) string {
	var n []string
	for _, r := range repos {
		n = append(n, r.Name)
	}
	if len(n) == 0 {
		return "(none left)"
	}
	return strings.Join(n, ",")
}

// kindName is how the listing names a token's kind.
func kindName(t *gatehouse.Token) string {
	if t.FineGrained() {
		return "fine-grained"
	}
	return "classic"
}

// approvalName is how the listing names a fine-grained token's standing
// with the organization it targets.
func approvalName(a gatehouse.TokenApproval) string {
	switch a {
	case gatehouse.TokenPending:
		return "pending"
	case gatehouse.TokenDenied:
		return "denied"
	}
	return "approved"
}

// tokenJSON is the --json shape of a token listing: never the secret.
// The fields after Kind's classic ones are set for fine-grained tokens
// only.
type tokenJSON struct {
	ID             int64      `json:"id"`
	User           string     `json:"user"`
	Kind           string     `json:"kind"` // classic or fine_grained
	Note           string     `json:"note"`
	Scopes         []string   `json:"scopes"`
	TokenLastEight string     `json:"token_last_eight"`
	HashedToken    string     `json:"hashed_token"`
	CreatedAt      time.Time  `json:"created_at"`
	ExpiresAt      *time.Time `json:"expires_at"`
	LastUsedAt     *time.Time `json:"last_used_at"`

	Description      string            `json:"description,omitempty"`
	Owner            string            `json:"resource_owner,omitempty"`
	RepositoryAccess string            `json:"repository_access,omitempty"` // public, all or selected
	Repositories     []string          `json:"repositories,omitempty"`      // OWNER/NAME, when selected
	Permissions      map[string]string `json:"permissions,omitempty"`       // name: read or write
	Approval         string            `json:"approval,omitempty"`          // approved, pending or denied
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
	login := func(id int64) string {
		if _, ok := logins[id]; !ok {
			if u, err := svc.UserByID(ctx, system, id); err == nil {
				logins[id] = u.Login
			}
		}
		return logins[id]
	}
	var rows []tokenJSON
	for _, t := range toks {
		row := tokenJSON{ID: t.ID, User: login(t.UserID), Kind: "classic", Note: t.Note, Scopes: t.Scopes,
			TokenLastEight: t.LastEight, HashedToken: t.Hash, CreatedAt: t.CreatedAt.UTC(),
			ExpiresAt: timePtr(t.ExpiresAt), LastUsedAt: timePtr(t.LastUsedAt)}
		if t.FineGrained() {
			row.Kind, row.Scopes = string(gatehouse.FineGrainedToken), []string{}
			row.Description, row.RepositoryAccess, row.Approval = t.Description, string(t.Repos), approvalName(t.Approval)
			row.Owner = login(t.TargetID)
			row.Permissions = map[string]string{}
			for n, l := range tokenPerms(t) {
				row.Permissions[n] = l.String()
			}
			row.Permissions["metadata"] = token.ReadOnly.String()
			if t.Repos == gatehouse.SelectedRepos {
				_, repos, err := svc.TokenTarget(ctx, t)
				if err != nil {
					return err
				}
				row.Repositories = []string{}
				for _, r := range repos {
					row.Repositories = append(row.Repositories, r.FullName())
				}
			}
		}
		rows = append(rows, row)
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
	fmt.Fprintln(tw, "ID\tUSER\tKIND\tNOTE\tOWNER\tREPOS\tAPPROVAL\tSCOPES/PERMISSIONS\tLAST 8\tEXPIRES\tLAST USED")
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
		kind, owner, repos, approval, access := "classic", "-", "-", "-", strings.Join(r.Scopes, ",")
		if r.Kind != "classic" {
			kind, owner, repos, approval = "fine-grained", r.Owner, r.RepositoryAccess, r.Approval
			if r.RepositoryAccess == string(gatehouse.SelectedRepos) {
				var names []string
				for _, full := range r.Repositories {
					_, name, _ := strings.Cut(full, "/")
					names = append(names, name)
				}
				repos = "(none left)"
				if len(names) > 0 {
					repos = strings.Join(names, ",")
				}
			}
			ps := token.Perms{}
			for n, l := range r.Permissions {
				lv, _ := token.ParseLevel(l)
				ps[n] = lv
			}
			access = ps.String()
		}
		if access == "" {
			access = "-"
		}
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t…%s\t%s\t%s\n", r.ID, r.User, kind, r.Note, owner, repos, approval, access, r.TokenLastEight, exp, used)
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
	id, err := parseID(pos[0], "token")
	if err != nil {
		return err
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

// tokenAccess changes the repositories and permissions of a fine-grained
// token (Service.UpdateFineGrainedAccess), as its access page does.
func (e *env) tokenAccess(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("admin token access", flag.ContinueOnError)
	e.common(fs)
	repos := fs.String("repos", "", "public, all, or a comma-separated list of 1 to 50 of the resource owner's\nrepositories (NAME or OWNER/NAME)")
	perms := fs.String("permissions", "", "comma-separated NAME:read or NAME:write, NAME one of\n"+permissionNames()+"\n(none: metadata only)")
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	given := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { given[f.Name] = true })
	if len(pos) != 1 || !given["repos"] || !given["permissions"] {
		return usagef("admin token access needs the token ID, --repos and --permissions (the whole new access)")
	}
	id, err := parseID(pos[0], "token")
	if err != nil {
		return err
	}
	a, err := parseAccess(*repos, *perms)
	if err != nil {
		return err
	}
	svc, done, err := e.open(ctx)
	if err != nil {
		return err
	}
	defer done()
	system := gatehouse.SystemActor()
	t, err := svc.UpdateFineGrainedAccess(ctx, system, id, a)
	if gatehouse.IsKind(err, gatehouse.NotFound) {
		return fmt.Errorf("no fine-grained token with ID %d", id)
	}
	if err != nil {
		return err
	}
	target, selected, err := svc.TokenTarget(ctx, t)
	if err != nil {
		return err
	}
	fmt.Fprintf(e.stderr, "Fine-grained token %d on %s: %s; permissions %s.", t.ID, target.Login, repoAccessPhrase(t, target, selected), permsPhrase(t))
	if t.Approval == gatehouse.TokenPending {
		fmt.Fprintf(e.stderr, " Pending: until an owner of %s approves it (admin org token-review %s %d --approve), it reads public repositories only.",
			target.Login, target.Login, t.ID)
	}
	fmt.Fprintln(e.stderr)
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

// findOrg finds the organization named login, as the system.
func findOrg(ctx context.Context, svc *service.Service, login string) (*gatehouse.User, error) {
	org, err := svc.FindOrg(ctx, gatehouse.SystemActor(), login)
	if gatehouse.IsKind(err, gatehouse.NotFound) {
		return nil, fmt.Errorf("no organization named %q", login)
	}
	return org, err
}

// policyJSON is the --json shape of an organization's token policy; the
// names are those of the flags that change it.
type policyJSON struct {
	Org                 string `json:"org"`
	RestrictClassic     bool   `json:"restrict_classic"`
	RestrictFineGrained bool   `json:"restrict_fine_grained"`
	RequireApproval     bool   `json:"require_approval"`
	MaxClassicDays      int    `json:"max_classic_days"`
	MaxFineGrainedDays  int    `json:"max_fine_grained_days"`
}

// orgTokenPolicy prints an organization's personal access token policy
// (SPEC §10.4), after changing the fields whose flags are given.
func (e *env) orgTokenPolicy(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("admin org token-policy", flag.ContinueOnError)
	e.common(fs)
	restrictClassic := fs.Bool("restrict-classic", false, "refuse personal access tokens (classic) on the organization's resources\n(=false allows them again; omitted: unchanged)")
	restrictFine := fs.Bool("restrict-fine-grained", false, "refuse fine-grained tokens that target the organization\n(=false allows them again; omitted: unchanged)")
	approval := fs.Bool("require-approval", false, "fine-grained tokens of members who are not owners wait for an owner's\napproval (the default policy; =false approves them at once; omitted: unchanged)")
	maxClassic := fs.Int("max-classic-days", 0, "longest lifetime of a classic token used on the organization, in days\n(0: no limit; omitted: unchanged)")
	maxFine := fs.Int("max-fine-grained-days", 0, "longest lifetime of a fine-grained token that targets the organization,\nin days (0: no limit; omitted: unchanged)")
	asJSON := fs.Bool("json", false, "print JSON")
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return usagef("admin org token-policy needs ORG")
	}
	given := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { given[f.Name] = true })
	for _, n := range []string{"max-classic-days", "max-fine-grained-days"} {
		if f := fs.Lookup(n); given[n] {
			if d := f.Value.(flag.Getter).Get().(int); d < 0 || d > 3650 {
				return usagef("--%s %s: give a number of days up to 3650, or 0 for no limit", n, f.Value)
			}
		}
	}
	svc, done, err := e.open(ctx)
	if err != nil {
		return err
	}
	defer done()
	system := gatehouse.SystemActor()
	org, err := findOrg(ctx, svc, pos[0])
	if err != nil {
		return err
	}
	p, err := svc.OrgTokenPolicy(ctx, system, org)
	if err != nil {
		return err
	}
	changed := false
	set := func(name string, apply func()) {
		if given[name] {
			apply()
			changed = true
		}
	}
	set("restrict-classic", func() { p.RestrictClassic = *restrictClassic })
	set("restrict-fine-grained", func() { p.RestrictFineGrained = *restrictFine })
	set("require-approval", func() { p.RequireApproval = *approval })
	set("max-classic-days", func() { p.MaxClassicDays = *maxClassic })
	set("max-fine-grained-days", func() { p.MaxFineGrainedDays = *maxFine })
	if changed {
		if err := svc.SetOrgTokenPolicy(ctx, system, org, p); err != nil {
			return err
		}
		if p, err = svc.OrgTokenPolicy(ctx, system, org); err != nil {
			return err
		}
		fmt.Fprintf(e.stderr, "Saved the personal access token policy of %s.\n", org.Login)
	}
	if *asJSON {
		enc := json.NewEncoder(e.stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(policyJSON{Org: org.Login, RestrictClassic: p.RestrictClassic, RestrictFineGrained: p.RestrictFineGrained,
			RequireApproval: p.RequireApproval, MaxClassicDays: p.MaxClassicDays, MaxFineGrainedDays: p.MaxFineGrainedDays})
	}
	days := func(n int) string {
		if n == 0 {
			return "0 (no limit)"
		}
		return strconv.Itoa(n)
	}
	tw := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "restrict-classic\t%t\n", p.RestrictClassic)
	fmt.Fprintf(tw, "restrict-fine-grained\t%t\n", p.RestrictFineGrained)
	fmt.Fprintf(tw, "require-approval\t%t\n", p.RequireApproval)
	fmt.Fprintf(tw, "max-classic-days\t%s\n", days(p.MaxClassicDays))
	fmt.Fprintf(tw, "max-fine-grained-days\t%s\n", days(p.MaxFineGrainedDays))
	return tw.Flush()
}

// requestJSON is the --json shape of a pending token request.
type requestJSON struct {
	ID               int64             `json:"id"`
	User             string            `json:"user"`
	Name             string            `json:"name"`
	Description      string            `json:"description,omitempty"`
	RepositoryAccess string            `json:"repository_access"`
	Repositories     []string          `json:"repositories,omitempty"`
	Permissions      map[string]string `json:"permissions"`
	CreatedAt        time.Time         `json:"created_at"`
	ExpiresAt        *time.Time        `json:"expires_at"`
}

// orgTokenRequests lists the fine-grained tokens that wait for an owner
// of an organization to approve them.
func (e *env) orgTokenRequests(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("admin org token-requests", flag.ContinueOnError)
	e.common(fs)
	asJSON := fs.Bool("json", false, "print JSON")
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return usagef("admin org token-requests needs ORG")
	}
	svc, done, err := e.open(ctx)
	if err != nil {
		return err
	}
	defer done()
	org, err := findOrg(ctx, svc, pos[0])
	if err != nil {
		return err
	}
	var reqs []service.OrgToken
	for p := 1; ; p++ {
		page, err := svc.OrgTokens(ctx, gatehouse.SystemActor(), org, true, gatehouse.Page{Page: p, PerPage: 100})
		if err != nil {
			return err
		}
		reqs = append(reqs, page...)
		if len(page) < 100 {
			break
		}
	}
	rows := []requestJSON{}
	for _, ot := range reqs {
		t := ot.Token
		r := requestJSON{ID: t.ID, User: ot.Owner.Login, Name: t.Note, Description: t.Description, RepositoryAccess: string(t.Repos),
			Permissions: map[string]string{"metadata": token.ReadOnly.String()}, CreatedAt: t.CreatedAt.UTC(), ExpiresAt: timePtr(t.ExpiresAt)}
		for n, l := range tokenPerms(t) {
			r.Permissions[n] = l.String()
		}
		for _, repo := range ot.Repos {
			r.Repositories = append(r.Repositories, repo.FullName())
		}
		rows = append(rows, r)
	}
	if *asJSON {
		enc := json.NewEncoder(e.stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(rows)
	}
	if len(rows) == 0 {
		fmt.Fprintf(e.stderr, "No token requests wait for an owner of %s.\n", org.Login)
		return nil
	}
	tw := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tUSER\tNAME\tREPOS\tPERMISSIONS\tREQUESTED\tEXPIRES")
	for i, r := range rows {
		repos := r.RepositoryAccess
		if reqs[i].Token.Repos == gatehouse.SelectedRepos {
			repos = repoNames(reqs[i].Repos)
		}
		exp := "never"
		if r.ExpiresAt != nil {
			exp = r.ExpiresAt.Format("2006-01-02")
		}
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%s\t%s\n", r.ID, r.User, r.Name, repos, permsPhrase(reqs[i].Token),
			r.CreatedAt.Format("2006-01-02 15:04"), exp)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintf(e.stderr, "Approve or deny with: gatehouse admin org token-review %s ID --approve|--deny [--reason TEXT]\n", org.Login)
	return nil
}

// orgTokenReview approves or denies a pending token request, as an
// owner does on the organization's settings page; the requester is
// e-mailed the decision.
func (e *env) orgTokenReview(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("admin org token-review", flag.ContinueOnError)
	e.common(fs)
	approve := fs.Bool("approve", false, "approve the request: the token reaches the organization at once")
	deny := fs.Bool("deny", false, "deny the request: the token keeps reading public repositories only")
	reason := fs.String("reason", "", "why, for the requester's e-mail (at most 1024 characters)")
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 2 || *approve == *deny {
		return usagef("admin org token-review needs ORG, the request ID (see 'admin org token-requests') and --approve or --deny")
	}
	id, err := parseID(pos[1], "token request")
	if err != nil {
		return err
	}
	svc, done, err := e.open(ctx)
	if err != nil {
		return err
	}
	defer done()
	org, err := findOrg(ctx, svc, pos[0])
	if err != nil {
		return err
	}
	notFound := fmt.Errorf("%s has no token request with ID %d (see 'gatehouse admin org token-requests %s')", org.Login, id, org.Login)
	ot, err := svc.OrgTokenByID(ctx, gatehouse.SystemActor(), org, id)
	if gatehouse.IsKind(err, gatehouse.NotFound) {
		return notFound
	}
	if err != nil {
		return err
	}
	if ot.Token.Approval != gatehouse.TokenPending {
		return fmt.Errorf("token %d (%q of %s) is not waiting for review: it is %s", id, ot.Token.Note, ot.Owner.Login, approvalName(ot.Token.Approval))
	}
	t, err := svc.ReviewTokenRequest(ctx, gatehouse.SystemActor(), org, id, *approve, *reason)
	if gatehouse.IsKind(err, gatehouse.NotFound) {
		return notFound
	}
	if err != nil {
		return err
	}
	verb := "Approved"
	if !*approve {
		verb = "Denied"
	}
	fmt.Fprintf(e.stderr, "%s token request %d (%q of %s) for %s.\n", verb, t.ID, t.Note, ot.Owner.Login, org.Login)
	return nil
}
