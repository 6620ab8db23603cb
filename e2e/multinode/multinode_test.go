// Package multinode_test runs two gatehouse serve processes that share one
// PostgreSQL database and one data directory (and so one repositories
// directory), the way a deployment with more than one node does, and checks
// that they act as one server: a token works on both, a push through one is
// cloned through the other, and a revocation through one reaches the other
// within a second.
//
// It needs a PostgreSQL server: GATEHOUSE_TEST_POSTGRES_URL (see
// .ci/postgres.sh). Without it the tests fail under CI=true and skip loudly
// otherwise.
package multinode_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/testenv"
)

// revocationBound is how soon a revocation must reach every node (SPEC §3.2).
const revocationBound = time.Second

// probeEvery is how often the other node is asked whether a revoked token
// still works.
const probeEvery = 20 * time.Millisecond

// cluster is two nodes over one database and one data directory.
type cluster struct {
	t        *testing.T
	database string
	data     string
	a, b     *testenv.Server
}

func start(t *testing.T) *cluster {
	t.Helper()
	c := &cluster{t: t, database: testenv.Postgres(t), data: filepath.Join(t.TempDir(), "data")}
	opts := testenv.Options{Data: c.data, Args: []string{"--database", c.database}}
	c.a = testenv.Start(t, opts)
	c.b = testenv.Start(t, opts)
	if c.a.URL == c.b.URL {
		t.Fatalf("both nodes listen on %s", c.a.URL)
	}
	return c
}

// admin runs "gatehouse admin ARGS… --data DIR --database URL", as an
// operator would on any node, and returns stdout.
func (c *cluster) admin(args ...string) string {
	c.t.Helper()
	args = append(append([]string{"admin"}, args...), "--data", c.data, "--database", c.database)
	cmd := testenv.Command(c.t, args...)
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	if err := cmd.Run(); err != nil {
		c.t.Fatalf("gatehouse admin %s: %v\nstderr: %s", strings.Join(args[1:len(args)-4], " "), err, errOut.String())
	}
	return out.String()
}

// secret registers a token or password that neither node may ever log.
func (c *cluster) secret(s string) string {
	c.a.AddSecret(s)
	c.b.AddSecret(s)
	return s
}

func (c *cluster) user(login string, siteAdmin bool) {
	c.t.Helper()
	args := []string{"user", "create", "--username", login, "--email", login + "@example.com"}
	if siteAdmin {
		args = append(args, "--admin")
	}
	c.secret(strings.TrimSpace(c.admin(args...)))
}

// token creates a token through the command line and returns its secret
// and ID.
func (c *cluster) token(user, note, scopes string) (string, int64) {
	c.t.Helper()
	tok := c.secret(strings.TrimSpace(c.admin("token", "create", "--user", user, "--note", note, "--scopes", scopes)))
	var list []struct {
		ID   int64  `json:"id"`
		Note string `json:"note"`
	}
	if err := json.Unmarshal([]byte(c.admin("token", "list", "--user", user, "--json")), &list); err != nil {
		c.t.Fatal(err)
	}
	i := slices.IndexFunc(list, func(e struct {
		ID   int64  `json:"id"`
		Note string `json:"note"`
	}) bool {
		return e.Note == note
	})
	if i < 0 {
		c.t.Fatalf("token %q not in the listing", note)
	}
	return tok, list[i].ID
}

// get sends an authenticated request and returns the status and body.
func get(t *testing.T, s *testenv.Server, method, path string, auth func(*http.Request)) (int, string) {
	t.Helper()
	req, err := http.NewRequest(method, s.URL+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	auth(req)
	resp, err := s.Client(t).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body)
}

func bearer(tok string) func(*http.Request) {
	return func(r *http.Request) { r.Header.Set("Authorization", "token "+tok) }
}

func basic(user, tok string) func(*http.Request) {
	return func(r *http.Request) { r.SetBasicAuth(user, tok) }
}

func TestTokenWorksOnBothNodes(t *testing.T) {
	c := start(t)
	c.user("alice", false)
	tok, _ := c.token("alice", "laptop", "repo,read:user")
	for name, node := range map[string]*testenv.Server{"A": c.a, "B": c.b} {
		code, body := get(t, node, "GET", "/api/v3/user", bearer(tok))
		if code != http.StatusOK || !strings.Contains(body, `"login":"alice"`) {
			t.Errorf("node %s: GET /api/v3/user = %d %s", name, code, body)
		}
		// Damage the last character: one that differs from the real one
		// (a token ending in "x" stayed intact one run in 62).
		damaged := tok[:len(tok)-1] + "x"
		if strings.HasSuffix(tok, "x") {
			damaged = tok[:len(tok)-1] + "y"
		}
		if code, _ := get(t, node, "GET", "/api/v3/user", bearer(damaged)); code != http.StatusUnauthorized {
			t.Errorf("node %s: a damaged token got %d, want 401", name, code)
		}
	}
}

