package api

import (
	"context"
	_ "embed"
	"encoding/json"
	"fmt"
	"net/http"
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
	if err != nil {
		if gatehouse.IsKind(err, gatehouse.NotFound) {
			return nil, notFound(fmt.Sprintf("Could not resolve to a User with the login of '%s'.", args.Login))
		}
		return nil, err
	}
	return &userResolver{h: q.h, u: u, viewer: u.ID == rq.user().ID, rq: rq}, nil
}

func (q *gqlRoot) Repository(ctx context.Context, args struct {
	Owner, Name   string
	FollowRenames bool
}) (*repoResolver, error) {
	rq := requestFrom(ctx)
	repo, perm, err := q.h.svc.Repo(ctx, rq.actor, args.Owner, args.Name, authz.Read)
	if err != nil {
		switch gatehouse.ErrorKind(err) {
		case gatehouse.NotFound, gatehouse.Unauthenticated, gatehouse.Forbidden:
			return nil, notFound(fmt.Sprintf("Could not resolve to a Repository with the name '%s/%s'.", args.Owner, args.Name))
		}
		return nil, err
	}
	return q.h.repoResolver(ctx, rq, repo, perm)
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
		return nil, &gqlError{"UNPROCESSABLE", "Internal visibility needs organizations, which this server does not have."}
	}
	if in.OwnerID != nil {
		if id, ok := parseNodeID("User", string(*in.OwnerID)); !ok || id != u.ID {
			return nil, notFound(fmt.Sprintf("Could not resolve to a node with the global id of '%s'", string(*in.OwnerID)))
		}
	}
	if in.TeamID != nil {
		return nil, &gqlError{"UNPROCESSABLE", "Teams are not supported by this server."}
	}
	if in.HomepageURL != nil && *in.HomepageURL != "" {
		return nil, &gqlError{"UNPROCESSABLE", "A homepage URL is not supported by this server."}
	}
	desc := ""
	if in.Description != nil {
		desc = *in.Description
	}
	repo, err := q.h.svc.CreateRepo(ctx, rq.actor, service.NewRepo{Owner: u.Login, Name: in.Name, Description: desc, Private: private})
	if err != nil {
		switch gatehouse.ErrorKind(err) {
		case gatehouse.Forbidden:
			if msg := gatehouse.ErrorMessage(err); msg != authz.MsgPrivateScope && msg != authz.MsgPublicScope {
				return nil, &gqlError{"FORBIDDEN", msg}
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
	rr, err := q.h.repoResolver(ctx, rq, repo, gatehouse.PermAdmin)
	if err != nil {
		return nil, err
	}
	return &createRepoPayload{clientMutationID: in.ClientMutationID, repo: rr}, nil
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
	if r.viewer && (r.rq.hasScope("user:email") || r.rq.hasScope("read:user")) {
		return r.u.Email
	}
	return ""
}

func (r *userResolver) Organizations(args struct {
	First, Last   *int32
	After, Before *string
}) *orgConnection {
	return &orgConnection{}
}

func int32p(v int64) *int32 {
	if v > int64(^uint32(0)>>1) {
		return nil
	}
	n := int32(v)
	return &n
}

// Organizations: there are none yet, but gh asks for the viewer's.

type orgConnection struct{}

func (orgConnection) Nodes() *[]*orgResolver { n := []*orgResolver{}; return &n }
func (orgConnection) TotalCount() int32      { return 0 }
func (orgConnection) PageInfo() pageInfo     { return pageInfo{} }

type pageInfo struct{}

func (pageInfo) HasNextPage() bool     { return false }
func (pageInfo) HasPreviousPage() bool { return false }
func (pageInfo) StartCursor() *string  { return nil }
func (pageInfo) EndCursor() *string    { return nil }

type orgResolver struct{}

func (orgResolver) ID() graphql.ID                           { return "" }
func (orgResolver) DatabaseID() *int32                       { return nil }
func (orgResolver) Login() string                            { return "" }
func (orgResolver) Name() *string                            { return nil }
func (orgResolver) AvatarURL(args struct{ Size *int32 }) uri { return "" }
func (orgResolver) URL() uri                                 { return "" }
func (orgResolver) ResourcePath() uri                        { return "" }

// ownerResolver is the RepositoryOwner interface: always a user here.
type ownerResolver struct{ *userResolver }

func (o ownerResolver) ToUser() (*userResolver, bool)        { return o.userResolver, true }
func (o ownerResolver) ToOrganization() (*orgResolver, bool) { return nil, false }

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
func (r *repoResolver) Owner() ownerResolver {
	return ownerResolver{&userResolver{h: r.h, rq: r.rq, u: r.owner, viewer: r.rq.user() != nil && r.rq.user().ID == r.owner.ID}}
}
func (r *repoResolver) Description() *string   { return optString(r.repo.Description) }
func (r *repoResolver) HomepageURL() *uri      { return nil }
func (r *repoResolver) URL() uri               { return uri(r.h.base + "/" + r.repo.FullName()) }
func (r *repoResolver) SSHURL() string         { return "git@" + r.h.host + ":" + r.repo.FullName() + ".git" }
func (r *repoResolver) ResourcePath() uri      { return uri("/" + r.repo.FullName()) }
func (r *repoResolver) IsPrivate() bool        { return r.repo.Private }
func (r *repoResolver) IsFork() bool           { return false }
func (r *repoResolver) IsArchived() bool       { return false }
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
