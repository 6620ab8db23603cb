package gatehouse

// CredentialKind says what a client presented.
type CredentialKind int

// Credential kinds.
const (
	// NoCredential: the client presented nothing; it is anonymous.
	NoCredential CredentialKind = iota
	// TokenCredential: a personal access token.
	TokenCredential
	// PasswordCredential: an account password, which git and the API
	// refuse without checking it.
	PasswordCredential
)

// Credential is what a transport found in a request, handed to the one
// function that turns it into an actor. Secret is never logged.
type Credential struct {
	Kind   CredentialKind
	Secret string
	// IP is the client's address.
	IP string
	// Insecure is set when the credential crossed the network
	// unencrypted (plain HTTP from a non-loopback client).
	Insecure bool
}

// String describes c without its secret.
func (c Credential) String() string {
	switch c.Kind {
	case TokenCredential:
		return "token credential from " + c.IP
	case PasswordCredential:
		return "password credential from " + c.IP
	}
	return "no credential from " + c.IP
}

// GoString keeps %#v from printing the secret.
func (c Credential) GoString() string { return c.String() }
