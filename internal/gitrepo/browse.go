package gitrepo

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os/exec"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Browsing reads a repository for the web pages and the REST API: refs,
// trees, blobs, history, diffs and archives. Every read runs git's
// plumbing under the caller's context with a time limit of its own, reads
// a bounded amount of git's output (stopping and killing git past it),
// and takes names only in forms that git cannot mistake for options or
// paths outside the repository: refs checked by ValidRefName and resolved
// to object ids before any other command sees them, paths checked by
// CleanPath and passed after "--" (with literal pathspecs) or inside
// "OID:PATH".

// Errors of the browsing reads, matched with errors.Is.
var (
	// ErrRefNotFound: the name is well formed but names no commit.
	ErrRefNotFound = errors.New("gitrepo: no such branch, tag or commit")
	// ErrPathNotFound: the commit has nothing at that path.
	ErrPathNotFound = errors.New("gitrepo: no such path")
	// ErrInvalidName: a ref or path was refused before git saw it ("..",
	// NUL, a leading "-", a name outside refs/ …).
	ErrInvalidName = errors.New("gitrepo: invalid ref or path")
	// ErrNoMergeBase: two commits share no history.
	ErrNoMergeBase = errors.New("gitrepo: no common ancestor")
)

// Time limits of one read. Streams (raw files, archives) get longer: they
// are bounded by the size of what they send, not by memory.
const (
	ReadTimeout   = 30 * time.Second
	StreamTimeout = 10 * time.Minute
)

// Bounds on what one read accepts or returns.
const (
	maxRefPath     = 4096 // bytes of a REF/PATH or a path
	maxRefSegments = 64   // ref prefixes tried for REF/PATH
	maxLogOutput   = 16 << 20
	maxMessage     = 64 << 10 // of one commit message
	maxRefsOutput  = 32 << 20
)

// Ref is a resolved name: a branch, a tag or a commit id.
type Ref struct {
	// Name is what the caller wrote, shortened: "main", "v1.0", "release/2",
	// or the commit id as given.
	Name string
	// Full is the ref ("refs/heads/main"), "" for a commit id.
	Full string
	// Kind is "branch", "tag", "commit" or "ref" (another ref under refs/).
	Kind string
	// Commit is the full id of the commit the name resolves to (a tag is
	// peeled).
	Commit string
}

// ValidRefName reports whether name is acceptable as a branch or tag name
// (git check-ref-format's rules, and no leading "-" so that it can never be
// taken for an option), with or without its refs/ prefix.
func ValidRefName(name string) bool {
	if name == "" || len(name) > 255 || name == "@" || strings.HasPrefix(name, "-") ||
		strings.HasPrefix(name, "/") || strings.HasSuffix(name, "/") || strings.HasSuffix(name, ".") ||
		strings.HasSuffix(name, ".lock") || strings.Contains(name, "..") || strings.Contains(name, "//") ||
		strings.Contains(name, "@{") {
		return false
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		if c < 0x20 || c == 0x7f || strings.IndexByte(" ~^:?*[\\", c) >= 0 {
			return false
		}
	}
	for _, seg := range strings.Split(name, "/") {
		if strings.HasPrefix(seg, ".") || strings.HasSuffix(seg, ".lock") {
			return false
		}
	}
	return true
}

// isHex reports whether s could be an object id or an abbreviation of one
// (4 to 64 lowercase or uppercase hex digits).
func isHex(s string) bool {
	if len(s) < 4 || len(s) > 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F') {
			return false
		}
	}
	return true
}

// isObjectID reports whether s is a full object id (SHA-1 or SHA-256).
func isObjectID(s string) bool { return (len(s) == 40 || len(s) == 64) && isHex(s) }

// CleanPath checks a path inside a repository and returns it without
// leading or trailing slashes ("" is the top). It refuses what no tree
// entry can be and what could reach elsewhere: NUL and newlines, empty,
// "." and ".." segments.
func CleanPath(p string) (string, error) {
	p = strings.Trim(p, "/")
	if p == "" {
		return "", nil
	}
	if len(p) > maxRefPath || strings.ContainsAny(p, "\x00\n\r") {
		return "", fmt.Errorf("%w: path %q", ErrInvalidName, p)
	}
	for _, seg := range strings.Split(p, "/") {
		if seg == "" || seg == "." || seg == ".." {
			return "", fmt.Errorf("%w: path %q", ErrInvalidName, p)
		}
	}
	return p, nil
}

// MaxReads bounds the git processes that browsing (pages, the contents
// API, archives) runs at once for the whole server: anyone may read a
// public repository, so without a bound an anonymous client could start a
// process per request. A read waits for a turn at most readWait, then
// fails as timed out (Unavailable to the caller).
const MaxReads = 32

// readWait is how long a read waits for a turn (a variable for tests).
var readWait = 10 * time.Second

