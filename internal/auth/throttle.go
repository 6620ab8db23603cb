package auth

import (
	"sync"
	"time"
)

// throttle counts failed attempts per client address in fixed windows.
// Memory is bounded: when it holds too many addresses it drops expired ones,
// and if all are live it starts over (failing open beats growing forever).
type throttle struct {
	max    int
	window time.Duration

	mu      sync.Mutex
	clients map[string]*failures
}

type failures struct {
	start time.Time
	n     int
}

const throttleMaxClients = 100000

func newThrottle(max int, window time.Duration) *throttle {
	return &throttle{max: max, window: window, clients: make(map[string]*failures)}
}

func (t *throttle) locked(ip string, now time.Time) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	f := t.clients[ip]
	if f == nil {
		return false
	}
	if now.Sub(f.start) >= t.window {
		delete(t.clients, ip)
		return false
	}
	return f.n >= t.max
}

func (t *throttle) fail(ip string, now time.Time) {
	t.mu.Lock()
	defer t.mu.Unlock()
	f := t.clients[ip]
	if f == nil || now.Sub(f.start) >= t.window {
		if len(t.clients) >= throttleMaxClients {
			for k, v := range t.clients {
				if now.Sub(v.start) >= t.window {
					delete(t.clients, k)
				}
			}
			if len(t.clients) >= throttleMaxClients {
				t.clients = make(map[string]*failures)
			}
		}
		f = &failures{start: now}
		t.clients[ip] = f
	}
	f.n++
}
