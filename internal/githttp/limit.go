package githttp

import (
	"net/netip"
	"strconv"
	"sync"
)

// Limits bounds how many git processes the handler runs at once, so that
// clients who open requests and then dawdle cannot take every process
// slot, memory and file descriptor of the server. A process counts from
// just before it starts until it has exited.
type Limits struct {
	// Processes is the most git processes at once for the whole server
	// (DefaultMaxProcesses when zero).
	Processes int
	// PerClient is the most at once for one client address, IPv6
	// addresses counted by /64 (DefaultMaxProcessesPerClient when zero).
	// Behind a reverse proxy that is not trusted every client has the
	// proxy's address, and this becomes a second server-wide bound.
	PerClient int
}

// The default limits: enough for a busy team's CI, few enough that the
// processes' memory stays well below a small server's.
const (
	DefaultMaxProcesses          = 64
	DefaultMaxProcessesPerClient = 8
)

// retryAfter is the Retry-After, in seconds, of a refusal for lack of a
// process slot: long enough for most fetches to finish.
const retryAfter = 10

func (l Limits) processes() int {
	if l.Processes > 0 {
		return l.Processes
	}
	return DefaultMaxProcesses
}

func (l Limits) perClient() int {
	if l.PerClient > 0 {
		return l.PerClient
	}
	return DefaultMaxProcessesPerClient
}

// slots counts the running git processes, in all and by client.
type slots struct {
	mu       sync.Mutex
	total    int
	byClient map[string]int
}

// busy says why a process slot was refused.
type busy struct {
	perClient bool // the client's own limit, not the server's
	limit     int
}

// message is the refusal in words git shows its user.
func (b busy) message() string {
	if b.perClient {
		return "Too many git operations from your address are running at once (the limit is " + strconv.Itoa(b.limit) +
			"); wait for them to finish and try again in " + strconv.Itoa(retryAfter) + " seconds."
	}
	return "The server is running as many git operations as it allows (" + strconv.Itoa(b.limit) +
		"); try again in " + strconv.Itoa(retryAfter) + " seconds."
}

// acquire takes a slot for one process of client (a clientKey). On
// success it returns the function that gives the slot back, to be called
// once the process has exited.
func (s *slots) acquire(client string, lim Limits) (release func(), refused *busy) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if n := lim.processes(); s.total >= n {
		return nil, &busy{limit: n}
	}
	if n := lim.perClient(); s.byClient[client] >= n {
		return nil, &busy{perClient: true, limit: n}
	}
	if s.byClient == nil {
		s.byClient = map[string]int{}
	}
	s.total++
	s.byClient[client]++
	var once sync.Once
	return func() { once.Do(func() { s.release(client) }) }, nil
}

func (s *slots) release(client string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.total--
	if s.byClient[client]--; s.byClient[client] <= 0 {
		delete(s.byClient, client) // the map holds only clients with a process
	}
}

func (s *slots) running() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.total
}

// clientKey is what the per-client limit counts by: the address, or its
// /64 for IPv6, the smallest network one subscriber is usually given.
func clientKey(ip string) string {
	a, err := netip.ParseAddr(ip)
	if err != nil {
		return ip
	}
	a = a.Unmap().WithZone("")
	if a.Is6() {
		return netip.PrefixFrom(a, 64).Masked().String()
	}
	return a.String()
}