// readSlot waits for a turn to run a browsing git process and returns the
// function that gives it back.
func (d *Dir) readSlot(ctx context.Context) (func(), error) {
	d.readsOnce.Do(func() { d.reads = make(chan struct{}, MaxReads) })
	t := time.NewTimer(readWait)
	defer t.Stop()
	select {
	case d.reads <- struct{}{}:
		return func() { <-d.reads }, nil
	case <-t.C:
		return nil, fmt.Errorf("waiting for a turn to read the repository: %w", context.DeadlineExceeded)
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// bounded runs git in repository id and returns at most limit bytes of its
// output; more kills git and reports truncated. A non-zero exit is an
// error carrying git's last words, unless the output was cut (git then
// dies of the kill).
func (d *Dir) bounded(ctx context.Context, id int64, limit int64, stdin io.Reader, args ...string) (out []byte, truncated bool, err error) {
	release, err := d.readSlot(ctx)
	if err != nil {
		return nil, false, err
	}
	defer release()
	ctx, cancel := context.WithTimeout(ctx, ReadTimeout)
	defer cancel()
	cmd := d.command(ctx, d.Path(id), args...)
	cmd.Env = append(cmd.Env, "GIT_LITERAL_PATHSPECS=1")
	cmd.Stdin = stdin
	var stderr tailBuffer
	cmd.Stderr = &stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, false, err
	}
	if err := cmd.Start(); err != nil {
		return nil, false, fmt.Errorf("git %s: %w", args[0], err)
	}
	out, rerr := io.ReadAll(io.LimitReader(stdout, limit+1))
	if int64(len(out)) > limit {
		out, truncated = out[:limit], true
		cancel()
	}
	werr := cmd.Wait()
	switch {
	case truncated:
		return out, true, nil
	case ctx.Err() != nil:
		return nil, false, fmt.Errorf("git %s: %w", args[0], ctx.Err())
	case werr != nil:
		return nil, false, &gitError{args: args[0], err: werr, stderr: string(bytes.TrimSpace(stderr.Bytes()))}
	case rerr != nil:
		return nil, false, rerr
	}
	return out, false, nil
}

// gitError is git failing; its stderr is for logs, not for users.
type gitError struct {
	args   string
	err    error
	stderr string
}

func (e *gitError) Error() string { return "git " + e.args + ": " + e.err.Error() + ": " + e.stderr }
func (e *gitError) Unwrap() error { return e.err }

// exitCode returns git's exit status in err, or -1.
func exitCode(err error) int {
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		return ee.ExitCode()
	}
	return -1
}

// object is one answer of cat-file --batch-check.
type object struct {
	ID, Type string
	Size     int64
}

// check asks git cat-file --batch-check about names, one process for all
// of them; a name that resolves to nothing gives a zero object. The names
// are read by git from stdin as object names only, never as options; the
// caller has refused newlines in them.
func (d *Dir) check(ctx context.Context, id int64, names []string) ([]object, error) {
	var in strings.Builder
	for _, n := range names {
		if strings.ContainsAny(n, "\n\x00") {
			return nil, fmt.Errorf("%w: %q", ErrInvalidName, n)
		}
		in.WriteString(n)
		in.WriteByte('\n')
	}
	out, _, err := d.bounded(ctx, id, int64(len(names))*200+1024, strings.NewReader(in.String()),
		"cat-file", "--batch-check=%(objectname) %(objecttype) %(objectsize)")
	if err != nil {
		return nil, err
	}
	lines := strings.Split(strings.TrimSuffix(string(out), "\n"), "\n")
	if len(lines) != len(names) {
		return nil, fmt.Errorf("git cat-file --batch-check: %d answers for %d names", len(lines), len(names))
	}
	objs := make([]object, len(names))
	for i, l := range lines {
		f := strings.Fields(l)
		if len(f) == 3 && isObjectID(f[0]) {
			size, _ := strconv.ParseInt(f[2], 10, 64)
			objs[i] = object{ID: f[0], Type: f[1], Size: size}
		}
	}
	return objs, nil
}

// refCandidate is one way of reading a name, in the order git would try
// it.
type refCandidate struct {
	name, full, kind string
	expr             string // what cat-file is asked
}

// candidates lists how git reads name as a commit (its dwim rules, without
// remotes): a full object id; HEAD; refs/NAME; refs/tags/NAME;
// refs/heads/NAME; an abbreviated id. Names git could not take for a ref
// give none.
func candidates(name string) []refCandidate {
	var out []refCandidate
	if isObjectID(name) {
		out = append(out, refCandidate{name: name, kind: "commit", expr: name + "^{commit}"})
	}
	if name == "HEAD" {
		out = append(out, refCandidate{name: name, full: "HEAD", kind: "ref", expr: "HEAD^{commit}"})
	}
	if ValidRefName(name) {
		if full, ok := strings.CutPrefix(name, "refs/"); ok && full != "" {
			kind, short := refKind(name)
			out = append(out, refCandidate{name: short, full: name, kind: kind, expr: name + "^{commit}"})
		} else {
			out = append(out,
				refCandidate{name: name, full: "refs/" + name, kind: "ref", expr: "refs/" + name + "^{commit}"},
				refCandidate{name: name, full: "refs/tags/" + name, kind: "tag", expr: "refs/tags/" + name + "^{commit}"},
				refCandidate{name: name, full: "refs/heads/" + name, kind: "branch", expr: "refs/heads/" + name + "^{commit}"},
			)
		}
	}
	if isHex(name) && !isObjectID(name) {
		out = append(out, refCandidate{name: name, kind: "commit", expr: name + "^{commit}"})
	}
	return out
}

