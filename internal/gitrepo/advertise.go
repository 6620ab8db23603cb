package gitrepo

import (
	"bufio"
	"bytes"
	"compress/zlib"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
)

// ErrNotServed reports that the ref advertisement cannot be produced
// without git for this repository or request (hidden refs, reftable, a
// symbolic ref under refs/, a shallow repository, an argument not
// understood, a broken ref…). The caller runs git instead, which gives
// git's own answer, error included.
var ErrNotServed = errors.New("gitrepo: not answered without git")

// The ref advertisement without a process. No-op fetches and ls-remote
// are mostly "which refs exist": reading them from disk in Go costs
// microseconds, starting upload-pack milliseconds. What git says besides
// the refs (its capabilities, its agent string) depends only on the git
// binary and the repository's config, so it is captured once per config
// content by running git on a scratch repository, and the refs are read
// from disk on every request: nothing about them is cached, so the next
// request after a push through any node sees it. The only cache is of
// immutable facts: whether an object exists, and what a tag peels to.

// advertiser holds what the Go advertisement learned from git.
type advertiser struct {
	mu    sync.Mutex
	caps  map[[32]byte]*gitCaps // by config file content
	peels map[string]string     // object → what it peels to ("" not a tag)
}

// maxPeels bounds the peel cache; it is emptied when full.
const maxPeels = 1 << 18

// gitCaps is git's own wording for one repository config.
type gitCaps struct {
	// v0Before and v0After surround the symref capability on the first
	// line of a v0 advertisement.
	v0Before, v0After string
	v0Empty           []byte // v0 answer of a repository without refs
	v1Prefix          []byte // what version=1 adds before the v0 answer
	v2                []byte // the v2 capability advertisement
	unborn            bool   // ls-refs=unborn is advertised: "unborn" honoured
}

func (d *Dir) adv() *advertiser {
	d.advOnce.Do(func() { d.advState = &advertiser{caps: map[[32]byte]*gitCaps{}, peels: map[string]string{}} })
	return d.advState
}

// ref is one ref of a repository as upload-pack advertises it.
type ref struct {
	name, oid string
	peeled    string // the object a tag peels to; "" otherwise
	known     bool   // peeled is known without asking git
}

// refState is a repository's refs, read from disk.
type refState struct {
	config     []byte
	headTarget string // HEAD's ref when symbolic
	headOID    string // "" when HEAD is unborn
	headPeeled string
	refs       []ref // sorted by name
}

var errBadRepo = fmt.Errorf("%w: repository state not understood", ErrNotServed)

// readRefs reads the refs of the repository at dir as git's files backend
// would, with what tags peel to, or returns ErrNotServed for anything it
// does not understand.
func (d *Dir) readRefs(ctx context.Context, dir string) (*refState, error) {
	st, err := readRefFiles(dir)
	if err != nil {
		return nil, err
	}
	if err := d.peel(ctx, dir, st); err != nil {
		return nil, err
	}
	return st, nil
}

// servable returns the config of the repository at dir, or errBadRepo
// when its config or layout is one the Go advertisement leaves to git
// (hidden refs, includes, another object format or ref storage,
// namespaces, worktrees, reftable, a shallow or linked repository).
func servable(dir string) ([]byte, error) {
	cfg, err := os.ReadFile(filepath.Join(dir, "config"))
	if err != nil {
		return nil, errBadRepo
	}
	lc := strings.ToLower(string(cfg))
	for _, s := range []string{"hiderefs", "[include", "objectformat", "refstorage", "namespace", "worktree"} {
		if strings.Contains(lc, s) {
			return nil, errBadRepo
		}
	}
	for _, f := range []string{"reftable", "shallow", "commondir"} {
		if _, err := os.Lstat(filepath.Join(dir, f)); err == nil {
			return nil, errBadRepo
		}
	}
	return cfg, nil
}

