package gitrepo

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// packRepo is a repository with a little history in a Dir of its own.
type packRepo struct {
	t    testing.TB
	d    *Dir
	id   int64
	work string
}

func newPackRepo(t testing.TB, pc *PackCache) *packRepo {
	t.Helper()
	d := &Dir{Root: t.TempDir(), PackCache: pc}
	tmp, err := d.Prepare(context.Background(), "main")
	if err != nil {
		t.Fatal(err)
	}
	if err := d.Commit(tmp, 1); err != nil {
		t.Fatal(err)
	}
	r := &packRepo{t: t, d: d, id: 1, work: t.TempDir()}
	r.git(r.work, "init", "-q", "-b", "main")
	// Random test files do not compress: do not try (the server's
	// pack-objects still does).
	r.git(r.work, "config", "core.compression", "0")
	for i := 0; i < 3; i++ {
		r.commit(fmt.Sprintf("f%d", i), strings.Repeat(fmt.Sprintf("line %d\n", i), 200))
	}
	r.git(r.work, "tag", "-a", "-m", "v1", "v1")
	r.push()
	return r
}

func (r *packRepo) git(dir string, args ...string) string {
	r.t.Helper()
	cmd := exec.Command("git", args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GIT_AUTHOR_NAME=t", "GIT_AUTHOR_EMAIL=t@e", "GIT_COMMITTER_NAME=t", "GIT_COMMITTER_EMAIL=t@e",
		"GIT_CONFIG_GLOBAL=/dev/null", "GIT_CONFIG_NOSYSTEM=1")
	out, err := cmd.CombinedOutput()
	if err != nil {
		r.t.Fatalf("git %v: %v\n%s", args, err, out)
	}
	return strings.TrimSpace(string(out))
}

// commit commits file with content and returns the commit.
func (r *packRepo) commit(file, content string) string {
	r.t.Helper()
	if err := os.WriteFile(filepath.Join(r.work, file), []byte(content), 0o644); err != nil {
		r.t.Fatal(err)
	}
	r.git(r.work, "add", file)
	r.git(r.work, "commit", "-q", "-m", file)
	return r.git(r.work, "rev-parse", "HEAD")
}

func (r *packRepo) push() {
	r.t.Helper()
	r.git(r.work, "push", "-q", "--follow-tags", r.d.Path(r.id), "main")
}

func (r *packRepo) head() string { return r.git(r.work, "rev-parse", "HEAD") }

// packData is the pack in an upload-pack answer: the side-band's first
// band. How git cuts it into packets depends on how pack-objects' output
// reached upload-pack, so answers are compared by their pack.
func packData(t *testing.T, answer []byte) []byte {
	t.Helper()
	var pack []byte
	for len(answer) >= 4 {
		var n int
		if _, err := fmt.Sscanf(string(answer[:4]), "%04x", &n); err != nil {
			t.Fatalf("bad pkt-line %q", answer[:4])
		}
		if n < 4 {
			answer = answer[4:]
			continue
		}
		if len(answer) < n {
			t.Fatalf("truncated answer")
		}
		if line := answer[4:n]; len(line) > 0 && line[0] == 1 {
			pack = append(pack, line[1:]...)
		}
		answer = answer[n:]
	}
	if !bytes.HasPrefix(pack, []byte("PACK")) {
		t.Fatalf("no pack in the answer")
	}
	return pack
}

func pktLine(s string) string { return fmt.Sprintf("%04x%s", len(s)+4, s) }

// cloneRequest is what git clone sends for want in protocol v2 ("2") or
// v0 ("0"), without progress so that answers can be compared byte for
// byte; have, if set, makes it a fetch.
func cloneRequest(version, want, have string) string {
	if version == "2" {
		req := pktLine("command=fetch\n") + pktLine("object-format=sha1\n") + "0001" +
			pktLine("thin-pack\n") + pktLine("ofs-delta\n") + pktLine("no-progress\n") + pktLine("include-tag\n") + pktLine("want "+want+"\n")
		if have != "" {
			req += pktLine("have " + have + "\n")
		}
		return req + pktLine("done\n") + "0000"
	}
	req := pktLine("want "+want+" multi_ack_detailed side-band-64k thin-pack no-progress include-tag ofs-delta\n") + "0000"
	if have != "" {
		req += pktLine("have " + have + "\n")
	}
	return req + pktLine("done\n")
}