// refKind names the kind of a full ref and its short name.
func refKind(full string) (kind, short string) {
	switch {
	case strings.HasPrefix(full, "refs/heads/"):
		return "branch", strings.TrimPrefix(full, "refs/heads/")
	case strings.HasPrefix(full, "refs/tags/"):
		return "tag", strings.TrimPrefix(full, "refs/tags/")
	}
	return "ref", full
}

// Resolve turns a branch, tag, full ref or commit id into a commit, as git
// rev-parse NAME^{commit} would, after refusing names that could be taken
// for options or paths. Errors: ErrInvalidName, ErrRefNotFound.
func (d *Dir) Resolve(ctx context.Context, id int64, name string) (Ref, error) {
	cands := candidates(name)
	if len(cands) == 0 {
		return Ref{}, fmt.Errorf("%w: ref %q", ErrInvalidName, name)
	}
	exprs := make([]string, len(cands))
	for i, c := range cands {
		exprs[i] = c.expr
	}
	objs, err := d.check(ctx, id, exprs)
	if err != nil {
		return Ref{}, err
	}
	for i, o := range objs {
		if o.Type == "commit" {
			c := cands[i]
			if c.kind == "ref" {
				// refs/NAME that is a branch or tag after all.
				c.kind, c.name = refKind(c.full)
				if c.kind == "ref" && c.full != "HEAD" {
					c.name = name
				}
			}
			return Ref{Name: c.name, Full: c.full, Kind: c.kind, Commit: o.ID}, nil
		}
	}
	return Ref{}, fmt.Errorf("%w: %q", ErrRefNotFound, name)
}

// ResolvePath splits "REF/PATH" the way GitHub's /tree/ and /blob/ URLs
// are read, where a ref may itself contain slashes: the longest prefix
// that names a branch or tag wins (a tag before a branch of the same name,
// as in git), then a commit id as the first segment. It returns the ref
// and the cleaned path. Errors: ErrInvalidName, ErrRefNotFound.
func (d *Dir) ResolvePath(ctx context.Context, id int64, refPath string) (Ref, string, error) {
	refPath = strings.TrimPrefix(refPath, "/")
	if refPath == "" || len(refPath) > maxRefPath || strings.ContainsAny(refPath, "\x00\n\r") {
		return Ref{}, "", fmt.Errorf("%w: %q", ErrInvalidName, refPath)
	}
	segs := strings.Split(refPath, "/")
	type cand struct {
		refCandidate
		rest string
	}
	var cands []cand
	if isObjectID(segs[0]) {
		cands = append(cands, cand{refCandidate{name: segs[0], kind: "commit", expr: segs[0] + "^{commit}"}, strings.Join(segs[1:], "/")})
	}
	for n := min(len(segs), maxRefSegments); n >= 1; n-- {
		name := strings.Join(segs[:n], "/")
		if !ValidRefName(name) {
			continue
		}
		rest := strings.Join(segs[n:], "/")
		cands = append(cands,
			cand{refCandidate{name: name, full: "refs/tags/" + name, kind: "tag", expr: "refs/tags/" + name + "^{commit}"}, rest},
			cand{refCandidate{name: name, full: "refs/heads/" + name, kind: "branch", expr: "refs/heads/" + name + "^{commit}"}, rest})
	}
	if segs[0] == "HEAD" {
		cands = append(cands, cand{refCandidate{name: "HEAD", full: "HEAD", kind: "ref", expr: "HEAD^{commit}"}, strings.Join(segs[1:], "/")})
	}
	if isHex(segs[0]) && !isObjectID(segs[0]) {
		cands = append(cands, cand{refCandidate{name: segs[0], kind: "commit", expr: segs[0] + "^{commit}"}, strings.Join(segs[1:], "/")})
	}
	if len(cands) == 0 {
		return Ref{}, "", fmt.Errorf("%w: %q", ErrInvalidName, refPath)
	}
	exprs := make([]string, len(cands))
	for i, c := range cands {
		exprs[i] = c.expr
	}
	objs, err := d.check(ctx, id, exprs)
	if err != nil {
		return Ref{}, "", err
	}
	for i, o := range objs {
		if o.Type != "commit" {
			continue
		}
		c := cands[i]
		p, err := CleanPath(c.rest)
		if err != nil {
			return Ref{}, "", err
		}
		return Ref{Name: c.name, Full: c.full, Kind: c.kind, Commit: o.ID}, p, nil
	}
	return Ref{}, "", fmt.Errorf("%w: %q", ErrRefNotFound, refPath)
}

// TreeEntry is one entry of a tree, or the object at a path.
type TreeEntry struct {
	Name string // the last path segment ("" for the top)
	Path string // from the top of the repository, without slashes around it
	// Type is "blob", "tree" or "commit" (a submodule).
	Type string
	// Mode is git's: 100644, 100755, 120000 (symbolic link), 040000,
	// 160000.
	Mode string
	ID   string
	Size int64 // blobs only; -1 otherwise
}

// IsSymlink reports whether the entry is a symbolic link.
func (e TreeEntry) IsSymlink() bool { return e.Mode == "120000" }

