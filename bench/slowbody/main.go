// Command slowbody measures what slow request bodies cost a running
// Gatehouse (issue 8): it holds connections that POST git-upload-pack,
// announce a 10 MB body and then send only a few bytes, from several
// loopback source addresses, and meanwhile counts the server's git
// processes in /proc and times real `git clone`s from 127.0.0.1.
//
// It is driven by bench/slowbody.sh, which starts the server; see there.
//
//	slowbody -url http://127.0.0.1:PORT/owner/repo.git -user U -token T -pid PID \
//	    -conns 200 -addrs 1 -hold 5s -clones 0
package main

import (
	"bufio"
	"encoding/base64"
	"flag"
	"fmt"
	"net"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

func main() {
	rawURL := flag.String("url", "", "clone URL of the repository, without credentials (http://127.0.0.1:PORT/owner/name.git)")
	user := flag.String("user", "", "login for the token")
	token := flag.String("token", "", "personal access token with read access")
	pid := flag.Int("pid", 0, "pid of gatehouse serve, whose git processes are counted")
	conns := flag.Int("conns", 200, "slow connections to hold")
	addrs := flag.Int("addrs", 1, "loopback source addresses to spread them over (127.0.1.1 …)")
	send := flag.String("send", "0032want ", "bytes of the 10 MB body each slow connection sends before going quiet")
	hold := flag.Duration("hold", 5*time.Second, "how long to hold them when not cloning")
	clones := flag.Int("clones", 0, "clone pairs to time from 127.0.0.1: one idle, then one with the connections held, alternately (0: none)")
	flag.Parse()
	if *rawURL == "" || *pid == 0 {
		fmt.Fprintln(os.Stderr, "usage: slowbody -url URL -user U -token T -pid PID [flags]")
		os.Exit(2)
	}
	u, err := url.Parse(*rawURL)
	check(err)
	h := &holder{host: u.Host, path: u.Path + "/git-upload-pack", auth: basic(*user, *token), send: *send}
	if *clones == 0 {
		p := h.hold(*pid, *conns, *addrs, func() { time.Sleep(*hold) })
		p.print(*conns, *addrs, *send)
		return
	}
	var idle, loaded []time.Duration
	var p phase
	for i := 0; i < *clones; i++ {
		idle = append(idle, timeClone(u, *user, *token)...)
		p = h.hold(*pid, *conns, *addrs, func() { loaded = append(loaded, timeClone(u, *user, *token)...) })
		// Before the next idle clone, let the server end the held
		// requests' processes (the connections are closed).
		for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
			if n, _ := gitDescendants(*pid); n == 0 {
				break
			}
		}
	}
	p.print(*conns, *addrs, *send)
	fmt.Printf("clone median: idle %v, with %d slow connections held %v", median(idle), *conns, median(loaded))
	if len(idle) > 0 && len(loaded) > 0 {
		fmt.Printf(" (%.2fx)", float64(median(loaded))/float64(median(idle)))
	}
	fmt.Printf("\n  idle runs %v\n  held runs %v\n", idle, loaded)
}

// phase is what one holding phase saw.
type phase struct {
	held, peak                 int
	peakRSSKiB                 int64
	refused, timedOut, dialErr int64
}

func (p phase) print(conns, addrs int, send string) {
	fmt.Printf("%d slow connections from %d address(es), sending %q: git processes held %d, peak %d (the server's git descendants, %d MiB RSS at most); "+
		"%d requests refused, %d ended by the idle timeout, %d dial errors\n",
		conns, addrs, send, p.held, p.peak, p.peakRSSKiB>>10, p.refused, p.timedOut, p.dialErr)
}

// hold opens conns slow connections from addrs source addresses, lets
// them settle, runs during, and closes them, counting pid's git processes
// all along.
func (h *holder) hold(pid, conns, addrs int, during func()) phase {
	h.refused.Store(0)
	h.timedOut.Store(0)
	h.dialErrs.Store(0)
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for i := 0; i < conns; i++ {
		from := "127.0.1." + strconv.Itoa(1+i%addrs)
		wg.Add(1)
		go func() { defer wg.Done(); h.loop(from, stop) }()
	}
	var p phase
	var mu sync.Mutex
	sampling := make(chan struct{})
	go func() {
		defer close(sampling)
		t := time.NewTicker(50 * time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-stop:
				return
			case <-t.C:
				n, rss := gitDescendants(pid)
				mu.Lock()
				p.peak, p.peakRSSKiB = max(p.peak, n), max(p.peakRSSKiB, rss)
				mu.Unlock()
			}
		}
	}()
	// Let every connection reach the server and be refused or held: until
	// the count of processes has not moved for a second (at most 20 s).
	held, since := -1, time.Now()
	for start := time.Now(); time.Since(start) < 20*time.Second; time.Sleep(100 * time.Millisecond) {
		n, _ := gitDescendants(pid)
		if n != held {
			held, since = n, time.Now()
		} else if time.Since(since) >= time.Second && time.Since(start) >= 2*time.Second {
			break
		}
	}
	during()
	close(stop)
	<-sampling
	for _, c := range h.open() {
		c.Close()
	}
	wg.Wait()
	p.held, p.refused, p.timedOut, p.dialErr = held, h.refused.Load(), h.timedOut.Load(), h.dialErrs.Load()
	return p
}