// fetch runs upload-pack on req and returns its answer.
func (r *packRepo) fetch(version, req string) ([]byte, error) {
	var out bytes.Buffer
	proto := ""
	if version == "2" {
		proto = "version=2"
	}
	err := r.d.Run(context.Background(), r.id, UploadPack, RunOptions{Protocol: proto, Stdin: strings.NewReader(req), Stdout: &out})
	return out.Bytes(), err
}

func (r *packRepo) mustFetch(version, req string) []byte {
	r.t.Helper()
	out, err := r.fetch(version, req)
	if err != nil {
		r.t.Fatalf("fetch: %v", err)
	}
	if !bytes.Contains(out, []byte("PACK")) {
		r.t.Fatalf("no pack in the answer:\n%q", out)
	}
	return out
}

func entries(t *testing.T, dir string) []string {
	t.Helper()
	m, _ := filepath.Glob(filepath.Join(dir, "*"+packSuffix))
	return m
}

// TestPackCacheServesWhatGitSends compares upload-pack's whole answer with
// the cache (a miss, then a hit) with git's own without a hook, in both
// protocol versions, and checks that only the hit was served from the
// cache.
func TestPackCacheServesWhatGitSends(t *testing.T) {
	for _, version := range []string{"2", "0"} {
		t.Run("v"+version, func(t *testing.T) {
			pc := &PackCache{Dir: t.TempDir(), MaxBytes: 1 << 30}
			r := newPackRepo(t, pc)
			req := cloneRequest(version, r.head(), "")
			plain := &Dir{Root: r.d.Root}
			var want bytes.Buffer
			if err := plain.Run(context.Background(), r.id, UploadPack, RunOptions{Protocol: map[string]string{"2": "version=2"}[version], Stdin: strings.NewReader(req), Stdout: &want}); err != nil {
				t.Fatal(err)
			}
			miss := r.mustFetch(version, req)
			if st := pc.Stats(); st.Misses != 1 || st.Hits != 0 || len(entries(t, pc.Dir)) != 1 {
				t.Fatalf("after the first fetch: %+v, entries %v", st, entries(t, pc.Dir))
			}
			hit := r.mustFetch(version, req)
			if st := pc.Stats(); st.Misses != 1 || st.Hits != 1 || st.StoredBytes == 0 {
				t.Fatalf("after the second fetch: %+v", st)
			}
			gitPack := packData(t, want.Bytes())
			if !bytes.Equal(packData(t, miss), gitPack) || !bytes.Equal(packData(t, hit), gitPack) {
				t.Errorf("packs differ from git's: miss %v, hit %v",
					bytes.Equal(packData(t, miss), gitPack), bytes.Equal(packData(t, hit), gitPack))
			}
		})
	}
}

// TestPackCacheFollowsTheRepository checks that new objects change the key:
// after a push the same want is generated again, and the new commit's
// clone holds it.
func TestPackCacheFollowsTheRepository(t *testing.T) {
	pc := &PackCache{Dir: t.TempDir(), MaxBytes: 1 << 30}
	r := newPackRepo(t, pc)
	old := r.head()
	r.mustFetch("2", cloneRequest("2", old, ""))
	next := r.commit("new.txt", "new\n")
	r.push()
	r.mustFetch("2", cloneRequest("2", old, ""))
	out := r.mustFetch("2", cloneRequest("2", next, ""))
	if st := pc.Stats(); st.Misses != 3 || st.Hits != 0 {
		t.Errorf("after a push: %+v, want 3 misses", st)
	}
	// A repack changes the packs' names: again a miss.
	if err := r.d.Repack(context.Background(), r.id); err != nil {
		t.Fatal(err)
	}
	r.mustFetch("2", cloneRequest("2", next, ""))
	if st := pc.Stats(); st.Misses != 4 {
		t.Errorf("after a repack: %+v, want 4 misses", st)
	}
	if !bytes.Contains(out, []byte("PACK")) {
		t.Fatal("no pack")
	}
}