// Stat returns the entry at path in commit (a full id from Resolve): the
// commit's own tree for "". Errors: ErrInvalidName, ErrPathNotFound.
func (d *Dir) Stat(ctx context.Context, id int64, commit, path string) (TreeEntry, error) {
	if !isObjectID(commit) {
		return TreeEntry{}, fmt.Errorf("%w: commit %q", ErrInvalidName, commit)
	}
	p, err := CleanPath(path)
	if err != nil {
		return TreeEntry{}, err
	}
	if p == "" {
		objs, err := d.check(ctx, id, []string{commit + "^{tree}"})
		if err != nil {
			return TreeEntry{}, err
		}
		if objs[0].Type != "tree" {
			return TreeEntry{}, fmt.Errorf("%w: %s", ErrRefNotFound, commit)
		}
		return TreeEntry{Type: "tree", Mode: "040000", ID: objs[0].ID, Size: -1}, nil
	}
	// --full-tree and literal pathspecs: the path is taken as it is, from
	// the top, with no pattern magic; "--" ends the options.
	out, truncated, err := d.bounded(ctx, id, 64<<10, nil, "ls-tree", "-z", "--long", "--full-tree", commit, "--", p)
	if err != nil {
		return TreeEntry{}, err
	}
	if truncated {
		return TreeEntry{}, fmt.Errorf("git ls-tree: answer too long for %q", p)
	}
	for _, e := range parseEntries(out, "") {
		if e.Path == p {
			return e, nil
		}
	}
	return TreeEntry{}, fmt.Errorf("%w: %q", ErrPathNotFound, p)
}

// parseEntries reads ls-tree -z --long records ("mode type oid size\tpath")
// under dir.
func parseEntries(out []byte, dir string) []TreeEntry {
	var entries []TreeEntry
	for _, rec := range bytes.Split(out, []byte{0}) {
		if e, ok := parseEntry(rec, dir); ok {
			entries = append(entries, e)
		}
	}
	return entries
}

func parseEntry(rec []byte, dir string) (TreeEntry, bool) {
	meta, name, ok := bytes.Cut(rec, []byte{'\t'})
	if !ok {
		return TreeEntry{}, false
	}
	f := strings.Fields(string(meta))
	if len(f) != 4 {
		return TreeEntry{}, false
	}
	e := TreeEntry{Mode: f[0], Type: f[1], ID: f[2], Size: -1, Path: string(name)}
	if dir != "" {
		e.Path = dir + "/" + string(name)
	}
	e.Name = e.Path[strings.LastIndexByte(e.Path, '/')+1:]
	if e.Type == "blob" {
		e.Size, _ = strconv.ParseInt(f[3], 10, 64)
	}
	return e, true
}

// Listing is a directory: at most the limit asked for of its entries,
// directories first, then files, each by name.
type Listing struct {
	Entries []TreeEntry
	// Truncated: the directory has more entries than were read.
	Truncated bool
}

// ListTree lists tree (an id from Stat), which lives at dir, reading at
// most limit entries however large the tree is.
func (d *Dir) ListTree(ctx context.Context, id int64, tree, dir string, limit int) (*Listing, error) {
	if !isObjectID(tree) {
		return nil, fmt.Errorf("%w: tree %q", ErrInvalidName, tree)
	}
	release, err := d.readSlot(ctx)
	if err != nil {
		return nil, err
	}
	defer release()
	ctx, cancel := context.WithTimeout(ctx, ReadTimeout)
	defer cancel()
	cmd := d.command(ctx, d.Path(id), "ls-tree", "-z", "--long", tree)
	var stderr tailBuffer
	cmd.Stderr = &stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("git ls-tree: %w", err)
	}
	l := &Listing{}
	br := bufio.NewReaderSize(stdout, 64<<10)
	for {
		rec, rerr := br.ReadBytes(0)
		if len(rec) > 0 {
			if len(l.Entries) == limit {
				l.Truncated = true
				cancel()
				break
			}
			if e, ok := parseEntry(bytes.TrimSuffix(rec, []byte{0}), dir); ok {
				l.Entries = append(l.Entries, e)
			}
		}
		if rerr != nil {
			break
		}
	}
	werr := cmd.Wait()
	if !l.Truncated && werr != nil {
		if ctx.Err() != nil {
			return nil, fmt.Errorf("git ls-tree: %w", ctx.Err())
		}
		return nil, &gitError{args: "ls-tree", err: werr, stderr: string(stderr.Bytes())}
	}
	sort.SliceStable(l.Entries, func(i, j int) bool {
		a, b := l.Entries[i], l.Entries[j]
		if (a.Type == "tree") != (b.Type == "tree") {
			return a.Type == "tree"
		}
		return a.Name < b.Name
	})
	return l, nil
}

// ReadBlob returns the first limit bytes of blob (an id from Stat or
// ListTree) and whether there was more; git is stopped at the limit.
func (d *Dir) ReadBlob(ctx context.Context, id int64, blob string, limit int64) ([]byte, bool, error) {
	if !isObjectID(blob) {
		return nil, false, fmt.Errorf("%w: blob %q", ErrInvalidName, blob)
	}
	return d.bounded(ctx, id, limit, nil, "cat-file", "blob", blob)
}

