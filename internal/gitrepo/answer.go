package gitrepo

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha1"
	"hash"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// Kept answers. Over smart HTTP a clone is one self-contained request
// (wants, capabilities, "done"), and upload-pack's answer to it is a pure
// function of those bytes and of the repository's state, as the pack is.
// Serving a pack from the cache still costs an upload-pack process and
// two copies of the pack through pipes — more than the rest of the
// request. So when upload-pack answered a clone request with a pack from
// the cache, its whole answer is kept too, keyed by the request's bytes
// and the repository's state (answerKey), and the next identical request
// is given those bytes without any process (ServeAnswer). Only answers
// made from a pack-cache hit are kept: upload-pack's answer when
// pack-objects does not run, without progress, byte for byte.

// maxAnswerWaiters bounds the requests waiting for an identical one's
// answer, over all repositories: beyond it a request runs git at once,
// under the process limits.
const maxAnswerWaiters = 1024

const (
	answerSuffix = ".answer"
	answerTmp    = ".atmp" // an answer being recorded: KEY-RANDOM.atmp
	// answerTmpAge is when a recording nobody writes to any more is
	// abandoned (a crash): a recording's file grows as its client reads.
	answerTmpAge = 10 * time.Minute
)

// isCloneRequest reports whether req, a whole upload-pack request body
// (protocol v0 or v2), asks for a pack without saying what it has.
func isCloneRequest(req []byte) bool {
	done := false
	for len(req) >= 4 {
		n, err := strconv.ParseUint(string(req[:4]), 16, 16)
		if err != nil {
			return false
		}
		if n < 4 { // flush, delimiter, response end
			req = req[4:]
			continue
		}
		if int(n) > len(req) {
			return false
		}
		line := bytes.TrimSuffix(req[4:n], []byte("\n"))
		switch {
		case bytes.HasPrefix(line, []byte("have ")):
			return false
		case string(line) == "done":
			done = true
		}
		req = req[n:]
	}
	return done && len(req) == 0
}

// answerKey is the key of upload-pack's answer to req in protocol for
// the repository at dir, run with options, or errUncacheable.
func (c *PackCache) answerKey(dir string, options []string, protocol string, req []byte) (string, error) {
	if c.Dir == "" || !isCloneRequest(req) {
		return "", errUncacheable
	}
	return stateKey(dir, c.salt, "gatehouse answer cache 1", func(field func(string, []byte)) {
		for _, o := range options {
			field("option", []byte(o))
		}
		field("protocol", []byte(protocol))
		field("request", req)
	})
}

// ServeAnswer writes to w the answer upload-pack gave to the same request
// req (the whole body) in protocol for repository id, in the same state,
// if it was kept, and reports whether it did (then err says how the copy
// went). It runs no process. Without a cache it does nothing.
//
// When no answer was kept but upload-pack is answering an identical
// request in this process now, ServeAnswer waits for that one (up to the
// pack cache's Wait) and looks again, so that many CI machines cloning
// the same commit at once cost one answer, not one process each. When it
// did not serve, done is what the caller must call once its own
// upload-pack for req has ended: until then, identical requests wait for
// it. done is never nil.
func (d *Dir) ServeAnswer(ctx context.Context, id int64, protocol string, req []byte, w io.Writer) (served bool, done func(), err error) {
	f, done, err := d.KeptAnswer(ctx, id, protocol, req)
	if f == nil {
		return false, done, err
	}
	defer f.Close()
	return true, done, copyAnswer(ctx, f, w)
}

// KeptAnswer is ServeAnswer that gives the kept answer as an open file,
// positioned at its start, for the caller to send (with sendfile, say)
// and close; nil when none was kept, and then done is as ServeAnswer's.
func (d *Dir) KeptAnswer(ctx context.Context, id int64, protocol string, req []byte) (answer *os.File, done func(), err error) {
	nothing := func() {}
	c := d.PackCache
	if c == nil || c.Dir == "" {
		return nil, nothing, nil
	}
	c.init(d)
	dir, err := filepath.Abs(d.Path(id))
	if err != nil {
		return nil, nothing, nil
	}
	var deadline <-chan time.Time
	began := time.Now()
	waited := false
	for {
		// The key again after every wait: a push may have landed.
		key, err := c.answerKey(dir, d.uploadPackOptions(), protocol, req)
		if err != nil {
			return nil, nothing, nil
		}
		if f := c.openAnswer(key); f != nil {
			if waited {
				c.answerWait.Observe(time.Since(began).Seconds())
			}
			c.hits.Add(1)
			return f, nothing, nil
		}
		c.answersMu.Lock()
		busy, ok := c.answering[key]
		if !ok {
			mine := make(chan struct{})
			c.answering[key] = mine
			c.answersMu.Unlock()
			if waited {
				c.answerWait.Observe(time.Since(began).Seconds())
			}
			var once sync.Once
			return nil, func() {
				once.Do(func() {
					c.answersMu.Lock()
					delete(c.answering, key)
					c.answersMu.Unlock()
					close(mine)
				})
			}, nil
		}
		if !waited {
			if c.answerWaiters >= maxAnswerWaiters {
				// So many wait already that this one runs git, as it
				// would have without the wait.
				c.answersMu.Unlock()
				return nil, nothing, nil
			}
			c.answerWaiters++
			defer func() {
				c.answersMu.Lock()
				c.answerWaiters--
				c.answersMu.Unlock()
			}()
		}
		c.answersMu.Unlock()
		if deadline == nil {
			t := time.NewTimer(c.Wait)
			defer t.Stop()
			deadline = t.C
		}
		waited = true
		select {
		case <-busy:
		case <-deadline:
			// Its client is slow, or its pack large: run git after all.
			c.answerWait.Observe(time.Since(began).Seconds())
			return nil, nothing, nil
		case <-ctx.Done():
			return nil, nothing, ctx.Err()
		}
	}
}

