package gitrepo

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// The pack cache. A clone is a pure function of what upload-pack asks
// pack-objects for (the wants, the options) and of the repository's state,
// and compressing the same objects again for every CI machine that clones
// the same commit is most of what a Git server spends. git's documented
// hook for this, uploadpack.packObjectsHook (honoured only from protected
// configuration: Run passes it with -c), makes upload-pack run a command
// of ours instead of pack-objects.
//
// That command is a few words of shell (hookScript), not a process of
// ours: starting the gatehouse binary costs more CPU than serving a cached
// pack. The shell hands its process id and the pack-objects command line
// to the server over a socket that upload-pack passes down (file
// descriptor 3), and waits. The server opens the shell's standard streams
// through /proc — the pipes upload-pack reads the pack and progress from —
// and does the work in-process (packrun.go): it keys the request
// (packkey.go), sends a cached pack straight from the file, or runs the
// real pack-objects, writing its output to a file that becomes an entry
// only once pack-objects has succeeded (spool.go), then tells the shell
// what to exit with. Where /proc cannot be used, it tells the shell to
// run pack-objects itself, as if there were no hook.
//
// The same exchange is the admission control: the server counts the
// pack generations running, and when no slot frees up in time stops
// upload-pack and says why in the transport's words (see BusyError).

// PackCache configures the pack cache and admission control of a Dir.
// Build it once, set it as Dir.PackCache before serving, and do not change
// its fields afterwards.
type PackCache struct {
	// Dir is the directory of the entries, on local disk (serve uses
	// DATA/cache/packs); "" keeps no cache, and only admission control
	// applies.
	Dir string
	// MaxBytes bounds the entries' total size; beyond it the least
	// recently used go. An entry larger than MaxBytes is not kept.
	MaxBytes int64
	// MaxAge bounds an entry's age since it was written
	// (DefaultPackCacheMaxAge when zero).
	MaxAge time.Duration
	// Generations is the most pack-objects runs (packs not served from
	// the cache) at once; 0 means no limit.
	Generations int
	// Wait is how long a generation waits for a slot before its request
	// is refused (0: refused at once; serve's default is
	// DefaultGenerationWait).
	Wait time.Duration
	// Log, if set, hears of what the cache cannot do (no /proc, a full
	// disk).
	Log *slog.Logger

	initOnce sync.Once
	sem      chan struct{} // one token per running generation; nil: no limit
	salt     string        // see packKey: what else decides the bytes of a pack

	keysMu sync.Mutex
	keys   map[string]chan struct{} // keys being generated in this process; closed when done

	answersMu     sync.Mutex
	answering     map[string]chan struct{} // answer keys upload-pack is answering in this process; closed when done
	answerWaiters int                      // requests waiting in KeptAnswer

	histOnce                   sync.Once
	generationWait, answerWait prometheus.Histogram

	warnedProc atomic.Bool

	hits, misses, uncached, evictions, storedBytes, refused atomic.Int64
	running, waiting                                        atomic.Int64
	sizeBytes, entries                                      atomic.Int64

	sweeping   sync.Mutex
	sweepAgain atomic.Bool
	lastSweep  atomic.Int64 // UnixNano
}

// Defaults of the pack cache.
const (
	DefaultPackCacheMaxAge = 10 * time.Minute
	DefaultGenerationWait  = 5 * time.Second
	// sweepEvery is how often at most the server looks for expired
	// entries when nothing new was stored.
	sweepEvery = 30 * time.Second
	// holdMax is how much of upload-pack's answer is held back, waiting
	// to know whether its pack generation is admitted, before it goes
	// out anyway (upload-pack says little before the pack).
	holdMax = 256 << 10
)

// BusyError is why a fetch was refused: every pack generation slot stayed
// taken for the whole wait. Nothing of the answer has been sent when Run
// returns it (Serve may have sent part of it: over SSH git's messages go
// to stderr anyway).
type BusyError struct {
	// Generations is the limit.
	Generations int
}

func (e *BusyError) Error() string {
	return fmt.Sprintf("gitrepo: %d pack generations running, the most allowed", e.Generations)
}

// Message words the refusal for git's user; retry is the seconds the
// transport asks the client to wait.
func (e *BusyError) Message(retry int) string {
	return "The server is preparing as many packs as it allows at once (" + strconv.Itoa(e.Generations) +
		"); try again in " + strconv.Itoa(retry) + " seconds."
}

// enabled reports whether upload-pack should run with the hook.
func (c *PackCache) enabled() bool {
	return c != nil && (c.Dir != "" || c.Generations > 0)
}

func (c *PackCache) log() *slog.Logger {
	if c.Log != nil {
		return c.Log
	}
	return slog.New(slog.DiscardHandler)
}

func (c *PackCache) maxAge() time.Duration {
	if c.MaxAge > 0 {
		return c.MaxAge
	}
	return DefaultPackCacheMaxAge
}

