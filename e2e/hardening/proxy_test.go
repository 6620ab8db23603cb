package hardening_test

import (
	"encoding/base64"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/gatehouse/gatehouse/internal/testenv"
)

// TestPlainHTTPThroughTrustedProxy is the regression for credentials that
// crossed the network in clear before reaching a trusted proxy on
// loopback: the proxy said X-Forwarded-Proto: http, and the server took
// the Basic credentials because the proxy's own address is loopback.
func TestPlainHTTPThroughTrustedProxy(t *testing.T) {
	s := testenv.Start(t, testenv.Options{Args: []string{"--trusted-proxy", "127.0.0.1"}})
	s.CreateUser("alice", false)
	s.Admin("repo", "create", "alice/x", "--private")
	tok := s.Token("alice", "proxy", "repo", "never")
	basic := "Basic " + base64.StdEncoding.EncodeToString([]byte("alice:"+tok))
	get := func(path, proto string) (int, string) {
		t.Helper()
		req, _ := http.NewRequest("GET", s.URL+path, nil)
		req.Header.Set("Authorization", basic)
		req.Header.Set("X-Forwarded-For", "203.0.113.9")
		if proto != "" {
			req.Header.Set("X-Forwarded-Proto", proto)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	for _, path := range []string{"/alice/x.git/info/refs?service=git-upload-pack", "/api/v3/user"} {
		for _, proto := range []string{"http", ""} {
			code, body := get(path, proto)
			if code != http.StatusForbidden || !strings.Contains(body, "plain HTTP") {
				t.Errorf("GET %s with X-Forwarded-Proto %q: %d %.200s; want 403 naming plain HTTP", path, proto, code, body)
			}
		}
		if code, body := get(path, "https"); code != http.StatusOK {
			t.Errorf("GET %s with X-Forwarded-Proto https: %d %.200s", path, code, body)
		}
	}
}

// TestHSTS checks that answers over HTTPS tell browsers to stay on HTTPS,
// and that plain HTTP on loopback does not pretend to.
func TestHSTS(t *testing.T) {
	s := testenv.Start(t, testenv.Options{TLS: true})
	for _, path := range []string{"/login", "/api/v3/meta", "/healthz"} {
		resp, err := s.Client(t).Get(s.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if got := resp.Header.Get("Strict-Transport-Security"); got != "max-age=31536000" {
			t.Errorf("GET %s over HTTPS: Strict-Transport-Security %q", path, got)
		}
	}
	plain := testenv.Start(t, testenv.Options{})
	resp, err := http.Get(plain.URL + "/login")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if got := resp.Header.Get("Strict-Transport-Security"); got != "" {
		t.Errorf("plain HTTP sends Strict-Transport-Security %q", got)
	}
}

// TestNoOpenRedirect is the regression for the .git redirect running
// before the name was checked: GET /%2Fevil.example/x.git answered
// Location: //evil.example/x (also with %5C), a link to another site.
func TestNoOpenRedirect(t *testing.T) {
	s := testenv.Start(t, testenv.Options{})
	s.CreateUser("alice", false)
	s.Admin("repo", "create", "alice/x")
	c := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	for _, path := range []string{"/%2Fevil.example/x.git", "/%5Cevil.example/x.git", "/%2F%2Fevil.example/x.git", "/alice/%2F%2Fevil.example.git", "/.%2Fevil/x.git"} {
		resp, err := c.Get(s.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if loc := resp.Header.Get("Location"); loc != "" {
			t.Errorf("GET %s redirects to %q", path, loc)
		}
	}
	resp, err := c.Get(s.URL + "/alice/x.git")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if loc := resp.Header.Get("Location"); resp.StatusCode != http.StatusMovedPermanently || loc != "/alice/x" {
		t.Errorf("GET /alice/x.git: %d Location %q; want 301 to /alice/x", resp.StatusCode, loc)
	}
}