// readRefFiles reads HEAD, the loose refs and packed-refs of the
// repository at dir, without peeling and without running git.
func readRefFiles(dir string) (*refState, error) {
	cfg, err := servable(dir)
	if err != nil {
		return nil, err
	}
	st := &refState{config: cfg}
	head, err := os.ReadFile(filepath.Join(dir, "HEAD"))
	if err != nil {
		return nil, errBadRepo
	}
	hs := string(head)
	if t, ok := strings.CutPrefix(hs, "ref: "); ok {
		t = strings.TrimSuffix(t, "\n")
		if !strings.HasPrefix(t, "refs/") || strings.ContainsAny(t, " \n\t\x00") {
			return nil, errBadRepo
		}
		st.headTarget = t
	} else if oid := strings.TrimSuffix(hs, "\n"); isOID(oid) {
		st.headOID = oid
	} else {
		return nil, errBadRepo
	}
	byName := map[string]ref{}
	if err := readPacked(filepath.Join(dir, "packed-refs"), byName); err != nil {
		return nil, err
	}
	root := filepath.Join(dir, "refs")
	err = filepath.WalkDir(root, func(p string, e fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		name := e.Name()
		if p != root && strings.HasPrefix(name, ".") {
			if e.IsDir() {
				return filepath.SkipDir
			}
			return nil
		}
		if e.IsDir() {
			return nil
		}
		if !e.Type().IsRegular() {
			return errBadRepo
		}
		if strings.HasSuffix(name, ".lock") {
			return nil
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		oid := strings.TrimSuffix(string(b), "\n")
		if !isOID(oid) {
			return errBadRepo // a symbolic or broken ref: git knows what to do
		}
		rel, _ := filepath.Rel(dir, p)
		rel = filepath.ToSlash(rel)
		byName[rel] = ref{name: rel, oid: oid}
		return nil
	})
	if err != nil {
		if errors.Is(err, ErrNotServed) {
			return nil, err
		}
		return nil, fmt.Errorf("%w: %v", errBadRepo, err)
	}
	st.refs = make([]ref, 0, len(byName))
	for _, r := range byName {
		st.refs = append(st.refs, r)
	}
	sort.Slice(st.refs, func(i, j int) bool { return st.refs[i].name < st.refs[j].name })
	if st.headTarget != "" {
		if r, ok := byName[st.headTarget]; ok {
			st.headOID = r.oid
		}
	}
	return st, nil
}

func isOID(s string) bool {
	if len(s) != 40 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f') {
			return false
		}
	}
	return true
}

// readPacked adds the refs of a packed-refs file. Peeled values are taken
// as known only under the "fully-peeled" trait, as git takes them.
func readPacked(path string, into map[string]ref) error {
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("%w: %v", errBadRepo, err)
	}
	full := false
	var last string
	for i, line := range strings.Split(string(b), "\n") {
		switch {
		case line == "":
		case strings.HasPrefix(line, "#"):
			if i == 0 && strings.HasPrefix(line, "# pack-refs with:") {
				full = strings.Contains(line+" ", " fully-peeled ")
			}
		case line[0] == '^':
			r, ok := into[last]
			if !ok || !isOID(line[1:]) {
				return errBadRepo
			}
			r.peeled, r.known = line[1:], true
			into[last] = r
		default:
			oid, name, ok := strings.Cut(line, " ")
			if !ok || !isOID(oid) || !strings.HasPrefix(name, "refs/") {
				return errBadRepo
			}
			into[name] = ref{name: name, oid: oid, known: full}
			last = name
		}
	}
	return nil
}

// peel fills in what each ref (and HEAD) peels to, from the cache or else
// from one git cat-file, and refuses refs whose objects are missing (git
// leaves those out; running git gives its exact answer).
func (d *Dir) peel(ctx context.Context, dir string, st *refState) error {
	a := d.adv()
	var ask []string
	a.mu.Lock()
	for i := range st.refs {
		r := &st.refs[i]
		if r.known {
			continue
		}
		if p, ok := a.peels[r.oid]; ok {
			r.peeled, r.known = p, true
		} else {
			ask = append(ask, r.oid)
		}
	}
	if st.headOID != "" {
		if p, ok := a.peels[st.headOID]; ok {
			st.headPeeled = p
		} else {
			ask = append(ask, st.headOID)
		}
	}
	a.mu.Unlock()
	if len(ask) > 0 {
		got, err := d.catPeel(ctx, dir, ask)
		if err != nil {
			return err
		}
		a.mu.Lock()
		if len(a.peels)+len(got) > maxPeels {
			a.peels = map[string]string{}
		}
		for k, v := range got {
			a.peels[k] = v
		}
		a.mu.Unlock()
		for i := range st.refs {
			r := &st.refs[i]
			if !r.known {
				r.peeled, r.known = got[r.oid], true
			}
		}
		if p, ok := got[st.headOID]; ok {
			st.headPeeled = p
		}
	}
	if st.headTarget == "" && st.headOID != "" && st.headPeeled == "" {
		// A detached HEAD: its peel was filled from the cache above or now.
		a.mu.Lock()
		st.headPeeled = a.peels[st.headOID]
		a.mu.Unlock()
	}
	if st.headTarget != "" {
		for _, r := range st.refs {
			if r.name == st.headTarget {
				st.headPeeled = r.peeled
			}
		}
	}
	return nil
}