// WriteBlob streams the whole of blob to w, never holding it in memory,
// within StreamTimeout.
func (d *Dir) WriteBlob(ctx context.Context, id int64, blob string, w io.Writer) error {
	if !isObjectID(blob) {
		return fmt.Errorf("%w: blob %q", ErrInvalidName, blob)
	}
	return d.stream(ctx, id, w, "cat-file", "blob", blob)
}

// stream runs git with its output going straight to w.
func (d *Dir) stream(ctx context.Context, id int64, w io.Writer, args ...string) error {
	release, err := d.readSlot(ctx)
	if err != nil {
		return err
	}
	defer release()
	ctx, cancel := context.WithTimeout(ctx, StreamTimeout)
	defer cancel()
	cmd := d.command(ctx, d.Path(id), args...)
	cmd.Stdout = w
	var stderr tailBuffer
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		if ctx.Err() != nil {
			return fmt.Errorf("git %s: %w", args[0], ctx.Err())
		}
		return &gitError{args: args[0], err: err, stderr: string(bytes.TrimSpace(stderr.Bytes()))}
	}
	return nil
}

// Person is an author or committer.
type Person struct {
	Name, Email string
	When        time.Time
}

// Commit is one commit's metadata.
type Commit struct {
	ID        string
	Tree      string
	Parents   []string
	Author    Person
	Committer Person
	// Message is the full message, cut at 64 KiB.
	Message string
}

// Subject is the first line of the message.
func (c Commit) Subject() string {
	s, _, _ := strings.Cut(c.Message, "\n")
	return s
}

// Body is the message after its first line, trimmed.
func (c Commit) Body() string {
	_, b, _ := strings.Cut(c.Message, "\n")
	return strings.TrimSpace(b)
}

// logFormat separates fields with US and ends every record with RS, so
// that a message cannot be mistaken for the next record's fields.
const logFormat = "--format=tformat:%H%x1f%T%x1f%P%x1f%an%x1f%ae%x1f%aI%x1f%cn%x1f%ce%x1f%cI%x1f%B%x1e"

func parseCommits(out []byte, truncated bool) []Commit {
	// The tail after the last RS is empty, or a record cut short.
	recs := strings.Split(string(out), "\x1e")
	recs = recs[:len(recs)-1]
	var commits []Commit
	for _, rec := range recs {
		f := strings.SplitN(strings.TrimLeft(rec, "\n"), "\x1f", 10)
		if len(f) != 10 || !isObjectID(f[0]) {
			continue
		}
		c := Commit{ID: f[0], Tree: f[1], Parents: strings.Fields(f[2]),
			Author:    Person{Name: f[3], Email: f[4], When: parseTime(f[5])},
			Committer: Person{Name: f[6], Email: f[7], When: parseTime(f[8])},
			Message:   strings.TrimRight(f[9], "\n"),
		}
		if len(c.Message) > maxMessage {
			c.Message = c.Message[:maxMessage]
		}
		commits = append(commits, c)
	}
	return commits
}

func parseTime(s string) time.Time {
	t, _ := time.Parse(time.RFC3339, s)
	return t
}

// Log returns up to limit commits reachable from commit, newest first,
// skipping the first skip, only those that touched path when it is not ""
// (at most limit).
// Ask for one more than a page to learn whether another page exists.
func (d *Dir) Log(ctx context.Context, id int64, commit, path string, skip, limit int) ([]Commit, error) {
	if !isObjectID(commit) {
		return nil, fmt.Errorf("%w: commit %q", ErrInvalidName, commit)
	}
	p, err := CleanPath(path)
	if err != nil {
		return nil, err
	}
	args := []string{"log", logFormat, "--no-color", "--skip=" + strconv.Itoa(max(skip, 0)), "--max-count=" + strconv.Itoa(limit), commit}
	if p != "" {
		args = append(args, "--", p)
	}
	out, truncated, err := d.bounded(ctx, id, maxLogOutput, nil, args...)
	if err != nil {
		return nil, err
	}
	return parseCommits(out, truncated), nil
}

// ReadCommit returns one commit (a full id from Resolve).
func (d *Dir) ReadCommit(ctx context.Context, id int64, commit string) (*Commit, error) {
	cs, err := d.Log(ctx, id, commit, "", 0, 1)
	if err != nil {
		return nil, err
	}
	if len(cs) == 0 {
		return nil, fmt.Errorf("%w: %s", ErrRefNotFound, commit)
	}
	return &cs[0], nil
}

