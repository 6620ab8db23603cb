package auth

import (
	"container/list"
	"net/netip"
	"sync"
	"time"
)

// throttle counts failed attempts per client in fixed windows. A client is
// an address, or for IPv6 its /64, which one client usually holds whole
// (rotating addresses inside it must not reset the count). Memory is
// bounded: when the table is full it drops the clients whose window
// started longest ago, never the whole table, so filling it cannot unlock
// anyone who is still within their window and counting.
type throttle struct {
	max    int
	window time.Duration
	limit  int // clients remembered at most

	mu      sync.Mutex
	clients map[string]*list.Element // of *failures
	order   *list.List               // oldest window start first
}

type failures struct {
	key   string
	start time.Time
	n     int
}

const throttleMaxClients = 100000

func newThrottle(max int, window time.Duration) *throttle {
	return &throttle{max: max, window: window, limit: throttleMaxClients,
		clients: make(map[string]*list.Element), order: list.New()}
}

// ClientKey is the client an address counts as: the address itself, or
// its /64 for IPv6 (IPv4-mapped addresses count as IPv4).
func ClientKey(ip string) string {
	a, err := netip.ParseAddr(ip)
	if err != nil {
		return ip
	}
	a = a.Unmap()
	if a.Is6() {
		p, _ := a.Prefix(64)
		return p.String()
	}
	return a.String()
}

func (t *throttle) locked(ip string, now time.Time) bool {
	key := ClientKey(ip)
	t.mu.Lock()
	defer t.mu.Unlock()
	e := t.clients[key]
	if e == nil {
		return false
	}
	f := e.Value.(*failures)
	if now.Sub(f.start) >= t.window {
		t.order.Remove(e)
		delete(t.clients, key)
		return false
	}
	return f.n >= t.max
}

func (t *throttle) fail(ip string, now time.Time) {
	key := ClientKey(ip)
	t.mu.Lock()
	defer t.mu.Unlock()
	if e := t.clients[key]; e != nil {
		f := e.Value.(*failures)
		if now.Sub(f.start) < t.window {
			f.n++
			return
		}
		// A new window: the client moves to the back of the order.
		t.order.Remove(e)
		delete(t.clients, key)
	}
	for len(t.clients) >= t.limit {
		oldest := t.order.Front()
		t.order.Remove(oldest)
		delete(t.clients, oldest.Value.(*failures).key)
	}
	t.clients[key] = t.order.PushBack(&failures{key: key, start: now, n: 1})
}
