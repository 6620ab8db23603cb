package pushprotect

import (
	"bytes"
	"encoding/base64"
	"slices"

	"github.com/gatehouse/gatehouse/internal/token"
)

// The lengths that bound a token: a prefix of 2 to 10 characters and its
// underscore, then the body; a fine-grained token adds its marker.
const (
	minTokenLen = 3 + token.BodyLen
	maxTokenLen = token.MaxLen
	// minBase64Run is the shortest base64 text that can hold a token:
	// minTokenLen bytes take 52 characters.
	minBase64Run = (minTokenLen + 2) / 3 * 4
	// minWrapped is the shortest line of wrapped base64 that a run
	// continues after: tools wrap at 64 or 76.
	minWrapped = 40
	// base64Block is how many characters of a run are decoded at a time
	// (a multiple of four).
	base64Block = 4 << 10
	// findChunk is how much a search holds at a time.
	findChunk = 64 << 10
)

// emitFunc receives a candidate with its line and the encoding it was
// found under; returning false stops the search.
type emitFunc func(tok string, line int, enc string) bool

// text searches one stream, written to it in pieces of any size, for
// tokens: the bytes as they are with NUL bytes dropped, so that UTF-16
// text (either byte order, with or without a BOM) of ASCII reads as ASCII
// and keeps its line numbers; and the decoded content of every run of
// base64 long enough to hold a token. It holds one chunk at a time
// whatever the size of the stream.
type text struct {
	raw     *finds
	b64     *base64Runs
	scratch []byte
}

func newText(f *token.Finder, emit emitFunc, enc string) *text {
	b64enc := "base64"
	if enc != "" {
		b64enc = enc + ", base64"
	}
	t := &text{scratch: make([]byte, findChunk), b64: &base64Runs{line: 1,
		rb: make([]byte, 0, base64Block+3), dec: make([]byte, (base64Block+4)/4*3)}}
	t.raw = newFinds(f, func(tok string, line int) bool { return emit(tok, line, enc) })
	for i := range t.b64.out {
		// A token in decoded base64 is reported on the line the base64
		// starts on.
		t.b64.out[i] = newFinds(f, func(tok string, _ int) bool { return emit(tok, t.b64.runLine, b64enc) })
	}
	return t
}

// Write implements io.Writer for io.TeeReader; it never fails.
func (t *text) Write(p []byte) (int, error) {
	t.write(p)
	return len(p), nil
}

func (t *text) write(p []byte) {
	if bytes.IndexByte(p, 0) < 0 {
		t.raw.write(p)
		t.b64.write(p)
		return
	}
	for len(p) > 0 {
		n := min(len(p), len(t.scratch))
		c := dropNUL(t.scratch[:0], p[:n])
		p = p[n:]
		t.raw.write(c)
		t.b64.write(c)
	}
}

// dropNUL appends to dst the bytes of p that are not NUL: a stretch at
// a time while they are far apart (binary files), a byte at a time once
// they are close (UTF-16).
func dropNUL(dst, p []byte) []byte {
	for len(p) > 0 {
		i := bytes.IndexByte(p, 0)
		if i < 0 {
			return append(dst, p...)
		}
		if i < 16 {
			break
		}
		dst = append(dst, p[:i]...)
		p = p[i+1:]
	}
	j := len(dst)
	dst = slices.Grow(dst, len(p))[:j+len(p)]
	for _, c := range p {
		dst[j] = c
		if c != 0 {
			j++
		}
	}
	return dst[:j]
}

// end searches what is left and readies t for the next stream.
func (t *text) end() {
	t.raw.end()
	t.b64.end()
}

// finds runs a token.Finder over a stream written to it in pieces, NUL
// bytes dropped: it searches a chunk at a time, each overlapping the last
// by one token less a byte, so that a token across two chunks is found
// whole. A token in the overlap may be reported twice; the caller keeps
// the first.
type finds struct {
	f    *token.Finder
	r    bytes.Reader
	buf  []byte
	line int // line of buf[0]
	emit func(tok string, line int) bool
	stop bool
}

func newFinds(f *token.Finder, emit func(tok string, line int) bool) *finds {
	return &finds{f: f, buf: make([]byte, 0, findChunk), line: 1, emit: emit}
}

func (s *finds) write(p []byte) {
	for len(p) > 0 && !s.stop {
		n := min(len(p), cap(s.buf)-len(s.buf))
		if bytes.IndexByte(p[:n], 0) < 0 {
			s.buf = append(s.buf, p[:n]...)
		} else {
			s.buf = dropNUL(s.buf, p[:n])
		}
		p = p[n:]
		if len(s.buf) == cap(s.buf) {
			s.flush()
		}
	}
}

// flush searches the full buffer and keeps its overlap.
func (s *finds) flush() {
	s.search()
	keep := len(s.buf) - (maxTokenLen - 1)
	s.line += bytes.Count(s.buf[:keep], []byte{'\n'})
	s.buf = s.buf[:copy(s.buf, s.buf[keep:])]
}