// LastCommits finds, for each name in dir, the newest commit from commit
// that changed it, walking at most maxCommits commits and stopping early
// once every name is found or the time is up; names not reached are left
// out. It is the "last commit" column of a directory page, bounded so that
// deep histories cost a fixed amount.
func (d *Dir) LastCommits(ctx context.Context, id int64, commit, dir string, names []string, maxCommits int, budget time.Duration) (map[string]Commit, error) {
	if !isObjectID(commit) {
		return nil, fmt.Errorf("%w: commit %q", ErrInvalidName, commit)
	}
	p, err := CleanPath(dir)
	if err != nil {
		return nil, err
	}
	release, err := d.readSlot(ctx)
	if err != nil {
		return nil, err
	}
	defer release()
	want := map[string]bool{}
	for _, n := range names {
		want[n] = true
	}
	found := map[string]Commit{}
	ctx, cancel := context.WithTimeout(ctx, budget)
	defer cancel()
	args := []string{"log", "--format=tformat:%x1e%H%x1f%an%x1f%ae%x1f%aI%x1f%s", "--name-only", "--no-renames", "-z",
		"--max-count=" + strconv.Itoa(maxCommits), commit}
	if p != "" {
		args = append(args, "--", p)
	}
	cmd := d.command(ctx, d.Path(id), args...)
	cmd.Env = append(cmd.Env, "GIT_LITERAL_PATHSPECS=1")
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("git log: %w", err)
	}
	br := bufio.NewReaderSize(stdout, 64<<10)
	var cur Commit
	prefix := ""
	if p != "" {
		prefix = p + "/"
	}
	for len(found) < len(want) {
		tok, rerr := br.ReadString(0)
		tok = strings.TrimSuffix(tok, "\x00")
		if h, ok := strings.CutPrefix(strings.TrimLeft(tok, "\n"), "\x1e"); ok {
			f := strings.SplitN(h, "\x1f", 5)
			if len(f) == 5 {
				cur = Commit{ID: f[0], Author: Person{Name: f[1], Email: f[2], When: parseTime(f[3])}, Message: f[4]}
			}
		} else if name, ok := strings.CutPrefix(strings.TrimLeft(tok, "\n"), prefix); ok && cur.ID != "" {
			top, _, _ := strings.Cut(name, "/")
			if want[top] {
				if _, seen := found[top]; !seen {
					found[top] = cur
				}
			}
		}
		if rerr != nil {
			break
		}
	}
	cancel()
	_ = cmd.Wait()
	return found, nil
}

// FileDiff is one file of a diff.
type FileDiff struct {
	// Status is git's letter: A, D, M, R (renamed), C (copied), T (type
	// changed).
	Status           string
	Path, OldPath    string // OldPath for R and C
	OldMode, NewMode string
	OldID, NewID     string
	// Additions and Deletions count lines; -1 for binary files.
	Additions, Deletions int
	Binary               bool
	// Patch is the unified diff of the file from its first hunk on (no
	// headers), "" for binary files or past the patch limits.
	Patch string
	// PatchCut: the patch is missing or incomplete because of the limits.
	PatchCut bool
}

// Diff is the difference between two commits, bounded.
type Diff struct {
	Files []FileDiff
	// FilesCut: more files changed than the limit.
	FilesCut bool
	// PatchCut: the patch text reached its limit; later files have none.
	PatchCut bool
	// Additions and Deletions add up the listed files.
	Additions, Deletions int
}

// DiffLimits bound a diff: files listed, bytes of patch in all and per
// file. Zero values take the defaults (300 files, 1 MiB, 256 KiB).
type DiffLimits struct {
	MaxFiles     int
	MaxBytes     int64
	MaxFileBytes int
	// NoPatch leaves the patch text out (the file list and counts only).
	NoPatch bool
}

func (l DiffLimits) withDefaults() DiffLimits {
	if l.MaxFiles <= 0 {
		l.MaxFiles = 300
	}
	if l.MaxBytes <= 0 {
		l.MaxBytes = 1 << 20
	}
	if l.MaxFileBytes <= 0 {
		l.MaxFileBytes = 256 << 10
	}
	return l
}

// Diff compares base with head (full commit ids; base "" compares head
// with nothing, as for a root commit), with rename detection, within lim.
func (d *Dir) Diff(ctx context.Context, id int64, base, head string, lim DiffLimits) (*Diff, error) {
	lim = lim.withDefaults()
	if !isObjectID(head) || (base != "" && !isObjectID(base)) {
		return nil, fmt.Errorf("%w: commits %q %q", ErrInvalidName, base, head)
	}
	revs := []string{"--root", head}
	if base != "" {
		revs = []string{base, head}
	}
	// The file list and counts: raw records, then numstat records.
	args := append([]string{"diff-tree", "-r", "-z", "-M", "--no-commit-id", "--raw", "--numstat"}, revs...)
	out, truncated, err := d.bounded(ctx, id, int64(lim.MaxFiles)*2*(2*maxRefPath+200), nil, args...)
	if err != nil {
		return nil, err
	}
	diff := parseRawNumstat(out, lim.MaxFiles)
	diff.FilesCut = diff.FilesCut || truncated
	if lim.NoPatch || len(diff.Files) == 0 {
		return diff, nil
	}
	args = append([]string{"diff-tree", "-r", "-M", "-p", "--no-commit-id", "--no-color", "--no-ext-diff", "--no-textconv"}, revs...)
	patch, cut, err := d.bounded(ctx, id, lim.MaxBytes, nil, args...)
	if err != nil {
		return nil, err
	}
	diff.PatchCut = cut
	sections := splitPatch(patch)
	for i := range diff.Files {
		f := &diff.Files[i]
		if i >= len(sections) {
			f.PatchCut = !f.Binary && (cut || diff.FilesCut)
			continue
		}
		s := sections[i]
		if i == len(sections)-1 && cut {
			f.PatchCut = true
		}
		if at := strings.Index(s, "\n@@"); at >= 0 {
			s = s[at+1:]
		} else if strings.HasPrefix(s, "@@") {
		} else {
			s = ""
		}
		if len(s) > lim.MaxFileBytes {
			s, f.PatchCut = s[:lim.MaxFileBytes], true
		}
		f.Patch = strings.TrimSuffix(s, "\n")
	}
	return diff, nil
}

