package service

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/gatehouse/gatehouse"
	"github.com/gatehouse/gatehouse/internal/authz"
	"github.com/gatehouse/gatehouse/internal/notify"
	"github.com/gatehouse/gatehouse/internal/token"
)

// NewFineGrained describes a fine-grained personal access token to issue.
type NewFineGrained struct {
	UserID      int64
	Name        string
	Description string
	// Owner is the resource owner's login: the user or one of their
	// organizations.
	Owner string
	Repos gatehouse.RepoAccess
	// RepoNames are the selected repositories' names (Repos ==
	// SelectedRepos), without the owner; "OWNER/NAME" works too.
	RepoNames   []string
	Permissions token.Perms
	// Expires takes the forms of NewToken.Expires.
	Expires string
}

// FineGrainedTarget is a resource owner a user may create fine-grained
// tokens for, with the policy that applies to them.
type FineGrainedTarget struct {
	Owner  *gatehouse.User
	Role   gatehouse.OrgRole // "" for the user themselves
	Policy gatehouse.TokenPolicy
}

// FineGrainedTargets lists the resource owners userID may choose: their
// own account, then their organizations by login.
func (s *Service) FineGrainedTargets(ctx context.Context, actor *gatehouse.Actor, userID int64) ([]FineGrainedTarget, error) {
	if err := authz.ManageTokens(actor, userID); err != nil {
		return nil, err
	}
	u, err := s.store.FindUserByID(ctx, userID)
	if err != nil {
		return nil, err
	}
	out := []FineGrainedTarget{{Owner: u}}
	ms, err := s.orgs.ListUserMemberships(ctx, userID, gatehouse.Page{PerPage: 100})
	if err != nil {
		return nil, err
	}
	for _, m := range ms {
		p, err := s.orgs.TokenPolicy(ctx, m.Org.ID)
		if err != nil {
			return nil, err
		}
		out = append(out, FineGrainedTarget{Owner: m.Org, Role: m.Role, Policy: p})
	}
	return out, nil
}

// CreateFineGrainedToken issues a fine-grained token (SPEC §10). The user
// manages their own tokens in a browser session (authz.ManageTokens); the
// resource owner is the user or an organization they belong to whose
// policy allows fine-grained tokens; selected repositories (1 to 50) are
// the owner's and visible to the user. A token for an organization that
// requires approval is pending unless its creator owns the organization.
// Errors: Invalid (name, description, owner, repositories, permissions,
// expiry or a policy limit), Conflict (name taken), NotFound.
func (s *Service) CreateFineGrainedToken(ctx context.Context, actor *gatehouse.Actor, nf NewFineGrained) (*IssuedToken, error) {
	const op = "create token"
	if err := authz.ManageTokens(actor, nf.UserID); err != nil {
		return nil, err
	}
	name, err := checkNote(op, nf.Name)
	if err != nil {
		return nil, fieldRenamed(err, "name")
	}
	desc, err := checkTokenDescription(op, nf.Description)
	if err != nil {
		return nil, err
	}
	user, err := s.store.FindUserByID(ctx, nf.UserID)
	if err != nil {
		return nil, err
	}
	if user.IsOrg {
		return nil, &gatehouse.Error{Op: op, Kind: gatehouse.Invalid, Field: "user", Msg: "organizations cannot have personal access tokens; create one for a member"}
	}
	target, role, policy, err := s.fineGrainedTarget(ctx, op, user, nf.Owner)
	if err != nil {
		return nil, err
	}
	perms, err := checkPerms(op, target, nf.Permissions)
	if err != nil {
		return nil, err
	}
	t := &gatehouse.Token{UserID: user.ID, Kind: gatehouse.FineGrainedToken, Note: name, Description: desc,
		TargetID: target.ID, Permissions: perms}
	if t.Repos, t.RepoIDs, err = s.selection(ctx, op, user, target, nf.Repos, nf.RepoNames); err != nil {
		return nil, err
	}
	if t.ExpiresAt, err = s.fineGrainedExpiry(ctx, op, nf.Expires, target, policy); err != nil {
		return nil, err
	}
	if authz.NeedsApproval(target, role, policy) {
		t.Approval = gatehouse.TokenPending
	}
	secret, err := token.GenerateFineGrained(s.prefix)
	if err != nil {
		return nil, gatehouse.Wrap(op, gatehouse.Internal, err)
	}
	t.Hash, t.LastEight = token.Hash(secret), token.LastEight(secret)
	if err := s.store.CreateToken(ctx, t); err != nil {
		return nil, err
	}
	s.recordToken(ctx, actor, gatehouse.AuditTokenCreate, t, "")
	if t.Approval == gatehouse.TokenPending {
		s.record(ctx, actor, gatehouse.AuditEvent{Action: gatehouse.AuditTokenRequest, UserID: t.UserID, TokenID: t.ID, Note: t.Note, Detail: "org=" + target.Login})
	}
	return &IssuedToken{Token: t, Secret: secret}, nil
}

