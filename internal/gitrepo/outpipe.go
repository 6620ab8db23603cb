package gitrepo

import (
	"io"
	"os"
	"syscall"
	"time"
)

// outPipe carries a git process's stdout to a writer in large pieces. exec
// copies through a 64 KiB pipe in 32 KiB reads; a clone is tens of MiB, and
// each read is a wakeup and each write one more flush and socket write.
// A 1 MiB pipe read 256 KiB at a time costs a fraction of that.
type outPipe struct {
	r, w *os.File
	done chan error
}

const (
	outPipeSize = 1 << 20 // the most an unprivileged process may ask (fs.pipe-max-size)
	outPipeRead = 256 << 10
)

// fSetPipeSize is fcntl's F_SETPIPE_SZ (Linux).
const fSetPipeSize = 1031

func newOutPipe() (*outPipe, error) {
	r, w, err := os.Pipe()
	if err != nil {
		return nil, err
	}
	growPipe(r)
	return &outPipe{r: r, w: w, done: make(chan error, 1)}, nil
}

// growPipe asks for a larger pipe buffer for f, one end of a pipe; a
// refusal leaves the pipe as it was.
func growPipe(f *os.File) {
	if rc, err := f.SyscallConn(); err == nil {
		_ = rc.Control(func(fd uintptr) {
			_, _, _ = syscall.Syscall(syscall.SYS_FCNTL, fd, fSetPipeSize, outPipeSize)
		})
	}
}

// start copies to w once the process has started with p.w as its stdout
// (or failed to start).
func (p *outPipe) start(w io.Writer) {
	p.w.Close()
	go func() {
		buf := make([]byte, outPipeRead)
		var werr error
		for {
			n, err := p.r.Read(buf)
			if n > 0 && werr == nil {
				_, werr = w.Write(buf[:n])
			}
			if err != nil {
				if err == io.EOF {
					err = nil
				}
				if werr != nil {
					err = werr
				}
				p.done <- err
				return
			}
		}
	}()
}

// wait waits, once the process has exited, for the copy to end: at EOF,
// or delay later when a child of the process still holds the pipe.
func (p *outPipe) wait(delay time.Duration) error {
	defer p.r.Close()
	select {
	case err := <-p.done:
		return err
	case <-time.After(delay):
		p.r.Close()
		return <-p.done
	}
}
