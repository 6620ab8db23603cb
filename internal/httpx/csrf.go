package httpx

import (
	"crypto/subtle"
	"net/http"
)

// CSRFField is the name of the hidden form field that carries the
// anti-forgery token.
const CSRFField = "csrf_token"

// CrossOrigin refuses unsafe requests (POST, PUT, PATCH, DELETE) that a
// browser marks as cross-site, using the Sec-Fetch-Site and Origin headers
// (net/http's CrossOriginProtection). denied answers refused requests.
//
// It is the first of two locks: browsers too old to send either header
// are stopped by the per-session token that every form carries
// (CSRFTokenValid).
//
// trusted lists origins ("https://git.example.com") to accept even when
// they differ from the Host header, as behind a reverse proxy that
// rewrites it; a malformed origin is an error.
func CrossOrigin(next, denied http.Handler, trusted ...string) (http.Handler, error) {
	p := http.NewCrossOriginProtection()
	p.SetDenyHandler(denied)
	for _, o := range trusted {
		if err := p.AddTrustedOrigin(o); err != nil {
			return nil, err
		}
	}
	return p.Handler(next), nil
}

// CSRFTokenValid compares the token a form sent with the expected one in
// constant time. An empty expected token never matches.
func CSRFTokenValid(expected, got string) bool {
	return expected != "" && subtle.ConstantTimeCompare([]byte(expected), []byte(got)) == 1
}