func (s *finds) search() {
	if len(s.buf) < minTokenLen || s.stop {
		return
	}
	s.r.Reset(s.buf)
	s.f.Find(&s.r, func(c token.Candidate) bool {
		if !s.emit(c.Token, s.line+c.Line-1) {
			s.stop = true
		}
		return !s.stop
	})
}

// end searches what is left and readies s for the next stream.
func (s *finds) end() {
	s.search()
	s.buf, s.line, s.stop = s.buf[:0], 1, false
}

// base64Std maps both base64 alphabets (standard and URL-safe) to the
// standard one, and every other byte to 0.
var base64Std = func() (t [256]byte) {
	const std = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
	for i := 0; i < len(std); i++ {
		t[std[i]] = std[i]
	}
	t['-'], t['_'] = '+', '/'
	return t
}()

// mayRun is set for the bytes a base64 run may hold: its alphabets, and
// the CR of a line break it goes on across.
var mayRun = func() (t [256]bool) {
	for i := range t {
		t[i] = base64Std[i] != 0
	}
	t['\r'] = true
	return t
}()

// base64Runs finds runs of base64 characters of at least minBase64Run and
// decodes them into out. A run goes on across a line break (and the
// indentation after it) when its part on the line looks like a line of
// wrapped base64 (PEM, MIME, base64(1), YAML block scalars): at least
// minWrapped characters, a multiple of four. A blank line, '=' or any
// other character ends it. Where a run starts in the encoding is not known
// (a word may lead into it, or lines be joined that were not one block),
// so it is decoded at all four offsets, into out[0..3]; decoded NUL bytes
// are dropped, for base64 of UTF-16 (PowerShell's -EncodedCommand).
type base64Runs struct {
	line    int  // line of the next byte (after write)
	runLine int  // line the current run started on
	run     int  // characters in the current run
	seg     int  // of which on the current line
	gap     bool // a line break continues the run
	// rb holds the run's characters, in the standard alphabet, from the
	// first not yet decoded; dec is where they are decoded to.
	rb, dec []byte
	out     [4]*finds
}

func (b *base64Runs) write(p []byte) {
	counted := 0 // the lines of p[:counted] are in b.line
	for i := 0; i < len(p); {
		c := p[i]
		if b.run == 0 {
			// Outside a run, one can start only in a stretch of at least
			// minWrapped bytes that may belong to one (or at the end of
			// p, where it may go on), and such a stretch holds the byte
			// minWrapped-1 ahead whichever byte it starts at: most text
			// is passed over a stretch at a time.
			if k := i + minWrapped - 1; k < len(p) {
				if !mayRun[p[k]] {
					i = k + 1
					continue
				}
				for k > i && mayRun[p[k-1]] {
					k--
				}
				i, c = k, p[k]
			}
		}
		if base64Std[c] != 0 {
			j := i + 1
			for j < len(p) && base64Std[p[j]] != 0 {
				j++
			}
			if b.run == 0 {
				b.line += bytes.Count(p[counted:i], []byte{'\n'})
				counted = i
				b.runLine = b.line
			}
			b.chars(p[i:j])
			i = j
			continue
		}
		i++
		switch c {
		case '\n':
			if b.run > 0 {
				if b.gap || b.seg < minWrapped || b.seg%4 != 0 {
					b.endRun()
				} else {
					b.gap = true
				}
			}
		case '\r':
			// Part of a line break.
		case ' ', '\t':
			// Indentation of a continued run, or its end.
			if b.run > 0 && !b.gap {
				b.endRun()
			}
		default:
			if b.run > 0 {
				b.endRun()
			}
		}
	}
	b.line += bytes.Count(p[counted:], []byte{'\n'})
}

// chars adds s, characters of the alphabets, to the current run.
func (b *base64Runs) chars(s []byte) {
	if b.gap {
		b.gap, b.seg = false, 0
	}
	b.seg += len(s)
	b.run += len(s)
	for len(s) > 0 {
		n := min(len(s), cap(b.rb)-len(b.rb))
		for _, c := range s[:n] {
			b.rb = append(b.rb, base64Std[c])
		}
		s = s[n:]
		if len(b.rb) == cap(b.rb) {
			// A block at each offset; the three characters after it
			// finish the groups of offsets 1 to 3, and start the next.
			for a, o := range b.out {
				n, _ := base64.RawStdEncoding.Decode(b.dec, b.rb[a:a+base64Block])
				o.write(b.dec[:n])
			}
			b.rb = b.rb[:copy(b.rb, b.rb[base64Block:])]
		}
	}
}

func (b *base64Runs) endRun() {
	if b.run >= minBase64Run {
		for a, o := range b.out {
			if a < len(b.rb) {
				tail := b.rb[a:]
				if len(tail)%4 == 1 { // no byte in one character
					tail = tail[:len(tail)-1]
				}
				// Unpadded, as the groups the run ends in may be.
				n, _ := base64.RawStdEncoding.Decode(b.dec, tail)
				o.write(b.dec[:n])
			}
			o.end()
		}
	}
	b.rb, b.run, b.seg, b.gap = b.rb[:0], 0, 0, false
}

// end ends the stream.
func (b *base64Runs) end() {
	if b.run > 0 {
		b.endRun()
	}
	b.line, b.gap = 1, false
}