// checkPerms normalizes the permissions of a token for target, refusing
// those of the other kind of resource owner, and returns them as stored.
func checkPerms(op string, target *gatehouse.User, ps token.Perms) (map[string]int, error) {
	perms, err := ps.Normalize()
	if err != nil {
		return nil, &gatehouse.Error{Op: op, Kind: gatehouse.Invalid, Field: "permissions", Msg: err.Error()}
	}
	out := map[string]int{}
	for name, l := range perms {
		info, _ := token.PermissionInfo(name)
		switch {
		case target.IsOrg && info.Group == token.AccountPerms:
			return nil, &gatehouse.Error{Op: op, Kind: gatehouse.Invalid, Field: "permissions",
				Msg: fmt.Sprintf("account permissions such as %s apply to tokens whose resource owner is your own account", name)}
		case !target.IsOrg && info.Group == token.OrganizationPerms:
			return nil, &gatehouse.Error{Op: op, Kind: gatehouse.Invalid, Field: "permissions",
				Msg: fmt.Sprintf("organization permissions such as %s need an organization as the resource owner", name)}
		}
		out[name] = int(l)
	}
	return out, nil
}

// ErrPendingWider is why a change to a token that waits for review was
// refused (authz.ErrPendingWider).
var ErrPendingWider = authz.ErrPendingWider

// FineGrainedAccess is what a fine-grained token reaches: repository
// access (with the selected repositories' names, as NewFineGrained's) and
// permissions.
type FineGrainedAccess struct {
	Repos       gatehouse.RepoAccess
	RepoNames   []string
	Permissions token.Perms
}

