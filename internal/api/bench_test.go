package api

import (
	"net/http"
	"net/http/httptest"
	"testing"
)

// BenchmarkUserGet measures GET /api/v3/user with a valid token through the
// whole API pipeline (authentication from the cache, headers, JSON).
func BenchmarkUserGet(b *testing.B) {
	env := newEnv(b)
	tok := env.token(b, env.alice, "bench", "repo", "read:org")
	req := httptest.NewRequest("GET", Prefix+"/user", nil)
	req.RemoteAddr = "127.0.0.1:1234"
	req.Header.Set("Authorization", "token "+tok)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		w := httptest.NewRecorder()
		env.h.ServeHTTP(w, req)
		if w.Code != http.StatusOK {
			b.Fatalf("status %d: %s", w.Code, w.Body)
		}
	}
}

// BenchmarkUserGetBadToken is the same call with a token whose checksum
// is wrong: refused before any lookup.
func BenchmarkUserGetBadToken(b *testing.B) {
	env := newEnv(b)
	req := httptest.NewRequest("GET", Prefix+"/user", nil)
	req.RemoteAddr = "127.0.0.1:1234"
	req.Header.Set("Authorization", "token gtp_000000000000000000000000000000000000")
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		w := httptest.NewRecorder()
		env.h.ServeHTTP(w, req)
		if w.Code != http.StatusUnauthorized && w.Code != http.StatusForbidden {
			b.Fatalf("status %d: %s", w.Code, w.Body)
		}
	}
}
