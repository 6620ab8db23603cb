package api

import (
	"context"
	"fmt"
	"strings"

	"github.com/gatehouse/gatehouse"
)

// GraphQL search(type: REPOSITORY, query:), which gh repo list sends
// instead of repositoryOwner.repositories for --archived, --no-archived,
// --language, --topic and --visibility internal, with a query such as
// "sort:updated-desc archived:true fork:true user:alice". The qualifiers
// of GitHub's repository search that such a query holds are understood:
// user: and org: (one owner; @me is the viewer), archived:, fork:, is:
// (public, private, internal), sort:, language: and topic: (Gatehouse
// keeps neither, so they match nothing); other words match repository
// names. A query without an owner searches the viewer's repositories.
// Results are what the owner's repository listing shows the viewer, at
// most 1,000 as on GitHub.

// searchArgs are search's arguments.
type searchArgs struct {
	Type          string
	Query         string
	First, Last   *int32
	After, Before *string
}

// maxSearchResults is GitHub's bound on a search's results.
const maxSearchResults = 1000

// repoSearch is a parsed repository search query.
type repoSearch struct {
	owner    string
	archived *bool
	forkOnly bool
	privacy  string // "", "PUBLIC", "PRIVATE"
	none     bool   // a qualifier nothing in Gatehouse matches
	words    []string
	sort     string // a RepositoryOrderField, "" for the name
	desc     bool
}

// parseRepoSearch reads the query, or says which qualifier it cannot take.
func parseRepoSearch(q, viewer string) (repoSearch, error) {
	var s repoSearch
	for _, f := range strings.Fields(q) {
		k, v, ok := strings.Cut(f, ":")
		if !ok {
			s.words = append(s.words, strings.ToLower(f))
			continue
		}
		switch strings.ToLower(k) {
		case "user", "org", "owner":
			if v == "@me" {
				v = viewer
			}
			if s.owner != "" && !strings.EqualFold(s.owner, v) {
				return s, fmt.Errorf("searching the repositories of more than one owner (%s and %s) is not supported", s.owner, v)
			}
			s.owner = v
		case "archived":
			b := strings.EqualFold(v, "true")
			if !b && !strings.EqualFold(v, "false") {
				return s, fmt.Errorf("archived:%s: use archived:true or archived:false", v)
			}
			s.archived = &b
		case "fork":
			switch strings.ToLower(v) {
			case "only":
				s.forkOnly = true // Gatehouse has no forks
			case "true", "false":
			default:
				return s, fmt.Errorf("fork:%s: use fork:true, fork:false or fork:only", v)
			}
		case "is":
			switch strings.ToLower(v) {
			case "public":
				s.privacy = "PUBLIC"
			case "private":
				s.privacy = "PRIVATE"
			case "internal":
				s.none = true // Gatehouse has no internal repositories
			case "":
			default:
				return s, fmt.Errorf("is:%s: use is:public or is:private", v)
			}
		case "language", "topic":
			s.none = true
		case "sort":
			field, dir, _ := strings.Cut(strings.ToLower(v), "-")
			s.desc = dir != "asc"
			switch field {
			case "updated":
				s.sort = "UPDATED_AT"
			case "created":
				s.sort = "CREATED_AT"
			case "pushed":
				s.sort = "PUSHED_AT"
			default:
				s.sort, s.desc = "", false
			}
		default:
			return s, fmt.Errorf("the search qualifier %s: is not supported; Gatehouse understands user:, org:, archived:, fork:, is:, sort:, language: and topic:", k)
		}
	}
	if s.owner == "" {
		s.owner = viewer
	}
	return s, nil
}

// searchConnection is SearchResultItemConnection.
type searchConnection struct {
	repos *repoConnection
}

func (c *searchConnection) RepositoryCount() int32 { return c.repos.TotalCount() }
func (c *searchConnection) IssueCount() int32      { return 0 }
func (c *searchConnection) UserCount() int32       { return 0 }
func (c *searchConnection) DiscussionCount() int32 { return 0 }
func (c *searchConnection) CodeCount() int32       { return 0 }
func (c *searchConnection) WikiCount() int32       { return 0 }
func (c *searchConnection) PageInfo() pageInfo     { return c.repos.PageInfo() }
func (c *searchConnection) Nodes() *[]*searchItem {
	n := make([]*searchItem, 0, len(c.repos.nodes))
	for _, r := range c.repos.nodes {
		n = append(n, &searchItem{r})
	}
	return &n
}

// searchItem is the SearchResultItem union; only repositories are found.
type searchItem struct{ r *repoResolver }

func (i *searchItem) ToRepository() (*repoResolver, bool) { return i.r, i.r != nil }

// Search is search(type:, query:). Searches of other types than
// REPOSITORY find nothing: Gatehouse has no issues or discussions, and
// users are listed elsewhere.
func (q *gqlRoot) Search(ctx context.Context, args searchArgs) (*searchConnection, error) {
	rq := requestFrom(ctx)
	ca := connArgs{First: args.First, Last: args.Last, After: args.After, Before: args.Before}
	empty := func() (*searchConnection, error) {
		_, info, err := paginate([]*gatehouse.Repo{}, ca)
		return &searchConnection{repos: &repoConnection{page: info}}, err
	}
	if args.Type != "REPOSITORY" {
		return empty()
	}
	s, err := parseRepoSearch(args.Query, rq.user().Login)
	if err != nil {
		return nil, &gqlError{"INVALID_SEARCH_QUERY", err.Error()}
	}
	if s.none || s.forkOnly {
		return empty()
	}
	owner, err := q.h.svc.FindUser(ctx, rq.actor, s.owner)
	if gatehouse.IsKind(err, gatehouse.NotFound) {
		return empty() // GitHub finds nothing for an unknown owner
	}
	if err != nil {
		return nil, err
	}
	var privacy *string
	if s.privacy != "" {
		privacy = &s.privacy
	}
	var order *struct{ Field, Direction string }
	if s.sort != "" {
		dir := "ASC"
		if s.desc {
			dir = "DESC"
		}
		order = &struct{ Field, Direction string }{s.sort, dir}
	}
	return q.h.searchRepositories(ctx, rq, owner, repoConnArgs{First: args.First, Last: args.Last, After: args.After, Before: args.Before,
		Privacy: privacy, OrderBy: order}, func(r *gatehouse.Repo) bool {
		if s.archived != nil && r.Archived() != *s.archived {
			return false
		}
		for _, w := range s.words {
			if !strings.Contains(strings.ToLower(r.Name), w) {
				return false
			}
		}
		return true
	})
}

// searchRepositories is ownerRepositories with only the repositories keep
// accepts, at most maxSearchResults.
func (h *Handler) searchRepositories(ctx context.Context, rq *request, owner *gatehouse.User, args repoConnArgs, keep func(*gatehouse.Repo) bool) (*searchConnection, error) {
	c, err := h.ownerRepositoriesWhere(ctx, rq, owner, args, func(all []*gatehouse.Repo) []*gatehouse.Repo {
		kept := all[:0]
		for _, r := range all {
			if keep(r) && len(kept) < maxSearchResults {
				kept = append(kept, r)
			}
		}
		return kept
	})
	if err != nil {
		return nil, err
	}
	return &searchConnection{repos: c}, nil
}