// splitPatch cuts a patch into one section per file, at each "diff --git".
func splitPatch(patch []byte) []string {
	s := string(patch)
	var out []string
	for {
		start := strings.Index(s, "diff --git ")
		if start < 0 {
			break
		}
		next := strings.Index(s[start+1:], "\ndiff --git ")
		if next < 0 {
			out = append(out, s[start:])
			break
		}
		out = append(out, s[start:start+1+next+1])
		s = s[start+1+next+1:]
	}
	return out
}

// parseRawNumstat reads diff-tree -z --raw --numstat: first a raw record
// per file (":oldmode newmode oldid newid status" then one or two paths),
// then a numstat record per file ("add\tdel\tpath", or "add\tdel\t" then
// two paths for a rename), both in the same order.
func parseRawNumstat(out []byte, maxFiles int) *Diff {
	toks := strings.Split(string(out), "\x00")
	diff := &Diff{}
	var counts [][2]int
	for i := 0; i < len(toks); i++ {
		t := toks[i]
		switch {
		case strings.HasPrefix(t, ":"):
			f := strings.Fields(t[1:])
			if len(f) != 5 || i+1 >= len(toks) {
				continue
			}
			fd := FileDiff{OldMode: f[0], NewMode: f[1], OldID: f[2], NewID: f[3], Status: f[4][:1]}
			i++
			fd.Path = toks[i]
			if (fd.Status == "R" || fd.Status == "C") && i+1 < len(toks) {
				fd.OldPath = fd.Path
				i++
				fd.Path = toks[i]
			}
			if len(diff.Files) == maxFiles {
				diff.FilesCut = true
				continue
			}
			diff.Files = append(diff.Files, fd)
		case t != "":
			parts := strings.SplitN(t, "\t", 3)
			if len(parts) != 3 {
				continue
			}
			if parts[2] == "" {
				i += 2 // a rename: the two paths follow
			}
			a, errA := strconv.Atoi(parts[0])
			dl, errD := strconv.Atoi(parts[1])
			if errA != nil || errD != nil {
				a, dl = -1, -1
			}
			counts = append(counts, [2]int{a, dl})
		}
	}
	for i := range diff.Files {
		if i >= len(counts) {
			break
		}
		f := &diff.Files[i]
		f.Additions, f.Deletions = counts[i][0], counts[i][1]
		if f.Additions < 0 {
			f.Binary = true
			continue
		}
		diff.Additions += f.Additions
		diff.Deletions += f.Deletions
	}
	return diff
}

// Comparison is base...head: what head has that base lacks.
type Comparison struct {
	MergeBase     string
	Ahead, Behind int
	// Commits are the newest of head's commits since the merge base, at
	// most the limit asked for, oldest first.
	Commits []Commit
	Diff    *Diff
}

// Compare compares base and head (full commit ids) as git diff
// base...head does, listing at most maxCommits commits.
func (d *Dir) Compare(ctx context.Context, id int64, base, head string, maxCommits int, lim DiffLimits) (*Comparison, error) {
	if !isObjectID(base) || !isObjectID(head) {
		return nil, fmt.Errorf("%w: commits %q %q", ErrInvalidName, base, head)
	}
	out, _, err := d.bounded(ctx, id, 1024, nil, "merge-base", base, head)
	if err != nil {
		if exitCode(err) == 1 {
			return nil, ErrNoMergeBase
		}
		return nil, err
	}
	c := &Comparison{MergeBase: strings.TrimSpace(string(out))}
	out, _, err = d.bounded(ctx, id, 1024, nil, "rev-list", "--left-right", "--count", base+"..."+head)
	if err != nil {
		return nil, err
	}
	if f := strings.Fields(string(out)); len(f) == 2 {
		c.Behind, _ = strconv.Atoi(f[0])
		c.Ahead, _ = strconv.Atoi(f[1])
	}
	if c.Ahead > 0 {
		out, truncated, err := d.bounded(ctx, id, maxLogOutput, nil, "log", logFormat, "--no-color",
			"--max-count="+strconv.Itoa(maxCommits), c.MergeBase+".."+head)
		if err != nil {
			return nil, err
		}
		c.Commits = parseCommits(out, truncated)
		for i, j := 0, len(c.Commits)-1; i < j; i, j = i+1, j-1 {
			c.Commits[i], c.Commits[j] = c.Commits[j], c.Commits[i]
		}
	}
	if c.Diff, err = d.Diff(ctx, id, c.MergeBase, head, lim); err != nil {
		return nil, err
	}
	return c, nil
}

