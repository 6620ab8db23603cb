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
// repacked at most once per interval.
type maintainer struct {
	repos    *gitrepo.Dir
	log      *slog.Logger
	delay    time.Duration // wait after a push for more pushes to arrive
	interval time.Duration // least time between two repacks of one repository

	mu      sync.Mutex
	pending map[int64]time.Time // repository → not before
	last    map[int64]time.Time
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
				continue
			}
			start := time.Now()
			if err := m.repos.Repack(ctx, id); err != nil {
				if ctx.Err() != nil {
					return
				}
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
			m.last[id] = now
			return id, true
		}
	}
	return 0, false
}
