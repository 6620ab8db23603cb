package gitrepo

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// hookScript is the uploadpack.packObjectsHook of a Dir with a PackCache
// (see packcache.go). git runs it with the shell, followed by "$@": the
// pack-objects command line ("git [OPTIONS] pack-objects ARGS…"). It
// keeps copies of its standard streams as descriptors 5, 6 and 7 (while
// it talks to the server the shell points 0 and 1 at the socket), sends
// its process id and the command line to the server on descriptor 3, and
// exits with the status the server answers — or, when the server answers
// "run", runs the command itself.
const hookScript = `gatehouse_pack() { exec 5<&0 6>&1 7>&2; printf '%s %s\n' "$$" "$#" >&3 && printf '%s\0' "$@" >&3 && read -r r <&3 || exit 1; exec 5<&- 6>&- 7>&-; [ "$r" = run ] && exec "$@"; exit "$r"; }; gatehouse_pack`

// hookStdin, hookStdout and hookStderr are where hookScript keeps its
// standard streams while it waits.
const (
	hookStdin  = 5
	hookStdout = 6
	hookStderr = 7
)

// packHookConfig is the -c option that makes upload-pack use hookScript.
const packHookConfig = "uploadpack.packObjectsHook=" + hookScript

// packRun is the server's side of one upload-pack run with the hook.
type packRun struct {
	d      *Dir
	c      *PackCache
	repo   string // the repository's directory
	cmd    *exec.Cmd
	conn   *os.File // ours
	child  *os.File // upload-pack's, closed once it has started
	hold   *holdWriter
	ctx    context.Context // ends with the run: pack-objects runs under it
	cancel context.CancelFunc
	done   chan struct{} // closed when serve returns
	busy   atomic.Bool   // a generation was refused

	mu   sync.Mutex
	kept []func() // slots of generations the shell runs itself, given back at the end

	// Packs of this run served from the cache, and made otherwise.
	served, made atomic.Int32
}

// fromCacheOnly reports whether the run sent exactly one pack, from the
// cache.
func (r *packRun) fromCacheOnly() bool {
	return r.served.Load() == 1 && r.made.Load() == 0 && !r.busy.Load()
}

// attach prepares cmd, an upload-pack of the repository at repo that is
// about to start, to run the hook: the socket and, when hold, its stdout
// held back until the hook knows whether its pack is admitted.
func (c *PackCache) attach(ctx context.Context, d *Dir, cmd *exec.Cmd, repo string, stdout io.Writer, hold bool) (*packRun, error) {
	c.init(d)
	if abs, err := filepath.Abs(repo); err == nil {
		repo = abs // part of the key: the same whatever the working directory
	}
	fds, err := syscall.Socketpair(syscall.AF_UNIX, syscall.SOCK_STREAM|syscall.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("pack hook socket: %w", err)
	}
	r := &packRun{d: d, c: c, repo: repo, cmd: cmd, done: make(chan struct{}),
		conn: os.NewFile(uintptr(fds[0]), "packhook"), child: os.NewFile(uintptr(fds[1]), "packhook-child")}
	r.ctx, r.cancel = context.WithCancel(ctx)
	cmd.ExtraFiles = []*os.File{r.child} // fd 3, which git passes down to the hook
	if hold {
		r.hold = &holdWriter{w: stdout}
		cmd.Stdout = r.hold
	}
	if c.Dir != "" && time.Since(time.Unix(0, c.lastSweep.Load())) > sweepEvery {
		go c.sweep(time.Now())
	}
	return r, nil
}

// started is called once upload-pack runs, or failed to start.
func (r *packRun) started() {
	r.child.Close()
	go r.serve()
}

// finish is called once upload-pack has exited: it ends the exchange with
// the hook, gives back the slots still held and lets out what was held
// back, unless the run was refused, which it reports as a *BusyError.
func (r *packRun) finish() error {
	r.cancel()
	r.conn.Close()
	<-r.done
	r.mu.Lock()
	for _, release := range r.kept {
		release()
	}
	r.kept = nil
	r.mu.Unlock()
	if r.busy.Load() {
		return &BusyError{Generations: r.c.Generations}
	}
	if r.hold != nil {
		r.hold.flush()
	}
	return nil
}

