// Package gatehouse holds the domain of the Gatehouse Git server: users,
// repositories, personal access tokens, the actor making a request, the
// error kinds every layer speaks, the store contract the database adapters
// implement, and the pure rules that decide what an actor may do.
//
// It imports nothing of the project. Adapters live under internal/ and are
// wired together in cmd/gatehouse.
package gatehouse