// UpdateFineGrainedAccess changes the repositories and permissions of a
// fine-grained token the actor manages; its resource owner, name and
// expiry stay. The rules of creation apply (the owner's repositories the
// user can see, 1 to 50 of them, the owner's kind of permissions, the
// organization's policy). On an organization that requires approval, a
// change that reaches further (authz.Wider), or any change of a denied
// token, is a new request: the token is pending again, reaching public
// repositories only until an owner approves it, unless its user owns the
// organization. A change that only narrows applies at once and keeps the
// approval. A token that waits for review may only narrow, so that the
// owners approve at most what they saw. Every node sees the change on the
// token's next use.
// Errors: Invalid, NotFound, Conflict (changed meanwhile: read it again).
func (s *Service) UpdateFineGrainedAccess(ctx context.Context, actor *gatehouse.Actor, id int64, a FineGrainedAccess) (*gatehouse.Token, error) {
	const op = "update token"
	old, err := s.FindToken(ctx, actor, id)
	if err != nil {
		return nil, err
	}
	if !old.FineGrained() {
		return nil, gatehouse.E(op, gatehouse.NotFound, "token not found")
	}
	user, err := s.store.FindUserByID(ctx, old.UserID)
	if err != nil {
		return nil, err
	}
	owner, err := s.store.FindUserByID(ctx, old.TargetID)
	if err != nil {
		return nil, err
	}
	target, role, policy, err := s.fineGrainedTarget(ctx, op, user, owner.Login)
	if err != nil {
		return nil, err
	}
	t := *old
	if t.Permissions, err = checkPerms(op, target, a.Permissions); err != nil {
		return nil, err
	}
	if t.Repos, t.RepoIDs, err = s.selection(ctx, op, user, target, a.Repos, a.RepoNames); err != nil {
		return nil, err
	}
	approval, review, err := authz.ApprovalAfterChange(old, &t, authz.NeedsApproval(target, role, policy))
	if errors.Is(err, authz.ErrPendingWider) {
		return nil, &gatehouse.Error{Op: op, Kind: gatehouse.Invalid, Field: "repositories", Err: ErrPendingWider, Msg: fmt.Sprintf(
			"the token waits for an owner of %s to review it, and its access can only narrow until then; delete it to cancel the request, or ask for more once it is reviewed", target.Login)}
	}
	if approval != old.Approval || review {
		t.Approval, t.ReviewerID, t.ReviewedAt, t.ReviewReason = approval, 0, time.Time{}, ""
	}
	if err := s.store.UpdateToken(ctx, &t); err != nil {
		return nil, err
	}
	s.forget(t.ID, t.UserID)
	s.recordToken(ctx, actor, gatehouse.AuditTokenUpdate, &t, "access="+string(t.Repos)+" permissions="+permSummary(t.Permissions))
	if review {
		s.record(ctx, actor, gatehouse.AuditEvent{Action: gatehouse.AuditTokenRequest, UserID: t.UserID, TokenID: t.ID, Note: t.Note, Detail: "org=" + target.Login})
	}
	return &t, nil
}

// permSummary words permissions for the audit log: name:level, sorted.
func permSummary(perms map[string]int) string {
	var out []string
	for n, l := range perms {
		out = append(out, n+":"+token.Level(l).String())
	}
	slices.Sort(out)
	return strings.Join(out, ",")
}

// fieldRenamed moves an Invalid error of checkNote to the field of a
// fine-grained token's form.
func fieldRenamed(err error, field string) error {
	if e, ok := err.(*gatehouse.Error); ok && e.Field == "note" {
		c := *e
		c.Field = field
		c.Msg = strings.Replace(c.Msg, "note", "name", 1)
		return &c
	}
	return err
}

func checkTokenDescription(op, d string) (string, error) {
	d = strings.TrimSpace(d)
	if !utf8.ValidString(d) || strings.IndexFunc(d, func(r rune) bool { return unicode.IsControl(r) && r != '\n' && r != '\r' && r != '\t' }) >= 0 {
		return "", &gatehouse.Error{Op: op, Kind: gatehouse.Invalid, Field: "description", Msg: "the description must be printable text"}
	}
	if utf8.RuneCountInString(d) > 1024 {
		return "", &gatehouse.Error{Op: op, Kind: gatehouse.Invalid, Field: "description", Msg: "the description is too long (at most 1024 characters)"}
	}
	return d, nil
}

