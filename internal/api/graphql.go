package api

import (
	"context"
	_ "embed"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/graph-gophers/graphql-go"
	gqlerrors "github.com/graph-gophers/graphql-go/errors"

	"github.com/gatehouse/gatehouse"
	"github.com/gatehouse/gatehouse/internal/authz"
	"github.com/gatehouse/gatehouse/internal/httpx"
	"github.com/gatehouse/gatehouse/internal/service"
)

//go:embed schema.graphql
var schemaText string

// newSchema parses the schema against the resolvers. The schema is fixed
// and checked by tests, so a failure here is a programming error.
func newSchema(h *Handler) *graphql.Schema {
	return graphql.MustParseSchema(schemaText, &gqlRoot{h: h},
		graphql.MaxDepth(15),
		// gh's largest query is under 4 KiB; overlap validation compares
		// every pair of fields in a selection, so both limits matter.
		graphql.MaxQueryLength(16<<10),
		graphql.OverlapValidationLimit(10000),
		graphql.MaxParallelism(4),
	)
}

// gqlRequest is the body of POST /api/graphql.
type gqlRequest struct {
	Query         string         `json:"query"`
	OperationName string         `json:"operationName"`
	Variables     map[string]any `json:"variables"`
}

// gqlResponse is GitHub's GraphQL answer: always HTTP 200, with data and
// errors, each error carrying GitHub's "type" (NOT_FOUND, FORBIDDEN, …)
// at the top level.
type gqlResponse struct {
	Data   json.RawMessage `json:"data,omitempty"`
	Errors []gqlErrorOut   `json:"errors,omitempty"`
}

type gqlErrorOut struct {
	Type       string               `json:"type,omitempty"`
	Path       []any                `json:"path,omitempty"`
	Extensions map[string]any       `json:"extensions,omitempty"`
	Locations  []gqlerrors.Location `json:"locations,omitempty"`
	Message    string               `json:"message"`
}

// handleGraphQL is POST /api/graphql.
func (h *Handler) handleGraphQL(rq *request) error {
	var in gqlRequest
	if err := rq.decode(&in); err != nil {
		return err
	}
	if strings.TrimSpace(in.Query) == "" {
		return rq.json(http.StatusOK, gqlResponse{Errors: []gqlErrorOut{{Message: "A query attribute must be specified and must be a string."}}})
	}
	res := h.gql.Exec(withRequest(rq.Context(), rq), in.Query, in.OperationName, in.Variables)
	out := gqlResponse{Data: res.Data}
	for _, e := range res.Errors {
		eo := gqlErrorOut{Path: e.Path, Locations: e.Locations, Message: e.Message}
		if t, ok := e.Extensions["type"].(string); ok {
			eo.Type = t
		} else if len(e.Extensions) > 0 {
			eo.Extensions = e.Extensions
		}
		if e.ResolverError != nil && eo.Type == "" {
			// An unexpected resolver failure: log it, show only its id.
			id := httpx.RequestID(rq.Context())
			h.log.Error("graphql resolver failed", "err", e.ResolverError, "path", e.Path, "request_id", id)
			eo.Message = "Something went wrong while executing your query (request " + id + ")."
		}
		out.Errors = append(out.Errors, eo)
	}
	if string(out.Data) == "null" && len(out.Errors) > 0 {
		out.Data = nil
	}
	return rq.json(http.StatusOK, out)
}

// gqlError is an error a resolver returns on purpose, with GitHub's type.
type gqlError struct {
	typ, msg string
}

func (e *gqlError) Error() string { return e.msg }

// Extensions is read by the engine; handleGraphQL lifts "type" to the top.
func (e *gqlError) Extensions() map[string]any { return map[string]any{"type": e.typ} }

func notFound(msg string) error { return &gqlError{"NOT_FOUND", msg} }

// Scalars.

// dateTime is GitHub's DateTime scalar: RFC 3339 in UTC.
type dateTime struct{ time.Time }

func (dateTime) ImplementsGraphQLType(name string) bool { return name == "DateTime" }

func (d *dateTime) UnmarshalGraphQL(input any) error {
	s, ok := input.(string)
	if !ok {
		return fmt.Errorf("DateTime must be a string")
	}
	t, err := time.Parse(time.RFC3339, s)
	d.Time = t
	return err
}

func (d dateTime) MarshalJSON() ([]byte, error) {
	return []byte(strconv.Quote(d.UTC().Format(time.RFC3339))), nil
}

// uri is GitHub's URI scalar.
type uri string

func (uri) ImplementsGraphQLType(name string) bool { return name == "URI" }

func (u *uri) UnmarshalGraphQL(input any) error {
	s, ok := input.(string)
	if !ok {
		return fmt.Errorf("URI must be a string")
	}
	*u = uri(s)
	return nil
}

func (u uri) MarshalJSON() ([]byte, error) { return []byte(strconv.Quote(string(u))), nil }

// Root resolvers.

type gqlRoot struct{ h *Handler }

func (q *gqlRoot) Viewer(ctx context.Context) (*userResolver, error) {
	rq := requestFrom(ctx)
	return &userResolver{h: q.h, u: rq.user(), viewer: true, rq: rq}, nil
}

func (q *gqlRoot) User(ctx context.Context, args struct{ Login string }) (*userResolver, error) {
	rq := requestFrom(ctx)
	u, err := q.h.svc.FindUser(ctx, rq.actor, args.Login)
	if err == nil && u.IsOrg {
		err = gatehouse.E("find user", gatehouse.NotFound, "an organization")
	}
	if err != nil {
		if gatehouse.IsKind(err, gatehouse.NotFound) {
			return nil, notFound(fmt.Sprintf("Could not resolve to a User with the login of '%s'.", args.Login))
		}
		return nil, err
	}
	return &userResolver{h: q.h, u: u, viewer: u.ID == rq.user().ID, rq: rq}, nil
}