// catPeel asks git for the type of each object and what it peels to.
func (d *Dir) catPeel(ctx context.Context, dir string, oids []string) (map[string]string, error) {
	var in bytes.Buffer
	for _, o := range oids {
		fmt.Fprintf(&in, "%s\n%s^{}\n", o, o)
	}
	cmd := d.command(ctx, dir, "cat-file", "--batch-check=%(objectname) %(objecttype)")
	cmd.Stdin = &in
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("%w: cat-file: %v", ErrNotServed, err)
	}
	lines := strings.Split(strings.TrimSuffix(string(out), "\n"), "\n")
	if len(lines) != 2*len(oids) {
		return nil, errBadRepo
	}
	got := make(map[string]string, len(oids))
	for i, o := range oids {
		f1, f2 := strings.Fields(lines[2*i]), strings.Fields(lines[2*i+1])
		if len(f1) != 2 || len(f2) != 2 || f1[0] != o || f1[1] == "missing" || f2[1] == "missing" {
			return nil, errBadRepo // a broken ref: git leaves it out
		}
		if f1[1] == "tag" {
			got[o] = f2[0]
		} else {
			got[o] = ""
		}
	}
	return got, nil
}

// capsFor returns git's capabilities for a repository with config cfg,
// running git once on a scratch repository with that config.
func (d *Dir) capsFor(ctx context.Context, cfg []byte) (*gitCaps, error) {
	a := d.adv()
	key := sha256.Sum256(cfg)
	a.mu.Lock()
	c, ok := a.caps[key]
	a.mu.Unlock()
	if ok {
		if c == nil {
			return nil, errBadRepo
		}
		return c, nil
	}
	c, err := d.captureCaps(ctx, cfg)
	if err != nil && ctx.Err() != nil {
		return nil, err // not this config's fault: try again next time
	}
	a.mu.Lock()
	if len(a.caps) > 64 {
		a.caps = map[[32]byte]*gitCaps{}
	}
	a.caps[key] = c // nil when git's answer was not understood
	a.mu.Unlock()
	if err != nil {
		return nil, err
	}
	return c, nil
}

// emptyTree is the object the scratch repository's one ref names.
const emptyTree = "4b825dc642cb6eb9a060e54bf8d69288fbee4904"