// fineGrainedTarget resolves the resource owner: the user themselves (by
// default), or an organization they belong to that does not restrict
// fine-grained tokens.
func (s *Service) fineGrainedTarget(ctx context.Context, op string, user *gatehouse.User, login string) (*gatehouse.User, gatehouse.OrgRole, gatehouse.TokenPolicy, error) {
	var none gatehouse.TokenPolicy
	if login == "" || strings.EqualFold(login, user.Login) {
		return user, "", none, nil
	}
	bad := &gatehouse.Error{Op: op, Kind: gatehouse.Invalid, Field: "owner",
		Msg: fmt.Sprintf("the resource owner must be your account or an organization you belong to; %q is neither", login)}
	if !gatehouse.ValidLogin(login) {
		return nil, "", none, bad
	}
	org, err := s.store.FindUserByLogin(ctx, login)
	if gatehouse.IsKind(err, gatehouse.NotFound) || (err == nil && !org.IsOrg) {
		return nil, "", none, bad
	}
	if err != nil {
		return nil, "", none, err
	}
	role, err := s.orgs.Membership(ctx, org.ID, user.ID)
	if err != nil {
		return nil, "", none, err
	}
	if role == "" {
		return nil, "", none, bad
	}
	p, err := s.orgs.TokenPolicy(ctx, org.ID)
	if err != nil {
		return nil, "", none, err
	}
	if p.RestrictFineGrained {
		return nil, "", none, &gatehouse.Error{Op: op, Kind: gatehouse.Invalid, Field: "owner", Msg: authz.MsgFineGrainedRestricted(org.Login)}
	}
	return org, role, p, nil
}

// selection checks a repository access choice and resolves the names of
// selected repositories to IDs: 1 to 50 repositories of the resource
// owner that the user can see.
func (s *Service) selection(ctx context.Context, op string, user, target *gatehouse.User, access gatehouse.RepoAccess, names []string) (gatehouse.RepoAccess, []int64, error) {
	switch access {
	case "", gatehouse.PublicRepos:
		if len(names) > 0 {
			return "", nil, &gatehouse.Error{Op: op, Kind: gatehouse.Invalid, Field: "repositories", Msg: `repositories are chosen only with "Only select repositories"`}
		}
		return gatehouse.PublicRepos, nil, nil
	case gatehouse.AllRepos:
		return access, nil, nil
	case gatehouse.SelectedRepos:
	default:
		return "", nil, &gatehouse.Error{Op: op, Kind: gatehouse.Invalid, Field: "repository_access", Msg: `repository access is "public", "all" or "selected"`}
	}
	var ids []int64
	for _, n := range names {
		n = strings.TrimSpace(n)
		if n == "" {
			continue
		}
		if o, rest, ok := strings.Cut(n, "/"); ok {
			if !strings.EqualFold(o, target.Login) {
				return "", nil, &gatehouse.Error{Op: op, Kind: gatehouse.Invalid, Field: "repositories",
					Msg: fmt.Sprintf("%s is not a repository of %s, the token's resource owner", n, target.Login)}
			}
			n = rest
		}
		notFound := &gatehouse.Error{Op: op, Kind: gatehouse.Invalid, Field: "repositories",
			Msg: fmt.Sprintf("%s has no repository named %q that you can see", target.Login, n)}
		if !gatehouse.ValidRepoName(n) {
			return "", nil, notFound
		}
		r, err := s.store.FindRepo(ctx, target.Login, n)
		if gatehouse.IsKind(err, gatehouse.NotFound) {
			return "", nil, notFound
		}
		if err != nil {
			return "", nil, err
		}
		role, err := s.Role(ctx, &gatehouse.Actor{User: user}, r)
		if err != nil {
			return "", nil, err
		}
		if role < gatehouse.PermRead {
			return "", nil, notFound
		}
		if !slices.Contains(ids, r.ID) {
			ids = append(ids, r.ID)
		}
	}
	if len(ids) == 0 {
		return "", nil, &gatehouse.Error{Op: op, Kind: gatehouse.Invalid, Field: "repositories", Msg: "choose at least one repository, or another repository access"}
	}
	if len(ids) > gatehouse.MaxSelectedRepos {
		return "", nil, &gatehouse.Error{Op: op, Kind: gatehouse.Invalid, Field: "repositories",
			Msg: fmt.Sprintf("a token can select at most %d repositories; choose \"All repositories\" instead", gatehouse.MaxSelectedRepos)}
	}
	slices.Sort(ids)
	return gatehouse.SelectedRepos, ids, nil
}

