// Package api serves Gatehouse's GitHub-compatible HTTP API: the REST
// subset under /api/v3 and the GraphQL subset at /api/graphql, shaped so
// that the GitHub CLI, go-github and Octokit work against it unchanged when
// pointed at it as a GitHub Enterprise Server host.
//
// Every route is declared once, in the route table (routes.go), with its
// method, pattern, whether it needs credentials, the OAuth scopes it
// accepts and, for repository routes, the action the one authorization
// function (authz.Authorizer.Repo) checks. The request pipeline applies
// these declarations before any handler runs, and X-Accepted-OAuth-Scopes
// is generated from them, so a route cannot forget its check.
//
// Wire types (wire.go) are separate from the domain types; their JSON is
// locked by the golden files in testdata.
package api

// Where Gatehouse differs from a GitHub Enterprise Server, on purpose:
//
//   - Members are added to organizations and teams at once: memberships
//     are "active" where GitHub would send an invitation and answer
//     "pending". Memberships are concealed (there are no public members):
//     outsiders list no members and no teams. There are no nested teams,
//     no team notification settings, no custom repository roles; triage
//     and maintain are read and write. Team URLs name the routes served
//     here (/orgs/{org}/teams/{team_slug}) rather than /teams/{id}.
//   - An organization keeps one e-mail address, shown as email and (to
//     owners) billing_email.
//   - Features Gatehouse lacks are reported off (has_issues, has_wiki, …);
//     settings it cannot keep (homepage, .gitignore and license templates,
//     internal visibility) are refused with 422 rather than dropped
//     silently.
//   - Collaborators are added at once (204); there are no invitations.
//   - Profile counters GitHub computes (public_repos, …) are left out, so
//     that GET /user stays free of database reads.
//   - E-mail addresses are not verified, and /user/emails says so.
//   - Link headers of database listings carry next, prev and first but no
//     last: finding the last page would cost a count on every call.
//   - With rate limiting off (the default, as on GHES) GET /rate_limit
//     answers 404 "Rate limiting is not enabled.", as GHES does.
//   - GraphQL errors raised by resolvers carry a path but no locations.
//   - GraphQL search finds repositories only, of one owner, with the
//     qualifiers gh repo list sends (user:, org:, archived:, fork:, is:,
//     sort:, and words of the name); language: and topic: match nothing,
//     as Gatehouse keeps neither; any other qualifier is refused with
//     INVALID_SEARCH_QUERY rather than ignored.