// Organization is organization(login:): null with NOT_FOUND for a user's
// login or an unknown one.
func (q *gqlRoot) Organization(ctx context.Context, args struct{ Login string }) (*orgResolver, error) {
	rq := requestFrom(ctx)
	o, err := q.h.svc.FindOrg(ctx, rq.actor, args.Login)
	if err != nil {
		if gatehouse.IsKind(err, gatehouse.NotFound) {
			return nil, notFound(fmt.Sprintf("Could not resolve to an Organization with the login of '%s'.", args.Login))
		}
		return nil, err
	}
	return &orgResolver{h: q.h, rq: rq, o: o}, nil
}

// RepositoryOwner is repositoryOwner(login:), a user or an organization;
// gh repo list OWNER asks it for the owner's repositories.
func (q *gqlRoot) RepositoryOwner(ctx context.Context, args struct{ Login string }) (*ownerResolver, error) {
	rq := requestFrom(ctx)
	u, err := q.h.svc.FindUser(ctx, rq.actor, args.Login)
	if err != nil {
		if gatehouse.IsKind(err, gatehouse.NotFound) {
			return nil, notFound(fmt.Sprintf("Could not resolve to a RepositoryOwner with the login of '%s'.", args.Login))
		}
		return nil, err
	}
	return q.h.owner(rq, u), nil
}

// Repository is repository(owner:, name:), which follows renames unless
// followRenames is false.
func (q *gqlRoot) Repository(ctx context.Context, args struct {
	Owner, Name   string
	FollowRenames bool
}) (*repoResolver, error) {
	rq := requestFrom(ctx)
	unresolved := notFound(fmt.Sprintf("Could not resolve to a Repository with the name '%s/%s'.", args.Owner, args.Name))
	repo, perm, err := q.h.svc.Repo(ctx, rq.actor, args.Owner, args.Name, authz.Read)
	if err != nil {
		switch gatehouse.ErrorKind(err) {
		case gatehouse.NotFound, gatehouse.Unauthenticated, gatehouse.Forbidden:
			return nil, unresolved
		}
		return nil, err
	}
	if !args.FollowRenames && !strings.EqualFold(repo.Name, args.Name) {
		return nil, unresolved
	}
	return q.h.repoResolver(ctx, rq, repo, perm)
}

// archiveInput is the input of archiveRepository and unarchiveRepository.
type archiveInput struct {
	RepositoryID     graphql.ID
	ClientMutationID *string
}

type archivePayload struct {
	clientMutationID *string
	repo             *repoResolver
}

func (p *archivePayload) ClientMutationID() *string { return p.clientMutationID }
func (p *archivePayload) Repository() *repoResolver { return p.repo }

// ArchiveRepository is gh repo archive's mutation.
func (q *gqlRoot) ArchiveRepository(ctx context.Context, args struct{ Input archiveInput }) (*archivePayload, error) {
	return q.h.setArchived(ctx, "archiveRepository", args.Input, true)
}

// UnarchiveRepository makes an archived repository writable again.
func (q *gqlRoot) UnarchiveRepository(ctx context.Context, args struct{ Input archiveInput }) (*archivePayload, error) {
	return q.h.setArchived(ctx, "unarchiveRepository", args.Input, false)
}

// setArchived archives or unarchives the repository the input names, for
// an admin of it, answering as GitHub: INSUFFICIENT_SCOPES for a classic
// token without repo, NOT_FOUND for a repository the viewer cannot see,
// FORBIDDEN for one it cannot administer.
func (h *Handler) setArchived(ctx context.Context, field string, in archiveInput, archived bool) (*archivePayload, error) {
	rq := requestFrom(ctx)
	id := string(in.RepositoryID)
	if rq.actor.Token != nil && !rq.actor.Token.FineGrained() && !authz.HasScope(rq.actor, "repo") {
		return nil, &gqlError{"INSUFFICIENT_SCOPES", fmt.Sprintf(
			"Your token has not been granted the required scopes to execute this query. The '%s' field requires one of the following scopes: ['repo'], but your token has only been granted the: [%s] scopes. Please modify your token's scopes at: %s/settings/tokens.",
			field, quotedScopes(rq.actor), h.base)}
	}
	unresolved := notFound(fmt.Sprintf("Could not resolve to a node with the global id of '%s'", id))
	rid, ok := parseNodeID("Repository", id)
	if !ok {
		return nil, unresolved
	}
	mutation := strings.ToUpper(field[:1]) + field[1:]
	forbidden := &gqlError{"FORBIDDEN", fmt.Sprintf("%s does not have the correct permissions to execute `%s`", rq.user().Login, mutation)}
	repo, perm, err := h.svc.RepoByID(ctx, rq.actor, rid, authz.Admin.Need())
	if err != nil {
		switch gatehouse.ErrorKind(err) {
		case gatehouse.NotFound, gatehouse.Unauthenticated:
			return nil, unresolved
		case gatehouse.Forbidden:
			if errors.Is(err, authz.ErrPolicy) {
				return nil, &gqlError{"FORBIDDEN", gatehouse.ErrorMessage(err)}
			}
			return nil, forbidden
		}
		return nil, err
	}
	if err := h.svc.ArchiveRepo(ctx, rq.actor, repo, archived); err != nil {
		if gatehouse.IsKind(err, gatehouse.Forbidden) {
			return nil, forbidden
		}
		return nil, err
	}
	rr, err := h.repoResolver(ctx, rq, repo, perm)
	if err != nil {
		return nil, err
	}
	return &archivePayload{clientMutationID: in.ClientMutationID, repo: rr}, nil
}