// TestPackCacheFetchNotCached checks that a fetch that says what it has is
// served, right, without the cache.
func TestPackCacheFetchNotCached(t *testing.T) {
	pc := &PackCache{Dir: t.TempDir(), MaxBytes: 1 << 30}
	r := newPackRepo(t, pc)
	base := r.head()
	next := r.commit("more.txt", "more\n")
	r.push()
	plain := &Dir{Root: r.d.Root}
	var want bytes.Buffer
	req := cloneRequest("2", next, base)
	if err := plain.Run(context.Background(), r.id, UploadPack, RunOptions{Protocol: "version=2", Stdin: strings.NewReader(req), Stdout: &want}); err != nil {
		t.Fatal(err)
	}
	got := r.mustFetch("2", req)
	if !bytes.Equal(packData(t, got), packData(t, want.Bytes())) {
		t.Error("the fetch's pack differs from git's")
	}
	if st := pc.Stats(); st.Uncached != 1 || st.Misses != 0 || len(entries(t, pc.Dir)) != 0 {
		t.Errorf("%+v, entries %v", st, entries(t, pc.Dir))
	}
}

// TestPackCacheConcurrentMisses runs identical clones at once: one
// generates, the others wait for it and are served its entry.
func TestPackCacheConcurrentMisses(t *testing.T) {
	pc := &PackCache{Dir: t.TempDir(), MaxBytes: 1 << 30}
	r := newPackRepo(t, pc)
	req := cloneRequest("2", r.head(), "")
	outs := make([][]byte, 8)
	errs := make([]error, 8)
	var wg sync.WaitGroup
	for i := range outs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			outs[i], errs[i] = r.fetch("2", req)
		}()
	}
	wg.Wait()
	for i := range outs {
		if errs[i] != nil {
			t.Errorf("clone %d: %v", i, errs[i])
		} else if !bytes.Equal(packData(t, outs[i]), packData(t, outs[0])) {
			t.Errorf("clone %d: another pack", i)
		}
	}
	if st := pc.Stats(); st.Misses != 1 || st.Hits != 7 {
		t.Errorf("%+v, want 1 miss and 7 hits", st)
	}
	if n := len(entries(t, pc.Dir)); n != 1 {
		t.Errorf("%d entries", n)
	}
	if tmp, _ := filepath.Glob(filepath.Join(pc.Dir, "*"+tmpSuffix)); len(tmp) != 0 {
		t.Errorf("left behind: %v", tmp)
	}
}

// TestPackCacheNeverServesPartial leaves what a crashed generation
// leaves — a temporary file with the start of a pack, and a truncated
// entry — and checks that neither is served.
func TestPackCacheNeverServesPartial(t *testing.T) {
	pc := &PackCache{Dir: t.TempDir(), MaxBytes: 1 << 30}
	r := newPackRepo(t, pc)
	req := cloneRequest("2", r.head(), "")
	want := packData(t, r.mustFetch("2", req))
	entry := entries(t, pc.Dir)[0]
	full, err := os.ReadFile(entry)
	if err != nil {
		t.Fatal(err)
	}
	// A crash mid-generation: the temporary file holds part of the pack.
	key := strings.TrimSuffix(filepath.Base(entry), packSuffix)
	os.Remove(entry)
	if err := os.WriteFile(filepath.Join(pc.Dir, key+tmpSuffix), full[:len(full)/2], 0o600); err != nil {
		t.Fatal(err)
	}
	if got := r.mustFetch("2", req); !bytes.Equal(packData(t, got), want) {
		t.Error("after a crash: the pack differs")
	}
	// A file that is not a pack where the entry should be (a disk that
	// lost the data): not served either.
	if err := os.WriteFile(entry, make([]byte, len(full)), 0o600); err != nil {
		t.Fatal(err)
	}
	if got := r.mustFetch("2", req); !bytes.Equal(packData(t, got), want) {
		t.Error("after a zeroed entry: the pack differs")
	}
	if st := pc.Stats(); st.Hits != 0 || st.Misses != 3 {
		t.Errorf("%+v, want 3 misses", st)
	}
}

