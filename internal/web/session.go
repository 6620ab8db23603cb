package web

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"strings"

	"github.com/gatehouse/gatehouse"
	"github.com/gatehouse/gatehouse/internal/httpx"
)

// Cookie names. Under HTTPS the __Host- prefix makes browsers refuse the
// cookie unless it is Secure, host-only and for the whole site.
const (
	sessionCookie = "gatehouse_session"
	anonCookie    = "gatehouse_csrf"
	hostPrefix    = "__Host-"
)

// secure reports whether cookies must be Secure: the request came over
// TLS, or the instance is published at an https:// URL (behind a proxy).
func (h *Handler) secure(r *http.Request) bool {
	return r.TLS != nil || strings.HasPrefix(strings.ToLower(h.cfg.ExternalURL), "https://")
}

func (h *Handler) cookieName(r *http.Request, base string) string {
	if h.secure(r) {
		return hostPrefix + base
	}
	return base
}

func (h *Handler) setCookie(w http.ResponseWriter, r *http.Request, base, value string, maxAge int) {
	http.SetCookie(w, &http.Cookie{
		Name:     h.cookieName(r, base),
		Value:    value,
		Path:     "/",
		MaxAge:   maxAge,
		HttpOnly: true,
		Secure:   h.secure(r),
		SameSite: http.SameSiteLaxMode,
	})
}

func randomString() string {
	var b [32]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic("web: crypto/rand failed: " + err.Error())
	}
	return base64.RawURLEncoding.EncodeToString(b[:])
}

// sessionID is what the store keeps for a cookie secret.
func sessionID(secret string) string {
	sum := sha256.Sum256([]byte(secret))
	return hex.EncodeToString(sum[:])
}

// withSession loads the session named by the cookie, the user behind it
// and the language to speak, for every request.
func (h *Handler) withSession(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		st := &state{}
		if c, err := r.Cookie(h.cookieName(r, sessionCookie)); err == nil && c.Value != "" && len(c.Value) < 100 {
			s, u, err := h.loadSession(r, c.Value)
			switch {
			case err == nil:
				st.sess, st.user, st.secret = s, u, c.Value
			case gatehouse.IsKind(err, gatehouse.NotFound):
				h.setCookie(w, r, sessionCookie, "", -1)
			default:
				h.serverError(w, r.WithContext(withState(r.Context(), &state{loc: h.pickLocale(r, nil)})), err)
				return
			}
		}
		if c, err := r.Cookie(h.cookieName(r, anonCookie)); err == nil {
			st.anon = c.Value
		}
		st.loc = h.pickLocale(r, st.user)
		ctx := r.Context()
		// Every use case is called with the viewer as the actor: a
		// browser session (every scope), or an anonymous client.
		st.actor = &gatehouse.Actor{User: st.user, IP: h.cfg.Network.ClientIP(r)}
		if st.user != nil {
			httpx.SetLogin(ctx, st.user.Login)
		}
		w.Header().Set("Content-Language", st.loc.Lang)
		w.Header().Add("Vary", "Accept-Language, Cookie")
		next.ServeHTTP(w, r.WithContext(withState(ctx, st)))
	})
}

// loadSession returns NotFound when the session is gone or expired, or
// belongs to a suspended user (whose sessions are then removed).
func (h *Handler) loadSession(r *http.Request, secret string) (*gatehouse.Session, *gatehouse.User, error) {
	return h.cfg.Service.Session(r.Context(), sessionID(secret))
}

// startSession signs u in: a fresh session (never one the browser brought
// along, so a planted cookie cannot be promoted) and its cookie.
func (h *Handler) startSession(w http.ResponseWriter, r *http.Request, u *gatehouse.User) error {
	replaces := ""
	if old := stateOf(r).secret; old != "" {
		replaces = sessionID(old)
	}
	secret := randomString()
	s := &gatehouse.Session{
		ID:        sessionID(secret),
		UserID:    u.ID,
		CSRF:      randomString(),
		IP:        h.cfg.Network.ClientIP(r),
		ExpiresAt: h.now().Add(sessionLifetime),
	}
	if err := h.cfg.Service.StartSession(r.Context(), s, replaces); err != nil {
		return err
	}
	h.setCookie(w, r, sessionCookie, secret, int(sessionLifetime.Seconds()))
	h.setCookie(w, r, anonCookie, "", -1)
	return nil
}