type createRepoInput struct {
	Name             string
	OwnerID          *graphql.ID
	Description      *string
	Visibility       string
	Template         *bool
	HomepageURL      *uri
	HasWikiEnabled   *bool
	HasIssuesEnabled *bool
	TeamID           *graphql.ID
	ClientMutationID *string
}

type createRepoPayload struct {
	clientMutationID *string
	repo             *repoResolver
}

func (p *createRepoPayload) ClientMutationID() *string { return p.clientMutationID }
func (p *createRepoPayload) Repository() *repoResolver { return p.repo }

func (q *gqlRoot) CreateRepository(ctx context.Context, args struct{ Input createRepoInput }) (*createRepoPayload, error) {
	rq := requestFrom(ctx)
	in := args.Input
	u := rq.user()
	private := false
	switch in.Visibility {
	case "PRIVATE":
		private = true
	case "PUBLIC":
	default:
		return nil, &gqlError{"UNPROCESSABLE", "Internal visibility is not supported by this server."}
	}
	owner := u
	if in.OwnerID != nil {
		var err error
		if owner, err = q.h.nodeOwner(ctx, rq, string(*in.OwnerID)); err != nil {
			return nil, err
		}
	}
	if in.TeamID != nil {
		return nil, &gqlError{"UNPROCESSABLE", "Granting a team at creation is not supported by this server: grant it afterwards."}
	}
	if in.HomepageURL != nil && *in.HomepageURL != "" {
		return nil, &gqlError{"UNPROCESSABLE", "A homepage URL is not supported by this server."}
	}
	desc := ""
	if in.Description != nil {
		desc = *in.Description
	}
	repo, err := q.h.svc.CreateRepo(ctx, rq.actor, service.NewRepo{Owner: owner.Login, Name: in.Name, Description: desc, Private: private})
	if err != nil {
		switch gatehouse.ErrorKind(err) {
		case gatehouse.Forbidden:
			if errors.Is(err, authz.ErrNotYours) {
				return nil, &gqlError{"FORBIDDEN", fmt.Sprintf("%s does not have the correct permissions to execute `CreateRepository`", u.Login)}
			}
			if !errors.Is(err, authz.ErrScope) {
				return nil, &gqlError{"FORBIDDEN", gatehouse.ErrorMessage(err)}
			}
			need := "public_repo"
			if private {
				need = "repo"
			}
			return nil, &gqlError{"INSUFFICIENT_SCOPES", fmt.Sprintf(
				"Your token has not been granted the required scopes to execute this query. The 'createRepository' field requires one of the following scopes: ['%s'], but your token has only been granted the: [%s] scopes. Please modify your token's scopes at: %s/settings/tokens.",
				need, quotedScopes(rq.actor), q.h.base)}
		case gatehouse.Conflict:
			return nil, &gqlError{"UNPROCESSABLE", "Name already exists on this account"}
		case gatehouse.Invalid:
			return nil, &gqlError{"UNPROCESSABLE", gatehouse.ErrorMessage(err)}
		}
		return nil, err
	}
	perm := gatehouse.PermAdmin
	if owner.IsOrg {
		if perm, err = q.h.svc.Role(ctx, rq.actor, repo); err != nil {
			return nil, err
		}
	}
	rr, err := q.h.repoResolver(ctx, rq, repo, perm)
	if err != nil {
		return nil, err
	}
	return &createRepoPayload{clientMutationID: in.ClientMutationID, repo: rr}, nil
}

// nodeOwner resolves the ownerId of createRepository: the viewer's own
// node id or an organization's. Anything else does not resolve.
func (h *Handler) nodeOwner(ctx context.Context, rq *request, id string) (*gatehouse.User, error) {
	unresolved := notFound(fmt.Sprintf("Could not resolve to a node with the global id of '%s'", id))
	if uid, ok := parseNodeID("User", id); ok {
		if uid != rq.user().ID {
			return nil, unresolved
		}
		return rq.user(), nil
	}
	oid, ok := parseNodeID("Organization", id)
	if !ok {
		return nil, unresolved
	}
	o, err := h.svc.UserByID(ctx, rq.actor, oid)
	if err != nil {
		if gatehouse.IsKind(err, gatehouse.NotFound) {
			return nil, unresolved
		}
		return nil, err
	}
	if !o.IsOrg {
		return nil, unresolved
	}
	return o, nil
}

func quotedScopes(actor *gatehouse.Actor) string {
	if actor == nil || actor.Token == nil {
		return ""
	}
	q := make([]string, len(actor.Token.Scopes))
	for i, s := range actor.Token.Scopes {
		q[i] = "'" + s + "'"
	}
	return strings.Join(q, ", ")
}

// User.

type userResolver struct {
	h      *Handler
	rq     *request
	u      *gatehouse.User
	viewer bool
}

func (r *userResolver) ID() graphql.ID      { return graphql.ID(nodeID("User", r.u.ID)) }
func (r *userResolver) DatabaseID() *int32  { return int32p(r.u.ID) }
func (r *userResolver) Login() string       { return r.u.Login }
func (r *userResolver) Name() *string       { return optString(r.u.Name) }
func (r *userResolver) URL() uri            { return uri(r.h.base + "/" + r.u.Login) }
func (r *userResolver) ResourcePath() uri   { return uri("/" + r.u.Login) }
func (r *userResolver) IsSiteAdmin() bool   { return r.u.SiteAdmin }
func (r *userResolver) CreatedAt() dateTime { return dateTime{r.u.CreatedAt} }
func (r *userResolver) UpdatedAt() dateTime { return dateTime{r.u.UpdatedAt} }
func (r *userResolver) AvatarURL(args struct{ Size *int32 }) uri {
	return uri(r.h.base + "/avatars/" + r.u.Login)
}

