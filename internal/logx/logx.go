// Package logx has what the server's logging needs beyond log/slog.
package logx

import (
	"log/slog"
	"time"
)

// DefaultEvery is how often at most Failures logs a failure that goes on.
const DefaultEvery = 30 * time.Second

// Failures logs a failure that repeats, such as a poller's during a
// database outage, without flooding the log: the first failure as a
// warning, then at most one warning per Every saying how many failed
// since and for how long, and once it works again, how long it did not.
// It is for one goroutine.
type Failures struct {
	Log *slog.Logger
	// Msg names what failed, e.g. "reading token invalidations failed".
	Msg string
	// Every is DefaultEvery when zero.
	Every time.Duration
	// Now is time.Now when nil (tests set it).
	Now func() time.Time

	failing       bool
	since, logged time.Time
	unlogged      int
}

func (f *Failures) now() time.Time {
	if f.Now != nil {
		return f.Now()
	}
	return time.Now()
}

// Failed records one failure.
func (f *Failures) Failed(err error) {
	now := f.now()
	every := f.Every
	if every <= 0 {
		every = DefaultEvery
	}
	switch {
	case !f.failing:
		f.failing, f.since, f.logged, f.unlogged = true, now, now, 0
		f.Log.Warn(f.Msg, "err", err)
	case now.Sub(f.logged) >= every:
		f.Log.Warn(f.Msg, "err", err, "failures_since_last_log", f.unlogged+1, "failing_for", now.Sub(f.since).Round(time.Millisecond))
		f.logged, f.unlogged = now, 0
	default:
		f.unlogged++
	}
}

// OK records a success: after failures, it logs the recovery.
func (f *Failures) OK() {
	if !f.failing {
		return
	}
	f.failing = false
	f.Log.Info(f.Msg+": working again", "failed_for", f.now().Sub(f.since).Round(time.Millisecond))
}