// fineGrainedExpiry applies the site's token policy and, for an
// organization, its maximum lifetime; "no expiration" is for tokens of
// the user's own account only.
func (s *Service) fineGrainedExpiry(ctx context.Context, op, expires string, target *gatehouse.User, p gatehouse.TokenPolicy) (time.Time, error) {
	exp, err := s.expiry(ctx, op, expires)
	if err != nil {
		return exp, err
	}
	if !target.IsOrg {
		return exp, nil
	}
	if exp.IsZero() {
		return exp, &gatehouse.Error{Op: op, Kind: gatehouse.Invalid, Field: "expires",
			Msg: "a token for an organization must expire; choose an expiration"}
	}
	if max := p.MaxFineGrainedDays; max > 0 && exp.After(s.now().Add(time.Duration(max)*24*time.Hour+time.Minute)) {
		return exp, &gatehouse.Error{Op: op, Kind: gatehouse.Invalid, Field: "expires",
			Msg: fmt.Sprintf("%s allows fine-grained tokens that live at most %d days; choose an earlier expiration", target.Login, max)}
	}
	return exp, nil
}

// regenerateSecret returns a new secret of t's kind.
func (s *Service) regenerateSecret(t *gatehouse.Token) (string, error) {
	if t.FineGrained() {
		return token.GenerateFineGrained(s.prefix)
	}
	return token.Generate(s.prefix)
}

// regenerationExpiry checks a regenerated token's expiry against the
// policies that apply to it.
func (s *Service) regenerationExpiry(ctx context.Context, op, expires string, t *gatehouse.Token) (time.Time, error) {
	if !t.FineGrained() {
		return s.expiry(ctx, op, expires)
	}
	target, err := s.store.FindUserByID(ctx, t.TargetID)
	if err != nil {
		return time.Time{}, err
	}
	var p gatehouse.TokenPolicy
	if target.IsOrg {
		if p, err = s.orgs.TokenPolicy(ctx, target.ID); err != nil {
			return time.Time{}, err
		}
	}
	return s.fineGrainedExpiry(ctx, op, expires, target, p)
}

// UpdateFineGrainedToken changes the name and description of a
// fine-grained token the actor manages.
func (s *Service) UpdateFineGrainedToken(ctx context.Context, actor *gatehouse.Actor, id int64, name, description string) (*gatehouse.Token, error) {
	const op = "update token"
	t, err := s.FindToken(ctx, actor, id)
	if err != nil {
		return nil, err
	}
	if !t.FineGrained() {
		return nil, gatehouse.E(op, gatehouse.NotFound, "token not found")
	}
	if t.Note, err = checkNote(op, name); err != nil {
		return nil, fieldRenamed(err, "name")
	}
	if t.Description, err = checkTokenDescription(op, description); err != nil {
		return nil, err
	}
	if err := s.store.UpdateToken(ctx, t); err != nil {
		return nil, err
	}
	s.forget(t.ID, t.UserID)
	s.recordToken(ctx, actor, gatehouse.AuditTokenUpdate, t, "")
	return t, nil
}

// TokenTarget returns the resource owner of a fine-grained token (nil for
// a classic one) and the names of its selected repositories. Repositories
// deleted since are gone from the selection.
func (s *Service) TokenTarget(ctx context.Context, t *gatehouse.Token) (*gatehouse.User, []*gatehouse.Repo, error) {
	if !t.FineGrained() {
		return nil, nil, nil
	}
	target, err := s.store.FindUserByID(ctx, t.TargetID)
	if err != nil {
		return nil, nil, err
	}
	var repos []*gatehouse.Repo
	for _, id := range t.RepoIDs {
		r, err := s.store.FindRepoByID(ctx, id)
		if gatehouse.IsKind(err, gatehouse.NotFound) {
			continue
		}
		if err != nil {
			return nil, nil, err
		}
		repos = append(repos, r)
	}
	return target, repos, nil
}

// Organization policy and review (SPEC §10.4). Owners do all of it: in a
// browser session, or with a classic admin:org token, or a fine-grained
// one with organization_administration: write that targets the
// organization (authz.EditOrg after authz.OrgAccess).

