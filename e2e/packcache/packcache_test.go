// Package packcache_test drives the built gatehouse binary with real git
// through the pack cache (docs/pack-cache.md): clones served from the
// cache are the packs git makes, in protocol v0 and v2, over HTTP and SSH;
// a push is seen by the next clone; entries go by size and by age; a
// server killed mid-generation leaves nothing that is served; identical
// clones at once share one generation; and beyond --max-pack-generations
// a fetch is refused in words git shows, while cache hits are still
// served.
package packcache_test

import (
	"bufio"
	"context"
	"crypto/rand"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/testenv"
)

// site is a server with alice, her token and a git client.
type site struct {
	t   *testing.T
	s   *testenv.Server
	g   *testenv.Git
	tok string
	ids map[string]int // repository → its number, in the order created
}

func start(t *testing.T, opts testenv.Options) *site {
	t.Helper()
	// Every clone of these tests comes from 127.0.0.1.
	opts.Args = append([]string{"--git-max-processes-per-client", "64"}, opts.Args...)
	s := testenv.Start(t, opts)
	if opts.Data == "" {
		s.CreateUser("alice", false)
	}
	st := &site{t: t, s: s, g: testenv.NewGit(t, s.CAFile), ids: map[string]int{}}
	st.tok = s.Token("alice", fmt.Sprint("t", time.Now().UnixNano()), "repo", "")
	return st
}

func (st *site) url(repo string) string {
	return testenv.WithCredentials(st.s.RepoURL("alice/"+repo), "alice", st.tok)
}

// repo creates alice/name, pushes a history with a tag and, if big > 0, a
// file of big random bytes, waits for the server's repack (which would
// change the cache's keys under the test) and returns the work tree.
func (st *site) repo(name string, big int) string {
	st.t.Helper()
	work := st.pushRepo(name, big)
	st.waitRepacked(name)
	return work
}

// pushRepo is repo without the wait.
func (st *site) pushRepo(name string, big int) string {
	st.t.Helper()
	st.s.Admin("repo", "create", "alice/"+name, "--private")
	st.ids[name] = len(st.ids) + 1
	work := st.t.TempDir()
	g := st.g
	g.MustRun(work, "init", "-q", "-b", "main")
	g.MustRun(work, "config", "core.compression", "0") // random files do not compress
	for i := 0; i < 3; i++ {
		os.WriteFile(filepath.Join(work, fmt.Sprint("f", i)), []byte(strings.Repeat(fmt.Sprintf("%s line %d\n", name, i), 300)), 0o644)
		g.MustRun(work, "add", ".")
		g.MustRun(work, "commit", "-q", "-m", fmt.Sprint("c", i))
	}
	g.MustRun(work, "tag", "-a", "-m", "v1", "v1")
	if big > 0 {
		b := make([]byte, big)
		rand.Read(b)
		os.WriteFile(filepath.Join(work, "big.bin"), b, 0o644)
		g.MustRun(work, "add", ".")
		g.MustRun(work, "commit", "-q", "-m", "big")
	}
	g.MustRun(work, "push", "-q", "--follow-tags", st.url(name), "main")
	return work
}

// waitRepacked waits until the server has repacked alice/name after its
// push: one pack with a bitmap and a commit-graph, no loose objects.
func (st *site) waitRepacked(name string) {
	st.t.Helper()
	dir := st.repoDir(name)
	for deadline := time.Now().Add(60 * time.Second); !repacked(dir); time.Sleep(50 * time.Millisecond) {
		if time.Now().After(deadline) {
			st.t.Fatalf("the server did not repack %s", name)
		}
	}
}

// repoDir is where the server keeps alice/name.
func (st *site) repoDir(name string) string {
	return filepath.Join(st.s.Data, "repositories", fmt.Sprintf("%d.git", st.ids[name]))
}