// Email is the public profile e-mail on GitHub. Gatehouse has no public
// e-mail, so only the viewer, with a scope that may read it, sees theirs.
func (r *userResolver) Email() string {
	if r.viewer && r.rq.mayReadEmail() {
		return r.u.Email
	}
	return ""
}

// Organizations are the viewer's, for a token that may read memberships
// (read:org or user, as GET /user/orgs); memberships of other users are
// concealed.
func (r *userResolver) Organizations(ctx context.Context, args connArgs) (*orgConnection, error) {
	if !r.viewer || !(authz.Allows(r.rq.actor, "read:org", authz.MetadataRead) || authz.Allows(r.rq.actor, "user", authz.MetadataRead)) {
		return &orgConnection{page: pageInfo{}}, nil
	}
	ms, err := collectAll(func(p gatehouse.Page) ([]gatehouse.Membership, error) {
		return r.h.svc.ListUserOrgs(ctx, r.rq.actor, p)
	})
	if err != nil {
		return nil, err
	}
	win, info, err := paginate(ms, args)
	if err != nil {
		return nil, err
	}
	nodes := make([]*orgResolver, 0, len(win))
	for _, m := range win {
		nodes = append(nodes, &orgResolver{h: r.h, rq: r.rq, o: m.Org})
	}
	return &orgConnection{nodes: nodes, total: len(ms), page: info}, nil
}

// Repositories lists the user's repositories the viewer may see.
func (r *userResolver) Repositories(ctx context.Context, args repoConnArgs) (*repoConnection, error) {
	return r.h.ownerRepositories(ctx, r.rq, r.u, args)
}

func int32p(v int64) *int32 {
	if v > int64(^uint32(0)>>1) {
		return nil
	}
	n := int32(v)
	return &n
}

// Connections. Cursors are opaque offsets; lists are loaded through the
// service (at most collectAll's bound) and windowed here.

// connArgs are the pagination arguments of a connection field.
type connArgs struct {
	First, Last   *int32
	After, Before *string
}

// maxConnection is GitHub's limit on first and last.
const maxConnection = 100

func cursor(offset int) string {
	return base64.StdEncoding.EncodeToString([]byte("cursor:" + strconv.Itoa(offset)))
}

func parseCursor(s string) (int, bool) {
	raw, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		return 0, false
	}
	num, ok := strings.CutPrefix(string(raw), "cursor:")
	if !ok {
		return 0, false
	}
	n, err := strconv.Atoi(num)
	return n, err == nil && n >= 0
}

// paginate returns the window of all that args select, and its page info.
func paginate[T any](all []T, args connArgs) ([]T, pageInfo, error) {
	start, end := 0, len(all)
	if args.After != nil {
		n, ok := parseCursor(*args.After)
		if !ok {
			return nil, pageInfo{}, &gqlError{"INVALID_CURSOR_ARGUMENTS", fmt.Sprintf("`%s` does not appear to be a valid cursor.", *args.After)}
		}
		start = min(n+1, len(all))
	}
	if args.Before != nil {
		n, ok := parseCursor(*args.Before)
		if !ok {
			return nil, pageInfo{}, &gqlError{"INVALID_CURSOR_ARGUMENTS", fmt.Sprintf("`%s` does not appear to be a valid cursor.", *args.Before)}
		}
		end = max(min(n, end), start)
	}
	for _, lim := range []struct {
		name string
		v    *int32
	}{{"first", args.First}, {"last", args.Last}} {
		if lim.v != nil && (*lim.v < 0 || *lim.v > maxConnection) {
			return nil, pageInfo{}, &gqlError{"EXCESSIVE_PAGE_SIZE", fmt.Sprintf("Requesting %d records on the connection exceeds the `%s` limit of %d records.", *lim.v, lim.name, maxConnection)}
		}
	}
	switch {
	case args.First != nil:
		end = min(end, start+int(*args.First))
	case args.Last != nil:
		start = max(start, end-int(*args.Last))
	default:
		end = min(end, start+maxConnection)
	}
	info := pageInfo{hasNext: end < len(all), hasPrev: start > 0}
	if end > start {
		s, e := cursor(start), cursor(end-1)
		info.start, info.end = &s, &e
	}
	return all[start:end], info, nil
}

type pageInfo struct {
	hasNext, hasPrev bool
	start, end       *string
}

func (p pageInfo) HasNextPage() bool     { return p.hasNext }
func (p pageInfo) HasPreviousPage() bool { return p.hasPrev }
func (p pageInfo) StartCursor() *string  { return p.start }
func (p pageInfo) EndCursor() *string    { return p.end }

type orgConnection struct {
	nodes []*orgResolver
	total int
	page  pageInfo
}

func (c *orgConnection) Nodes() *[]*orgResolver { n := append([]*orgResolver{}, c.nodes...); return &n }
func (c *orgConnection) TotalCount() int32      { return int32(c.total) }
func (c *orgConnection) PageInfo() pageInfo     { return c.page }

type repoConnection struct {
	nodes []*repoResolver
	total int
	page  pageInfo
}

func (c *repoConnection) Nodes() *[]*repoResolver {
	n := append([]*repoResolver{}, c.nodes...)
	return &n
}
func (c *repoConnection) TotalCount() int32  { return int32(c.total) }
func (c *repoConnection) PageInfo() pageInfo { return c.page }

