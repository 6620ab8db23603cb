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