func repacked(dir string) bool {
	packs, _ := filepath.Glob(filepath.Join(dir, "objects", "pack", "*.pack"))
	bitmaps, _ := filepath.Glob(filepath.Join(dir, "objects", "pack", "*.bitmap"))
	loose, _ := filepath.Glob(filepath.Join(dir, "objects", "[0-9a-f][0-9a-f]"))
	_, graph := os.Stat(filepath.Join(dir, "objects", "info", "commit-graph"))
	return len(packs) == 1 && len(bitmaps) == 1 && len(loose) == 0 && graph == nil
}

// clone runs a bare clone of alice/repo with progress and returns where
// it went and git's stderr; args go before "clone".
func (st *site) clone(repo string, args ...string) (string, string) {
	st.t.Helper()
	dst := filepath.Join(st.t.TempDir(), "c.git")
	// The pack is kept as it came, however few its objects.
	r := st.g.Run("", append(append([]string{"-c", "transfer.unpackLimit=1"}, args...), "clone", "--bare", "--progress", st.url(repo), dst)...)
	if r.Err != nil {
		st.t.Fatalf("clone %s: %v\n%s", repo, r.Err, r.Stderr)
	}
	return dst, r.Stderr
}

// generated reports whether git's stderr shows pack-objects at work: a
// pack served from the cache comes without progress.
func generated(stderr string) bool { return strings.Contains(stderr, "remote: Enumerating objects") }

// packOf returns the name of the one pack of the bare repository dir,
// which is the checksum of its bytes.
func packOf(t *testing.T, dir string) string {
	t.Helper()
	packs, _ := filepath.Glob(filepath.Join(dir, "objects", "pack", "*.pack"))
	if len(packs) != 1 {
		t.Fatalf("%s has %d packs", dir, len(packs))
	}
	return filepath.Base(packs[0])
}

// objects lists the objects of the repository at dir.
func (st *site) objects(dir string) string {
	st.t.Helper()
	out := strings.Split(strings.TrimSpace(st.g.MustRun(dir, "cat-file", "--batch-all-objects", "--batch-check")), "\n")
	sort.Strings(out)
	return strings.Join(out, "\n")
}

func (st *site) entries() []string {
	m, _ := filepath.Glob(filepath.Join(st.s.Data, "cache", "packs", "*.pack"))
	return m
}

// TestCloneFromCache clones twice in each protocol version: the first
// clone is generated, the second served from the cache without progress,
// and both have the very pack git itself sends for the repository
// (a file:// clone of the server's copy), byte for byte.
func TestCloneFromCache(t *testing.T) {
	t.Parallel()
	st := start(t, testenv.Options{})
	st.repo("app", 0)
	dir := st.repoDir("app")
	mine := filepath.Join(t.TempDir(), "git.git")
	st.g.MustRun("", "clone", "-q", "--bare", "file://"+dir, mine)
	want := packOf(t, mine)
	for _, v := range []string{"2", "0"} {
		t.Run("v"+v, func(t *testing.T) {
			all, _ := filepath.Glob(filepath.Join(st.s.Data, "cache", "packs", "*"))
			for _, e := range all {
				os.Remove(e)
			}
			first, stderr := st.clone("app", "-c", "protocol.version="+v)
			if !generated(stderr) {
				t.Errorf("the first clone was not generated:\n%s", stderr)
			}
			second, stderr := st.clone("app", "-c", "protocol.version="+v)
			if generated(stderr) || strings.Contains(stderr, "remote:") {
				t.Errorf("the second clone was not served from the cache:\n%s", stderr)
			}
			if n := len(st.entries()); n != 1 {
				t.Errorf("%d entries, want 1", n)
			}
			if a, b := packOf(t, first), packOf(t, second); a != want || b != want {
				t.Errorf("packs %s and %s, git's %s", a, b, want)
			}
			st.g.MustRun(second, "fsck", "--strict")
			// The second clone's whole answer was kept: the third is
			// that answer again, without a process.
			if m, _ := filepath.Glob(filepath.Join(st.s.Data, "cache", "packs", "*.answer")); len(m) != 1 {
				t.Errorf("kept answers: %v", m)
			}
			third, stderr := st.clone("app", "-c", "protocol.version="+v)
			if strings.Contains(stderr, "remote:") || packOf(t, third) != want {
				t.Errorf("the replayed clone: pack %s\n%s", packOf(t, third), stderr)
			}
			st.g.MustRun(third, "fsck", "--strict")
		})
	}
	// A clone with a checkout, and a shallow one, from the cache too.
	work := filepath.Join(t.TempDir(), "w")
	st.g.MustRun("", "clone", "-q", st.url("app"), work)
	if _, err := os.Stat(filepath.Join(work, "f2")); err != nil {
		t.Error("checkout:", err)
	}
	for i := 0; i < 2; i++ {
		r := st.g.Run("", "clone", "--progress", "--depth", "1", st.url("app"), filepath.Join(t.TempDir(), "s"))
		if r.Err != nil || i == 1 && generated(r.Stderr) {
			t.Errorf("shallow clone %d: %v\n%s", i, r.Err, r.Stderr)
		}
	}
}

