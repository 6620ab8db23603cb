// Package pushprotect keeps live personal access tokens of this instance
// out of its repositories. It runs as git's pre-receive hook, so that it
// sees a push's objects in quarantine before any ref moves: it lists the
// new objects, looks for token-shaped strings with a valid checksum (cheap,
// no database), looks only those up by hash, and rejects the push when one
// is a live token, which it then revokes and reports to its owner.
package pushprotect

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/gatehouse/gatehouse/internal/token"
)

// Defaults for Scanner's bounds.
const (
	DefaultMaxBlobSize = 1 << 20
	DefaultMaxBytes    = 1 << 30
	DefaultTimeout     = 120 * time.Second
	// MaxCandidates bounds the distinct token-shaped strings one push may
	// carry: the checksum is public, so they are cheap to forge, and each
	// costs memory and a lookup. Real pushes carry none or a few.
	MaxCandidates = 1000
)

// ErrTooManyCandidates refuses a push that carries more than MaxCandidates
// distinct token-shaped strings.
var ErrTooManyCandidates = fmt.Errorf("the push holds more than %d strings shaped like personal access tokens", MaxCandidates)

// Update is one line of pre-receive input: a ref and its old and new
// object ids.
type Update struct {
	Old, New, Ref string
}

// Deletes reports whether the update deletes its ref.
func (u Update) Deletes() bool { return strings.Trim(u.New, "0") == "" }

// ParseUpdates reads pre-receive input, "OLD NEW REF" per line.
func ParseUpdates(r io.Reader) ([]Update, error) {
	var ups []Update
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) == 0 {
			continue
		}
		if len(f) != 3 || !isOID(f[0]) || !isOID(f[1]) {
			return nil, fmt.Errorf("pre-receive: unexpected input line %q", sc.Text())
		}
		ups = append(ups, Update{Old: f[0], New: f[1], Ref: f[2]})
	}
	return ups, sc.Err()
}

func isOID(s string) bool {
	if len(s) != 40 && len(s) != 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}

// Finding is a candidate token and where the push holds it. Token is the
// secret itself: it may be looked up, never logged or shown.
type Finding struct {
	Token string
	// Commit is the first new commit (oldest first) whose tree holds the
	// blob, or the commit or tag whose message holds the token.
	Commit string
	// Path is the file's path in Commit, "" when the token is in the
	// commit message (or in a tag's, then Tag is set).
	Path string
	Tag  string
	// Line is the line in the file; 0 when the token is in the path
	// itself (a file or directory name).
	Line int
	// Ref is set when the token is in the name of a pushed ref.
	Ref string
}

// Location describes where the finding is, for people.
func (f Finding) Location() string {
	switch {
	case f.Ref != "":
		return "the name of ref " + f.Redact(f.Ref)
	case f.Path != "" && f.Line == 0:
		return "the file or directory name " + f.Redact(f.Path)
	case f.Tag != "":
		return "message of tag " + f.Tag
	case f.Path == "":
		return "commit message"
	}
	return f.Path + ":" + strconv.Itoa(f.Line)
}

// Redact replaces the token in s (a path or ref name that holds it) by
// its last eight characters, so that s can be shown and stored.
func (f Finding) Redact(s string) string {
	return strings.ReplaceAll(s, f.Token, "<token …"+token.LastEight(f.Token)+">")
}

// Stats describe one scan.
type Stats struct {
	Objects    int   // objects read
	Bytes      int64 // bytes of commits, tags and blobs searched
	Incomplete bool  // a bound stopped the scan early
	Duration   time.Duration
}

// Scanner lists a push's new objects with git and searches them. The zero
// value uses "git" from PATH and the default bounds.
type Scanner struct {
	Git string
	// MaxBlobSize skips larger blobs: they are seldom text, and reading
	// them would make every push of a binary slow.
	MaxBlobSize int64
	// MaxBytes and Timeout bound one scan; when either is reached the scan
	// stops and reports itself incomplete, and the hook refuses the push:
	// a bound that let the rest through would be a way around the check.
	MaxBytes int64
	Timeout  time.Duration
}