// serve answers the hook: each request is a line "PID ARGC" and ARGC
// NUL-terminated arguments; each answer a line, the exit status or "run".
func (r *packRun) serve() {
	defer close(r.done)
	rd := bufio.NewReader(r.conn)
	for {
		line, err := rd.ReadString('\n')
		if err != nil {
			return
		}
		var pid, argc int
		if _, err := fmt.Sscanf(line, "%d %d\n", &pid, &argc); err != nil || argc < 1 || argc > 4096 {
			return
		}
		argv := make([]string, argc)
		for i := range argv {
			a, err := rd.ReadString(0)
			if err != nil {
				return
			}
			argv[i] = strings.TrimSuffix(a, "\x00")
		}
		reply := r.handle(pid, argv)
		if _, err := io.WriteString(r.conn, reply+"\n"); err != nil || r.busy.Load() {
			return
		}
	}
}

// hookStreams are the hook shell's standard streams, opened anew through
// /proc: the pipes upload-pack writes the request to and reads the pack
// and progress from.
type hookStreams struct {
	stdin, stdout, stderr *os.File
}

func (s *hookStreams) close() {
	for _, f := range []*os.File{s.stdin, s.stdout, s.stderr} {
		if f != nil {
			f.Close()
		}
	}
}

// openStreams opens the streams of process pid, which must be a child of
// this run's upload-pack: the process id comes from the socket, which only
// upload-pack's children hold, and the check keeps a confused one from
// naming another process. Opening a pipe through /proc gives another end
// of the same pipe.
func (r *packRun) openStreams(pid int) (*hookStreams, error) {
	stat, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return nil, err
	}
	// "pid (comm) state ppid …": comm may hold anything but ")".
	i := bytes.LastIndexByte(stat, ')')
	fields := strings.Fields(string(stat[i+1:]))
	if i < 0 || len(fields) < 2 || r.cmd.Process == nil || fields[1] != strconv.Itoa(r.cmd.Process.Pid) {
		return nil, errors.New("the hook is not upload-pack's child")
	}
	fd := func(n int, flag int) (*os.File, error) {
		return os.OpenFile("/proc/"+strconv.Itoa(pid)+"/fd/"+strconv.Itoa(n), flag, 0)
	}
	s := &hookStreams{}
	if s.stdin, err = fd(hookStdin, os.O_RDONLY); err == nil {
		s.stdout, err = fd(hookStdout, os.O_WRONLY)
	}
	if err != nil {
		s.close()
		return nil, err
	}
	// The pack goes into it in one piece and out in upload-pack's
	// packets: a larger pipe means fewer turns between the two.
	growPipe(s.stdout)
	if s.stderr, err = fd(hookStderr, os.O_WRONLY); err != nil {
		s.stderr = nil // progress is lost, the pack is not
	}
	return s, nil
}

// handle serves one pack-objects request of the hook shell pid and returns
// the shell's answer.
func (r *packRun) handle(pid int, argv []string) string {
	if len(argv) < 2 || argv[0] != "git" || !slices.Contains(argv[1:], "pack-objects") {
		return "run" // not a request this knows: the shell runs what git asked for
	}
	s, err := r.openStreams(pid)
	if err != nil {
		if r.c.warnedProc.CompareAndSwap(false, true) {
			r.c.log().Warn("pack cache off: cannot open the pack-objects hook's streams through /proc; packs are made as without a cache", "err", err)
		}
		r.made.Add(1)
		release, ok := r.admit()
		if !ok {
			return r.refuse()
		}
		r.mu.Lock()
		r.kept = append(r.kept, release)
		r.mu.Unlock()
		return "run"
	}
	defer s.close()
	in, err := io.ReadAll(io.LimitReader(s.stdin, maxPackRequest+1))
	if err != nil {
		return "1"
	}
	key, kerr := "", errUncacheable
	if r.c.Dir != "" && len(in) <= maxPackRequest {
		key, kerr = packKey(r.repo, argv, in, r.c.salt)
	}
	if kerr != nil {
		return r.uncached(argv, io.MultiReader(bytes.NewReader(in), s.stdin), s)
	}
	entry := filepath.Join(r.c.Dir, key+packSuffix)
	if served, err := r.serveEntry(entry, s.stdout); served {
		return status(err)
	}
	lock, unlock, err := r.c.lockKey(r.ctx, key)
	if err != nil {
		if r.ctx.Err() != nil {
			return "1"
		}
		r.c.log().Warn("pack cache: cannot create an entry; serving without the cache", "err", err)
		return r.uncached(argv, bytes.NewReader(in), s)
	}
	defer unlock()
	// An identical request may have made it while this one waited.
	if served, err := r.serveEntry(entry, s.stdout); served {
		if sameFile(lock, lock.Name()) {
			os.Remove(lock.Name())
		}
		return status(err)
	}
	r.c.misses.Add(1)
	r.made.Add(1)
	release, ok := r.admit()
	if !ok {
		return r.refuse()
	}
	defer release()
	return status(r.generate(argv, in, lock, entry, s))
}

