package faults_test

import (
	"fmt"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/testenv"
)

// pushSize is how much new, incompressible history each round pushes, in
// pushFiles commits.
const (
	pushFiles = 3
	pushSize  = 3 << 20
)

// killRound is one SIGKILL of the server during a push.
type killRound struct {
	name string
	// upload, when not zero, kills once this fraction of the push's bytes
	// has reached the server (index-pack is reading the pack); otherwise
	// the kill comes while the pre-receive hook runs (the pack is
	// complete in the quarantine, no ref has moved yet).
	upload float64
	// tree kills the server's git processes too (receive-pack, index-pack,
	// the hook), as a container stop or a power cut does; otherwise only
	// the server dies and its children, which run in process groups of
	// their own, are left to end by themselves.
	tree bool
}

// TestKillDuringPush kills gatehouse serve with SIGKILL in the middle of
// pushes of a few MB, at different points and with or without its git
// processes, restarts it on the same data dir each time, and checks that
// the repository is sound (git fsck --full, every ref names a commit that
// is there), that the git processes left behind ended by themselves, that
// the database still serves the repository and that the push, tried again,
// works.
func TestKillDuringPush(t *testing.T) {
	g := testenv.NewGit(t, "")
	s := testenv.Start(t, testenv.Options{})
	data := s.Data
	s.CreateUser("alice", false)
	s.Admin("repo", "create", "alice/big", "--private")
	tok := s.Token("alice", "push", "repo", "")
	id := repo(t, s, "alice/big", tok).ID
	dir := repoDir(data, id)

	work := t.TempDir()
	g.MustRun(work, "init", "-q", "-b", "main")
	head := commitRandom(t, g, work, "seed", 0, 1, 64<<10)
	g.MustRun(work, "push", "-q", testenv.WithCredentials(s.RepoURL("alice/big"), "alice", tok), "main")

	rounds := []killRound{
		{name: "upload 30%, server only", upload: 0.3},
		{name: "upload 70%, with its git processes", upload: 0.7, tree: true},
		{name: "pre-receive hook, server only"},
		{name: "pre-receive hook, with its git processes", tree: true},
		{name: "upload 99%, with its git processes", upload: 0.99, tree: true},
	}
	for i, rd := range rounds {
		prev := head
		head = commitRandom(t, g, work, fmt.Sprintf("round%d", i), uint64(i+1), pushFiles, pushSize/pushFiles)
		parent := t
		t.Run(rd.name, func(t *testing.T) {
			pushedAt := repo(t, s, "alice/big", tok).PushedAt
			s = killPush(t, parent, g, s, dir, work, tok, rd)
			refs := checkRepo(t, g, dir)
			// The push either landed whole or not at all.
			switch m := refs["refs/heads/main"]; m {
			case prev:
				t.Logf("the killed push did not land")
			case head:
				// receive-pack outlived the server and finished the
				// push the client was told had failed; the server
				// never recorded it.
				t.Logf("the killed push landed after the server died (pushed_at %s, before %s)",
					repo(t, s, "alice/big", tok).PushedAt, pushedAt)
			default:
				t.Errorf("after the kill main is %s: neither the old %s nor the pushed %s", m, prev, head)
			}
			q, tmp, locks := leftovers(dir)
			if len(q)+len(tmp)+len(locks) > 0 {
				t.Logf("left in the repository: quarantines %v, temporary files %v, locks %v", q, tmp, locks)
			}
			// The database still knows and serves the repository.
			repo(t, s, "alice/big", tok)
			// And the push, tried again, works.
			url := testenv.WithCredentials(s.RepoURL("alice/big"), "alice", tok)
			if r := g.Run(work, "push", "-q", url, "main"); r.Err != nil {
				t.Fatalf("the push after the restart failed: %v\n%s", r.Err, r.Stderr)
			}
			if got := remoteRef(t, g, url, "refs/heads/main"); got != head {
				t.Fatalf("after the push main is %s, want %s", got, head)
			}
			checkRepo(t, g, dir)
		})
		if t.Failed() {
			break
		}
	}
	// A clone of everything works and matches.
	clone := filepath.Join(t.TempDir(), "clone")
	g.MustRun("", "clone", "-q", testenv.WithCredentials(s.RepoURL("alice/big"), "alice", tok), clone)
	if got := strings.TrimSpace(g.MustRun(clone, "rev-parse", "HEAD")); got != head {
		t.Fatalf("the clone's HEAD is %s, want %s", got, head)
	}
	g.MustRun(clone, "fsck", "--full", "--no-progress")
}