// TestPushSeenByNextClone pushes after a cached clone: the next clone
// has the new commit.
func TestPushSeenByNextClone(t *testing.T) {
	t.Parallel()
	st := start(t, testenv.Options{})
	work := st.repo("app", 0)
	st.clone("app")
	st.clone("app")
	os.WriteFile(filepath.Join(work, "new.txt"), []byte("new\n"), 0o644)
	st.g.MustRun(work, "add", ".")
	st.g.MustRun(work, "commit", "-q", "-m", "new")
	st.g.MustRun(work, "push", "-q", st.url("app"), "main")
	head := strings.TrimSpace(st.g.MustRun(work, "rev-parse", "HEAD"))
	// The first clone after the push makes a new pack; the next is
	// served it. (The server repacks again only after its interval.)
	for i := 0; i < 2; i++ {
		dst, stderr := st.clone("app")
		if got := strings.TrimSpace(st.g.MustRun(dst, "rev-parse", "main")); got != head {
			t.Fatalf("clone %d after the push has main at %s, want %s", i, got, head)
		}
		if generated(stderr) != (i == 0) {
			t.Errorf("clone %d after the push: generated %v", i, generated(stderr))
		}
	}
}

// TestEvictionBySize keeps a 1 MiB cache: of two repositories of 600 KiB
// packs only the one used last stays.
func TestEvictionBySize(t *testing.T) {
	t.Parallel()
	st := start(t, testenv.Options{Args: []string{"--pack-cache-size", "1"}})
	st.pushRepo("a", 600<<10)
	st.pushRepo("b", 600<<10)
	st.waitRepacked("a")
	st.waitRepacked("b")
	st.clone("a")
	if n := len(st.entries()); n != 1 {
		t.Fatalf("%d entries after one clone", n)
	}
	st.clone("b")
	waitEntries(t, st, 1)
	if _, stderr := st.clone("b"); generated(stderr) {
		t.Error("b, used last, was evicted")
	}
	if _, stderr := st.clone("a"); !generated(stderr) {
		t.Error("a, least recently used, was not evicted")
	}
}

// TestEvictionByAge keeps entries for two seconds.
func TestEvictionByAge(t *testing.T) {
	t.Parallel()
	st := start(t, testenv.Options{Args: []string{"--pack-cache-max-age", "2s"}})
	st.repo("app", 0)
	st.clone("app")
	if _, stderr := st.clone("app"); generated(stderr) {
		t.Fatal("not served from the cache")
	}
	time.Sleep(2100 * time.Millisecond)
	if _, stderr := st.clone("app"); !generated(stderr) {
		t.Error("an entry older than --pack-cache-max-age was served")
	}
	if n := len(st.entries()); n != 1 {
		t.Errorf("%d entries", n)
	}
}

func waitEntries(t *testing.T, st *site, n int) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); len(st.entries()) != n; time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("%d entries, want %d", len(st.entries()), n)
		}
	}
}