func TestPushThroughOneCloneThroughOther(t *testing.T) {
	c := start(t)
	c.user("alice", false)
	c.admin("repo", "create", "alice/project", "--private")
	tok, _ := c.token("alice", "git", "repo")
	g := testenv.NewGit(t, "")

	src := t.TempDir()
	g.MustRun(src, "init", "-q", "-b", "main")
	os.WriteFile(filepath.Join(src, "README.md"), []byte("# project\n"), 0o644)
	g.MustRun(src, "add", ".")
	g.MustRun(src, "commit", "-q", "-m", "first")
	g.MustRun(src, "push", "-q", testenv.WithCredentials(c.a.RepoURL("alice/project"), "alice", tok), "main")
	first := strings.TrimSpace(g.MustRun(src, "rev-parse", "HEAD"))

	clone := filepath.Join(t.TempDir(), "clone")
	g.MustRun("", "clone", "-q", testenv.WithCredentials(c.b.RepoURL("alice/project"), "alice", tok), clone)
	if got := strings.TrimSpace(g.MustRun(clone, "rev-parse", "HEAD")); got != first {
		t.Fatalf("node B serves %s, want %s pushed through node A", got, first)
	}

	// And back: a push through B is fetched through A.
	os.WriteFile(filepath.Join(clone, "two.txt"), []byte("two\n"), 0o644)
	g.MustRun(clone, "add", ".")
	g.MustRun(clone, "commit", "-q", "-m", "second")
	g.MustRun(clone, "push", "-q", "origin", "main")
	second := strings.TrimSpace(g.MustRun(clone, "rev-parse", "HEAD"))
	g.MustRun(src, "fetch", "-q", testenv.WithCredentials(c.a.RepoURL("alice/project"), "alice", tok), "main")
	if got := strings.TrimSpace(g.MustRun(src, "rev-parse", "FETCH_HEAD")); got != second {
		t.Fatalf("node A serves %s, want %s pushed through node B", got, second)
	}
}

// TestRevocationReachesOtherNode revokes tokens through node A's side, by
// the admin command and by the site-admin API of node A, while node B has
// them cached, and measures how long node B keeps accepting them: B is
// probed every 20 ms from the moment the revocation starts.
func TestRevocationReachesOtherNode(t *testing.T) {
	c := start(t)
	c.user("root", true)
	c.user("alice", false)
	c.admin("repo", "create", "alice/project")
	adminTok, _ := c.token("root", "ops", "site_admin")

	const rounds = 5
	cases := []struct {
		name   string
		revoke func(t *testing.T, id int64)
		// path and auth of the probe sent to node B.
		path string
		auth func(tok string) func(*http.Request)
	}{
		{
			name: "admin token revoke",
			revoke: func(t *testing.T, id int64) {
				c.admin("token", "revoke", strconv.FormatInt(id, 10))
			},
			path: "/alice/project.git/info/refs?service=git-upload-pack",
			auth: func(tok string) func(*http.Request) { return basic("alice", tok) },
		},
		{
			name: "DELETE on node A",
			revoke: func(t *testing.T, id int64) {
				code, body := get(t, c.a, "DELETE", fmt.Sprintf("/api/v3/admin/tokens/%d", id), bearer(adminTok))
				if code != http.StatusNoContent {
					t.Fatalf("DELETE /api/v3/admin/tokens/%d on node A = %d %s", id, code, body)
				}
			},
			path: "/api/v3/user",
			auth: bearer,
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var delays []time.Duration
			for round := range rounds {
				tok, id := c.token("alice", fmt.Sprintf("%s %d", tc.name, round), "repo,read:user")
				// Node B authenticates the token, and so caches it.
				for range 3 {
					if code, body := get(t, c.b, "GET", tc.path, tc.auth(tok)); code != http.StatusOK {
						t.Fatalf("node B before the revocation: %s = %d %s", tc.path, code, body)
					}
				}

				began := time.Now()
				tc.revoke(t, id)
				returned := time.Since(began)
				var refusedAfter time.Duration
				tick := time.NewTicker(probeEvery)
				for {
					code, body := get(t, c.b, "GET", tc.path, tc.auth(tok))
					if code == http.StatusUnauthorized {
						refusedAfter = time.Since(began)
						break
					}
					if code != http.StatusOK {
						t.Fatalf("node B after the revocation: %s = %d %s", tc.path, code, body)
					}
					if time.Since(began) > 5*revocationBound {
						t.Fatalf("node B still accepts the token %v after its revocation", time.Since(began))
					}
					<-tick.C
				}
				tick.Stop()
				t.Logf("round %d: revocation returned after %v; node B refused the token %v after it began",
					round, returned.Round(time.Millisecond), refusedAfter.Round(time.Millisecond))
				if refusedAfter > revocationBound {
					t.Errorf("round %d: node B accepted the revoked token for %v, more than %v", round, refusedAfter, revocationBound)
				}
				delays = append(delays, refusedAfter)

				// Node A refuses it too.
				if code, _ := get(t, c.a, "GET", tc.path, tc.auth(tok)); code != http.StatusUnauthorized {
					t.Errorf("round %d: node A answers %d for the revoked token, want 401", round, code)
				}
			}
			slices.Sort(delays)
			t.Logf("%s: cross-node revocation delay over %d rounds: median %v, max %v (bound %v, probe every %v)",
				tc.name, rounds, delays[len(delays)/2].Round(time.Millisecond),
				delays[len(delays)-1].Round(time.Millisecond), revocationBound, probeEvery)
		})
	}
	c.a.CheckNoSecrets(t)
	c.b.CheckNoSecrets(t)
}