// Scan searches the objects that the updates bring and that no existing
// ref reaches, in the repository git finds from dir and env (inside a
// pre-receive hook: the current directory and the environment git gave
// the hook, which points at the quarantined objects). It returns each
// distinct candidate once, at its first location.
func (s *Scanner) Scan(ctx context.Context, dir string, env []string, updates []Update) ([]Finding, Stats, error) {
	start := time.Now()
	var st Stats
	var tips []string
	var refFindings []Finding
	var finder token.Finder
	for _, u := range updates {
		if u.Deletes() {
			continue
		}
		tips = append(tips, u.New)
		// A ref's name is published to everyone who can read the
		// repository, so it is searched like file contents.
		finder.Find(strings.NewReader(u.Ref), func(c token.Candidate) bool {
			refFindings = append(refFindings, Finding{Token: c.Token, Commit: u.New, Ref: u.Ref})
			return true
		})
	}
	if len(tips) == 0 {
		return nil, st, nil
	}
	timeout := s.Timeout
	if timeout <= 0 {
		timeout = DefaultTimeout
	}
	maxBlob := s.MaxBlobSize
	if maxBlob <= 0 {
		maxBlob = DefaultMaxBlobSize
	}
	maxBytes := s.MaxBytes
	if maxBytes <= 0 {
		maxBytes = DefaultMaxBytes
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()

	// rev-list names each new object once, commits oldest first, each
	// followed by the trees and blobs it is the first to bring, so that a
	// blob is attributed to the commit that introduced it; larger blobs
	// it leaves out itself. forward passes the object ids on to cat-file
	// and the paths, in the same order, to read. Everything streams; no
	// object is held in memory whole. (cat-file could take the paths
	// through with %(rest), but a custom format doubles its cost.)
	list := s.command(ctx, dir, env, "rev-list", "--objects", "--in-commit-order", "--reverse",
		"--filter=blob:limit="+strconv.FormatInt(maxBlob, 10), "--stdin", "--not", "--all")
	list.Stdin = strings.NewReader(strings.Join(tips, "\n") + "\n")
	cat := s.command(ctx, dir, env, "cat-file", "--batch")
	listOut, err := list.StdoutPipe()
	if err != nil {
		return nil, st, err
	}
	catIn, err := cat.StdinPipe()
	if err != nil {
		return nil, st, err
	}
	catOut, err := cat.StdoutPipe()
	if err != nil {
		return nil, st, err
	}
	var listErr, catErr bytes.Buffer
	list.Stderr, cat.Stderr = &listErr, &catErr
	if err := list.Start(); err != nil {
		return nil, st, fmt.Errorf("git rev-list: %w", err)
	}
	if err := cat.Start(); err != nil {
		cancel()
		list.Wait()
		return nil, st, fmt.Errorf("git cat-file: %w", err)
	}
	paths := make(chan string, 1024)
	fwd := make(chan error, 1)
	go func() { fwd <- forward(ctx, bufio.NewReader(listOut), catIn, paths) }()

	findings, rerr := s.read(bufio.NewReaderSize(catOut, 64<<10), paths, maxBlob, maxBytes, &st, refFindings)
	stopped := rerr == errBound
	if rerr != nil {
		// Stop both without waiting for them to finish on their own.
		cancel()
	}
	ferr := <-fwd
	if rerr == nil && ferr != nil && ctx.Err() == nil {
		rerr = ferr
	}
	lerr, cerr := list.Wait(), cat.Wait()
	st.Duration = time.Since(start)
	if stopped || ctx.Err() == context.DeadlineExceeded {
		st.Incomplete = true
		return findings, st, nil
	}
	switch {
	case rerr != nil:
		return nil, st, rerr
	case lerr != nil:
		return findings, st, fmt.Errorf("git rev-list: %v: %s", lerr, bytes.TrimSpace(listErr.Bytes()))
	case cerr != nil:
		return findings, st, fmt.Errorf("git cat-file: %v: %s", cerr, bytes.TrimSpace(catErr.Bytes()))
	}
	return findings, st, nil
}

// errBound stops reading when a scan reaches MaxBytes.
var errBound = errors.New("pushprotect: scan bound reached")

// read consumes cat-file's output: for each object a header line
// "OID TYPE SIZE REST", SIZE bytes and a newline.
func (s *Scanner) read(r *bufio.Reader, paths <-chan string, maxBlob, maxBytes int64, st *Stats, initial []Finding) ([]Finding, error) {
	var (
		findings []Finding
		seen     = map[string]bool{}
		finder   token.Finder
		commit   string
		tooMany  bool
	)
	add := func(hit Finding) bool {
		if seen[hit.Token] {
			return true
		}
		if len(findings) == MaxCandidates {
			tooMany = true
			return false
		}
		seen[hit.Token] = true
		findings = append(findings, hit)
		return true
	}
	for _, f := range initial {
		add(f)
	}
	for {
		hdr, err := r.ReadString('\n')
		if err == io.EOF && hdr == "" {
			return findings, nil
		}
		if err != nil {
			return findings, fmt.Errorf("git cat-file: %w", err)
		}
		f := strings.Fields(hdr)
		if len(f) == 2 && f[1] == "missing" {
			return findings, fmt.Errorf("git cat-file: object %s missing", f[0])
		}
		rest, ok := <-paths
		if !ok || len(f) != 3 {
			return findings, fmt.Errorf("git cat-file: unexpected header %q", hdr)
		}
		size, err := strconv.ParseInt(f[2], 10, 64)
		if err != nil || size < 0 {
			return findings, fmt.Errorf("git cat-file: unexpected header %q", hdr)
		}
		st.Objects++
		body := io.LimitReader(r, size)
		var at Finding
		switch f[1] {
		case "commit":
			commit = f[0]
			at = Finding{Commit: commit}
		case "tag":
			at = Finding{Commit: f[0], Tag: rest}
		case "blob":
			at = Finding{Commit: commit, Path: rest}
			if size > maxBlob {
				body = nil // rev-list's filter already leaves these out
			}
		default: // trees hold names and ids, never file contents
			body = nil
		}
		if rest != "" && f[1] != "tag" {
			// The path itself: a token used as a file or directory name
			// is as public as one inside a file.
			finder.Find(strings.NewReader(rest), func(c token.Candidate) bool {
				return add(Finding{Token: c.Token, Commit: commit, Path: rest})
			})
			if tooMany {
				return nil, ErrTooManyCandidates
			}
		}
		if body != nil {
			if st.Bytes+size > maxBytes {
				return findings, errBound
			}
			st.Bytes += size
			err = finder.Find(body, func(c token.Candidate) bool {
				hit := at
				hit.Token, hit.Line = c.Token, c.Line
				return add(hit)
			})
			if tooMany {
				return nil, ErrTooManyCandidates
			}
			if err != nil {
				return findings, fmt.Errorf("git cat-file: %w", err)
			}
		}
		// Whatever was not read (a tree, or the rest of a body), and the
		// newline after it.
		if _, err := r.Discard(int(remaining(body, size))); err != nil {
			return findings, fmt.Errorf("git cat-file: %w", err)
		}
		if b, err := r.ReadByte(); err != nil || b != '\n' {
			return findings, fmt.Errorf("git cat-file: object %s not followed by a newline", f[0])
		}
	}
}

// forward copies rev-list's output to cat-file: object ids to its input,
// and the path after each (empty for commits and tags, which rev-list
// names without one) to paths. cat-file answers as it reads, and read
// consumes its answers, so the channel only has to absorb the difference.
func forward(ctx context.Context, list *bufio.Reader, cat io.WriteCloser, paths chan<- string) error {
	defer close(paths)
	defer cat.Close()
	w := bufio.NewWriter(cat)
	for {
		line, err := list.ReadString('\n')
		if err == io.EOF && line == "" {
			return w.Flush()
		}
		if err != nil {
			return fmt.Errorf("git rev-list: %w", err)
		}
		oid, path, _ := strings.Cut(strings.TrimSuffix(line, "\n"), " ")
		select {
		case paths <- path:
		default:
			// read is behind: let cat-file catch up before waiting.
			if err := w.Flush(); err != nil {
				return err
			}
			select {
			case paths <- path:
			case <-ctx.Done():
				return ctx.Err()
			}
		}
		if _, err := w.WriteString(oid + "\n"); err != nil {
			return err
		}
		// Hand over what there is whenever rev-list pauses.
		if list.Buffered() == 0 {
			if err := w.Flush(); err != nil {
				return err
			}
		}
	}
}

// remaining returns how many bytes of an object's size are still unread.
func remaining(body io.Reader, size int64) int64 {
	if lr, ok := body.(*io.LimitedReader); ok {
		return lr.N
	}
	return size
}

// command runs git with the hook's environment: inside receive-pack it
// names the repository and the quarantine, so nothing may be dropped.
func (s *Scanner) command(ctx context.Context, dir string, env []string, args ...string) *exec.Cmd {
	g := s.Git
	if g == "" {
		g = "git"
	}
	cmd := exec.CommandContext(ctx, g, args...)
	cmd.Dir = dir
	cmd.Env = env
	cmd.WaitDelay = 5 * time.Second
	cmd.Cancel = func() error { return cmd.Process.Signal(syscall.SIGKILL) }
	return cmd
}
