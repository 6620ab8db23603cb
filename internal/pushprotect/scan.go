// Package pushprotect keeps live personal access tokens of this instance
// out of its repositories. It runs as git's pre-receive hook, so that it
// sees a push's objects in quarantine before any ref moves: it reads every
// object the push brings, looks for token-shaped strings with a valid
// checksum (cheap, no database), looks only those up by hash, and rejects
// the push when one is a live token, which it then revokes and reports to
// its owner.
//
// What is searched: every commit, tag, tree and blob in the push's
// quarantine that the repository did not hold before, whether a pushed
// ref reaches it or not (git serves any stored object by id); in blobs,
// commit and tag messages the bytes as they are with NUL bytes dropped (so
// that UTF-16 text of ASCII reads as ASCII), the content of long base64
// runs, and in blobs the content of gzip streams; in trees every entry
// name; and the names of the pushed refs.
package pushprotect

import (
	"bufio"
	"bytes"
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/gatehouse/gatehouse/internal/token"
)

// Defaults for Scanner's bounds.
const (
	DefaultMaxBytes = 1 << 30
	DefaultTimeout  = 120 * time.Second
	// DefaultMaxGunzip is how much of one gzip-compressed blob is
	// decompressed and searched.
	DefaultMaxGunzip = 64 << 20
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
// secret itself: it may be looked up, never logged or shown. The other
// strings may be shown and stored: Scan has replaced in them every
// candidate the push holds by its last eight characters.
type Finding struct {
	Token string
	// Commit is the first new commit (oldest first) whose tree holds the
	// blob, or the commit or tag whose message holds the token; "" when
	// no pushed ref reaches the object (then Object is set).
	Commit string
	// Path is the file's path in Commit, "" when the token is in the
	// commit message (or in a tag's, then Tag is set). For a tree no
	// pushed ref reaches, it is the entry's name.
	Path string
	Tag  string
	// Line is the line in the file; 0 when the token is in the path
	// itself (a file or directory name). In base64 text it is the line
	// the base64 starts on; in gzip content, the line of the
	// decompressed text.
	Line int
	// Ref is set when the token is in the name of a pushed ref.
	Ref string
	// Object is set when the token is in an object the push brings but
	// no pushed ref reaches: that object's id.
	Object string
	// Encoding says how the content that holds the token is encoded: ""
	// (as it is, or UTF-16), "base64", "gzip" or "gzip, base64".
	Encoding string
}

// Location describes where the finding is, for people.
func (f Finding) Location() string {
	enc := ""
	if f.Encoding != "" {
		enc = " (" + f.Encoding + ")"
	}
	switch {
	case f.Ref != "":
		return "the name of ref " + f.Redact(f.Ref)
	case f.Object != "" && f.Path != "" && f.Line == 0:
		return "the file or directory name " + f.Redact(f.Path) + " in an object not reachable from any pushed ref (" + f.Object + ")"
	case f.Object != "":
		return "an object not reachable from any pushed ref (" + f.Object + ")" + enc
	case f.Path != "" && f.Line == 0:
		return "the file or directory name " + f.Redact(f.Path)
	case f.Tag != "":
		return "message of tag " + f.Redact(f.Tag) + enc
	case f.Path == "":
		return "commit message" + enc
	}
	return f.Redact(f.Path) + ":" + strconv.Itoa(f.Line) + enc
}

// Redact replaces the token in s (a path or ref name that holds it) by
// its last eight characters, so that s can be shown and stored.
func (f Finding) Redact(s string) string {
	return strings.ReplaceAll(s, f.Token, redacted(f.Token))
}

func redacted(tok string) string { return "<token …" + token.LastEight(tok) + ">" }

// redactAll replaces every candidate of fs in every location string of
// fs: a directory named by one token may hold a file with another, and
// the path of the second must not show the first.
func redactAll(fs []Finding) []Finding {
	if len(fs) == 0 {
		return fs
	}
	toks := make([]string, 0, len(fs))
	for _, f := range fs {
		toks = append(toks, f.Token)
	}
	// Longest first: a candidate's shorter-prefix variants are its
	// suffixes, and the Replacer prefers earlier pairs at one position.
	slices.SortStableFunc(toks, func(a, b string) int { return len(b) - len(a) })
	pairs := make([]string, 0, 2*len(toks))
	for _, t := range toks {
		pairs = append(pairs, t, redacted(t))
	}
	r := strings.NewReplacer(pairs...)
	for i := range fs {
		fs[i].Path, fs[i].Ref, fs[i].Tag = r.Replace(fs[i].Path), r.Replace(fs[i].Ref), r.Replace(fs[i].Tag)
	}
	return fs
}

// Stats describe one scan.
type Stats struct {
	Objects int // objects read
	// Bytes counts what was searched: commits, tags, trees and blobs as
	// stored, and gzip content once decompressed.
	Bytes      int64
	Incomplete bool // a bound stopped the scan early
	Duration   time.Duration
}

// Scanner lists a push's new objects with git and searches them. The zero
// value uses "git" from PATH and the default bounds.
type Scanner struct {
	Git string
	// MaxBytes and Timeout bound one scan; when either is reached the scan
	// stops and reports itself incomplete, and the hook refuses the push:
	// a bound that let the rest through would be a way around the check.
	// Blobs of any size are searched, a chunk at a time.
	MaxBytes int64
	Timeout  time.Duration
	// MaxGunzip bounds how much of one gzip-compressed blob is
	// decompressed and searched (it counts against MaxBytes too); what a
	// blob holds beyond it is searched only as stored. A bound per blob,
	// not a refusal, so that a large .gz can still be pushed.
	MaxGunzip int64
}

// The variables through which git describes the quarantine to a
// pre-receive hook: the directory the push's objects are in until the
// hook accepts them, and the repository's own objects as an alternate.
const (
	envQuarantine = "GIT_QUARANTINE_PATH"
	envObjects    = "GIT_OBJECT_DIRECTORY"
	envAlternates = "GIT_ALTERNATE_OBJECT_DIRECTORIES"
)

// Scan searches the objects that the push brings, in the repository git
// finds from dir and env (inside a pre-receive hook: the current directory
// and the environment git gave the hook, which points at the quarantined
// objects). That is what the updates reach and no existing ref does (with
// the commit and path that hold each object), and every other object of
// the quarantine that the repository did not hold before (without). It
// returns each distinct candidate once, at its first location.
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
	quarantine := getenv(env, envQuarantine)
	if len(tips) == 0 && quarantine == "" {
		return nil, st, nil
	}
	timeout := s.Timeout
	if timeout <= 0 {
		timeout = DefaultTimeout
	}
	maxBytes := s.MaxBytes
	if maxBytes <= 0 {
		maxBytes = DefaultMaxBytes
	}
	maxGunzip := s.MaxGunzip
	if maxGunzip <= 0 {
		maxGunzip = DefaultMaxGunzip
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()

	// After what rev-list names, forward sends cat-file the quarantine's
	// new objects that rev-list did not name.
	var rest func(listed map[[32]byte]bool) ([]string, error)
	if quarantine != "" {
		rest = func(listed map[[32]byte]bool) ([]string, error) {
			return s.unlisted(ctx, dir, env, quarantine, hexLen(updates), listed)
		}
	}

	// rev-list names each new object once, commits oldest first, each
	// followed by the trees and blobs it is the first to bring, so that a
	// blob is attributed to the commit that introduced it. forward passes
	// the object ids on to cat-file and the paths, in the same order, to
	// read. Everything streams; no object is held in memory whole.
	// (cat-file could take the paths through with %(rest), but a custom
	// format doubles its cost.)
	var list *exec.Cmd
	var listOut io.Reader = strings.NewReader("")
	var listErr, catErr bytes.Buffer
	if len(tips) > 0 {
		list = s.command(ctx, dir, env, "rev-list", "--objects", "--in-commit-order", "--reverse", "--stdin", "--not", "--all")
		list.Stdin = strings.NewReader(strings.Join(tips, "\n") + "\n")
		list.Stderr = &listErr
		out, err := list.StdoutPipe()
		if err != nil {
			return nil, st, err
		}
		listOut = out
	}
	cat := s.command(ctx, dir, env, "cat-file", "--batch")
	catIn, err := cat.StdinPipe()
	if err != nil {
		return nil, st, err
	}
	catOut, err := cat.StdoutPipe()
	if err != nil {
		return nil, st, err
	}
	cat.Stderr = &catErr
	if list != nil {
		if err := list.Start(); err != nil {
			return nil, st, fmt.Errorf("git rev-list: %w", err)
		}
	}
	if err := cat.Start(); err != nil {
		cancel()
		if list != nil {
			list.Wait()
		}
		return nil, st, fmt.Errorf("git cat-file: %w", err)
	}
	paths := make(chan entry, 1024)
	fwd := make(chan error, 1)
	go func() { fwd <- forward(ctx, bufio.NewReader(listOut), catIn, paths, rest) }()

	sc := newScan(maxBytes, maxGunzip, &st)
	for _, f := range refFindings {
		sc.add(f)
	}
	var rerr error
	if sc.tooMany {
		rerr = ErrTooManyCandidates
	} else {
		rerr = sc.read(bufio.NewReaderSize(catOut, 64<<10), paths)
	}
	findings := redactAll(sc.findings)
	stopped := rerr == errBound
	if rerr != nil {
		// Stop git without waiting for it to finish on its own.
		cancel()
	}
	ferr := <-fwd
	if rerr == nil && ferr != nil && ctx.Err() == nil {
		rerr = ferr
	}
	var lerr error
	if list != nil {
		lerr = list.Wait()
	}
	cerr := cat.Wait()
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

// entry is what forward tells read about the next object cat-file
// answers with.
type entry struct {
	path string // rev-list's path (tag name for a tag), "" for commits
	// unreachable is set for an object of the quarantine that no pushed ref
	// reaches; path is "" then.
	unreachable bool
}

// forward copies rev-list's output to cat-file: object ids to its input,
// and the path after each (empty for commits and tags, which rev-list
// names without one) to paths; then, when rest is set, the objects it
// returns given what rev-list named. cat-file answers as it reads, and
// read consumes its answers, so the channel only has to absorb the
// difference.
func forward(ctx context.Context, list *bufio.Reader, cat io.WriteCloser, paths chan<- entry, rest func(listed map[[32]byte]bool) ([]string, error)) error {
	defer close(paths)
	defer cat.Close()
	w := bufio.NewWriter(cat)
	send := func(oid string, e entry) error {
		select {
		case paths <- e:
		default:
			// read is behind: let cat-file catch up before waiting.
			if err := w.Flush(); err != nil {
				return err
			}
			select {
			case paths <- e:
			case <-ctx.Done():
				return ctx.Err()
			}
		}
		_, err := w.WriteString(oid + "\n")
		return err
	}
	// listed holds what rev-list named, when there is a quarantine to
	// compare it with.
	var listed map[[32]byte]bool
	if rest != nil {
		listed = map[[32]byte]bool{}
	}
	for {
		line, err := list.ReadString('\n')
		if err == io.EOF && line == "" {
			break
		}
		if err != nil {
			return fmt.Errorf("git rev-list: %w", err)
		}
		oid, path, _ := strings.Cut(strings.TrimSuffix(line, "\n"), " ")
		if listed != nil {
			listed[oidKey(oid)] = true
		}
		if err := send(oid, entry{path: path}); err != nil {
			return err
		}
		// Hand over what there is whenever rev-list pauses.
		if list.Buffered() == 0 {
			if err := w.Flush(); err != nil {
				return err
			}
		}
	}
	if rest != nil {
		if err := w.Flush(); err != nil {
			return err
		}
		ids, err := rest(listed)
		if err != nil {
			return err
		}
		for _, oid := range ids {
			if err := send(oid, entry{unreachable: true}); err != nil {
				return err
			}
		}
	}
	return w.Flush()
}

// oidKey packs a hex object id (SHA-1 or SHA-256) for a map.
func oidKey(oid string) (k [32]byte) {
	hex.Decode(k[:], []byte(oid[:min(len(oid), 64)]))
	return k
}

// hexLen is the length of the repository's object ids, from the updates.
func hexLen(updates []Update) int {
	if len(updates) > 0 {
		return len(updates[0].Old)
	}
	return 40
}

// unlisted returns the objects of the quarantine directory q that are
// not in listed and that the repository did not hold before the push:
// those that no pushed ref reaches. The quarantine may hold others:
// index-pack completes a thin pack with the objects its deltas are based
// on, and a client may send what the server has; those were checked when
// they came (or came before push protection), and a token in them is not
// this pusher's. The repository's objects are what git sees without the
// quarantine variables. In the usual push everything in the quarantine
// was listed and no git runs.
func (s *Scanner) unlisted(ctx context.Context, dir string, env []string, q string, hexLen int, listed map[[32]byte]bool) ([]string, error) {
	var left []string
	err := quarantineObjects(q, hexLen, func(oid string) {
		if !listed[oidKey(oid)] {
			left = append(left, oid)
		}
	})
	if err != nil {
		return nil, fmt.Errorf("list the quarantine: %w", err)
	}
	if len(left) == 0 {
		return nil, nil
	}
	check := s.command(ctx, dir, unsetenv(env, envQuarantine, envObjects, envAlternates), "cat-file", "--batch-check=%(objectname)")
	var checkErr bytes.Buffer
	check.Stderr = &checkErr
	check.Stdin = strings.NewReader(strings.Join(left, "\n") + "\n")
	out, err := check.Output()
	if err != nil {
		return nil, fmt.Errorf("list the quarantine: git cat-file: %v: %s", err, bytes.TrimSpace(checkErr.Bytes()))
	}
	var fresh []string
	for _, line := range strings.Split(strings.TrimSuffix(string(out), "\n"), "\n") {
		// "OID" for an object the repository has, "OID missing" for a
		// new one.
		if oid, ok := strings.CutSuffix(line, " missing"); ok && isOID(oid) {
			fresh = append(fresh, oid)
		} else if !isOID(line) {
			return nil, fmt.Errorf("list the quarantine: git cat-file: unexpected line %q", line)
		}
	}
	return fresh, nil
}

// getenv returns the value of key in env, the last one if repeated, as
// the C library's getenv would with git's exec.
func getenv(env []string, key string) string {
	v := ""
	for _, kv := range env {
		if k, val, ok := strings.Cut(kv, "="); ok && k == key {
			v = val
		}
	}
	return v
}

// unsetenv returns a copy of env without keys.
func unsetenv(env []string, keys ...string) []string {
	out := make([]string, 0, len(env)+1)
	for _, kv := range env {
		k, _, _ := strings.Cut(kv, "=")
		if !slices.Contains(keys, k) {
			out = append(out, kv)
		}
	}
	return out
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