// openAnswer opens the kept answer of key if there is one young enough,
// and marks it used.
func (c *PackCache) openAnswer(key string) *os.File {
	path := filepath.Join(c.Dir, key+answerSuffix)
	f, err := os.Open(path)
	if err != nil {
		return nil
	}
	fi, err := f.Stat()
	if err != nil || fi.Size() == 0 || time.Since(fi.ModTime()) > c.maxAge() {
		f.Close()
		return nil
	}
	_ = os.Chtimes(path, time.Now(), time.Time{})
	return f
}

// copyAnswer copies a kept answer to w until it ends or ctx does.
func copyAnswer(ctx context.Context, f *os.File, w io.Writer) error {
	buf := make([]byte, outPipeRead)
	for ctx.Err() == nil {
		n, err := f.Read(buf)
		if n > 0 {
			if _, werr := w.Write(buf[:n]); werr != nil {
				return werr
			}
		}
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
	}
	return ctx.Err()
}

// answerRecorder passes upload-pack's answer on to the client and keeps a
// copy in a temporary file of the cache.
type answerRecorder struct {
	w      io.Writer
	f      *os.File
	key    string
	failed atomic.Bool
}

// recordAnswer starts recording the answer to req, or returns nil when it
// is not to be kept.
func (c *PackCache) recordAnswer(dir string, options []string, protocol string, req []byte, w io.Writer) *answerRecorder {
	if req == nil {
		return nil
	}
	key, err := c.answerKey(dir, options, protocol, req)
	if err != nil {
		return nil
	}
	f, err := os.CreateTemp(c.Dir, key+"-*"+answerTmp)
	if err != nil {
		return nil
	}
	return &answerRecorder{w: w, f: f, key: key}
}

func (a *answerRecorder) Write(p []byte) (int, error) {
	n, err := a.w.Write(p)
	if n > 0 && !a.failed.Load() {
		if _, ferr := a.f.Write(p[:n]); ferr != nil {
			a.failed.Store(true)
		}
	}
	return n, err
}

// complete reports whether the recording is a whole answer to a clone:
// pkt-lines up to a flush at its very end, carrying on the side-band's
// first band a pack whose trailing SHA-1 is right. A client that hangs
// up as soon as it has the pack (go-git does) cancels upload-pack before
// it reports success, though everything was sent; such an answer may
// still be kept.
func (a *answerRecorder) complete() bool {
	if a.failed.Load() {
		return false
	}
	fi, err := a.f.Stat()
	if err != nil || fi.Size() < 4 {
		return false
	}
	// A cut answer is the common case: one that does not end with a
	// flush-pkt is not read through.
	var end [4]byte
	if _, err := a.f.ReadAt(end[:], fi.Size()-4); err != nil || string(end[:]) != "0000" {
		return false
	}
	return wholeAnswer(bufio.NewReaderSize(io.NewSectionReader(a.f, 0, fi.Size()), 64<<10))
}

// wholeAnswer checks an upload-pack answer for complete.
func wholeAnswer(r *bufio.Reader) bool {
	var hdr [4]byte
	payload := make([]byte, 65520)
	inPack := false // after v2's "packfile" or v0's NAK
	var pack struct {
		h     hash.Hash
		tail  []byte // the last 20 bytes seen, held back from h
		start bool
	}
	pack.h = sha1.New()
	for {
		if _, err := io.ReadFull(r, hdr[:]); err != nil {
			return false
		}
		n, err := strconv.ParseUint(string(hdr[:]), 16, 16)
		if err != nil {
			return false
		}
		if n == 0 { // flush: the end, if nothing follows
			if _, err := r.Peek(1); err == io.EOF {
				break
			}
			continue
		}
		if n < 4 { // delimiter, response end
			if n == 3 {
				return false
			}
			continue
		}
		if int(n-4) > len(payload) {
			return false // longer than git's packets
		}
		p := payload[:n-4]
		if _, err := io.ReadFull(r, p); err != nil {
			return false
		}
		if !inPack {
			line := string(bytes.TrimSuffix(p, []byte("\n")))
			inPack = line == "packfile" || line == "NAK"
			continue
		}
		if len(p) == 0 {
			return false
		}
		switch p[0] {
		case 1:
			data := p[1:]
			if !pack.start {
				if !bytes.HasPrefix(data, []byte("PACK")) {
					return false
				}
				pack.start = true
			}
			all := append(pack.tail, data...)
			if len(all) > sha1.Size {
				pack.h.Write(all[:len(all)-sha1.Size])
				all = all[len(all)-sha1.Size:]
			}
			pack.tail = append([]byte(nil), all...)
		case 2: // progress
		default: // an error, or no side-band
			return false
		}
	}
	return pack.start && len(pack.tail) == sha1.Size && bytes.Equal(pack.h.Sum(nil), pack.tail)
}

// finish keeps the recording as the answer when keep, else drops it.
func (a *answerRecorder) finish(c *PackCache, keep bool) {
	tmp := a.f.Name()
	fi, err := a.f.Stat()
	keep = keep && !a.failed.Load() && err == nil && fi.Size() > 0 && a.f.Sync() == nil
	a.f.Close()
	if !keep || os.Rename(tmp, filepath.Join(c.Dir, a.key+answerSuffix)) != nil {
		os.Remove(tmp)
		return
	}
	c.storedBytes.Add(fi.Size())
	c.sizeBytes.Add(fi.Size())
	c.entries.Add(1)
	go c.sweep(time.Now())
}