// TestKilledMidGeneration kills the server with SIGKILL while a pack is
// being written into the cache: after a restart nothing of it is served,
// and clones are whole.
func TestKilledMidGeneration(t *testing.T) {
	t.Parallel()
	st := start(t, testenv.Options{Quiet: true})
	// Not repacked yet: pack-objects compresses the loose objects, which
	// takes long enough to be caught at it.
	st.pushRepo("app", 6<<20)
	done := make(chan testenv.Result, 1)
	go func() {
		done <- st.g.Run("", "clone", "-q", "--bare", st.url("app"), filepath.Join(t.TempDir(), "c.git"))
	}()
	caught := false
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline) && !caught; time.Sleep(time.Millisecond) {
		tmp, _ := filepath.Glob(filepath.Join(st.s.Data, "cache", "packs", "*.tmp"))
		for _, p := range tmp {
			if fi, err := os.Stat(p); err == nil && fi.Size() > 0 {
				caught = true
			}
		}
	}
	if !caught {
		t.Fatal("no generation under way")
	}
	st.s.Kill()
	if r := <-done; r.Err == nil {
		t.Log("the clone finished before the kill")
	}
	if n := len(st.entries()); n != 0 {
		t.Fatalf("%d entries after the kill", n)
	}
	st2 := start(t, testenv.Options{Data: st.s.Data})
	for i := 0; i < 2; i++ {
		dst, _ := st2.clone("app")
		st2.g.MustRun(dst, "fsck", "--strict")
	}
	if n := len(st2.entries()); n != 1 {
		t.Errorf("%d entries", n)
	}
	if tmp, _ := filepath.Glob(filepath.Join(st.s.Data, "cache", "packs", "*.tmp")); len(tmp) != 0 {
		t.Errorf("left behind: %v", tmp)
	}
}

// TestParallelClones runs 32 clones of the same commit at once, from one
// address with the default limit of 8 git processes per client: all
// succeed with the same pack, made once, because identical clones wait
// for one another's answer instead of each running upload-pack.
func TestParallelClones(t *testing.T) {
	t.Parallel()
	st := start(t, testenv.Options{Args: []string{"--git-max-processes-per-client", "8"}})
	st.repo("app", 256<<10)
	const n = 32
	var wg sync.WaitGroup
	results := make([]testenv.Result, n)
	dsts := make([]string, n)
	for i := range results {
		dsts[i] = filepath.Join(t.TempDir(), "c.git")
		wg.Add(1)
		go func() {
			defer wg.Done()
			results[i] = st.g.Run("", "clone", "--bare", "--progress", st.url("app"), dsts[i])
		}()
	}
	wg.Wait()
	gen := 0
	for i, r := range results {
		if r.Err != nil {
			t.Fatalf("clone %d: %v\n%s", i, r.Err, r.Stderr)
		}
		if generated(r.Stderr) {
			gen++
		}
		if a, b := packOf(t, dsts[i]), packOf(t, dsts[0]); a != b {
			t.Errorf("clone %d has pack %s, clone 0 %s", i, a, b)
		}
	}
	if gen != 1 || len(st.entries()) != 1 {
		t.Errorf("%d clones generated their pack, %d entries; want 1 and 1", gen, len(st.entries()))
	}
	if hits, misses := st.metric("gatehouse_pack_cache_hits_total"), st.metric("gatehouse_pack_cache_misses_total"); misses != 1 || hits != n-1 {
		t.Errorf("%v hits and %v misses, want %d and 1", hits, misses, n-1)
	}
}

// metric reads a metric without labels from the server's /metrics.
func (st *site) metric(name string) float64 {
	st.t.Helper()
	v, ok := st.s.Metric(st.t, name)
	if !ok {
		st.t.Fatalf("no %s in /metrics", name)
	}
	return v
}

