package api

import (
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/gatehouse/gatehouse"
)

// RateLimit configures request budgets. Like a GitHub Enterprise Server,
// Gatehouse has none by default.
type RateLimit struct {
	// PerHour is each signed-in user's hourly budget of REST calls (and,
	// separately, of GraphQL calls), shared by all of the user's tokens.
	// 0 turns rate limiting off.
	PerHour int
	// AnonymousPerHour is the hourly budget of each client address for
	// calls without credentials (default 60 when PerHour is set).
	AnonymousPerHour int
}

// limiter counts calls in fixed one-hour windows per user or address and
// resource. Memory is bounded: expired windows are dropped as the map grows.
type limiter struct {
	perUser, perIP int
	now            func() time.Time

	mu      sync.Mutex
	windows map[limitKey]*window
}

type limitKey struct {
	resource string
	userID   int64
	ip       string
}

type window struct {
	reset time.Time
	used  int
}

// rate is the state of one budget after a call.
type rate struct {
	limit, used int
	reset       time.Time
	resource    string
}

func (r rate) remaining() int { return max(0, r.limit-r.used) }

func (r rate) wire() rateResource {
	return rateResource{Limit: r.limit, Remaining: r.remaining(), Reset: r.reset.Unix(), Used: r.used, Resource: r.resource}
}

const limiterMaxWindows = 100000

func newLimiter(cfg RateLimit, now func() time.Time) *limiter {
	if cfg.PerHour <= 0 {
		return nil
	}
	anon := cfg.AnonymousPerHour
	if anon <= 0 {
		anon = 60
	}
	return &limiter{perUser: cfg.PerHour, perIP: anon, now: now, windows: make(map[limitKey]*window)}
}

func (l *limiter) key(resource string, actor *gatehouse.Actor, ip string) (limitKey, int) {
	if actor != nil && actor.User != nil {
		return limitKey{resource: resource, userID: actor.User.ID}, l.perUser
	}
	return limitKey{resource: resource, ip: ip}, l.perIP
}

// window returns the live window for k, starting a new one when the old
// has passed. Callers hold l.mu.
func (l *limiter) window(k limitKey, now time.Time) *window {
	w := l.windows[k]
	if w == nil || !now.Before(w.reset) {
		if len(l.windows) >= limiterMaxWindows {
			for kk, ww := range l.windows {
				if !now.Before(ww.reset) {
					delete(l.windows, kk)
				}
			}
		}
		w = &window{reset: now.Add(time.Hour).Truncate(time.Second)}
		l.windows[k] = w
	}
	return w
}

// allow spends one call of resource and writes the X-RateLimit headers.
// It reports false when the budget is used up (the call is not counted).
func (l *limiter) allow(hd http.Header, resource string, actor *gatehouse.Actor, ip string) bool {
	k, limit := l.key(resource, actor, ip)
	now := l.now()
	l.mu.Lock()
	w := l.window(k, now)
	ok := w.used < limit
	if ok {
		w.used++
	}
	r := rate{limit: limit, used: w.used, reset: w.reset, resource: resource}
	l.mu.Unlock()
	l.headers(hd, r)
	return ok
}

// peek returns a budget without spending from it.
func (l *limiter) peek(resource string, actor *gatehouse.Actor, ip string) rate {
	k, limit := l.key(resource, actor, ip)
	now := l.now()
	l.mu.Lock()
	defer l.mu.Unlock()
	w := l.windows[k]
	if w == nil || !now.Before(w.reset) {
		return rate{limit: limit, reset: now.Add(time.Hour).Truncate(time.Second), resource: resource}
	}
	return rate{limit: limit, used: w.used, reset: w.reset, resource: resource}
}

func (l *limiter) headers(hd http.Header, r rate) {
	hd.Set("X-RateLimit-Limit", strconv.Itoa(r.limit))
	hd.Set("X-RateLimit-Remaining", strconv.Itoa(r.remaining()))
	hd.Set("X-RateLimit-Used", strconv.Itoa(r.used))
	hd.Set("X-RateLimit-Reset", strconv.FormatInt(r.reset.Unix(), 10))
	hd.Set("X-RateLimit-Resource", r.resource)
}

// exceededMessage is GitHub's text for a spent budget.
func (l *limiter) exceededMessage(actor *gatehouse.Actor, ip string) string {
	if actor != nil && actor.User != nil {
		return "API rate limit exceeded for user ID " + strconv.FormatInt(actor.User.ID, 10) + "."
	}
	return "API rate limit exceeded for " + ip + ". (But here's the good news: Authenticated requests get a higher rate limit. Check out the documentation for more details.)"
}