// uncached runs pack-objects straight into the hook's stdout.
func (r *packRun) uncached(argv []string, stdin io.Reader, s *hookStreams) string {
	if r.c.Dir != "" {
		r.c.uncached.Add(1)
	}
	r.made.Add(1)
	release, ok := r.admit()
	if !ok {
		return r.refuse()
	}
	defer release()
	return status(r.packObjects(argv, stdin, s.stdout, s.stderr))
}

func (r *packRun) packObjects(argv []string, stdin io.Reader, stdout io.Writer, stderr *os.File) error {
	cmd := r.d.command(r.ctx, r.repo, argv[1:]...)
	cmd.Stdin, cmd.Stdout = stdin, stdout
	if stderr != nil {
		cmd.Stderr = stderr
	}
	return cmd.Run()
}

// status is the hook's exit status after err.
func status(err error) string {
	if err != nil {
		return "1"
	}
	return "0"
}

// refuse stops the run: no generation slot freed up in time. What
// upload-pack wrote is dropped, so that the transport can answer with the
// refusal, and upload-pack is stopped before it reports the hook's failure
// as a corrupt repository.
func (r *packRun) refuse() string {
	r.c.refused.Add(1)
	r.busy.Store(true)
	if r.hold != nil {
		r.hold.drop()
	}
	if r.cmd.Process != nil {
		_ = syscall.Kill(-r.cmd.Process.Pid, syscall.SIGKILL)
	}
	return "1"
}

// release lets upload-pack's answer out: a pack is coming.
func (r *packRun) release() {
	if r.hold != nil {
		r.hold.release()
	}
}

// admit takes a generation slot, waiting up to the configured wait or
// until the run ends, and returns the function that gives it back.
func (r *packRun) admit() (func(), bool) {
	c := r.c
	if c.sem != nil {
		select {
		case c.sem <- struct{}{}:
			c.generationWait.Observe(0)
		default:
			c.waiting.Add(1)
			began := time.Now()
			t := time.NewTimer(c.Wait)
			var ok bool
			select {
			case c.sem <- struct{}{}:
				ok = true
			case <-t.C:
			case <-r.ctx.Done():
			}
			t.Stop()
			c.waiting.Add(-1)
			c.generationWait.Observe(time.Since(began).Seconds())
			if !ok {
				return nil, false
			}
		}
	}
	c.running.Add(1)
	r.release()
	var once sync.Once
	return func() {
		once.Do(func() {
			c.running.Add(-1)
			if c.sem != nil {
				<-c.sem
			}
		})
	}, true
}

