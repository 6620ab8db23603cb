package gatehouse

// Actor is who is making a request, passed explicitly to every use case of
// the service. There are three kinds:
//
//   - a user, with the credential they used: a personal access token
//     (whose scopes limit what the user may do) or a browser session
//     (Token nil, every scope);
//   - an anonymous client, known only by its address (User nil); a nil
//     *Actor is anonymous too;
//   - the system: the command line run by the operator of the instance,
//     and background jobs. It has every right and acts for no user.
//
// The audit log names the actor of every change it records, so the action
// of an event (a token deleted by its owner, or revoked by someone else)
// follows from the actor alone.
type Actor struct {
	User *User
	// Token is the personal access token the request authenticated with,
	// or nil for a browser session, which carries every scope.
	Token *Token
	// IP is the client's address as the transport saw it ("" for the
	// system).
	IP string
	// System marks the operator's command line and background jobs.
	System bool
	// Key is the SSH key a user authenticated with over SSH (Token nil:
	// a key, like a browser session, carries every scope; the SSH
	// transport asks only repository decisions). Nil otherwise.
	Key *Key
	// DeployKey is set, and User nil, when the client authenticated with
	// a repository's deploy key over SSH. It reaches that one repository
	// only (authz.DeployKeyRepo); every rule that does not know it sees
	// an anonymous client, which is the least it may be.
	DeployKey *DeployKey
}

// SystemActor is the actor of the command line and of background jobs.
func SystemActor() *Actor { return &Actor{System: true} }

// AnonymousActor is a client that presented no credentials, from ip.
func AnonymousActor(ip string) *Actor { return &Actor{IP: ip} }

// Login returns the actor's login, or "" for an anonymous caller or the
// system.
func (a *Actor) Login() string {
	if a == nil || a.User == nil {
		return ""
	}
	return a.User.Login
}

// UserID returns the acting user's ID, or 0 for an anonymous caller or the
// system.
func (a *Actor) UserID() int64 {
	if a == nil || a.User == nil {
		return 0
	}
	return a.User.ID
}

// Anonymous reports whether the actor is an unauthenticated client.
func (a *Actor) Anonymous() bool { return a == nil || (a.User == nil && !a.System) }

// IsSystem reports whether the actor is the system.
func (a *Actor) IsSystem() bool { return a != nil && a.System }

// ClientIP returns the client's address, or "" when unknown.
func (a *Actor) ClientIP() string {
	if a == nil {
		return ""
	}
	return a.IP
}