// holder keeps slow connections open: each loop dials, sends a request
// head and a few body bytes and waits for the server to answer or close.
// A request refused at once is done (a flood of retries would measure
// something else); one the idle timeout ended starts again, until stop.
type holder struct {
	host, path, auth, send string

	mu    sync.Mutex
	conns map[net.Conn]bool

	refused, timedOut, dialErrs atomic.Int64
}

func (h *holder) loop(from string, stop <-chan struct{}) {
	for {
		select {
		case <-stop:
			return
		default:
		}
		d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(from)}, Timeout: 5 * time.Second}
		c, err := d.Dial("tcp", h.host)
		if err != nil {
			h.dialErrs.Add(1)
			time.Sleep(time.Second)
			continue
		}
		h.track(c, true)
		fmt.Fprintf(c, "POST %s HTTP/1.1\r\nHost: %s\r\nAuthorization: %s\r\nContent-Type: application/x-git-upload-pack-request\r\n"+
			"Content-Length: 10000000\r\n\r\n%s", h.path, h.host, h.auth, h.send)
		// Until an answer or the close: a refusal is a 200 with git's ERR
		// line; a request that held a process ends in 408 or a close.
		line, _ := bufio.NewReader(c).ReadString('\n')
		c.Close()
		h.track(c, false)
		select {
		case <-stop:
			return
		default:
		}
		if strings.HasPrefix(line, "HTTP/1.1 200") {
			h.refused.Add(1)
			<-stop
			return
		}
		h.timedOut.Add(1)
	}
}

func (h *holder) track(c net.Conn, open bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.conns == nil {
		h.conns = map[net.Conn]bool{}
	}
	if open {
		h.conns[c] = true
	} else {
		delete(h.conns, c)
	}
}

func (h *holder) open() []net.Conn {
	h.mu.Lock()
	defer h.mu.Unlock()
	var cs []net.Conn
	for c := range h.conns {
		cs = append(cs, c)
	}
	return cs
}

// timeClone times a bare clone from 127.0.0.1 (git's own source address
// on loopback): one duration, or none if the clone failed, which it
// reports.
func timeClone(u *url.URL, user, token string) []time.Duration {
	dir, err := os.MkdirTemp("", "slowbody-clone-")
	check(err)
	defer os.RemoveAll(dir)
	cu := *u
	cu.User = url.UserPassword(user, token)
	cmd := exec.Command("git", "-c", "credential.helper=", "clone", "-q", "--bare", cu.String(), filepath.Join(dir, "clone.git"))
	cmd.Env = append(os.Environ(), "GIT_TERMINAL_PROMPT=0", "GIT_CONFIG_NOSYSTEM=1", "GIT_CONFIG_GLOBAL=/dev/null")
	start := time.Now()
	out, err := cmd.CombinedOutput()
	d := time.Since(start).Round(time.Millisecond)
	if err != nil {
		// Refused for want of a process slot, say: report it, go on.
		fmt.Printf("clone failed after %v: %v\n%s", d, err, strings.ReplaceAll(string(out), token, "[token]"))
		return nil
	}
	return []time.Duration{d}
}

func median(ds []time.Duration) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := append([]time.Duration(nil), ds...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	return s[len(s)/2]
}

// gitDescendants counts the git processes below pid (upload-pack and the
// pack-objects it runs are both "git") and sums their resident memory in
// KiB.
func gitDescendants(pid int) (n int, rssKiB int64) {
	ents, err := os.ReadDir("/proc")
	check(err)
	type proc struct {
		ppid int
		comm string
		rss  int64
	}
	procs := map[int]proc{}
	for _, e := range ents {
		p, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		stat, err := os.ReadFile("/proc/" + e.Name() + "/stat")
		if err != nil {
			continue
		}
		s := string(stat)
		open, close := strings.IndexByte(s, '('), strings.LastIndexByte(s, ')')
		if open < 0 || close < open {
			continue
		}
		f := strings.Fields(s[close+1:])
		if len(f) < 22 {
			continue
		}
		ppid, _ := strconv.Atoi(f[1])
		pages, _ := strconv.ParseInt(f[21], 10, 64)
		procs[p] = proc{ppid: ppid, comm: s[open+1 : close], rss: pages * int64(os.Getpagesize()) >> 10}
	}
	for _, pr := range procs {
		if pr.comm != "git" {
			continue
		}
		for a := pr.ppid; a > 1; a = procs[a].ppid {
			if a == pid {
				n++
				rssKiB += pr.rss
				break
			}
			if _, ok := procs[a]; !ok {
				break
			}
		}
	}
	return n, rssKiB
}

func basic(user, pass string) string {
	return "Basic " + base64.StdEncoding.EncodeToString([]byte(user+":"+pass))
}

func check(err error) {
	if err != nil {
		fmt.Fprintln(os.Stderr, "slowbody:", err)
		os.Exit(1)
	}
}
