package auth

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/token"
)

// recordingObserver keeps what it is told.
type recordingObserver struct {
	mu        sync.Mutex
	outcomes  []Outcome
	hits      int
	misses    int
	evictions int
}

func (o *recordingObserver) TokenChecked(out Outcome) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.outcomes = append(o.outcomes, out)
}

func (o *recordingObserver) TokenCacheLookup(hit bool) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if hit {
		o.hits++
	} else {
		o.misses++
	}
}

func (o *recordingObserver) TokenCacheEvicted() {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.evictions++
}

// take returns what was observed since the last take, and forgets it.
func (o *recordingObserver) take() (outcomes []Outcome, hits, misses, evictions int) {
	o.mu.Lock()
	defer o.mu.Unlock()
	outcomes, hits, misses, evictions = o.outcomes, o.hits, o.misses, o.evictions
	o.outcomes, o.hits, o.misses, o.evictions = nil, 0, 0, 0
	return outcomes, hits, misses, evictions
}

// Every token check is reported once, with the outcome the caller's error
// stands for, and every lookup says whether the cache answered.
func TestObserver(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	now := time.Now()
	obs := &recordingObserver{}
	a := New(f.store, Config{Observer: obs, MaxFailures: 3, FailureWindow: 24 * time.Hour, CacheSize: 2,
		Now: func() time.Time { return now }}, nil)
	live, _ := f.token(t, "live", time.Time{})
	expiring, _ := f.token(t, "expiring", now.Add(time.Hour))
	unknown, _ := token.Generate(token.DefaultPrefix)

	type want struct {
		outcome              Outcome
		hits, misses, evicts int
	}
	steps := []struct {
		name   string
		do     func()
		expect want
	}{
		{"live, first use", func() { a.Token(ctx, live, "10.0.0.1") }, want{OutcomeOK, 0, 1, 0}},
		{"live, cached", func() { a.Token(ctx, live, "10.0.0.1") }, want{OutcomeOK, 1, 0, 0}},
		{"malformed", func() { a.Token(ctx, "hunter22", "10.0.0.1") }, want{OutcomeMalformed, 0, 0, 0}},
		{"unknown", func() { a.Token(ctx, unknown, "10.0.0.1") }, want{OutcomeBad, 0, 1, 0}},
		{"expiring, live", func() { a.Token(ctx, expiring, "10.0.0.1") }, want{OutcomeOK, 0, 1, 0}},
		{"expired", func() { now = now.Add(2 * time.Hour); a.Token(ctx, expiring, "10.0.0.1") }, want{OutcomeExpired, 1, 0, 0}},
		// The third failure from 10.0.0.1 locks it out.
		{"locked", func() { a.Token(ctx, unknown, "10.0.0.1") }, want{OutcomeLocked, 0, 1, 0}},
		// A third token in a cache of two evicts one.
		{"eviction", func() {
			third, _ := f.token(t, "third", time.Time{})
			a.Forget(0, 0) // no-op: a Forget is not an eviction
			a.Token(ctx, third, "10.0.0.9")
		}, want{OutcomeOK, 0, 1, 1}},
	}
	for _, s := range steps {
		s.do()
		outcomes, hits, misses, evicts := obs.take()
		if len(outcomes) != 1 || outcomes[0] != s.expect.outcome {
			t.Errorf("%s: outcomes %v, want [%s]", s.name, outcomes, s.expect.outcome)
		}
		if hits != s.expect.hits || misses != s.expect.misses || evicts != s.expect.evicts {
			t.Errorf("%s: %d hits, %d misses, %d evictions; want %d, %d, %d", s.name, hits, misses, evicts,
				s.expect.hits, s.expect.misses, s.expect.evicts)
		}
	}

	f.user.Suspended = true
	if err := f.store.UpdateUser(ctx, f.user); err != nil {
		t.Fatal(err)
	}
	a.Forget(0, f.user.ID)
	a.Token(ctx, live, "10.0.0.1")
	if outcomes, _, _, _ := obs.take(); len(outcomes) != 1 || outcomes[0] != OutcomeSuspended {
		t.Errorf("suspended user: outcomes %v, want [suspended]", outcomes)
	}
}