type teamConnection struct {
	nodes []*teamResolver
	total int
	page  pageInfo
}

func (c *teamConnection) Nodes() *[]*teamResolver {
	n := append([]*teamResolver{}, c.nodes...)
	return &n
}
func (c *teamConnection) TotalCount() int32  { return int32(c.total) }
func (c *teamConnection) PageInfo() pageInfo { return c.page }

// repoConnArgs are the arguments of RepositoryOwner.repositories, as gh
// repo list sends them.
type repoConnArgs struct {
	First, Last       *int32
	After, Before     *string
	Privacy           *string
	IsFork            *bool
	OwnerAffiliations *[]*string
	Affiliations      *[]*string
	OrderBy           *struct{ Field, Direction string }
}

// ownerRepositories lists owner's repositories the viewer may see:
// privacy PUBLIC or PRIVATE, no forks (Gatehouse has none), the owner's
// own (ownerAffiliations OWNER, the default), ordered as asked.
func (h *Handler) ownerRepositories(ctx context.Context, rq *request, owner *gatehouse.User, args repoConnArgs) (*repoConnection, error) {
	return h.ownerRepositoriesWhere(ctx, rq, owner, args, nil)
}

// ownerRepositoriesWhere is ownerRepositories with the listing narrowed
// by filter (nil: none) before it is ordered and paginated.
func (h *Handler) ownerRepositoriesWhere(ctx context.Context, rq *request, owner *gatehouse.User, args repoConnArgs, filter func([]*gatehouse.Repo) []*gatehouse.Repo) (*repoConnection, error) {
	ca := connArgs{First: args.First, Last: args.Last, After: args.After, Before: args.Before}
	if args.IsFork != nil && *args.IsFork {
		_, info, err := paginate([]*gatehouse.Repo{}, ca)
		return &repoConnection{page: info}, err
	}
	if args.OwnerAffiliations != nil && len(*args.OwnerAffiliations) > 0 {
		owned := false
		for _, a := range *args.OwnerAffiliations {
			owned = owned || (a != nil && *a == "OWNER")
		}
		if !owned {
			// Repositories the owner collaborates on are not listed here.
			_, info, err := paginate([]*gatehouse.Repo{}, ca)
			return &repoConnection{page: info}, err
		}
	}
	privacy := ""
	if args.Privacy != nil {
		privacy = *args.Privacy
	}
	all, err := collectAll(func(p gatehouse.Page) ([]*gatehouse.Repo, error) {
		if owner.IsOrg {
			typ := "all"
			switch privacy {
			case "PUBLIC":
				typ = "public"
			case "PRIVATE":
				typ = "private"
			}
			return h.svc.ListOrgRepos(ctx, rq.actor, owner, typ, p)
		}
		return h.svc.ListRepos(ctx, rq.actor, owner, privacy == "PUBLIC", p)
	})
	if err != nil {
		return nil, err
	}
	if privacy == "PRIVATE" && !owner.IsOrg {
		kept := all[:0]
		for _, r := range all {
			if r.Private {
				kept = append(kept, r)
			}
		}
		all = kept
	}
	if filter != nil {
		all = filter(all)
	}
	if args.OrderBy != nil {
		sortRepos(all, args.OrderBy.Field, args.OrderBy.Direction == "DESC")
	}
	win, info, err := paginate(all, ca)
	if err != nil {
		return nil, err
	}
	nodes := make([]*repoResolver, 0, len(win))
	for _, r := range win {
		perm, err := h.svc.Role(ctx, rq.actor, r)
		if err != nil {
			return nil, err
		}
		nodes = append(nodes, &repoResolver{h: h, rq: rq, repo: r, owner: owner, perm: perm})
	}
	return &repoConnection{nodes: nodes, total: len(all), page: info}, nil
}

// sortRepos orders repositories by GitHub's RepositoryOrderField.
func sortRepos(repos []*gatehouse.Repo, field string, desc bool) {
	less := func(a, b *gatehouse.Repo) int {
		switch field {
		case "CREATED_AT":
			return a.CreatedAt.Compare(b.CreatedAt)
		case "UPDATED_AT":
			return a.UpdatedAt.Compare(b.UpdatedAt)
		case "PUSHED_AT":
			return a.PushedAt.Compare(b.PushedAt)
		}
		return strings.Compare(strings.ToLower(a.Name), strings.ToLower(b.Name))
	}
	slices.SortStableFunc(repos, func(a, b *gatehouse.Repo) int {
		if desc {
			return less(b, a)
		}
		return less(a, b)
	})
}

// Organization.

type orgResolver struct {
	h  *Handler
	rq *request
	o  *gatehouse.User
}

func (r *orgResolver) ID() graphql.ID       { return graphql.ID(nodeID("Organization", r.o.ID)) }
func (r *orgResolver) DatabaseID() *int32   { return int32p(r.o.ID) }
func (r *orgResolver) Login() string        { return r.o.Login }
func (r *orgResolver) Name() *string        { return optString(r.o.Name) }
func (r *orgResolver) Description() *string { return optString(r.o.Description) }
func (r *orgResolver) Email() *string       { return optString(r.o.Email) }
func (r *orgResolver) URL() uri             { return uri(r.h.base + "/" + r.o.Login) }
func (r *orgResolver) ResourcePath() uri    { return uri("/" + r.o.Login) }
func (r *orgResolver) CreatedAt() dateTime  { return dateTime{r.o.CreatedAt} }
func (r *orgResolver) UpdatedAt() dateTime  { return dateTime{r.o.UpdatedAt} }
func (r *orgResolver) AvatarURL(args struct{ Size *int32 }) uri {
	return uri(r.h.base + "/avatars/" + r.o.Login)
}