// TestPackCacheKilledGeneration kills pack-objects while it writes: the
// fetch fails, no entry is left, and the next fetch is whole.
func TestPackCacheKilledGeneration(t *testing.T) {
	pc := &PackCache{Dir: t.TempDir(), MaxBytes: 1 << 30}
	r := newPackRepo(t, pc)
	// Large enough that pack-objects is still writing when it is found
	// (it writes to the cache's file at its own pace, whatever the client
	// reads).
	big := make([]byte, 24<<20)
	rand.Read(big)
	r.commit("big.bin", string(big))
	r.push()
	req := cloneRequest("2", r.head(), "")
	// A client that reads nothing: pack-objects writes to the file
	// regardless, and is killed while it does. On a fast machine it may
	// have finished first: then the entry is removed and it is tried
	// again.
	killed := false
	for attempt := 0; attempt < 5 && !killed; attempt++ {
		stuck := &blockingWriter{release: make(chan struct{})}
		errc := make(chan error, 1)
		go func() {
			errc <- r.d.Run(context.Background(), r.id, UploadPack, RunOptions{Protocol: "version=2", Stdin: strings.NewReader(req), Stdout: stuck})
		}()
		var tmp string
		for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); time.Sleep(time.Millisecond) {
			m, _ := filepath.Glob(filepath.Join(pc.Dir, "*"+tmpSuffix))
			if len(m) == 1 {
				if fi, err := os.Stat(m[0]); err == nil && fi.Size() > 0 {
					tmp = m[0]
					break
				}
			}
		}
		if tmp == "" {
			t.Fatal("no generation under way")
		}
		killed = killPackObjects(t) > 0
		close(stuck.release)
		err := <-errc
		if killed && err == nil {
			t.Error("the fetch whose pack-objects was killed succeeded")
		}
		if !killed {
			for _, e := range entries(t, pc.Dir) {
				os.Remove(e)
			}
		}
	}
	if !killed {
		t.Fatal("pack-objects finished before it could be killed, 5 times")
	}
	if e := entries(t, pc.Dir); len(e) != 0 {
		t.Fatalf("entries after the kill: %v", e)
	}
	out := r.mustFetch("2", req)
	plain := &Dir{Root: r.d.Root}
	var want bytes.Buffer
	if err := plain.Run(context.Background(), r.id, UploadPack, RunOptions{Protocol: "version=2", Stdin: strings.NewReader(req), Stdout: &want}); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(packData(t, out), packData(t, want.Bytes())) {
		t.Error("the fetch after the kill differs from git's")
	}
}

// blockingWriter blocks every write until release is closed, as a client
// that reads nothing.
type blockingWriter struct{ release chan struct{} }

func (w *blockingWriter) Write(p []byte) (int, error) {
	<-w.release
	return len(p), nil
}

// killPackObjects kills the git pack-objects children of this process.
func killPackObjects(t *testing.T) int {
	t.Helper()
	n := 0
	procs, _ := filepath.Glob("/proc/[0-9]*/stat")
	for _, p := range procs {
		stat, err := os.ReadFile(p)
		if err != nil {
			continue
		}
		i := bytes.LastIndexByte(stat, ')')
		fields := strings.Fields(string(stat[i+1:]))
		if len(fields) < 2 || fields[1] != fmt.Sprint(os.Getpid()) {
			continue
		}
		cmdline, _ := os.ReadFile(filepath.Join(filepath.Dir(p), "cmdline"))
		if !bytes.Contains(cmdline, []byte("pack-objects")) {
			continue
		}
		var pid int
		fmt.Sscan(filepath.Base(filepath.Dir(p)), &pid)
		if proc, err := os.FindProcess(pid); err == nil && proc.Kill() == nil {
			n++
		}
	}
	return n
}

