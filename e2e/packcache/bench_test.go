package packcache_test

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/testenv"
)

// The benchmarks of docs/pack-cache.md, on the bench history (bench/mkhistory:
// 5,000 commits, a 19 MiB pack), served over plain HTTP on loopback:
//
//	go test ./e2e/packcache -run '^$' -bench . -benchtime 20x
//
// Server CPU is the CPU of the server's process tree (its own and that of
// the git processes it started, once reaped), read from /proc, so that
// the clients' CPU never counts; clients run with pack.threads=1.
// PACKCACHE_HISTORY names the history to serve (default: built once into
// the temporary directory). PACKCACHE_TLS=1 serves HTTPS instead.

// benchSite is a server serving the bench history as alice/bench.
type benchSite struct {
	*site
	head string
}

// historyDir returns the bench history, building it once.
func historyDir(b *testing.B) string {
	b.Helper()
	if h := os.Getenv("PACKCACHE_HISTORY"); h != "" {
		return h
	}
	h := filepath.Join(os.TempDir(), "gatehouse-packcache-history.git")
	if _, err := os.Stat(filepath.Join(h, "HEAD")); err == nil {
		return h
	}
	tmp := h + fmt.Sprint(".tmp", os.Getpid())
	cmd := exec.Command("go", "run", "./bench/mkhistory", tmp)
	cmd.Dir = testenv.ModuleRoot()
	if out, err := cmd.CombinedOutput(); err != nil {
		b.Fatalf("mkhistory: %v\n%s", err, out)
	}
	if err := os.Rename(tmp, h); err != nil {
		b.Fatal(err)
	}
	return h
}

func startBench(b *testing.B, args ...string) *benchSite {
	b.Helper()
	hist := historyDir(b)
	opts := testenv.Options{TLS: os.Getenv("PACKCACHE_TLS") == "1", Quiet: true,
		Args: append([]string{"--git-max-processes", "256", "--git-max-processes-per-client", "256", "--log-level", "warn"}, args...)}
	s := testenv.Start(b, opts)
	s.CreateUser("alice", false)
	st := &site{t: nil, s: s, g: testenv.NewGit(b, s.CAFile), ids: map[string]int{}}
	st.tok = s.Token("alice", "bench", "repo", "")
	s.Admin("repo", "create", "alice/bench", "--private")
	st.ids["bench"] = 1
	if r := st.g.Run(hist, "push", "-q", "--mirror", st.url("bench")); r.Err != nil {
		b.Fatalf("push: %v\n%s", r.Err, r.Stderr)
	}
	dir := st.repoDir("bench")
	for deadline := time.Now().Add(5 * time.Minute); !repacked(dir); time.Sleep(100 * time.Millisecond) {
		if time.Now().After(deadline) {
			b.Fatal("not repacked")
		}
	}
	time.Sleep(time.Second)
	head := strings.TrimSpace(st.g.Run(hist, "rev-parse", "HEAD").Stdout)
	return &benchSite{site: st, head: head}
}

// benchClone clones the history once, as a CI machine would.
func (st *benchSite) benchClone(b *testing.B) {
	b.Helper()
	dst := filepath.Join(b.TempDir(), "c.git")
	if r := st.g.Run("", "-c", "pack.threads=1", "clone", "-q", "--bare", st.url("bench"), dst); r.Err != nil {
		b.Fatalf("clone: %v\n%s", r.Err, r.Stderr)
	}
	os.RemoveAll(dst)
}

// cpuTicks is the CPU time, in clock ticks, of process pid and of the
// children it has reaped, plus that of its live descendants.
func cpuTicks(pid int) int64 {
	var total int64
	for _, p := range tree(pid) {
		f := stat(p)
		if len(f) < 15 {
			continue
		}
		for _, i := range []int{11, 12} { // utime, stime
			n, _ := strconv.ParseInt(f[i], 10, 64)
			total += n
		}
		if p == pid {
			for _, i := range []int{13, 14} { // cutime, cstime
				n, _ := strconv.ParseInt(f[i], 10, 64)
				total += n
			}
		}
	}
	return total
}

// selfTicks is the CPU time, in clock ticks, of process pid alone.
func selfTicks(pid int) int64 {
	f := stat(pid)
	if len(f) < 15 {
		return 0
	}
	u, _ := strconv.ParseInt(f[11], 10, 64)
	s, _ := strconv.ParseInt(f[12], 10, 64)
	return u + s
}

// ticksToMs converts clock ticks (USER_HZ, 100 on Linux) to milliseconds.
func ticksToMs(t int64) float64 { return float64(t) * 10 }

// stat returns the fields of /proc/pid/stat after the command name,
// numbered as proc(5) numbers them less 3 (state is 0).
func stat(pid int) []string {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return nil
	}
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return nil
	}
	return strings.Fields(string(b[i+1:]))
}

// tree returns pid and its live descendants.
func tree(pid int) []int {
	children := map[int][]int{}
	procs, _ := filepath.Glob("/proc/[0-9]*")
	for _, p := range procs {
		n, err := strconv.Atoi(filepath.Base(p))
		if err != nil {
			continue
		}
		if f := stat(n); len(f) > 1 {
			pp, _ := strconv.Atoi(f[1])
			children[pp] = append(children[pp], n)
		}
	}
	out := []int{pid}
	for i := 0; i < len(out); i++ {
		out = append(out, children[out[i]]...)
	}
	return out
}

// treeRSS is the summed resident memory of pid and its descendants, KiB.
func treeRSS(pid int) int64 {
	var total int64
	for _, p := range tree(pid) {
		if f := stat(p); len(f) > 21 {
			pages, _ := strconv.ParseInt(f[21], 10, 64)
			total += pages * int64(os.Getpagesize()) / 1024
		}
	}
	return total
}

