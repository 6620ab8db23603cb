package gatehouse

// Actor is who is making a request. A nil *Actor is an anonymous caller.
type Actor struct {
	User *User
	// Token is the personal access token the request authenticated with,
	// or nil for a browser session, which carries every scope.
	Token *Token
}

// Login returns the actor's login, or "" for an anonymous caller.
func (a *Actor) Login() string {
	if a == nil || a.User == nil {
		return ""
	}
	return a.User.Login
}