// OrgTokenPolicy returns org's personal access token policy.
func (s *Service) OrgTokenPolicy(ctx context.Context, actor *gatehouse.Actor, org *gatehouse.User) (gatehouse.TokenPolicy, error) {
	if err := s.ownOrg(ctx, actor, org); err != nil {
		return gatehouse.TokenPolicy{}, err
	}
	return s.orgs.TokenPolicy(ctx, org.ID)
}

// SetOrgTokenPolicy saves org's policy. It applies at once to every use
// of a token: the policy is read on each decision, not cached.
func (s *Service) SetOrgTokenPolicy(ctx context.Context, actor *gatehouse.Actor, org *gatehouse.User, p gatehouse.TokenPolicy) error {
	const op = "set token policy"
	if err := s.ownOrg(ctx, actor, org); err != nil {
		return err
	}
	if p.MaxClassicDays < 0 || p.MaxFineGrainedDays < 0 || p.MaxClassicDays > 3650 || p.MaxFineGrainedDays > 3650 {
		return &gatehouse.Error{Op: op, Kind: gatehouse.Invalid, Field: "max_lifetime", Msg: "a maximum lifetime is 1 to 3650 days, or empty for none"}
	}
	p.OrgID = org.ID
	if err := s.orgs.SetTokenPolicy(ctx, p); err != nil {
		return err
	}
	s.record(ctx, actor, gatehouse.AuditEvent{Action: gatehouse.AuditTokenPolicy, UserID: actor.UserID(), Note: org.Login,
		Detail: fmt.Sprintf("restrict_classic=%t restrict_fine_grained=%t require_approval=%t max_classic_days=%d max_fine_grained_days=%d",
			p.RestrictClassic, p.RestrictFineGrained, p.RequireApproval, p.MaxClassicDays, p.MaxFineGrainedDays)})
	return nil
}

func (s *Service) ownOrg(ctx context.Context, actor *gatehouse.Actor, org *gatehouse.User) error {
	role, err := s.OrgRole(ctx, actor, org)
	if err != nil {
		return err
	}
	return authz.EditOrg(actor, role)
}

// OrgToken is a fine-grained token that targets an organization, with
// its owner's login.
type OrgToken struct {
	Token *gatehouse.Token
	Owner *gatehouse.User
	Repos []*gatehouse.Repo
}

// OrgTokens lists the fine-grained tokens that target org: pending
// requests when requests is set, approved tokens otherwise.
func (s *Service) OrgTokens(ctx context.Context, actor *gatehouse.Actor, org *gatehouse.User, requests bool, page gatehouse.Page) ([]OrgToken, error) {
	if err := s.ownOrg(ctx, actor, org); err != nil {
		return nil, err
	}
	f := gatehouse.TokenFilter{Kind: gatehouse.FineGrainedToken, KindSet: true, TargetID: org.ID}
	if requests {
		f.Approval, f.ApprovalSet = gatehouse.TokenPending, true
	} else {
		f.Approval, f.ApprovalSet = gatehouse.TokenApproved, true
	}
	ts, err := s.store.ListTokens(ctx, f, page)
	if err != nil {
		return nil, err
	}
	out := make([]OrgToken, 0, len(ts))
	for _, t := range ts {
		u, err := s.store.FindUserByID(ctx, t.UserID)
		if err != nil {
			return nil, err
		}
		_, repos, err := s.TokenTarget(ctx, t)
		if err != nil {
			return nil, err
		}
		out = append(out, OrgToken{Token: t, Owner: u, Repos: repos})
	}
	return out, nil
}

