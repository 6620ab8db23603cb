package faults_test

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/testenv"
)

// node is one serve process of a cluster and its name in messages.
type node struct {
	name string
	*testenv.Server
}

// TestPostgresRestart stops PostgreSQL under two serving nodes (a fast
// shutdown: every session ends with admin_shutdown, new connections are
// refused), sends the requests clients would send meanwhile, starts it
// again, and checks that
//
//   - during the outage the API answers 503 with a JSON message (not 500)
//     and git prints a message and gets 503, whether the token is cached
//     on the node or not, and anonymous requests too;
//   - a background load on both nodes, in flight when the sessions are
//     cut and when the server comes back, only ever gets 200 or 503;
//   - neither node exits;
//   - from the moment PostgreSQL accepts connections again every request
//     succeeds on both nodes, reads and writes, API, web and git, without
//     a restart of either node;
//   - a revocation made after the outage still reaches the other node,
//     so the invalidation poller resumed.
func TestPostgresRestart(t *testing.T) {
	pg := testenv.StartPGCluster(t)
	data := filepath.Join(t.TempDir(), "data")
	opts := testenv.Options{Data: data, Args: []string{"--database", pg.URL}}
	nodes := []node{{"A", testenv.Start(t, opts)}, {"B", testenv.Start(t, opts)}}
	a := nodes[0]
	admin := func(args ...string) string {
		t.Helper()
		cmd := testenv.Command(t, append(append([]string{"admin"}, args...), "--data", data, "--database", pg.URL)...)
		var out, errOut bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &errOut
		if err := cmd.Run(); err != nil {
			t.Fatalf("gatehouse admin %s: %v\n%s", args[0], err, errOut.String())
		}
		return strings.TrimSpace(out.String())
	}
	secret := func(s string) string {
		for _, n := range nodes {
			n.AddSecret(s)
		}
		return s
	}
	token := func(note string) string {
		return secret(admin("token", "create", "--user", "alice", "--note", note, "--scopes", "repo,read:user"))
	}
	secret(admin("user", "create", "--username", "alice", "--email", "alice@example.com"))
	admin("repo", "create", "alice/project", "--private")
	admin("repo", "create", "alice/open")
	cached := token("cached")   // used before the outage: in both nodes' caches
	uncached := token("unused") // first presented during the outage
	after := token("after")     // first presented after it

	g := testenv.NewGit(t, "")
	work := t.TempDir()
	g.MustRun(work, "init", "-q", "-b", "main")
	commitRandom(t, g, work, "seed", 7, 1, 4<<10)
	url := func(n node, tok string) string {
		return testenv.WithCredentials(n.RepoURL("alice/project"), "alice", tok)
	}
	g.MustRun(work, "push", "-q", url(a, cached), "main")
	for _, n := range nodes {
		repo(t, n.Server, "alice/project", cached)
		g.MustRun("", "ls-remote", url(n, cached))
	}
	pids := []int{nodes[0].Pid(), nodes[1].Pid()}

	// Background load on both nodes through the whole outage, so that
	// some requests are in flight when sessions are cut and when the
	// server comes back.
	load := startLoad(nodes, "/api/v3/repos/alice/project", cached)
	t.Cleanup(func() { load.stop() })
	time.Sleep(200 * time.Millisecond)
	pg.Down(t)
	down := time.Now()
	for _, n := range nodes {
		for _, probe := range []struct{ what, path, tok string }{
			{"a cached token", "/api/v3/repos/alice/project", cached},
			{"an uncached token", "/api/v3/repos/alice/project", uncached},
			{"no token", "/api/v3/repos/alice/open", ""},
			{"a cached token", "/api/v3/user/repos", cached},
		} {
			code, body := call(t, n.Server, "GET", probe.path, probe.tok)
			var msg struct {
				Message string `json:"message"`
			}
			if code != http.StatusServiceUnavailable || json.Unmarshal([]byte(body), &msg) != nil || msg.Message == "" {
				t.Errorf("node %s, database down: GET %s with %s = %d %s; want 503 with a JSON message",
					n.name, probe.path, probe.what, code, body)
			}
		}
		// The web: a public repository's page, anonymously.
		if code, body := call(t, n.Server, "GET", "/alice/open", ""); code != http.StatusServiceUnavailable {
			t.Errorf("node %s, database down: the page /alice/open = %d, want 503:\n%.300s", n.name, code, body)
		}
		// git: the ref advertisement, over the status git shows the body
		// of, with a cached and an uncached token.
		for _, tok := range []string{cached, uncached} {
			r := g.Run("", "ls-remote", url(n, tok))
			if r.Err == nil {
				t.Errorf("node %s, database down: git ls-remote succeeded", n.name)
			}
			if !strings.Contains(r.Stderr, "remote: ") || !strings.Contains(strings.ToLower(r.Stderr), "unavailable") {
				t.Errorf("node %s, database down: git ls-remote does not tell the user that the database is unavailable:\n%s", n.name, r.Stderr)
			}
			if !strings.Contains(r.Stderr, "503") {
				t.Errorf("node %s, database down: git ls-remote did not get 503:\n%s", n.name, r.Stderr)
			}
		}
		if r := g.Run(work, "push", "-q", url(n, cached), "main:refs/heads/outage"); r.Err == nil || !strings.Contains(strings.ToLower(r.Stderr), "unavailable") {
			t.Errorf("node %s, database down: git push: %v, want a failure that says the database is unavailable:\n%s", n.name, r.Err, r.Stderr)
		}
	}
	// The nodes' background work (the invalidation poller, the reminder
	// job) meets the outage too.
	time.Sleep(time.Until(down.Add(2 * time.Second)))
	pg.Up(t)
	up := time.Now()

	for i, n := range nodes {
		if n.Exited() || n.Pid() != pids[i] {
			t.Fatalf("node %s exited during the outage:\n%s", n.name, n.Log())
		}
	}
	// From now on nothing may fail.
	for _, n := range nodes {
		for _, tok := range []string{cached, uncached, after} {
			if code, body := call(t, n.Server, "GET", "/api/v3/repos/alice/project", tok); code != http.StatusOK {
				t.Errorf("node %s, database back: GET /api/v3/repos/alice/project = %d %s", n.name, code, body)
			}
		}
		if code, body := call(t, n.Server, "GET", "/api/v3/repos/alice/open", ""); code != http.StatusOK {
			t.Errorf("node %s, database back: anonymous GET /api/v3/repos/alice/open = %d %s", n.name, code, body)
		}
		if code, body := call(t, n.Server, "GET", "/alice/open", ""); code != http.StatusOK {
			t.Errorf("node %s, database back: the page /alice/open = %d:\n%.300s", n.name, code, body)
		}
		if r := g.Run("", "ls-remote", url(n, after)); r.Err != nil {
			t.Errorf("node %s, database back: git ls-remote: %v\n%s", n.name, r.Err, r.Stderr)
		}
	}
	time.Sleep(300 * time.Millisecond)
	samples := load.stop()
	var during, afterUp int
	for _, sm := range samples {
		switch {
		case sm.err != nil:
			t.Errorf("node %s, %s: %v", sm.node, sm.phase(down, up), sm.err)
		case sm.start.After(up) && sm.code != http.StatusOK:
			t.Errorf("node %s, after the database came back (%v after): %d %s", sm.node, sm.start.Sub(up).Round(time.Millisecond), sm.code, sm.body)
		case sm.code != http.StatusOK && sm.code != http.StatusServiceUnavailable:
			t.Errorf("node %s, %s: %d %s; want 200 or 503", sm.node, sm.phase(down, up), sm.code, sm.body)
		case sm.code == http.StatusServiceUnavailable:
			during++
		case sm.start.After(up):
			afterUp++
		}
	}
	t.Logf("background load: %d requests, %d answered 503 during the outage, %d answered 200 after it", len(samples), during, afterUp)
	if during == 0 || afterUp == 0 {
		t.Errorf("the background load saw %d 503s during the outage and %d successes after it; want some of each", during, afterUp)
	}
	// Writes: a push through each node (which records pushed_at), each
	// seen through the other.
	for i, n := range nodes {
		other := nodes[1-i]
		head := commitRandom(t, g, work, "after-"+n.name, uint64(10+i), 1, 4<<10)
		// The API gives pushed_at to the second.
		began := time.Now().Truncate(time.Second)
		if r := g.Run(work, "push", "-q", url(n, after), "main"); r.Err != nil {
			t.Fatalf("node %s, database back: git push: %v\n%s", n.name, r.Err, r.Stderr)
		}
		if got := remoteRef(t, g, url(other, after), "refs/heads/main"); got != head {
			t.Errorf("node %s serves main at %s after a push of %s through node %s", other.name, got, head, n.name)
		}
		pushed := repo(t, other.Server, "alice/project", after).PushedAt
		if at, err := time.Parse(time.RFC3339, pushed); err != nil || at.Before(began) {
			t.Errorf("node %s: pushed_at is %q after a push through node %s at %s: the push was not recorded",
				other.name, pushed, n.name, began.UTC().Format(time.RFC3339))
		}
	}
	// The invalidation poller resumed: a revocation reaches both nodes.
	var list []struct {
		ID   int64  `json:"id"`
		Note string `json:"note"`
	}
	if err := json.Unmarshal([]byte(admin("token", "list", "--user", "alice", "--json")), &list); err != nil {
		t.Fatal(err)
	}
	i := slices.IndexFunc(list, func(e struct {
		ID   int64  `json:"id"`
		Note string `json:"note"`
	}) bool {
		return e.Note == "cached"
	})
	if i < 0 {
		t.Fatal("the token noted cached is not listed")
	}
	admin("token", "revoke", strconv.FormatInt(list[i].ID, 10))
	deadline := time.Now().Add(5 * time.Second)
	for _, n := range nodes {
		for {
			code, _ := call(t, n.Server, "GET", "/api/v3/user", cached)
			if code == http.StatusUnauthorized {
				break
			}
			if code != http.StatusOK || time.Now().After(deadline) {
				t.Fatalf("node %s answers %d for a token revoked after the outage; want 401 within 5s", n.name, code)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	for _, n := range nodes {
		log := n.Log()
		if strings.Contains(log, "panic") {
			t.Errorf("node %s panicked:\n%s", n.name, log)
		}
		// The poller failed about 8 times during the 2 s outage: it says
		// so once (and at most every 30 s), then that it works again.
		if c := strings.Count(log, "reading token invalidations failed"); c < 1 || c > 3 {
			t.Errorf("node %s logged %d poller failures and recoveries for one outage, want 1 to 3:\n%s", n.name, c, log)
		}
	}
}

// sample is one request of the background load.
type sample struct {
	node  string
	start time.Time
	code  int
	body  string
	err   error
}

func (s sample) phase(down, up time.Time) string {
	switch {
	case s.start.Before(down):
		return "before the outage"
	case s.start.Before(up):
		return "during the outage"
	}
	return "after the outage"
}

// load sends GET path with tok to every node in turn, without pause, until
// stopped.
type load struct {
	quit    chan struct{}
	done    chan struct{}
	once    sync.Once
	samples []sample
}

func startLoad(nodes []node, path, tok string) *load {
	l := &load{quit: make(chan struct{}), done: make(chan struct{})}
	client := &http.Client{Timeout: 10 * time.Second}
	go func() {
		defer close(l.done)
		for {
			for _, n := range nodes {
				select {
				case <-l.quit:
					return
				default:
				}
				sm := sample{node: n.name, start: time.Now()}
				req, _ := http.NewRequest("GET", n.URL+path, nil)
				req.Header.Set("Authorization", "token "+tok)
				resp, err := client.Do(req)
				if err != nil {
					sm.err = err
				} else {
					b, _ := io.ReadAll(resp.Body)
					resp.Body.Close()
					sm.code, sm.body = resp.StatusCode, string(b)
				}
				l.samples = append(l.samples, sm)
			}
		}
	}()
	return l
}

// stop ends the load and returns what it saw.
func (l *load) stop() []sample {
	l.once.Do(func() { close(l.quit) })
	<-l.done
	return l.samples
}
