package httpx

import (
	"crypto/tls"
	"net/http/httptest"
	"net/netip"
	"testing"
)

// TestCredentialsSafe covers where credentials may arrive. The regression
// is the trusted proxy on loopback forwarding a plain-HTTP request: it
// was accepted because the proxy's own address is loopback.
func TestCredentialsSafe(t *testing.T) {
	proxied := Network{TrustedProxies: []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32"), netip.MustParsePrefix("10.0.0.0/8")}}
	tests := []struct {
		name   string
		n      Network
		remote string
		proto  string
		tls    bool
		want   bool
	}{
		{"TLS", Network{}, "192.0.2.1:5000", "", true, true},
		{"loopback, no proxy configured", Network{}, "127.0.0.1:5000", "", false, true},
		{"remote plain HTTP", Network{}, "192.0.2.1:5000", "", false, false},
		{"remote claims https without being trusted", Network{}, "192.0.2.1:5000", "https", false, false},
		{"trusted proxy says https", proxied, "10.1.2.3:5000", "https", false, true},
		{"trusted proxy says http", proxied, "10.1.2.3:5000", "http", false, false},
		{"trusted loopback proxy says http", proxied, "127.0.0.1:5000", "http", false, false},
		{"trusted loopback proxy says nothing", proxied, "127.0.0.1:5000", "", false, false},
		{"trusted loopback proxy says HTTPS", proxied, "127.0.0.1:5000", "HTTPS", false, true},
		{"loopback outside the trusted set", proxied, "[::1]:5000", "http", false, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := httptest.NewRequest("GET", "/", nil)
			r.RemoteAddr = tt.remote
			if tt.proto != "" {
				r.Header.Set("X-Forwarded-Proto", tt.proto)
			}
			if tt.tls {
				r.TLS = &tls.ConnectionState{}
			}
			if got := tt.n.CredentialsSafe(r); got != tt.want {
				t.Fatalf("CredentialsSafe = %v, want %v", got, tt.want)
			}
		})
	}
}

// TestRedactPath is the regression for a token in a URL path reaching the
// access log verbatim (GET /gtp_…/x.git, or a token pasted after /api/v3/).
func TestRedactPath(t *testing.T) {
	const tok = "gtp_0123456789abcdefghijABCDEFGHIJ0a1b2c"
	for in, want := range map[string]string{
		"/alice/demo.git/info/refs":             "/alice/demo.git/info/refs",
		"/" + tok + "/x.git/info/refs":          "/[redacted]/x.git/info/refs",
		"/api/v3/" + tok:                        "/api/v3/[redacted]",
		"/alice/" + tok + ".git":                "/alice/[redacted]",
		"/settings/tokens/12":                   "/settings/tokens/12",
		"/a-very-long-but-hyphenated-repo-name": "/a-very-long-but-hyphenated-repo-name",
	} {
		if got := RedactPath(in); got != want {
			t.Errorf("RedactPath(%q) = %q, want %q", in, got, want)
		}
	}
}