// TestGenerationLimit holds the one pack generation slot with a fetch
// (fetches are not cached, so pack-objects writes straight to its client)
// whose client reads nothing. Meanwhile a clone that must generate is
// refused after the wait, in words git shows, in both protocol versions
// (and the HTTP answer carries Retry-After), while a clone the cache
// has is served.
func TestGenerationLimit(t *testing.T) {
	t.Parallel()
	st := start(t, testenv.Options{Args: []string{"--max-pack-generations", "1", "--pack-generation-wait", "500ms"}})
	// The fetch from the commit before to the last one is a pack of 6 MiB
	// of random bytes: more than the connection and pipes hold.
	work := st.pushRepo("slow", 6<<20)
	st.pushRepo("other", 0)
	st.pushRepo("cached", 0)
	for _, name := range []string{"slow", "other", "cached"} {
		st.waitRepacked(name)
	}
	head := strings.TrimSpace(st.g.MustRun(work, "rev-parse", "HEAD"))
	base := strings.TrimSpace(st.g.MustRun(work, "rev-parse", "HEAD~1"))
	st.clone("cached")

	stall := st.stalledFetch("slow", head, base)
	defer stall.Close()
	waitRunning(t, st.s, stall)

	for _, v := range []string{"2", "0"} {
		r := st.g.Run("", "-c", "protocol.version="+v, "clone", "--bare", st.url("other"), filepath.Join(t.TempDir(), "o.git"))
		want := "fatal: remote error: The server is preparing as many packs as it allows at once (1); try again in 10 seconds."
		if r.Err == nil || !strings.Contains(r.Stderr, want) {
			t.Errorf("v%s: clone beyond the limit: %v\n%s", v, r.Err, r.Stderr)
		}
	}
	resp := st.rawFetch("other")
	if resp.StatusCode != 200 || resp.Header.Get("Retry-After") != "10" || !strings.HasPrefix(resp.body, "0") || !strings.Contains(resp.body, "ERR The server is preparing") {
		t.Errorf("HTTP answer: %d, Retry-After %q, %q", resp.StatusCode, resp.Header.Get("Retry-After"), resp.body)
	}
	if _, stderr := st.clone("cached"); generated(stderr) {
		t.Error("the cached clone was generated")
	}
	stall.Close()
	// The slot is free again.
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		r := st.g.Run("", "clone", "-q", "--bare", st.url("other"), filepath.Join(t.TempDir(), "o.git"))
		if r.Err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("clone after the slot was freed: %v\n%s", r.Err, r.Stderr)
		}
	}
}

// stalledFetch sends a v2 fetch of want, having have, over a connection
// whose client never reads the answer, with a small receive buffer so
// that the server's writes soon block.
func (st *site) stalledFetch(repo, want, have string) net.Conn {
	st.t.Helper()
	d := net.Dialer{Control: func(_, _ string, c syscall.RawConn) error {
		var serr error
		if err := c.Control(func(fd uintptr) {
			serr = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF, 4096)
		}); err != nil {
			return err
		}
		return serr
	}}
	c, err := d.Dial("tcp", st.s.Host)
	if err != nil {
		st.t.Fatal(err)
	}
	body := v2Fetch(want, have)
	req, _ := http.NewRequest("POST", st.s.URL+"/alice/"+repo+".git/git-upload-pack", strings.NewReader(body))
	req.SetBasicAuth("alice", st.tok)
	req.Header.Set("Content-Type", "application/x-git-upload-pack-request")
	req.Header.Set("Git-Protocol", "version=2")
	if err := req.Write(c); err != nil {
		st.t.Fatal(err)
	}
	return c
}

// waitRunning waits until the stalled fetch holds its slot: its answer
// has started to come.
func waitRunning(t *testing.T, s *testenv.Server, c net.Conn) {
	t.Helper()
	c.SetReadDeadline(time.Now().Add(30 * time.Second))
	br := bufio.NewReaderSize(c, 1024)
	if _, err := br.Peek(1); err != nil {
		t.Fatalf("the stalled fetch got no answer: %v\n%s", err, s.Log())
	}
	c.SetReadDeadline(time.Time{})
}

func pkt(s string) string { return fmt.Sprintf("%04x%s", len(s)+4, s) }

func v2Fetch(want, have string) string {
	req := pkt("command=fetch\n") + pkt("object-format=sha1\n") + "0001" + pkt("ofs-delta\n") + pkt("no-progress\n") + pkt("want "+want+"\n")
	if have != "" {
		req += pkt("have " + have + "\n")
	}
	return req + pkt("done\n") + "0000"
}

