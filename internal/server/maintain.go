package server

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/gatehouse/gatehouse/internal/gitrepo"
)

// maintainer repacks repositories after pushes, in the background and one
// at a time, so that clones are served from a single pack with a bitmap
// instead of walking the whole history. A repository pushed to often is
// repacked at most once per interval, counted from the last repack that
// ran: a turn that found nothing to repack (a push that added no objects,
// or one whose objects an earlier repack already took) does not hold back
// the next push's repack, and a push that lands while its repository is
// being repacked (its objects may be left out) is repacked after it.
type maintainer struct {
	repos    *gitrepo.Dir
	log      *slog.Logger
	delay    time.Duration // wait after a push for more pushes to arrive
	interval time.Duration // least time between two repacks of one repository

	mu      sync.Mutex
	pending map[int64]time.Time // repository → not before
	last    map[int64]time.Time // repository → when its last repack ended
	wake    chan struct{}
}

func newMaintainer(repos *gitrepo.Dir, log *slog.Logger) *maintainer {
	return &maintainer{repos: repos, log: log, delay: 2 * time.Second, interval: 10 * time.Minute,
		pending: map[int64]time.Time{}, last: map[int64]time.Time{}, wake: make(chan struct{}, 1)}
}

func (m *maintainer) schedule(id int64) {
	if m == nil || m.repos == nil {
		return
	}
	now := time.Now()
	m.mu.Lock()
	at := now.Add(m.delay)
	if next := m.last[id].Add(m.interval); next.After(at) {
		at = next
	}
	if _, ok := m.pending[id]; !ok {
		m.pending[id] = at
	}
	m.mu.Unlock()
	select {
	case m.wake <- struct{}{}:
	default:
	}
}

func (m *maintainer) run(ctx context.Context) {
	t := time.NewTicker(time.Second)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		case <-m.wake:
		}
		for {
			id, ok := m.due(time.Now())
			if !ok {
				break
			}
			if !m.repos.NeedsRepack(id) {
				continue // skipped: not a repack, the next push's comes after delay
			}
			start := time.Now()
			err := m.repos.Repack(ctx, id)
			if err != nil && ctx.Err() != nil {
				return
			}
			m.ran(id, time.Now(), err)
			if err != nil {
				m.log.Warn("repack failed", "repo_id", id, "err", err)
				continue
			}
			m.log.Info("repacked repository", "repo_id", id, "duration_ms", time.Since(start).Milliseconds())
		}
	}
}

// due takes one repository whose time has come off the pending set.
func (m *maintainer) due(now time.Time) (int64, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for id, at := range m.pending {
		if !now.Before(at) {
			delete(m.pending, id)
			return id, true
		}
	}
	return 0, false
}

// ran records a repack of id that ended at now: the interval counts from
// it. A failed one is tried again after the interval.
func (m *maintainer) ran(id int64, now time.Time, err error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.last[id] = now
	if _, ok := m.pending[id]; err != nil && !ok {
		m.pending[id] = now.Add(m.interval)
	}
}