// TestPackGenerationAdmission holds the one generation slot with a fetch
// whose client reads nothing (fetches are not cached: pack-objects writes
// straight to the client), then checks that a clone that must generate is
// refused after the wait with nothing written, and that a clone the cache
// has is served meanwhile.
func TestPackGenerationAdmission(t *testing.T) {
	pc := &PackCache{Dir: t.TempDir(), MaxBytes: 1 << 30, Generations: 1, Wait: 300 * time.Millisecond}
	r := newPackRepo(t, pc)
	cached := r.head()
	// More than the pipes between pack-objects and the client hold (the
	// output pipe alone is 1 MiB), so that the fetch stays stuck.
	big := make([]byte, 8<<20)
	rand.Read(big)
	next := r.commit("big.bin", string(big))
	r.push()
	r.mustFetch("2", cloneRequest("2", cached, "")) // now in the cache

	stuck := &blockingWriter{release: make(chan struct{})}
	errc := make(chan error, 1)
	go func() {
		errc <- r.d.Run(context.Background(), r.id, UploadPack, RunOptions{Protocol: "version=2", Stdin: strings.NewReader(cloneRequest("2", next, cached)), Stdout: stuck})
	}()
	for deadline := time.Now().Add(10 * time.Second); pc.Stats().Running == 0; time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the fetch never started generating")
		}
	}
	for _, version := range []string{"2", "0"} {
		start := time.Now()
		out, err := r.fetch(version, cloneRequest(version, next, ""))
		var busy *BusyError
		if !errors.As(err, &busy) || busy.Generations != 1 || len(out) != 0 {
			t.Errorf("v%s: a generation beyond the limit: %v, %d bytes written", version, err, len(out))
		}
		if d := time.Since(start); d < 250*time.Millisecond {
			t.Errorf("v%s: refused after %v, before the wait", version, d)
		}
		if busy != nil && !strings.Contains(busy.Message(10), "as many packs as it allows at once (1); try again in 10 seconds") {
			t.Errorf("message: %s", busy.Message(10))
		}
	}
	if got := r.mustFetch("2", cloneRequest("2", cached, "")); len(got) == 0 {
		t.Error("a cache hit was not served while the slot was taken")
	}
	st := pc.Stats()
	if st.Refused != 2 || st.Running != 1 || st.Hits != 1 {
		t.Errorf("%+v", st)
	}
	close(stuck.release)
	if err := <-errc; err != nil {
		t.Errorf("the slow fetch: %v", err)
	}
	if st := pc.Stats(); st.Running != 0 || st.Waiting != 0 {
		t.Errorf("after: %+v", st)
	}
	// With the slot free the clone is served.
	r.mustFetch("2", cloneRequest("2", next, ""))
}

// TestPackCacheOff keeps admission control without a cache directory.
func TestPackCacheOff(t *testing.T) {
	pc := &PackCache{Generations: 2}
	r := newPackRepo(t, pc)
	req := cloneRequest("2", r.head(), "")
	a, b := r.mustFetch("2", req), r.mustFetch("2", req)
	if !bytes.Equal(packData(t, a), packData(t, b)) {
		t.Error("packs differ")
	}
	if st := pc.Stats(); st.Hits+st.Misses+st.Uncached != 0 || st.Running != 0 {
		t.Errorf("%+v", st)
	}
}

// TestPackHookNotAChild checks that a request naming a process that is
// not upload-pack's child is not served by the server: the shell runs
// pack-objects itself.
func TestPackHookNotAChild(t *testing.T) {
	pc := &PackCache{Dir: t.TempDir(), MaxBytes: 1 << 30}
	d := &Dir{Root: t.TempDir(), PackCache: pc}
	cmd := exec.Command("true")
	if err := cmd.Run(); err != nil {
		t.Fatal(err)
	}
	run, err := pc.attach(context.Background(), d, cmd, d.Root, io.Discard, true)
	if err != nil {
		t.Fatal(err)
	}
	defer run.child.Close()
	defer run.conn.Close()
	for _, argv := range [][]string{{"git", "pack-objects", "--stdout"}, {"rm", "-rf", "/"}, {"git"}} {
		if got := run.handle(os.Getpid(), argv); got != "run" {
			t.Errorf("%q: %q, want run", argv, got)
		}
	}
}

// TestSweep evicts by age (since written) and then by least recent use,
// and removes what a dead generation left.
func TestSweep(t *testing.T) {
	dir := t.TempDir()
	now := time.Now()
	mk := func(name string, size int, written, used time.Duration) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, make([]byte, size), 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Chtimes(p, now.Add(-used), now.Add(-written)); err != nil {
			t.Fatal(err)
		}
		return p
	}
	old := mk("old.pack", 10, time.Hour, time.Second)          // too old, though just used
	lru := mk("lru.pack", 400, time.Minute, 5*time.Minute)     // the least recently used
	mid := mk("mid.pack", 400, 2*time.Minute, 2*time.Minute)   // kept
	fresh := mk("fresh.pack", 400, 3*time.Minute, time.Second) // kept
	dead := mk("dead.tmp", 50, time.Minute, time.Minute)       // no writer: removed
	other := mk("notes.txt", 5, 48*time.Hour, 48*time.Hour)    // not the cache's
	live := filepath.Join(dir, "live.tmp")                     // locked by its writer
	mk("live.tmp", 50, time.Minute, time.Minute)
	lf, err := lockFile(context.Background(), live)
	if err != nil {
		t.Fatal(err)
	}
	defer lf.Close()

	n, size, evicted := sweepDir(dir, now, 10*time.Minute, 1000)
	if n != 2 || size != 800 || evicted != 2 {
		t.Errorf("sweep: %d entries, %d bytes, %d evicted; want 2, 800, 2", n, size, evicted)
	}
	for p, want := range map[string]bool{old: false, lru: false, mid: true, fresh: true, dead: false, other: true, live: true} {
		if _, err := os.Stat(p); (err == nil) != want {
			t.Errorf("%s: present %v, want %v", filepath.Base(p), err == nil, want)
		}
	}
}