func (c *PackCache) init(d *Dir) {
	c.initOnce.Do(func() {
		if c.Generations > 0 {
			c.sem = make(chan struct{}, c.Generations)
		}
		c.keys = map[string]chan struct{}{}
		c.answering = map[string]chan struct{}{}
		c.histograms()
		// The bytes of a pack depend on git's version as much as on the
		// repository: a new git must not be answered with an old git's
		// packs. The cache's own format version is in key.
		out, _ := d.command(context.Background(), "", "version").Output()
		c.salt = strings.TrimSpace(string(out))
		if c.Dir != "" {
			_ = os.MkdirAll(c.Dir, 0o700)
			c.sweep(time.Now())
		}
	})
}

// histograms makes the wait histograms, once.
func (c *PackCache) histograms() {
	c.histOnce.Do(func() {
		buckets := prometheus.ExponentialBuckets(0.001, 4, 9) // 1 ms to 65 s
		c.generationWait = prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "gatehouse_pack_generation_wait_seconds",
			Help:    "Time pack generations waited for a slot (admission control), refused ones included.",
			Buckets: buckets,
		})
		c.answerWait = prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "gatehouse_pack_answer_wait_seconds",
			Help:    "Time clone requests waited for an identical request's answer before being served or running git.",
			Buckets: buckets,
		})
	})
}

// PackCacheStats is a snapshot of the pack cache's counters.
type PackCacheStats struct {
	// Hits and Misses count cacheable packs served from the cache and
	// generated; Uncached counts packs that are never cached (fetches
	// that say what they have).
	Hits, Misses, Uncached int64
	// Evictions counts entries removed for age or size; StoredBytes the
	// bytes of every entry written.
	Evictions, StoredBytes int64
	// SizeBytes and Entries are the cache's size as last seen.
	SizeBytes, Entries int64
	// Running and Waiting are pack generations running now and waiting
	// for a slot; Refused counts requests refused after the wait.
	Running, Waiting, Refused int64
}

// Stats returns the counters.
func (c *PackCache) Stats() PackCacheStats {
	return PackCacheStats{
		Hits: c.hits.Load(), Misses: c.misses.Load(), Uncached: c.uncached.Load(),
		Evictions: c.evictions.Load(), StoredBytes: c.storedBytes.Load(),
		SizeBytes: c.sizeBytes.Load(), Entries: c.entries.Load(),
		Running: c.running.Load(), Waiting: c.waiting.Load(), Refused: c.refused.Load(),
	}
}

// Collectors returns the pack cache's metrics for a Prometheus registry.
// They read the same counters as Stats.
func (c *PackCache) Collectors() []prometheus.Collector {
	counter := func(name, help string, v *atomic.Int64) prometheus.Collector {
		return prometheus.NewCounterFunc(prometheus.CounterOpts{Name: name, Help: help}, func() float64 { return float64(v.Load()) })
	}
	gauge := func(name, help string, v *atomic.Int64) prometheus.Collector {
		return prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: name, Help: help}, func() float64 { return float64(v.Load()) })
	}
	c.histograms()
	return []prometheus.Collector{
		c.generationWait, c.answerWait,
		counter("gatehouse_pack_cache_hits_total", "Packs served from the pack cache.", &c.hits),
		counter("gatehouse_pack_cache_misses_total", "Cacheable packs generated by git pack-objects.", &c.misses),
		counter("gatehouse_pack_cache_uncached_total", "Packs generated that are never cached (fetches with have lines).", &c.uncached),
		counter("gatehouse_pack_cache_evictions_total", "Pack cache entries removed for age or size.", &c.evictions),
		counter("gatehouse_pack_cache_stored_bytes_total", "Bytes written into the pack cache.", &c.storedBytes),
		gauge("gatehouse_pack_cache_size_bytes", "Size of the pack cache's entries.", &c.sizeBytes),
		gauge("gatehouse_pack_cache_entries", "Entries in the pack cache.", &c.entries),
		gauge("gatehouse_pack_generations_running", "git pack-objects runs under way.", &c.running),
		gauge("gatehouse_pack_generations_waiting", "Pack generations waiting for a slot.", &c.waiting),
		counter("gatehouse_pack_generations_refused_total", "Fetches refused because every pack generation slot stayed taken.", &c.refused),
	}
}

// holdWriter holds back what upload-pack writes until release, so that a
// refused generation can still be answered with a refusal instead of half
// an answer. release only lets the next write through, with what was
// held: it is called by the goroutine that serves the hook, which must
// not wait for a slow client. flush sends what is left once upload-pack
// has exited. Beyond holdMax held, everything goes through.
type holdWriter struct {
	mu      sync.Mutex
	w       io.Writer
	buf     []byte
	passing bool // writes go through
	sent    bool // something went through
	dropped bool
	err     error
}

func (h *holdWriter) Write(p []byte) (int, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	switch {
	case h.dropped:
		return len(p), nil
	case h.err != nil:
		return 0, h.err
	case !h.passing && len(h.buf)+len(p) <= holdMax:
		h.buf = append(h.buf, p...)
		return len(p), nil
	}
	h.passing = true
	if h.flushLocked(); h.err != nil {
		return 0, h.err
	}
	h.sent = true
	n, err := h.w.Write(p)
	h.err = err
	return n, err
}