// RefInfo is one branch or tag.
type RefInfo struct {
	Full string // refs/heads/main
	Name string // main
	// Object is what the ref points at: a commit, or a tag object for an
	// annotated tag (then Commit is the commit it peels to).
	Object, ObjectType string
	Commit             string
	// Date is the committer date of a commit, the tagger date of a tag.
	Date time.Time
}

// RefKind selects which refs ListRefs lists.
type RefKind int

// Kinds of refs.
const (
	Branches RefKind = iota
	Tags
	AllRefs
)

// ListRefs lists branches (by name), tags (newest first) or every ref
// under refs/ (by name), skipping skip and returning at most limit. Ask for
// one more than a page to learn whether another page exists.
func (d *Dir) ListRefs(ctx context.Context, id int64, kind RefKind, skip, limit int) ([]RefInfo, error) {
	var args []string
	switch kind {
	case Branches:
		args = []string{"--sort=refname", "refs/heads/"}
	case Tags:
		// The last key is the first: newest first, then by name.
		args = []string{"--sort=-refname", "--sort=-creatordate", "refs/tags/"}
	default:
		args = []string{"--sort=refname", "refs/"}
	}
	return d.forEachRef(ctx, id, args, nil, skip, limit)
}

// MatchRefs lists, by name, at most limit refs whose full name starts with
// prefix (a plain string prefix, as GitHub's matching-refs: "refs/heads/fe"
// matches refs/heads/feature).
func (d *Dir) MatchRefs(ctx context.Context, id int64, prefix string, limit int) ([]RefInfo, error) {
	return d.forEachRef(ctx, id, []string{"--sort=refname", "refs/"}, func(r RefInfo) bool {
		return strings.HasPrefix(r.Full, prefix)
	}, 0, limit)
}

// forEachRef runs for-each-ref with args (sort keys and patterns the
// callers fix) and collects the refs keep accepts, after skip of them, at
// most limit, reading no further than it needs.
func (d *Dir) forEachRef(ctx context.Context, id int64, args []string, keep func(RefInfo) bool, skip, limit int) ([]RefInfo, error) {
	release, err := d.readSlot(ctx)
	if err != nil {
		return nil, err
	}
	defer release()
	args = append([]string{"for-each-ref", "--format=%(refname)%00%(objectname)%00%(objecttype)%00%(*objectname)%00%(*objecttype)%00%(creatordate:unix)"}, args...)
	ctx, cancel := context.WithTimeout(ctx, ReadTimeout)
	defer cancel()
	cmd := d.command(ctx, d.Path(id), args...)
	var stderr tailBuffer
	cmd.Stderr = &stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("git for-each-ref: %w", err)
	}
	var refs []RefInfo
	sc := bufio.NewScanner(io.LimitReader(stdout, maxRefsOutput))
	sc.Buffer(make([]byte, 64<<10), 64<<10)
	n, stopped := 0, false
	for sc.Scan() {
		f := strings.Split(sc.Text(), "\x00")
		if len(f) != 6 {
			continue
		}
		r := RefInfo{Full: f[0], Object: f[1], ObjectType: f[2], Commit: f[1]}
		_, r.Name = refKind(f[0])
		if f[2] == "tag" {
			r.Commit = f[3]
			if f[4] != "commit" {
				r.Commit = ""
			}
		} else if f[2] != "commit" {
			r.Commit = ""
		}
		if sec, err := strconv.ParseInt(f[5], 10, 64); err == nil {
			r.Date = time.Unix(sec, 0).UTC()
		}
		if keep != nil && !keep(r) {
			continue
		}
		if n++; n <= skip {
			continue
		}
		if len(refs) == limit {
			stopped = true
			break
		}
		refs = append(refs, r)
	}
	if stopped {
		cancel()
	}
	werr := cmd.Wait()
	switch {
	case stopped:
	case ctx.Err() != nil:
		return nil, fmt.Errorf("git for-each-ref: %w", ctx.Err())
	case werr != nil:
		return nil, &gitError{args: "for-each-ref", err: werr, stderr: string(stderr.Bytes())}
	}
	return refs, nil
}

// ArchiveFormat is what git archive writes.
type ArchiveFormat string

// The formats GitHub offers.
const (
	TarGz ArchiveFormat = "tar.gz"
	Zip   ArchiveFormat = "zip"
)

// Archive streams commit (a full id) as an archive to w, every file under
// prefix/ (made of safe characters by the caller's name, cleaned here).
func (d *Dir) Archive(ctx context.Context, id int64, commit string, format ArchiveFormat, prefix string, w io.Writer) error {
	if !isObjectID(commit) {
		return fmt.Errorf("%w: commit %q", ErrInvalidName, commit)
	}
	if format != TarGz && format != Zip {
		return fmt.Errorf("%w: archive format %q", ErrInvalidName, format)
	}
	clean := strings.Map(func(r rune) rune {
		if r == '-' || r == '_' || r == '.' || '0' <= r && r <= '9' || 'a' <= r && r <= 'z' || 'A' <= r && r <= 'Z' {
			return r
		}
		return '-'
	}, prefix)
	clean = strings.TrimLeft(clean, "-.")
	if clean == "" {
		clean = "archive"
	}
	return d.stream(ctx, id, w, "archive", "--format="+string(format), "--prefix="+clean+"/", commit)
}