// TestSpoolSpills checks that a pack the file cannot take (a full disk)
// still reaches the client whole, through memory, and makes no entry.
func TestSpoolSpills(t *testing.T) {
	data := make([]byte, 3<<20)
	rand.Read(data)
	for _, c := range []struct {
		name string
		f    *limitedFile
		max  int64
	}{
		{"disk full", &limitedFile{room: 1 << 20}, 1 << 40},
		{"larger than the cache", &limitedFile{room: 1 << 40}, 1 << 20},
		{"room", &limitedFile{room: 1 << 40}, 1 << 40},
	} {
		t.Run(c.name, func(t *testing.T) {
			sp := newSpool(c.f, c.max)
			go sp.fill(&chunkReader{data: data})
			var out bytes.Buffer
			if err := sp.drain(&out); err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(out.Bytes(), data) {
				t.Fatalf("drained %d bytes, not the %d written", out.Len(), len(data))
			}
			size, ok := sp.complete()
			if want := c.name == "room"; ok != want || ok && size != int64(len(data)) {
				t.Errorf("complete: %d, %v", size, ok)
			}
		})
	}
}

// limitedFile is a file with room for room bytes, then ENOSPC.
type limitedFile struct {
	mu   sync.Mutex
	b    []byte
	room int
}

func (f *limitedFile) WriteAt(p []byte, off int64) (int, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	n := min(len(p), f.room-int(off))
	if n < 0 {
		n = 0
	}
	f.b = append(f.b[:off], p[:n]...)
	if n < len(p) {
		return n, errors.New("no space left on device")
	}
	return n, nil
}

func (f *limitedFile) ReadAt(p []byte, off int64) (int, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	n := copy(p, f.b[off:])
	if n < len(p) {
		return n, io.EOF
	}
	return n, nil
}

// chunkReader reads data in uneven pieces, as a pipe does.
type chunkReader struct {
	data []byte
	n    int
}

func (r *chunkReader) Read(p []byte) (int, error) {
	if len(r.data) == 0 {
		return 0, io.EOF
	}
	r.n++
	k := min(len(p), len(r.data), 1000+r.n*7919%70000)
	copy(p, r.data[:k])
	r.data = r.data[k:]
	return k, nil
}

// TestPackKey checks what the key covers and what is not cached.
func TestPackKey(t *testing.T) {
	r := newPackRepo(t, nil)
	dir := r.d.Path(r.id)
	argv := []string{"git", "pack-objects", "--revs", "--thin", "--stdout", "--progress", "--delta-base-offset"}
	clone := []byte(r.head() + "\n--not\n\n")
	key := func(argv []string, in []byte) string {
		t.Helper()
		k, err := packKey(dir, argv, in, "git version 2")
		if err != nil {
			t.Fatalf("%q: %v", in, err)
		}
		return k
	}
	k := key(argv, clone)
	if k2 := key(slicesWithout(argv, "--progress"), clone); k2 != k {
		t.Error("--progress changes the key")
	}
	if k2 := key(append(argv, "--include-tag"), clone); k2 == k {
		t.Error("--include-tag does not change the key")
	}
	if k2, _ := packKey(dir, argv, clone, "git version 3"); k2 == k {
		t.Error("git's version does not change the key")
	}
	r.git(dir, "update-ref", "refs/heads/other", "HEAD")
	if k2 := key(argv, clone); k2 == k {
		t.Error("a new ref does not change the key")
	}
	if _, err := packKey(dir, argv, []byte(r.head()+"\n--not\n"+r.head()+"\n\n"), ""); !errors.Is(err, errUncacheable) {
		t.Errorf("haves: %v", err)
	}
	os.WriteFile(filepath.Join(dir, "objects", "info", "alternates"), []byte("/elsewhere\n"), 0o644)
	if _, err := packKey(dir, argv, clone, ""); !errors.Is(err, errUncacheable) {
		t.Errorf("alternates: %v", err)
	}
}