// csrfToken returns the token forms must carry: the session's, or for
// visitors who are not signed in, the value of a cookie set here
// (double submit).
func (h *Handler) csrfToken(w http.ResponseWriter, r *http.Request) string {
	st := stateOf(r)
	if st.sess != nil {
		return st.sess.CSRF
	}
	if st.anon == "" {
		st.anon = randomString()
		h.setCookie(w, r, anonCookie, st.anon, 0)
	}
	return st.anon
}

// checkCSRF compares the form's token with the expected one.
func (h *Handler) checkCSRF(r *http.Request) bool {
	st := stateOf(r)
	want := st.anon
	if st.sess != nil {
		want = st.sess.CSRF
	}
	return httpx.CSRFTokenValid(want, r.PostFormValue(httpx.CSRFField))
}

// flash is a one-time message for the next page.
type flash struct {
	Kind string   `json:"k"` // "notice", "error"
	Key  string   `json:"m"` // catalog key
	Args []string `json:"a,omitempty"`
	// A newly issued token, shown once on the token list.
	Token   string `json:"t,omitempty"`
	TokenID int64  `json:"i,omitempty"`
	// Scopes implied by others were dropped when saving.
	Dropped bool `json:"d,omitempty"`
	// Pending names the organization whose owners must approve the new
	// fine-grained token.
	Pending string `json:"p,omitempty"`
}

// flashKey derives the sealing key from the cookie secret, which the
// server does not store: the sealed flash in the database is useless
// without the browser's cookie.
func flashKey(secret string) []byte {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte("gatehouse web flash v1"))
	return m.Sum(nil)
}

func sealFlash(secret string, f *flash) ([]byte, error) {
	plain, err := json.Marshal(f)
	if err != nil {
		return nil, err
	}
	block, err := aes.NewCipher(flashKey(secret))
	if err != nil {
		return nil, err
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, err
	}
	nonce := make([]byte, aead.NonceSize())
	if _, err := rand.Read(nonce); err != nil {
		return nil, err
	}
	return aead.Seal(nonce, nonce, plain, nil), nil
}

func openFlash(secret string, sealed []byte) (*flash, error) {
	block, err := aes.NewCipher(flashKey(secret))
	if err != nil {
		return nil, err
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, err
	}
	if len(sealed) < aead.NonceSize() {
		return nil, errors.New("flash too short")
	}
	plain, err := aead.Open(nil, sealed[:aead.NonceSize()], sealed[aead.NonceSize():], nil)
	if err != nil {
		return nil, err
	}
	var f flash
	if err := json.Unmarshal(plain, &f); err != nil {
		return nil, err
	}
	return &f, nil
}

// setFlash stores f for the next page of this session.
func (h *Handler) setFlash(r *http.Request, f *flash) error {
	st := stateOf(r)
	if st.sess == nil {
		return nil
	}
	sealed, err := sealFlash(st.secret, f)
	if err != nil {
		return err
	}
	st.sess.Flash = sealed
	return h.cfg.Service.SaveSession(r.Context(), actor(r), st.sess)
}

// takeFlash returns and clears this session's flash, or nil.
func (h *Handler) takeFlash(r *http.Request) *flash {
	st := stateOf(r)
	if st.sess == nil || len(st.sess.Flash) == 0 {
		return nil
	}
	sealed, err := h.cfg.Service.TakeFlash(r.Context(), actor(r), st.sess)
	if err != nil || sealed == nil {
		return nil
	}
	st.sess.Flash = nil
	f, err := openFlash(st.secret, sealed)
	if err != nil {
		return nil
	}
	return f
}

// redirectFlash stores a notice and redirects with 303.
func (h *Handler) redirectFlash(w http.ResponseWriter, r *http.Request, to string, f *flash) {
	if err := h.setFlash(r, f); err != nil {
		h.serverError(w, r, err)
		return
	}
	http.Redirect(w, r, to, http.StatusSeeOther)
}

func queryEscape(s string) string { return url.QueryEscape(s) }

// safeReturn accepts only a local path, so that return_to cannot send the
// browser to another site after signing in.
func safeReturn(s string) string {
	if s == "" || s[0] != '/' || strings.HasPrefix(s, "//") || strings.ContainsAny(s, "\\\r\n\t") {
		return "/"
	}
	u, err := url.Parse(s)
	if err != nil || u.Scheme != "" || u.Host != "" {
		return "/"
	}
	return s
}
