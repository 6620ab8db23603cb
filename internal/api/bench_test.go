package api

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/gatehouse/gatehouse"
	"github.com/gatehouse/gatehouse/internal/service"
	"github.com/gatehouse/gatehouse/internal/token"
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

// benchRepoGet measures GET /api/v3/repos/alice/priv with tok: the
// pipeline, the cached token, the repository decision (grants and the
// owner's token policy) and the JSON.
func benchRepoGet(b *testing.B, env *env, tok string) {
	req := httptest.NewRequest("GET", Prefix+"/repos/alice/priv", nil)
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

func BenchmarkRepoGetClassic(b *testing.B) {
	env := newEnv(b)
	env.repo(b, env.alice, "priv", true)
	benchRepoGet(b, env, env.token(b, env.alice, "bench", "repo"))
}

func BenchmarkRepoGetFineGrained(b *testing.B) {
	env := newEnv(b)
	env.repo(b, env.alice, "priv", true)
	it, err := env.svc.CreateFineGrainedToken(context.Background(), system, service.NewFineGrained{UserID: env.alice.ID, Name: "bench",
		Repos: gatehouse.SelectedRepos, RepoNames: []string{"priv"}, Permissions: token.Perms{"contents": token.ReadOnly}})
	if err != nil {
		b.Fatal(err)
	}
	benchRepoGet(b, env, it.Secret)
}