func slicesWithout(s []string, drop string) []string {
	var out []string
	for _, v := range s {
		if v != drop {
			out = append(out, v)
		}
	}
	return out
}

// TestPackCacheCollectors registers the metrics and reads them back.
func TestPackCacheCollectors(t *testing.T) {
	pc := &PackCache{Dir: t.TempDir(), MaxBytes: 1 << 30}
	r := newPackRepo(t, pc)
	req := cloneRequest("2", r.head(), "")
	r.mustFetch("2", req)
	r.mustFetch("2", req)
	reg := prometheus.NewPedanticRegistry()
	reg.MustRegister(pc.Collectors()...)
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]float64{}
	for _, mf := range mfs {
		for _, m := range mf.GetMetric() {
			got[mf.GetName()] = m.GetCounter().GetValue() + m.GetGauge().GetValue()
		}
	}
	for name, want := range map[string]float64{
		"gatehouse_pack_cache_hits_total": 1, "gatehouse_pack_cache_misses_total": 1, "gatehouse_pack_cache_entries": 1,
		"gatehouse_pack_generations_running": 0, "gatehouse_pack_generations_refused_total": 0,
	} {
		if v, ok := got[name]; !ok || v != want {
			t.Errorf("%s = %v (present %v), want %v", name, v, ok, want)
		}
	}
	if got["gatehouse_pack_cache_size_bytes"] <= 0 || got["gatehouse_pack_cache_stored_bytes_total"] <= 0 {
		t.Errorf("sizes: %v", got)
	}
	if len(mfs) != 12 {
		t.Errorf("%d metrics, want 12", len(mfs))
	}
}

// TestKeptAnswer runs a clone request three times with its body given as
// Request: a miss, a hit (whose whole answer is kept) and a replay that
// runs no process; a push makes the replay stop.
func TestKeptAnswer(t *testing.T) {
	for _, version := range []string{"2", "0"} {
		t.Run("v"+version, func(t *testing.T) {
			pc := &PackCache{Dir: t.TempDir(), MaxBytes: 1 << 30}
			r := newPackRepo(t, pc)
			proto := map[string]string{"2": "version=2"}[version]
			req := cloneRequest(version, r.head(), "")
			run := func() []byte {
				t.Helper()
				var out bytes.Buffer
				served, done, err := r.d.ServeAnswer(context.Background(), r.id, proto, []byte(req), &out)
				if served {
					if err != nil {
						t.Fatal(err)
					}
					return out.Bytes()
				}
				defer done()
				if err := r.d.Run(context.Background(), r.id, UploadPack, RunOptions{Protocol: proto, Stdin: strings.NewReader(req), Stdout: &out, Request: []byte(req)}); err != nil {
					t.Fatal(err)
				}
				return out.Bytes()
			}
			miss := run()
			answers := func() int { m, _ := filepath.Glob(filepath.Join(pc.Dir, "*"+answerSuffix)); return len(m) }
			if answers() != 0 {
				t.Fatal("an answer with progress-free pack-objects output was kept from a miss")
			}
			hit := run()
			if answers() != 1 {
				t.Fatal("the hit's answer was not kept")
			}
			replay := run()
			if !bytes.Equal(replay, hit) || !bytes.Equal(packData(t, miss), packData(t, hit)) {
				t.Error("the replay differs from the hit's answer")
			}
			// What a hang-up leaves kept only when it is whole.
			whole := func(b []byte) bool { return wholeAnswer(bufio.NewReader(bytes.NewReader(b))) }
			if !whole(hit) || !whole(miss) {
				t.Error("a whole answer is not whole")
			}
			flipped := bytes.Clone(hit)
			flipped[len(flipped)/2] ^= 1
			for name, b := range map[string][]byte{
				"without its flush": hit[:len(hit)-4], "cut in the pack": hit[:len(hit)-30],
				"a byte changed": flipped, "empty": nil,
				"with a packet longer than git's": []byte("000dpackfile\nfffa" + strings.Repeat("x", 0xfffa-4) + "0000"),
			} {
				if whole(b) {
					t.Errorf("an answer %s is whole", name)
				}
			}
			if st := pc.Stats(); st.Hits != 2 || st.Misses != 1 {
				t.Errorf("%+v", st)
			}
			r.commit("more.txt", "more\n")
			r.push()
			var out bytes.Buffer
			if served, done, _ := r.d.ServeAnswer(context.Background(), r.id, proto, []byte(req), &out); served {
				t.Error("an answer kept before a push was replayed after it")
			} else {
				done()
			}
		})
	}
}