// killPush pushes work's main through a proxy, kills s as rd says while
// the push runs, waits until every git process in the repository dir has
// ended, and returns the server started again on the same data dir (for
// the rest of parent).
func killPush(t, parent *testing.T, g *testenv.Git, s *testenv.Server, dir, work, tok string, rd killRound) *testenv.Server {
	t.Helper()
	// Should the round fail half-way, end the git processes it left (a
	// stopped hook would wait forever): the ones working in the test's own
	// repository, by their ids.
	t.Cleanup(func() {
		for _, pr := range processesIn(dir) {
			syscall.Kill(pr.pid, syscall.SIGKILL)
		}
	})
	p := newPauseProxy(t, s.Host)
	var paused <-chan struct{}
	if rd.upload > 0 {
		paused = p.arm(int64(rd.upload * pushSize))
	} else {
		paused = freezeHook(t, dir)
	}
	url := testenv.WithCredentials(p.URL(s.RepoURL("alice/big")), "alice", tok)
	pushed := make(chan testenv.Result, 1)
	go func() { pushed <- g.Run(work, "push", "-q", url, "main") }()

	var frozen []proc
	select {
	case <-paused:
	case r := <-pushed:
		t.Fatalf("the push ended before the kill point: %v\n%s", r.Err, r.Stderr)
	case <-time.After(60 * time.Second):
		t.Fatal("the push did not reach the kill point in 60s")
	}
	// What the proxy passed on may still sit in socket buffers: wait until
	// git is reading the pack (or, at the hook, has read it).
	during := waitReceiving(t, dir, rd.upload == 0)
	for _, pr := range during {
		if strings.Contains(pr.cmdline, "pre-receive") {
			frozen = append(frozen, pr)
		}
	}
	s.Kill()
	killed := time.Now()
	if rd.tree {
		for _, pr := range during {
			syscall.Kill(pr.pid, syscall.SIGKILL)
		}
	}
	for _, pr := range frozen {
		syscall.Kill(pr.pid, syscall.SIGCONT)
	}
	p.close()
	select {
	case r := <-pushed:
		if r.Err == nil {
			t.Errorf("the push succeeded although the server was killed during it:\n%s", r.Stderr)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("git push still runs 30s after the server was killed")
	}
	// Without their parent, receive-pack and its children see their input
	// end (or, past the hook, their output fail) and exit.
	waitNoProcesses(t, dir, 30*time.Second)
	if !rd.tree {
		t.Logf("the server's git processes (%d at the kill) ended by themselves %v after it",
			len(during), time.Since(killed).Round(time.Millisecond))
	}
	return testenv.Start(parent, testenv.Options{Data: s.Data})
}

// waitReceiving waits until receive-pack runs in dir with the program that
// stores the pack (index-pack, or unpack-objects for a push of few
// objects), or with the hook when hook is set, and returns the processes
// then running there.
func waitReceiving(t *testing.T, dir string, hook bool) []proc {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	var ps []proc
	for time.Now().Before(deadline) {
		ps = processesIn(dir)
		var receive, store bool
		for _, p := range ps {
			receive = receive || strings.Contains(p.cmdline, "receive-pack") && !strings.Contains(p.cmdline, "--advertise-refs")
			if hook {
				store = store || strings.Contains(p.cmdline, "hook pre-receive")
			} else {
				store = store || strings.Contains(p.cmdline, "index-pack") || strings.Contains(p.cmdline, "unpack-objects")
			}
		}
		if receive && store {
			return ps
		}
		time.Sleep(5 * time.Millisecond)
	}
	t.Fatalf("git did not get to the kill point in %s in 20s; running: %v", dir, ps)
	return nil
}

// freezeHook watches dir for the pre-receive hook and stops it (SIGSTOP)
// as soon as it appears, so that the server can be killed at a known
// point: the pushed objects complete in the quarantine, no ref moved. The
// returned channel is closed once the hook is stopped.
func freezeHook(t *testing.T, dir string) <-chan struct{} {
	t.Helper()
	done := make(chan struct{})
	stop := make(chan struct{})
	t.Cleanup(func() { close(stop) })
	go func() {
		for {
			select {
			case <-stop:
				return
			default:
			}
			for _, pr := range processesIn(dir) {
				if strings.Contains(pr.cmdline, "hook pre-receive") {
					syscall.Kill(pr.pid, syscall.SIGSTOP)
					close(done)
					return
				}
			}
			time.Sleep(time.Millisecond)
		}
	}()
	return done
}
