package pushprotect

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/gatehouse/gatehouse/internal/token"
)

// scan is one Scan's reading: what it found so far, its bounds, and the
// searches and buffers it reuses from object to object.
type scan struct {
	st                  *Stats
	maxBytes, maxGunzip int64

	findings []Finding
	seen     map[string]bool
	tooMany  bool

	// at is where the bytes being searched are; names is set while they
	// are a tree entry's name, which has no line.
	at    Finding
	names bool

	finder    token.Finder
	plain, gz *text
	gzr       gzip.Reader
	tree      *bufio.Reader
	buf, zbuf []byte
}

func newScan(maxBytes, maxGunzip int64, st *Stats) *scan {
	s := &scan{st: st, maxBytes: maxBytes, maxGunzip: maxGunzip, seen: map[string]bool{},
		buf: make([]byte, findChunk), zbuf: make([]byte, findChunk)}
	s.plain = newText(&s.finder, s.hit, "")
	s.gz = newText(&s.finder, s.hit, "gzip")
	return s
}

// add records hit unless its token was found before. It returns false,
// and sets tooMany, once MaxCandidates distinct tokens were found.
func (s *scan) add(hit Finding) bool {
	if s.seen[hit.Token] {
		return true
	}
	if len(s.findings) == MaxCandidates {
		s.tooMany = true
		return false
	}
	s.seen[hit.Token] = true
	s.findings = append(s.findings, hit)
	return true
}

// hit is the searches' report of a candidate in the bytes at s.at.
func (s *scan) hit(tok string, line int, enc string) bool {
	h := s.at
	h.Token, h.Encoding = tok, enc
	if !s.names {
		h.Line = line
	}
	return s.add(h)
}

// read consumes cat-file's output: for each object a header line
// "OID TYPE SIZE", SIZE bytes and a newline.
func (s *scan) read(r *bufio.Reader, paths <-chan entry) error {
	var commit string
	for {
		hdr, err := r.ReadString('\n')
		if err == io.EOF && hdr == "" {
			return nil
		}
		if err != nil {
			return fmt.Errorf("git cat-file: %w", err)
		}
		f := strings.Fields(hdr)
		if len(f) == 2 && f[1] == "missing" {
			return fmt.Errorf("git cat-file: object %s missing", f[0])
		}
		e, ok := <-paths
		if !ok || len(f) != 3 {
			return fmt.Errorf("git cat-file: unexpected header %q", hdr)
		}
		size, err := strconv.ParseInt(f[2], 10, 64)
		if err != nil || size < 0 {
			return fmt.Errorf("git cat-file: unexpected header %q", hdr)
		}
		oid, typ := f[0], f[1]
		s.st.Objects++
		if s.st.Bytes+size > s.maxBytes {
			return errBound
		}
		s.st.Bytes += size
		body := &io.LimitedReader{R: r, N: size}
		switch {
		case e.unreachable:
			s.at = Finding{Object: oid}
		case typ == "commit":
			commit = oid
			s.at = Finding{Commit: commit}
		case typ == "tag":
			s.at = Finding{Commit: oid, Tag: e.path}
		default:
			s.at = Finding{Commit: commit, Path: e.path}
		}
		switch typ {
		case "tree":
			err = s.searchTree(body, oid, s.at.Path)
		case "blob":
			err = s.searchBlob(body)
		default: // commits and tags: headers and message
			err = s.searchText(body)
		}
		if s.tooMany {
			return ErrTooManyCandidates
		}
		if err == errBound {
			return err
		}
		if err != nil {
			return fmt.Errorf("git cat-file: object %s: %w", oid, err)
		}
		// Whatever was not read, and the newline after it.
		if _, err := r.Discard(int(body.N)); err != nil {
			return fmt.Errorf("git cat-file: %w", err)
		}
		if b, err := r.ReadByte(); err != nil || b != '\n' {
			return fmt.Errorf("git cat-file: object %s not followed by a newline", oid)
		}
	}
}