// serveEntry copies the entry at path to stdout if it exists, is younger
// than the maximum age and starts as a pack does. It reports whether it
// served it, and then how the copy went.
func (r *packRun) serveEntry(path string, stdout *os.File) (bool, error) {
	f, err := os.Open(path)
	if err != nil {
		return false, nil
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil || time.Since(fi.ModTime()) > r.c.maxAge() || fi.Size() < 32 {
		return false, nil
	}
	var hdr [8]byte
	if _, err := f.ReadAt(hdr[:], 0); err != nil || string(hdr[:4]) != "PACK" || hdr[7] != 2 && hdr[7] != 3 {
		return false, nil
	}
	// The access time is the entry's last use, for eviction; it is set
	// here because noatime mounts would not.
	_ = os.Chtimes(path, time.Now(), time.Time{})
	r.c.hits.Add(1)
	r.served.Add(1)
	r.release()
	return true, sendFile(stdout, f, fi.Size())
}

// sendFile copies size bytes of src to dst (a pipe) in the kernel.
func sendFile(dst, src *os.File, size int64) error {
	rc, err := dst.SyscallConn()
	if err != nil {
		_, err = io.Copy(dst, io.NewSectionReader(src, 0, size))
		return err
	}
	in := int(src.Fd())
	var off int64
	for off < size {
		var serr error
		var n int
		err := rc.Write(func(fd uintptr) bool {
			n, serr = syscall.Sendfile(int(fd), in, &off, int(min(size-off, 1<<30)))
			return serr != syscall.EAGAIN
		})
		switch {
		case err != nil:
			return err
		case serr == syscall.EINTR:
		case (serr == syscall.EINVAL || serr == syscall.ENOSYS) && off == 0:
			_, err = io.Copy(dst, io.NewSectionReader(src, 0, size))
			return err
		case serr != nil:
			return serr
		case n == 0:
			return io.ErrUnexpectedEOF
		}
	}
	return nil
}

// generate runs pack-objects with its output going to f, the locked
// temporary file of entry, and copies f to the hook's stdout as it grows
// (see spool). Once pack-objects has succeeded and the whole pack is in f,
// f is synced and renamed into place: an entry is only ever complete.
func (r *packRun) generate(argv []string, in []byte, f *os.File, entry string, s *hookStreams) error {
	tmp := f.Name()
	if err := f.Truncate(0); err != nil {
		return r.packObjects(argv, bytes.NewReader(in), s.stdout, s.stderr)
	}
	pr, pw, err := os.Pipe()
	if err != nil {
		return err
	}
	growPipe(pr)
	cmd := r.d.command(r.ctx, r.repo, argv[1:]...)
	cmd.Stdin, cmd.Stdout = bytes.NewReader(in), pw
	if s.stderr != nil {
		cmd.Stderr = s.stderr
	}
	if err := cmd.Start(); err != nil {
		pr.Close()
		pw.Close()
		return err
	}
	pw.Close()
	max := r.c.MaxBytes
	if max <= 0 {
		max = 1<<63 - 1
	}
	sp := newSpool(f, max)
	go func() {
		sp.fill(pr)
		pr.Close()
	}()
	outErr := sp.drain(s.stdout)
	fillErr := sp.wait()
	runErr := cmd.Wait()
	if runErr != nil || fillErr != nil {
		if sameFile(f, tmp) {
			os.Remove(tmp)
		}
		return errors.Join(runErr, fillErr)
	}
	if size, ok := sp.complete(); ok && f.Sync() == nil && sameFile(f, tmp) && os.Rename(tmp, entry) == nil {
		r.c.storedBytes.Add(size)
		r.c.sizeBytes.Add(size)
		r.c.entries.Add(1)
		go r.c.sweep(time.Now())
	} else if sameFile(f, tmp) {
		os.Remove(tmp)
	}
	return outErr
}

// lockKey makes this the one generation of key: it waits for another in
// this process, then takes the lock of the entry's temporary file, which
// other processes sharing the directory respect. It returns that file,
// locked, and the function that lets the next one in.
func (c *PackCache) lockKey(ctx context.Context, key string) (*os.File, func(), error) {
	var mine chan struct{}
	for mine == nil {
		c.keysMu.Lock()
		other, busy := c.keys[key]
		if !busy {
			mine = make(chan struct{})
			c.keys[key] = mine
		}
		c.keysMu.Unlock()
		if busy {
			select {
			case <-other:
			case <-ctx.Done():
				return nil, nil, ctx.Err()
			}
		}
	}
	done := func() {
		c.keysMu.Lock()
		delete(c.keys, key)
		c.keysMu.Unlock()
		close(mine)
	}
	f, err := lockFile(ctx, filepath.Join(c.Dir, key+tmpSuffix))
	if err != nil {
		done()
		return nil, nil, err
	}
	return f, func() { f.Close(); done() }, nil
}

// lockFile opens path, creating it, and takes its exclusive lock, waiting
// for another process that holds it. It starts again when the file it
// locked was renamed or removed meanwhile (an entry completed, or an
// abandoned one swept), so that the lock held is that of the file at path.
func lockFile(ctx context.Context, path string) (*os.File, error) {
	for {
		f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
		if err != nil {
			return nil, err
		}
		for {
			err = syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
			if err != syscall.EWOULDBLOCK && err != syscall.EINTR {
				break
			}
			select {
			case <-time.After(20 * time.Millisecond):
			case <-ctx.Done():
				f.Close()
				return nil, ctx.Err()
			}
		}
		if err != nil {
			f.Close()
			return nil, err
		}
		if sameFile(f, path) {
			return f, nil
		}
		f.Close()
	}
}
