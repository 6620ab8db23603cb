package gitrepo

import (
	"bytes"
	"io"
	"sync"
)

// spool passes pack-objects' output to the client through a file: fill
// writes it to the file as fast as pack-objects makes it, drain reads it
// back behind fill and writes it to the client at the client's pace, so
// that a slow client holds neither a generation slot nor pack-objects'
// memory. When the file refuses a write (a full disk), or would grow
// beyond max, the rest goes through memory, and fill then waits for
// drain; such a spool is not complete and makes no entry.
type spool struct {
	f   spoolFile
	max int64

	mu      sync.Mutex
	cond    *sync.Cond
	written int64 // bytes in the file
	spilled bool  // the file ends at written; the rest is in queue
	queue   [][]byte
	queued  int
	done    bool
	err     error // from reading pack-objects
	gone    bool  // drain stopped: the client is gone
	filled  chan struct{}
}

// spoolFile is what a spool needs of its file.
type spoolFile interface {
	io.ReaderAt
	io.WriterAt
}

// spoolQueueMax is how much fill keeps in memory for drain once spilled.
const spoolQueueMax = 4 << 20

func newSpool(f spoolFile, max int64) *spool {
	s := &spool{f: f, max: max, filled: make(chan struct{})}
	s.cond = sync.NewCond(&s.mu)
	return s
}

// fill copies r into the spool until r ends.
func (s *spool) fill(r io.Reader) {
	defer close(s.filled)
	buf := make([]byte, 256<<10)
	for {
		n, err := r.Read(buf)
		if n > 0 {
			s.put(buf[:n])
		}
		if err != nil {
			s.mu.Lock()
			if err != io.EOF {
				s.err = err
			}
			s.done = true
			s.cond.Broadcast()
			s.mu.Unlock()
			return
		}
	}
}

func (s *spool) put(p []byte) {
	s.mu.Lock()
	if !s.spilled && s.written+int64(len(p)) <= s.max {
		off := s.written
		s.mu.Unlock()
		// Only fill writes, and drain reads below written: the write
		// needs no lock.
		n, err := s.f.WriteAt(p, off)
		s.mu.Lock()
		s.written += int64(n)
		s.cond.Broadcast()
		if err == nil {
			s.mu.Unlock()
			return
		}
		p = p[n:]
	}
	s.spilled = true
	defer s.mu.Unlock()
	for s.queued > spoolQueueMax && !s.gone {
		s.cond.Wait()
	}
	if s.gone {
		return
	}
	s.queue = append(s.queue, bytes.Clone(p))
	s.queued += len(p)
	s.cond.Broadcast()
}

// drain writes the spool to w as it fills, until fill is done and all is
// written, or w fails.
func (s *spool) drain(w io.Writer) error {
	buf := make([]byte, 256<<10)
	var off int64
	for {
		s.mu.Lock()
		for off >= s.written && len(s.queue) == 0 && !s.done {
			s.cond.Wait()
		}
		var chunk []byte
		switch {
		case off < s.written:
			n := min(int64(len(buf)), s.written-off)
			s.mu.Unlock()
			m, err := s.f.ReadAt(buf[:n], off)
			if m == 0 && err != nil {
				return s.stop(err)
			}
			chunk = buf[:m]
		case len(s.queue) > 0:
			chunk = s.queue[0]
			s.queue = s.queue[1:]
			s.queued -= len(chunk)
			s.cond.Broadcast()
			s.mu.Unlock()
		default: // done, and all written
			err := s.err
			s.mu.Unlock()
			return err
		}
		if _, err := w.Write(chunk); err != nil {
			return s.stop(err)
		}
		off += int64(len(chunk))
	}
}

// stop gives up draining: fill no longer keeps anything for drain.
func (s *spool) stop(err error) error {
	s.mu.Lock()
	s.gone = true
	s.queue, s.queued = nil, 0
	s.cond.Broadcast()
	s.mu.Unlock()
	return err
}

// wait waits for fill to end and returns its read error.
func (s *spool) wait() error {
	<-s.filled
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.err
}

// complete reports whether the whole output is in the file, and its size.
func (s *spool) complete() (int64, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.written, s.done && s.err == nil && !s.spilled && s.written > 0
}