// BenchmarkRepeatedClone: server CPU per repeated full clone --bare of the
// same commit, with the pack cache (a hit each time) and without.
func BenchmarkRepeatedClone(b *testing.B) {
	for _, c := range []struct {
		name string
		args []string
	}{
		{"cache", nil},
		{"nocache", []string{"--pack-cache-size", "0", "--max-pack-generations", "0"}},
	} {
		b.Run(c.name, func(b *testing.B) {
			st := startBench(b, c.args...)
			st.benchClone(b) // the cache's entry, the page cache
			pid := st.s.Pid()
			before, self := cpuTicks(pid), selfTicks(pid)
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				st.benchClone(b)
			}
			b.StopTimer()
			b.ReportMetric(ticksToMs(cpuTicks(pid)-before)/float64(b.N), "server-cpu-ms/op")
			b.ReportMetric(ticksToMs(selfTicks(pid)-self)/float64(b.N), "gatehouse-process-ms/op")
		})
	}
}

// BenchmarkParallelClones: server CPU of 32 clones of the same commit at
// once, the cache (packs and kept answers) emptied before each round,
// against one cold clone.
func BenchmarkParallelClones(b *testing.B) {
	st := startBench(b)
	pid := st.s.Pid()
	empty := func() {
		m, _ := filepath.Glob(filepath.Join(st.s.Data, "cache", "packs", "*"))
		for _, p := range m {
			os.Remove(p)
		}
	}
	var one, round int64
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		empty()
		before := cpuTicks(pid)
		st.benchClone(b)
		one += cpuTicks(pid) - before
		empty()
		before = cpuTicks(pid)
		var wg sync.WaitGroup
		for j := 0; j < 32; j++ {
			wg.Add(1)
			go func() { defer wg.Done(); st.benchClone(b) }()
		}
		wg.Wait()
		round += cpuTicks(pid) - before
	}
	b.StopTimer()
	b.ReportMetric(ticksToMs(one)/float64(b.N), "cold-clone-server-cpu-ms")
	b.ReportMetric(ticksToMs(round)/float64(b.N), "32-clones-server-cpu-ms")
	b.ReportMetric(float64(round)/float64(one), "ratio")
}

// BenchmarkParallelFetch200: peak resident memory of the server's process
// tree while 200 clients fetch the whole history at once (raw protocol v2
// requests read to the end, as fast as loopback goes), with the cache and
// the default --max-pack-generations, and without the cache. It reports
// how many fetches were served and refused.
func BenchmarkParallelFetch200(b *testing.B) {
	for _, c := range []struct {
		name string
		args []string
	}{
		{"cache", nil},
		{"nocache", []string{"--pack-cache-size", "0"}},
		{"nocache-nolimit", []string{"--pack-cache-size", "0", "--max-pack-generations", "0"}},
	} {
		b.Run(c.name, func(b *testing.B) {
			if c.name == "nocache-nolimit" && os.Getenv("PACKCACHE_NOLIMIT") != "1" {
				b.Skip("200 pack-objects at once: set PACKCACHE_NOLIMIT=1")
			}
			st := startBench(b, c.args...)
			pid := st.s.Pid()
			client := st.s.Client(b)
			client.Transport.(*http.Transport).MaxConnsPerHost = 0
			client.Transport.(*http.Transport).MaxIdleConnsPerHost = 256
			client.Timeout = 10 * time.Minute
			var peak, served, refused atomic.Int64
			idle := treeRSS(pid)
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				stop := make(chan struct{})
				sampled := make(chan struct{})
				go func() {
					defer close(sampled)
					for {
						if r := treeRSS(pid); r > peak.Load() {
							peak.Store(r)
						}
						select {
						case <-stop:
							return
						case <-time.After(20 * time.Millisecond):
						}
					}
				}()
				var wg sync.WaitGroup
				for j := 0; j < 200; j++ {
					wg.Add(1)
					go func() {
						defer wg.Done()
						req, _ := http.NewRequest("POST", st.s.URL+"/alice/bench.git/git-upload-pack", strings.NewReader(v2Fetch(st.head, "")))
						req.SetBasicAuth("alice", st.tok)
						req.Header.Set("Content-Type", "application/x-git-upload-pack-request")
						req.Header.Set("Git-Protocol", "version=2")
						resp, err := client.Do(req)
						if err != nil {
							refused.Add(1)
							return
						}
						n, _ := io.Copy(io.Discard, resp.Body)
						resp.Body.Close()
						if n > 1<<20 {
							served.Add(1)
						} else {
							refused.Add(1)
						}
					}()
				}
				wg.Wait()
				close(stop)
				<-sampled
			}
			b.StopTimer()
			hwm := int64(0)
			if s, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid)); err == nil {
				for _, l := range strings.Split(string(s), "\n") {
					if v, ok := strings.CutPrefix(l, "VmHWM:"); ok {
						hwm, _ = strconv.ParseInt(strings.Fields(v)[0], 10, 64)
					}
				}
			}
			b.ReportMetric(float64(idle)/1024, "idle-tree-MiB")
			b.ReportMetric(float64(peak.Load())/1024, "peak-tree-MiB")
			b.ReportMetric(float64(hwm)/1024, "server-VmHWM-MiB")
			b.ReportMetric(float64(served.Load())/float64(b.N), "served/round")
			b.ReportMetric(float64(refused.Load())/float64(b.N), "refused/round")
		})
	}
}