func (r *orgResolver) role(ctx context.Context) (gatehouse.OrgRole, error) {
	return r.h.svc.OrgRole(ctx, r.rq.actor, r.o)
}

// ViewerIsAMember reports the viewer's own membership.
func (r *orgResolver) ViewerIsAMember(ctx context.Context) (bool, error) {
	role, err := r.role(ctx)
	return role != "", err
}

// ViewerCanAdminister is true for the organization's owners.
func (r *orgResolver) ViewerCanAdminister(ctx context.Context) (bool, error) {
	role, err := r.role(ctx)
	return role == gatehouse.OrgOwner, err
}

// ViewerCanCreateRepositories is true for every member.
func (r *orgResolver) ViewerCanCreateRepositories(ctx context.Context) (bool, error) {
	role, err := r.role(ctx)
	return role != "", err
}

// Repositories lists the organization's repositories the viewer may see.
func (r *orgResolver) Repositories(ctx context.Context, args repoConnArgs) (*repoConnection, error) {
	return r.h.ownerRepositories(ctx, r.rq, r.o, args)
}

// Teams lists the teams the viewer may see (members, with read:org).
func (r *orgResolver) Teams(ctx context.Context, args struct {
	First, Last   *int32
	After, Before *string
	OrderBy       *struct{ Field, Direction string }
	Query         *string
}) (*teamConnection, error) {
	all, err := collectAll(func(p gatehouse.Page) ([]*gatehouse.Team, error) {
		return r.h.svc.ListTeams(ctx, r.rq.actor, r.o, p)
	})
	if err != nil {
		return nil, err
	}
	if args.Query != nil && *args.Query != "" {
		q := strings.ToLower(*args.Query)
		kept := all[:0]
		for _, t := range all {
			if strings.Contains(strings.ToLower(t.Name), q) || strings.Contains(t.Slug, q) {
				kept = append(kept, t)
			}
		}
		all = kept
	}
	if args.OrderBy != nil && args.OrderBy.Direction == "DESC" {
		slices.Reverse(all)
	}
	win, info, err := paginate(all, connArgs{First: args.First, Last: args.Last, After: args.After, Before: args.Before})
	if err != nil {
		return nil, err
	}
	nodes := make([]*teamResolver, 0, len(win))
	for _, t := range win {
		nodes = append(nodes, &teamResolver{org: r, t: t})
	}
	return &teamConnection{nodes: nodes, total: len(all), page: info}, nil
}

// Team.

type teamResolver struct {
	org *orgResolver
	t   *gatehouse.Team
}

func (r *teamResolver) ID() graphql.ID             { return graphql.ID(nodeID("Team", r.t.ID)) }
func (r *teamResolver) DatabaseID() *int32         { return int32p(r.t.ID) }
func (r *teamResolver) Name() string               { return r.t.Name }
func (r *teamResolver) Slug() string               { return r.t.Slug }
func (r *teamResolver) CombinedSlug() string       { return r.t.Org + "/" + r.t.Slug }
func (r *teamResolver) Description() *string       { return optString(r.t.Description) }
func (r *teamResolver) Organization() *orgResolver { return r.org }
func (r *teamResolver) CreatedAt() dateTime        { return dateTime{r.t.CreatedAt} }
func (r *teamResolver) UpdatedAt() dateTime        { return dateTime{r.t.UpdatedAt} }
func (r *teamResolver) URL() uri {
	return uri(r.org.h.base + "/orgs/" + r.t.Org + "/teams/" + r.t.Slug)
}
func (r *teamResolver) ResourcePath() uri { return uri("/orgs/" + r.t.Org + "/teams/" + r.t.Slug) }

// Privacy is GitHub's TeamPrivacy: SECRET, or VISIBLE for "closed".
func (r *teamResolver) Privacy() string {
	if r.t.Privacy == "secret" {
		return "SECRET"
	}
	return "VISIBLE"
}

// ownerResolver is the RepositoryOwner interface: a user or an
// organization.
type ownerResolver struct {
	u *userResolver
	o *orgResolver
}

func (o *ownerResolver) ToUser() (*userResolver, bool)        { return o.u, o.u != nil }
func (o *ownerResolver) ToOrganization() (*orgResolver, bool) { return o.o, o.o != nil }

// The interface's own fields, for selections made on RepositoryOwner
// rather than on one of its types.

func (o *ownerResolver) ID() graphql.ID {
	if o.o != nil {
		return o.o.ID()
	}
	return o.u.ID()
}

func (o *ownerResolver) Login() string {
	if o.o != nil {
		return o.o.Login()
	}
	return o.u.Login()
}

func (o *ownerResolver) AvatarURL(args struct{ Size *int32 }) uri {
	if o.o != nil {
		return o.o.AvatarURL(args)
	}
	return o.u.AvatarURL(args)
}

func (o *ownerResolver) URL() uri {
	if o.o != nil {
		return o.o.URL()
	}
	return o.u.URL()
}

func (o *ownerResolver) ResourcePath() uri {
	if o.o != nil {
		return o.o.ResourcePath()
	}
	return o.u.ResourcePath()
}

func (o *ownerResolver) Repositories(ctx context.Context, args repoConnArgs) (*repoConnection, error) {
	if o.o != nil {
		return o.o.Repositories(ctx, args)
	}
	return o.u.Repositories(ctx, args)
}

