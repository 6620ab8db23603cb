package httpx

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"runtime/debug"
	"strings"
	"time"
)

type ctxKey int

const (
	requestIDKey ctxKey = iota
	loginKey
)

// RequestID returns the id Logging gave the request, or "".
func RequestID(ctx context.Context) string {
	s, _ := ctx.Value(requestIDKey).(string)
	return s
}

// SetLogin records who the request authenticated as, for the access log.
// Handlers call it once they know; it is a no-op outside Logging.
func SetLogin(ctx context.Context, login string) {
	if p, ok := ctx.Value(loginKey).(*string); ok {
		*p = login
	}
}

func newRequestID() string {
	var b [8]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// Logging gives every request an id (X-GitHub-Request-Id, also in logs),
// recovers panics into a 500 and writes one access log line per request.
// The line holds the path without its query string and never any header:
// a secret pasted into a URL or an Authorization header cannot reach logs.
func Logging(log *slog.Logger, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		id := newRequestID()
		var login string
		ctx := context.WithValue(r.Context(), requestIDKey, id)
		ctx = context.WithValue(ctx, loginKey, &login)
		w.Header().Set("X-GitHub-Request-Id", id)
		rec := &recorder{ResponseWriter: w}
		defer func() {
			if p := recover(); p != nil {
				if p == http.ErrAbortHandler {
					panic(p)
				}
				// The panic value and stack may quote request data; they are
				// logged under the request id only, never sent to the client.
				log.Error("panic", "request_id", id, "panic", redactPanic(p), "stack", string(debug.Stack()))
				if !rec.wrote {
					http.Error(rec, "Internal server error (request "+id+")", http.StatusInternalServerError)
				}
			}
			log.Info("request",
				"request_id", id,
				"method", r.Method,
				"path", RedactPath(r.URL.Path),
				"status", rec.status(),
				"bytes", rec.n,
				"duration_ms", float64(time.Since(start).Microseconds())/1000,
				"remote", remoteHost(r.RemoteAddr),
				"user", login,
			)
		}()
		next.ServeHTTP(rec, r.WithContext(ctx))
	})
}

// redactPanic keeps the type of a panic value and a short, scrubbed form of
// its text: anything that looks like a credential is cut.
func redactPanic(p any) string {
	s := ""
	switch v := p.(type) {
	case error:
		s = v.Error()
	case string:
		s = v
	default:
		return "non-string panic"
	}
	if len(s) > 200 {
		s = s[:200]
	}
	return RedactSecrets(s)
}

// RedactPath replaces each segment of a URL path that could be a secret —
// shaped like a token of any prefix, or a long run of token characters —
// with "[redacted]", so that a token pasted into a URL path never reaches
// the log. Repository and user names are far shorter.
func RedactPath(p string) string {
	if len(p) < 30 {
		return p
	}
	segs := strings.Split(p, "/")
	changed := false
	for i, seg := range segs {
		if secretLike(seg) {
			segs[i], changed = "[redacted]", true
		}
	}
	if !changed {
		return p
	}
	return strings.Join(segs, "/")
}

// secretLike reports whether a path segment may hold a secret: a
// token-shaped string anywhere in it, or 30 or more consecutive letters,
// digits and underscores.
func secretLike(seg string) bool {
	run := 0
	for i := 0; i < len(seg); i++ {
		c := seg[i]
		if c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' {
			if run++; run >= 30 {
				return true
			}
			continue
		}
		run = 0
	}
	return false
}

// RedactSecrets replaces anything shaped like a token or a Basic/Bearer
// credential in s with "[redacted]".
func RedactSecrets(s string) string {
	fields := strings.FieldsFunc(s, func(r rune) bool {
		return r == ' ' || r == '"' || r == '\'' || r == ':' || r == '=' || r == '@' || r == '/'
	})
	for _, f := range fields {
		if len(f) >= 20 {
			s = strings.ReplaceAll(s, f, "[redacted]")
		}
	}
	return s
}

type recorder struct {
	http.ResponseWriter
	code  int
	n     int64
	wrote bool
}

func (r *recorder) WriteHeader(code int) {
	if !r.wrote {
		r.code, r.wrote = code, true
	}
	r.ResponseWriter.WriteHeader(code)
}

// ReadFrom passes a file down to net/http's own ReadFrom (sendfile on a
// plain TCP connection), counting what it sent.
func (r *recorder) ReadFrom(src io.Reader) (int64, error) {
	if !r.wrote {
		r.code, r.wrote = http.StatusOK, true
	}
	n, err := io.Copy(r.ResponseWriter, src)
	r.n += n
	return n, err
}

func (r *recorder) Write(p []byte) (int, error) {
	if !r.wrote {
		r.code, r.wrote = http.StatusOK, true
	}
	n, err := r.ResponseWriter.Write(p)
	r.n += int64(n)
	return n, err
}

func (r *recorder) status() int {
	if r.code == 0 {
		return http.StatusOK
	}
	return r.code
}

// Unwrap lets http.ResponseController reach Flush and full-duplex support.
func (r *recorder) Unwrap() http.ResponseWriter { return r.ResponseWriter }

func remoteHost(addr string) string {
	if h, _, err := net.SplitHostPort(addr); err == nil {
		return h
	}
	return addr
}

// Network decides what to believe about a request's origin.
type Network struct {
	// TrustedProxies may set X-Forwarded-For and X-Forwarded-Proto.
	TrustedProxies []netip.Prefix
}

func (n Network) trusted(ip netip.Addr) bool {
	for _, p := range n.TrustedProxies {
		if p.Contains(ip) {
			return true
		}
	}
	return false
}

func peer(r *http.Request) netip.Addr {
	ap, err := netip.ParseAddrPort(r.RemoteAddr)
	if err != nil {
		a, _ := netip.ParseAddr(remoteHost(r.RemoteAddr))
		return a.Unmap()
	}
	return ap.Addr().Unmap()
}

// ClientIP returns the client's address: the peer, or the last address a
// trusted proxy put in X-Forwarded-For.
func (n Network) ClientIP(r *http.Request) string {
	ip := peer(r)
	if n.trusted(ip) {
		if xff := r.Header.Get("X-Forwarded-For"); xff != "" {
			parts := strings.Split(xff, ",")
			if a, err := netip.ParseAddr(strings.TrimSpace(parts[len(parts)-1])); err == nil {
				return a.Unmap().String()
			}
		}
	}
	if !ip.IsValid() {
		return remoteHost(r.RemoteAddr)
	}
	return ip.String()
}

// CredentialsSafe reports whether credentials may be accepted on r: it came
// over TLS, through a trusted proxy that says the original request was
// HTTPS, or straight from a loopback peer. A trusted proxy speaks for the
// client even on loopback: when it says (or does not say otherwise) that
// the client used plain HTTP, the credentials crossed the network in
// clear, whatever the proxy's own address.
func (n Network) CredentialsSafe(r *http.Request) bool {
	if r.TLS != nil {
		return true
	}
	ip := peer(r)
	if n.trusted(ip) {
		return strings.EqualFold(strings.TrimSpace(r.Header.Get("X-Forwarded-Proto")), "https")
	}
	return ip.IsLoopback()
}
