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