// owner wraps an account as a RepositoryOwner.
func (h *Handler) owner(rq *request, u *gatehouse.User) *ownerResolver {
	if u.IsOrg {
		return &ownerResolver{o: &orgResolver{h: h, rq: rq, o: u}}
	}
	viewer := rq.user() != nil && rq.user().ID == u.ID
	return &ownerResolver{u: &userResolver{h: h, rq: rq, u: u, viewer: viewer}}
}

// Repository.

type repoResolver struct {
	h     *Handler
	rq    *request
	repo  *gatehouse.Repo
	owner *gatehouse.User
	perm  gatehouse.Permission
}

func (h *Handler) repoResolver(ctx context.Context, rq *request, repo *gatehouse.Repo, perm gatehouse.Permission) (*repoResolver, error) {
	owner := rq.user()
	if owner == nil || owner.ID != repo.OwnerID {
		var err error
		if owner, err = h.svc.UserByID(ctx, rq.actor, repo.OwnerID); err != nil {
			return nil, err
		}
	}
	return &repoResolver{h: h, rq: rq, repo: repo, owner: owner, perm: perm}, nil
}

func (r *repoResolver) ID() graphql.ID        { return graphql.ID(nodeID("Repository", r.repo.ID)) }
func (r *repoResolver) DatabaseID() *int32    { return int32p(r.repo.ID) }
func (r *repoResolver) Name() string          { return r.repo.Name }
func (r *repoResolver) NameWithOwner() string { return r.repo.FullName() }
func (r *repoResolver) Owner() *ownerResolver { return r.h.owner(r.rq, r.owner) }

// IsInOrganization reports an organization's repository.
func (r *repoResolver) IsInOrganization() bool { return r.owner.IsOrg }
func (r *repoResolver) Description() *string   { return optString(r.repo.Description) }
func (r *repoResolver) HomepageURL() *uri      { return nil }
func (r *repoResolver) URL() uri               { return uri(r.h.base + "/" + r.repo.FullName()) }
func (r *repoResolver) SSHURL() string         { return "git@" + r.h.host + ":" + r.repo.FullName() + ".git" }
func (r *repoResolver) ResourcePath() uri      { return uri("/" + r.repo.FullName()) }
func (r *repoResolver) IsPrivate() bool        { return r.repo.Private }
func (r *repoResolver) IsFork() bool           { return false }
func (r *repoResolver) IsArchived() bool       { return r.repo.Archived() }
func (r *repoResolver) IsDisabled() bool       { return false }
func (r *repoResolver) IsTemplate() bool       { return false }
func (r *repoResolver) IsMirror() bool         { return false }
func (r *repoResolver) HasIssuesEnabled() bool { return false }
func (r *repoResolver) HasWikiEnabled() bool   { return false }
func (r *repoResolver) HasProjectsEnabled() bool {
	return false
}
func (r *repoResolver) HasDiscussionsEnabled() bool { return false }
func (r *repoResolver) MergeCommitAllowed() bool    { return true }
func (r *repoResolver) RebaseMergeAllowed() bool    { return true }
func (r *repoResolver) SquashMergeAllowed() bool    { return true }
func (r *repoResolver) DeleteBranchOnMerge() bool   { return false }
func (r *repoResolver) StargazerCount() int32       { return 0 }
func (r *repoResolver) ForkCount() int32            { return 0 }
func (r *repoResolver) Parent() *repoResolver       { return nil }
func (r *repoResolver) CreatedAt() dateTime         { return dateTime{r.repo.CreatedAt} }
func (r *repoResolver) UpdatedAt() dateTime         { return dateTime{r.repo.UpdatedAt} }

func (r *repoResolver) PushedAt() *dateTime {
	if r.repo.PushedAt.IsZero() {
		return nil
	}
	return &dateTime{r.repo.PushedAt}
}

// ArchivedAt is when the repository was archived; null when it is not.
func (r *repoResolver) ArchivedAt() *dateTime {
	if !r.repo.Archived() {
		return nil
	}
	return &dateTime{r.repo.ArchivedAt}
}

// IsUserConfigurationRepository reports the repository named after its
// owner, whose README GitHub shows on the owner's profile.
func (r *repoResolver) IsUserConfigurationRepository() bool {
	return !r.owner.IsOrg && strings.EqualFold(r.repo.Name, r.owner.Login)
}

// OpenGraphImageURL is the image link previews show: the owner's avatar,
// as on GitHub without a custom image.
func (r *repoResolver) OpenGraphImageURL() uri { return uri(r.h.base + "/avatars/" + r.owner.Login) }

// The fields of features Gatehouse lacks, answered as GitHub does for a
// repository that has none of them.

func (r *repoResolver) DiskUsage() *int32                     { return nil }
func (r *repoResolver) IsSecurityPolicyEnabled() *bool        { return nil }
func (r *repoResolver) IsBlankIssuesEnabled() bool            { return true }
func (r *repoResolver) MirrorURL() *uri                       { return nil }
func (r *repoResolver) UsesCustomOpenGraphImage() bool        { return false }
func (r *repoResolver) SecurityPolicyURL() *uri               { return nil }
func (r *repoResolver) TemplateRepository() *repoResolver     { return nil }
func (r *repoResolver) LicenseInfo() *licenseResolver         { return nil }
func (r *repoResolver) PrimaryLanguage() *languageResolver    { return nil }
func (r *repoResolver) LatestRelease() *releaseResolver       { return nil }
func (r *repoResolver) ViewerHasStarred() bool                { return false }
func (r *repoResolver) ViewerDefaultMergeMethod() string      { return "MERGE" }
func (r *repoResolver) ViewerPossibleCommitEmails() *[]string { return nil }

