package githttp

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// DefaultIdleTimeout is how long a git request waits for its client by
// default: for the next byte of the request body, or for room to send the
// next part of the answer.
const DefaultIdleTimeout = 30 * time.Second

// errStalled is why a git request ends when its client has sent nothing,
// or accepted nothing, for the idle timeout.
var errStalled = errors.New("client idle for too long")

func (h *Handler) idleTimeout() time.Duration {
	if h.IdleTimeout > 0 {
		return h.IdleTimeout
	}
	return DefaultIdleTimeout
}

// idleReader reads a request body with a deadline on each read: a read
// may wait at most idle for data, however long the whole body takes. The
// deadline is set only while a read waits, so a git process that is busy
// and not reading never makes the client time out. A failed read (the
// deadline, or the client going away) stops the git process through stop
// at once, rather than leaving it to notice a closed stdin.
//
// When the connection cannot take deadlines (a ResponseRecorder in tests)
// reads simply wait.
type idleReader struct {
	r    io.Reader
	rc   *http.ResponseController
	idle time.Duration
	stop context.CancelCauseFunc
	// finished is set when the handler is done: the connection's deadline
	// then belongs to the server again (a next request on it), and a
	// read still under way in git's stdin copier must not move it.
	finished atomic.Bool

	mu  sync.Mutex
	err error // the first error a read returned
	// waitingSince is when the read under way, with a deadline, began.
	waitingSince time.Time
}

func (b *idleReader) Read(p []byte) (int, error) {
	if err := b.failed(); err != nil {
		return 0, err
	}
	now := time.Now()
	deadline := !b.finished.Load() && b.rc.SetReadDeadline(now.Add(b.idle)) == nil
	if deadline {
		b.mu.Lock()
		b.waitingSince = now
		b.mu.Unlock()
	}
	n, err := b.r.Read(p)
	b.mu.Lock()
	b.waitingSince = time.Time{}
	if err != nil {
		if errors.Is(err, os.ErrDeadlineExceeded) {
			err = errStalled
		}
		b.err = err
	}
	b.mu.Unlock()
	if err != nil {
		// No deadline is set after this: at the end of an HTTP/1 body the
		// server starts its own read of the connection (to notice the
		// client leaving), and a deadline would end that read and the
		// request with it. The server cleared ours when it started.
		if err != io.EOF {
			b.stop(err)
		}
		return n, err
	}
	if deadline && !b.finished.Load() {
		_ = b.rc.SetReadDeadline(time.Time{})
	}
	return n, nil
}

func (b *idleReader) failed() error {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.err
}

// finish gives the connection's read deadline back to the server.
func (b *idleReader) finish() { b.finished.Store(true) }

// stalled reports whether the body ended because the client went quiet.
// The request's context cannot tell: the HTTP/1 server cancels it itself
// when a read fails, and git may be gone before the read that failed has
// returned here, so a read still waiting past its deadline counts too.
func (b *idleReader) stalled() bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	return errors.Is(b.err, errStalled) || !b.waitingSince.IsZero() && time.Since(b.waitingSince) >= b.idle
}

// idleWriter sends each chunk git writes to the client at once, so that
// progress reaches the user and memory does not hold the pack, and gives
// each write at most idle to get through: a client that stops reading its
// answer stops its git process, through stop, instead of leaving it
// blocked on a full pipe.
type idleWriter struct {
	w     http.ResponseWriter
	rc    *http.ResponseController
	idle  time.Duration
	stop  context.CancelCauseFunc
	wrote bool
	err   error
}

// stalled reports whether a write failed because the client read nothing.
func (f *idleWriter) stalled() bool { return errors.Is(f.err, errStalled) }

func (f *idleWriter) Write(p []byte) (int, error) {
	f.wrote = true
	deadline := f.rc.SetWriteDeadline(time.Now().Add(f.idle)) == nil
	n, err := f.w.Write(p)
	return n, f.done(deadline, err)
}

// done ends a write that set its deadline (when deadline) and failed
// with err or not: a failed write stops git, a passed deadline being a
// stalled client; a deadline is cleared between writes, as over HTTP/2 a
// deadline that passes resets the stream even when nothing is being
// written, and git may think for a long time between two writes.
func (f *idleWriter) done(deadline bool, err error) error {
	if err == nil {
		err = f.rc.Flush()
	}
	if err != nil {
		if errors.Is(err, os.ErrDeadlineExceeded) {
			err = errStalled
		}
		f.err = err
		f.stop(err)
		return err
	}
	if deadline {
		_ = f.rc.SetWriteDeadline(time.Time{})
	}
	return nil
}

// idleChunk is how much of a file ReadFrom sends under one write
// deadline: as much as one of git's writes reaches Write with (the
// output pipe is read 256 KiB at a time), so that a slow client that
// keeps reading is given as long as before.
const idleChunk = 256 << 10

// ReadFrom sends all of r, each idleChunk under its own deadline, through
// the writers below it, so that a file reaches net/http's own ReadFrom,
// which sends it with sendfile(2) when the answer has a Content-Length
// and the connection is plain TCP.
func (f *idleWriter) ReadFrom(r io.Reader) (int64, error) {
	f.wrote = true
	var total int64
	for {
		deadline := f.rc.SetWriteDeadline(time.Now().Add(f.idle)) == nil
		n, err := io.Copy(f.w, io.LimitReader(r, idleChunk))
		total += n
		if err := f.done(deadline, err); err != nil {
			return total, err
		}
		if n < idleChunk {
			return total, nil
		}
	}
}

// wantsSideband reports whether a receive-pack request asked for git's
// side-band, in the capabilities after its first command. It peeks at the
// first pkt-line only (br must hold 64 KiB), and answers true when it
// cannot tell: every git since 1.6 asks for it, and git's receive-pack
// always offers it.
func wantsSideband(br *bufio.Reader) bool {
	hdr, err := br.Peek(4)
	if err != nil {
		return true
	}
	n, err := strconv.ParseUint(string(hdr), 16, 16)
	if err != nil || n <= 4 {
		return true
	}
	line, err := br.Peek(int(n))
	if err != nil {
		return true
	}
	_, caps, ok := bytes.Cut(line[4:], []byte{0})
	if !ok {
		return true // "shallow …" lines come first, without capabilities
	}
	for _, c := range strings.Fields(string(caps)) {
		if c == "side-band" || c == "side-band-64k" {
			return true
		}
	}
	return false
}