func (d *Dir) captureCaps(ctx context.Context, cfg []byte) (*gitCaps, error) {
	tmp, err := os.MkdirTemp("", "gatehouse-caps-*")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(tmp)
	var obj bytes.Buffer
	zw := zlib.NewWriter(&obj)
	zw.Write([]byte("tree 0\x00"))
	zw.Close()
	for p, b := range map[string][]byte{
		"config": cfg,
		"HEAD":   []byte("ref: refs/heads/main\n"),
		"objects/" + emptyTree[:2] + "/" + emptyTree[2:]: obj.Bytes(),
		"refs/heads/main": []byte(emptyTree + "\n"),
		"refs/tags/.keep": nil,
	} {
		p = filepath.Join(tmp, p)
		if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
			return nil, err
		}
		if err := os.WriteFile(p, b, 0o600); err != nil {
			return nil, err
		}
	}
	run := func(dir, protocol string) ([]byte, error) {
		cmd := d.command(ctx, dir, "upload-pack", "--stateless-rpc", "--advertise-refs", ".")
		if protocol != "" {
			cmd.Env = append(cmd.Env, "GIT_PROTOCOL="+protocol)
		}
		return cmd.Output()
	}
	c := &gitCaps{}
	v0, err := run(tmp, "")
	if err != nil {
		return nil, fmt.Errorf("%w: capture: %v", ErrNotServed, err)
	}
	pkts, err := splitPkts(v0)
	if err != nil || len(pkts) != 3 || string(pkts[1]) != emptyTree+" refs/heads/main\n" || pkts[2] != nil {
		return nil, fmt.Errorf("%w: step 1", errBadRepo)
	}
	first := string(pkts[0])
	_, caps, ok := strings.Cut(first, "\x00")
	if !strings.HasPrefix(first, emptyTree+" HEAD\x00") || !ok || !strings.HasSuffix(caps, "\n") {
		return nil, fmt.Errorf("%w: step 2", errBadRepo)
	}
	caps = strings.TrimSuffix(caps, "\n")
	before, after, ok := strings.Cut(caps, " symref=HEAD:refs/heads/main")
	if !ok {
		return nil, fmt.Errorf("%w: step 3", errBadRepo)
	}
	c.v0Before, c.v0After = before, after
	v1, err := run(tmp, "version=1")
	if err != nil || !bytes.HasSuffix(v1, v0) {
		return nil, fmt.Errorf("%w: step 4", errBadRepo)
	}
	c.v1Prefix = v1[:len(v1)-len(v0)]
	if c.v2, err = run(tmp, "version=2"); err != nil {
		return nil, fmt.Errorf("%w: step 5", errBadRepo)
	}
	v2pkts, err := splitPkts(c.v2)
	if err != nil {
		return nil, fmt.Errorf("%w: step 6", errBadRepo)
	}
	lsrefs, sha1 := false, false
	for _, p := range v2pkts {
		switch string(p) {
		case "object-format=sha1\n":
			sha1 = true
		case "ls-refs=unborn\n":
			lsrefs, c.unborn = true, true
		case "ls-refs\n":
			lsrefs = true
		}
	}
	if !lsrefs || !sha1 {
		return nil, fmt.Errorf("%w: step 7", errBadRepo)
	}
	// The answer of a repository without refs.
	if err := os.Remove(filepath.Join(tmp, "refs/heads/main")); err != nil {
		return nil, err
	}
	if c.v0Empty, err = run(tmp, ""); err != nil {
		return nil, fmt.Errorf("%w: step 8", errBadRepo)
	}
	return c, nil
}

// splitPkts splits pkt-line data; a flush packet is a nil element, a
// delimiter an empty one.
func splitPkts(b []byte) ([][]byte, error) {
	var out [][]byte
	for len(b) > 0 {
		if len(b) < 4 {
			return nil, errBadRepo
		}
		var n int
		if _, err := fmt.Sscanf(string(b[:4]), "%04x", &n); err != nil {
			return nil, errBadRepo
		}
		switch {
		case n == 0:
			out = append(out, nil)
			b = b[4:]
			continue
		case n == 1:
			out = append(out, []byte{})
			b = b[4:]
			continue
		case n < 4 || n > len(b):
			return nil, errBadRepo
		}
		out = append(out, b[4:n])
		b = b[n:]
	}
	return out, nil
}

func pkt(w *bufio.Writer, s string) {
	fmt.Fprintf(w, "%04x", len(s)+4)
	w.WriteString(s)
}

// AdvertiseRefs returns what `git upload-pack --stateless-rpc
// --advertise-refs` prints for repository id under the Git-Protocol value
// protocol, produced without running upload-pack. It returns ErrNotServed
// when git must be run instead.
func (d *Dir) AdvertiseRefs(ctx context.Context, id int64, protocol string) ([]byte, error) {
	version := 0
	switch protocol {
	case "":
	case "version=1":
		version = 1
	case "version=2":
		version = 2
	default:
		return nil, ErrNotServed
	}
	dir := d.Path(id)
	if version == 2 {
		// The capabilities alone: only the config decides them, so the
		// refs are not read (ls-refs reads them).
		cfg, err := servable(dir)
		if err != nil {
			return nil, err
		}
		// git takes a directory for a repository only with a valid HEAD.
		if head, err := os.ReadFile(filepath.Join(dir, "HEAD")); err != nil ||
			!strings.HasPrefix(string(head), "ref: refs/") && !isOID(strings.TrimSuffix(string(head), "\n")) {
			return nil, errBadRepo
		}
		c, err := d.capsFor(ctx, cfg)
		if err != nil {
			return nil, err
		}
		return c.v2, nil
	}
	st, err := d.readRefs(ctx, dir)
	if err != nil {
		return nil, err
	}
	c, err := d.capsFor(ctx, st.config)
	if err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	if version == 1 {
		buf.Write(c.v1Prefix)
	}
	w := bufio.NewWriter(&buf)
	first := true
	send := func(name, oid, peeled string) {
		if first {
			sym := ""
			if st.headTarget != "" && st.headOID != "" {
				sym = " symref=HEAD:" + st.headTarget
			}
			pkt(w, oid+" "+name+"\x00"+c.v0Before+sym+c.v0After+"\n")
			first = false
		} else {
			pkt(w, oid+" "+name+"\n")
		}
		if peeled != "" {
			pkt(w, peeled+" "+name+"^{}\n")
		}
	}
	if st.headOID != "" {
		send("HEAD", st.headOID, st.headPeeled)
	}
	for _, r := range st.refs {
		send(r.name, r.oid, r.peeled)
	}
	w.Flush()
	if first {
		buf.Truncate(0)
		if version == 1 {
			buf.Write(c.v1Prefix)
		}
		buf.Write(c.v0Empty)
		return buf.Bytes(), nil
	}
	buf.WriteString("0000")
	return buf.Bytes(), nil
}