func (h *holdWriter) flushLocked() {
	if len(h.buf) > 0 && h.err == nil {
		buf := h.buf
		h.buf = nil
		h.sent = true
		_, h.err = h.w.Write(buf)
	}
}

// release lets the next write through, with what is held.
func (h *holdWriter) release() {
	h.mu.Lock()
	defer h.mu.Unlock()
	if !h.dropped {
		h.passing = true
	}
}

// flush sends what is still held, unless it was dropped.
func (h *holdWriter) flush() {
	h.mu.Lock()
	defer h.mu.Unlock()
	if !h.dropped {
		h.passing = true
		h.flushLocked()
	}
}

// drop discards what is held and all that follows, unless some of it has
// already gone out.
func (h *holdWriter) drop() {
	h.mu.Lock()
	defer h.mu.Unlock()
	if !h.sent {
		h.dropped = true
		h.buf = nil
	}
}

// Entries are named KEY.pack, with KEY the hex SHA-256 of the request and
// the repository's state; KEY.tmp is an entry being written, locked by
// the process writing it. Kept answers (answer.go) are KEY.answer, and
// are swept with the packs. An entry's modification time is when it was
// written (its age) and its access time when it was last served (set
// explicitly on every hit, so that noatime mounts do not matter).
const (
	packSuffix = ".pack"
	tmpSuffix  = ".tmp"
)

// sweep removes entries older than MaxAge, then the least recently used
// until the rest fit in MaxBytes, and what dead hooks left being written.
// One sweep runs at a time; a sweep asked for while one runs makes that
// one go round again.
func (c *PackCache) sweep(now time.Time) {
	if c.Dir == "" {
		return
	}
	c.sweepAgain.Store(true)
	for c.sweepAgain.Load() && c.sweeping.TryLock() {
		for c.sweepAgain.Swap(false) {
			c.lastSweep.Store(now.UnixNano())
			n, size, evicted := sweepDir(c.Dir, now, c.maxAge(), c.MaxBytes)
			c.evictions.Add(int64(evicted))
			c.sizeBytes.Store(size)
			c.entries.Store(int64(n))
			now = time.Now()
		}
		c.sweeping.Unlock()
	}
}

// sweepDir is sweep on the directory dir: it returns how many entries and
// bytes remain and how many entries it removed.
func sweepDir(dir string, now time.Time, maxAge time.Duration, maxBytes int64) (entries int, size int64, evicted int) {
	des, err := os.ReadDir(dir)
	if err != nil {
		return 0, 0, 0
	}
	type entry struct {
		path string
		size int64
		used time.Time
	}
	var keep []entry
	for _, de := range des {
		name := de.Name()
		path := filepath.Join(dir, name)
		switch {
		case strings.HasSuffix(name, answerTmp):
			if fi, err := os.Lstat(path); err == nil && now.Sub(fi.ModTime()) > answerTmpAge {
				os.Remove(path)
			}
		case strings.HasSuffix(name, packSuffix), strings.HasSuffix(name, answerSuffix):
			fi, err := os.Lstat(path)
			if err != nil || !fi.Mode().IsRegular() {
				continue
			}
			if now.Sub(fi.ModTime()) > maxAge {
				if os.Remove(path) == nil {
					evicted++
				}
				continue
			}
			keep = append(keep, entry{path, fi.Size(), accessTime(fi)})
		case strings.HasSuffix(name, tmpSuffix):
			removeAbandoned(path, now)
		}
	}
	sort.Slice(keep, func(i, j int) bool { return keep[i].used.Before(keep[j].used) })
	for _, e := range keep {
		size += e.size
	}
	for len(keep) > 0 && size > maxBytes {
		if os.Remove(keep[0].path) == nil {
			evicted++
		}
		size -= keep[0].size
		keep = keep[1:]
	}
	return len(keep), size, evicted
}

// removeAbandoned removes an entry being written whose writer is gone: no
// process holds its lock. A file just created has a moment to be locked.
func removeAbandoned(path string, now time.Time) {
	fi, err := os.Lstat(path)
	if err != nil || now.Sub(fi.ModTime()) < time.Second {
		return
	}
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		return
	}
	defer f.Close()
	if syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB) != nil {
		return // being written
	}
	if sameFile(f, path) {
		os.Remove(path)
	}
}

func accessTime(fi os.FileInfo) time.Time {
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		return time.Unix(st.Atim.Sec, st.Atim.Nsec)
	}
	return fi.ModTime()
}

// sameFile reports whether the open file f is still the file at path (not
// removed or replaced since it was opened).
func sameFile(f *os.File, path string) bool {
	a, err := f.Stat()
	if err != nil {
		return false
	}
	b, err := os.Lstat(path)
	return err == nil && os.SameFile(a, b)
}