// TestIdenticalClonesWait sends 16 identical clone requests at once:
// they wait for one another instead of each running upload-pack, so that
// git runs twice (the miss, then the hit whose answer is kept) and the
// rest are given the kept answer, the same pack for all.
func TestIdenticalClonesWait(t *testing.T) {
	pc := &PackCache{Dir: t.TempDir(), MaxBytes: 1 << 30, Wait: 30 * time.Second}
	r := newPackRepo(t, pc)
	req := cloneRequest("2", r.head(), "")
	var runs atomic.Int64
	outs := make([][]byte, 16)
	var wg sync.WaitGroup
	for i := range outs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var out bytes.Buffer
			served, done, err := r.d.ServeAnswer(context.Background(), r.id, "version=2", []byte(req), &out)
			if !served {
				defer done()
				runs.Add(1)
				err = r.d.Run(context.Background(), r.id, UploadPack, RunOptions{Protocol: "version=2", Stdin: strings.NewReader(req), Stdout: &out, Request: []byte(req)})
			}
			if err != nil {
				t.Error(err)
			}
			outs[i] = out.Bytes()
		}()
	}
	wg.Wait()
	if n := runs.Load(); n != 2 {
		t.Errorf("upload-pack ran %d times for 16 identical clones, want 2", n)
	}
	for i := range outs {
		if !bytes.Equal(packData(t, outs[i]), packData(t, outs[0])) {
			t.Fatalf("clone %d was given another pack", i)
		}
	}
	if st := pc.Stats(); st.Misses != 1 || st.Hits != 15 {
		t.Errorf("%+v, want 1 miss and 15 hits", st)
	}
}

// TestIdenticalCloneWaitIsBounded: a request that waits for an identical
// one longer than the cache's Wait runs git after all.
func TestIdenticalCloneWaitIsBounded(t *testing.T) {
	pc := &PackCache{Dir: t.TempDir(), MaxBytes: 1 << 30, Wait: 50 * time.Millisecond}
	r := newPackRepo(t, pc)
	req := cloneRequest("2", r.head(), "")
	var out bytes.Buffer
	served, done, _ := r.d.ServeAnswer(context.Background(), r.id, "version=2", []byte(req), &out)
	if served {
		t.Fatal("served from an empty cache")
	}
	defer done() // the first one never finishes while the second waits
	began := time.Now()
	served, done2, _ := r.d.ServeAnswer(context.Background(), r.id, "version=2", []byte(req), &out)
	if served || time.Since(began) < 50*time.Millisecond || time.Since(began) > 5*time.Second {
		t.Errorf("served %v after %v", served, time.Since(began))
	}
	done2()
}

func TestIsCloneRequest(t *testing.T) {
	want := strings.Repeat("a", 40)
	for req, ok := range map[string]bool{
		cloneRequest("2", want, ""):   true,
		cloneRequest("0", want, ""):   true,
		cloneRequest("2", want, want): false,
		cloneRequest("0", want, want): false,
		pktLine("command=fetch\n") + "0001" + pktLine("want "+want+"\n") + "0000": false, // no done: a negotiation
		pktLine("command=ls-refs\n") + "0000":                                     false,
		cloneRequest("2", want, "")[:20]:                                          false,
		"zzzz":                                                                    false,
	} {
		if got := isCloneRequest([]byte(req)); got != ok {
			t.Errorf("%q: %v, want %v", req, got, ok)
		}
	}
}

// BenchmarkAnswerKey is the cost of keying a clone request by the
// repository's state, which a clone whose answer was not kept pays in
// KeptAnswer and again when upload-pack's answer is recorded.
func BenchmarkAnswerKey(b *testing.B) {
	pc := &PackCache{Dir: b.TempDir(), MaxBytes: 1 << 30}
	r := newPackRepo(b, pc)
	pc.init(r.d)
	dir := absPath(r.d.Path(r.id))
	req := []byte(cloneRequest("2", r.head(), ""))
	b.ResetTimer()
	for range b.N {
		if _, err := pc.answerKey(dir, r.d.uploadPackOptions(), "version=2", req); err != nil {
			b.Fatal(err)
		}
	}
}