// maxPrefixes is git's TOO_MANY_PREFIXES: with this many ref-prefix
// arguments or more, newer versions of git ignore them all.
const maxPrefixes = 65

// LsRefs answers a protocol v2 "command=ls-refs" request body (already
// decompressed) for repository id as `git upload-pack --stateless-rpc`
// would, without running it. It returns ErrNotServed for any request it
// does not fully understand; git then answers it, errors included.
func (d *Dir) LsRefs(ctx context.Context, id int64, body []byte) ([]byte, error) {
	pkts, err := splitPkts(body)
	// git's reader takes each line with or without its newline.
	chomp := func(p []byte) string { return strings.TrimSuffix(string(p), "\n") }
	if err != nil || len(pkts) < 2 || chomp(pkts[0]) != "command=ls-refs" || pkts[len(pkts)-1] != nil {
		return nil, ErrNotServed
	}
	var peel, symrefs, unborn bool
	var prefixes []string
	args := false
	for _, p := range pkts[1 : len(pkts)-1] {
		s := chomp(p)
		switch {
		case p == nil:
			return nil, ErrNotServed // more than one request
		case len(p) == 0:
			if args {
				return nil, ErrNotServed
			}
			args = true
		case s == "":
			return nil, ErrNotServed
		case !args:
			if !(strings.HasPrefix(s, "agent=") || s == "object-format=sha1") {
				return nil, ErrNotServed
			}
		default:
			switch {
			case s == "peel":
				peel = true
			case s == "symrefs":
				symrefs = true
			case s == "unborn":
				unborn = true
			case strings.HasPrefix(s, "ref-prefix "):
				prefixes = append(prefixes, strings.TrimPrefix(s, "ref-prefix "))
			default:
				return nil, ErrNotServed
			}
		}
	}
	dir := d.Path(id)
	st, err := d.readRefs(ctx, dir)
	if err != nil {
		return nil, err
	}
	c, err := d.capsFor(ctx, st.config)
	if err != nil {
		return nil, err
	}
	unborn = unborn && c.unborn
	if len(prefixes) >= maxPrefixes {
		// git 2.39 honours them all, later versions ignore them all:
		// let this machine's git decide.
		return nil, ErrNotServed
	}
	match := func(name string) bool {
		if len(prefixes) == 0 {
			return true
		}
		for _, p := range prefixes {
			if strings.HasPrefix(name, p) {
				return true
			}
		}
		return false
	}
	var buf bytes.Buffer
	w := bufio.NewWriter(&buf)
	line := func(name, oid, target, peeled string) {
		var b strings.Builder
		if oid != "" {
			b.WriteString(oid + " " + name)
		} else {
			b.WriteString("unborn " + name)
		}
		if symrefs && target != "" {
			b.WriteString(" symref-target:" + target)
		}
		if peel && oid != "" && peeled != "" {
			b.WriteString(" peeled:" + peeled)
		}
		b.WriteByte('\n')
		pkt(w, b.String())
	}
	if match("HEAD") && (st.headOID != "" || unborn && symrefs && st.headTarget != "") {
		line("HEAD", st.headOID, st.headTarget, st.headPeeled)
	}
	for _, r := range st.refs {
		if match(r.name) {
			line(r.name, r.oid, "", r.peeled)
		}
	}
	w.WriteString("0000")
	w.Flush()
	return buf.Bytes(), nil
}