// OrgTokenByID returns a fine-grained token that targets org.
func (s *Service) OrgTokenByID(ctx context.Context, actor *gatehouse.Actor, org *gatehouse.User, id int64) (*OrgToken, error) {
	if err := s.ownOrg(ctx, actor, org); err != nil {
		return nil, err
	}
	t, err := s.store.FindTokenByID(ctx, id)
	if err != nil {
		return nil, err
	}
	if !t.FineGrained() || t.TargetID != org.ID {
		return nil, gatehouse.E("find token", gatehouse.NotFound, "Not Found")
	}
	u, err := s.store.FindUserByID(ctx, t.UserID)
	if err != nil {
		return nil, err
	}
	_, repos, err := s.TokenTarget(ctx, t)
	if err != nil {
		return nil, err
	}
	return &OrgToken{Token: t, Owner: u, Repos: repos}, nil
}

// ReviewTokenRequest approves or denies a pending fine-grained token that
// targets org, with an optional reason, and e-mails the requester the
// decision. Approval takes effect at once on every node (the store
// records an invalidation). Errors: NotFound, Forbidden, Invalid (not
// pending any more, reason too long).
func (s *Service) ReviewTokenRequest(ctx context.Context, actor *gatehouse.Actor, org *gatehouse.User, id int64, approve bool, reason string) (*gatehouse.Token, error) {
	const op = "review token request"
	ot, err := s.OrgTokenByID(ctx, actor, org, id)
	if err != nil {
		return nil, err
	}
	t := ot.Token
	if t.Approval != gatehouse.TokenPending {
		return nil, &gatehouse.Error{Op: op, Kind: gatehouse.Invalid, Field: "action", Msg: "this token is not waiting for review: it is " + approvalWord(t.Approval)}
	}
	reason = strings.TrimSpace(reason)
	if utf8.RuneCountInString(reason) > 1024 || !utf8.ValidString(reason) {
		return nil, &gatehouse.Error{Op: op, Kind: gatehouse.Invalid, Field: "reason", Msg: "the reason is at most 1024 characters of text"}
	}
	action := gatehouse.AuditTokenApprove
	t.Approval = gatehouse.TokenApproved
	if !approve {
		action, t.Approval = gatehouse.AuditTokenDeny, gatehouse.TokenDenied
	}
	t.ReviewerID, t.ReviewedAt, t.ReviewReason = actor.UserID(), s.now(), reason
	if err := s.store.UpdateToken(ctx, t); err != nil {
		return nil, err
	}
	s.forget(t.ID, t.UserID)
	s.record(ctx, actor, gatehouse.AuditEvent{Action: action, UserID: t.UserID, TokenID: t.ID, Note: t.Note, Detail: "org=" + org.Login})
	if ot.Owner.Email != "" {
		if err := s.mailer.Send(ctx, notify.ReviewMessage(ot.Owner, t, org, approve, reason, s.externalURL)); err != nil {
			s.log.Warn("token review e-mail not sent", "user", ot.Owner.Login, "token_id", t.ID, "err", err)
		}
	}
	return t, nil
}

// RevokeOrgToken revokes a fine-grained token that targets org: the token
// is deleted, as GitHub's owners revoke a token's access.
func (s *Service) RevokeOrgToken(ctx context.Context, actor *gatehouse.Actor, org *gatehouse.User, id int64) error {
	ot, err := s.OrgTokenByID(ctx, actor, org, id)
	if err != nil {
		return err
	}
	if actor.Token != nil && actor.Token.ID == id {
		return gatehouse.E("revoke token", gatehouse.Forbidden, authz.MsgTokenInUse)
	}
	if err := s.store.DeleteToken(ctx, id); err != nil {
		return err
	}
	s.forget(id, ot.Token.UserID)
	s.record(ctx, actor, gatehouse.AuditEvent{Action: gatehouse.AuditTokenOrgRevoke, UserID: ot.Token.UserID, TokenID: id, Note: ot.Token.Note, Detail: "org=" + org.Login})
	return nil
}

func approvalWord(a gatehouse.TokenApproval) string {
	if a == gatehouse.TokenDenied {
		return "denied"
	}
	return "approved"
}