// ViewerSubscription is UNSUBSCRIBED for a signed-in viewer: Gatehouse
// sends no notifications of repository activity.
func (r *repoResolver) ViewerSubscription() *string {
	s := "UNSUBSCRIBED"
	return &s
}

// mayReadEmail reports whether the caller may read its own e-mail
// address: a classic token with user:email or read:user, a fine-grained
// one with "email_addresses: read" (as GET /user/emails).
func (rq *request) mayReadEmail() bool {
	return authz.Allows(rq.actor, "user:email", authz.EmailsRead) || authz.Allows(rq.actor, "read:user", authz.EmailsRead)
}

// ViewerDefaultCommitEmail is the viewer's e-mail, for those who may read
// it (as Email on User).
func (r *repoResolver) ViewerDefaultCommitEmail() *string {
	u := r.rq.user()
	if u == nil || !r.rq.mayReadEmail() {
		return nil
	}
	return optString(u.Email)
}

func (r *repoResolver) Watchers(args connArgs) (*userConnection, error) {
	_, info, err := paginate([]*userResolver{}, args)
	return &userConnection{page: info}, err
}

func (r *repoResolver) Issues(args struct {
	First, Last   *int32
	After, Before *string
	States        *[]string
}) *countConnection {
	return &countConnection{}
}

func (r *repoResolver) PullRequests(args struct {
	First, Last   *int32
	After, Before *string
	States        *[]string
}) *countConnection {
	return &countConnection{}
}

func (r *repoResolver) RepositoryTopics(args connArgs) (*topicConnection, error) {
	_, info, err := paginate([]*repoTopicResolver{}, args)
	return &topicConnection{page: info}, err
}

type userConnection struct {
	nodes []*userResolver
	page  pageInfo
}

func (c *userConnection) Nodes() *[]*userResolver {
	n := append([]*userResolver{}, c.nodes...)
	return &n
}
func (c *userConnection) TotalCount() int32  { return int32(len(c.nodes)) }
func (c *userConnection) PageInfo() pageInfo { return c.page }

// countConnection is an IssueConnection or PullRequestConnection with
// nothing in it.
type countConnection struct{}

func (countConnection) TotalCount() int32  { return 0 }
func (countConnection) PageInfo() pageInfo { return pageInfo{} }

type topicConnection struct {
	nodes []*repoTopicResolver
	page  pageInfo
}

func (c *topicConnection) Nodes() *[]*repoTopicResolver {
	n := append([]*repoTopicResolver{}, c.nodes...)
	return &n
}
func (c *topicConnection) TotalCount() int32  { return int32(len(c.nodes)) }
func (c *topicConnection) PageInfo() pageInfo { return c.page }

// Types the schema declares for fields that are always null or empty
// here: they exist so that queries naming their fields validate.

type repoTopicResolver struct{ topic *topicResolver }

func (r *repoTopicResolver) ID() graphql.ID        { return graphql.ID(r.topic.ID()) }
func (r *repoTopicResolver) Topic() *topicResolver { return r.topic }

type topicResolver struct{ name string }

func (r *topicResolver) ID() graphql.ID { return graphql.ID(nodeID("Topic", 0) + r.name) }
func (r *topicResolver) Name() string   { return r.name }

type licenseResolver struct{ key, name string }

func (r *licenseResolver) ID() graphql.ID    { return graphql.ID(nodeID("License", 0) + r.key) }
func (r *licenseResolver) Key() string       { return r.key }
func (r *licenseResolver) Name() string      { return r.name }
func (r *licenseResolver) Nickname() *string { return nil }

type languageResolver struct{ name string }

func (r *languageResolver) ID() graphql.ID { return graphql.ID(nodeID("Language", 0) + r.name) }
func (r *languageResolver) Name() string   { return r.name }

type releaseResolver struct {
	tag, url string
	at       time.Time
}

func (r *releaseResolver) ID() graphql.ID  { return graphql.ID(nodeID("Release", 0) + r.tag) }
func (r *releaseResolver) Name() *string   { return optString(r.tag) }
func (r *releaseResolver) TagName() string { return r.tag }
func (r *releaseResolver) URL() uri        { return uri(r.url) }
func (r *releaseResolver) PublishedAt() *dateTime {
	if r.at.IsZero() {
		return nil
	}
	return &dateTime{r.at}
}

// IsEmpty reports a repository nothing was ever pushed to.
func (r *repoResolver) IsEmpty() bool { return r.repo.PushedAt.IsZero() }

func (r *repoResolver) Visibility() string {
	if r.repo.Private {
		return "PRIVATE"
	}
	return "PUBLIC"
}

func (r *repoResolver) ViewerPermission() *string {
	var s string
	switch r.perm {
	case gatehouse.PermAdmin:
		s = "ADMIN"
	case gatehouse.PermWrite:
		s = "WRITE"
	case gatehouse.PermRead:
		s = "READ"
	default:
		return nil
	}
	return &s
}

func (r *repoResolver) ViewerCanAdminister() bool { return r.perm >= gatehouse.PermAdmin }

// DefaultBranchRef is null for an empty repository, as on GitHub.
func (r *repoResolver) DefaultBranchRef() *refResolver {
	if r.repo.PushedAt.IsZero() || r.repo.DefaultBranch == "" {
		return nil
	}
	return &refResolver{repo: r.repo}
}

type refResolver struct{ repo *gatehouse.Repo }

func (r *refResolver) ID() graphql.ID {
	return graphql.ID(nodeID("Ref", r.repo.ID) + ":" + r.repo.DefaultBranch)
}
func (r *refResolver) Name() string   { return r.repo.DefaultBranch }
func (r *refResolver) Prefix() string { return "refs/heads/" }