type rawResponse struct {
	*http.Response
	body string
}

// rawFetch posts the v2 clone request of alice/repo's main branch.
func (st *site) rawFetch(repo string) rawResponse {
	st.t.Helper()
	head := strings.Fields(st.g.MustRun("", "ls-remote", st.url(repo), "refs/heads/main"))[0]
	req, _ := http.NewRequestWithContext(context.Background(), "POST", st.s.URL+"/alice/"+repo+".git/git-upload-pack", strings.NewReader(v2Fetch(head, "")))
	req.SetBasicAuth("alice", st.tok)
	req.Header.Set("Content-Type", "application/x-git-upload-pack-request")
	req.Header.Set("Git-Protocol", "version=2")
	resp, err := st.s.Client(st.t).Do(req)
	if err != nil {
		st.t.Fatal(err)
	}
	defer resp.Body.Close()
	var sb strings.Builder
	bufio.NewReader(resp.Body).WriteTo(&sb)
	return rawResponse{resp, sb.String()}
}

// TestOverSSH clones over SSH through the cache: the second clone is a
// hit with git's pack.
func TestOverSSH(t *testing.T) {
	t.Parallel()
	ssh := testenv.RequireOneOf(t, "the OpenSSH client", "apt-get install -y openssh-client", "ssh", "/usr/bin/ssh")
	keygen := testenv.RequireOneOf(t, "ssh-keygen (OpenSSH)", "apt-get install -y openssh-client", "ssh-keygen", "/usr/bin/ssh-keygen")
	st := start(t, testenv.Options{SSH: true})
	st.repo("app", 0)
	key := filepath.Join(t.TempDir(), "id")
	if out, err := exec.Command(keygen, "-q", "-t", "ed25519", "-N", "", "-f", key).CombinedOutput(); err != nil {
		t.Fatalf("ssh-keygen: %v\n%s", err, out)
	}
	pub, _ := os.ReadFile(key + ".pub")
	if _, errOut, err := st.s.AdminInput(string(pub), "key", "add", "--user", "alice"); err != nil {
		t.Fatalf("key add: %v\n%s", err, errOut)
	}
	sshCmd := fmt.Sprintf("%s -i %s -o IdentitiesOnly=yes -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o BatchMode=yes -o LogLevel=ERROR", ssh, key)
	var packs []string
	for i := 0; i < 2; i++ {
		dst := filepath.Join(t.TempDir(), "c.git")
		r := st.g.RunEnv("", []string{"GIT_SSH_COMMAND=" + sshCmd}, "clone", "--bare", "--progress", st.s.SSHURL("alice/app"), dst)
		if r.Err != nil {
			t.Fatalf("clone over SSH: %v\n%s", r.Err, r.Stderr)
		}
		if generated(r.Stderr) != (i == 0) {
			t.Errorf("clone %d over SSH: generated %v\n%s", i, generated(r.Stderr), r.Stderr)
		}
		packs = append(packs, packOf(t, dst))
	}
	if packs[0] != packs[1] {
		t.Errorf("packs %v", packs)
	}
}

// TestCacheDir: with --pack-cache-dir the entries are kept there, not in
// the data directory (nodes sharing one data directory each keep their
// own cache on local disk).
func TestCacheDir(t *testing.T) {
	t.Parallel()
	dir := filepath.Join(t.TempDir(), "local", "packs")
	st := start(t, testenv.Options{Args: []string{"--pack-cache-dir", dir}})
	st.repo("app", 0)
	st.clone("app")
	_, stderr := st.clone("app")
	if generated(stderr) {
		t.Errorf("the second clone was generated:\n%s", stderr)
	}
	if m, _ := filepath.Glob(filepath.Join(dir, "*.pack")); len(m) != 1 {
		t.Errorf("entries in --pack-cache-dir: %v", m)
	}
	if n := len(st.entries()); n != 0 {
		t.Errorf("%d entries in DATA/cache/packs", n)
	}
}