// searchText searches body as text, a chunk at a time.
func (s *scan) searchText(body io.Reader) error {
	for !s.tooMany {
		n, err := body.Read(s.buf)
		s.plain.write(s.buf[:n])
		if err == io.EOF {
			break
		}
		if err != nil {
			return err
		}
	}
	s.plain.end()
	return nil
}

// searchBlob searches a file: as text, and when it is gzip-compressed,
// its decompressed content too.
func (s *scan) searchBlob(body io.Reader) error {
	n, err := io.ReadFull(body, s.buf)
	first := s.buf[:n]
	if err == io.EOF || err == io.ErrUnexpectedEOF {
		// All of it: small.
		if isGzip(first) {
			return s.searchGzip(bytes.NewReader(first))
		}
		s.plain.write(first)
		s.plain.end()
		return nil
	}
	if err != nil {
		return err
	}
	if isGzip(first) {
		return s.searchGzip(io.MultiReader(bytes.NewReader(first), body))
	}
	s.plain.write(first)
	return s.searchText(body)
}

// isGzip reports whether b starts like a gzip stream (RFC 1952: the
// magic and deflate).
func isGzip(b []byte) bool {
	return len(b) >= 18 && b[0] == 0x1f && b[1] == 0x8b && b[2] == 8
}

// searchGzip searches a gzip-compressed blob as stored (where the header
// keeps the original file name in clear, and where whatever follows a
// damaged stream stays readable) and, up to MaxGunzip, decompressed. The
// stored bytes pass to the plain search as the decompressor reads them.
func (s *scan) searchGzip(src io.Reader) error {
	raw := io.TeeReader(src, s.plain)
	if s.gzr.Reset(raw) == nil {
		lr := &io.LimitedReader{R: &s.gzr, N: s.maxGunzip}
		for !s.tooMany {
			n, err := lr.Read(s.zbuf)
			if n > 0 {
				if s.st.Bytes+int64(n) > s.maxBytes {
					return errBound
				}
				s.st.Bytes += int64(n)
				s.gz.write(s.zbuf[:n])
			}
			// The end, MaxGunzip, or not gzip after all: the rest is
			// searched as stored.
			if err != nil {
				break
			}
		}
		s.gz.end()
	}
	for !s.tooMany {
		_, err := raw.Read(s.zbuf)
		if err == io.EOF {
			break
		}
		if err != nil {
			return err
		}
	}
	s.plain.end()
	return nil
}

// searchTree searches the names of a tree's entries, each on its own: a
// token used as a file or directory name is as public as one inside a
// file. Entries are "MODE NAME\0" and the id's raw bytes; dir is the
// tree's path, for the location.
func (s *scan) searchTree(body io.Reader, oid, dir string) error {
	if s.tree == nil {
		s.tree = bufio.NewReaderSize(body, findChunk)
	} else {
		s.tree.Reset(body)
	}
	br := s.tree
	s.names = true
	defer func() { s.names = false }()
	idLen := len(oid) / 2
	for !s.tooMany {
		mode, err := br.ReadSlice(' ')
		if err == io.EOF && len(mode) == 0 {
			return nil
		}
		if err != nil {
			return fmt.Errorf("malformed tree: %w", err)
		}
		name, err := br.ReadSlice(0)
		if err == bufio.ErrBufferFull {
			long := bytes.Clone(name)
			for err == bufio.ErrBufferFull {
				name, err = br.ReadSlice(0)
				long = append(long, name...)
			}
			name = long
		}
		if err != nil {
			return fmt.Errorf("malformed tree: %w", err)
		}
		name = name[:len(name)-1]
		if len(name) >= minTokenLen {
			p := string(name)
			if dir != "" {
				p = dir + "/" + p
			}
			s.at.Path = p
			s.plain.write(name)
			s.plain.end()
		}
		if _, err := br.Discard(idLen); err != nil {
			return fmt.Errorf("malformed tree: %w", err)
		}
	}
	return nil
}
