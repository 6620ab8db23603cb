package httpx

import (
	"encoding/base64"
	"errors"
	"log/slog"
	"net/http"
	"strconv"
	"strings"

	"github.com/gatehouse/gatehouse"
	"github.com/gatehouse/gatehouse/internal/token"
)

// MaxAuthorizationLen bounds the Authorization header we are willing to
// decode; real tokens and Basic credentials are far shorter, and the bound
// keeps base64 decoding of hostile input cheap.
const MaxAuthorizationLen = 4096

// CredentialKind says what a request presented in its Authorization header.
type CredentialKind int

const (
	// NoCredentials means the request carried no Authorization header.
	NoCredentials CredentialKind = iota
	// TokenCredential means a personal access token, sent with the token or
	// Bearer scheme or inside Basic authentication.
	TokenCredential
	// PasswordCredential means an account username and password sent with
	// Basic authentication.
	PasswordCredential
)

// String returns a short lowercase name for the kind, for logs.
func (k CredentialKind) String() string {
	switch k {
	case NoCredentials:
		return "none"
	case TokenCredential:
		return "token"
	case PasswordCredential:
		return "password"
	}
	return "CredentialKind(" + strconv.Itoa(int(k)) + ")"
}

// Credentials is what ParseAuthorization extracted. Username is whatever
// the client sent with Basic authentication (ignored for tokens, as on
// GitHub). Token and Password are secrets: String, GoString and LogValue
// leave them out, so logging a Credentials value is safe.
type Credentials struct {
	Kind     CredentialKind
	Username string
	Token    string
	Password string
}

// Secret returns the token or the password, whichever the kind carries.
func (c Credentials) Secret() string {
	switch c.Kind {
	case TokenCredential:
		return c.Token
	case PasswordCredential:
		return c.Password
	}
	return ""
}

// String describes c without its secret.
func (c Credentials) String() string {
	s := "credentials{kind=" + c.Kind.String()
	if c.Username != "" {
		s += " username=" + strconv.Quote(c.Username)
	}
	if c.Secret() != "" {
		s += " secret=[redacted]"
	}
	return s + "}"
}

// GoString keeps %#v from printing the secret fields.
func (c Credentials) GoString() string { return c.String() }

// LogValue keeps slog from printing the secret fields.
func (c Credentials) LogValue() slog.Value {
	return slog.GroupValue(
		slog.String("kind", c.Kind.String()),
		slog.String("username", c.Username),
	)
}

// Errors returned by ParseAuthorization. Their messages are fixed text, so
// they can be shown to clients and logged without leaking any part of the
// header.
var (
	ErrAuthTooLong      = errors.New("authorization header too long")
	ErrAuthScheme       = errors.New("unsupported authorization scheme; use Bearer, token or Basic")
	ErrAuthEmptyToken   = errors.New("authorization header has no token")
	ErrAuthBasicEncode  = errors.New("basic credentials are not valid base64")
	ErrAuthBasicNoColon = errors.New("basic credentials have no colon separating username and password")
)

// ParseAuthorization interprets an Authorization header value the way
// GitHub does:
//   - "" → NoCredentials;
//   - "token T", "Bearer T" (scheme case-insensitive) → TokenCredential T,
//     whatever T looks like, so that the verifier answers "Bad credentials";
//   - "Basic base64(user:pass)" → TokenCredential if pass is token-shaped
//     (the way Git sends a token), or if user is token-shaped and pass is
//     empty or "x-oauth-basic"; otherwise PasswordCredential.
//
// Every other form is an error.
func ParseAuthorization(header string) (Credentials, error) {
	if len(header) > MaxAuthorizationLen {
		return Credentials{}, ErrAuthTooLong
	}
	header = strings.TrimSpace(header)
	if header == "" {
		return Credentials{}, nil
	}
	scheme, param, _ := strings.Cut(header, " ")
	param = strings.TrimSpace(param)
	switch {
	case strings.EqualFold(scheme, "token"), strings.EqualFold(scheme, "bearer"):
		if param == "" {
			return Credentials{}, ErrAuthEmptyToken
		}
		return Credentials{Kind: TokenCredential, Token: param}, nil
	case strings.EqualFold(scheme, "basic"):
		return parseBasic(param)
	}
	return Credentials{}, ErrAuthScheme
}

// parseBasic decodes the parameter of a Basic header (RFC 7617).
func parseBasic(param string) (Credentials, error) {
	raw, err := base64.StdEncoding.DecodeString(param)
	if err != nil {
		return Credentials{}, ErrAuthBasicEncode
	}
	// RFC 7617 forbids a colon in the user-id, so the first colon splits.
	user, pass, ok := strings.Cut(string(raw), ":")
	if !ok {
		return Credentials{}, ErrAuthBasicNoColon
	}
	switch {
	case token.LooksLikeToken(pass):
		return Credentials{Kind: TokenCredential, Username: user, Token: pass}, nil
	case token.LooksLikeToken(user) && (pass == "" || pass == "x-oauth-basic"):
		return Credentials{Kind: TokenCredential, Token: user}, nil
	}
	return Credentials{Kind: PasswordCredential, Username: user, Password: pass}, nil
}

// Credential reads the Authorization header of r into the credential that
// the service's one authentication step turns into an actor, with the
// client's address and whether the credential crossed the network
// unencrypted. A header that does not parse is one of the ErrAuth errors.
func Credential(r *http.Request, n Network) (gatehouse.Credential, error) {
	c := gatehouse.Credential{IP: n.ClientIP(r)}
	creds, err := ParseAuthorization(r.Header.Get("Authorization"))
	if err != nil {
		return c, err
	}
	switch creds.Kind {
	case TokenCredential:
		c.Kind, c.Secret = gatehouse.TokenCredential, creds.Token
	case PasswordCredential:
		c.Kind, c.Secret = gatehouse.PasswordCredential, creds.Password
	default:
		return c, nil
	}
	c.Insecure = !n.CredentialsSafe(r)
	return c, nil
}

// Status is the one table from an error kind to an HTTP status, for every
// transport; transports choose only the words. Conflicts are 422, as
// GitHub answers a taken name.
func Status(k gatehouse.Kind) int {
	switch k {
	case gatehouse.Invalid, gatehouse.Conflict:
		return http.StatusUnprocessableEntity
	case gatehouse.NotFound:
		return http.StatusNotFound
	case gatehouse.Unauthenticated:
		return http.StatusUnauthorized
	case gatehouse.Forbidden:
		return http.StatusForbidden
	case gatehouse.Unavailable:
		return http.StatusServiceUnavailable
	}
	return http.StatusInternalServerError
}
